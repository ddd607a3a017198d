// The `flow` extension in the daemon (not in 0.95): asked for through check-support, then
// send-probe `flow N` sends on a stable flow and replies say `nat 1` when the flow fields came back
// rewritten. A fake transport records the wire; answers are built with the wire fixtures.

import { describe, expect, it } from 'vitest';
import { buildIcmpEchoReply, buildIcmpTimeExceeded, checksumValid, icmpv6Checksum, wrapIPv4 } from '@mtr-ts/native/wire';
import { icmpFlowIdentity, udpFlowIpId, udpFlowSequence } from '../src/codec.js';
import type { Received } from '../src/transport.js';
import { ME4, ME6, RecordingTransport as FakeTransport, type SentPacket as Wire } from './recording-transport.js';
import { askFlow, flowDaemon as setup, ROUTER4, u16, v4, v6 } from './flow-fixture.js';

const DST4 = '10.0.4.2';

/** A router's Time Exceeded for an IPv4 probe, quoting its first 28 bytes (after `edit`). */
function timeExceeded4(t: FakeTransport, sent: Wire, edit: (q: Uint8Array) => void = () => {}): Received {
  const quoted = sent.packet.slice(0, 28);
  edit(quoted);
  const te = buildIcmpTimeExceeded({ v6: false, routerSrc: ROUTER4, dst: ME4, quoted });
  return { source: 'raw', family: 4, from: ROUTER4, data: wrapIPv4(te, { src: ROUTER4, dst: ME4 }), rxNs: t.clock + 5000 };
}

describe('flow extension: asked for, or nothing changes', () => {
  it('before check-support feature flow, `flow N` is ignored as 0.95 ignores it', () => {
    const a = setup();
    const b = setup();
    a.d.handleLine('5 send-probe ip-4 10.0.4.2 ttl 3 flow 7');
    b.d.handleLine('5 send-probe ip-4 10.0.4.2 ttl 3');
    expect(a.t.sent[0]!.packet).toEqual(b.t.sent[0]!.packet);
    a.d.handleLine('6 send-probe ip-4 10.0.4.2 ttl 3 flow zz');
    expect(a.out).toEqual([]);
    expect(a.d.inFlight).toBe(2);
  });

  it('check-support feature flow: ok with a raw family, no with datagram sockets only', () => {
    const { t, out, d } = setup();
    d.handleLine('1 check-support feature flow');
    t.mode4 = 'dgram';
    t.mode6 = 'dgram';
    d.handleLine('2 check-support feature flow');
    expect(out).toEqual(['1 feature-support support ok', '2 feature-support support no']);
  });

  it('refuses a flow it cannot send: out of range, not a number, TCP/SCTP, a datagram family', () => {
    const { t, out, d } = setup();
    askFlow(d, out);
    t.mode6 = 'dgram';
    d.handleLine('2 send-probe ip-4 10.0.4.2 flow 256');
    d.handleLine('3 send-probe ip-4 10.0.4.2 flow -1');
    d.handleLine('4 send-probe ip-4 10.0.4.2 flow x');
    d.handleLine('5 send-probe ip-4 10.0.4.2 protocol tcp flow 1');
    d.handleLine('6 send-probe ip-6 fd00::2 flow 1');
    d.handleLine('7 send-probe ip-4 10.0.4.2 size 29 flow 1');
    d.handleLine('8 send-probe ip-4 10.0.4.2 protocol udp size 33 flow 1');
    expect(out).toEqual([2, 3, 4, 5, 6, 7, 8].map((n) => `${n} invalid-argument`));
    expect(t.sent).toHaveLength(0);
  });
});

