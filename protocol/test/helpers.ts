// Test helpers: bytes, a naive model of mtr-packet 0.95's command buffer, the reference binary, and what the
// protocol extensions' tests share (a request line decoded, a probe result to add words to, an MPLS label).

import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { requirements } from '../../test/support/env.js';
import {
  decodeRequest,
  parseCommandLine,
  type DecodeExtensions,
  type FrameEvent,
  type MplsLabel,
  type ProbeResultReply,
} from '../src/index.js';

export const REFERENCE = '/usr/bin/mtr-packet';

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** true when the reference comparisons can run; skips with a reason here, fails in CI (test/support/env.ts). */
export function referenceAvailable(): boolean {
  return (
    requirements('comparison with the reference mtr-packet', [
      [executable(REFERENCE), `needs ${REFERENCE} (Debian's mtr-tiny)`],
      [process.getuid?.() === 0, 'needs root (the reference opens raw sockets)'],
    ]) === undefined
  );
}

/** Pipe `input` into the reference and return its stdout lines. */
export function runReference(input: string | Uint8Array, timeoutMs = 10_000): string[] {
  const res = spawnSync(REFERENCE, [], { input, timeout: timeoutMs, maxBuffer: 1 << 24 });
  if (res.error) throw res.error;
  const out = res.stdout.toString('latin1');
  return out === '' ? [] : out.replace(/\n$/, '').split('\n');
}

export function bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * A byte-for-byte simulation of 0.95's read loop (read_commands + dispatch_buffer_commands):
 * a buffer of `size` bytes, reads of at most size-1-pos bytes, dispatch at every '\n', overflow
 * when pos >= size-1 after dispatch. `reads` gives the sizes the kernel hands out (cycled).
 * Unlike the reference, NUL does not end the scan (we treat it as a byte).
 */
export function simulateReference(input: Uint8Array, reads: number[] = [1 << 30], size = 4096): FrameEvent[] {
  const events: FrameEvent[] = [];
  const buf = new Uint8Array(size);
  let pos = 0;
  let offset = 0;
  let r = 0;
  while (offset < input.length) {
    const want = Math.max(1, reads[r++ % reads.length] ?? 1);
    const n = Math.min(want, size - pos - 1, input.length - offset);
    buf.set(input.subarray(offset, offset + n), pos);
    pos += n;
    offset += n;
    for (;;) {
      const nl = buf.subarray(0, pos).indexOf(10);
      if (nl === -1) break;
      events.push({ kind: 'line', line: String.fromCharCode(...buf.subarray(0, nl)) });
      buf.copyWithin(0, nl + 1, pos);
      pos -= nl + 1;
    }
    if (pos >= size - 1) {
      events.push({ kind: 'overflow' });
      pos = 0;
    }
  }
  return events;
}

/** A command line decoded as the daemon decodes it (`ext`: the extensions the session turned on). */
export function decode(line: string, ext?: DecodeExtensions): ReturnType<typeof decodeRequest> {
  const cmd = parseCommandLine(line);
  if (cmd === undefined) throw new Error(`not a command: ${line}`);
  return decodeRequest(cmd, ext);
}

/** A probe result with 0.95's fields only (token 9, IPv4), for the extension tests to add their words to. */
export function probeResult(
  fields: Pick<ProbeResultReply, 'type' | 'address' | 'roundTripTime'>,
): ProbeResultReply & { readonly mpls: undefined } {
  return {
    token: 9,
    type: fields.type,
    ipVersion: 4,
    address: fields.address,
    roundTripTime: fields.roundTripTime,
    mpls: undefined,
  };
}

/** One MPLS label stack entry, as a probe result carries it (`mpls 16,0,1,1`). */
export const MPLS_16: MplsLabel = { label: 16, tc: 0, bottomOfStack: 1, ttl: 1 };
