// The engine's pacing on a fake clock: mtr's gaps (interval / hops) on an absolute grid, so timers that run
// late do not slow a target down, and a stall is not made up with a burst (src/engine/pacing.ts).

import { describe, expect, it } from 'vitest';
import { createEngine } from '../src/engine/engine.js';
import { nextDue } from '../src/engine/pacing.js';
import { FakeClock, fakeEngineOptions, pathScript, recorder } from './engine-fakes.js';

describe('nextDue', () => {
  const cases: Array<{ name: string; due: number; now: number; gap: number; next: number }> = [
    { name: 'on time', due: 1000, now: 1000, gap: 200, next: 1200 },
    { name: '3 ms late: the grid holds', due: 1000, now: 1003, gap: 200, next: 1200 },
    { name: 'just under a gap late: the grid holds', due: 1000, now: 1199, gap: 200, next: 1200 },
    { name: 'a gap late: the grid starts again from now', due: 1000, now: 1200, gap: 200, next: 1400 },
    { name: '5 s late: the missed ticks are skipped', due: 1000, now: 6000, gap: 200, next: 6200 },
    { name: 'early (a timer before its time): the grid holds', due: 1000, now: 990, gap: 200, next: 1200 },
    { name: 'a gap of 0 (interval 0)', due: 1000, now: 1000, gap: 0, next: 1000 },
  ];
  for (const c of cases) it(c.name, () => expect(nextDue(c.due, c.now, c.gap)).toBe(c.next));
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
    // (under the first cycle's 100 ms gaps too; the answers come 90 ms late as well)
    { name: 'every timer 90 ms late: the same probes', lateMs: 90, stalls: [], probes: 303 },
    // a tick due at 10,200 runs at 10,270: the next still at 10,400
    { name: 'a 120 ms stall: made up', lateMs: 0, stalls: [{ at: 10_150, ms: 120 }], probes: 303 },
    // ticks due at 10,300 .. 15,100 (25) are skipped: the one due at 10,300 runs at 15,100, the next at 15,300
    { name: 'a 5 s stall: the missed ticks skipped, not sent at once', lateMs: 0, stalls: [{ at: 10_100, ms: 5_000 }], probes: 303 - 24 },
    {
      name: 'three 1 s stalls with late timers',
      lateMs: 5,
      stalls: [
        { at: 5_050, ms: 1_000 },
        { at: 20_050, ms: 1_000 },
        { at: 40_050, ms: 1_000 },
      ],
      // each stall loses its 1,000 ms (5 ticks): 28 probes to 4,905, one at 6,050, 69 on the new grid from
      // 6,255 to 19,855, one at 21,050, 94 from 21,255, one at 41,050, 94 from 41,255 to 59,855
      probes: 303 - 15,
    },
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