describe('ICMP flows (Paris style)', () => {
  it("every probe of a flow, at any TTL, carries the flow's identifier and checksum; the sequence moves", () => {
    const { t, out, d } = setup();
    askFlow(d, out);
    for (const ttl of [1, 2, 3, 9]) d.handleLine(`${ttl} send-probe ip-4 ${DST4} ttl ${ttl} flow 3`);
    d.handleLine('20 send-probe ip-4 10.0.4.2 ttl 1 flow 4');
    const f3 = icmpFlowIdentity(0x1234, 3);
    const icmp = t.sent.map((s) => s.packet.subarray(20));
    for (const m of icmp.slice(0, 4)) {
      expect(u16(m, 4)).toBe(f3.id);
      expect(u16(m, 2)).toBe(f3.checksum);
      expect(checksumValid(m)).toBe(true);
    }
    expect(new Set(icmp.map((m) => u16(m, 6))).size).toBe(5);
    const f4 = icmpFlowIdentity(0x1234, 4);
    expect([u16(icmp[4]!, 4), u16(icmp[4]!, 2)]).toEqual([f4.id, f4.checksum]);
    expect(f4.id).not.toBe(f3.id);
    expect(f4.checksum).not.toBe(f3.checksum);
  });

  it('a Time Exceeded and an echo reply answer flow probes; nothing says nat', () => {
    const { t, out, d } = setup();
    askFlow(d, out);
    d.handleLine('7 send-probe ip-4 10.0.4.2 ttl 2 flow 3');
    d.handleLine('8 send-probe ip-4 10.0.4.2 ttl 9 flow 3');
    d.handlePackets([timeExceeded4(t, t.sent[0]!)]);
    const req = t.sent[1]!.packet.subarray(20);
    const reply = buildIcmpEchoReply({ v6: false, id: u16(req, 4), seq: u16(req, 6), payload: req.subarray(8) });
    d.handlePackets([{ source: 'raw', family: 4, from: v4(DST4), data: wrapIPv4(reply, { src: v4(DST4), dst: ME4 }), rxNs: t.clock + 9000 }]);
    expect(out).toEqual(['7 ttl-expired ip-4 10.0.2.2 round-trip-time 5', '8 reply ip-4 10.0.4.2 round-trip-time 9']);
  });

  it('IPv6: the checksum the kernel will compute over the pseudo-header is the flow checksum', () => {
    const { t, out, d } = setup();
    askFlow(d, out);
    d.handleLine('1 send-probe ip-6 fd00:0:0:4::2 ttl 1 flow 2');
    d.handleLine('2 send-probe ip-6 fd00:0:0:4::2 ttl 2 flow 2');
    const f = icmpFlowIdentity(0x1234, 2);
    for (const s of t.sent) {
      expect(u16(s.packet, 4)).toBe(f.id);
      expect(icmpv6Checksum(s.packet, ME6, v6('fd00:0:0:4::2'))).toBe(f.checksum);
    }
  });

  it("a quote with the flow's identifier rewritten (a NAT) still answers its probe, with nat 1", () => {
    const { t, out, d } = setup();
    askFlow(d, out);
    d.handleLine('7 send-probe ip-4 10.0.4.2 ttl 2 flow 3');
    d.handlePackets([
      timeExceeded4(t, t.sent[0]!, (q) => {
        q[24] = 0xab; // identifier, and the checksum follows it as a NAT's incremental update does
        q[22] = 0x11;
      }),
    ]);
    expect(out).toEqual(['7 ttl-expired ip-4 10.0.2.2 round-trip-time 5 nat 1']);
  });

  it('a rewritten quote of another IPv4 identification is not ours; classic probes are never matched by NAT rules', () => {
    const { t, out, d } = setup();
    askFlow(d, out);
    d.handleLine('7 send-probe ip-4 10.0.4.2 ttl 2 flow 3');
    d.handleLine('8 send-probe ip-4 10.0.4.2 ttl 2');
    d.handlePackets([
      timeExceeded4(t, t.sent[0]!, (q) => {
        q[24] = 0xab;
        q[4] = 0x99; // another prober's identification
      }),
      timeExceeded4(t, t.sent[1]!, (q) => {
        q[24] = 0xab;
      }),
    ]);
    expect(out).toEqual([]);
    expect(d.inFlight).toBe(2);
  });
});

describe('UDP flows', () => {
  it('both ports fixed per flow (the daemon picks the source port without local-port), the sequence in the checksum and the IPv4 id', () => {
    const { t, out, d } = setup();
    askFlow(d, out);
    for (const ttl of [1, 2, 3]) d.handleLine(`${ttl} send-probe ip-4 ${DST4} protocol udp ttl ${ttl} flow 5`);
    d.handleLine('9 send-probe ip-4 10.0.4.2 protocol udp ttl 1 flow 5 port 53 local-port 40000');
    const udp = t.sent.map((s) => s.packet.subarray(20));
    for (const [i, m] of udp.slice(0, 3).entries()) {
      expect([u16(m, 0), u16(m, 2)]).toEqual([51005, 33434]);
      expect(u16(m, 6)).toBe(40000 + i);
      expect(u16(t.sent[i]!.packet, 4)).toBe(udpFlowIpId(0x0777, 40000 + i));
      expect(udpFlowSequence(0x0777, udpFlowIpId(0x0777, 40000 + i))).toBe(40000 + i);
    }
    expect([u16(udp[3]!, 0), u16(udp[3]!, 2)]).toEqual([40000, 53]);
    d.handlePackets([timeExceeded4(t, t.sent[1]!)]);
    expect(out).toEqual(['2 ttl-expired ip-4 10.0.2.2 round-trip-time 5']);
  });

  it('a quote with the source port and checksum rewritten answers with nat 1', () => {
    const { t, out, d } = setup();
    askFlow(d, out);
    d.handleLine('4 send-probe ip-4 10.0.4.2 protocol udp ttl 2 flow 0');
    d.handlePackets([
      timeExceeded4(t, t.sent[0]!, (q) => {
        q[20] = 0x9c; // source port
        q[26] = q[26]! ^ 0x5a; // checksum
      }),
    ]);
    expect(out).toEqual(['4 ttl-expired ip-4 10.0.2.2 round-trip-time 5 nat 1']);
  });

  it('the udpFlowIpId mapping is one to one over the sequence space and never 0', () => {
    for (const daemonIpId of [1, 0x7777, 0xffff]) {
      const seen = new Set<number>();
      for (let s = 33434; s <= 65535; s++) {
        const id = udpFlowIpId(daemonIpId, s);
        expect(id >= 1 && id <= 0xffff).toBe(true);
        seen.add(id);
      }
      expect(seen.size).toBe(65535 - 33434 + 1);
    }
  });
});

