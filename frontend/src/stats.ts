// Per-hop statistics as a pure reducer: (state, event) -> new state. No clock, no I/O.
//
// Times are kept in microseconds as floats. Mean and variance use Welford's update, so a long run
// does not drift; the geometric mean keeps a running sum of logarithms. Jitter follows mtr's meaning
// (|difference between consecutive replies' RTTs|) and the interarrival jitter is RFC 3550's
// J += (|D| - J) / 16, kept as a float and shown unscaled. (mtr 0.95 keeps whole microseconds, so its
// averages are truncated at every step, and shows its 16-times-scaled Jint register as is.)
//
// Probes in flight are never counted as lost: Loss% and Drop are computed over probes that finished.

import type { MplsLabel } from '@mtr-ts/protocol';

/** One responder seen at a hop (ECMP or path change), with how many replies came from it. */
export interface Responder {
  readonly address: string;
  readonly count: number;
  readonly mpls: readonly MplsLabel[];
}

/** Why a hop ended the path without being the destination (an ICMP unreachable answer). */
export type HopError = 'no-route' | 'no-route-network' | 'no-route-host' | 'host-down' | 'network-down';

export interface HopState {
  /** probes sent (Snt) */
  readonly xmit: number;
  /** probes sent and not yet answered nor timed out */
  readonly inFlight: number;
  /** replies received (Rcv) */
  readonly returned: number;
  /** µs; 0 until the first reply */
  readonly last: number;
  readonly best: number;
  readonly worst: number;
  /** Welford running mean and sum of squared differences, µs and µs² */
  readonly mean: number;
  readonly m2: number;
  /** sum of ln(rtt µs); -Infinity once a zero RTT was seen */
  readonly logSum: number;
  /** |last - previous| µs, 0 until two replies */
  readonly jitter: number;
  /** number of jitter samples (returned - 1 once returned > 0) */
  readonly jitterCount: number;
  readonly jitterMean: number;
  readonly jitterMax: number;
  /** RFC 3550 interarrival jitter estimate, µs */
  readonly jitterInterarrival: number;
  /** the latest responder's address, undefined until one answered */
  readonly address: string | undefined;
  /** the latest responder's MPLS labels */
  readonly mpls: readonly MplsLabel[];
  /** every responder seen, first seen first */
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
  xmit: 0,
  inFlight: 0,
  returned: 0,
  last: 0,
  best: 0,
  worst: 0,
  mean: 0,
  m2: 0,
  logSum: 0,
  jitter: 0,
  jitterCount: 0,
  jitterMean: 0,
  jitterMax: 0,
  jitterInterarrival: 0,
  address: undefined,
  mpls: NO_LABELS,
  responders: Object.freeze([]) as readonly Responder[],
  error: undefined,
});

export function reduceHop(s: HopState, e: HopEvent): HopState {
  switch (e.kind) {
    case 'sent':
      return { ...s, xmit: s.xmit + 1, inFlight: s.inFlight + 1 };
    case 'lost':
      return s.inFlight > 0 ? { ...s, inFlight: s.inFlight - 1 } : s;
    case 'end':
      return s.inFlight > 0 ? { ...s, inFlight: 0 } : s;
    case 'reply':
      return addReply(s, e.address, e.rtt, e.mpls ?? NO_LABELS, e.error);
  }
}

function addReply(s: HopState, address: string, rtt: number, mpls: readonly MplsLabel[], error: HopError | undefined): HopState {
  const n = s.returned + 1;
  const first = s.returned === 0;
  const delta = rtt - s.mean;
  const mean = s.mean + delta / n;
  const m2 = s.m2 + delta * (rtt - mean);
  let jitter = 0;
  let jitterCount = s.jitterCount;
  let jitterMean = s.jitterMean;
  let jitterMax = s.jitterMax;
  let jitterInterarrival = s.jitterInterarrival;
  if (!first) {
    jitter = Math.abs(rtt - s.last);
    jitterCount += 1;
    jitterMean += (jitter - jitterMean) / jitterCount;
    if (jitter > jitterMax) jitterMax = jitter;
    jitterInterarrival += (jitter - jitterInterarrival) / 16;
  }
  return {
    xmit: s.xmit,
    inFlight: s.inFlight > 0 ? s.inFlight - 1 : 0,
    returned: n,
    last: rtt,
    best: first || rtt < s.best ? rtt : s.best,
    worst: first || rtt > s.worst ? rtt : s.worst,
    mean,
    m2,
    logSum: s.logSum + Math.log(rtt),
    jitter,
    jitterCount,
    jitterMean,
    jitterMax,
    jitterInterarrival,
    address,
    mpls,
    responders: addResponder(s.responders, address, mpls),
    error,
  };
}

function addResponder(list: readonly Responder[], address: string, mpls: readonly MplsLabel[]): readonly Responder[] {
  for (let i = 0; i < list.length; i++) {
    const r = list[i] as Responder;
    if (r.address === address) {
      const copy = list.slice();
      copy[i] = { address, count: r.count + 1, mpls };
      return copy;
    }
  }
  return [...list, { address, count: 1, mpls }];
}

/** The numbers a report shows for a hop; RTTs in milliseconds, loss in percent. */
export interface HopView {
  lossPercent: number;
  drop: number;
  received: number;
  sent: number;
  last: number;
  best: number;
  avg: number;
  worst: number;
  stdev: number;
  gmean: number;
  jitter: number;
  javg: number;
  jmax: number;
  jint: number;
}

export function viewHop(s: HopState): HopView {
  const finished = s.xmit - s.inFlight;
  const drop = finished - s.returned;
  const n = s.returned;
  return {
    lossPercent: finished > 0 ? (100 * drop) / finished : 0,
    drop: drop > 0 ? drop : 0,
    received: n,
    sent: s.xmit,
    last: s.last / 1000,
    best: s.best / 1000,
    avg: s.mean / 1000,
    worst: s.worst / 1000,
    stdev: n > 1 ? Math.sqrt(s.m2 / (n - 1)) / 1000 : 0,
    gmean: n > 0 ? Math.exp(s.logSum / n) / 1000 : 0,
    jitter: s.jitter / 1000,
    javg: s.jitterMean / 1000,
    jmax: s.jitterMax / 1000,
    jint: s.jitterInterarrival / 1000,
  };
}

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
