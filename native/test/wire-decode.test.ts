import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  buildIcmpDestUnreachable,
  buildIcmpEcho,
  buildIcmpEchoReply,
  buildIcmpError,
  buildIcmpTimeExceeded,
  buildIPv4Packet,
  buildIPv6Packet,
  buildMplsExtension,
  buildSctpInit,
  buildTcpSyn,
  buildUdp,
  checksumValid,
  decodeExtension,
  decodeIcmpv4Message,
  decodeIcmpv6Message,
  decodeIPv4Packet,
  formatIPv4,
  formatIPv6,
  internetChecksum,
  parseIPv4,
  parseIPv6,
  sumPseudoHeaderV6,
  wrapIPv4,
  type DecodedPacket,
  type IcmpError,
} from '../src/wire/index.js';

const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const a4 = (t: string): Uint8Array => parseIPv4(t)!;
const a6 = (t: string): Uint8Array => parseIPv6(t)!;

/** The error fields in plain, comparable form (addresses as text). */
function plain(d: DecodedPacket): unknown {
  if (d.kind === 'ignored') return d;
  const fmt = (b: Uint8Array): string => (b.length === 4 ? formatIPv4(b) : formatIPv6(b));
  if (d.kind === 'echo-reply') return { ...d, from: fmt(d.from) };
  // the quoted tail (bytes past the first 8 of the transport header) is checked on its own
  const { tail: _tail, ...quoted } = d.quoted;
  return { ...d, from: fmt(d.from), quoted: { ...quoted, src: fmt(d.quoted.src), dst: fmt(d.quoted.dst) } };
}

function asError(d: DecodedPacket): IcmpError {
  if (d.kind === 'ignored' || d.kind === 'echo-reply') throw new Error(`expected an ICMP error, got ${JSON.stringify(d)}`);
  return d;
}

/**
 * Every truncation of each fixture decodes without throwing: either as the whole does (but for MPLS labels,
 * which appear only when the whole extension is there), or as ignored, and then it is shorter than `decodes`.
 */
function expectTruncationsDecode(fixtures: readonly string[], decode: (b: Uint8Array) => DecodedPacket, decodes: number): void {
  for (const fx of fixtures) {
    const full = bytes(fx);
    const complete = decode(full);
    for (let n = 0; n <= full.length; n++) {
      const d = decode(full.subarray(0, n));
      expect(typeof d.kind).toBe('string');
      if (d.kind !== 'ignored') {
        expect(plain({ ...d, mpls: undefined } as DecodedPacket)).toEqual(plain({ ...complete, mpls: undefined } as DecodedPacket));
        if (d.kind !== 'echo-reply' && d.mpls !== undefined) expect(n).toBe(full.length);
      } else {
        expect(n).toBeLessThan(decodes);
      }
    }
  }
}

// ---- hand-written fixtures -----------------------------------------------------------------

// Linux router 10.0.2.1 -> prober 10.0.0.1: Time Exceeded (11/0) quoting our 36-byte ICMP echo
// (id 0x1234, seq 7) to 10.0.3.1 with TTL 1 left.
const QUOTED_ECHO_V4 =
  '45000024 abcd 0000 01 01 f70a 0a000001 0a000301' + // quoted IPv4 header, id abcd, ttl 1
  '0800 e5c4 1234 0007 0000000000000000'; // echo request + 8 bytes of payload
const TE_ECHO_V4 =
  '45c00040 0000 0000 40 01 63fc 0a000201 0a000001' + // outer: tos c0, 64 bytes, ttl 64, ICMP
  '0b00 f4ff 00000000' + // time exceeded, ttl exceeded in transit, checksum
  QUOTED_ECHO_V4;

// Same router quoting a UDP probe 40000 -> 33434 whose checksum field carries mtr's sequence 0x8001.
const TE_UDP_V4 =
  '45c00040 0000 0000 40 01 63fc 0a000201 0a000001' +
  '0b00 f8a7 00000000' +
  '45000024 0101 0000 01 11 a1c7 0a000001 0a000301' +
  '9c40 829a 0010 8001 5d6b000000000000';

// An old router quoting only the RFC 792 minimum: the IP header and 8 bytes of a TCP SYN.
const TE_TCP_V4 =
  '45c00038 0000 0000 40 01 6404 0a000201 0a000001' +
  '0b00 6fc1 00000000' +
  '4500003c 2222 0000 01 06 8099 0a000001 0a000301' +
  '80e8 0050 01020304'; // src port 33000, dst 80, sequence 0x01020304

