// The adapter (snapshot -> one window's evidence) and the per-target run (which windows, when), over
// synthetic snapshots shaped like the engine's: each hop's ring of probes with cycle, state, RTT, responder.

import { describe, expect, it } from 'vitest';
import {
  CONFIRM_BUDGET,
  TargetDiagnosis,
  renderDiagnosis,
  alternateOf,
  changesAt,
  confirmPlan,
  rttSummary,
  scheduleFor,
  verdictKey,
  windowEvidence,
  type SnapshotLike,
} from '../src/diagnose/index.js';
import { simulate, type SimHop } from './diagnose-sim.js';

const PATH = ['10.0.1.2', '10.0.2.2', '10.0.3.2', '10.0.4.2'];
const clean = (): SimHop[] => PATH.map((addr) => ({ addr }));

/** Feeds a run cycle by cycle, as the CLI does on cycle-done, and finishes it; returns raise cycles per key. */
function runThrough(
  hops: SimHop[],
  cycles: number,
  interval = 0.1,
  seed = 7,
): { diag: TargetDiagnosis; raisedAt: Map<string, number> } {
  const diag = new TargetDiagnosis(scheduleFor(cycles, interval));
  const raisedAt = new Map<string, number>();
  const full = simulate(hops, cycles, { seed });
  for (let c = 1; c <= cycles; c++) {
    // the snapshot as it looked after cycle c: later probes not sent yet, the newest unanswered still pending
    const pendingCycles = Math.ceil(10 / interval); // a 10 s timeout
    const at: SnapshotLike = {
      ...full,
      cycles: c,
      hops: full.hops.map((h) => ({
        ...h,
        samples: h.samples
          .filter((x) => x.cycle <= c)
          .map((x) => (x.state === 'lost' && x.cycle > c - pendingCycles ? { ...x, state: 'pending' as const } : x)),
      })),
    };
    const st = diag.onCycle(at);
    if (process.env.DBG && st)
      console.log(c, JSON.stringify(diag.evidence!.hops.map((h) => [h.ttl, h.window.sent, h.window.received])));
    for (const v of st?.raised ?? []) if (!raisedAt.has(verdictKey(v))) raisedAt.set(verdictKey(v), c);
  }
  for (const v of diag.finish(full, true)?.raised ?? [])
    if (!raisedAt.has(verdictKey(v))) raisedAt.set(verdictKey(v), cycles);
  return { diag, raisedAt };
}

describe('window schedule', () => {
  it('halves the run into 20..50-cycle windows, judged two seconds late', () => {
    expect(scheduleFor(100, 0.1)).toEqual({ windowCycles: 50, step: 25, lagCycles: 20, memory: 10 });
    expect(scheduleFor(10, 1)).toEqual({ windowCycles: 20, step: 10, lagCycles: 2, memory: 10 });
    expect(scheduleFor(undefined, 1).windowCycles).toBe(50);
  });
});

