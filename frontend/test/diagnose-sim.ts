// Synthetic target snapshots shaped like the engine's (each hop's ring of probes with cycle, state, RTT and
// responder, lifetime figures, the path's destination TTL), for the diagnosis tests.

import type { ReportHopLike, ReportSnapshotLike, SampleLike } from '../src/diagnose/index.js';

/** xorshift32: the same pattern every run */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

export interface SimHop {
  /** responder per cycle (ECMP, path changes) */
  addr: string | ((cycle: number) => string);
  /** chance a probe gets no answer (per cycle when a function) */
  loss?: number | ((cycle: number) => number);
  rtt?: number;
  /** answers are Destination Unreachable; with the icmp-detail extension's type, code and MTU when given */
  unreachable?: boolean | { icmpType: number; icmpCode: number; mtu?: number };
}

/** A target after `cycles` cycles; probes of the newest `pendingCycles` cycles that got no answer are still pending. */
export function simulate(
  hops: SimHop[],
  cycles: number,
  opts: {
    seed?: number;
    pendingCycles?: number;
    target?: string;
    id?: number;
    name?: string;
    interval?: number;
    runCycles?: number;
  } = {},
): ReportSnapshotLike {
  const rand = rng(opts.seed ?? 7);
  const pendingFrom = cycles - (opts.pendingCycles ?? 0) + 1;
  const out: ReportHopLike[] = hops.map((h, i) => {
    const samples: SampleLike[] = [];
    for (let c = 1; c <= cycles; c++) {
      const responder = typeof h.addr === 'string' ? h.addr : h.addr(c);
      const lost = rand() < (typeof h.loss === 'function' ? h.loss(c) : (h.loss ?? 0));
      const rtt = (h.rtt ?? 0.2) * (0.9 + 0.2 * rand());
      samples.push(
        lost
          ? { cycle: c, state: c >= pendingFrom ? 'pending' : 'lost', rtt: undefined, responder: undefined }
          : { cycle: c, state: 'reply', rtt, responder },
      );
    }
    const addrs = [...new Set(samples.filter((x) => x.responder !== undefined).map((x) => x.responder!))];
    const received = samples.filter((x) => x.state === 'reply').length;
    const rtts = samples
      .filter((x) => x.state === 'reply')
      .map((x) => x.rtt!)
      .sort((a, b) => a - b);
    const inFlight = samples.filter((x) => x.state === 'pending').length;
    const mean = rtts.reduce((a, b) => a + b, 0) / Math.max(1, rtts.length);
    return {
      ttl: i + 1,
      address: samples.filter((x) => x.responder !== undefined).at(-1)?.responder,
      lifetime: {
        sent: cycles,
        received,
        inFlight,
        lossPercent: cycles - inFlight > 0 ? (100 * (cycles - inFlight - received)) / (cycles - inFlight) : 0,
        last: rtts.at(-1) ?? 0,
        best: rtts[0] ?? 0,
        avg: mean,
        worst: rtts.at(-1) ?? 0,
        stdev: Math.sqrt(rtts.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, rtts.length - 1)),
        percentiles:
          rtts.length > 0
            ? { p50: rtts[Math.ceil(0.5 * rtts.length) - 1]!, p95: rtts[Math.ceil(0.95 * rtts.length) - 1]! }
            : undefined,
      },
      samples,
      responders: addrs.map((address) => ({
        address,
        reply: h.unreachable
          ? { kind: 'unreachable', code: 'no-route', ...(typeof h.unreachable === 'object' ? h.unreachable : {}) }
          : { kind: 'ttl-expired' },
      })),
    };
  });
  const target = opts.target ?? '10.0.4.2';
  const destHop = out.find((h) => h.responders.some((r) => r.address === target));
  return {
    target: { id: opts.id ?? 1, name: opts.name ?? target, address: target, family: target.includes(':') ? 6 : 4 },
    options: {
      protocol: 'icmp',
      psize: 64,
      firstTtl: 1,
      maxTtl: 30,
      interval: opts.interval ?? 0.1,
      cycles: opts.runCycles ?? cycles,
    },
    startTime: Date.UTC(2026, 11, 2, 17, 0, 0),
    cycles,
    hops: out,
    path: { destinationTtl: destHop?.ttl },
  };
}
