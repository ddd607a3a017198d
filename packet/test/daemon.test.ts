// The daemon core without sockets: a fake transport records what would go on the wire and
// hands back crafted answers (byte fixtures from the wire codecs).

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  buildIcmpEchoReply,
  buildIcmpDestUnreachable,
  buildIcmpTimeExceeded,
  parseIPv4,
  parseIPv6,
  wrapIPv4,
} from '@mtr-ts/native/wire';
import { Daemon } from '../src/daemon.js';
import { ProbeTable, MIN_SEQUENCE, MAX_SEQUENCE, type Probe } from '../src/probes.js';
import type { FamilyMode, ProbeOptions, Received, SendOptions, Transport } from '../src/transport.js';
import { formatReply, MAX_MPLS_LABELS, REPLY_BUFFER_SIZE } from '@mtr-ts/protocol';

interface Sent {
  family: 4 | 6;
  packet: Uint8Array;
  dst: Uint8Array;
  opts: SendOptions & { hopLimit?: number; trafficClass?: number };
  proto?: number;
}

class FakeTransport implements Transport {
  mode4: FamilyMode = 'raw';
  mode6: FamilyMode = 'raw';
  sctp = false;
  tcp: Array<{ id: number; family: 4 | 6; dst: Uint8Array; dstPort: number; srcPort: number; opts: ProbeOptions & { protocol?: 'tcp' | 'sctp' } }> = [];
  closed: number[] = [];
  dgram: Array<{ family: 4 | 6; proto: 'icmp' | 'udp'; payload: Uint8Array; dstPort: number; opts: ProbeOptions }> = [];
  busyPorts = new Set<number>();
  clock = 1_000_000_000;
  sent: Sent[] = [];
  failWith: { errno: number; code: string } | undefined;
  sendIPv4(packet: Uint8Array, dst: Uint8Array, opts: SendOptions = {}): number {
    if (this.failWith) throw Object.assign(new Error(this.failWith.code), this.failWith);
    this.sent.push({ family: 4, packet, dst, opts });
    return this.clock;
  }
  sendIPv6(proto: number, packet: Uint8Array, dst: Uint8Array, opts: Sent['opts']): number {
    if (this.failWith) throw Object.assign(new Error(this.failWith.code), this.failWith);
    this.sent.push({ family: 6, packet, dst, opts, proto });
    return this.clock;
  }
  sendDgram(family: 4 | 6, proto: 'icmp' | 'udp', payload: Uint8Array, _dst: Uint8Array, dstPort: number, opts: ProbeOptions) {
    this.dgram.push({ family, proto, payload, dstPort, opts });
    return { txNs: this.clock, localPort: proto === 'icmp' ? 777 : 5555 };
  }
  connectTcp(family: 4 | 6, dst: Uint8Array, dstPort: number, srcPort: number, opts: ProbeOptions & { protocol?: 'tcp' | 'sctp' }) {
    if (this.busyPorts.has(srcPort)) throw Object.assign(new Error('EADDRINUSE'), { errno: 98, code: 'EADDRINUSE' });
    const id = this.tcp.length + 1;
    this.tcp.push({ id, family, dst, dstPort, srcPort, opts });
    return { id, txNs: this.clock };
  }
  closeTcp(id: number): void {
    this.closed.push(id);
  }
  sourceAddress(family: 4 | 6): Uint8Array {
    return family === 4 ? ME4 : parseIPv6('fd00:0:0:1::1')!;
  }
  now(): number {
    return this.clock;
  }
  close(): void {}
}

function setup(opts: ConstructorParameters<typeof Daemon>[2] = {}) {
  const t = new FakeTransport();
  const out: string[] = [];
  const d = new Daemon(t, (l) => out.push(l), { icmpId: 0x1234, firstSequence: 40000, ...opts });
  return { t, out, d };
}

const v4 = (s: string) => parseIPv4(s)!;
const v6 = (s: string) => parseIPv6(s)!;
const ME4 = v4('10.0.1.1');
/** the data of a default (size 64) IPv4 echo request, which its reply carries back */
const ECHO_DATA_64 = new Uint8Array(64 - 20 - 8);

/** The quoted original datagram a router returns: the first 28 bytes of what we sent. */
function quote(sent: Sent): Uint8Array {
  return sent.packet.slice(0, 28);
}

