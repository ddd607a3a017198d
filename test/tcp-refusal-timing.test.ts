// A TCP probe refused by its destination (RST) is timed by the kernel, as an ICMP answer is: on the
// client's link, tcpdump sees each probe leave and its answer arrive; the round-trip time mtr-packet-ts
// reports must be as close to that wire time for the RST as for the echo reply.

import { expect, it } from 'vitest';
import type { Lab } from './lab/lab.js';
import { describeLab, useLab } from './lab/use-lab.js';
import { startCapture } from './lab/capture.js';
import { ourPacket } from './support/env.js';
import type { IpPacket } from './lab/pcap.js';

const ROUNDS = 20;
const CLOSED_PORT = 33999;
/**
 * How far a reported round-trip time may be from the wire's, in µs. Both ends of an ICMP answer are
 * kernel stamps taken where tcpdump's are; a TCP probe's departure is the clock read just before
 * connect() (no transmit stamp exists for a SYN), so it carries the connect() path on top. A refusal
 * stamped at the event loop's wake-up was 200-800 µs late, and several ms for a process's first.
 */
const BOUND_US = 150;
/** rounds of ROUNDS allowed beyond BOUND_US (a late stamp would put every round beyond it) */
const MAX_OUTLIERS = 2;

const u16 = (b: Uint8Array, o: number): number => (b[o]! << 8) | b[o + 1]!;

/**
 * Per probe on the wire, in the order the probes left: its round trip in µs, or undefined when the capture
 * holds the probe but not its answer (a capture on a loaded host can miss a packet).
 */
function wireRtts(packets: readonly IpPacket[], lab: Lab, family: 4 | 6): { icmp: Array<number | undefined>; tcp: Array<number | undefined> } {
  const client = family === 4 ? lab.addr4.client : lab.addr6.client;
  const dest = family === 4 ? lab.hops4[3] : lab.hops6[3];
  const icmpProto = family === 4 ? 1 : 58;
  const [echoReq, echoRep] = family === 4 ? [8, 0] : [128, 129];
  const out = { icmp: [] as Array<number | undefined>, tcp: [] as Array<number | undefined> };
  const out_ = packets.filter((p) => p.family === family && p.src === client && p.dst === dest);
  const in_ = packets.filter((p) => p.family === family && p.src === dest && p.dst === client);
  for (const p of out_) {
    if (p.protocol === icmpProto && p.l4[0] === echoReq) {
      const id = u16(p.l4, 4);
      const seq = u16(p.l4, 6);
      const r = in_.find((q) => q.protocol === icmpProto && q.l4[0] === echoRep && u16(q.l4, 4) === id && u16(q.l4, 6) === seq);
      out.icmp.push(r ? Math.round((r.tsMs - p.tsMs) * 1000) : undefined);
    } else if (p.protocol === 6 && (p.l4[13]! & 0x02) !== 0) {
      const sport = u16(p.l4, 0);
      const r = in_.find((q) => q.protocol === 6 && (q.l4[13]! & 0x04) !== 0 && u16(q.l4, 2) === sport && q.tsMs >= p.tsMs);
      out.tcp.push(r ? Math.round((r.tsMs - p.tsMs) * 1000) : undefined);
    }
  }
  return out;
}

describeLab('a TCP refusal is timed by the kernel (tcpdump on the lab link)', () => {
  const lab = useLab();

  for (const family of [4, 6] as const) {
    it(`IPv${family}: RST round-trip times are as close to the wire as echo replies`, async () => {
      const l = lab();
      const dest = family === 4 ? l.hops4[3] : l.hops6[3];
      const lines: string[] = [];
      for (let i = 0; i < ROUNDS; i++) {
        lines.push(`${2 * i + 1} send-probe ip-${family} ${dest} timeout 2`);
        lines.push(`${2 * i + 2} send-probe ip-${family} ${dest} protocol tcp port ${CLOSED_PORT} timeout 2`);
      }
      const cap = await startCapture(l, 'client', 'l1');
      let packets: IpPacket[];
      let r;
      try {
        r = await l.exec('client', [ourPacket], { input: lines.join('\n') + '\n', timeoutMs: 20_000 });
      } finally {
        // every answer on the capture before it stops (it can lag on a loaded host)
        packets = await cap.stop({
          until: (got) => {
            const w = wireRtts(got, l, family);
            return [...w.icmp, ...w.tcp].filter((x) => x !== undefined).length >= 2 * ROUNDS;
          },
        });
      }
      expect(r.code, r.stderr).toBe(0);
      const reported = { icmp: new Map<number, number>(), tcp: new Map<number, number>() };
      for (const line of r.stdout.split('\n').filter(Boolean)) {
        const m = /^(\d+) reply ip-\d (\S+) round-trip-time (\d+)$/.exec(line);
        expect(m, line).not.toBe(null);
        expect(m![2]).toBe(dest);
        const token = Number(m![1]);
        (token % 2 === 1 ? reported.icmp : reported.tcp).set((token - 1) >> 1, Number(m![3]));
      }
      const wire = wireRtts(packets, l, family);
      expect(wire.icmp).toHaveLength(ROUNDS);
      expect(wire.tcp).toHaveLength(ROUNDS);
      // probes leave in token order: the i-th echo request / SYN on the wire is round i
      // (a round whose answer the capture missed is left out; at most MAX_OUTLIERS of them)
      const off = (kind: 'icmp' | 'tcp'): number[] => {
        const offs = wire[kind].flatMap((w, i) => (w === undefined ? [] : [reported[kind].get(i)! - w]));
        expect(offs.length, `${kind}: answers missing from the capture`).toBeGreaterThanOrEqual(ROUNDS - MAX_OUTLIERS);
        return offs;
      };
      const icmpOff = off('icmp');
      const tcpOff = off('tcp');
      console.log(`IPv${family} reported - wire (µs): echo ${icmpOff.join(' ')}; RST ${tcpOff.join(' ')}`);
      // Wake-up stamping is late for every round; one or two rounds off by a scheduling hiccup of the
      // capture on a loaded host (seen once in CI: an echo at -449 µs) are not what this test is about.
      const beyond = (offs: number[]) => offs.filter((d) => Math.abs(d) > BOUND_US);
      expect(beyond(icmpOff).length, `echo beyond ${BOUND_US} µs`).toBeLessThanOrEqual(MAX_OUTLIERS);
      expect(beyond(tcpOff).length, `RST beyond ${BOUND_US} µs`).toBeLessThanOrEqual(MAX_OUTLIERS);
    });
  }
});
