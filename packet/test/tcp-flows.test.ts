// TCP flows (extension `flow`, issue 14): a raw SYN per probe with both ports fixed per flow and the
// sequence in the TCP sequence number (the daemon's 16-bit tag, then the probe's sequence). A Time
// Exceeded is matched by the quoted ports and sequence number, the destination's SYN-ACK or RST by
// the ports and ack - 1. Answers are built from data here; the wire is the fake transport's record.

import { describe, expect, it } from 'vitest';
import {
  buildIcmpTimeExceeded,
  buildIPv4Packet,
  checksumValid,
  sumPseudoHeaderV4,
  sumPseudoHeaderV6,
  wrapIPv4,
} from '@mtr-ts/native/wire';
import { tcpFlowIsn, tcpFlowTag } from '../src/codec.js';
import type { Received } from '../src/transport.js';
import { ME4, ME6, RecordingTransport, type SentPacket } from './recording-transport.js';
import { askFlow, flowDaemon, ROUTER4, u16, v4, v6, type DaemonOptions, type FlowDaemon } from './flow-fixture.js';

const DST4 = v4('10.0.4.2');
const DST6 = v6('fd00:0:0:4::2');
const ROUTER6 = v6('fd00:0:0:2::2');
const TAG_A = Uint8Array.of(0xa1, 0xa2, 0xa3, 0xa4);
const TAG_B = Uint8Array.of(0xb1, 0xb2, 0xb3, 0xb4);
const u32 = (b: Uint8Array, at: number): number => ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;

/** The daemon with TAG_A as its flow tag and flows asked for; both families' segments watched unless told. */
function setup(opts: DaemonOptions = {}, segments = { ip4: true, ip6: true }): FlowDaemon {
  const f = flowDaemon({ flowTag: TAG_A, ...opts }, segments);
  askFlow(f.d, f.out);
  return f;
}

/** the TCP segment of a sent probe (IPv4: past the IP header) */
const tcpOf = (s: SentPacket): Uint8Array => (s.family === 4 ? s.packet.subarray(20) : s.packet);

/** A router's Time Exceeded quoting the probe: IPv4 its first 28 bytes, IPv6 the whole of it. */
function timeExceeded(t: RecordingTransport, sent: SentPacket, edit: (tcp: Uint8Array) => void = () => {}, quotedSrc?: Uint8Array): Received {
  if (sent.family === 4) {
    const quoted = sent.packet.slice(0, 28);
    edit(quoted.subarray(20));
    if (quotedSrc) quoted.set(quotedSrc, 12);
    const te = buildIcmpTimeExceeded({ v6: false, routerSrc: ROUTER4, dst: ME4, quoted });
    return { source: 'raw', family: 4, from: ROUTER4, data: wrapIPv4(te, { src: ROUTER4, dst: ME4 }), rxNs: t.clock + 5000 };
  }
  const ip6 = new Uint8Array(40 + sent.packet.length);
  ip6[0] = 0x60;
  ip6[4] = sent.packet.length >> 8;
  ip6[5] = sent.packet.length & 0xff;
  ip6[6] = 6;
  ip6[7] = 1;
  ip6.set(quotedSrc ?? ME6, 8);
  ip6.set(sent.dst, 24);
  ip6.set(sent.packet, 40);
  edit(ip6.subarray(40));
  const te = buildIcmpTimeExceeded({ v6: true, routerSrc: ROUTER6, dst: ME6, quoted: ip6 });
  return { source: 'raw', family: 6, from: ROUTER6, data: te, rxNs: t.clock + 5000 };
}

/** The destination's answer to a probe: a SYN-ACK, or a RST|ACK, acking `ack` (default: its ISN + 1). */
function answer(t: RecordingTransport, sent: SentPacket, kind: 'syn-ack' | 'rst', o: { ack?: number; from?: Uint8Array; swapPorts?: boolean } = {}): Received {
  const syn = tcpOf(sent);
  const tcp = new Uint8Array(20);
  tcp.set(syn.subarray(2, 4), 0); // from its destination port
  tcp.set(syn.subarray(0, 2), 2); // to its source port
  if (o.swapPorts === false) tcp.set(syn.subarray(0, 4), 0);
  const ack = o.ack ?? (u32(syn, 4) + 1) >>> 0;
  tcp.set([ack >>> 24, (ack >>> 16) & 0xff, (ack >>> 8) & 0xff, ack & 0xff], 8);
  tcp[12] = 0x50;
  tcp[13] = kind === 'syn-ack' ? 0x12 : 0x14;
  const from = o.from ?? sent.dst;
  const data = sent.family === 4 ? buildIPv4Packet({ src: from, dst: ME4, ttl: 61, protocol: 6, payload: tcp }) : tcp;
  return { source: 'segment', family: sent.family, from, data, rxNs: t.clock + 7000 };
}

