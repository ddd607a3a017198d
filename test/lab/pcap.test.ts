/** The pcap reader on files built here: the IP view (ipPackets) and the ICMP echo view (parseIcmpPcap). */
import { describe, expect, it } from 'vitest';
import { ipPackets, pairRoundTrips, parseIcmpPcap, readPcap } from './pcap.js';

const A = [10, 0, 1, 1];
const B = [10, 0, 4, 2];
const R = [10, 0, 2, 2];
const A6 = [0xfd, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1];
const B6 = [0xfd, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 2];

const ethernet = (type: number, payload: Uint8Array): Uint8Array => new Uint8Array([...new Array<number>(12).fill(0), type >> 8, type & 0xff, ...payload]);
const icmp = (type: number, id: number, seq: number, rest: readonly number[] = []): number[] => [type, 0, 0, 0, id >> 8, id & 0xff, seq >> 8, seq & 0xff, ...rest];

function ipv4(protocol: number, src: number[], dst: number[], l4: readonly number[]): Uint8Array {
  const size = 20 + l4.length;
  return new Uint8Array([0x45, 0, size >> 8, size & 0xff, 0, 0, 0x40, 0, 64, protocol, 0, 0, ...src, ...dst, ...l4]);
}

function ipv6(src: number[], dst: number[], l4: readonly number[]): Uint8Array {
  return new Uint8Array([0x60, 0, 0, 0, l4.length >> 8, l4.length & 0xff, 58, 64, ...src, ...dst, ...l4]);
}

/** A pcap file: [seconds, fraction (µs or ns), frame] per record. */
function pcap(nano: boolean, littleEndian: boolean, records: Array<[number, number, Uint8Array]>): Uint8Array {
  const size = 24 + records.reduce((n, [, , f]) => n + 16 + f.length, 0);
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, nano ? 0xa1b23c4d : 0xa1b2c3d4, littleEndian);
  dv.setUint16(4, 2, littleEndian);
  dv.setUint16(6, 4, littleEndian);
  dv.setUint32(16, 262_144, littleEndian);
  dv.setUint32(20, 1, littleEndian);
  let off = 24;
  for (const [sec, frac, frame] of records) {
    dv.setUint32(off, sec, littleEndian);
    dv.setUint32(off + 4, frac, littleEndian);
    dv.setUint32(off + 8, frame.length, littleEndian);
    dv.setUint32(off + 12, frame.length, littleEndian);
    out.set(frame, off + 16);
    off += 16 + frame.length;
  }
  return out;
}

const request4 = ipv4(1, A, B, icmp(8, 0x1234, 7, [1, 2, 3, 4]));
const frames = {
  request4: ethernet(0x0800, request4),
  expired4: ethernet(0x0800, ipv4(1, R, A, [11, 0, 0, 0, 0, 0, 0, 0, ...request4.subarray(0, 28)])),
  arp: ethernet(0x0806, new Uint8Array(28)),
  request6: ethernet(0x86dd, ipv6(A6, B6, icmp(128, 0x4321, 9))),
  reply6: ethernet(0x86dd, ipv6(B6, A6, icmp(129, 0x4321, 9, [1, 2, 3, 4, 5, 6, 7, 8]))),
  udp4: ethernet(0x0800, ipv4(17, A, B, [0x82, 0x9a, 0x82, 0x9b, 0, 8, 0, 0])),
};

describe('pcap reader', () => {
  for (const nano of [false, true]) {
    for (const littleEndian of [true, false]) {
      it(`${nano ? 'ns' : 'µs'} timestamps, ${littleEndian ? 'little' : 'big'}-endian: IP packets and ICMP echoes with their errors`, () => {
        const f = (us: number): number => (nano ? us * 1000 + 1 : us);
        const file = pcap(nano, littleEndian, [
          [1_000, f(999_000), frames.request4],
          [1_001, f(12_500), frames.expired4],
          [1_001, f(20_000), frames.arp],
          [1_001, f(30_000), frames.request6],
          [1_001, f(30_250), frames.reply6],
          [1_001, f(40_000), frames.udp4],
        ]);
        const ip = ipPackets(file);
        expect(ip.map((p) => [p.family, p.src, p.dst, p.protocol])).toEqual([
          [4, '10.0.1.1', '10.0.4.2', 1],
          [4, '10.0.2.2', '10.0.1.1', 1],
          [6, 'fd00:0:0:1::1', 'fd00:0:0:4::2', 58],
          [6, 'fd00:0:0:4::2', 'fd00:0:0:1::1', 58],
          [4, '10.0.1.1', '10.0.4.2', 17],
        ]);
        expect(ip[0]!.tsMs).toBeCloseTo(1_000_999, 5);
        expect(ip[0]!.dontFragment).toBe(true);

        const icmpPackets = parseIcmpPcap(file);
        expect(icmpPackets.map((p) => [p.kind, p.family, p.type, p.id, p.seq])).toEqual([
          ['echo-request', 4, 8, 0x1234, 7],
          ['error', 4, 11, 0x1234, 7],
          ['echo-request', 6, 128, 0x4321, 9],
          ['echo-reply', 6, 129, 0x4321, 9],
        ]);
        // counted from the start of the first record's second, exact to the ns
        expect(icmpPackets[0]!.tsNs).toBe(nano ? 999_000_001 : 999_000_000);
        expect(pairRoundTrips(icmpPackets).map((r) => [r.request.family, r.answer.kind, r.rttMs])).toEqual([
          [4, 'error', 13.5],
          [6, 'echo-reply', 0.25],
        ]);
      });
    }
  }

  it('a file the writer left inside a record: the IP view stops before it, the ICMP view reads it short', () => {
    const whole = pcap(false, true, [
      [5, 0, frames.request6],
      [5, 100, frames.reply6],
    ]);
    const cut = whole.subarray(0, whole.length - 4); // the reply's last 4 payload bytes are missing
    const records = readPcap(cut).records;
    expect(records.map((r) => [r.cut, r.data.length])).toEqual([
      [false, frames.request6.length],
      [true, frames.reply6.length - 4],
    ]);
    expect(ipPackets(cut)).toHaveLength(1);
    expect(parseIcmpPcap(cut).map((p) => p.kind)).toEqual(['echo-request', 'echo-reply']);
    expect(parseIcmpPcap(whole.subarray(0, 20))).toEqual([]);
    expect(() => ipPackets(whole.subarray(0, 20))).toThrow(/too short/);
  });
});
