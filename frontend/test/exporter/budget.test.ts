// The probe budgets on a hand-driven clock: the global rate, the per-router rate with its burst, the
// in-flight bound, and that idle router buckets are forgotten.

import { describe, expect, it } from 'vitest';
import { ProbeBudget, TokenBucket } from '../../src/exporter/budget.js';

const limits = { probesPerSecond: 100, routerProbesPerSecond: 1, routerBurst: 6, maxInFlight: 50 };

describe('probe budget', () => {
  it('a token bucket gives its burst, then its rate', () => {
    const b = new TokenBucket(2, 3, 0);
    expect([b.take(0), b.take(0), b.take(0), b.take(0)]).toEqual([true, true, true, false]);
    expect(b.take(499)).toBe(false);
    expect(b.take(500)).toBe(true);
    expect(b.take(1000)).toBe(true);
    expect(b.idle(10_000)).toBe(true);
  });

  it("holds a router to Linux's ICMP limit: a burst of 6, then 1 per second", () => {
    const p = new ProbeBudget(limits, 0);
    const verdicts = Array.from({ length: 8 }, () => p.admit(0, 0, '10.0.1.2'));
    expect(verdicts).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'router', 'router']);
    expect(p.admit(0, 0, '10.0.2.2')).toBe('ok'); // another router has its own budget
    expect(p.admit(0, 0, undefined)).toBe('ok'); // the destination's TTL: no router budget
    expect(p.admit(999, 0, '10.0.1.2')).toBe('router');
    expect(p.admit(1000, 0, '10.0.1.2')).toBe('ok');
  });

  it('holds everything to the global rate', () => {
    const p = new ProbeBudget({ ...limits, probesPerSecond: 20 }, 0);
    let ok = 0;
    for (let t = 0; t <= 10_000; t += 10) if (p.admit(t, 0, undefined) === 'ok') ok++;
    // 10 s at 20/s plus the initial bucket of 2
    expect(ok).toBeGreaterThanOrEqual(200);
    expect(ok).toBeLessThanOrEqual(202);
  });

  it('keeps probes in flight under the bound, and a refused probe takes no token', () => {
    const p = new ProbeBudget({ ...limits, routerBurst: 1 }, 0);
    expect(p.admit(0, 50, '10.0.1.2')).toBe('in_flight');
    expect(p.admit(0, 49, '10.0.1.2')).toBe('ok');
  });

  it('forgets routers whose bucket is full again', () => {
    const p = new ProbeBudget(limits, 0);
    for (let i = 0; i < 100; i++) p.admit(0, 0, `10.0.${i}.1`);
    expect(p.routersTracked).toBe(100);
    p.admit(120_000, 0, undefined);
    expect(p.routersTracked).toBe(0);
  });
});