// Router 2001:db8:2::1 -> 2001:db8::1: ICMPv6 Time Exceeded quoting an echo request to 2001:db8:3::1.
const QUOTED_ECHO_V6 =
  '60000000 0010 3a 01 20010db8000000000000000000000001 20010db8000300000000000000000001' +
  '8000 1202 1234 0008 0000000000000000';
const TE_ECHO_V6 = '0300 0748 00000000' + QUOTED_ECHO_V6;
const ROUTER_V6 = a6('2001:db8:2::1');

// RFC 4884 extension with an RFC 4950 MPLS Label Stack object holding two entries:
// label 16001 tc 0 S 0 ttl 1, then label 24005 tc 5 S 1 ttl 1.
const MPLS_EXT = '2000 6a2c' + '000c 01 01' + '03e81001' + '05dc5b01';
const TWO_LABELS = [
  { label: 16001, tc: 0, bottomOfStack: 0, ttl: 1 },
  { label: 24005, tc: 5, bottomOfStack: 1, ttl: 1 },
];
const PAD_TO_128_V4 = '00'.repeat(128 - 36);
// RFC 4884 compliant: length attribute 32 words (128 bytes) in byte 5.
const TE_MPLS_V4 =
  '45c000ac 0000 0000 40 01 6390 0a000201 0a000001' +
  '0b00 f4df 00 20 0000' +
  QUOTED_ECHO_V4 +
  PAD_TO_128_V4 +
  MPLS_EXT;
// Pre-RFC 4884 router: same layout, length attribute 0.
const TE_MPLS_LEGACY_V4 =
  '45c000ac 0000 0000 40 01 6390 0a000201 0a000001' + '0b00 f4ff 00 00 0000' + QUOTED_ECHO_V4 + PAD_TO_128_V4 + MPLS_EXT;
// ICMPv6: length attribute 16 (x 8 bytes) in byte 4.
const TE_MPLS_V6 = '0300 f6ef 10 000000' + QUOTED_ECHO_V6 + '00'.repeat(128 - 56) + MPLS_EXT;

const ECHO_QUOTE_V4 = {
  protocol: 'icmp',
  src: '10.0.0.1',
  dst: '10.0.3.1',
  ttl: 1,
  ipId: 0xabcd,
  icmpId: 0x1234,
  icmpSeq: 7,
  icmpChecksum: 0xe5c4,
  srcPort: undefined,
  dstPort: undefined,
  udpLength: undefined,
  udpChecksum: undefined,
  tcpSeq: undefined,
  sctpVtag: undefined,
};
const ECHO_QUOTE_V6 = { ...ECHO_QUOTE_V4, src: '2001:db8::1', dst: '2001:db8:3::1', ipId: undefined, icmpSeq: 8, icmpChecksum: 0x1202 };

describe('fixtures are internally consistent (checksums as a router computes them)', () => {
  it.each([TE_ECHO_V4, TE_UDP_V4, TE_TCP_V4, TE_MPLS_V4, TE_MPLS_LEGACY_V4])('IPv4 header and ICMP checksums verify', (h) => {
    const b = bytes(h);
    expect(checksumValid(b, 0, 20)).toBe(true);
    expect(checksumValid(b, 20, b.length)).toBe(true);
    expect((b[2]! << 8) | b[3]!).toBe(b.length);
  });
  it.each([TE_ECHO_V6, TE_MPLS_V6])('ICMPv6 checksum verifies', (h) => {
    const b = bytes(h);
    expect(checksumValid(b, 0, b.length, sumPseudoHeaderV6(ROUTER_V6, a6('2001:db8::1'), 58, b.length))).toBe(true);
  });
  it('the extension checksum verifies', () => {
    expect(internetChecksum(bytes(MPLS_EXT))).toBe(0);
  });
});