describe('Daemon: requests to the wire', () => {
  it('builds the IPv4 ICMP probe the request describes: TTL, TOS, size, pattern, our identity', () => {
    const { t, out, d } = setup();
    d.handleLine('7 send-probe ip-4 10.0.4.2 ttl 3 tos 16 size 100 bit-pattern 171');
    expect(out).toEqual([]);
    const p = t.sent[0]!.packet;
    expect(p.length).toBe(100);
    expect(p[0]).toBe(0x45);
    expect(p[1]).toBe(16); // TOS
    expect(p[8]).toBe(3); // TTL
    expect(p[9]).toBe(1); // ICMP
    expect(Array.from(p.subarray(16, 20))).toEqual([10, 0, 4, 2]);
    expect(p[20]).toBe(8); // echo request
    expect((p[24]! << 8) | p[25]!).toBe(0x1234);
    expect((p[26]! << 8) | p[27]!).toBe(40000);
    expect(p.subarray(28).every((b) => b === 171)).toBe(true);
    expect(d.inFlight).toBe(1);
  });

  it('cuts an IPv4 TTL and TOS to 8 bits as mtr-packet 0.95 does', () => {
    const { t, d } = setup();
    d.handleLine('1 send-probe ip-4 10.0.4.2 ttl 257 tos 300');
    expect(t.sent[0]!.packet[8]).toBe(1);
    expect(t.sent[0]!.packet[1]).toBe(44);
  });

  it('sends the ICMPv6 message with hop limit and traffic class beside it', () => {
    const { t, d } = setup();
    d.handleLine('1 send-probe ip-6 fd00::2 ttl 2 tos 32 size 60');
    const s = t.sent[0]!;
    expect(s.proto).toBe(58);
    expect(s.packet.length).toBe(20);
    expect(s.packet[0]).toBe(128);
    expect(s.opts).toMatchObject({ hopLimit: 2, trafficClass: 32 });
  });

  it('passes mark and device with the probe they belong to only', () => {
    const { t, d } = setup();
    d.handleLine('1 send-probe ip-4 10.0.4.2 mark 7 local-device eth9');
    d.handleLine('2 send-probe ip-4 10.0.4.2');
    expect(t.sent[0]!.opts).toEqual({ mark: 7, device: 'eth9', txId: 0 });
    expect(t.sent[1]!.opts).toEqual({ txId: 1 });
  });

  it.each([
    [101, '1 no-route'],
    [113, '1 no-route'],
    [100, '1 network-down'],
    [1, '1 permission-denied'],
    [98, '1 address-in-use'],
    [99, '1 address-not-available'],
    [22, '1 invalid-argument'],
    [13, '1 unexpected-error errno 13'],
  ])('maps send errno %i to "%s" and goes on', (errno, line) => {
    const { t, out, d } = setup();
    t.failWith = { errno, code: 'E' };
    d.handleLine('1 send-probe ip-4 10.0.4.2');
    expect(out).toEqual([line]);
    expect(d.inFlight).toBe(0);
    t.failWith = undefined;
    d.handleLine('2 check-support feature icmp');
    expect(out[1]).toBe('2 feature-support support ok');
  });

  it('refuses a family it could not open, and protocols it does not send', () => {
    const { t, out, d } = setup();
    t.mode6 = 'none';
    d.handleLine('1 send-probe ip-6 ::1');
    d.handleLine('2 send-probe ip-4 127.0.0.1 protocol sctp');
    d.handleLine('3 check-support feature ip-6');
    expect(out).toEqual([
      '1 invalid-argument reason ip-version-not-supported',
      '2 invalid-argument reason protocol-not-supported',
      '3 feature-support support no',
    ]);
  });
});

