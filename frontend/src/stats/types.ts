// The statistics a consumer reads: one target's snapshot, a plain frozen copy (no Map, no class), safe to
// keep, compare, or JSON.stringify. Times are milliseconds (floats, µs precision); counts are integers.
//
// Three levels share one RTT accumulator (Welford mean/variance, geometric mean, mtr's jitter, RFC 3550
// interarrival jitter): the hop's lifetime, each responder at the hop, and the hop's rolling window of
// its last `windowSize` probes. Percentiles use the nearest-rank rule (the sample at rank ceil(q * n)):
// exact over the window, within 1% relative error over the lifetime (log-linear buckets).
//
// Contract: additive changes only (see /work/coord/engine.md).

import type { MplsLabel, IpVersion } from '@mtr-ts/protocol';
import type { HopError, HopState } from '../stats.js';
import type { TargetOptions } from '../engine/types.js';

/** Engine-assigned, unique within one engine; two targets with the same name have different ids. */
export type TargetId = number;

/** Who a target is: on every event and in every snapshot. */
export interface TargetRef {
  readonly id: TargetId;
  /** as the user wrote it (command line, -F file, config) */
  readonly name: string;
  /** the address probed; undefined until the name is resolved (or when it did not resolve) */
  readonly address: string | undefined;
  readonly family: IpVersion | undefined;
}

/** median and the tail, in ms */
export interface Percentiles {
  readonly p50: number;
  readonly p90: number;
  readonly p95: number;
  readonly p99: number;
}

/** Every mtr field of one accumulator; RTTs in ms, loss in percent. Names follow mtr's columns. */
export interface RttView {
  /** Snt */
  readonly sent: number;
  /** Rcv */
  readonly received: number;
  /** sent and neither answered nor timed out yet: never counted as lost */
  readonly inFlight: number;
  /** Drop: finished (sent - inFlight) minus received */
  readonly drop: number;
  /** Loss%: 100 * drop / finished; 0 when nothing finished */
  readonly lossPercent: number;
  /** Last, Best, Avg, Wrst, StDev (sample), Gmean: 0 until the first reply */
  readonly last: number;
  readonly best: number;
  readonly avg: number;
  readonly worst: number;
  readonly stdev: number;
  readonly gmean: number;
  /** Jttr: |last - previous| */
  readonly jitter: number;
  /** Javg, Jmax */
  readonly javg: number;
  readonly jmax: number;
  /** Jint: RFC 3550 interarrival jitter estimate (J += (|D| - J) / 16), unscaled */
  readonly jint: number;
  /** undefined until a reply */
  readonly percentiles: Percentiles | undefined;
}

/** How an answer came back. `unreachable` carries the daemon's word for it when it says one. */
export type ReplyKind = 'ttl-expired' | 'reply' | 'unreachable';
export type UnreachableCode = 'no-route' | 'no-route-network' | 'no-route-host' | 'host-down';
export interface ReplyInfo {
  readonly kind: ReplyKind;
  /** only for kind 'unreachable' */
  readonly code?: UnreachableCode | undefined;
  /**
   * With the packet program's `icmp-detail` extension (mtr-packet-ts; absent with mtr 0.95's mtr-packet):
   * the ICMP type and code of an answer that was an ICMP error, the MTU of a Fragmentation-Needed /
   * Packet-Too-Big, and the IP TTL / hop limit the answer arrived with.
   */
  readonly icmpType?: number | undefined;
  readonly icmpCode?: number | undefined;
  readonly mtu?: number | undefined;
  readonly replyTtl?: number | undefined;
}

/**
 * One responder at a hop (ECMP members, or the old and new router of a path change).
 * Its `sent` is its replies plus the lost probes charged to it: a lost probe is charged to the hop's
 * latest responder at the time it is lost (with a flow key, later: to its flow's responder; a flow that never
 * answers at an ECMP hop took an unknown member, and its losses are charged to none).
 */
export interface ResponderSnapshot {
  readonly address: string;
  /** lifetime statistics of the replies from this address; percentiles within 1% */
  readonly stats: RttView;
  /** the labels of its latest reply */
  readonly mpls: readonly MplsLabel[];
  readonly reply: ReplyInfo;
  /** ms since the epoch of its first and latest reply; cycles (1-based) of them */
  readonly firstSeen: number;
  readonly lastSeen: number;
  readonly firstCycle: number;
  readonly lastCycle: number;
}

/** The state of one probe in the sample ring. */
export type SampleState = 'pending' | 'reply' | 'lost';
export interface Sample {
  /** the target's probe ordinal (1-based, ProbeRef.probe) */
  readonly probe: number;
  readonly cycle: number;
  readonly state: SampleState;
  /** ms; only for 'reply' */
  readonly rtt: number | undefined;
  readonly responder: string | undefined;
}

/**
 * One stable flow at one hop (ECMP, `--flows`): the probes of this (TTL, flow). Its losses are charged to its
 * own latest responder, so the member a flow takes carries that flow's losses.
 */
