// ProbeLog: a target's recent probes as columns fed from the engine's events. The windows it gives the
// diagnosis are the ones the engine's snapshot gives (same evidence, window after window, with loss, ECMP
// and late answers), and its storage does not grow: fixed columns, a bounded address table.

import { describe, expect, it } from 'vitest';
import { createEngine } from '../src/engine/engine.js';
import type { EngineEvent } from '../src/engine/events.js';
import { ProbeLog, ADDRESS_TABLE } from '../src/diagnose/probe-log.js';
import { windowEvidence } from '../src/diagnose/adapter.js';
import { FakeClock, fakeEngineOptions, type Script } from './engine-fakes.js';

const DEST = '10.0.0.9';

/** TTL 1 one router, TTL 2 two ECMP members and 15 % loss, some answers later than the next probes; TTL 3 the destination */
function script(): Script {
  let x = 11;
  let n = 0;
  return (f): ReturnType<Script> => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const rtt = 1000 + (x % 30_000);
    if (f.ttl === 2 && x % 7 === 0) return { outcome: { kind: 'no-reply' }, after: 1500 };
    // now and then a third router at TTL 2 says the network is unreachable (with ICMP details)
    if (f.ttl === 2 && x % 29 === 0)
      return { outcome: { kind: 'unreachable', reason: 'no-route-network', address: '10.0.1.3', rtt, mpls: undefined, icmpType: 3, icmpCode: 0 }, after: 1 };
    const address = f.ttl === 1 ? '10.0.0.1' : f.ttl === 2 ? `10.0.1.${1 + (n++ % 2)}` : DEST;
    const late = x % 13 === 0 ? 700 : 0;
    return { outcome: { kind: f.ttl >= 3 ? 'reply' : 'ttl-expired', address, rtt, mpls: undefined }, after: rtt / 1000 + late };
  };
}

describe('ProbeLog', () => {
  it('gives every window the evidence the engine snapshot gives', async () => {
    const clock = new FakeClock();
    const engine = createEngine(fakeEngineOptions(clock, { [DEST]: script() }));
    const keep = 60;
    const log = new ProbeLog(keep, 8);
    engine.subscribe((e: EngineEvent) => {
      if (e.type === 'probe-sent') log.sent(e.probe.ttl, e.probe.probe, e.probe.cycle);
      else if (e.type === 'probe-answered') log.answered(e.probe.ttl, e.probe.probe, e.rtt, e.responder, e.reply);
      else if (e.type === 'probe-lost') log.lost(e.probe.ttl, e.probe.probe);
      else if (e.type === 'cycle-done') log.cycles++;
    });
    const ref = engine.add(DEST, { windowSize: keep, ringSize: keep, interval: 0.5, timeout: 2, maxTtl: 8, cycles: undefined });
    let compared = 0;
    let unreachable = 0;
    for (let to = 50; to <= 300; to += 25) {
      await clock.advance(12_500 + (to === 50 ? 2_000 : 0));
      const s = engine.snapshot(ref.id)!;
      const w = { from: to - 49, to, pendingIsLost: true, memory: 10 };
      const fromSnapshot = windowEvidence(s, w);
      const fromLog = windowEvidence(s, w, undefined, (h) => log.at(h.ttl));
      expect(fromLog).toEqual(fromSnapshot);
      // and without the engine's snapshot at all: the log's own lifetime counts and responders
      const own = log.snapshot({ address: s.target.address, family: s.target.family, options: s.options });
      expect(own.cycles).toBe(s.cycles);
      expect(windowEvidence(own, w, undefined, (h) => log.at(h.ttl))).toEqual(fromSnapshot);
      expect(fromSnapshot.hops.length).toBeGreaterThanOrEqual(3);
      expect(fromSnapshot.hops[1]!.responders.length).toBeGreaterThanOrEqual(2);
      unreachable += fromSnapshot.hops[1]!.unreachable !== undefined ? 1 : 0;
      compared++;
    }
    expect(compared).toBe(11);
    expect(unreachable).toBeGreaterThan(0); // the responders' latest answers were compared too
    await engine.stop();
  });

  it('keeps fixed columns and a bounded address table, with the right responder in every slot', () => {
    const cap = 20;
    const log = new ProbeLog(cap, 4);
    const expected: Array<string | undefined> = [];
    for (let p = 1; p <= 5000; p++) {
      log.sent(2, p, p);
      // every answer from a new address (a churning responder pool), a tenth lost
      if (p % 10 === 0) {
        log.lost(2, p);
        expected.push(undefined);
      } else {
        log.answered(2, p, 1.5, `10.1.${p >> 8}.${p & 255}`, { kind: 'ttl-expired' });
        expected.push(`10.1.${p >> 8}.${p & 255}`);
      }
      expect(log.addressesAt(2)).toBeLessThanOrEqual(cap + ADDRESS_TABLE);
    }
    const v = log.at(2);
    expect(v.length).toBe(cap);
    const tail = expected.slice(-cap);
    for (let i = 0; i < cap; i++) {
      expect(v.cycle(i)).toBe(5000 - cap + 1 + i);
      expect(v.responder(i)).toBe(tail[i]);
      expect(v.state(i)).toBe(tail[i] === undefined ? 'lost' : 'reply');
      expect(v.rtt(i)).toBe(tail[i] === undefined ? undefined : 1.5);
    }
    // an answer to a probe the ring no longer holds changes nothing
    log.answered(2, 1, 9, '10.9.9.9', { kind: 'ttl-expired' });
    expect(log.at(2).responder(0)).toBe(tail[0]);
    // responders with their own statistics: the first 16, as the engine keeps them
    expect(log.snapshot({ address: undefined, family: 4, options: { protocol: 'icmp', psize: 64, firstTtl: 1, maxTtl: 4 } }).hops[1]!.responders).toHaveLength(16);
    // TTLs outside 1..maxTtl are not kept
    log.sent(9, 1, 1);
    expect(log.at(9).length).toBe(0);
  });
});