describe('Daemon: answers to replies', () => {
  it('an echo reply answers its probe with the kernel-stamped round-trip time', () => {
    const { t, out, d } = setup();
    d.handleLine('42 send-probe ip-4 10.0.4.2');
    const reply = wrapIPv4(buildIcmpEchoReply({ v6: false, id: 0x1234, seq: 40000, payload: ECHO_DATA_64 }), { src: v4('10.0.4.2'), dst: ME4 });
    d.handlePackets([{ source: 'raw', family: 4, from: v4('10.0.4.2'), data: reply, rxNs: t.clock + 1_834_999 }]);
    expect(out).toEqual(['42 reply ip-4 10.0.4.2 round-trip-time 1834']);
    expect(d.inFlight).toBe(0);
    // the same answer again is nobody's
    d.handlePackets([{ source: 'raw', family: 4, from: v4('10.0.4.2'), data: reply, rxNs: t.clock + 2_000_000 }]);
    expect(out).toHaveLength(1);
  });

  it('a Time Exceeded quoting our probe answers ttl-expired from the router, with MPLS labels', () => {
    const { t, out, d } = setup();
    d.handleLine('5 send-probe ip-4 10.0.4.2 ttl 2');
    const te = buildIcmpTimeExceeded({
      v6: false,
      routerSrc: v4('10.0.2.2'),
      dst: ME4,
      quoted: quote(t.sent[0]!),
      mplsLabels: [
        { label: 16004, tc: 0, bottomOfStack: 0, ttl: 1 },
        { label: 24005, tc: 5, bottomOfStack: 1, ttl: 1 },
      ],
    });
    d.handlePackets([{ source: 'raw', family: 4, from: v4('10.0.2.2'), data: wrapIPv4(te, { src: v4('10.0.2.2'), dst: ME4 }), rxNs: t.clock + 12_000 }]);
    expect(out).toEqual(['5 ttl-expired ip-4 10.0.2.2 round-trip-time 12 mpls 16004,0,0,1,24005,5,1,1']);
  });

  it('keeps the first 8 of hundreds of MPLS labels, as mtr-packet; the longest reply fits mtr\'s 4 KB buffer', () => {
    const { t, out, d } = setup();
    d.handleLine('2147483647 send-probe ip-4 10.0.4.2 ttl 2');
    const labels = Array.from({ length: 300 }, (_, i) => ({ label: 0xfffff - i, tc: 7, bottomOfStack: i === 299 ? 1 : 0, ttl: 255 }));
    const te = buildIcmpTimeExceeded({ v6: false, routerSrc: v4('10.0.2.2'), dst: ME4, quoted: quote(t.sent[0]!), mplsLabels: labels });
    d.handlePackets([{ source: 'raw', family: 4, from: v4('10.0.2.2'), data: wrapIPv4(te, { src: v4('10.0.2.2'), dst: ME4 }), rxNs: t.clock + 12_000 }]);
    expect(out).toHaveLength(1);
    const mpls = out[0]!.split(' mpls ')[1]!.split(',');
    expect(mpls).toHaveLength(4 * MAX_MPLS_LABELS);
    expect(mpls.slice(0, 4)).toEqual(['1048575', '7', '0', '255']);
    // the widest values everywhere: an IPv6 address of 39 characters, an int32 RTT
    const widest = formatReply({
      token: -2147483648,
      type: 'no-route-network',
      ipVersion: 6,
      address: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
      roundTripTime: 2147483647,
      mpls: labels.slice(0, MAX_MPLS_LABELS),
    });
    expect(widest.length + 1).toBeLessThan(REPLY_BUFFER_SIZE);
  });

  it('Destination Unreachable answers no-route; port unreachable from the target answers reply', () => {
    const { t, out, d } = setup();
    d.handleLine('1 send-probe ip-4 10.0.4.2');
    d.handleLine('2 send-probe ip-4 10.0.4.2');
    const net = buildIcmpDestUnreachable({ v6: false, code: 0, routerSrc: v4('10.0.3.2'), dst: ME4, quoted: quote(t.sent[0]!) });
    const port = buildIcmpDestUnreachable({ v6: false, code: 3, routerSrc: v4('10.0.4.2'), dst: ME4, quoted: quote(t.sent[1]!) });
    d.handlePackets([
      { source: 'raw', family: 4, from: v4('10.0.3.2'), data: wrapIPv4(net, { src: v4('10.0.3.2'), dst: ME4 }), rxNs: t.clock + 5000 },
      { source: 'raw', family: 4, from: v4('10.0.4.2'), data: wrapIPv4(port, { src: v4('10.0.4.2'), dst: ME4 }), rxNs: t.clock + 6000 },
    ]);
    expect(out).toEqual(['1 no-route ip-4 10.0.3.2 round-trip-time 5', '2 reply ip-4 10.0.4.2 round-trip-time 6']);
  });

  it('an ICMPv6 Time Exceeded answers its probe', () => {
    const { t, out, d } = setup();
    d.handleLine('9 send-probe ip-6 fd00:0:0:4::2 ttl 1');
    const sent = t.sent[0]!;
    // the router quotes the IPv6 header the kernel built, then our ICMPv6 message
    const ip6 = new Uint8Array(40 + sent.packet.length);
    ip6[0] = 0x60;
    ip6[5] = sent.packet.length;
    ip6[6] = 58;
    ip6[7] = 1;
    ip6.set(v6('fd00:0:0:1::1'), 8);
    ip6.set(sent.dst, 24);
    ip6.set(sent.packet, 40);
    const te = buildIcmpTimeExceeded({ v6: true, routerSrc: v6('fd00:0:0:1::2'), dst: v6('fd00:0:0:1::1'), quoted: ip6 });
    d.handlePackets([{ source: 'raw', family: 6, from: v6('fd00:0:0:1::2'), data: te, rxNs: t.clock + 700_000 }]);
    expect(out).toEqual(['9 ttl-expired ip-6 fd00:0:0:1::2 round-trip-time 700']);
  });

  it("ignores another process's answers: other ICMP id, other destination, other family", () => {
    const { t, out, d } = setup();
    d.handleLine('1 send-probe ip-4 10.0.4.2 ttl 2');
    const q = quote(t.sent[0]!);
    const otherId = q.slice();
    otherId[24] = otherId[24]! ^ 0xff;
    const otherDst = q.slice();
    otherDst[19] = 9;
    const packets: Received[] = [otherId, otherDst].map((quoted) => ({
      source: 'raw' as const,
      family: 4,
      from: v4('10.0.2.2'),
      data: wrapIPv4(buildIcmpTimeExceeded({ v6: false, routerSrc: v4('10.0.2.2'), dst: ME4, quoted }), { src: v4('10.0.2.2'), dst: ME4 }),
      rxNs: t.clock + 1000,
    }));
    packets.push({ source: 'raw', family: 4, from: v4('10.0.4.2'), data: new Uint8Array([0x45, 1, 2]), rxNs: t.clock });
    d.handlePackets(packets);
    expect(out).toEqual([]);
    expect(d.inFlight).toBe(1);
    expect(d.stats.unmatchedPackets + d.stats.ignoredPackets).toBe(3);
  });

  it('answers no-reply at the deadline, in deadline order, and not before', () => {
    const { t, out, d } = setup();
    d.handleLine('1 send-probe ip-4 10.0.4.2 timeout 3');
    t.clock += 1e9;
    d.handleLine('2 send-probe ip-4 10.0.4.2 timeout 1');
    d.expire(t.clock + 0.999e9);
    expect(out).toEqual([]);
    expect(d.nextDeadlineIn()).toBe(1e9);
    d.expire(t.clock + 1e9);
    expect(out).toEqual(['2 no-reply']);
    d.expire(t.clock + 2e9);
    expect(out).toEqual(['2 no-reply', '1 no-reply']);
    expect(d.nextDeadlineIn()).toBeUndefined();
  });
});

