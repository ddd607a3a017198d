// The narrow event interface the exporter's outputs (metrics) are fed with. It mirrors the engine's
// event stream (frontend/src/engine/events.ts) reduced to what the exporter reads, with the target named
// by its configuration name (the engine knows targets by id and host); `engine-source.ts` translates.
// Pure data: metrics tests are event sequences, no engine needed.
//
// Times are milliseconds (`at`: since the epoch; `rtt`: ms with a µs fraction), as in the engine.

import type { LossReason } from '../engine/events.js';
import type { RuleId } from '../diagnose/index.js';

export type AnswerKind = 'ttl-expired' | 'reply' | 'unreachable';

/** Why a probe or a target produced no measurement; the `kind` label of mtrts_probe_errors_total. */
export type ProbeErrorKind =
  /** the packet program had too many probes in flight */
  | 'probes_exhausted'
  /** the local host could not send it: no route, network down */
  | 'send_failed'
  /** the packet program died with the probe in flight */
  | 'daemon_exit'
  /** a refusal of the packet program (invalid argument, permission denied, ...) */
  | 'refused'
  /** the packet program does not support what the target asks for */
  | 'unsupported'
  /** the target's name did not resolve */
  | 'resolve';

export const PROBE_ERROR_KINDS: readonly ProbeErrorKind[] = [
  'probes_exhausted',
  'send_failed',
  'daemon_exit',
  'refused',
  'unsupported',
  'resolve',
];

/** A raised verdict of the path diagnosis, reduced to what the metrics show. */
export interface VerdictBrief {
  readonly rule: RuleId;
  /** the TTL it is about; undefined for the whole path */
  readonly hop: number | undefined;
  /** 0..1 */
  readonly confidence: number;
}

export type BudgetName = 'global' | 'router' | 'in_flight';

export type ExporterEvent =
  /** the target's name resolved (again) to this address */
  | {
      readonly type: 'target-address';
      readonly target: string;
      readonly at: number;
      readonly address: string;
      readonly family: 4 | 6;
    }
  | { readonly type: 'probe-sent'; readonly target: string; readonly at: number; readonly ttl: number }
  | {
      readonly type: 'probe-answered';
      readonly target: string;
      readonly at: number;
      readonly ttl: number;
      readonly kind: AnswerKind;
      readonly responder: string;
      /** ms */
      readonly rtt: number;
      /** the responder is the target's address */
      readonly destination: boolean;
    }
  | {
      readonly type: 'probe-lost';
      readonly target: string;
      readonly at: number;
      readonly ttl: number;
      readonly reason: LossReason;
      readonly detail?: string | undefined;
    }
  /** a probe or the whole target gave no measurement for a reason of ours or of the host, not the network */
  | {
      readonly type: 'target-error';
      readonly target: string;
      readonly at: number;
      readonly kind: ProbeErrorKind;
      readonly message: string;
    }
  /** a budget held a probe back (it goes one tick later): neither a probe nor a loss */
  | {
      readonly type: 'probe-deferred';
      readonly target: string;
      readonly at: number;
      readonly ttl: number;
      readonly budget: BudgetName;
    }
  /** one trace of the target went out (its answers may still be on their way) */
  | {
      readonly type: 'cycle-done';
      readonly target: string;
      readonly at: number;
      readonly cycle: number;
      /** 16 hex digits naming the responder sequence */
      readonly pathId: string;
      readonly destinationTtl: number | undefined;
      readonly reached: boolean;
    }
  /** a diagnosis window was judged: every verdict raised after it (hysteresis applied), in path order */
  | {
      readonly type: 'diagnosis';
      readonly target: string;
      readonly at: number;
      readonly active: readonly VerdictBrief[];
    }
  | {
      readonly type: 'path-changed';
      readonly target: string;
      readonly at: number;
      readonly previous: { readonly id: string; readonly responders: readonly (string | null)[] };
      readonly current: { readonly id: string; readonly responders: readonly (string | null)[] };
    };

/** Events of the probing machinery itself, not of one target. */
export type ProcessEvent =
  /** the packet program died (and is started again) */
  | {
      readonly type: 'daemon-exit';
      readonly at: number;
      readonly pid: number | undefined;
      readonly message: string;
      readonly restarting: boolean;
    }
  /** the packet program was started; restarts: 0 for the first */
  | {
      readonly type: 'daemon-started';
      readonly at: number;
      readonly pid: number | undefined;
      readonly restarts: number;
    };

export type AnyEvent = ExporterEvent | ProcessEvent;
