// The engine's event stream: one discriminated union on `type`. Every event has `seq` (1, 2, 3, ... per
// engine, no gaps: a consumer that sees a gap lost events) and `ts` (ms since the epoch, µs fraction).
// Target events carry the target as it is known at that moment (its address once resolved).
//
// Order guarantees, per target: target-added first; target-started before any probe event; probe-sent
// before that probe's probe-answered or probe-lost; hop-changed right after the probe-answered that caused
// it; path-changed right before the cycle-done of the cycle it was seen in; target-done last.
//
// Contract: additive changes only (new types, new optional fields; see /work/coord/engine.md).

import type { MplsLabel } from '@mtr-ts/protocol';
import type { TargetOptions } from './types.js';
import type { PathEnd, ReplyInfo, TargetRef } from '../stats/types.js';

interface Base {
  readonly seq: number;
  /** ms since the epoch, with a µs fraction */
  readonly ts: number;
}

interface TargetBase extends Base {
  readonly target: TargetRef;
}

/** One probe, as the events name it. */
export interface ProbeRef {
  /** the target's probe ordinal, 1-based, counting on across resets */
  readonly probe: number;
  /** the packet process's token (unique among probes in flight across all targets; mtr -l's SEQ) */
  readonly token: number;
  /** 1-based */
  readonly ttl: number;
  /** the cycle it belongs to, 1-based, counting on across resets */
  readonly cycle: number;
  /** the flow it was sent on (ECMP per-flow probing, later); undefined: the target's one flow */
  readonly flow?: number | undefined;
}

export interface TargetAddedEvent extends TargetBase {
  readonly type: 'target-added';
  readonly options: TargetOptions;
}

/** The name resolved and the packet process supports what the target asks for: probing begins. */
export interface TargetStartedEvent extends TargetBase {
  readonly type: 'target-started';
  readonly options: TargetOptions;
  /** the local source address used, when -a or -I gave one */
  readonly localAddress: string | undefined;
}

export interface ProbeSentEvent extends TargetBase {
  readonly type: 'probe-sent';
  readonly probe: ProbeRef;
  /** bytes and pattern this probe used (-s / -B may be random per cycle) */
  readonly size: number;
  readonly bitPattern: number;
}

export interface ProbeAnsweredEvent extends TargetBase {
  readonly type: 'probe-answered';
  readonly probe: ProbeRef;
  readonly reply: ReplyInfo;
  readonly responder: string;
  /** ms (µs precision, as the packet process measured it) */
  readonly rtt: number;
  readonly mpls: readonly MplsLabel[];
  /** the responder is the target's address */
  readonly destination: boolean;
  /** first reply from this responder at this TTL (since the start or the last reset) */
  readonly newResponder: boolean;
  /** a flow probe whose quote came back with its flow fields rewritten: a NAT before this hop (`flow` extension) */
  readonly nat?: boolean;
}

export type LossReason =
  /** no answer within the timeout */
  | 'no-reply'
  /** the packet process could not send it (its routing said no, or the network is down) */
  | 'send-failed'
  /** the packet process had too many probes in flight */
  | 'probes-exhausted';

export interface ProbeLostEvent extends TargetBase {
  readonly type: 'probe-lost';
  readonly probe: ProbeRef;
  readonly reason: LossReason;
  /** the daemon's word when there is one (no-route, network-down) */
  readonly detail?: string | undefined;
}

/** A responder not seen before at this TTL answered: the hop's responder set grew. */
export interface HopChangedEvent extends TargetBase {
  readonly type: 'hop-changed';
  readonly ttl: number;
  readonly added: string;
  /** every responder at the hop, first seen first */
  readonly responders: readonly string[];
  readonly cycle: number;
}

export interface PathChangedEvent extends TargetBase {
  readonly type: 'path-changed';
  /** the cycle in which the new path was seen */
  readonly cycle: number;
  readonly previous: { readonly id: string; readonly responders: readonly (string | null)[] };
  readonly current: { readonly id: string; readonly responders: readonly (string | null)[] };
  /** changes so far, this one included */
  readonly changes: number;
}

export interface CycleDoneEvent extends TargetBase {
  readonly type: 'cycle-done';
  /** 1-based, counting on across resets */
  readonly cycle: number;
  /** cycles to run; undefined: until stopped */
  readonly of: number | undefined;
  readonly pathId: string;
  readonly destinationTtl: number | undefined;
  readonly reached: boolean;
  readonly end: PathEnd;
}

