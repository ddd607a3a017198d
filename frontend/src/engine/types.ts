// The engine's public face: many targets over one packet process, each with its own options and
// scheduler state; one stream of typed events (events.ts); a frozen statistics snapshot per target
// (../stats/types.ts). I/O comes in through EngineOptions (the packet process, DNS, clock), so the engine
// is testable with fakes and does not depend on the concrete packet client.
//
// Contract: additive changes only (see /work/coord/engine.md).

import type { IpVersion, ProbeProtocol } from '@mtr-ts/protocol';
import type { ProbeFields, ProbeOutcome } from '@mtr-ts/client';
import type { Names } from '../render/model.js';
import type { EngineEvent } from './events.js';
import type { TargetId, TargetRef, TargetSnapshot } from '../stats/types.js';

export type { TargetId, TargetRef } from '../stats/types.js';

/** Per-target options; a target's values are fixed when added, changed by reconfigure(). mtr's meanings. */
export interface TargetOptions {
  /** -4 / -6; undefined: whichever the name resolves to first */
  readonly family: IpVersion | undefined;
  readonly protocol: ProbeProtocol;
  /** -P: destination port (0 = the packet process's default) */
  readonly port: number;
  /** -L: source port (0 = any) */
  readonly localPort: number;
  /** -a: source address */
  readonly localAddress: string | undefined;
  /** -I: source interface (its address of the target's family is used) */
  readonly interfaceName: string | undefined;
  /** -s: bytes; negative: a random size up to |psize| per cycle */
  readonly psize: number;
  /** -B: 0..255; -1: random per cycle */
  readonly bitpattern: number;
  /** -Q */
  readonly tos: number;
  /** -M */
  readonly mark: number | undefined;
  /** -Z: whole seconds the packet process waits for an answer */
  readonly timeout: number;
  /** -i: seconds per cycle */
  readonly interval: number;
  /** -G: seconds to wait for answers after the last cycle */
  readonly gracetime: number;
  /** -c: cycles to run; undefined: until stopped or removed */
  readonly cycles: number | undefined;
  /** -f, -m, -U */
  readonly firstTtl: number;
  readonly maxTtl: number;
  readonly maxUnknown: number;
  /** probes per hop in the rolling window (default 100) */
  readonly windowSize: number;
  /** samples kept per hop for charts (default 400) */
  readonly ringSize: number;
  /**
   * ECMP (`--flows`): this many stable flows per TTL, cycle c probing flow (c - 1) mod flows. ICMP and TCP
   * need the packet process's `flow` extension (send-probe `flow N`; TCP: a raw SYN); UDP uses it when there
   * (NAT seen) and fixes both ports per flow either way. UDP and TCP: both ports fixed per flow (see
   * flowPorts). Undefined: mtr's classic probing (the default).
   */
  readonly flows?: number | undefined;
  /**
   * protocol extension `dont-fragment` (mtr-packet-ts): probes with IPv4 DF set. Only takes effect when the
   * engine was made with extensions: ['dont-fragment'] and the packet process turned it on (extensionOn).
   */
  readonly dontFragment?: boolean | undefined;
}

/** The first local port of the flows when -L is not given (flow i uses FLOW_BASE_PORT + i). */
export const FLOW_BASE_PORT = 50000;
/** The destination port of UDP flows when -P is not given (traceroute's first UDP port). */
export const FLOW_DEST_PORT = 33434;
/** The destination port of TCP flows when -P is not given (mtr's TCP port). */
export const FLOW_TCP_PORT = 80;

/** The fixed (local port, destination port) of a UDP or TCP flow: what routers hash, besides the addresses. */
export function flowPorts(
  o: Pick<TargetOptions, 'localPort' | 'port'> & { protocol?: TargetOptions['protocol'] },
  flow: number,
): { localPort: number; port: number } {
  return {
    localPort: (o.localPort !== 0 ? o.localPort : FLOW_BASE_PORT) + flow,
    port: o.port !== 0 ? o.port : o.protocol === 'tcp' ? FLOW_TCP_PORT : FLOW_DEST_PORT,
  };
}

export const DEFAULT_TARGET_OPTIONS: TargetOptions = Object.freeze({
  family: undefined,
  protocol: 'icmp',
  port: 0,
  localPort: 0,
  localAddress: undefined,
  interfaceName: undefined,
  psize: 64,
  bitpattern: 0,
  tos: 0,
  mark: undefined,
  timeout: 10,
  interval: 1,
  gracetime: 5,
  cycles: 10,
  firstTtl: 1,
  maxTtl: 30,
  maxUnknown: 12,
  windowSize: 100,
  ringSize: 400,
});

/**
 * What the engine needs from a packet client (@mtr-ts/client's MtrPacket satisfies it). One sender
 * serves every target; it hands out tokens unique across all of them.
 */