describe('ProbeTable', () => {
  const probe = (sequence: number, deadlineNs: number): Probe => ({
    token: sequence,
    family: 4,
    protocol: 'icmp',
    dst: new Uint8Array(4),
    sequence,
    srcPort: 0,
    dstPort: 0,
    tcpId: -1,
    failedErrno: 0,
    txId: -1,
    txNs: 0,
    deadlineNs,
    heapIndex: -1,
  });

  it('allocates sequences round the space, skipping those in flight', () => {
    const t = new ProbeTable(10, MAX_SEQUENCE - 1);
    const a = t.allocateSequence();
    t.add(probe(a, 1));
    const b = t.allocateSequence();
    expect([a, b]).toEqual([MAX_SEQUENCE - 1, MAX_SEQUENCE]);
    expect(t.allocateSequence()).toBe(MIN_SEQUENCE);
    // come round again: MAX_SEQUENCE - 1 is still in flight and is skipped
    const t2 = new ProbeTable(10, MAX_SEQUENCE - 1);
    t2.add(probe(MAX_SEQUENCE - 1, 1));
    expect(t2.allocateSequence()).toBe(MAX_SEQUENCE);
  });

  it('keeps deadlines in order through any mix of adds and removals', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 1000 }), fc.boolean()), { maxLength: 200 }),
        (ops) => {
          const t = new ProbeTable(1000);
          const live = new Map<number, Probe>();
          ops.forEach(([deadline, remove], i) => {
            const p = probe(MIN_SEQUENCE + i, deadline);
            t.add(p);
            live.set(p.sequence, p);
            if (remove && live.size > 1) {
              const victim = [...live.values()][deadline % live.size]!;
              t.remove(victim);
              live.delete(victim.sequence);
            }
          });
          const expired = t.takeExpired(Infinity).map((p) => p.deadlineNs);
          expect(expired).toEqual([...live.values()].map((p) => p.deadlineNs).sort((a, b) => a - b));
          expect(t.size).toBe(0);
        },
      ),
    );
  });
});

