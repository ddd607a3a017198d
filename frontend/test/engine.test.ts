import { describe, expect, it } from 'vitest';
import { createEngine } from '../src/engine/engine.js';
import { ENGINE_EVENT_TYPES } from '../src/engine/events.js';
import { FakeClock, FakeSender, fakeEngineOptions, pathScript, recorder, type Script } from './engine-fakes.js';

const A = '10.0.1.9';
const B = '10.0.2.9';
const C = 'fd00::9';
const scripts = {
  [A]: pathScript(['10.0.0.1', '10.0.1.1', A]),
  [B]: pathScript(['10.0.0.1', '*', B]),
  [C]: pathScript(['fd00::1', C]),
};
const fast = { interval: 0.1, gracetime: 1, cycles: 5 };

describe('engine: many targets over one packet process', () => {
  it('probes three targets concurrently with one process, unique tokens, each on its own path', async () => {
    const clock = new FakeClock();
    const o = fakeEngineOptions(clock, scripts);
    const engine = createEngine(o);
    const rec = recorder();
    engine.subscribe(rec.listener);
    const refs = [A, B, C].map((t) => engine.add(t, fast));
    await clock.advance(3_000);
    await engine.settled();
    expect(o.senders).toHaveLength(1);
    const tokens = o.senders[0]!.sent.map((s) => s.token);
    expect(new Set(tokens).size).toBe(tokens.length);
    // concurrently: every target's first probe goes out before any target's 5th cycle
    const sent = rec.of('probe-sent');
    const firstOf = (id: number) => sent.findIndex((e) => e.target.id === id);
    const lastCycle1 = sent.map((e) => e.probe.cycle).lastIndexOf(1);
    for (const r of refs) expect(firstOf(r.id)).toBeLessThan(lastCycle1);
    const done = rec.of('target-done');
    expect(done.map((e) => [e.target.id, e.reason]).sort()).toEqual(refs.map((r) => [r.id, 'completed']).sort());
    // features asked once per family/protocol/mark
    expect(o.senders[0]!.checked.sort()).toEqual(['4 icmp false', '6 icmp false']);

    const a = engine.snapshot(refs[0]!.id)!;
    expect(a.status).toBe('done');
    expect(a.cycles).toBe(5);
    expect(a.hops.map((h) => [h.ttl, h.address, h.lifetime.sent, h.lifetime.lossPercent])).toEqual([
      [1, '10.0.0.1', 5, 0],
      [2, '10.0.1.1', 5, 0],
      [3, A, 5, 0],
      // the first cycle walks on until it knows where the destination is (mtr does too)
      [4, A, 1, 0],
    ]);
    expect(a.path).toMatchObject({ reached: true, destinationTtl: 3, end: 'destination', changes: 0, responders: ['10.0.0.1', '10.0.1.1', A] });
    const b = engine.snapshot(refs[1]!.id)!;
    expect(b.hops[1]).toMatchObject({ address: undefined, lastProbe: 'lost' });
    expect(b.hops[1]!.lifetime.lossPercent).toBe(100);
    expect(b.path.responders).toEqual(['10.0.0.1', null, B]);
    const c = engine.snapshot(refs[2]!.id)!;
    expect(c.target).toMatchObject({ name: C, address: C, family: 6 });
    expect(c.hops.map((h) => h.address)).toEqual(['fd00::1', C, C]);
    expect(c.path).toMatchObject({ destinationTtl: 2, responders: ['fd00::1', C] });
    await engine.stop();
  });

  it('stamps every event: seq 1, 2, 3... without gaps, ts never going back, the target on target events', async () => {
    const clock = new FakeClock();
    const engine = createEngine(fakeEngineOptions(clock, scripts));
    const rec = recorder();
    engine.subscribe(rec.listener);
    engine.add(A, fast);
    engine.add(C, fast);
    await clock.advance(3_000);
    expect(rec.events.map((e) => e.seq)).toEqual(rec.events.map((_, i) => i + 1));
    for (let i = 1; i < rec.events.length; i++) expect(rec.events[i]!.ts).toBeGreaterThanOrEqual(rec.events[i - 1]!.ts);
    for (const e of rec.events) {
      expect(ENGINE_EVENT_TYPES).toContain(e.type);
      if (e.type !== 'packet-process-started' && e.type !== 'packet-process-exited' && e.type !== 'name-resolved') {
        expect('target' in e && e.target !== undefined).toBe(true);
      }
      expect(Object.isFrozen(e)).toBe(true);
    }
    // per probe: sent before its answer
    const sentAt = new Map<string, number>();
    for (const e of rec.events) {
      if (e.type === 'probe-sent') sentAt.set(`${e.target.id}/${e.probe.probe}`, e.seq);
      if (e.type === 'probe-answered' || e.type === 'probe-lost') expect(sentAt.get(`${e.target.id}/${e.probe.probe}`)).toBeLessThan(e.seq);
    }
    const first = rec.events[0]!;
    expect(first.type).toBe('target-added');
    await engine.stop();
  });

  it('a name that does not resolve: an error event for it, the others go on', async () => {
    const clock = new FakeClock();
    const engine = createEngine(fakeEngineOptions(clock, scripts));
    const rec = recorder();
    engine.subscribe(rec.listener);
    const bad = engine.add('no.such.name', fast);
    const good = engine.add(A, fast);
    await clock.advance(3_000);
    await engine.settled();
    expect(rec.of('error')).toEqual([
      expect.objectContaining({ target: expect.objectContaining({ id: bad.id }), stage: 'resolve', code: 'ENOTFOUND', message: 'Failed to resolve host: no.such.name: Name or service not known' }),
    ]);
    expect(engine.snapshot(bad.id)!.status).toBe('failed');
    expect(engine.snapshot(good.id)!.status).toBe('done');
  });

  it('pause stops new probes, resume goes on; reset zeroes the statistics; remove leaves the others alone', async () => {
    const clock = new FakeClock();
    const engine = createEngine(fakeEngineOptions(clock, scripts));
    const rec = recorder();
    engine.subscribe(rec.listener);
    const a = engine.add(A, { ...fast, cycles: undefined });
    const b = engine.add(B, { ...fast, cycles: undefined });
    await clock.advance(1_000);
    engine.pause(a.id);
    const before = rec.of('probe-sent').filter((e) => e.target.id === a.id).length;
    await clock.advance(1_000);
    expect(rec.of('probe-sent').filter((e) => e.target.id === a.id).length).toBe(before);
    expect(engine.snapshot(a.id)!.status).toBe('paused');
    engine.resume(a.id);
    await clock.advance(1_000);
    expect(rec.of('probe-sent').filter((e) => e.target.id === a.id).length).toBeGreaterThan(before);

    engine.reset(a.id);
    const z = engine.snapshot(a.id)!;
    expect(z.hops).toEqual([]);
    expect(z.cycles).toBe(0);
    expect(rec.of('target-reset')).toEqual([expect.objectContaining({ reason: 'request' })]);
    await clock.advance(1_000);
    expect(engine.snapshot(a.id)!.hops[0]!.lifetime.sent).toBeGreaterThan(0);

    const bSent = engine.snapshot(b.id)!.probes;
    expect(engine.remove(a.id)).toBe(true);
    expect(engine.snapshot(a.id)).toBeUndefined();
    expect(rec.of('target-done')).toEqual([expect.objectContaining({ reason: 'removed' })]);
    await clock.advance(1_000);
    expect(engine.snapshot(b.id)!.probes).toBeGreaterThan(bSent);
    expect(engine.targets().map((t) => t.id)).toEqual([b.id]);
    await engine.stop();
    expect(engine.snapshot(b.id)!.status).toBe('stopped');
  });

  it('a snapshot is a frozen copy: later probes do not change it', async () => {
    const clock = new FakeClock();
    const engine = createEngine(fakeEngineOptions(clock, scripts));
    const a = engine.add(A, { ...fast, cycles: undefined });
    await clock.advance(1_000);
    const s = engine.snapshot(a.id)!;
    const text = JSON.stringify(s);
    expect(Object.isFrozen(s)).toBe(true);
    expect(Object.isFrozen(s.hops)).toBe(true);
    expect(Object.isFrozen(s.hops[0]!.lifetime)).toBe(true);
    expect(Object.isFrozen(s.hops[0]!.state)).toBe(true);
    expect(() => ((s.hops as unknown as unknown[]).length = 0)).toThrow();
    // a hop that did not change is shared between snapshots (immutable), a hop that changed is new
    expect(engine.snapshot(a.id)!.hops[0]).toBe(s.hops[0]);
    await clock.advance(1_000);
    expect(JSON.stringify(s)).toBe(text);
    expect(engine.snapshot(a.id)!.hops[0]!.lifetime.sent).toBeGreaterThan(s.hops[0]!.lifetime.sent);
    await engine.stop();
  });

  it('a path change: path-changed in the cycle it was seen, then the new id stays', async () => {
    const clock = new FakeClock();
    let second = '10.0.1.1';
    const script = {
      [A]: (f: Parameters<ReturnType<typeof pathScript>>[0]) => pathScript(['10.0.0.1', second, A])(f),
    };
    const engine = createEngine(fakeEngineOptions(clock, script));
    const rec = recorder();
    engine.subscribe(rec.listener);
    const a = engine.add(A, { ...fast, cycles: 20 });
    await clock.advance(1_000);
    const id1 = engine.snapshot(a.id)!.path.id;
    expect(id1).toMatch(/^[0-9a-f]{16}$/);
    expect(rec.of('path-changed')).toEqual([]);
    second = '10.0.7.7';
    await clock.advance(3_000);
    const changes = rec.of('path-changed');
    expect(changes).toHaveLength(1);
    expect(changes[0]!.previous).toEqual({ id: id1, responders: ['10.0.0.1', '10.0.1.1', A] });
    expect(changes[0]!.current.responders).toEqual(['10.0.0.1', '10.0.7.7', A]);
    const cycleDone = rec.of('cycle-done').find((e) => e.cycle === changes[0]!.cycle)!;
    expect(cycleDone.pathId).toBe(changes[0]!.current.id);
    expect(cycleDone.seq).toBe(changes[0]!.seq + 1);
    const hop2 = rec.of('hop-changed').filter((e) => e.ttl === 2);
    expect(hop2.map((e) => e.responders)).toEqual([['10.0.1.1'], ['10.0.1.1', '10.0.7.7']]);
    const s = engine.snapshot(a.id)!;
    expect(s.path).toMatchObject({ changes: 1, lastChangeCycle: changes[0]!.cycle });
    expect(s.hops[1]!.responders.map((r) => r.address)).toEqual(['10.0.1.1', '10.0.7.7']);
    await engine.stop();
  });

  it('the packet process dies: mtr fails every target; with restart the targets go on over a new one', async () => {
    const clock = new FakeClock();
    const o = fakeEngineOptions(clock, scripts);
    const engine = createEngine(o);
    const rec = recorder();
    engine.subscribe(rec.listener);
    engine.add(A, { ...fast, cycles: undefined });
    engine.add(B, { ...fast, cycles: undefined });
    await clock.advance(500);
    o.senders[0]!.kill();
    await clock.advance(500);
    expect(rec.of('packet-process-exited')).toEqual([expect.objectContaining({ restarting: false, message: 'packet program fake exited with status 3' })]);
    expect(rec.of('error').map((e) => [e.stage, e.message])).toEqual([
      ['packet-process', 'packet program fake exited with status 3'],
      ['packet-process', 'packet program fake exited with status 3'],
    ]);
    expect(rec.of('target-done').map((e) => e.reason)).toEqual(['failed', 'failed']);

    const clock2 = new FakeClock();
    const o2 = fakeEngineOptions(clock2, scripts, { onPacketProcessExit: 'restart' });
    const e2 = createEngine(o2);
    const rec2 = recorder();
    e2.subscribe(rec2.listener);
    const a = e2.add(A, { ...fast, cycles: undefined });
    await clock2.advance(500);
    const sentBefore = e2.snapshot(a.id)!.probes;
    o2.senders[0]!.kill();
    await clock2.advance(1_000);
    expect(o2.senders).toHaveLength(2);
    expect(rec2.of('packet-process-exited')).toEqual([expect.objectContaining({ restarting: true })]);
    expect(rec2.of('packet-process-started').map((e) => e.restarts)).toEqual([0, 1]);
    expect(rec2.of('error')).toEqual([]);
    expect(e2.snapshot(a.id)!.probes).toBeGreaterThan(sentBefore);
    expect(o2.senders[1]!.sent.length).toBeGreaterThan(0);
    // and by request, keeping the statistics
    const s1 = e2.snapshot(a.id)!.probes;
    await e2.restartPacketProcess();
    await clock2.advance(1_000);
    expect(o2.senders).toHaveLength(3);
    expect(e2.snapshot(a.id)!.probes).toBeGreaterThan(s1);
    expect(rec2.of('error')).toEqual([]);
    await e2.stop();
  });

  it('a packet process that keeps dying at once is restarted ever more slowly, not in a tight loop', async () => {
    const clock = new FakeClock();
    const o = fakeEngineOptions(clock, scripts, { onPacketProcessExit: 'restart' });
    const connect = o.connect;
    const engine = createEngine({
      ...o,
      connect: () => {
        const s = connect() as FakeSender;
        queueMicrotask(() => s.kill('cannot run packet program: EACCES'));
        return s;
      },
    });
    const rec = recorder();
    engine.subscribe(rec.listener);
    engine.add(A, { ...fast, cycles: undefined });
    await clock.advance(2_000);
    // 0.25 s, 0.5 s, 1 s apart: the first process and three restarts within 2 s
    expect(o.senders).toHaveLength(4);
    expect(rec.of('packet-process-started').map((e) => [e.restarts, e.ts - clock.t + 2_000])).toEqual([
      [0, 0],
      [1, 250],
      [2, 750],
      [3, 1750],
    ]);
    await engine.stop();
    await clock.advance(60_000);
    expect(o.senders).toHaveLength(4);
  });

  it('reconfigure: the interval applies on the fly; a new protocol restarts the target', async () => {
    const clock = new FakeClock();
    const o = fakeEngineOptions(clock, scripts);
    const engine = createEngine(o);
    const rec = recorder();
    engine.subscribe(rec.listener);
    const a = engine.add(A, { ...fast, cycles: undefined });
    await clock.advance(1_000);
    engine.reconfigure(a.id, { interval: 0.2 });
    expect(rec.of('target-reconfigured')).toEqual([expect.objectContaining({ restarted: false })]);
    expect(rec.of('target-reset')).toEqual([]);
    engine.reconfigure(a.id, { protocol: 'udp', port: 33434 });
    expect(rec.of('target-reset')).toEqual([expect.objectContaining({ reason: 'options' })]);
    await clock.advance(1_000);
    expect(rec.of('target-started')).toHaveLength(2);
    const last = o.senders[0]!.sent.at(-1)!;
    expect(last).toMatchObject({ protocol: 'udp', port: 33434 });
    expect(engine.snapshot(a.id)!.options).toMatchObject({ protocol: 'udp', interval: 0.2 });
    await engine.stop();
  });

  it('an unsupported protocol fails that target at start with the packet program\'s words', async () => {
    const clock = new FakeClock();
    const engine = createEngine(fakeEngineOptions(clock, scripts, { unsupported: ['sctp'] }));
    const rec = recorder();
    engine.subscribe(rec.listener);
    engine.add(A, { ...fast, protocol: 'sctp' });
    const ok = engine.add(B, fast);
    await clock.advance(3_000);
    expect(rec.of('error').map((e) => [e.stage, e.message])).toEqual([['features', "Packet type unsupported: the packet program answers 'no' for sctp"]]);
    expect(engine.snapshot(ok.id)!.status).toBe('done');
  });

  it("refusals: probes-exhausted loses the probe and warns once, any other refusal fails its target with mtr's words", async () => {
    const clock = new FakeClock();
    const base = pathScript(['10.0.0.1', '10.0.1.1', A]);
    const refusing: Record<string, Script> = {
      // the packet program has too many probes in flight for TTL 2's
      [A]: (f) => (f.ttl === 2 ? { outcome: { kind: 'refused', reason: 'probes-exhausted', message: 'Probes exhausted', detail: undefined }, after: 1 } : base(f)),
      [B]: () => ({ outcome: { kind: 'refused', reason: 'permission-denied', message: 'Permission denied', detail: undefined }, after: 1 }),
    };
    const engine = createEngine(fakeEngineOptions(clock, refusing));
    const rec = recorder();
    engine.subscribe(rec.listener);
    const exhausted = engine.add(A, fast);
    const denied = engine.add(B, fast);
    await clock.advance(5_000);
    await engine.settled();
    const lost = rec.of('probe-lost').filter((e) => e.target.id === exhausted.id);
    expect(lost.length).toBeGreaterThanOrEqual(fast.cycles);
    expect(new Set(lost.map((e) => [e.reason, e.probe.ttl].join(' ')))).toEqual(new Set(['probes-exhausted 2']));
    expect(rec.of('warning').map((e) => [e.target?.id, e.code])).toEqual([[exhausted.id, 'probes-exhausted']]);
    expect(engine.snapshot(exhausted.id)!.status).toBe('done');
    expect(rec.of('error').map((e) => [e.target?.id, e.stage, e.code, e.message])).toEqual([[denied.id, 'probe', 'permission-denied', 'Permission denied']]);
    expect(engine.snapshot(denied.id)!.status).toBe('failed');
    await engine.stop();
  });

  it('a listener that throws is removed and said once; the others keep receiving', async () => {
    const clock = new FakeClock();
    const engine = createEngine(fakeEngineOptions(clock, scripts));
    const rec = recorder();
    engine.subscribe(() => {
      throw new Error('boom');
    });
    engine.subscribe(rec.listener);
    engine.add(A, fast);
    await clock.advance(3_000);
    expect(rec.of('error')).toEqual([expect.objectContaining({ stage: 'listener', target: undefined })]);
    expect(rec.of('target-done')).toHaveLength(1);
  });

  it('a probe budget that says no delays probes, it does not lose them', async () => {
    const clock = new FakeClock();
    let allow = false;
    const engine = createEngine(fakeEngineOptions(clock, scripts, { budget: { tryTake: () => allow } }));
    const rec = recorder();
    engine.subscribe(rec.listener);
    engine.add(A, fast);
    await clock.advance(1_000);
    expect(rec.of('probe-sent')).toEqual([]);
    allow = true;
    await clock.advance(5_000);
    expect(rec.of('probe-lost')).toEqual([]);
    expect(rec.of('cycle-done')).toHaveLength(5);
  });
});
