import { describe, expect, it } from 'vitest';
import { isDown, liveSnapshot, shownRange, type EngineTargetSnapshot } from '../../src/tty/adapter.js';

const view = (received: number, sent: number) => ({
  sent,
  received,
  drop: sent - received,
  lossPercent: sent > 0 ? (100 * (sent - received)) / sent : 0,
  last: 1,
  best: 1,
  avg: 1,
  worst: 1,
  stdev: 0,
  gmean: 1,
  jitter: 0,
  javg: 0,
  jmax: 0,
  jint: 0,
  percentiles: received > 0 ? { p50: 1, p95: 1 } : undefined,
});
type Hop = NonNullable<EngineTargetSnapshot['hops'][number]>;
const hop = (ttl: number, address: string | undefined, over: Partial<Hop> = {}): Hop => ({
  ttl,
  lifetime: view(address === undefined ? 0 : 3, 3),
  address,
  error: undefined,
  lastProbe: address === undefined ? 'lost' : 'reply',
  responders: address === undefined ? [] : [{ address, stats: view(3, 3), mpls: [] }],
  samples: [],
  ...over,
});
const snap = (hops: Hop[], over: Partial<EngineTargetSnapshot['options']> = {}): EngineTargetSnapshot => ({
  target: { id: 1, name: 'dest.example', address: '10.0.4.2' },
  options: { protocol: 'udp', firstTtl: 1, maxTtl: 30, interval: 1, psize: 64, bitpattern: 0, tos: 0, cycles: undefined, ...over },
  takenAt: 1000,
  hops,
});

describe('adapter: engine snapshot -> live snapshot', () => {
  it("shows mtr's hop range: up to the destination", () => {
    const s = snap([hop(1, '10.0.1.2'), hop(2, undefined), hop(3, '10.0.3.2'), hop(4, '10.0.4.2'), hop(5, '10.0.4.2')]);
    expect(shownRange(s)).toEqual({ from: 0, to: 4 });
    const l = liveSnapshot(s, { localHostname: 'vm', localAddress: '10.0.1.1' });
    expect(l.hops.map((h) => h.ttl)).toEqual([1, 2, 3, 4]);
    expect(l.hops[1]?.responders).toEqual([]);
    expect(l.protocol).toBe('udp');
    expect(l.target).toBe('dest.example');
  });
  it('not reached: one past the last hop that answered; an unreachable hop ends it with its words', () => {
    expect(shownRange(snap([hop(1, '10.0.1.2'), hop(2, undefined), hop(3, undefined)]))).toEqual({ from: 0, to: 2 });
    const s = snap([hop(1, '10.0.1.2'), hop(2, '10.0.2.2', { error: 'no-route-host' }), hop(3, undefined)]);
    expect(shownRange(s)).toEqual({ from: 0, to: 2 });
    expect(liveSnapshot(s, { localHostname: 'vm', localAddress: undefined }).hops[1]?.error).toBe('no route to host');
  });
  it('-f: hops start at the first TTL', () => {
    const s = snap([hop(1, undefined), hop(2, undefined), hop(3, '10.0.3.2'), hop(4, '10.0.4.2')], { firstTtl: 3 });
    expect(liveSnapshot(s, { localHostname: 'vm', localAddress: undefined }).hops.map((h) => h.ttl)).toEqual([3, 4]);
  });
  it("bold (down) as mtr: the last finished probe lost, or a probe sent while the previous one is unanswered", () => {
    const r = { state: 'reply' as const, rtt: 1 };
    const lost = { state: 'lost' as const, rtt: undefined };
    const pending = { state: 'pending' as const, rtt: undefined };
    expect(isDown([r, r])).toBe(false);
    expect(isDown([r, lost])).toBe(true);
    expect(isDown([r, pending])).toBe(false);
    expect(isDown([lost, pending])).toBe(true);
    expect(isDown([pending, pending])).toBe(true);
    expect(isDown([])).toBe(false);
  });
  it('ECMP responders keep first-seen order with their reply counts', () => {
    const h = hop(2, '10.0.2.2', {
      responders: [
        { address: '10.0.2.2', stats: view(7, 7), mpls: [] },
        { address: '10.0.9.2', stats: view(5, 5), mpls: [{ label: 16, tc: 0, bottomOfStack: 1, ttl: 1 }] },
      ],
    });
    const l = liveSnapshot(snap([hop(1, '10.0.1.2'), h]), { localHostname: 'vm', localAddress: undefined });
    expect(l.hops[1]?.responders).toEqual([
      { address: '10.0.2.2', replies: 7, mpls: [] },
      { address: '10.0.9.2', replies: 5, mpls: [{ label: 16, tc: 0, bottomOfStack: 1, ttl: 1 }] },
    ]);
  });
});

describe('adapter: --flows members', () => {
  it("with flows, each responder carries its own statistics and its share of the hop's probes", () => {
    const members = [
      { address: '10.0.5.2', stats: view(27, 27), mpls: [] },
      { address: '10.0.6.2', stats: view(16, 23), mpls: [] },
    ];
    const h = hop(2, '10.0.5.2', { responders: members, flows: [{}, {}], balancing: 'per-flow', nat: 2 });
    const l = liveSnapshot(snap([hop(1, '10.0.1.2'), h]), { localHostname: 'vm', localAddress: undefined });
    const m = l.hops[1]?.responders.map((r) => [r.address, r.member?.stats.sent, r.member?.stats.lossPercent, r.member?.share]);
    expect(m).toEqual([
      ['10.0.5.2', 27, 0, 54],
      ['10.0.6.2', 23, (100 * 7) / 23, 46],
    ]);
    expect(l.hops[1]?.balancing).toBe('per-flow');
    expect(l.hops[1]?.nat).toBe(2);
  });
  it('without flows: no member statistics, no balancing (the plain extra-responder lines)', () => {
    const h = hop(2, '10.0.5.2', { responders: [{ address: '10.0.5.2', stats: view(3, 3), mpls: [] }, { address: '10.0.6.2', stats: view(1, 1), mpls: [] }] });
    const l = liveSnapshot(snap([h]), { localHostname: 'vm', localAddress: undefined });
    expect(l.hops[1 - 1]?.responders.every((r) => r.member === undefined)).toBe(true);
    expect(l.hops[0]?.balancing).toBeUndefined();
  });
});
