// TCP flows' wire parts: the answer decoder for the raw TCP socket (decodeTcpSegment), from bytes
// written by hand, and the tag an ICMP flow echo carries after its compensation.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  ICMP_FLOW_MIN_LEN,
  buildIcmpEchoFlow,
  checksumValid,
  decodeTcpSegment,
  icmpv6Checksum,
  parseIPv6,
} from '../src/wire/index.js';

const hex = (s: string): Uint8Array => Uint8Array.from(s.replace(/\s+/g, '').match(/../g)!.map((b) => parseInt(b, 16)));

// 10.1.9.1:80 -> 10.1.1.1:50003, RST|ACK, seq 0, ack 0xa1a29c41 (a flow ISN + 1), IHL 5
const RST4 = hex(`
  45 00 00 28 00 00 40 00 3e 06 00 00 0a 01 09 01 0a 01 01 01
  00 50 c3 53 00 00 00 00 a1 a2 9c 41 50 14 00 00 00 00 00 00`);
// the same SYN-ACK with an IPv4 option (IHL 6) and TCP options
const SYNACK4_OPT = hex(`
  46 00 00 30 00 00 40 00 3e 06 00 00 0a 01 09 01 0a 01 01 01 01 01 01 00
  00 50 c3 53 12 34 56 78 a1 a2 9c 41 60 12 fa f0 00 00 00 00 02 04 05 b4`);
// IPv6: the raw socket hands over the TCP segment only
const SYNACK6 = hex(`00 50 c3 50 89 ab cd ef a1 a2 9c 42 50 12 ff ff 00 00 00 00`);

describe('decodeTcpSegment', () => {
  it('IPv4: ports, sequence, acknowledgment and flags past the IP header (IHL honoured)', () => {
    expect(decodeTcpSegment(RST4, 4)).toEqual({ kind: 'tcp-segment', srcPort: 80, dstPort: 50003, seq: 0, ack: 0xa1a29c41, flags: 0x14 });
    expect(decodeTcpSegment(SYNACK4_OPT, 4)).toEqual({
      kind: 'tcp-segment',
      srcPort: 80,
      dstPort: 50003,
      seq: 0x12345678,
      ack: 0xa1a29c41,
      flags: 0x12,
    });
  });

  it('IPv6: the segment from its first byte', () => {
    expect(decodeTcpSegment(SYNACK6, 6)).toEqual({ kind: 'tcp-segment', srcPort: 80, dstPort: 50000, seq: 0x89abcdef, ack: 0xa1a29c42, flags: 0x12 });
  });

  it('refuses what is not a TCP segment, and every truncation before the flags', () => {
    const udp = RST4.slice();
    udp[9] = 17;
    expect(decodeTcpSegment(udp, 4)).toEqual({ kind: 'ignored', reason: 'not-tcp' });
    const v6hdr = RST4.slice();
    v6hdr[0] = 0x65;
    expect(decodeTcpSegment(v6hdr, 4)).toEqual({ kind: 'ignored', reason: 'not-ipv4' });
    const shortIhl = RST4.slice();
    shortIhl[0] = 0x44;
    expect(decodeTcpSegment(shortIhl, 4)).toEqual({ kind: 'ignored', reason: 'bad-ip-header' });
    for (let n = 0; n < 20 + 14; n++) expect(decodeTcpSegment(RST4.subarray(0, n), 4).kind).toBe('ignored');
    expect(decodeTcpSegment(RST4.subarray(0, 34), 4).kind).toBe('tcp-segment');
    for (let n = 0; n < 14; n++) expect(decodeTcpSegment(SYNACK6.subarray(0, n), 6).kind).toBe('ignored');
    expect(decodeTcpSegment(SYNACK6.subarray(0, 14), 6).kind).toBe('tcp-segment');
  });

  it('never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.constantFrom(4 as const, 6 as const), (b, family) => {
        const r = decodeTcpSegment(b, family);
        expect(['tcp-segment', 'ignored']).toContain(r.kind);
      }),
    );
  });
});

describe('buildIcmpEchoFlow with a tag', () => {
  const TAG = Uint8Array.of(0xde, 0xad, 0xbe, 0xef);
  const SRC6 = parseIPv6('2001:db8::1')!;
  const DST6 = parseIPv6('2001:db8::2')!;

  it('the tag follows the two compensating bytes; the flow checksum holds (IPv4 and IPv6)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 0xfffe }), fc.integer({ min: 0, max: 0xffff }), (checksum, seq) => {
        const b4 = buildIcmpEchoFlow({ v6: false, id: 9, seq, size: 64, bitPattern: 0x55, checksum, tag: TAG });
        expect(Array.from(b4.subarray(ICMP_FLOW_MIN_LEN, ICMP_FLOW_MIN_LEN + 4))).toEqual(Array.from(TAG));
        expect(b4[ICMP_FLOW_MIN_LEN + 4]).toBe(0x55);
        expect(checksumValid(b4)).toBe(true);
        expect((b4[2]! << 8) | b4[3]!).toBe(checksum);
        const b6 = buildIcmpEchoFlow({ v6: true, id: 9, seq, size: 64, bitPattern: 0, checksum, src: SRC6, dst: DST6, tag: TAG });
        expect(icmpv6Checksum(b6, SRC6, DST6)).toBe(checksum);
      }),
    );
  });

  it('refuses a tag that does not fit', () => {
    expect(() => buildIcmpEchoFlow({ v6: false, id: 1, seq: 1, size: 20 + ICMP_FLOW_MIN_LEN + 3, bitPattern: 0, checksum: 5, tag: TAG })).toThrow(RangeError);
    expect(buildIcmpEchoFlow({ v6: false, id: 1, seq: 1, size: 20 + ICMP_FLOW_MIN_LEN + 4, bitPattern: 0, checksum: 5, tag: TAG })).toHaveLength(14);
  });
});
