import { describe, expect, it } from 'vitest';

import {
  buildIcmpEcho,
  buildIPv4Packet,
  buildIPv6Packet,
  buildSctpInit,
  buildTcpSyn,
  buildUdp,
  checksumValid,
  icmpv6Checksum,
  internetChecksum,
  parseIPv4,
  parseIPv6,
  sctpChecksumValid,
  setIcmpv6Checksum,
  sumPseudoHeaderV4,
  sumPseudoHeaderV6,
  transportLengthFor,
} from '../src/wire/index.js';

const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const a4 = (t: string): Uint8Array => parseIPv4(t)!;
const a6 = (t: string): Uint8Array => parseIPv6(t)!;

const SRC4 = a4('10.0.0.1');
const DST4 = a4('10.0.0.2');
const SRC6 = a6('2001:db8::1');
const DST6 = a6('2001:db8::2');

describe('buildIPv4Packet', () => {
  it('writes a 20-byte header with total length, TTL, protocol and checksum', () => {
    const p = buildIPv4Packet({ src: SRC4, dst: DST4, ttl: 3, tos: 0, id: 0x1c46, protocol: 1, payload: bytes('0800f7ff00000000') });
    expect(hex(p)).toBe('4500001c1c4600000301' + '8799' + '0a000001' + '0a000002' + '0800f7ff00000000');
    expect(checksumValid(p, 0, 20)).toBe(true);
  });

  it('puts tos and a big total length in network order', () => {
    const p = buildIPv4Packet({ src: SRC4, dst: DST4, ttl: 255, tos: 0xb8, protocol: 17, payload: new Uint8Array(1480) });
    expect(hex(p.subarray(0, 12))).toBe('45b805dc00000000ff11' + hex(p.subarray(10, 12)));
    expect(p.length).toBe(1500);
    expect(internetChecksum(p, 0, 20)).toBe(0);
  });

  it('rejects wrong-sized addresses', () => {
    expect(() => buildIPv4Packet({ src: SRC6, dst: DST4, ttl: 1, protocol: 1, payload: new Uint8Array(8) })).toThrow(RangeError);
  });
});

describe('buildIPv6Packet', () => {
  it('writes version, traffic class, flow label, payload length, next header, hop limit', () => {
    const p = buildIPv6Packet({ src: SRC6, dst: DST6, hopLimit: 7, trafficClass: 0xb8, flowLabel: 0x12345, nextHeader: 58, payload: bytes('80000000') });
    expect(hex(p)).toBe('6b812345' + '0004' + '3a' + '07' + hex(SRC6) + hex(DST6) + '80000000');
  });
});

describe('buildIcmpEcho', () => {
  it('IPv4: size counts the 20-byte IP header; payload is the bit pattern; checksum set', () => {
    const m = buildIcmpEcho({ v6: false, id: 0x1234, seq: 1, size: 36, bitPattern: 0xab });
    expect(hex(m)).toBe('0800' + '371c' + '1234' + '0001' + 'ab'.repeat(8));
    expect(internetChecksum(m)).toBe(0);
  });

  it('IPv4: sizes at or below the headers give the bare 8-byte header', () => {
    for (const size of [0, -5, 1, 27, 28, Number.NaN]) {
      const m = buildIcmpEcho({ v6: false, id: 0xffff, seq: 0xfffe, size, bitPattern: 0xff });
      expect(hex(m)).toBe('0800' + hex(m.subarray(2, 4)) + 'fffffffe');
      expect(internetChecksum(m)).toBe(0);
    }
    expect(buildIcmpEcho({ v6: false, id: 1, seq: 1, size: 29, bitPattern: 0 }).length).toBe(9);
  });

  it('IPv4: clamps to a 65535-byte IP packet', () => {
    expect(buildIcmpEcho({ v6: false, id: 1, seq: 1, size: 100000, bitPattern: 0 }).length).toBe(65515);
  });

  it('IPv6: size counts the 40-byte header, checksum left 0 for the kernel', () => {
    const m = buildIcmpEcho({ v6: true, id: 0x1234, seq: 1, size: 52, bitPattern: 0xab });
    expect(hex(m)).toBe('8000' + '0000' + '1234' + '0001' + 'abababab');
    expect(icmpv6Checksum(m, SRC6, DST6)).toBe(0xbab7);
    setIcmpv6Checksum(m, SRC6, DST6);
    expect(hex(m.subarray(0, 4))).toBe('8000bab7');
    // and it now verifies over the pseudo-header
    expect(checksumValid(m, 0, m.length, sumPseudoHeaderV6(SRC6, DST6, 58, m.length))).toBe(true);
    expect(buildIcmpEcho({ v6: true, id: 1, seq: 1, size: 30, bitPattern: 0 }).length).toBe(8);
    expect(buildIcmpEcho({ v6: true, id: 1, seq: 1, size: 100000, bitPattern: 0 }).length).toBe(65535);
  });

  it('honours an explicit ipHeaderLen', () => {
    expect(buildIcmpEcho({ v6: false, id: 1, seq: 1, size: 64, bitPattern: 0, ipHeaderLen: 0 }).length).toBe(64);
  });
});