describe('TCP flows: the raw SYN', () => {
  it('both ports fixed per flow at every TTL, the sequence (with the tag) in the sequence number, valid checksums', () => {
    const { t, d } = setup();
    for (const ttl of [1, 2, 3]) d.handleLine(`${ttl} send-probe ip-4 10.0.4.2 protocol tcp ttl ${ttl} flow 5`);
    d.handleLine('9 send-probe ip-4 10.0.4.2 protocol tcp ttl 1 flow 6 port 443 local-port 40000');
    for (const [i, s] of t.sent.slice(0, 3).entries()) {
      const tcp = tcpOf(s);
      expect(s.packet[9]).toBe(6);
      expect(s.packet[8]).toBe(i + 1);
      expect(u16(s.packet, 4)).toBe(0x0777);
      expect([u16(tcp, 0), u16(tcp, 2)]).toEqual([51005, 80]);
      expect(u32(tcp, 4)).toBe(tcpFlowIsn(0xa1a2, 40000 + i));
      expect(tcp[13]).toBe(0x02); // SYN only
      expect(tcp.length).toBe(20); // a bare SYN
      expect(checksumValid(tcp, 0, tcp.length, sumPseudoHeaderV4(ME4, DST4, 6, tcp.length))).toBe(true);
    }
    expect([u16(tcpOf(t.sent[3]!), 0), u16(tcpOf(t.sent[3]!), 2)]).toEqual([40000, 443]);
    expect(tcpFlowTag(TAG_A)).toBe(0xa1a2);
  });

  it('IPv6: the same, checksummed over the pseudo-header of the source it will leave from', () => {
    const { t, d } = setup();
    d.handleLine('1 send-probe ip-6 fd00:0:0:4::2 protocol tcp ttl 1 flow 0');
    d.handleLine('2 send-probe ip-6 fd00:0:0:4::2 protocol tcp ttl 2 flow 0');
    for (const [i, s] of t.sent.entries()) {
      expect([u16(s.packet, 0), u16(s.packet, 2)]).toEqual([51000, 80]);
      expect(u32(s.packet, 4)).toBe(tcpFlowIsn(0xa1a2, 40000 + i));
      expect(checksumValid(s.packet, 0, s.packet.length, sumPseudoHeaderV6(ME6, DST6, 6, s.packet.length))).toBe(true);
    }
  });

  it('refused where it cannot be sent or answered: datagram mode, no raw TCP receive for the family', () => {
    const dgram = setup();
    dgram.t.mode6 = 'dgram';
    dgram.d.handleLine('2 send-probe ip-6 fd00:0:0:4::2 protocol tcp flow 1');
    expect(dgram.out).toEqual(['2 invalid-argument']);
    const noV6 = setup({}, { ip4: true, ip6: false });
    noV6.d.handleLine('3 send-probe ip-6 fd00:0:0:4::2 protocol tcp flow 1');
    noV6.d.handleLine('4 send-probe ip-4 10.0.4.2 protocol tcp flow 1');
    expect(noV6.out).toEqual(['3 invalid-argument']);
    expect(noV6.t.sent).toHaveLength(1);
  });
});

