// The exporter's targets over the engine, with the engine's fakes (a manual clock, a scripted packet
// process): events named by configuration name, one packet process for every target, the budgets'
// deferrals (never a loss), and a removed target going quiet.

import { describe, expect, it } from 'vitest';
import { parseConfig, type TargetSpec } from '../../src/exporter/config.js';
import { EngineSource, PathJudge } from '../../src/exporter/engine-source.js';
import type { AnyEvent } from '../../src/exporter/events.js';
import { FakeClock, fakeEngineOptions, pathScript, type Script } from '../engine-fakes.js';

const PATH = ['10.0.0.1', '10.0.0.2', '10.0.0.9'];
const specs = parseConfig(
  'targets:\n  - {name: a, host: 10.0.0.9, interval: 1}\n  - {name: b, host: 10.0.0.9, interval: 1, protocol: udp}\n',
).targets as TargetSpec[];
const realTick = (): Promise<void> => new Promise((r) => setTimeout(r, 5));

function setup(
  budget = { probesPerSecond: 1000, routerProbesPerSecond: 1000, routerBurst: 1000, maxInFlight: 1000 },
  script: Script = pathScript(PATH),
  diagnosis = false,
) {
  const clock = new FakeClock();
  const engineOptions = fakeEngineOptions(clock, { '10.0.0.9': script });
  const events: AnyEvent[] = [];
  const src = new EngineSource({
    packetPath: '/unused',
    budget,
    emit: (e) => events.push(e),
    engineOptions,
    now: clock.now,
    startDelay: () => 0,
    judgePhase: () => 0,
    reresolve: false,
    diagnosis,
  });
  return { clock, src, events, senders: engineOptions.senders };
}