describe('buildUdp', () => {
  it('IPv4 with addresses: pseudo-header checksum', () => {
    const u = buildUdp({ v6: false, srcPort: 40000, dstPort: 33434, payloadLen: 4, bitPattern: 0, src: SRC4, dst: DST4 });
    expect(hex(u)).toBe('9c40' + '829a' + '000c' + 'ccf8' + '00000000');
  });

  it('without addresses the checksum is 0', () => {
    const u = buildUdp({ v6: false, srcPort: 1, dstPort: 2, payloadLen: 3, bitPattern: 0x41 });
    expect(hex(u)).toBe('00010002000b0000414141');
  });

  it('IPv6 checksum over the IPv6 pseudo-header', () => {
    const u = buildUdp({ v6: true, srcPort: 40000, dstPort: 33434, payloadLen: 4, bitPattern: 0x55, src: SRC6, dst: DST6 });
    expect(hex(u)).toBe('9c40829a000c' + 'dadb' + '55555555');
  });

  it("mtr's sequence-in-checksum form: the field holds the value and the datagram still verifies", () => {
    const u = buildUdp({ v6: false, srcPort: 40000, dstPort: 33434, payloadLen: 4, bitPattern: 0, src: SRC4, dst: DST4, checksumValue: 0x8001 });
    expect(hex(u)).toBe('9c40829a000c' + '8001' + '4cf7' + '0000');
    expect(checksumValid(u, 0, u.length, sumPseudoHeaderV4(SRC4, DST4, 17, u.length))).toBe(true);
    const u6 = buildUdp({ v6: true, srcPort: 5, dstPort: 6, payloadLen: 9, bitPattern: 0xee, src: SRC6, dst: DST6, checksumValue: 0xfffe });
    expect(hex(u6.subarray(6, 8))).toBe('fffe');
    expect(checksumValid(u6, 0, u6.length, sumPseudoHeaderV6(SRC6, DST6, 17, u6.length))).toBe(true);
    expect(() => buildUdp({ v6: false, srcPort: 1, dstPort: 2, payloadLen: 1, bitPattern: 0, src: SRC4, dst: DST4, checksumValue: 7 })).toThrow(RangeError);
    expect(() => buildUdp({ v6: false, srcPort: 1, dstPort: 2, payloadLen: 4, bitPattern: 0, checksumValue: 7 })).toThrow(RangeError);
  });

  it('a computed checksum of 0 is sent as ffff', () => {
    // pseudo-header 0a00+0001+0a00+0002+0011+0008 = 0x141c; + srcPort + dstPort 2 + length 8:
    // srcPort ebd9 makes the sum exactly ffff, whose complement 0 must be sent as ffff
    const u = buildUdp({ v6: false, srcPort: 0xebd9, dstPort: 2, payloadLen: 0, bitPattern: 0, src: SRC4, dst: DST4 });
    expect(hex(u)).toBe('ebd9' + '0002' + '0008' + 'ffff');
    expect(checksumValid(u, 0, u.length, sumPseudoHeaderV4(SRC4, DST4, 17, u.length))).toBe(true);
  });

  it('clamps the payload length', () => {
    expect(buildUdp({ v6: false, srcPort: 1, dstPort: 2, payloadLen: -3, bitPattern: 0 }).length).toBe(8);
    expect(buildUdp({ v6: false, srcPort: 1, dstPort: 2, payloadLen: 70000, bitPattern: 0 }).length).toBe(65535);
  });
});

