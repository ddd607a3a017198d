import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EMPTY_HOP, reduceHop, viewHop, type HopEvent, type HopState } from '../src/stats.js';

const run = (events: HopEvent[], from: HopState = EMPTY_HOP): HopState => events.reduce(reduceHop, from);
const sent: HopEvent = { kind: 'sent' };
const reply = (rtt: number, address = '10.0.0.1'): HopEvent => ({ kind: 'reply', address, rtt });

describe('hop statistics reducer (hand-checked scenarios)', () => {
  it('three replies, one loss, one probe in flight', () => {
    const s = run([sent, reply(1000), sent, reply(3000), sent, { kind: 'lost' }, sent, reply(2000), sent]);
    const v = viewHop(s);
    // in flight is not lost: 1 lost of 4 finished
    expect(v.sent).toBe(5);
    expect(v.received).toBe(3);
    expect(v.drop).toBe(1);
    expect(v.lossPercent).toBe(25);
    expect(v.last).toBe(2);
    expect(v.best).toBe(1);
    expect(v.worst).toBe(3);
    expect(v.avg).toBeCloseTo(2, 12);
    expect(v.stdev).toBeCloseTo(1, 12); // sample stdev of 1,3,2 ms
    expect(v.gmean).toBeCloseTo(Math.cbrt(6), 12);
    expect(v.jitter).toBe(1); // |2 - 3|
    expect(v.javg).toBeCloseTo(1.5, 12); // mean of 2 and 1
    expect(v.jmax).toBe(2);
    // RFC 3550: J = 0 + (2000 - 0)/16 = 125; J = 125 + (1000 - 125)/16 = 179.6875 µs
    expect(v.jint).toBeCloseTo(0.1796875, 12);

    const ended = viewHop(reduceHop(s, { kind: 'end' }));
    expect(ended.drop).toBe(2);
    expect(ended.lossPercent).toBe(40);
  });

  it('a hop with no reply yet: all zero, loss 0 while in flight, 100% once lost', () => {
    const s = run([sent, sent]);
    expect(viewHop(s)).toMatchObject({ sent: 2, received: 0, lossPercent: 0, drop: 0, avg: 0, stdev: 0, gmean: 0 });
    expect(viewHop(run([{ kind: 'lost' }, { kind: 'lost' }], s)).lossPercent).toBe(100);
  });

  it('keeps every responder with its own count (ECMP), latest first on the row', () => {
    const s = run([sent, reply(100, 'a'), sent, reply(100, 'b'), sent, reply(100, 'a'), sent, reply(100, 'c')]);
    expect(s.address).toBe('c');
    expect(s.responders.map((r) => [r.address, r.count])).toEqual([
      ['a', 2],
      ['b', 1],
      ['c', 1],
    ]);
  });

  it('an unreachable answer marks the hop as the end of the path and counts as a reply', () => {
    const s = run([sent, { kind: 'reply', address: '10.9.9.9', rtt: 500, error: 'no-route-host' }]);
    expect(s.error).toBe('no-route-host');
    expect(viewHop(s).received).toBe(1);
  });

  it('does not mutate its input', () => {
    const a = run([sent, reply(10)]);
    const copy = JSON.stringify(a);
    reduceHop(a, reply(20));
    reduceHop(a, sent);
    expect(JSON.stringify(a)).toBe(copy);
  });

  it('loss is never negative and never counts in-flight probes (property)', () => {
    const ev = fc.oneof(
      fc.constant<HopEvent>(sent),
      fc.constant<HopEvent>({ kind: 'lost' }),
      fc.integer({ min: 0, max: 10_000_000 }).map((rtt) => reply(rtt)),
    );
    fc.assert(
      fc.property(fc.array(ev, { maxLength: 200 }), (events) => {
        // a well-formed stream: an answer only for a probe in flight
        let inFlight = 0;
        const ok = events.filter((e) => {
          if (e.kind === 'sent') return ++inFlight > 0;
          if (inFlight === 0) return false;
          inFlight--;
          return true;
        });
        const v = viewHop(run(ok));
        const finished = v.sent - inFlight;
        expect(v.drop).toBe(finished - v.received);
        expect(v.lossPercent).toBeGreaterThanOrEqual(0);
        expect(v.lossPercent).toBeLessThanOrEqual(100);
        if (v.received > 0) {
          expect(v.best).toBeLessThanOrEqual(v.avg + 1e-9);
          expect(v.avg).toBeLessThanOrEqual(v.worst + 1e-9);
          expect(v.gmean).toBeLessThanOrEqual(v.avg + 1e-9);
        }
      }),
    );
  });
});

/** mulberry32: a small deterministic PRNG so the long run is the same every time */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('long runs do not drift or inflate', () => {
  const N = 100_000;
  const rand = prng(42);
  const samples = Array.from({ length: N }, () => 20_000 + Math.round((rand() - 0.5) * 10_000)); // 20 ms ± 5 ms, whole µs
  let trueSum = 0n;
  for (const x of samples) trueSum += BigInt(x);
  const trueMean = Number(trueSum) / N;

  let s: HopState = EMPTY_HOP;
  for (const x of samples) s = reduceHop(reduceHop(s, sent), reply(x));
  const v = viewHop(s);

  it('Avg stays within 0.1% of the true mean over 100,000 samples with jitter', () => {
    expect(Math.abs(v.avg * 1000 - trueMean) / trueMean).toBeLessThan(0.001);
    expect(Math.abs(v.avg * 1000 - trueMean)).toBeLessThan(1e-6 * trueMean); // in fact far closer
  });

  it('StDev matches a two-pass computation', () => {
    let ss = 0;
    for (const x of samples) ss += (x - trueMean) ** 2;
    const sd = Math.sqrt(ss / (N - 1)) / 1000;
    expect(Math.abs(v.stdev - sd) / sd).toBeLessThan(1e-9);
  });

  it("mtr 0.95's integer running average drifts on the same data (what we fixed)", () => {
    let avg = 0; // C int
    samples.forEach((t, i) => {
      avg = Math.trunc(avg + (t - avg) / (i + 1));
    });
    expect(Math.abs(avg - trueMean) / trueMean).toBeGreaterThan(0.001);
  });

  it('Jint is the RFC 3550 estimate, near the mean jitter, not 16 times it', () => {
    // for i.i.d. noise the interarrival jitter tracks E|D|, i.e. Javg
    expect(v.jint / v.javg).toBeGreaterThan(0.7);
    expect(v.jint / v.javg).toBeLessThan(1.3);
    // mtr 0.95's register on the same data: jinta += |D| - ((jinta + 8) >> 4), shown as is
    let jinta = 0;
    for (let i = 1; i < N; i++) {
      const d = Math.abs((samples[i] as number) - (samples[i - 1] as number));
      jinta += d - ((jinta + 8) >> 4);
    }
    expect(jinta / 1000 / v.jint).toBeGreaterThan(12);
  });
});
