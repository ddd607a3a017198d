// Per-hop statistics as a pure reducer: (state, event) -> new state. No clock, no I/O.
// The RTT numbers are the one accumulator of stats/rtt.ts (Welford, RFC 3550); a hop adds its latest
// responder, every responder seen with its reply count, and whether the path ends here.

import type { MplsLabel } from '@mtr-ts/protocol';
import { addRtt, EMPTY_RTT, viewRtt, type HopView, type RttState } from './stats/rtt.js';
import { MAX_RESPONDERS } from './stats/types.js';

/** One responder seen at a hop (ECMP or path change), with how many replies came from it. */
export interface Responder {
  readonly address: string;
  readonly count: number;
  readonly mpls: readonly MplsLabel[];
}

/** Why a hop ended the path without being the destination (an ICMP unreachable answer). */
export type HopError = 'no-route' | 'no-route-network' | 'no-route-host' | 'host-down' | 'network-down';

export interface HopState extends RttState {
  /** the latest responder's address, undefined until one answered */
  readonly address: string | undefined;
  /** the latest responder's MPLS labels */
  readonly mpls: readonly MplsLabel[];
  /** every responder seen, first seen first (at most MAX_RESPONDERS: memory stays bounded) */
  readonly responders: readonly Responder[];
  /** set when the last answer at this hop was an unreachable error: the path ends here */
  readonly error: HopError | undefined;
}

export type HopEvent =
  | { readonly kind: 'sent' }
  | {
      readonly kind: 'reply';
      readonly address: string;
      /** µs */
      readonly rtt: number;
      readonly mpls?: readonly MplsLabel[] | undefined;
      readonly error?: HopError | undefined;
    }
  /** no reply within the timeout, or the probe could not be sent */
  | { readonly kind: 'lost' }
  /** the run is over: whatever is still in flight is lost (mtr's net_end_transit) */
  | { readonly kind: 'end' };

const NO_LABELS: readonly MplsLabel[] = Object.freeze([]);

export const EMPTY_HOP: HopState = Object.freeze({
  ...EMPTY_RTT,
  address: undefined,
  mpls: NO_LABELS,
  responders: Object.freeze([]) as readonly Responder[],
  error: undefined,
});

export function reduceHop(s: HopState, e: HopEvent): HopState {
  switch (e.kind) {
    case 'sent':
      return hop(s, s.xmit + 1, s.inFlight + 1, s);
    case 'lost':
      return s.inFlight > 0 ? hop(s, s.xmit, s.inFlight - 1, s) : s;
    case 'end':
      return s.inFlight > 0 ? hop(s, s.xmit, 0, s) : s;
    case 'reply': {
      const mpls = e.mpls ?? NO_LABELS;
      const where = { address: e.address, mpls, responders: addResponder(s.responders, e.address, mpls), error: e.error };
      return hop(addRtt(s, e.rtt), s.xmit, s.inFlight > 0 ? s.inFlight - 1 : 0, where);
    }
  }
}

/** A hop state as one literal (one object shape, so millions of updates stay cheap). */
function hop(r: RttState, xmit: number, inFlight: number, w: Pick<HopState, 'address' | 'mpls' | 'responders' | 'error'>): HopState {
  return {
    xmit,
    inFlight,
    returned: r.returned,
    last: r.last,
    best: r.best,
    worst: r.worst,
    mean: r.mean,
    m2: r.m2,
    logSum: r.logSum,
    jitter: r.jitter,
    jitterCount: r.jitterCount,
    jitterMean: r.jitterMean,
    jitterMax: r.jitterMax,
    jitterInterarrival: r.jitterInterarrival,
    address: w.address,
    mpls: w.mpls,
    responders: w.responders,
    error: w.error,
  };
}

/** Counts a reply for its responder; at most MAX_RESPONDERS are listed (mtr keeps 8), later ones are not. */
function addResponder(list: readonly Responder[], address: string, mpls: readonly MplsLabel[]): readonly Responder[] {
  for (let i = 0; i < list.length; i++) {
    const r = list[i] as Responder;
    if (r.address === address) {
      const copy = list.slice();
      copy[i] = { address, count: r.count + 1, mpls };
      return copy;
    }
  }
  return list.length >= MAX_RESPONDERS ? list : [...list, { address, count: 1, mpls }];
}

export type { HopView } from './stats/rtt.js';

/** The numbers a report shows for a hop; RTTs in milliseconds, loss in percent. */
export const viewHop = (s: HopState): HopView => viewRtt(s);

/** A column's value from a view; ' ' (the spacer) shows Drop, as mtr's table does. */
export function fieldValue(v: HopView, key: string): number {
  switch (key) {
    case 'L':
      return v.lossPercent;
    case 'D':
    case ' ':
      return v.drop;
    case 'R':
      return v.received;
    case 'S':
      return v.sent;
    case 'N':
      return v.last;
    case 'B':
      return v.best;
    case 'A':
      return v.avg;
    case 'W':
      return v.worst;
    case 'V':
      return v.stdev;
    case 'G':
      return v.gmean;
    case 'J':
      return v.jitter;
    case 'M':
      return v.javg;
    case 'X':
      return v.jmax;
    case 'I':
      return v.jint;
    default:
      return 0;
  }
}