describe('Daemon: TCP probes', () => {
  it('connects from the sequence as source port to port 80 by default; connected or refused is a reply', () => {
    const { t, out, d } = setup();
    d.handleLine('1 send-probe ip-4 10.0.4.2 protocol tcp ttl 3');
    d.handleLine('2 send-probe ip-6 fd00::2 protocol tcp port 443');
    expect(t.tcp.map((c) => [c.srcPort, c.dstPort, c.opts.ttl])).toEqual([
      [40000, 80, 3],
      [40001, 443, 255],
    ]);
    d.handlePackets([
      { source: 'tcp', family: 6, from: v6('fd00::2'), data: new Uint8Array(0), rxNs: t.clock + 3000, tcpId: 2, tcpErrno: 111 },
      { source: 'tcp', family: 4, from: v4('10.0.4.2'), data: new Uint8Array(0), rxNs: t.clock + 4000, tcpId: 1, tcpErrno: 0 },
    ]);
    expect(out).toEqual(['2 reply ip-6 fd00::2 round-trip-time 3', '1 reply ip-4 10.0.4.2 round-trip-time 4']);
    expect(d.inFlight).toBe(0);
  });

  it('skips a source port in use and takes the next sequence', () => {
    const { t, out, d } = setup();
    t.busyPorts.add(40000);
    d.handleLine('1 send-probe ip-4 10.0.4.2 protocol tcp');
    expect(out).toEqual([]);
    expect(t.tcp[0]!.srcPort).toBe(40001);
  });

  it("a router's Time Exceeded quoting our source port answers ttl-expired and closes the socket", () => {
    const { t, out, d } = setup();
    d.handleLine('1 send-probe ip-4 10.0.4.2 protocol tcp port 443 ttl 1');
    // what the router quotes: an IPv4 header and the first 8 bytes of our SYN
    const quoted = new Uint8Array(28);
    quoted.set([0x45, 0, 0, 60, 0, 0, 0x40, 0, 1, 6, 0, 0, ...ME4, 10, 0, 4, 2]);
    quoted.set([40000 >> 8, 40000 & 0xff, 1, 187, 0, 0, 0, 1], 20);
    const te = buildIcmpTimeExceeded({ v6: false, routerSrc: v4('10.0.1.2'), dst: ME4, quoted });
    // the kernel also aborts the connect with EHOSTUNREACH: whichever comes first, the router is named
    d.handlePackets([{ source: 'tcp', family: 4, from: v4('10.0.4.2'), data: new Uint8Array(0), rxNs: t.clock + 900, tcpId: 1, tcpErrno: 113 }]);
    expect(out).toEqual([]);
    d.handlePackets([{ source: 'raw', family: 4, from: v4('10.0.1.2'), data: wrapIPv4(te, { src: v4('10.0.1.2'), dst: ME4 }), rxNs: t.clock + 800 }]);
    expect(out).toEqual(['1 ttl-expired ip-4 10.0.1.2 round-trip-time 0']);
    expect(d.inFlight).toBe(0);
  });

  it('a connect error with no ICMP message behind it answers by its errno after a short wait', () => {
    const { t, out, d } = setup();
    d.handleLine('1 send-probe ip-4 10.0.4.2 protocol tcp timeout 5');
    d.handlePackets([{ source: 'tcp', family: 4, from: v4('10.0.4.2'), data: new Uint8Array(0), rxNs: t.clock, tcpId: 1, tcpErrno: 113 }]);
    expect(d.nextDeadlineIn()).toBeLessThanOrEqual(20e6);
    d.expire(t.clock + 20e6);
    expect(out).toEqual(['1 no-route']);
  });

  it('closes the socket of a TCP probe that times out', () => {
    const { t, out, d } = setup();
    d.handleLine('1 send-probe ip-4 10.0.4.2 protocol tcp timeout 1');
    d.expire(t.clock + 1e9);
    expect(out).toEqual(['1 no-reply']);
    expect(t.closed).toEqual([1]);
  });
});