export interface TargetPausedEvent extends TargetBase {
  readonly type: 'target-paused';
}
export interface TargetResumedEvent extends TargetBase {
  readonly type: 'target-resumed';
}
export interface TargetResetEvent extends TargetBase {
  readonly type: 'target-reset';
  /** 'request': reset(); 'options': reconfigure() changed what is measured */
  readonly reason: 'request' | 'options';
}
export interface TargetReconfiguredEvent extends TargetBase {
  readonly type: 'target-reconfigured';
  readonly options: TargetOptions;
  /** true when the change restarted the target (a target-reset with reason 'options' follows) */
  readonly restarted: boolean;
}

export type DoneReason =
  /** every cycle done and the grace time over (or nothing in flight) */
  | 'completed'
  /** stop() */
  | 'stopped'
  | 'removed'
  /** see the error event just before it */
  | 'failed';

export interface TargetDoneEvent extends TargetBase {
  readonly type: 'target-done';
  readonly reason: DoneReason;
}

/** Where an error happened. */
export type ErrorStage =
  /** the name did not resolve */
  | 'resolve'
  /** -a / -I did not give a source address */
  | 'local-address'
  /** the packet process does not support what the target asks for, or did not start */
  | 'features'
  /** the packet process refused a probe in a way trying again will not fix (mtr 0.95 exits) */
  | 'probe'
  /** the packet process died */
  | 'packet-process'
  /** a subscriber threw (it was removed) */
  | 'listener';

export interface ErrorEvent extends Base {
  readonly type: 'error';
  /** undefined for an engine-wide error (the packet process died, a listener threw) */
  readonly target: TargetRef | undefined;
  readonly stage: ErrorStage;
  /** one line, mtr's words where mtr has them (e.g. "Failed to resolve host: x: Name or service not known") */
  readonly message: string;
  /** for 'resolve': getaddrinfo's code (ENOTFOUND, EAI_AGAIN, ...); for 'probe': the daemon's reply word */
  readonly code?: string | undefined;
}

export interface WarningEvent extends Base {
  readonly type: 'warning';
  readonly target: TargetRef | undefined;
  /** e.g. 'probes-exhausted' */
  readonly code: string;
  readonly message: string;
}

export interface PacketProcessStartedEvent extends Base {
  readonly type: 'packet-process-started';
  readonly pid: number | undefined;
  /** 0 for the first, then 1, 2, ... */
  readonly restarts: number;
}

export interface PacketProcessExitedEvent extends Base {
  readonly type: 'packet-process-exited';
  readonly pid: number | undefined;
  readonly message: string;
  /** true when the engine opens a new one (onPacketProcessExit 'restart') */
  readonly restarting: boolean;
}

/** The shared name service learned a name or an IP-info item (renderers showing names may redraw). */
export interface NameResolvedEvent extends Base {
  readonly type: 'name-resolved';
  readonly address: string;
}

export type EngineEvent =
  | TargetAddedEvent
  | TargetStartedEvent
  | ProbeSentEvent
  | ProbeAnsweredEvent
  | ProbeLostEvent
  | HopChangedEvent
  | PathChangedEvent
  | CycleDoneEvent
  | TargetPausedEvent
  | TargetResumedEvent
  | TargetResetEvent
  | TargetReconfiguredEvent
  | TargetDoneEvent
  | ErrorEvent
  | WarningEvent
  | PacketProcessStartedEvent
  | PacketProcessExitedEvent
  | NameResolvedEvent;

export type EngineEventType = EngineEvent['type'];

/** Every event type, in the order above (for exhaustive tables: schemas, NDJSON). */
export const ENGINE_EVENT_TYPES = [
  'target-added',
  'target-started',
  'probe-sent',
  'probe-answered',
  'probe-lost',
  'hop-changed',
  'path-changed',
  'cycle-done',
  'target-paused',
  'target-resumed',
  'target-reset',
  'target-reconfigured',
  'target-done',
  'error',
  'warning',
  'packet-process-started',
  'packet-process-exited',
  'name-resolved',
] as const satisfies readonly EngineEventType[];

/** The events of one type. */
export type EventOf<T extends EngineEventType> = Extract<EngineEvent, { type: T }>;

type MissingType = Exclude<EngineEventType, (typeof ENGINE_EVENT_TYPES)[number]>;
/** compile-time check: ENGINE_EVENT_TYPES lists every type */
export const EVERY_EVENT_TYPE_LISTED: [MissingType] extends [never] ? true : false = true;
