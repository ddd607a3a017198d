// Runs for months: what the exporter's targets keep (the engine's runs and statistics, the diagnosis, the
// metrics, timers, probes in flight) does not grow with the number of traces. Two targets on the engine's
// fakes (a manual clock: no waiting) with loss, ECMP and varied RTTs; counted after 300 traces and after
// 3,000 more, and the heap measured after full garbage collections at both points.

import { describe, expect, it } from 'vitest';
import { parseConfig, type TargetSpec } from '../../src/exporter/config.js';
import { EngineSource } from '../../src/exporter/engine-source.js';
import { ExporterMetrics } from '../../src/exporter/metrics.js';
import { FakeClock, fakeEngineOptions, type Script } from '../engine-fakes.js';
import { heapAfterGc } from '../heap.js';

const DEST = '10.0.0.9';
/** TTL 1: one router; TTL 2: two ECMP members, 10 % loss; TTL 3: the destination; RTTs 1..21 ms */
function lossyEcmp(): Script {
  let x = 7;
  let n = 0;
  return (f) => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const rtt = 1000 + (x % 20_000);
    if (f.ttl === 2 && x % 10 === 0) return { outcome: { kind: 'no-reply' }, after: 2000 };
    const address = f.ttl === 1 ? '10.0.0.1' : f.ttl === 2 ? `10.0.1.${1 + (n++ % 2)}` : DEST;
    return { outcome: { kind: f.ttl >= 3 ? 'reply' : 'ttl-expired', address, rtt, mpls: undefined }, after: rtt / 1000 };
  };
}

describe('exporter memory over many traces', () => {
  it('3,000 more traces of two targets: nothing kept grows (counts, and the heap within 1 MB)', async () => {
    const cfg = parseConfig(
      `per_hop: full\ntargets:\n  - {name: a, host: ${DEST}, interval: 1, timeout: 2}\n  - {name: b, host: ${DEST}, interval: 1, timeout: 2}\n`,
    );
    const clock = new FakeClock();
    const engineOptions = fakeEngineOptions(clock, { [DEST]: lossyEcmp() });
    const metrics = new ExporterMetrics({ perHop: cfg.perHop, window: cfg.window, diagnosis: true, now: clock.now });
    let judged = 0;
    const src = new EngineSource({
      packetPath: '/unused',
      budget: { probesPerSecond: 1000, routerProbesPerSecond: 1000, routerBurst: 1000, maxInFlight: 1000 },
      emit: (e) => {
        if (e.type === 'diagnosis') judged++;
        metrics.onEvent(e);
      },
      engineOptions,
      now: clock.now,
      startDelay: () => 0,
      reresolve: false,
      diagnosis: true,
    });
    for (const t of cfg.targets as TargetSpec[]) {
      metrics.addTarget(t);
      src.add(t);
    }
    await new Promise((r) => setTimeout(r, 5)); // the start-delay timers (real ones, 0 ms)
    const run = async (traces: number): Promise<void> => {
      for (let i = 0; i < traces; i += 100) {
        await clock.advance(100_000);
        await metrics.render(); // what a scrape builds
        for (const s of engineOptions.senders) s.sent.length = 0; // the fake's own record of every probe
      }
    };
    const counts = () => ({
      timers: clock.pending,
      inFlight: src.inFlight,
      senderInFlight: engineOptions.senders[0]?.inFlightCount,
      targets: src.engine.targets().length,
      hops: src.engine.snapshot(1)?.hops.length,
    });

    await run(300); // every structure at its full size: rings, windows, responders, histograms' buckets
    const before = { heap: heapAfterGc(), judged, ...counts() };
    await run(3000);
    const after = { heap: heapAfterGc(), judged, ...counts() };
    await src.stop();

    expect(after.judged - before.judged).toBeGreaterThanOrEqual(2 * 110); // the diagnosis ran all along
    // per target: one tick timer and the answers in flight (a probe every 333 ms, answered within 2 s)
    expect(after.timers).toBeLessThanOrEqual(2 * 8);
    expect(after.inFlight).toBeLessThanOrEqual(2 * 7);
    expect(after.senderInFlight).toBeLessThanOrEqual(2 * 7);
    expect(after.targets).toBe(2);
    expect(after.hops).toBe(before.hops);
    // 24,000 probes: anything kept per probe (an event, a sample, a closure) would be megabytes
    expect(after.heap - before.heap).toBeLessThan(1024 * 1024);
  }, 120_000);
});