describe('decodeIPv4Packet', () => {
  it.each([
    ['Time Exceeded quoting an ICMP echo', TE_ECHO_V4, undefined],
    ['RFC 4884 compliant message with two MPLS labels', TE_MPLS_V4, TWO_LABELS],
  ])('%s', (_name, h, mpls) => {
    expect(plain(decodeIPv4Packet(bytes(h)))).toEqual({
      kind: 'time-exceeded',
      family: 4,
      from: '10.0.2.1',
      type: 11,
      code: 0,
      replyTtl: 64,
      quoted: ECHO_QUOTE_V4,
      mpls,
      mtu: undefined,
    });
  });

  it('the quoted transport bytes past the first 8 are the tail, as far as quoted', () => {
    const full = bytes(TE_ECHO_V4);
    const d = asError(decodeIPv4Packet(full));
    // outer IPv4 20 + ICMP 8 + quoted IPv4 20 + echo header 8: the rest is the echo's data
    expect(Array.from(d.quoted.tail!)).toEqual(Array.from(full.subarray(56)));
    expect(asError(decodeIPv4Packet(full.subarray(0, 56))).quoted.tail!.length).toBe(0);
  });

  it('Time Exceeded quoting UDP exposes ports, length and the checksum field', () => {
    const d = asError(decodeIPv4Packet(bytes(TE_UDP_V4)));
    expect(plain(d)).toMatchObject({ kind: 'time-exceeded', from: '10.0.2.1' });
    const { tail, ...quoted } = d.quoted;
    expect(tail!.length).toBe(8); // the 16-byte datagram quoted whole
    expect({ ...quoted, src: formatIPv4(d.quoted.src), dst: formatIPv4(d.quoted.dst) }).toEqual({
      ...ECHO_QUOTE_V4,
      protocol: 'udp',
      ipId: 0x0101,
      icmpId: undefined,
      icmpSeq: undefined,
      icmpChecksum: undefined,
      srcPort: 40000,
      dstPort: 33434,
      udpLength: 16,
      udpChecksum: 0x8001,
    });
  });

  it('Time Exceeded quoting only 8 bytes of a TCP SYN', () => {
    const d = asError(decodeIPv4Packet(bytes(TE_TCP_V4)));
    expect(d.quoted).toMatchObject({ protocol: 'tcp', srcPort: 33000, dstPort: 80, tcpSeq: 0x01020304, ttl: 1, ipId: 0x2222 });
    expect(d.quoted.icmpId).toBeUndefined();
  });

  it('pre-RFC 4884 (length 0) message: extension found at 128 bytes', () => {
    expect(asError(decodeIPv4Packet(bytes(TE_MPLS_LEGACY_V4))).mpls).toEqual(TWO_LABELS);
  });

  it('Destination Unreachable, port unreachable, from the destination itself', () => {
    const icmp = bytes('0303 0000 00000000' + '45000024 0101 0000 01 11 a1c7 0a000001 0a000301' + '9c40 829a 0010 8001 5d6b000000000000');
    icmp.set([0, 0], 2);
    const c = internetChecksum(icmp);
    icmp.set([c >> 8, c & 0xff], 2);
    const pkt = buildIPv4Packet({ src: a4('10.0.3.1'), dst: a4('10.0.0.1'), ttl: 62, protocol: 1, payload: icmp });
    const d = asError(decodeIPv4Packet(pkt));
    expect(d.kind).toBe('dest-unreachable');
    expect(d.code).toBe(3);
    expect(formatIPv4(d.from)).toBe('10.0.3.1');
    expect(d.quoted).toMatchObject({ protocol: 'udp', srcPort: 40000, dstPort: 33434, udpChecksum: 0x8001 });
  });

  it('fragmentation needed reports the next-hop MTU', () => {
    const icmp = buildIcmpError({ v6: false, type: 3, code: 4, routerSrc: a4('10.0.2.1'), dst: a4('10.0.0.1'), quoted: bytes(QUOTED_ECHO_V4), rest: 1400 });
    const d = asError(decodeIcmpv4Message(icmp, a4('10.0.2.1')));
    expect(d).toMatchObject({ kind: 'dest-unreachable', type: 3, code: 4, mtu: 1400 });
  });

  it('Echo Reply, with IP options in the outer header (IHL 6)', () => {
    const pkt = bytes('46000020 0000 0000 40 01 0000 0a000301 0a000001' + '01010100' + '0000 edca 1234 0007');
    expect(plain(decodeIPv4Packet(pkt))).toEqual({ kind: 'echo-reply', family: 4, from: '10.0.3.1', id: 0x1234, seq: 7, replyTtl: 64 });
  });

  it('quoted IPv4 header with options (IHL 7)', () => {
    const quoted = bytes('47000030 abcd 0000 01 01 0000 0a000001 0a000301' + '07070400 00000000' + '0800 0000 1234 0009');
    const pkt = wrapIPv4(buildIcmpTimeExceeded({ v6: false, routerSrc: a4('10.0.2.1'), dst: a4('10.0.0.1'), quoted }), {
      src: a4('10.0.2.1'),
      dst: a4('10.0.0.1'),
    });
    expect(asError(decodeIPv4Packet(pkt)).quoted).toMatchObject({ protocol: 'icmp', icmpId: 0x1234, icmpSeq: 9 });
  });

  it('trims bytes beyond the IPv4 total length', () => {
    const b = bytes(TE_ECHO_V4 + 'ffffffff');
    expect(plain(decodeIPv4Packet(b))).toEqual(plain(decodeIPv4Packet(bytes(TE_ECHO_V4))));
    // the extension runs to the end of the datagram: junk after it would break its checksum
    expect(asError(decodeIPv4Packet(bytes(TE_MPLS_V4 + '00000001'))).mpls).toEqual(TWO_LABELS);
  });

  it.each([
    ['too short for an IP header', '45000014 0000', 'truncated'],
    ['not IPv4', '60000000000000000000000000000000000000000000', 'not-ipv4'],
    ['IHL below 5', '44000020 0000 0000 40 01 0000 0a000301 0a000001 0000edca12340007', 'bad-ip-header'],
    ['IHL beyond the data', '4f000020 0000 0000 40 01 0000 0a000301 0a000001 0000edca12340007', 'truncated'],
    ['not ICMP', '45000020 0000 0000 40 11 0000 0a000301 0a000001 0000edca12340007', 'not-icmp'],
    ['ICMP shorter than 8 bytes', '4500001f 0000 0000 40 01 0000 0a000301 0a000001 0000edca123400', 'truncated'],
    ['an echo request (seen on loopback)', '45000020 0000 0000 40 01 0000 0a000301 0a000001 0800edca12340007', 'icmp-type'],
    ['a redirect', '45000020 0000 0000 40 01 0000 0a000301 0a000001 0500edca12340007', 'icmp-type'],
  ])('ignores %s', (_name, h, reason) => {
    expect(decodeIPv4Packet(bytes(h))).toEqual({ kind: 'ignored', reason });
  });

  it.each([
    ['a quoted echo reply (not ours)', QUOTED_ECHO_V4.replace('0800 e5c4', '0000 e5c4'), 'quoted-not-echo'],
    ['a quoted GRE packet', QUOTED_ECHO_V4.replace('01 01 f70a', '01 2f f70a'), 'quoted-protocol'],
    ['a quoted non-first fragment', QUOTED_ECHO_V4.replace('abcd 0000', 'abcd 0010'), 'quoted-fragment'],
    ['a quoted IPv6 header in ICMPv4', QUOTED_ECHO_V4.replace('45000024', '65000024'), 'quoted-not-ip'],
    ['a quoted IHL of 4', QUOTED_ECHO_V4.replace('45000024', '44000024'), 'quoted-bad-header'],
    ['a quoted header with 7 transport bytes', QUOTED_ECHO_V4.replace(/ /g, '').slice(0, 2 * 27), 'quoted-truncated'],
  ])('ignores %s', (_name, quoted, reason) => {
    const icmp = bytes('0b00 0000 00000000' + quoted);
    expect(decodeIcmpv4Message(icmp, a4('10.0.2.1'))).toEqual({ kind: 'ignored', reason });
  });

  it('never throws on any truncation of the fixtures, and never reports wrong quoted values', () => {
    // a capture cut short: the total length still claims the full size; 20 + 8 + 20 + 8 transport bytes decode
    expectTruncationsDecode([TE_ECHO_V4, TE_UDP_V4, TE_TCP_V4, TE_MPLS_V4, TE_MPLS_LEGACY_V4], decodeIPv4Packet, 56);
  });
});