describe('buildTcpSyn', () => {
  it('IPv4 plain SYN: data offset 5, SYN only, window ffff, checksum', () => {
    const t = buildTcpSyn({ v6: false, srcPort: 33000, dstPort: 80, seq: 0x01020304, src: SRC4, dst: DST4, size: 40 });
    expect(hex(t)).toBe('80e80050' + '01020304' + '00000000' + '5002ffff' + '16a2' + '0000');
    expect(buildTcpSyn({ v6: false, srcPort: 33000, dstPort: 80, seq: 0x01020304, src: SRC4, dst: DST4, size: 0 }).length).toBe(20);
  });

  it('IPv6 SYN with an MSS option', () => {
    const t = buildTcpSyn({ v6: true, srcPort: 33000, dstPort: 80, seq: 0x01020304, src: SRC6, dst: DST6, size: 64, mss: 1460 });
    expect(hex(t)).toBe('80e80050' + '01020304' + '00000000' + '6002ffff' + 'b773' + '0000' + '020405b4');
  });

  it('fills size with bit-pattern payload and stays valid', () => {
    const t = buildTcpSyn({ v6: false, srcPort: 1, dstPort: 443, seq: 0xfffffffe, src: SRC4, dst: DST4, size: 64, bitPattern: 0x5a });
    expect(t.length).toBe(44);
    expect(hex(t.subarray(4, 8))).toBe('fffffffe');
    expect(hex(t.subarray(20))).toBe('5a'.repeat(24));
    expect(checksumValid(t, 0, t.length, sumPseudoHeaderV4(SRC4, DST4, 6, t.length))).toBe(true);
  });
});

describe('buildSctpInit', () => {
  it('minimal INIT: vtag 0, chunk length 20, CRC32c little-endian on the wire', () => {
    const s = buildSctpInit({ v6: false, srcPort: 33000, dstPort: 80, initiateTag: 0x11223344, size: 0 });
    expect(hex(s)).toBe('80e80050' + '00000000' + 'a03a3e6d' + '01000014' + '11223344' + '0000ffff' + '000affff' + '11223344');
    expect(sctpChecksumValid(s)).toBe(true);
  });

  it('pads to size with a Padding parameter (multiple of 4)', () => {
    const s = buildSctpInit({ v6: false, srcPort: 33000, dstPort: 80, initiateTag: 0x11223344, size: 60, bitPattern: 0xcd });
    expect(hex(s)).toBe('80e80050' + '00000000' + '819364e1' + '0100001c' + '11223344' + '0000ffff' + '000affff' + '11223344' + '80050008' + 'cdcdcdcd');
    // 3 spare bytes are not enough for a parameter; 6 give a 4-byte one
    expect(buildSctpInit({ v6: false, srcPort: 1, dstPort: 2, initiateTag: 1, size: 55 }).length).toBe(32);
    expect(buildSctpInit({ v6: true, srcPort: 1, dstPort: 2, initiateTag: 1, size: 78 }).length).toBe(36);
    expect(() => buildSctpInit({ v6: false, srcPort: 1, dstPort: 2, initiateTag: 0, size: 0 })).toThrow(RangeError);
  });
});

describe('transportLengthFor', () => {
  it('clamps between the header and the IP maximum', () => {
    expect(transportLengthFor(64, 20, 8, false)).toBe(44);
    expect(transportLengthFor(10, 20, 8, false)).toBe(8);
    expect(transportLengthFor(70000, 20, 8, false)).toBe(65515);
    expect(transportLengthFor(70000, 40, 8, true)).toBe(65535);
    expect(transportLengthFor(64.9, 20, 8, false)).toBe(44);
  });
});