describe('Daemon: datagram (unprivileged) mode', () => {
  function dgram() {
    const s = setup();
    s.t.mode4 = 'dgram';
    s.t.mode6 = 'dgram';
    return s;
  }

  it('ICMP goes through the ping socket, whose port the kernel makes the identifier', () => {
    const { t, out, d } = dgram();
    d.handleLine('1 send-probe ip-4 10.0.4.2 ttl 2 size 64 bit-pattern 9');
    d.handleLine('2 send-probe ip-4 10.0.4.2');
    expect(t.dgram[0]).toMatchObject({ proto: 'icmp', dstPort: 0, opts: { ttl: 2, tos: 0 } });
    expect(t.dgram[0]!.payload.length).toBe(44);
    expect(t.dgram[0]!.payload.subarray(8).every((b) => b === 9)).toBe(true);
    // the router's error as the error queue gives it: our echo header as sent, id rewritten to 777
    const quotedEcho = t.dgram[0]!.payload.slice();
    quotedEcho.set([777 >> 8, 777 & 0xff], 4);
    d.handlePackets([
      { source: 'error', family: 4, from: v4('10.0.2.2'), data: quotedEcho, rxNs: t.clock + 2000, icmpType: 11, icmpCode: 0, errProto: 'icmp', origDst: v4('10.0.4.2') },
      { source: 'ping', family: 4, from: v4('10.0.4.2'), data: buildIcmpEchoReply({ v6: false, id: 777, seq: 40001, payload: ECHO_DATA_64 }), rxNs: t.clock + 3000 },
    ]);
    expect(out).toEqual(['1 ttl-expired ip-4 10.0.2.2 round-trip-time 2', '2 reply ip-4 10.0.4.2 round-trip-time 3']);
  });

  it('UDP carries the sequence in the destination port, or in the payload when the port is given', () => {
    const { t, out, d } = dgram();
    d.handleLine('1 send-probe ip-6 fd00::2 protocol udp');
    d.handleLine('2 send-probe ip-6 fd00::2 protocol udp port 53 bit-pattern 255');
    expect(t.dgram.map((x) => x.dstPort)).toEqual([40000, 53]);
    expect(Array.from(t.dgram[1]!.payload.subarray(0, 4))).toEqual([40001 >> 8, 40001 & 0xff, 255, 255]);
    d.handlePackets([
      { source: 'error', family: 6, from: v6('fd00::2'), data: t.dgram[0]!.payload, rxNs: t.clock + 1000, icmpType: 1, icmpCode: 4, errProto: 'udp', origDst: v6('fd00::2'), origDstPort: 40000, origSrcPort: 5555 },
      { source: 'error', family: 6, from: v6('fd00:0:0:1::2'), data: t.dgram[1]!.payload, rxNs: t.clock + 2000, icmpType: 3, icmpCode: 0, errProto: 'udp', origDst: v6('fd00::2'), origDstPort: 53, origSrcPort: 5555 },
    ]);
    expect(out).toEqual(['1 reply ip-6 fd00::2 round-trip-time 1', '2 ttl-expired ip-6 fd00:0:0:1::2 round-trip-time 2']);
  });
});