describe('decodeIcmpv6Message', () => {
  it.each([
    ['Time Exceeded quoting an ICMPv6 echo', TE_ECHO_V6, undefined],
    ['RFC 4884 compliant ICMPv6 message with two MPLS labels', TE_MPLS_V6, TWO_LABELS],
  ])('%s', (_name, h, mpls) => {
    expect(plain(decodeIcmpv6Message(bytes(h), ROUTER_V6))).toEqual({
      kind: 'time-exceeded',
      family: 6,
      from: '2001:db8:2::1',
      type: 3,
      code: 0,
      quoted: ECHO_QUOTE_V6,
      mpls,
      mtu: undefined,
    });
  });

  it('Echo Reply', () => {
    expect(plain(decodeIcmpv6Message(bytes('8100 0000 1234 0008 abababab'), a6('2001:db8:3::1')))).toEqual({
      kind: 'echo-reply',
      family: 6,
      from: '2001:db8:3::1',
      id: 0x1234,
      seq: 8,
    });
  });

  it('Destination Unreachable code 4 (port unreachable) quoting UDP', () => {
    const probe = buildUdp({ v6: true, srcPort: 40001, dstPort: 33435, payloadLen: 4, bitPattern: 0, src: a6('2001:db8::1'), dst: a6('2001:db8:3::1') });
    const quoted = buildIPv6Packet({ src: a6('2001:db8::1'), dst: a6('2001:db8:3::1'), hopLimit: 1, nextHeader: 17, payload: probe });
    const msg = buildIcmpDestUnreachable({ v6: true, code: 4, routerSrc: a6('2001:db8:3::1'), dst: a6('2001:db8::1'), quoted });
    const d = asError(decodeIcmpv6Message(msg, a6('2001:db8:3::1')));
    expect(d).toMatchObject({ kind: 'dest-unreachable', family: 6, code: 4 });
    expect(d.quoted).toMatchObject({ protocol: 'udp', srcPort: 40001, dstPort: 33435, udpLength: 12, ttl: 1, ipId: undefined });
  });

  it('Packet Too Big carries the MTU; Parameter Problem decodes', () => {
    const quoted = bytes(QUOTED_ECHO_V6);
    const ptb = buildIcmpError({ v6: true, type: 2, code: 0, routerSrc: ROUTER_V6, dst: a6('2001:db8::1'), quoted, rest: 1280 });
    expect(asError(decodeIcmpv6Message(ptb, ROUTER_V6))).toMatchObject({ kind: 'packet-too-big', type: 2, code: 0, mtu: 1280 });
    const pp = buildIcmpError({ v6: true, type: 4, code: 1, routerSrc: ROUTER_V6, dst: a6('2001:db8::1'), quoted, rest: 40 });
    expect(asError(decodeIcmpv6Message(pp, ROUTER_V6))).toMatchObject({ kind: 'parameter-problem', code: 1, mtu: undefined });
  });

  it('skips quoted extension headers: hop-by-hop then a first fragment', () => {
    const tcp = buildTcpSyn({ v6: true, srcPort: 33001, dstPort: 443, seq: 0xdeadbeef, src: a6('2001:db8::1'), dst: a6('2001:db8:3::1'), size: 0 });
    const ext = bytes('2c00 0104 00000000' + '0600 0001 12345678'); // HBH (next: fragment) + fragment (next: TCP, offset 0, M)
    const payload = new Uint8Array(ext.length + tcp.length);
    payload.set(ext);
    payload.set(tcp, ext.length);
    const quoted = buildIPv6Packet({ src: a6('2001:db8::1'), dst: a6('2001:db8:3::1'), hopLimit: 1, nextHeader: 0, payload });
    const msg = buildIcmpTimeExceeded({ v6: true, routerSrc: ROUTER_V6, dst: a6('2001:db8::1'), quoted });
    expect(asError(decodeIcmpv6Message(msg, ROUTER_V6)).quoted).toMatchObject({ protocol: 'tcp', srcPort: 33001, dstPort: 443, tcpSeq: 0xdeadbeef });
    // a non-first fragment has no transport header to match
    const later = quoted.slice();
    later[40 + 8 + 3] = 0x08; // fragment offset 1
    const msg2 = buildIcmpTimeExceeded({ v6: true, routerSrc: ROUTER_V6, dst: a6('2001:db8::1'), quoted: later });
    expect(decodeIcmpv6Message(msg2, ROUTER_V6)).toEqual({ kind: 'ignored', reason: 'quoted-fragment' });
  });

  it('SCTP quoted: ports and the verification tag', () => {
    const sctp = buildSctpInit({ v6: true, srcPort: 33002, dstPort: 80, initiateTag: 0x01020304, size: 0 });
    const quoted = buildIPv6Packet({ src: a6('2001:db8::1'), dst: a6('2001:db8:3::1'), hopLimit: 2, nextHeader: 132, payload: sctp });
    const d = asError(decodeIcmpv6Message(buildIcmpTimeExceeded({ v6: true, routerSrc: ROUTER_V6, dst: a6('2001:db8::1'), quoted }), ROUTER_V6));
    expect(d.quoted).toMatchObject({ protocol: 'sctp', srcPort: 33002, dstPort: 80, sctpVtag: 0, ttl: 2 });
  });

  it.each([
    ['an empty message', '', 'truncated'],
    ['a 7-byte message', '03000000000000', 'truncated'],
    ['a neighbour solicitation', '8700 0000 00000000 fe800000000000000000000000000001', 'icmp-type'],
    ['an echo request', '8000 0000 1234 0001', 'icmp-type'],
    ['a quoted IPv4 header', '0300 0000 00000000' + QUOTED_ECHO_V4 + '00'.repeat(20), 'quoted-not-ip'],
    ['a quoted header cut at 39 bytes', '0300 0000 00000000' + QUOTED_ECHO_V6.replace(/ /g, '').slice(0, 78), 'quoted-truncated'],
    ['an ICMPv4 echo quoted in ICMPv6', '0300 0000 00000000' + QUOTED_ECHO_V6.replace('0010 3a 01', '0010 01 01'), 'quoted-protocol'],
  ])('ignores %s', (_name, h, reason) => {
    expect(decodeIcmpv6Message(bytes(h), ROUTER_V6)).toEqual({ kind: 'ignored', reason });
  });

  it('rejects a sender address of the wrong size', () => {
    expect(decodeIcmpv6Message(bytes(TE_ECHO_V6), a4('10.0.0.1'))).toEqual({ kind: 'ignored', reason: 'bad-address' });
    expect(decodeIcmpv4Message(bytes('0000000012340001'), ROUTER_V6)).toEqual({ kind: 'ignored', reason: 'bad-address' });
  });

  it('never throws on any truncation, and never reports wrong quoted values', () => {
    // 8 + 40 + 8 transport bytes decode
    expectTruncationsDecode([TE_ECHO_V6, TE_MPLS_V6], (b) => decodeIcmpv6Message(b, ROUTER_V6), 56);
  });
});

