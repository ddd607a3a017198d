// The engine with --flows over a fake packet process: it asks for the `flow` extension, sends `flow N`
// when it is there (ICMP needs it, UDP fixes its ports either way), and passes NAT seen to the statistics.
import { describe, expect, it } from 'vitest';
import type { ProbeFields, ProbeOutcome } from '@mtr-ts/client';
import { createEngine } from '../src/engine/engine.js';
import { FakeClock, fakeEngineOptions, recorder, type Script } from './engine-fakes.js';

const T = '10.9.9.9';
/** TTL 1 answers from 10.0.0.1 (with nat 1 when asked to), TTL 2 from the target */
function script(nat: boolean): Script {
  return (f: ProbeFields) => {
    const outcome: ProbeOutcome =
      f.ttl >= 2
        ? { kind: 'reply', address: T, rtt: 900, mpls: undefined }
        : { kind: 'ttl-expired', address: '10.0.0.1', rtt: 500, mpls: undefined, ...(nat ? { nat: true as const } : {}) };
    return { outcome, after: 1 };
  };
}
const run = { interval: 0.1, gracetime: 1, cycles: 6, maxTtl: 2 };

describe('engine --flows', () => {
  it('ICMP: asks check-support flow once, sends flow (c-1) mod N and no ports', async () => {
    const clock = new FakeClock();
    const o = fakeEngineOptions(clock, { [T]: script(false) });
    const engine = createEngine(o);
    engine.add(T, { ...run, protocol: 'icmp', flows: 3 });
    await clock.advance(3_000);
    await engine.settled();
    const s = o.senders[0]!;
    expect(s.checked.filter((c) => c === 'feature flow')).toHaveLength(1);
    expect(s.sent.map((p) => [p.ttl, p.flow])).toEqual([0, 1, 2, 0, 1, 2].flatMap((f) => [[1, f], [2, f]]));
    expect(s.sent.every((p) => p.port === 0 && p.localPort === 0)).toBe(true);
  });

  for (const protocol of ['icmp', 'tcp'] as const) {
    it(`${protocol.toUpperCase()} without the extension: the target fails at the feature check with one clear message`, async () => {
      const clock = new FakeClock();
      const o = fakeEngineOptions(clock, { [T]: script(false) }, { unsupported: ['flow'] });
      const engine = createEngine(o);
      const rec = recorder();
      engine.subscribe(rec.listener);
      engine.add(T, { ...run, protocol, flows: 2 });
      await clock.advance(2_000);
      await engine.settled();
      expect(o.senders[0]!.sent).toHaveLength(0);
      const done = rec.of('target-done');
      expect(done.map((e) => e.reason)).toEqual(['failed']);
      expect(JSON.stringify(rec.events)).toContain(`--flows with ${protocol.toUpperCase()} needs the packet program's flow extension`);
    });
  }

  it('UDP: fixed ports per flow either way; flow N only where the extension is', async () => {
    for (const unsupported of [[], ['flow']]) {
      const clock = new FakeClock();
      const o = fakeEngineOptions(clock, { [T]: script(false) }, { unsupported });
      const engine = createEngine(o);
      engine.add(T, { ...run, protocol: 'udp', flows: 2 });
      await clock.advance(3_000);
      await engine.settled();
      const sent = o.senders[0]!.sent;
      expect(sent.map((p) => [p.localPort, p.port])).toEqual([0, 1, 0, 1, 0, 1].flatMap((f) => [[50000 + f, 33434], [50000 + f, 33434]]));
      expect(sent.map((p) => p.flow)).toEqual(unsupported.length ? sent.map(() => undefined) : [0, 1, 0, 1, 0, 1].flatMap((f) => [f, f]));
    }
  });

  it('classic probing never asks for the extension nor sends flow', async () => {
    const clock = new FakeClock();
    const o = fakeEngineOptions(clock, { [T]: script(false) });
    const engine = createEngine(o);
    engine.add(T, { ...run, protocol: 'icmp' });
    await clock.advance(3_000);
    await engine.settled();
    expect(o.senders[0]!.checked).not.toContain('feature flow');
    expect(o.senders[0]!.sent.every((p) => p.flow === undefined)).toBe(true);
  });

  it('nat 1 answers: probe-answered says nat, the hop counts them', async () => {
    const clock = new FakeClock();
    const o = fakeEngineOptions(clock, { [T]: script(true) });
    const engine = createEngine(o);
    const rec = recorder();
    engine.subscribe(rec.listener);
    const ref = engine.add(T, { ...run, protocol: 'icmp', flows: 2 });
    await clock.advance(3_000);
    await engine.settled();
    const answered = rec.of('probe-answered');
    expect(answered.filter((e) => e.probe.ttl === 1).every((e) => e.nat === true)).toBe(true);
    expect(answered.filter((e) => e.probe.ttl === 2).every((e) => e.nat === undefined)).toBe(true);
    const hops = engine.snapshot(ref.id)!.hops;
    expect(hops[0]!.nat).toBe(6);
    expect(hops[1]!.nat).toBeUndefined();
  });
});
