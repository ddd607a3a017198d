// What the live view draws: one target's state at one moment, already reduced to what a screen shows.
// The engine's TargetSnapshot maps onto it in adapter.ts; the screen model (screen.ts) reads only this,
// so it is tested from plain data files.
//
// Times are milliseconds, loss in percent, as the engine's RttView has them.

import type { MplsLabel, ProbeProtocol } from '@mtr-ts/protocol';
import type { Percentiles, RttView, SampleState } from '../stats/types.js';
import type { LiveDiagnosis } from './diagnosis.js';

export type LiveProtocol = ProbeProtocol;

export type LiveMpls = Readonly<MplsLabel>;

/** The numbers one row shows: the engine's RttView but inFlight, and of its percentiles p50 and p95. */
export type LiveStats = Pick<
  RttView,
  'sent' | 'received' | 'drop' | 'lossPercent' | 'last' | 'best' | 'avg' | 'worst' | 'stdev' | 'gmean' | 'jitter' | 'javg' | 'jmax' | 'jint'
> & {
  /** undefined until a reply */
  readonly percentiles?: Pick<Percentiles, 'p50' | 'p95'> | undefined;
};

/** One probe in a hop's recent history; `rtt` in ms for 'reply'. */
export interface LiveSample {
  readonly state: SampleState;
  readonly rtt?: number | undefined;
}

export interface LiveResponder {
  readonly address: string;
  /** replies from this address (for its share of the hop's replies) */
  readonly replies: number;
  readonly mpls: readonly LiveMpls[];
  /**
   * With `--flows`: this member's own statistics (its replies and the losses charged to it, as the
   * report's member lines have them) and its share of the hop's probes in percent. Undefined otherwise.
   */
  readonly member?: { readonly stats: LiveStats; readonly share: number } | undefined;
}

export interface LiveHop {
  /** 1-based */
  readonly ttl: number;
  /**
   * Every address that answered at this TTL, first seen first (mtr head's stable order); the first is
   * the one the row is named after. Empty while nobody answered.
   */
  readonly responders: readonly LiveResponder[];
  /** an unreachable answer ended the path here: the row shows this text, e.g. "no route to host" */
  readonly error?: string | undefined;
  /** mtr's "down": the hop did not answer its last finished probe; the row is drawn bold */
  readonly down: boolean;
  readonly stats: LiveStats;
  /** oldest first */
  readonly samples: readonly LiveSample[];
  /** with `--flows`: how the hop balances, as its flows show it (HopSnapshot.balancing) */
  readonly balancing?: 'none' | 'per-flow' | 'per-packet' | undefined;
  /** answers whose quote showed the flow fields rewritten: a NAT before this hop (HopSnapshot.nat) */
  readonly nat?: number | undefined;
}

export interface LiveSnapshot {
  /** os.hostname() */
  readonly localHostname: string;
  /** the source address, when known */
  readonly localAddress: string | undefined;
  /** the target as typed */
  readonly target: string;
  readonly targetAddress: string | undefined;
  readonly protocol: LiveProtocol;
  /** ms since the epoch: the clock shown */
  readonly now: number;
  /** the hops a screen shows, in TTL order (mtr's net_min .. net_max) */
  readonly hops: readonly LiveHop[];
  /** the diagnosis so far (diagnosis.ts); undefined: none (no line on the screen) */
  readonly diagnosis?: LiveDiagnosis | undefined;
}

/** Names known so far (reverse DNS, IP info); undefined when not (yet) known. */
export interface LiveNames {
  host(address: string): string | undefined;
  ipinfo(address: string): string | undefined;
}

export const NO_LIVE_NAMES: LiveNames = { host: () => undefined, ipinfo: () => undefined };

export const EMPTY_STATS: LiveStats = Object.freeze({
  sent: 0,
  received: 0,
  drop: 0,
  lossPercent: 0,
  last: 0,
  best: 0,
  avg: 0,
  worst: 0,
  stdev: 0,
  gmean: 0,
  jitter: 0,
  javg: 0,
  jmax: 0,
  jint: 0,
  percentiles: undefined,
});
