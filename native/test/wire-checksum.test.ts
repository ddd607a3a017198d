import { describe, expect, it } from 'vitest';

import {
  checksumValid,
  crc32c,
  finishChecksum,
  foldChecksum,
  internetChecksum,
  sctpChecksumValid,
  setSctpChecksum,
  sumBytes,
  sumPseudoHeaderV4,
  sumPseudoHeaderV6,
} from '../src/wire/index.js';

const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex'));

describe('RFC 1071 internet checksum', () => {
  it('RFC 1071 section 3 example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2', () => {
    const b = bytes('0001 f203 f4f5 f6f7');
    expect(foldChecksum(sumBytes(b, 0, b.length))).toBe(0xddf2);
    expect(internetChecksum(b)).toBe(0x220d);
  });

  it('a textbook IPv4 header checksums to b861 and then verifies', () => {
    const h = bytes('4500 0073 0000 4000 4011 0000 c0a8 0001 c0a8 00c7');
    expect(internetChecksum(h)).toBe(0xb861);
    h[10] = 0xb8;
    h[11] = 0x61;
    expect(checksumValid(h)).toBe(true);
    expect(internetChecksum(h)).toBe(0);
    h[19] = h[19]! ^ 1;
    expect(checksumValid(h)).toBe(false);
  });

  it('pads an odd trailing byte with zero', () => {
    expect(internetChecksum(bytes('ab'))).toBe(~0xab00 & 0xffff);
    expect(internetChecksum(bytes('0102 03'))).toBe(~0x0402 & 0xffff);
    expect(internetChecksum(new Uint8Array(0))).toBe(0xffff);
  });

  it('folds multiple carries (all-ones input)', () => {
    const b = new Uint8Array(4000).fill(0xff);
    expect(foldChecksum(sumBytes(b, 0, b.length))).toBe(0xffff);
    expect(internetChecksum(b)).toBe(0);
  });

  it('sums in pieces the same as at once (even splits)', () => {
    const b = Uint8Array.from({ length: 301 }, (_, i) => (i * 37 + 11) & 0xff);
    for (const split of [0, 2, 100, 300]) {
      expect(finishChecksum(sumBytes(b, split, b.length, sumBytes(b, 0, split)))).toBe(internetChecksum(b));
    }
  });

  it('IPv4 pseudo-header: a UDP datagram from a capture verifies', () => {
    // 10.0.0.1:40000 -> 10.0.0.2:33434, 12 bytes, payload 00 00 00 00
    const src = bytes('0a000001');
    const dst = bytes('0a000002');
    const udp = bytes('9c40 829a 000c 0000 0000 0000');
    // pseudo 0a00+0001+0a00+0002+0011+000c = 0x1420; + 9c40+829a+000c = 0x13306 -> 0x3307 -> ~ = ccf8
    expect(finishChecksum(sumBytes(udp, 0, udp.length, sumPseudoHeaderV4(src, dst, 17, udp.length)))).toBe(0xccf8);
  });

  it('IPv6 pseudo-header uses a 32-bit length and the next header', () => {
    const src = bytes('fe800000000000000000000000000001');
    const dst = bytes('fe800000000000000000000000000002');
    // fe80*2 + 1 + 2 + length (0x00010008 -> 0001 + 0008) + 003a
    const s = sumPseudoHeaderV6(src, dst, 58, 0x10008);
    expect(s).toBe(0xfe80 * 2 + 1 + 2 + 1 + 8 + 58);
  });
});

describe('CRC32c', () => {
  // RFC 3720 appendix B.4; the RFC lists the CRC bytes in wire (least significant first) order.
  it.each([
    ['32 bytes of zeroes', new Uint8Array(32), 0x8a9136aa, 'aa36918a'],
    ['32 bytes of ones', new Uint8Array(32).fill(0xff), 0x62a8ab43, '43aba862'],
    ['32 incrementing', Uint8Array.from({ length: 32 }, (_, i) => i), 0x46dd794e, '4e79dd46'],
    ['32 decrementing', Uint8Array.from({ length: 32 }, (_, i) => 31 - i), 0x113fdb5c, '5cdb3f11'],
    [
      'iSCSI SCSI Read (10) command PDU',
      bytes('01c00000 00000000 00000000 00000000 14000000 00000400 00000014 00000018 28000000 00000000 02000000 00000000'),
      0xd9963a56,
      '563a96d9',
    ],
  ])('%s', (_name, data, value, wire) => {
    expect(crc32c(data)).toBe(value);
    const le = new Uint8Array(4);
    new DataView(le.buffer).setUint32(0, crc32c(data), true);
    expect(Buffer.from(le).toString('hex')).toBe(wire);
  });

  it('check value of "123456789" is e3069283, and continues across pieces', () => {
    const b = new TextEncoder().encode('123456789');
    expect(crc32c(b)).toBe(0xe3069283);
    expect(crc32c(b, crc32c(b.subarray(0, 4)), 4)).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(0))).toBe(0);
  });

  it('stores the SCTP checksum least significant byte first and verifies it', () => {
    // common header 5000 -> 80, vtag 0, then an INIT chunk
    const p = bytes('1388 0050 00000000 00000000 01000014 11223344 0000ffff 000affff 11223344');
    const crc = setSctpChecksum(p);
    expect(p[8]).toBe(crc & 0xff);
    expect(p[11]).toBe(crc >>> 24);
    const zeroed = p.slice();
    zeroed.fill(0, 8, 12);
    expect(crc32c(zeroed)).toBe(crc);
    expect(sctpChecksumValid(p)).toBe(true);
    p[20] = p[20]! ^ 0x80;
    expect(sctpChecksumValid(p)).toBe(false);
  });
});