describe('TCP flows: answers', () => {
  for (const family of [4, 6] as const) {
    const dst = family === 4 ? '10.0.4.2' : 'fd00:0:0:4::2';
    const router = family === 4 ? '10.0.2.2' : 'fd00:0:0:2::2';
    it(`IPv${family}: a Time Exceeded by the quoted ports and sequence number; SYN-ACK and RST by ports and ack - 1`, () => {
      const { t, out, d } = setup();
      d.handleLine(`7 send-probe ip-${family} ${dst} protocol tcp ttl 2 flow 3`);
      d.handleLine(`8 send-probe ip-${family} ${dst} protocol tcp ttl 9 flow 3`);
      d.handleLine(`9 send-probe ip-${family} ${dst} protocol tcp ttl 9 flow 4`);
      const [p7, p8, p9] = t.sent as [SentPacket, SentPacket, SentPacket];
      d.handlePackets([
        timeExceeded(t, p8, (tcp) => (tcp[4] = tcp[4]! ^ 1)), // another tag
        timeExceeded(t, p8, (tcp) => (tcp[3] = tcp[3]! ^ 1)), // another destination port
        answer(t, p8, 'syn-ack', { ack: ((u32(tcpOf(p8), 4) ^ 0x10000) + 1) >>> 0 }), // ack - 1: another tag
        answer(t, p8, 'syn-ack', { from: family === 4 ? ROUTER4 : ROUTER6 }), // not from its destination
        answer(t, p8, 'rst', { swapPorts: false }),
      ]);
      expect(out).toEqual([]);
      d.handlePackets([timeExceeded(t, p7), answer(t, p8, 'syn-ack'), answer(t, p9, 'rst')]);
      expect(out).toEqual([
        `7 ttl-expired ip-${family} ${router} round-trip-time 5`,
        `8 reply ip-${family} ${dst} round-trip-time 7`,
        `9 reply ip-${family} ${dst} round-trip-time 7`,
      ]);
    });
  }

  it('a SYN-ACK for a classic (connect) TCP probe is never taken by the flow rules', () => {
    const { t, out, d } = setup();
    d.handleLine('5 send-probe ip-4 10.0.4.2 protocol tcp ttl 9');
    expect(t.sent).toHaveLength(0); // a connect(), not a raw SYN
    const fake: SentPacket = { family: 4, dst: DST4, packet: buildIPv4Packet({ src: ME4, dst: DST4, ttl: 9, protocol: 6, payload: new Uint8Array(20) }) };
    const tcp = tcpOf(fake);
    tcp.set([40000 >> 8, 40000 & 0xff, 0, 80], 0);
    d.handlePackets([answer(t, fake, 'syn-ack', { ack: tcpFlowIsn(0xa1a2, 40000) + 1 })]);
    expect(out).toEqual([]);
    expect(d.inFlight).toBe(1);
  });
});

describe('TCP flows: two daemons side by side', () => {
  it('on the same pinned ports with the same sequences, the tag keeps every answer with its own daemon', () => {
    const a = setup({ flowTag: TAG_A, ipId: 0x0101 });
    const b = setup({ flowTag: TAG_B, ipId: 0x0101 });
    for (const x of [a, b]) {
      x.d.handleLine('2 send-probe ip-4 10.0.4.2 protocol tcp ttl 2 flow 0 local-port 40000 port 80');
      x.d.handleLine('3 send-probe ip-4 10.0.4.2 protocol tcp ttl 9 flow 0 local-port 40000 port 80');
      x.d.handleLine('4 send-probe ip-6 fd00:0:0:4::2 protocol tcp ttl 2 flow 0 local-port 40000 port 80');
      x.d.handleLine('5 send-probe ip-6 fd00:0:0:4::2 protocol tcp ttl 9 flow 0 local-port 40000 port 80');
    }
    // the same ports and sequences: only the sequence number's tag half differs
    expect(tcpOf(a.t.sent[0]!).subarray(0, 4)).toEqual(tcpOf(b.t.sent[0]!).subarray(0, 4));
    expect(u16(tcpOf(a.t.sent[0]!), 6)).toBe(u16(tcpOf(b.t.sent[0]!), 6));
    const answersTo = (x: typeof a): Received[] => [
      timeExceeded(x.t, x.t.sent[0]!),
      answer(x.t, x.t.sent[1]!, 'syn-ack'),
      timeExceeded(x.t, x.t.sent[2]!),
      answer(x.t, x.t.sent[3]!, 'rst'),
    ];
    // raw sockets see everything: each daemon gets the other's answers first, which it must not take
    a.d.handlePackets(answersTo(b));
    b.d.handlePackets(answersTo(a));
    expect([a.out, b.out]).toEqual([[], []]);
    expect([a.d.stats.unmatchedPackets, b.d.stats.unmatchedPackets]).toEqual([4, 4]);
    a.d.handlePackets(answersTo(a));
    b.d.handlePackets(answersTo(b));
    const expected = [
      '2 ttl-expired ip-4 10.0.2.2 round-trip-time 5',
      '3 reply ip-4 10.0.4.2 round-trip-time 7',
      '4 ttl-expired ip-6 fd00:0:0:2::2 round-trip-time 5',
      '5 reply ip-6 fd00:0:0:4::2 round-trip-time 7',
    ];
    expect(a.out).toEqual(expected);
    expect(b.out).toEqual(expected);
  });
});

