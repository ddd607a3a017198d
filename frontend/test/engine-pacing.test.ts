// The engine's pacing on a fake clock: mtr's gaps (interval / hops) on an absolute grid, so timers that run
// late do not slow a target down, and a stall is not made up with a burst (src/engine/pacing.ts).

import { describe, expect, it } from 'vitest';
import { createEngine } from '../src/engine/engine.js';
import { nextTick } from '../src/engine/pacing.js';
import { FakeClock, fakeEngineOptions, pathScript, recorder } from './engine-fakes.js';

describe('nextTick', () => {
  // gap 200 ms, at most 1,000 ms made up
  const cases: Array<{ name: string; due: number; now: number; next: number; delay: number }> = [
    { name: 'on time: one gap later', due: 1000, now: 1000, next: 1200, delay: 200 },
    { name: '3 ms late: the grid holds', due: 1000, now: 1003, next: 1200, delay: 197 },
    { name: 'under half a gap late: the grid holds', due: 1000, now: 1090, next: 1200, delay: 110 },
    { name: 'more than half a gap late: half a gap, catching up', due: 1000, now: 1150, next: 1200, delay: 100 },
    { name: 'a gap late: half a gap', due: 1000, now: 1200, next: 1200, delay: 100 },
    { name: '900 ms late: all of it to make up, half a gap at a time', due: 1000, now: 1900, next: 1200, delay: 100 },
    { name: '5 s late: only the last 1,000 ms are made up', due: 1000, now: 6000, next: 5000, delay: 100 },
    { name: 'early (a timer before its time): the grid holds', due: 1000, now: 990, next: 1200, delay: 210 },
  ];
  for (const c of cases) it(c.name, () => expect(nextTick(c.due, c.now, 200, 1000)).toEqual({ due: c.next, delay: c.delay }));
  it('a gap of 0 (interval 0): at once', () => expect(nextTick(1000, 1000, 0, 0)).toEqual({ due: 1000, delay: 0 }));
});

const D = '10.0.9.9';
/** 4 routers and the destination: once the path is known, a cycle of 5 probes 200 ms apart (-i 1) */
const scripts = { [D]: pathScript(['10.0.0.1', '10.0.1.1', '10.0.2.1', '10.0.3.1', D]) };

/** Runs one target for `ms` on a clock whose timers run `lateMs` late, with stalls; the probes' send times. */
async function probeTimes(lateMs: number, stalls: ReadonlyArray<{ at: number; ms: number }>, ms = 60_000): Promise<number[]> {
  const clock = new FakeClock();
  clock.lateMs = lateMs;
  const engine = createEngine(fakeEngineOptions(clock, scripts));
  const rec = recorder();
  engine.subscribe(rec.listener);
  const t0 = clock.t;
  engine.add(D, { interval: 1, cycles: undefined });
  for (const s of [...stalls].sort((a, b) => a.at - b.at)) {
    await clock.advance(t0 + s.at - clock.t);
    clock.stall(s.ms);
  }
  await clock.advance(t0 + ms - clock.t);
  await engine.stop();
  return rec.of('probe-sent').map((e) => e.ts - t0).filter((t) => t < ms);
}

/** the most probes within any `window` ms */
function densest(times: readonly number[], window: number): number {
  let most = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while ((times[i] as number) - (times[j] as number) >= window) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

describe('engine pacing: mtr gaps on an absolute grid', () => {
  // the first cycle walks up at interval / 10 (mtr starts with 10 hosts): TTL 1..6 at 0..500 ms, then the
  // 5 hops known, 200 ms apart from 700 ms: (59,900 - 700) / 200 + 1 = 297; 303 in 60 s
  const cases: Array<{ name: string; lateMs: number; stalls: Array<{ at: number; ms: number }>; probes: number }> = [
    { name: 'timers on time: mtr pacing', lateMs: 0, stalls: [], probes: 303 },
    // mtr's relative wait would send one every 203 ms: 296
    { name: 'every timer 3 ms late: the same probes', lateMs: 3, stalls: [], probes: 303 },
    // (under half of the first cycle's 100 ms gaps too; the answers come 40 ms late as well)
    { name: 'every timer 40 ms late: the same probes', lateMs: 40, stalls: [], probes: 303 },
    // a tick due at 10,200 runs at 10,270: the next still at 10,400
    { name: 'a 120 ms stall: made up', lateMs: 0, stalls: [{ at: 10_150, ms: 120 }], probes: 303 },
    // the tick due at 10,300 runs at 11,000, then every 100 ms until back on the grid at 11,700
    { name: 'a 900 ms stall: made up at twice the rate', lateMs: 0, stalls: [{ at: 10_100, ms: 900 }], probes: 303 },
    {
      name: 'three 1 s stalls with late timers: made up',
      lateMs: 5,
      stalls: [
        { at: 5_050, ms: 1_000 },
        { at: 20_050, ms: 1_000 },
        { at: 40_050, ms: 1_000 },
      ],
      probes: 303,
    },
    // 54 probes to 10,100; the tick due at 10,300 runs at 15,100 with only 1,000 ms to make up: 13 probes
    // 100 ms apart to 16,300 (on the grid again), 218 from 16,500 to 59,900
    { name: 'a 5 s stall: only one interval made up, no burst', lateMs: 0, stalls: [{ at: 10_100, ms: 5_000 }], probes: 54 + 13 + 218 },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const t = await probeTimes(c.lateMs, c.stalls);
      expect(t.length).toBe(c.probes);
      // never more than two probes of a target within one gap (no burst after a stall)
      expect(densest(t.slice(6), 200)).toBeLessThanOrEqual(2);
      // the known path's probes keep their places on the 200 ms grid until the first stall
      const firstStall = Math.min(...c.stalls.map((s) => s.at));
      const grid = t.slice(6).filter((x) => x < firstStall);
      expect(grid.every((x, i) => x === 700 + 200 * i + c.lateMs)).toBe(true);
      // and back on it (the same phase) two intervals after the last one
      const lastEnd = Math.max(0, ...c.stalls.map((s) => s.at + s.ms));
      const after = t.filter((x) => x > lastEnd + 2_000);
      expect(after.length).toBeGreaterThan(50);
      expect(after.every((x) => (x - 700 - c.lateMs) % 200 === 0)).toBe(true);
    });
  }

  it('-i 0.5 over 2 hops: a probe every 250 ms once the path is known', async () => {
    const clock = new FakeClock();
    clock.lateMs = 7;
    const two = { [D]: pathScript(['10.0.0.1', D]) };
    const engine = createEngine(fakeEngineOptions(clock, two));
    const rec = recorder();
    engine.subscribe(rec.listener);
    const t0 = clock.t;
    engine.add(D, { interval: 0.5, cycles: undefined });
    await clock.advance(20_000);
    await engine.stop();
    const t = rec.of('probe-sent').map((e) => e.ts - t0);
    const gaps = t.slice(4).map((x, i) => x - (t[i + 3] as number));
    expect(new Set(gaps)).toEqual(new Set([250]));
    expect(t.length).toBeGreaterThanOrEqual(80);
  });
});