describe('RFC 4884 / RFC 4950 extension edge cases', () => {
  const quoted = bytes(QUOTED_ECHO_V4);
  const router = a4('10.0.2.1');
  const me = a4('10.0.0.1');
  const te = (o: Partial<Parameters<typeof buildIcmpTimeExceeded>[0]> = {}): Uint8Array =>
    buildIcmpTimeExceeded({ v6: false, routerSrc: router, dst: me, quoted, mplsLabels: TWO_LABELS, ...o });
  const mplsOf = (icmp: Uint8Array): unknown => asError(decodeIcmpv4Message(icmp, router)).mpls;

  it('the fixture builder reproduces the hand-written RFC 4884 and legacy messages byte for byte', () => {
    expect(hex(wrapIPv4(te(), { src: router, dst: me }))).toBe(TE_MPLS_V4.replace(/ /g, ''));
    expect(hex(wrapIPv4(te({ layout: 'legacy' }), { src: router, dst: me }))).toBe(TE_MPLS_LEGACY_V4.replace(/ /g, ''));
    expect(hex(buildIcmpTimeExceeded({ v6: true, routerSrc: ROUTER_V6, dst: a6('2001:db8::1'), quoted: bytes(QUOTED_ECHO_V6), mplsLabels: TWO_LABELS }))).toBe(
      TE_MPLS_V6.replace(/ /g, ''),
    );
    expect(hex(buildMplsExtension(TWO_LABELS))).toBe(MPLS_EXT.replace(/ /g, ''));
  });

  it('a zero extension checksum is accepted; a wrong one drops the labels but not the message', () => {
    expect(mplsOf(te({ extensionChecksum: 'zero' }))).toEqual(TWO_LABELS);
    const wrong = decodeIcmpv4Message(te({ extensionChecksum: 'wrong' }), router);
    expect(asError(wrong).mpls).toBeUndefined();
    expect(asError(wrong).quoted).toMatchObject({ icmpId: 0x1234, icmpSeq: 7 });
    expect(mplsOf(te({ layout: 'legacy', extensionChecksum: 'wrong' }))).toBeUndefined();
  });

  it('a longer original datagram (length attribute 40 words) puts the extension at 160', () => {
    const long = new Uint8Array(150);
    long.set(quoted);
    const icmp = te({ quoted: long });
    expect(icmp[5]).toBe(38); // 150 rounded up to 152 = 38 words
    expect(mplsOf(icmp)).toEqual(TWO_LABELS);
    // mtr-packet 0.95 would look at 128 here and find nothing; a legacy reading must not find labels either
    const fake = icmp.slice();
    fake[5] = 0;
    fake[2] = 0;
    fake[3] = 0;
    expect(mplsOf(fake)).toBeUndefined();
  });

  it('length attribute edge cases', () => {
    // nonzero but below 128 bytes: not RFC 4884, extension ignored, message kept
    expect(mplsOf(te({ lengthAttribute: 8 }))).toBeUndefined();
    expect(asError(decodeIcmpv4Message(te({ lengthAttribute: 8 }), router)).quoted.icmpSeq).toBe(7);
    // pointing past the end of the message
    expect(mplsOf(te({ lengthAttribute: 255 }))).toBeUndefined();
    // pointing into the middle of the extension
    expect(mplsOf(te({ lengthAttribute: 33 }))).toBeUndefined();
    // exactly 128 + 4: an extension header with no objects
    const bare = new Uint8Array(8 + 128 + 4);
    bare.set([11, 0, 0, 0, 0, 32], 0);
    bare.set(quoted, 8);
    bare.set([0x20, 0, 0xdf, 0xff], 136);
    expect(asError(decodeIcmpv4Message(bare, router)).mpls).toBeUndefined();
    // legacy: exactly 128 bytes of original datagram and nothing more
    const plain128 = new Uint8Array(8 + 128);
    plain128.set([11, 0, 0, 0, 0, 0], 0);
    plain128.set(quoted, 8);
    expect(asError(decodeIcmpv4Message(plain128, router)).mpls).toBeUndefined();
    // legacy: probe payload that happens to sit at offset 128 is not an extension
    const noisy = new Uint8Array(8 + 200).fill(0x20);
    noisy.set([11, 0, 0, 0, 0, 0], 0);
    noisy.set(quoted, 8);
    expect(asError(decodeIcmpv4Message(noisy, router)).mpls).toBeUndefined();
  });

  it('malformed objects: version, lengths, c-type', () => {
    const ext = (h: string): Uint8Array => {
      const b = bytes(h);
      const c = internetChecksum(b);
      b[2] = c >> 8;
      b[3] = c & 0xff;
      return b;
    };
    const dec = (b: Uint8Array): unknown => decodeExtension(b, 0, b.length);
    expect(dec(ext('2000 0000 000c 0101 03e81001 05dc5b01'))).toEqual(TWO_LABELS);
    expect(dec(ext('1000 0000 000c 0101 03e81001 05dc5b01'))).toBeUndefined(); // version 1
    expect(dec(ext('2000 0000 0010 0101 03e81001 05dc5b01'))).toBeUndefined(); // object overruns
    expect(dec(ext('2000 0000 0003 0101 03e81001 05dc5b01'))).toBeUndefined(); // object shorter than its header
    expect(dec(ext('2000 0000 0000 0101'))).toBeUndefined(); // zero length must not loop
    expect(dec(ext('2000 0000 000a 0101 03e81001 05dc'))).toBeUndefined(); // not a whole entry
    expect(dec(ext('2000 0000 0004 0101'))).toBeUndefined(); // no entries
    expect(dec(ext('2000 0000 000c 0102 03e81001 05dc5b01'))).toBeUndefined(); // unknown c-type, nothing else
    // an interface information object (RFC 5837, class 2) first, then the labels
    expect(dec(ext('2000 0000 0008 02 0a 00000007 000c 0101 00010040 00002101'))).toEqual([
      { label: 16, tc: 0, bottomOfStack: 0, ttl: 64 },
      { label: 2, tc: 0, bottomOfStack: 1, ttl: 1 },
    ]);
    // label field extremes: 20 bits of ones, tc 7
    expect(dec(ext('2000 0000 0008 0101 ffffffff'))).toEqual([{ label: 0xfffff, tc: 7, bottomOfStack: 1, ttl: 255 }]);
    expect(decodeExtension(new Uint8Array(3), 0, 3)).toBeUndefined();
    expect(decodeExtension(new Uint8Array(8), 4, 20)).toBeUndefined();
  });

  it('Destination Unreachable also carries RFC 4884 extensions; other types keep working without', () => {
    const du = buildIcmpDestUnreachable({ v6: false, code: 1, routerSrc: router, dst: me, quoted, mplsLabels: TWO_LABELS });
    expect(asError(decodeIcmpv4Message(du, router))).toMatchObject({ kind: 'dest-unreachable', code: 1, mpls: TWO_LABELS });
    const du6 = buildIcmpDestUnreachable({ v6: true, code: 0, routerSrc: ROUTER_V6, dst: a6('2001:db8::1'), quoted: bytes(QUOTED_ECHO_V6), mplsLabels: TWO_LABELS });
    expect(du6[4]).toBe(16);
    expect(asError(decodeIcmpv6Message(du6, ROUTER_V6))).toMatchObject({ kind: 'dest-unreachable', code: 0, mpls: TWO_LABELS });
  });
});