/** A router's ICMPv6 Time Exceeded quoting the whole probe (as IPv6 routers do, up to 1280 bytes). */
function timeExceeded6(t: FakeTransport, sent: Wire): Received {
  const ip6 = new Uint8Array(40 + sent.packet.length);
  ip6[0] = 0x60;
  ip6[4] = sent.packet.length >> 8;
  ip6[5] = sent.packet.length & 0xff;
  ip6[6] = 17;
  ip6[7] = 1;
  ip6.set(ME6, 8);
  ip6.set(sent.dst, 24);
  ip6.set(sent.packet, 40);
  const router = v6('fd00:0:0:1::2');
  const te = buildIcmpTimeExceeded({ v6: true, routerSrc: router, dst: ME6, quoted: ip6 });
  return { source: 'raw', family: 6, from: router, data: te, rxNs: t.clock + 5000 };
}

describe('two daemons side by side with flows', () => {
  it('IPv6 UDP flows on the same pinned ports and sequences: the payload tag keeps them apart', () => {
    const a = setup({ flowTag: Uint8Array.of(1, 2, 3, 4) });
    const b = setup({ flowTag: Uint8Array.of(5, 6, 7, 8) });
    askFlow(a.d, a.out);
    askFlow(b.d, b.out);
    a.d.handleLine('1 send-probe ip-6 fd00:0:0:4::2 protocol udp ttl 1 flow 0 local-port 40000 port 33434');
    b.d.handleLine('2 send-probe ip-6 fd00:0:0:4::2 protocol udp ttl 1 flow 0 local-port 40000 port 33434');
    // the same ports, checksum (sequence) and addresses: only the tag differs
    expect(a.t.sent[0]!.packet.subarray(0, 8)).toEqual(b.t.sent[0]!.packet.subarray(0, 8));
    expect(Array.from(a.t.sent[0]!.packet.subarray(10, 14))).toEqual([1, 2, 3, 4]);
    a.d.handlePackets([timeExceeded6(a.t, b.t.sent[0]!)]);
    b.d.handlePackets([timeExceeded6(b.t, a.t.sent[0]!)]);
    expect([a.out, b.out]).toEqual([[], []]);
    a.d.handlePackets([timeExceeded6(a.t, a.t.sent[0]!)]);
    b.d.handlePackets([timeExceeded6(b.t, b.t.sent[0]!)]);
    expect([a.out, b.out]).toEqual([['1 ttl-expired ip-6 fd00:0:0:1::2 round-trip-time 5'], ['2 ttl-expired ip-6 fd00:0:0:1::2 round-trip-time 5']]);
  });

  it("never take each other's answers, even on the same flows, ports and sequences", () => {
    // B's identifier is A's + 1: A's flow 1 and B's flow 0 share the ICMP identifier
    const a = setup({ icmpId: 0x1234, ipId: 0x0101, flowPortBase: 51000 });
    const b = setup({ icmpId: 0x1235, ipId: 0x0202, flowPortBase: 51000 });
    askFlow(a.d, a.out);
    askFlow(b.d, b.out);
    a.d.handleLine('1 send-probe ip-4 10.0.4.2 ttl 2 flow 1');
    b.d.handleLine('1 send-probe ip-4 10.0.4.2 ttl 2 flow 0');
    a.d.handleLine('2 send-probe ip-4 10.0.4.2 protocol udp ttl 2 flow 0 local-port 40000 port 33434');
    b.d.handleLine('2 send-probe ip-4 10.0.4.2 protocol udp ttl 2 flow 0 local-port 40000 port 33434');
    // every answer reaches both daemons (raw sockets see everything)
    const answers = [...a.t.sent, ...b.t.sent].map((s) => timeExceeded4(a.t, s));
    a.d.handlePackets(answers);
    b.d.handlePackets(answers);
    expect(a.out).toEqual(['1 ttl-expired ip-4 10.0.2.2 round-trip-time 5', '2 ttl-expired ip-4 10.0.2.2 round-trip-time 5']);
    expect(b.out).toEqual(['1 ttl-expired ip-4 10.0.2.2 round-trip-time 5', '2 ttl-expired ip-4 10.0.2.2 round-trip-time 5']);
    expect(a.d.stats.unmatchedPackets).toBe(2);
    expect(b.d.stats.unmatchedPackets).toBe(2);
  });
});