describe('exporter targets over the engine', () => {
  it('runs every target over one packet process and names events by configuration name', async () => {
    const { clock, src, events, senders } = setup();
    for (const s of specs) src.add(s);
    await realTick();
    await clock.advance(5000);
    expect(senders).toHaveLength(1);
    for (const name of ['a', 'b']) {
      const answered = events.filter((e) => e.type === 'probe-answered' && e.target === name);
      expect(answered.length, name).toBeGreaterThan(5);
      expect(events.some((e) => e.type === 'target-address' && e.target === name && e.address === '10.0.0.9')).toBe(
        true,
      );
      expect(events.some((e) => e.type === 'cycle-done' && e.target === name && e.destinationTtl === 3)).toBe(true);
    }
    expect(
      events
        .filter((e) => e.type === 'probe-answered' && e.destination)
        .every((e) => e.type === 'probe-answered' && e.responder === '10.0.0.9'),
    ).toBe(true);
    await clock.advance(1000);
    expect(src.inFlight).toBeLessThanOrEqual(6);
    await src.stop();
  });

  it('holds probes back when a router is over its budget: deferred, never lost', async () => {
    const { clock, src, events } = setup({
      probesPerSecond: 1000,
      routerProbesPerSecond: 0.5,
      routerBurst: 1,
      maxInFlight: 1000,
    });
    src.add(specs[0] as TargetSpec);
    await realTick();
    await clock.advance(10_000);
    const deferred = events.filter((e) => e.type === 'probe-deferred');
    expect(deferred.length).toBeGreaterThan(0);
    expect(deferred.every((e) => e.type === 'probe-deferred' && e.budget === 'router' && e.target === 'a')).toBe(true);
    expect(events.filter((e) => e.type === 'probe-lost')).toEqual([]);
    // the routers answered at most their budget: a burst of 1, then one every 2 s
    const byRouter = (addr: string): number =>
      events.filter((e) => e.type === 'probe-answered' && e.responder === addr).length;
    expect(byRouter('10.0.0.1')).toBeLessThanOrEqual(1 + 10 / 2 + 1);
    await src.stop();
  });

  it('a removed target goes quiet while the others go on', async () => {
    const { clock, src, events } = setup();
    for (const s of specs) src.add(s);
    await realTick();
    await clock.advance(3000);
    src.remove('a');
    const mark = events.length;
    await clock.advance(3000);
    const later = events.slice(mark).filter((e) => 'target' in e);
    expect(later.some((e) => 'target' in e && e.target === 'a')).toBe(false);
    expect(later.some((e) => e.type === 'probe-answered' && e.target === 'b')).toBe(true);
    expect(src.names()).toEqual(['b']);
    await src.stop();
  });

  it('judges each path (diagnosis on): loss from hop 2 on is raised after two windows, then exported', async () => {
    // every third probe at TTL 2 and beyond goes unanswered: loss that starts at r2 and goes on to the end
    const clean = pathScript(PATH);
    let n = 0;
    const lossy: Script = (f) =>
      f.ttl >= 2 && ++n % 3 === 0 ? { outcome: { kind: 'no-reply' }, after: 500 } : clean(f);
    const { clock, src, events } = setup(undefined, lossy, true);
    src.add(specs[0] as TargetSpec);
    await realTick();
    for (let i = 0; i < 90; i++) await clock.advance(1000);
    const judged = events.filter((e) => e.type === 'diagnosis');
    // windows of 50 traces every 25, judged 2 s late: after traces 52 and 77
    expect(judged).toHaveLength(2);
    const [first, second] = judged as Array<Extract<AnyEvent, { type: 'diagnosis' }>>;
    expect(first?.target).toBe('a');
    expect(first?.active.some((v) => v.rule === 'forwarding-loss')).toBe(false); // one window is not enough
    const loss = second?.active.find((v) => v.rule === 'forwarding-loss');
    expect(loss?.hop).toBe(2);
    expect(loss?.confidence).toBeGreaterThan(0.8);
    // the windows came from the exporter's own probe log: the engine keeps one probe per hop
    const snap = src.engine.snapshot(src.engine.targets()[0]!.id);
    expect(Math.max(...(snap?.hops ?? []).map((h) => h.samples.length))).toBe(1);
    await src.stop();
  });

  it('judges nothing with diagnosis off', async () => {
    const { clock, src, events } = setup();
    src.add(specs[0] as TargetSpec);
    await realTick();
    for (let i = 0; i < 60; i++) await clock.advance(1000);
    expect(events.filter((e) => e.type === 'cycle-done').length).toBeGreaterThan(55);
    expect(events.filter((e) => e.type === 'diagnosis')).toEqual([]);
    await src.stop();
  });

  it('leaves no timers behind: 50 removals and re-additions, then stop', async () => {
    const timeouts = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const baseline = timeouts();
    const { clock, src, events } = setup(undefined, pathScript(PATH), true);
    for (const s of specs) src.add(s);
    await realTick();
    await clock.advance(3000);
    const engineTimers = clock.pending;
    expect(engineTimers).toBeGreaterThan(0);
    for (let i = 0; i < 50; i++) {
      src.remove('a');
      src.add(specs[0] as TargetSpec);
      await realTick();
      await clock.advance(1500);
    }
    // the same two targets run: the engine's timers and ours are what two targets need, not 50 runs' worth
    expect(clock.pending).toBeLessThanOrEqual(engineTimers);
    expect(timeouts()).toBeLessThanOrEqual(baseline);
    expect(src.inFlight).toBeLessThanOrEqual(6);
    expect(events.filter((e) => e.type === 'cycle-done' && e.target === 'a').length).toBeGreaterThan(50);
    await src.stop();
    expect(clock.pending).toBe(0);
    expect(timeouts()).toBeLessThanOrEqual(baseline);
  });

  it('moves each target\'s diagnosis windows by its phase, so targets started together are judged apart', () => {
    const schedule = { windowCycles: 50, step: 25, lagCycles: 2, memory: 10 };
    const cases: Array<{ phase: number; due: Array<[number, { from: number; to: number }]> }> = [
      { phase: 0, due: [[52, { from: 1, to: 50 }], [77, { from: 26, to: 75 }], [102, { from: 51, to: 100 }]] },
      { phase: 10, due: [[62, { from: 11, to: 60 }], [87, { from: 36, to: 85 }], [112, { from: 61, to: 110 }]] },
      { phase: 24, due: [[76, { from: 25, to: 74 }], [101, { from: 50, to: 99 }], [126, { from: 75, to: 124 }]] },
    ];
    for (const c of cases) {
      const j = new PathJudge(schedule, c.phase);
      const got: Array<[number, { from: number; to: number }]> = [];
      for (let cycle = 1; cycle <= 126; cycle++) {
        const w = j.due(cycle);
        if (w !== undefined) got.push([cycle, w]);
      }
      expect(got, `phase ${c.phase}`).toEqual(c.due);
    }
  });

  it('judges targets with different phases at different traces', async () => {
    const phases: Record<string, number> = { a: 0, b: 12 };
    const clock = new FakeClock();
    const events: AnyEvent[] = [];
    const src = new EngineSource({
      packetPath: '/unused',
      budget: { probesPerSecond: 1000, routerProbesPerSecond: 1000, routerBurst: 1000, maxInFlight: 1000 },
      emit: (e) => events.push(e),
      engineOptions: fakeEngineOptions(clock, { '10.0.0.9': pathScript(PATH) }),
      now: clock.now,
      startDelay: () => 0,
      judgePhase: (spec) => phases[spec.name] ?? 0,
      reresolve: false,
      diagnosis: true,
    });
    for (const s of specs) src.add(s);
    await realTick();
    for (let i = 0; i < 80; i++) await clock.advance(1000);
    const after = (name: string): number[] =>
      events.flatMap((e, i) => {
        if (e.type !== 'diagnosis' || e.target !== name) return [];
        const done = events.slice(0, i).filter((x) => x.type === 'cycle-done' && x.target === name);
        return [(done.at(-1) as Extract<AnyEvent, { type: 'cycle-done' }>).cycle];
      });
    // judged 2 traces late (interval 1 s): a after traces 52 and 77, b 12 traces later
    expect(after('a')).toEqual([52, 77]);
    expect(after('b')).toEqual([64]);
    await src.stop();
  });
});
