// What the flow extension's tests (flows.test.ts, tcp-flows.test.ts) start from: a daemon over the
// recording transport with fixed identities (ICMP id 0x1234, IPv4 identification 0x0777, sequences from
// 40000, flow ports from 51000), the lab's addresses as bytes, and the check-support that turns flows on.

import { expect } from 'vitest';
import { parseIPv4, parseIPv6 } from '@mtr-ts/native/wire';
import { Daemon } from '../src/daemon.js';
import { RecordingTransport } from './recording-transport.js';

export const v4 = (s: string): Uint8Array => parseIPv4(s)!;
export const v6 = (s: string): Uint8Array => parseIPv6(s)!;
export const u16 = (b: Uint8Array, at: number): number => (b[at]! << 8) | b[at + 1]!;
/** hop 2 of the lab, the router whose Time Exceeded the tests build */
export const ROUTER4 = v4('10.0.2.2');

export type DaemonOptions = ConstructorParameters<typeof Daemon>[2];

export interface FlowDaemon {
  t: RecordingTransport;
  /** the daemon's reply lines, oldest first */
  out: string[];
  d: Daemon;
}

/** The daemon; `segments`: what the transport's watchSegments() answers (TCP flows), none when not given. */
export function flowDaemon(opts: DaemonOptions = {}, segments?: { ip4: boolean; ip6: boolean }): FlowDaemon {
  const t = new RecordingTransport();
  if (segments !== undefined) t.segments = segments;
  const out: string[] = [];
  const d = new Daemon(t, (l) => out.push(l), {
    icmpId: 0x1234,
    ipId: 0x0777,
    firstSequence: 40000,
    flowPortBase: 51000,
    ...opts,
  });
  return { t, out, d };
}

/** `check-support feature flow`, answered ok (the reply taken off `out`). */
export function askFlow(d: Daemon, out: string[]): void {
  d.handleLine('1 check-support feature flow');
  expect(out.shift()).toBe('1 feature-support support ok');
}