describe('Daemon: kernel transmit timestamps', () => {
  const echoReply = (seq: number) =>
    wrapIPv4(buildIcmpEchoReply({ v6: false, id: 0x1234, seq, payload: ECHO_DATA_64 }), { src: v4('10.0.4.2'), dst: ME4 });
  const tx = (txId: number, rxNs: number): Received => ({
    source: 'tx',
    family: 4,
    from: new Uint8Array(4),
    data: new Uint8Array(0),
    rxNs,
    txId,
  });

  it("a 'tx' record ahead of the reply replaces the pre-send departure: the RTT is from the kernel's stamp", () => {
    const { t, out, d } = setup();
    d.handleLine('42 send-probe ip-4 10.0.4.2');
    const txId = t.sent[0]!.opts.txId!;
    expect(txId).toBeTypeOf('number');
    // the send path was slow this time: the packet left 17 µs after the pre-send clock read
    d.handlePackets([
      tx(txId, t.clock + 17_000),
      { source: 'raw', family: 4, from: v4('10.0.4.2'), data: echoReply(40000), rxNs: t.clock + 1_834_999 },
    ]);
    expect(out).toEqual(['42 reply ip-4 10.0.4.2 round-trip-time 1817']);
  });

  it('without a stamp the pre-send clock stays; late, unknown or repeated stamps change nothing', () => {
    const { t, out, d } = setup();
    d.handleLine('1 send-probe ip-4 10.0.4.2');
    d.handleLine('2 send-probe ip-4 10.0.4.2');
    d.handleLine('3 send-probe ip-4 10.0.4.2');
    const [id1, id2, id3] = t.sent.map((s) => s.opts.txId!);
    expect(new Set([id1, id2, id3]).size).toBe(3);
    // probe 1: no stamp ever
    d.handlePackets([{ source: 'raw', family: 4, from: v4('10.0.4.2'), data: echoReply(40000), rxNs: t.clock + 1_000_000 }]);
    // a stamp for an answered probe, and one nobody sent
    d.handlePackets([tx(id1!, t.clock + 500_000), tx(9999, t.clock + 10)]);
    // probe 2: stamped once; a second stamp with its id is ignored
    d.handlePackets([tx(id2!, t.clock + 3_000), tx(id2!, t.clock + 900_000)]);
    d.handlePackets([{ source: 'raw', family: 4, from: v4('10.0.4.2'), data: echoReply(40001), rxNs: t.clock + 1_000_000 }]);
    expect(out).toEqual(['1 reply ip-4 10.0.4.2 round-trip-time 1000', '2 reply ip-4 10.0.4.2 round-trip-time 997']);
    // probe 3: stamped late (5 ms after the pre-send clock): the deadline stays where it was
    d.handlePackets([tx(id3!, t.clock + 5_000_000)]);
    t.clock += 10e9 - 1;
    d.expire();
    expect(out).toHaveLength(2);
    t.clock += 1;
    d.expire();
    expect(out[2]).toBe('3 no-reply');
    // and its stamp, had it come only now, finds nothing
    d.handlePackets([tx(id3!, t.clock)]);
    expect(out).toHaveLength(3);
  });

  it('IPv6 raw probes are named too; datagram-mode and TCP probes are not', () => {
    const { t, d } = setup();
    d.handleLine('1 send-probe ip-6 fd00:0:0:4::2');
    expect(t.sent[0]!.opts.txId).toBeTypeOf('number');
    d.handleLine('2 send-probe ip-4 10.0.4.2 protocol tcp');
    expect(t.tcp[0]!.opts).not.toHaveProperty('txId');
    t.mode4 = 'dgram';
    d.handleLine('3 send-probe ip-4 10.0.4.2');
    expect(t.dgram[0]!.opts).not.toHaveProperty('txId');
  });
});

describe('Daemon: SCTP probes', () => {
  it('where the kernel has SCTP, an association attempt from the sequence as source port; a Time Exceeded quoting it names the router', () => {
    const { t, out, d } = setup();
    t.sctp = true;
    d.handleLine('1 check-support feature sctp');
    d.handleLine('2 send-probe ip-4 10.0.4.2 protocol sctp port 7 ttl 2');
    expect(out).toEqual(['1 feature-support support ok']);
    expect(t.tcp[0]).toMatchObject({ srcPort: 40000, dstPort: 7, opts: { ttl: 2, protocol: 'sctp' } });
    const quoted = new Uint8Array(32);
    quoted.set([0x45, 0, 0, 68, 0, 0, 0x40, 0, 1, 132, 0, 0, ...ME4, 10, 0, 4, 2]);
    quoted.set([40000 >> 8, 40000 & 0xff, 0, 7, 0, 0, 0, 0], 20);
    const te = buildIcmpTimeExceeded({ v6: false, routerSrc: v4('10.0.2.2'), dst: ME4, quoted });
    d.handlePackets([{ source: 'raw', family: 4, from: v4('10.0.2.2'), data: wrapIPv4(te, { src: v4('10.0.2.2'), dst: ME4 }), rxNs: t.clock + 5000 }]);
    expect(out[1]).toBe('2 ttl-expired ip-4 10.0.2.2 round-trip-time 5');
    expect(t.closed).toEqual([1]);
  });
});

