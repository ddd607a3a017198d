import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exactPercentiles, LogHistogram, MAX_BUCKETS, MAX_VALUE, MIN_VALUE, QUANTILES, rankIndex, RELATIVE_ACCURACY } from '../src/stats/percentiles.js';
import { HopStats } from '../src/stats/hop-stats.js';
import { pathId } from '../src/stats/path.js';
import { addRtt, EMPTY_RTT, foldRtts, withCounts } from '../src/stats/rtt.js';
import { MAX_RESPONDERS } from '../src/stats/types.js';

/** µs RTTs as the packet process reports them: whole microseconds, zero included, up to 60 s */
const rtt = fc.oneof(fc.integer({ min: 0, max: 60_000_000 }), fc.integer({ min: 100, max: 50_000 }));

describe('rtt fold', () => {
  it('foldRtts gives exactly the state of addRtt applied one by one (property)', () => {
    fc.assert(
      fc.property(fc.array(rtt, { maxLength: 300 }), fc.nat(1000), fc.nat(10), (xs, xmit, inFlight) => {
        let chained = EMPTY_RTT;
        for (const x of xs) chained = addRtt(chained, x);
        expect(foldRtts(xs, xmit, inFlight)).toStrictEqual(withCounts(chained, xmit, inFlight));
      }),
      { numRuns: 300 },
    );
  });
});

describe('percentiles', () => {
  it('the lifetime histogram is within 1% of the exact nearest-rank percentile (property)', () => {
    fc.assert(
      fc.property(
        fc.array(rtt, { minLength: 1, maxLength: 2000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (xs, q) => {
          const h = new LogHistogram();
          for (const x of xs) h.add(x);
          const sorted = [...xs].sort((a, b) => a - b);
          const exact = sorted[rankIndex(q, sorted.length)] as number;
          const got = h.quantile(q) as number;
          if (exact === 0) expect(got).toBe(0);
          else expect(Math.abs(got - exact) / exact).toBeLessThanOrEqual(RELATIVE_ACCURACY + 1e-12);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('exact percentiles are the nearest-rank samples of a sort (property)', () => {
    fc.assert(
      fc.property(fc.array(rtt, { minLength: 1, maxLength: 500 }), (xs) => {
        const p = exactPercentiles([...xs])!;
        const sorted = [...xs].sort((a, b) => a - b);
        for (const [k, q] of Object.entries(QUANTILES)) {
          const i = Math.ceil(q * sorted.length) - 1;
          expect(p[k as keyof typeof p]).toBe((sorted[Math.max(0, i)] as number) / 1000);
        }
      }),
    );
  });

  it('the histogram stays bounded however many distinct values it sees', () => {
    const h = new LogHistogram();
    for (let x = 1; x < 60_000_000; x = Math.ceil(x * 1.001) + 1) h.add(x);
    // (1.0202)^k spans 1 us .. 60 s in fewer than 900 buckets
    expect(h.size).toBeLessThan(900);
    expect(h.capacity).toBeLessThanOrEqual(1024);
    expect(new LogHistogram().quantile(0.5)).toBeUndefined();
    // the whole value range: every bucket there is, and no more room than that
    const all = new LogHistogram();
    for (let x = MIN_VALUE; x < MAX_VALUE * 2; x *= 1.005) all.add(x);
    expect(all.size).toBe(MAX_BUCKETS);
    expect(all.capacity).toBe(MAX_BUCKETS);
    expect(all.quantile(0)).toBeGreaterThan(0);
  });

  it('stops growing once the range of the values has been seen (storage, not just buckets in use)', () => {
    const h = new LogHistogram();
    let x = 7;
    const next = (): number => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return 200 + (x % 50_000); // 0.2 .. 50 ms in µs
    };
    for (let i = 0; i < 20_000; i++) h.add(next());
    const warm = h.capacity;
    for (let i = 0; i < 500_000; i++) h.add(next());
    // rare buckets of the range may still come into use, within the room already there
    expect(h.capacity).toBe(warm);
    const gamma = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY);
    expect(h.size).toBeLessThanOrEqual(Math.ceil(Math.log(50_200 / 200) / Math.log(gamma)) + 1);
    expect(h.count).toBe(520_000);
    // and its percentiles are still within 1% of the nearest-rank sample
    const p50 = h.quantile(0.5) as number;
    expect(p50).toBeGreaterThan(0.97 * 25_200);
    expect(p50).toBeLessThan(1.03 * 25_200);
  });
});

describe('the rolling window', () => {
  it('equals the statistics of the last N probes computed directly (property)', () => {
    const outcome = fc.oneof(fc.constant<null>(null), fc.integer({ min: 1, max: 100_000 }));
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.array(outcome, { maxLength: 80 }), (n, outs) => {
        const h = new HopStats(1, n, n);
        outs.forEach((o, i) => {
          const slot = h.sent(i + 1, i + 1);
          if (o === null) h.lost(slot, i + 1);
          else
            h.answered(
              slot,
              i + 1,
              i + 1,
              { address: 'a', rtt: o, mpls: [], reply: { kind: 'reply' }, error: undefined },
              0,
            );
        });
        const w = h.snapshot().window;
        const last = outs.slice(-n);
        const got = last.filter((o): o is number => o !== null);
        expect(w.sent).toBe(last.length);
        expect(w.received).toBe(got.length);
        expect(w.drop).toBe(last.length - got.length);
        if (got.length > 0) {
          expect(w.avg).toBeCloseTo(got.reduce((a, b) => a + b, 0) / got.length / 1000, 9);
          expect(w.best).toBe(Math.min(...got) / 1000);
          expect(w.worst).toBe(Math.max(...got) / 1000);
          expect(w.last).toBe((got.at(-1) as number) / 1000);
        } else expect(w.percentiles).toBeUndefined();
        expect(h.snapshot().samples.map((s) => s.probe)).toEqual(outs.map((_, i) => i + 1).slice(-n));
      }),
    );
  });
});

describe('responders per hop are bounded', () => {
  it('keeps the first MAX_RESPONDERS with their own numbers; replies from more are counted in the hop, not kept', () => {
    const h = new HopStats(1, 10, 10);
    for (let i = 1; i <= 40; i++) {
      const slot = h.sent(i, i);
      h.answered(
        slot,
        i,
        i,
        { address: `10.0.0.${i}`, rtt: 1000, mpls: [], reply: { kind: 'ttl-expired' }, error: undefined },
        0,
      );
    }
    const s = h.snapshot();
    expect(s.responders).toHaveLength(MAX_RESPONDERS);
    expect(s.state.responders).toHaveLength(MAX_RESPONDERS);
    expect(s.respondersOverflow).toBe(40 - MAX_RESPONDERS);
    expect(s.lifetime.received).toBe(40);
    expect(s.address).toBe('10.0.0.40');
  });
});

describe('path id', () => {
  it('depends on the sequence only: equal sequences, equal ids; any change, another id (property)', () => {
    const addr = fc.oneof(fc.constant<null>(null), fc.ipV4(), fc.ipV6());
    fc.assert(
      fc.property(fc.array(addr, { maxLength: 30 }), fc.array(addr, { maxLength: 30 }), (a, b) => {
        expect(pathId(a)).toMatch(/^[0-9a-f]{16}$/);
        expect(pathId([...a])).toBe(pathId(a));
        const same = a.length === b.length && a.every((x, i) => x === b[i]);
        if (!same) expect(pathId(a)).not.toBe(pathId(b));
      }),
    );
  });
});