describe('adapter: one window of a snapshot', () => {
  it('counts finished probes of the window only, with its own responders and RTTs', () => {
    const s = simulate([{ addr: '10.0.1.2' }, { addr: '10.0.2.2', loss: 0.5 }, { addr: '10.0.4.2', rtt: 3 }], 60, {
      pendingCycles: 15,
    });
    const e = windowEvidence(s, { from: 11, to: 40, pendingIsLost: false, memory: 10 });
    expect(e.hops.map((h) => h.window.sent)).toEqual([30, 30, 30]);
    const young = windowEvidence(s, { from: 41, to: 60, pendingIsLost: false, memory: 10 });
    // hop 2's unanswered probes of cycles 46-60 are pending: not in the window
    expect(young.hops[1]!.window.sent).toBeLessThan(20);
    const old = windowEvidence(s, { from: 41, to: 60, pendingIsLost: true, memory: 10 });
    expect(old.hops[1]!.window.sent).toBe(20);
    expect(e.destination).toEqual({ reached: true, ttl: 3 });
    expect(e.hops[2]!.rtt!.median).toBeGreaterThan(2.6);
    expect(e.hops[2]!.responders).toEqual([{ address: '10.0.4.2', count: 30 }]);
    expect(e.windowCycles).toBe(30);
    expect(e.pathChanged).toBe(false);
  });

  it('nearest-rank percentiles and a sample standard deviation', () => {
    const r = rttSummary([5, 1, 4, 2, 3, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20])!;
    expect(r).toMatchObject({ n: 20, min: 1, median: 10, p95: 19, max: 20, mean: 10.5 });
    expect(r.stddev).toBeCloseTo(5.916, 3);
    expect(rttSummary([])).toBeUndefined();
  });

  it('a responder replacing another is a path change; per-packet load balancing is not', () => {
    const changed = simulate([{ addr: (c) => (c < 30 ? '10.0.3.2' : '10.0.3.99') }], 60);
    expect(changesAt(changed.hops[0]!, 10)).toEqual([{ ttl: 1, from: '10.0.3.2', to: '10.0.3.99', cycle: 30 }]);
    const ecmp = simulate([{ addr: (c) => (c % 2 === 0 ? '10.0.2.2' : '10.0.2.3') }], 60);
    expect(changesAt(ecmp.hops[0]!, 10)).toEqual([]);
    const ecmpRandom = simulate([{ addr: (c) => (Math.sin(c * 12.9898) > 0 ? '10.0.2.2' : '10.0.2.3') }], 200);
    expect(changesAt(ecmpRandom.hops[0]!, 10)).toEqual([]);
    const e = windowEvidence(changed, { from: 11, to: 50, pendingIsLost: true, memory: 10 });
    expect(e.pathChanged).toBe(true);
    expect(windowEvidence(changed, { from: 41, to: 60, pendingIsLost: true, memory: 10 }).pathChanged).toBe(false);
  });

  it("unreachable answers keep the daemon's word", () => {
    const s = simulate([{ addr: '10.0.1.2' }, { addr: '10.0.3.2', unreachable: true }], 30, { target: '10.0.200.1' });
    const e = windowEvidence(s, { from: 1, to: 30, pendingIsLost: true, memory: 10 });
    expect(e.hops[1]!.unreachable).toEqual({ count: 30, kind: 'no-route' });
    expect(e.destination.reached).toBe(false);
  });
});

describe('a 100-cycle run at -i 0.1, window by window', () => {
  it('rate limiting at hop 2 is raised before the run ends, and stays', () => {
    const hops = clean();
    hops[1] = { addr: PATH[1]!, loss: 0.85 };
    const { diag, raisedAt } = runThrough(hops, 100);
    expect([...raisedAt.keys()]).toEqual(['icmp-rate-limited@2']);
    expect(raisedAt.get('icmp-rate-limited@2')).toBeLessThanOrEqual(95);
    expect(diag.active().map(verdictKey)).toEqual(['icmp-rate-limited@2']);
    expect(diag.context()).toMatchObject({ cycles: 100, windows: 3, windowCycles: 50, tooThin: undefined });
  });

  // 30% is at the edge of what 50-probe windows separate from 0% (7 of 50 lost is not: [7%, 26%] vs [0, 7.1%])
  it('40% loss entering at hop 3, with a 10 s timeout keeping the newest losses pending', () => {
    const hops = clean();
    hops[2] = { addr: PATH[2]!, loss: 0.4 };
    hops[3] = { addr: PATH[3]!, loss: 0.4 };
    const { diag } = runThrough(hops, 100, 0.1, 11);
    expect(diag.active().map(verdictKey)).toEqual(['forwarding-loss@3']);
  });

  it('a clean path gives nothing, whatever the seed', () => {
    for (let seed = 1; seed <= 20; seed++) expect(runThrough(clean(), 100, 0.1, seed).diag.active()).toEqual([]);
  });

  it('a path change at cycle 20 raises path-changed at hop 3 and voids its windows for loss', () => {
    const hops = clean();
    hops[2] = { addr: (c) => (c < 20 ? '10.0.3.2' : '10.0.3.99'), loss: 0.3 };
    const { raisedAt, diag } = runThrough(hops, 100, 0.1, 3);
    expect(raisedAt.get('path-changed@3')).toBeDefined();
    // two quiet windows later it is cleared, and the report still tells it
    expect(diag.active().map(verdictKey)).not.toContain('path-changed@3');
    expect(diag.context().earlier!.map((e) => [verdictKey(e.verdict), e.raisedAt, e.clearedAt])).toEqual([
      ['path-changed@3', 50, 100],
    ]);
    const text = renderDiagnosis(diag.active(), diag.context()).join('\n');
    expect(text).toContain('Earlier in the run (no longer seen at its end):\n  hop 3: path-changed');
    // hop 3's loss is not carried to the destination: rate limiting, judged only on the windows without the
    // change (26-75, 51-100), so raised by the last one and not before
    expect(raisedAt.get('icmp-rate-limited@3')).toBe(100);
  });

  it('ten cycles are too few: nothing, and the text says why', () => {
    const { diag } = runThrough(clean(), 10, 1);
    expect(diag.active()).toEqual([]);
    expect(diag.context().tooThin).toContain('10 cycles');
  });
});