describe('Daemon: faults of its own', () => {
  it('a fault while handling a command answers that token and the daemon goes on', () => {
    const { t, out, d } = setup();
    Object.defineProperty(t, 'mode4', { get: () => { throw new Error('boom'); }, configurable: true });
    d.handleLine('7 check-support feature ip-4');
    d.handleLine('8 check-support feature icmp');
    expect(out).toEqual(['7 unexpected-error errno 0', '8 feature-support support ok']);
    expect(d.stats.internalErrors).toBe(1);
  });

  it('a fault while handling a packet is counted, and the rest of the batch is handled', () => {
    const { t, out, d } = setup();
    d.handleLine('1 send-probe ip-4 10.0.4.2 protocol tcp');
    d.handleLine('2 send-probe ip-4 10.0.4.2');
    // closing a TCP probe's socket fails: the probe is answered all the same
    t.closeTcp = () => {
      throw new Error('boom');
    };
    // and the first reply line cannot be written: that probe stays in flight (its deadline will
    // answer it), and the rest of the batch is handled
    const daemon = d as unknown as { reply: (r: unknown) => void };
    const reply = daemon.reply.bind(d);
    let failures = 1;
    daemon.reply = (r) => {
      if (failures-- > 0) throw new Error('boom');
      reply(r);
    };
    const echo = wrapIPv4(buildIcmpEchoReply({ v6: false, id: 0x1234, seq: 40001, payload: ECHO_DATA_64 }), { src: v4('10.0.4.2'), dst: ME4 });
    d.handlePackets([
      { source: 'raw', family: 4, from: v4('10.0.4.2'), data: echo, rxNs: t.clock + 2000 },
      { source: 'tcp', family: 4, from: v4('10.0.4.2'), data: new Uint8Array(0), rxNs: t.clock + 1000, tcpId: 1, tcpErrno: 0 },
    ]);
    expect(out).toEqual(['1 reply ip-4 10.0.4.2 round-trip-time 1']);
    expect(d.stats.internalErrors).toBe(2);
    d.expire(t.clock + 10e9);
    expect(out).toEqual(['1 reply ip-4 10.0.4.2 round-trip-time 1', '2 no-reply']);
  });
});

describe('Daemon: the two dialects', () => {
  const unreachable = (d: Daemon, t: FakeTransport) => {
    d.handleLine('3 send-probe ip-4 10.0.4.2');
    const msg = buildIcmpDestUnreachable({ v6: false, code: 0, routerSrc: v4('10.0.3.2'), dst: ME4, quoted: quote(t.sent[0]!) });
    d.handlePackets([{ source: 'raw', family: 4, from: v4('10.0.3.2'), data: wrapIPv4(msg, { src: v4('10.0.3.2'), dst: ME4 }), rxNs: t.clock + 5000 }]);
  };
  const sendError = (d: Daemon, t: FakeTransport, token: number, errno: number) => {
    t.failWith = { errno, code: 'E' };
    d.handleLine(`${token} send-probe ip-4 10.0.4.2`);
    t.failWith = undefined;
  };

  it('0.95 (the default): version 0.95, no-route for every unreachable', () => {
    const { t, out, d } = setup();
    d.handleLine('1 check-support feature version');
    d.handleLine('2 check-support feature no-route-host');
    unreachable(d, t);
    sendError(d, t, 4, 101);
    sendError(d, t, 5, 113);
    sendError(d, t, 6, 112);
    expect(out).toEqual([
      '1 feature-support support 0.95',
      '2 feature-support support no',
      '3 no-route ip-4 10.0.3.2 round-trip-time 5',
      '4 no-route',
      '5 no-route',
      '6 unexpected-error errno 112',
    ]);
  });

  it('0.96: version 0.96, no-route-host from a router, no-route-network / no-route-host / host-down for sends', () => {
    const { t, out, d } = setup({ dialect: '0.96' });
    d.handleLine('1 check-support feature version');
    unreachable(d, t);
    sendError(d, t, 4, 101);
    sendError(d, t, 5, 113);
    sendError(d, t, 6, 112);
    sendError(d, t, 7, 100);
    expect(out).toEqual([
      '1 feature-support support 0.96',
      '3 no-route-host ip-4 10.0.3.2 round-trip-time 5',
      '4 no-route-network',
      '5 no-route-host',
      '6 host-down',
      '7 network-down',
    ]);
  });
});
