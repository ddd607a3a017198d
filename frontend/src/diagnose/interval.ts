// The statistics the rules share: Wilson score intervals for a loss fraction, and a normal tail for turning
// a difference into a confidence. Pure, no dependencies.

/** z for a two-sided 95% interval */
export const Z95 = 1.959963984540054;

export interface Interval {
  /** point estimate */
  readonly p: number;
  readonly lo: number;
  readonly hi: number;
  /** trials the interval comes from */
  readonly n: number;
}

/** 95% Wilson score interval of `x` successes in `n` trials; [0, 1] when n is 0. */
export function wilson(x: number, n: number, z = Z95): Interval {
  if (n <= 0) return { p: 0, lo: 0, hi: 1, n: 0 };
  const p = Math.min(1, Math.max(0, x / n));
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  // at x = 0 or x = n the bound is exactly 0 or 1; keep rounding from moving it
  const lo = x <= 0 ? 0 : Math.max(0, centre - half);
  const hi = x >= n ? 1 : Math.min(1, centre + half);
  return { p, lo, hi, n };
}

/** Loss interval of a hop: lost = sent - received. */
export function lossInterval(sent: number, received: number): Interval {
  return wilson(Math.max(0, sent - received), sent);
}

/** Standard normal CDF (Abramowitz-Stegun 7.1.26 on erf; |error| < 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + y) : 0.5 * (1 - y);
}

/**
 * One-sided confidence that proportion a (xa of na) is larger than b (xb of nb): the normal approximation of
 * the two-proportion test, with a pooled variance and a half-count continuity correction.
 */
export function confidenceGreater(xa: number, na: number, xb: number, nb: number): number {
  if (na <= 0 || nb <= 0) return 0;
  const pa = xa / na;
  const pb = xb / nb;
  const pool = (xa + xb) / (na + nb);
  const se = Math.sqrt(pool * (1 - pool) * (1 / na + 1 / nb));
  if (se === 0) return pa > pb ? 1 : 0;
  const corr = 0.5 * (1 / na + 1 / nb);
  return normalCdf((pa - pb - corr) / se);
}

/** Confidence that a mean difference `diff` is real given its standard error (one-sided). */
export function confidenceFromZ(diff: number, se: number): number {
  if (se <= 0) return diff > 0 ? 1 : 0;
  return normalCdf(diff / se);
}

/** Rounded for people and for stable JSON: two decimals, at most 0.99 (a measurement is never certain). */
export function roundConfidence(c: number): number {
  if (!Number.isFinite(c) || c <= 0) return 0;
  return Math.min(0.99, Math.round(c * 100) / 100);
}

export function pct(p: number, digits = 0): string {
  return `${(p * 100).toFixed(digits)}%`;
}
