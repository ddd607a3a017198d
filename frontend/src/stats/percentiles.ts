// Percentiles: exact over a window (sort), and over a lifetime from log-linear buckets whose every value
// is within 1% of the samples it stands for (DDSketch's mapping: bucket k holds (γ^(k-1), γ^k], shown as
// 2γ^k / (γ + 1), with γ = (1 + α) / (1 - α), α = 0.01). The bucket count is bounded by the value range
// (about 1,700 between 1 ns and 11.6 days), never by the number of samples.
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

/** Exact percentiles (ms) of samples in µs; sorts `us` in place. undefined when empty. */
export function exactPercentiles(us: number[] | Float64Array): Percentiles | undefined {
  const n = us.length;
  if (n === 0) return undefined;
  us.sort((a, b) => a - b);
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

/** A bounded lifetime distribution of RTTs (µs). */
export class LogHistogram {
  private readonly buckets = new Map<number, number>();
  private zeros = 0;
  private total = 0;
  private sortedKeys: number[] | undefined;

  get count(): number {
    return this.total;
  }

  /** distinct buckets in use (the memory bound) */
  get size(): number {
    return this.buckets.size + (this.zeros > 0 ? 1 : 0);
  }

  add(value: number): void {
    this.total++;
    if (!(value >= MIN_VALUE)) {
      this.zeros++; // 0, negative, NaN: a zero RTT
      return;
    }
    const v = value > MAX_VALUE ? MAX_VALUE : value;
    const k = Math.ceil(Math.log(v) / LOG_GAMMA);
    const c = this.buckets.get(k);
    if (c === undefined) {
      this.buckets.set(k, 1);
      this.sortedKeys = undefined;
    } else this.buckets.set(k, c + 1);
  }

  /** The nearest-rank q-th percentile, within 1%; undefined when empty. */
  quantile(q: number): number | undefined {
    if (this.total === 0) return undefined;
    let rank = rankIndex(q, this.total) + 1;
    if (rank <= this.zeros) return 0;
    rank -= this.zeros;
    this.sortedKeys ??= [...this.buckets.keys()].sort((a, b) => a - b);
    for (const k of this.sortedKeys) {
      rank -= this.buckets.get(k) as number;
      if (rank <= 0) return (2 * Math.pow(GAMMA, k)) / (GAMMA + 1);
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