export interface FlowSnapshot {
  /** 0-based, ProbeRef.flow */
  readonly flow: number;
  readonly stats: RttView;
  /** the flow's latest responder at this hop; undefined until one answered */
  readonly responder: string | undefined;
  /** every responder this flow met at this hop, first seen first */
  readonly responders: readonly string[];
  /** times the flow's responder changed: a stable flow that changes member means per-packet balancing */
  readonly changes: number;
  /**
   * per (TTL, flow, responder), `responders` order: each responder's answers to this flow and the flow's
   * losses while it was the flow's member (one entry for a flow balanced per flow)
   */
  readonly members?: readonly { readonly address: string; readonly stats: RttView }[] | undefined;
}

/**
 * How a hop balances, as its flows show it: `none` (one responder), `per-flow` (several responders, each
 * flow keeps one), `per-packet` (a flow met several responders). Undefined without flows.
 */
export type Balancing = 'none' | 'per-flow' | 'per-packet';

/** The state of a hop's most recent probe (for a live view's "?" / "." marks). */
export type LastProbe = 'none' | 'pending' | 'reply' | 'lost';

export interface HopSnapshot {
  /** 1-based */
  readonly ttl: number;
  /** since the start (or the last reset); percentiles within 1% */
  readonly lifetime: RttView;
  /** the last `windowSize` probes at this hop; exact percentiles */
  readonly window: RttView;
  /** the latest responder; undefined until one answered */
  readonly address: string | undefined;
  /** the latest reply's MPLS labels */
  readonly mpls: readonly MplsLabel[];
  /** the latest reply's kind */
  readonly reply: ReplyInfo | undefined;
  /** set while the latest answer is an unreachable error: the path ends here */
  readonly error: HopError | undefined;
  readonly lastProbe: LastProbe;
  /** every responder kept, first seen first (at most MAX_RESPONDERS per hop) */
  readonly responders: readonly ResponderSnapshot[];
  /** replies from responders beyond the cap: counted in lifetime/window, not kept per responder */
  readonly respondersOverflow: number;
  /** the latest probes at this hop, oldest first (at most `ringSize`) */
  readonly samples: readonly Sample[];
  /** the lifetime accumulator in mtr 0.95's terms: what the mtr-shaped renderers (report, -j, -C, -x, -p) read */
  readonly state: HopState;
  /** per flow (ECMP, TargetOptions.flows), flow order; undefined for classic probing */
  readonly flows?: readonly FlowSnapshot[] | undefined;
  /** what the flows tell of this hop's load balancing; undefined for classic probing */
  readonly balancing?: Balancing | undefined;
  /**
   * answers whose quote of a flow probe came back with its flow fields rewritten (the packet process's
   * `nat 1`): a NAT between us and this hop. Absent when none.
   */
  readonly nat?: number | undefined;
}

/** Why the path, as probed, ends where it does. */
export type PathEnd = 'destination' | 'unreachable' | 'max-ttl' | 'max-unknown' | 'unknown';

export interface PathSnapshot {
  /**
   * 16 hex digits: a hash of the responder sequence from firstTtl to the path's end (each TTL's latest
   * responder, `*` where none answered yet). Undefined until the first cycle is done. It changes only when
   * that sequence changes; a lost probe does not change it.
   */
  readonly id: string | undefined;
  /** the sequence hashed: index 0 is firstTtl; null where nobody answered */
  readonly responders: readonly (string | null)[];
  /** times `id` changed after its first value */
  readonly changes: number;
  /** the cycle (1-based) of the latest change; undefined when none */
  readonly lastChangeCycle: number | undefined;
  /** the smallest TTL at which the destination answered; undefined when it never did */
  readonly destinationTtl: number | undefined;
  readonly reached: boolean;
  readonly end: PathEnd;
}

export type TargetStatus =
  /** the name is being resolved, the packet process asked what it supports */
  | 'starting'
  | 'running'
  | 'paused'
  /** the last cycle went out; waiting (gracetime) for the answers in flight */
  | 'finishing'
  /** all cycles done */
  | 'done'
  /** did not resolve, unsupported, or the packet process refused or died */
  | 'failed'
  /** stop() or remove() or an interrupt */
  | 'stopped';

export interface TargetSnapshot {
  readonly target: TargetRef;
  /** the options in effect */
  readonly options: TargetOptions;
  readonly status: TargetStatus;
  /** ms since the epoch: probing started (or the last reset); undefined while starting */
  readonly startTime: number | undefined;
  /** ms since the epoch: when this snapshot was taken */
  readonly takenAt: number;
  /** cycles completed since startTime */
  readonly cycles: number;
  /** probes sent since startTime */
  readonly probes: number;
  /** index = TTL - 1; as long as the highest TTL probed so far (entries below firstTtl are empty hops) */
  readonly hops: readonly HopSnapshot[];
  readonly path: PathSnapshot;
}

/** Responders kept per hop with their own statistics; more are counted in respondersOverflow. */
export const MAX_RESPONDERS = 16;