describe('--confirm: probes of another kind settle an uncertain verdict', () => {
  const silentDest = (): SimHop[] => [
    ...PATH.slice(0, 3).map((addr) => ({ addr })),
    ...[4, 5, 6, 7, 8].map(() => ({ addr: '10.0.4.2', loss: 1 })),
  ];

  it('the destination drops ICMP: TCP reaches it at hop 4', () => {
    const { diag } = runThrough(silentDest(), 100);
    expect(diag.active().map((v) => [verdictKey(v), v.confidence < 0.8])).toEqual([['path-breaks@3', true]]);
    const plan = confirmPlan(diag.active(), diag.evidence!, undefined, 0.1)!;
    expect(plan).toMatchObject({ protocol: 'tcp', port: 443, firstTtl: 4, maxTtl: 11, cycles: 5, probes: 40 });
    expect(plan.probes).toBeLessThanOrEqual(CONFIRM_BUDGET);
    // the TCP run: the destination answers from TTL 4 on
    const tcp = simulate(
      Array.from({ length: 11 }, () => ({ addr: '10.0.4.2' })),
      plan.cycles,
    );
    const alt = alternateOf(plan, tcp, 64);
    expect(alt).toMatchObject({
      protocol: 'tcp',
      port: 443,
      destinationTtl: 4,
      toDestination: { sent: 5, received: 5 },
    });
    const change = diag.confirm([alt]);
    expect(change.cleared.map(verdictKey)).toEqual(['path-breaks@3']);
    expect(change.raised.map(verdictKey)).toEqual(['destination-drops-icmp@4']);
    expect(diag.active().map(verdictKey)).toEqual(['destination-drops-icmp@4']);
  });

  it('a real break: TCP gets no further, and the break is confirmed', () => {
    const { diag } = runThrough(silentDest(), 100);
    const plan = confirmPlan(diag.active(), diag.evidence!, 80, 0.1)!;
    expect(plan.port).toBe(80);
    const tcp = simulate(
      [
        ...PATH.slice(0, 3).map((addr) => ({ addr })),
        ...Array.from({ length: 8 }, () => ({ addr: '10.0.4.2', loss: 1 })),
      ],
      plan.cycles,
    );
    diag.confirm([alternateOf(plan, tcp, 64)]);
    expect(diag.active().map((v) => [verdictKey(v), v.confidence >= 0.8])).toEqual([['path-breaks@3', true]]);
  });

  it('nothing uncertain, nothing to probe', () => {
    const { diag } = runThrough(
      PATH.map((addr) => ({ addr })),
      100,
    );
    expect(confirmPlan(diag.active(), diag.evidence!, undefined, 0.1)).toBeUndefined();
  });
});
