// Flow probes (ECMP, Paris traceroute style): the fields routers hash stay fixed, the sequence moves.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  ICMP_FLOW_MIN_LEN,
  buildIcmpEchoFlow,
  checksumValid,
  icmpv6Checksum,
  parseIPv6,
} from '../src/wire/index.js';

const SRC6 = parseIPv6('2001:db8::1')!;
const DST6 = parseIPv6('2001:db8::2')!;
const u16 = (b: Uint8Array, at: number): number => (b[at]! << 8) | b[at + 1]!;

describe('buildIcmpEchoFlow', () => {
  it('IPv4: every sequence carries the flow checksum, and the message checksums correctly', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: 1, max: 0xfffe }),
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: 30, max: 1500 }),
        fc.integer({ min: 0, max: 255 }),
        (id, checksum, seq, size, bitPattern) => {
          const b = buildIcmpEchoFlow({ v6: false, id, seq, size, bitPattern, checksum });
          expect(b[0]).toBe(8);
          expect(u16(b, 2)).toBe(checksum);
          expect(u16(b, 4)).toBe(id);
          expect(u16(b, 6)).toBe(seq);
          expect(b.length).toBe(size - 20);
          expect(checksumValid(b)).toBe(true);
          // only the two compensating bytes differ from the fill
          expect(b.subarray(10).every((x) => x === bitPattern)).toBe(true);
        },
      ),
    );
  });

  it('IPv6: the checksum the kernel computes over the pseudo-header is the flow checksum', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 0xfffe }), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 50, max: 1500 }), (checksum, seq, size) => {
        const b = buildIcmpEchoFlow({ v6: true, id: 0x1234, seq, size, bitPattern: 0, checksum, src: SRC6, dst: DST6 });
        expect(b[0]).toBe(128);
        expect(icmpv6Checksum(b, SRC6, DST6)).toBe(checksum);
        expect(u16(b, 2)).toBe(checksum);
      }),
    );
  });

  it('two sequences of one flow differ only in the sequence and the compensation', () => {
    const a = buildIcmpEchoFlow({ v6: false, id: 7, seq: 100, size: 64, bitPattern: 0, checksum: 0x4242 });
    const b = buildIcmpEchoFlow({ v6: false, id: 7, seq: 40000, size: 64, bitPattern: 0, checksum: 0x4242 });
    const diff = [...a.keys()].filter((i) => a[i] !== b[i]);
    expect(diff.every((i) => i === 6 || i === 7 || i === 8 || i === 9)).toBe(true);
    expect(diff.length).toBeGreaterThan(0);
  });

  it('refuses what it cannot build', () => {
    expect(() => buildIcmpEchoFlow({ v6: false, id: 1, seq: 1, size: 20 + ICMP_FLOW_MIN_LEN - 1, bitPattern: 0, checksum: 5 })).toThrow(RangeError);
    expect(() => buildIcmpEchoFlow({ v6: false, id: 1, seq: 1, size: 64, bitPattern: 0, checksum: 0 })).toThrow(RangeError);
    expect(() => buildIcmpEchoFlow({ v6: false, id: 1, seq: 1, size: 64, bitPattern: 0, checksum: 0xffff })).toThrow(RangeError);
    expect(() => buildIcmpEchoFlow({ v6: true, id: 1, seq: 1, size: 64, bitPattern: 0, checksum: 5 })).toThrow(RangeError);
  });
});