describe('round trips through the builders', () => {
  it('probe -> router quote -> decode, for every protocol and family', () => {
    const me4 = a4('192.0.2.10');
    const far4 = a4('198.51.100.7');
    const me6 = a6('2001:db8:1::10');
    const far6 = a6('2001:db8:ff::7');
    const cases = [
      { v6: false, proto: 1, t: buildIcmpEcho({ v6: false, id: 0xbeef, seq: 513, size: 64, bitPattern: 0 }), want: { protocol: 'icmp', icmpId: 0xbeef, icmpSeq: 513 } },
      { v6: true, proto: 58, t: buildIcmpEcho({ v6: true, id: 0xbeef, seq: 514, size: 64, bitPattern: 0 }), want: { protocol: 'icmp', icmpId: 0xbeef, icmpSeq: 514 } },
      { v6: false, proto: 17, t: buildUdp({ v6: false, srcPort: 515, dstPort: 33434, payloadLen: 36, bitPattern: 0, src: me4, dst: far4 }), want: { protocol: 'udp', srcPort: 515, dstPort: 33434, udpLength: 44 } },
      { v6: true, proto: 6, t: buildTcpSyn({ v6: true, srcPort: 516, dstPort: 80, seq: 99, src: me6, dst: far6, size: 0 }), want: { protocol: 'tcp', srcPort: 516, tcpSeq: 99 } },
      { v6: false, proto: 132, t: buildSctpInit({ v6: false, srcPort: 517, dstPort: 80, initiateTag: 5, size: 0 }), want: { protocol: 'sctp', srcPort: 517, sctpVtag: 0 } },
    ];
    for (const c of cases) {
      for (const labels of [undefined, TWO_LABELS]) {
        for (const layout of ['rfc4884', 'legacy'] as const) {
          const quoted = c.v6
            ? buildIPv6Packet({ src: me6, dst: far6, hopLimit: 1, nextHeader: c.proto, payload: c.t })
            : buildIPv4Packet({ src: me4, dst: far4, ttl: 1, id: 77, protocol: c.proto, payload: c.t });
          const opts = { routerSrc: c.v6 ? a6('2001:db8:9::1') : a4('203.0.113.1'), dst: c.v6 ? me6 : me4, quoted, mplsLabels: labels, layout };
          const d = c.v6
            ? decodeIcmpv6Message(buildIcmpTimeExceeded({ v6: true, ...opts }), opts.routerSrc)
            : decodeIPv4Packet(wrapIPv4(buildIcmpTimeExceeded({ v6: false, ...opts }), { src: opts.routerSrc, dst: me4 }));
          const e = asError(d);
          expect(e.quoted).toMatchObject({ ...c.want, ttl: 1 });
          expect(e.mpls).toEqual(labels);
          expect(hex(e.quoted.src)).toBe(hex(c.v6 ? me6 : me4));
          expect(hex(e.quoted.dst)).toBe(hex(c.v6 ? far6 : far4));
        }
      }
    }
  });

  it('echo replies built and decoded', () => {
    const r4 = wrapIPv4(buildIcmpEchoReply({ v6: false, id: 7, seq: 65535, payload: new Uint8Array(20) }), { src: a4('198.51.100.7'), dst: a4('192.0.2.10') });
    expect(plain(decodeIPv4Packet(r4))).toEqual({ kind: 'echo-reply', family: 4, from: '198.51.100.7', id: 7, seq: 65535, replyTtl: 64 });
    const r6 = buildIcmpEchoReply({ v6: true, id: 8, seq: 0, src: a6('2001:db8:ff::7'), dst: a6('2001:db8:1::10') });
    expect(checksumValid(r6, 0, r6.length, sumPseudoHeaderV6(a6('2001:db8:ff::7'), a6('2001:db8:1::10'), 58, r6.length))).toBe(true);
    expect(plain(decodeIcmpv6Message(r6, a6('2001:db8:ff::7')))).toEqual({ kind: 'echo-reply', family: 6, from: '2001:db8:ff::7', id: 8, seq: 0 });
  });
});