describe('NAT seen on flows (nat 1)', () => {
  for (const family of [4, 6] as const) {
    const dst = family === 4 ? '10.0.4.2' : 'fd00:0:0:4::2';
    it(`IPv${family} TCP: a quote with the source port rewritten still answers, with nat 1; another tag does not`, () => {
      const { t, out, d } = setup();
      d.handleLine(`7 send-probe ip-${family} ${dst} protocol tcp ttl 2 flow 3`);
      d.handlePackets([timeExceeded(t, t.sent[0]!, (tcp) => ((tcp[0] = 0x9c), (tcp[4] = tcp[4]! ^ 0xff)))]);
      expect(out).toEqual([]);
      d.handlePackets([timeExceeded(t, t.sent[0]!, (tcp) => (tcp[0] = 0x9c))]);
      expect(out).toHaveLength(1);
      expect(out[0]).toMatch(/^7 ttl-expired .* nat 1$/);
    });
  }

  it('IPv6 ICMP: identifier and checksum rewritten, the tag and sequence kept: nat 1; without our tag: nothing', () => {
    const { t, out, d } = setup();
    d.handleLine('7 send-probe ip-6 fd00:0:0:4::2 ttl 2 flow 3');
    d.handleLine('8 send-probe ip-6 fd00:0:0:4::2 ttl 2 flow 3');
    expect(Array.from(t.sent[0]!.packet.subarray(10, 14))).toEqual(Array.from(TAG_A));
    const rewrite = (m: Uint8Array): void => {
      m[4] = m[4]! ^ 0x33;
      m[2] = m[2]! ^ 0x33;
    };
    d.handlePackets([timeExceeded(t, t.sent[1]!, (m) => (rewrite(m), (m[10] = 0)))]);
    expect(out).toEqual([]);
    d.handlePackets([icmp6(timeExceeded(t, t.sent[0]!, rewrite))]);
    expect(out).toEqual(['7 ttl-expired ip-6 fd00:0:0:2::2 round-trip-time 5 nat 1']);
  });

  it('IPv6 UDP: ports and checksum rewritten, the sequence after the tag kept: nat 1', () => {
    const { t, out, d } = setup();
    d.handleLine('7 send-probe ip-6 fd00:0:0:4::2 protocol udp ttl 2 flow 3 size 64');
    const udp = t.sent[0]!.packet;
    expect(u16(udp, 14)).toBe(40000);
    d.handlePackets([udp6(timeExceeded(t, t.sent[0]!, (m) => ((m[0] = 0x9c), (m[6] = m[6]! ^ 0x0f))))]);
    expect(out).toEqual(['7 ttl-expired ip-6 fd00:0:0:2::2 round-trip-time 5 nat 1']);
  });

  it("a quote whose source address is not the one the flow probe left from (prefix translation): nat 1; classic probes: never", () => {
    const { t, out, d } = setup();
    d.handleLine('7 send-probe ip-6 fd00:0:0:4::2 protocol udp ttl 2 flow 3');
    d.handleLine('8 send-probe ip-6 fd00:0:0:4::2 protocol tcp ttl 2 flow 3');
    d.handleLine('9 send-probe ip-4 10.0.4.2 protocol udp ttl 2 local-port 40000 port 33434');
    const other6 = v6('fd99::1');
    d.handlePackets([
      udp6(timeExceeded(t, t.sent[0]!, () => {}, other6)),
      timeExceeded(t, t.sent[1]!, () => {}, other6),
      udp4(timeExceeded(t, t.sent[2]!, () => {}, v4('192.0.2.9'))),
    ]);
    expect(out).toEqual([
      '7 ttl-expired ip-6 fd00:0:0:2::2 round-trip-time 5 nat 1',
      '8 ttl-expired ip-6 fd00:0:0:2::2 round-trip-time 5 nat 1',
      '9 ttl-expired ip-4 10.0.2.2 round-trip-time 5',
    ]);
  });
});

/** timeExceeded() builds TCP quotes; these set the quoted next header / protocol of another probe */
function icmp6(r: Received): Received {
  return withQuotedProtocol(r, 58);
}
function udp6(r: Received): Received {
  return withQuotedProtocol(r, 17);
}
function udp4(r: Received): Received {
  return r; // IPv4 quotes are the probe's own header: its protocol is already right
}
function withQuotedProtocol(r: Received, proto: number): Received {
  const data = r.data.slice();
  data[8 + 6] = proto; // ICMPv6 header (8), then the quoted IPv6 header's next header
  return { ...r, data };
}
