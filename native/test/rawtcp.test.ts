// Raw TCP flow probes' answers: after watchSegments(), the SYN-ACKs and RSTs to our raw SYNs come
// back as 'segment' records from the raw IPPROTO_TCP sockets, kernel-stamped; before it, nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine, type ReceivedPacket } from '../src/index.js';
import { buildIPv4Packet, buildTcpSyn, decodeTcpSegment, TCP_FLAG_ACK, TCP_FLAG_RST, TCP_FLAG_SYN } from '../src/wire/index.js';
import { Collector, listen, LO4, LO6, portOf, skipRoot } from './probe-lab.js';

/** a port nobody listens on (below the ephemeral range; checked by listening once) */
async function closedPort(host: string): Promise<number> {
  for (;;) {
    const s = await listen(host).catch(() => undefined);
    if (s === undefined) continue;
    const port = portOf(s);
    await new Promise<void>((r) => s.close(() => r()));
    if (port >= 1024) return port;
  }
}

function send(e: Engine, family: 4 | 6, srcPort: number, dstPort: number, isn: number, txId: number): void {
  const lo = family === 4 ? LO4 : LO6;
  const syn = buildTcpSyn({ v6: family === 6, srcPort, dstPort, seq: isn, src: lo, dst: lo, size: 0 });
  if (family === 4) e.sendIPv4(buildIPv4Packet({ src: lo, dst: lo, ttl: 64, protocol: 6, payload: syn, id: 0x4242 }), lo, { txId });
  else e.sendIPv6(6, syn, lo, { hopLimit: 64, trafficClass: 0, txId });
}

const isSegmentTo =
  (family: 4 | 6, port: number) =>
  (p: ReceivedPacket): boolean => {
    if (p.source !== 'segment' || p.family !== family) return false;
    const s = decodeTcpSegment(p.data, family);
    return s.kind === 'tcp-segment' && s.dstPort === port;
  };

describe.skipIf(skipRoot)('raw TCP segments (TCP flows)', () => {
  let engine: Engine;
  const c = new Collector();
  beforeAll(() => {
    engine = new Engine(c.onBatch);
    engine.open({ mode: 'raw' });
    engine.watchSegments();
  });
  afterAll(() => engine.close());

  for (const family of [4, 6] as const) {
    it(`IPv${family}: a RST answering a raw SYN is a 'segment' only once watched, acking ISN + 1`, async () => {
      const own = new Collector();
      const e = new Engine(own.onBatch);
      try {
        e.open({ mode: 'raw' });
        const host = family === 4 ? '127.0.0.1' : '::1';
        const dstPort = await closedPort(host);
        // below 33434: the RST-stamp filter of classic TCP probes drops it, nothing queues it for later
        const before = 20000 + family * 1000 + Math.floor(Math.random() * 900);
        send(e, family, before, dstPort, 0x5a5a0001, 1);
        await new Promise((r) => setTimeout(r, 200)); // (a RST on loopback is back within microseconds)
        expect(own.packets.some((p) => p.source === 'segment')).toBe(false);
        expect(e.watchSegments()).toEqual({ ip4: true, ip6: true });
        const srcPort = before + 20000;
        const isn = 0x5a5a0000 + family;
        send(e, family, srcPort, dstPort, isn, 2);
        const p = await own.waitFor(isSegmentTo(family, srcPort));
        const s = decodeTcpSegment(p.data, family);
        expect(s).toMatchObject({ kind: 'tcp-segment', srcPort: dstPort, dstPort: srcPort, ack: (isn + 1) >>> 0 });
        if (s.kind !== 'tcp-segment') return;
        expect(s.flags & (TCP_FLAG_RST | TCP_FLAG_ACK)).toBe(TCP_FLAG_RST | TCP_FLAG_ACK);
        expect([...p.from]).toEqual([...(family === 4 ? LO4 : LO6)]);
        expect(own.packets.some(isSegmentTo(family, before))).toBe(false);
      } finally {
        e.close();
      }
    });

    it(`IPv${family}: a classic TCP probe's refusal is still answered, kernel-stamped, while segments are watched`, async () => {
      const host = family === 4 ? '127.0.0.1' : '::1';
      const dstPort = await closedPort(host);
      const srcPort = 34000 + family * 1000 + Math.floor(Math.random() * 900);
      const r = engine.connectTcp(family, family === 4 ? LO4 : LO6, dstPort, srcPort, { ttl: 64, tos: 0 });
      const end = await c.waitFor((p) => p.source === 'tcp' && p.tcpId === r.id);
      if (end.source !== 'tcp') throw new Error('not a tcp end');
      expect(end.tcpErrno).toBe(111);
      // the same RST came as a segment too (a flow's rules will not take it), stamped as the refusal is
      const seg = await c.waitFor(isSegmentTo(family, srcPort));
      expect(end.rxNs).toBe(seg.rxNs);
    });

    it(`IPv${family}: a listener's SYN-ACK is a 'segment' stamped after the SYN's departure`, async () => {
      const server = await listen(family === 4 ? '127.0.0.1' : '::1');
      try {
        const srcPort = 45000 + family * 1000 + Math.floor(Math.random() * 900);
        const isn = 0xa5a50000 + family;
        send(engine, family, srcPort, portOf(server), isn, 10 + family);
        const p = await c.waitFor(isSegmentTo(family, srcPort));
        const s = decodeTcpSegment(p.data, family);
        if (s.kind !== 'tcp-segment') throw new Error(s.reason);
        expect(s.flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)).toBe(TCP_FLAG_SYN | TCP_FLAG_ACK);
        expect(s.ack).toBe((isn + 1) >>> 0);
        const tx = c.packets.find((q) => q.source === 'tx' && q.txId === 10 + family);
        if (tx !== undefined) expect(p.rxNs).toBeGreaterThanOrEqual(tx.rxNs);
      } finally {
        await new Promise<void>((r) => server.close(() => r()));
      }
    });
  }
});