describe('robustness', () => {
  it('never throws on arbitrary bytes, or on mutated real messages', () => {
    const seeds = [TE_ECHO_V4, TE_UDP_V4, TE_TCP_V4, TE_MPLS_V4, TE_MPLS_LEGACY_V4].map(bytes);
    const seeds6 = [TE_ECHO_V6, TE_MPLS_V6].map(bytes);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        expect(typeof decodeIPv4Packet(b).kind).toBe('string');
        expect(typeof decodeIcmpv6Message(b, ROUTER_V6).kind).toBe('string');
        expect(typeof decodeIcmpv4Message(b, a4('1.2.3.4')).kind).toBe('string');
      }),
      { seed: 42, numRuns: 3000 },
    );
    fc.assert(
      fc.property(fc.nat(), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), fc.nat(), (which, edits, cut) => {
        const all = [...seeds, ...seeds6];
        const base = all[which % all.length]!.slice();
        for (const [at, v] of edits) base[at % base.length] = v;
        const b = base.subarray(0, base.length - (cut % 8));
        if (which % all.length < seeds.length) expect(typeof decodeIPv4Packet(b).kind).toBe('string');
        else expect(typeof decodeIcmpv6Message(b, ROUTER_V6).kind).toBe('string');
      }),
      { seed: 7, numRuns: 5000 },
    );
  });
});
