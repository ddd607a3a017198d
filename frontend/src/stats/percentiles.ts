// Percentiles: exact over a window (sort), and over a lifetime from log-linear buckets whose every value
// is within 1% of the samples it stands for (DDSketch's mapping: bucket k holds (γ^(k-1), γ^k], shown as
// 2γ^k / (γ + 1), with γ = (1 + α) / (1 - α), α = 0.01). The bucket count is bounded by the value range
// (about 1,730 between 1 ns and 11.6 days), never by the number of samples; the buckets in use are stored
// sorted in typed arrays (no Map entry per bucket).
//
// One rule everywhere, nearest rank: the q-th percentile of n samples is the sample at rank ceil(q * n)
// (1-based). It is always a value that was seen; the lifetime one is within 1% of it.

import type { Percentiles } from './types.js';

/** the quantiles every view carries */
export const QUANTILES = { p50: 0.5, p90: 0.9, p95: 0.95, p99: 0.99 } as const;

/** 0-based index of the nearest-rank q-th percentile among n sorted samples (n > 0). */
export function rankIndex(q: number, n: number): number {
  const k = Math.ceil(q * n) - 1;
  return k < 0 ? 0 : k >= n ? n - 1 : k;
}

const ascending = (a: number, b: number): number => a - b;

/** Exact percentiles (ms) of samples in µs; sorts `us` in place. undefined when empty. */
export function exactPercentiles(us: number[] | Float64Array): Percentiles | undefined {
  const n = us.length;
  if (n === 0) return undefined;
  // one comparator for every call (a closure per call would lose its optimized code at each major GC)
  us.sort(ascending);
  const at = (q: number): number => (us[rankIndex(q, n)] as number) / 1000;
  return { p50: at(QUANTILES.p50), p90: at(QUANTILES.p90), p95: at(QUANTILES.p95), p99: at(QUANTILES.p99) };
}

/** relative accuracy of LogHistogram.quantile */
export const RELATIVE_ACCURACY = 0.01;
const GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY);
const LOG_GAMMA = Math.log(GAMMA);
/** µs: below this a value counts as zero; above MAX_VALUE it counts as MAX_VALUE */
export const MIN_VALUE = 1e-3;
export const MAX_VALUE = 1e12;

/** the bucket index of a value >= MIN_VALUE */
const bucketOf = (v: number): number => Math.ceil(Math.log(v > MAX_VALUE ? MAX_VALUE : v) / LOG_GAMMA);
/** every bucket index there can be (about 1,730: -345 .. 1,382), so an Int16Array holds them */
export const MAX_BUCKETS = bucketOf(MAX_VALUE) - bucketOf(MIN_VALUE) + 1;
const FIRST_CAPACITY = 8;

/**
 * A bounded lifetime distribution of RTTs (µs). The buckets in use are kept sorted in two parallel typed
 * arrays (index, count) that double when full: a few objects per histogram whatever its size, nothing
 * allocated for a value whose bucket exists, and at most MAX_BUCKETS entries.
 */
export class LogHistogram {
  private keys = new Int16Array(FIRST_CAPACITY);
  private counts = new Float64Array(FIRST_CAPACITY);
  /** buckets in use: keys[0 .. used) ascending */
  private used = 0;
  /** the last bucket added to (RTTs repeat: most adds land there or next to it) */
  private hint = 0;
  private zeros = 0;
  private total = 0;

  get count(): number {
    return this.total;
  }

  /** distinct buckets in use */
  get size(): number {
    return this.used + (this.zeros > 0 ? 1 : 0);
  }

  /** buckets the storage has room for (grows by doubling, never beyond MAX_BUCKETS) */
  get capacity(): number {
    return this.keys.length;
  }

  add(value: number): void {
    this.total++;
    if (!(value >= MIN_VALUE)) {
      this.zeros++; // 0, negative, NaN: a zero RTT
      return;
    }
    const k = bucketOf(value);
    const keys = this.keys;
    const h = this.hint;
    if (h < this.used && keys[h] === k) {
      this.counts[h] = (this.counts[h] as number) + 1;
      return;
    }
    // binary search for k among keys[0 .. used)
    let lo = 0;
    let hi = this.used;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((keys[mid] as number) < k) lo = mid + 1;
      else hi = mid;
    }
    if (lo < this.used && keys[lo] === k) {
      this.counts[lo] = (this.counts[lo] as number) + 1;
      this.hint = lo;
      return;
    }
    if (this.used === keys.length) this.grow();
    // a new bucket: shift the larger ones up one place
    this.keys.copyWithin(lo + 1, lo, this.used);
    this.counts.copyWithin(lo + 1, lo, this.used);
    this.keys[lo] = k;
    this.counts[lo] = 1;
    this.used++;
    this.hint = lo;
  }

  private grow(): void {
    const n = Math.min(MAX_BUCKETS, this.keys.length * 2);
    const keys = new Int16Array(n);
    const counts = new Float64Array(n);
    keys.set(this.keys);
    counts.set(this.counts);
    this.keys = keys;
    this.counts = counts;
  }

  /** The nearest-rank q-th percentile, within 1%; undefined when empty. */
  quantile(q: number): number | undefined {
    if (this.total === 0) return undefined;
    let rank = rankIndex(q, this.total) + 1;
    if (rank <= this.zeros) return 0;
    rank -= this.zeros;
    for (let i = 0; i < this.used; i++) {
      rank -= this.counts[i] as number;
      if (rank <= 0) return (2 * Math.pow(GAMMA, this.keys[i] as number)) / (GAMMA + 1);
    }
    return undefined; // not reached: the counts add up to total
  }

  /** Percentiles in ms; undefined when empty. */
  percentiles(): Percentiles | undefined {
    if (this.total === 0) return undefined;
    const at = (q: number): number => (this.quantile(q) as number) / 1000;
    return { p50: at(QUANTILES.p50), p90: at(QUANTILES.p90), p95: at(QUANTILES.p95), p99: at(QUANTILES.p99) };
  }
}
