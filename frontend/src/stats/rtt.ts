// The one RTT accumulator, used per hop, per responder and per window: (state, sample) -> new state.
//
// Times are microseconds as floats. Mean and variance use Welford's update, so a long run does not
// drift; the geometric mean keeps a running sum of logarithms. Jitter follows mtr's meaning
// (|difference between consecutive replies' RTTs|) and the interarrival jitter is RFC 3550's
// J += (|D| - J) / 16, kept as a float and shown unscaled. (mtr 0.95 keeps whole microseconds, so its
// averages are truncated at every step, and shows its 16-times-scaled Jint register as is.)
//
// Probes in flight are never counted as lost: Loss% and Drop are computed over probes that finished.

export interface RttState {
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
}

export const EMPTY_RTT: RttState = Object.freeze({
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
});

/** One reply's RTT (µs) into the RTT fields; xmit and inFlight are the caller's (kept unless given). */
export function addRtt(s: RttState, rtt: number, xmit = s.xmit, inFlight = s.inFlight): RttState {
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
    xmit,
    inFlight,
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
  };
}

/**
 * addRtt over a list of RTTs (µs) from EMPTY_RTT, in order, as one loop: the same arithmetic in the same
 * order, so the same state, without a state object per sample (a window is folded ten times a second).
 */
export function foldRtts(rtts: readonly number[], xmit: number, inFlight: number): RttState {
  if (rtts.length === 0) return withCounts(EMPTY_RTT, xmit, inFlight);
  let n = 0;
  let last = 0;
  let best = 0;
  let worst = 0;
  let mean = 0;
  let m2 = 0;
  let logSum = 0;
  let jitter = 0;
  let jitterCount = 0;
  let jitterMean = 0;
  let jitterMax = 0;
  let jitterInterarrival = 0;
  for (let i = 0; i < rtts.length; i++) {
    const rtt = rtts[i] as number;
    const first = n === 0;
    n += 1;
    const delta = rtt - mean;
    mean = mean + delta / n;
    m2 = m2 + delta * (rtt - mean);
    jitter = 0;
    if (!first) {
      jitter = Math.abs(rtt - last);
      jitterCount += 1;
      jitterMean += (jitter - jitterMean) / jitterCount;
      if (jitter > jitterMax) jitterMax = jitter;
      jitterInterarrival += (jitter - jitterInterarrival) / 16;
    }
    best = first || rtt < best ? rtt : best;
    worst = first || rtt > worst ? rtt : worst;
    logSum = logSum + Math.log(rtt);
    last = rtt;
  }
  return { xmit, inFlight, returned: n, last, best, worst, mean, m2, logSum, jitter, jitterCount, jitterMean, jitterMax, jitterInterarrival };
}

/** The same RTT fields with other probe counts. */
export function withCounts(s: RttState, xmit: number, inFlight: number): RttState {
  return {
    xmit,
    inFlight,
    returned: s.returned,
    last: s.last,
    best: s.best,
    worst: s.worst,
    mean: s.mean,
    m2: s.m2,
    logSum: s.logSum,
    jitter: s.jitter,
    jitterCount: s.jitterCount,
    jitterMean: s.jitterMean,
    jitterMax: s.jitterMax,
    jitterInterarrival: s.jitterInterarrival,
  };
}

/** The numbers a report shows for an accumulator; RTTs in milliseconds, loss in percent. */
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

export function viewRtt(s: RttState): HopView {
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