export interface ProbeSender {
  /** mtr's start-up questions for one family/protocol; rejects with one clear message */
  checkFeatures(ipVersion: IpVersion, protocol: ProbeProtocol, mark: boolean): Promise<void>;
  /**
   * `check-support feature F` (optional: without it every extension counts as unsupported). Asking for a
   * protocol extension (`icmp-detail`, `dont-fragment`, `flow`) turns it on in mtr-packet-ts; other packet
   * programs answer `no`.
   */
  checkSupport?(feature: string): Promise<string>;
  /** `result` settles with the outcome, or rejects when the process dies first */
  sendProbe(fields: ProbeFields): { token: number; result: Promise<ProbeOutcome> };
  /** resolves once, when the process is gone: undefined after close(), the error otherwise */
  readonly exited: Promise<Error | undefined>;
  readonly pid: number | undefined;
  close(): Promise<void>;
}

/** Injected time: the engine never calls Date.now or setTimeout itself. */
export interface Clock {
  /** ms since the epoch, with a fraction (µs) */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The shared name service (reverse DNS, AS): the engine tells it every new responder. */
export interface NameService extends Names {
  learn(address: string): void;
  /** wait at most `ms` for lookups still running */
  settle(ms: number): Promise<void>;
  close(): void;
  /** called with the address whenever a name or IP-info item arrives (the engine emits name-resolved) */
  listen?(listener: (address: string) => void): void;
}

/**
 * A global probe-rate budget (optional): asked before every probe; when it says no, the target's tick is
 * retried one tick later (the probe is not lost, just later).
 */
export interface ProbeBudget {
  tryTake(target: TargetRef, ttl: number, now: number): boolean;
}

export interface EngineOptions {
  /** opens the packet process; called once at start and again by restartPacketProcess() */
  connect(): ProbeSender;
  /** name -> address (getaddrinfo); rejects with an Error whose `code` is getaddrinfo's (ENOTFOUND, ...) */
  lookup(name: string, family: IpVersion | undefined): Promise<{ address: string; family: IpVersion }>;
  /** -a / -I -> the source address for a family; throws an Error with the message to show */
  localAddress?(options: TargetOptions, family: IpVersion): string | undefined;
  names?: NameService;
  clock?: Clock;
  /** defaults for targets added without some options */
  defaults?: Partial<TargetOptions>;
  /**
   * When the packet process dies: 'fail' (default) ends every target with an error event (what mtr does);
   * 'restart' emits packet-process-exited, opens a new one, and goes on with every target (statistics kept).
   */
  onPacketProcessExit?: 'fail' | 'restart';
  budget?: ProbeBudget;
  /**
   * protocol extensions (names.ts EXT_FEATURE: `icmp-detail`, `dont-fragment`) to ask each packet process for,
   * before the first probe; a packet program without them (mtr 0.95's mtr-packet) answers `no` and the run goes
   * on without them
   */
  extensions?: readonly string[];
}

export type Unsubscribe = () => void;

export interface Engine {
  /** Adds a target and starts it (resolve, check features, probe); returns at once. */
  add(name: string, options?: Partial<TargetOptions>): TargetRef;
  /** Stops and forgets a target (its in-flight answers are ignored); false when unknown. Others go on. */
  remove(id: TargetId): boolean;
  /**
   * Changes a target's options. interval, cycles, gracetime, timeout, maxUnknown apply from the next
   * probe; anything that changes what is measured (family, protocol, ports, addresses, size, pattern, tos,
   * mark, TTL range, windowSize, ringSize) restarts the target: statistics reset, a new startTime.
   */
  reconfigure(id: TargetId, patch: Partial<TargetOptions>): void;
  /** No new probes (answers in flight still count); without id: every target. */
  pause(id?: TargetId): void;
  resume(id?: TargetId): void;
  /** Statistics back to zero (mtr's 'r' key); probing goes on. Without id: every target. */
  reset(id?: TargetId): void;
  /** Stops every target (in-flight probes are not counted as lost) and closes the packet process. */
  stop(): Promise<void>;
  /** Every event from now on, in order; a listener that throws is removed and an error event says so. */
  subscribe(listener: (event: EngineEvent) => void): Unsubscribe;
  /** A frozen copy; undefined for an unknown (or removed) id. */
  snapshot(id: TargetId): TargetSnapshot | undefined;
  /** The targets, in the order added. */
  targets(): readonly TargetRef[];
  /** Resolves when every target given (default: all) is done, failed or stopped. */
  settled(ids?: readonly TargetId[]): Promise<void>;
  /** Closes the packet process (if alive) and opens a new one; targets keep their statistics. */
  restartPacketProcess(): Promise<void>;
  /** The shared name service, if any (outputs read names from it). */
  readonly names: NameService | undefined;
  /** Whether the current packet process turned this extension on (EngineOptions.extensions); false before it was asked. */
  extensionOn(feature: string): boolean;
}

export type CreateEngine = (options: EngineOptions) => Engine;
