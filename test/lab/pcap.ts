/**
 * The pcap reader of the tests and the lab: the global header, the records, and the IPv4 / IPv6 packets inside
 * Ethernet frames (linktype 1), decoded down to the probe fields mtr-packet sets (size, TTL, TOS / traffic
 * class, protocol, ICMP id/seq, UDP ports and checksum, payload); on top, the ICMP echo view with kernel
 * timestamps that wire-truth round trips are measured from (`parseIcmpPcap`, `pairRoundTrips`).
 * Lets tests measure what happened on a wire independently of the program under test (its own timestamps
 * may be late when the machine is busy): no import from packet/ or native/. No import at all: the benchmark
 * transpiles this file on its own (bench/lib/lab.js).
 */

export interface PcapRecord {
  /** Capture time: whole seconds since the epoch, and ns within that second (a µs file gives multiples of 1000). */
  sec: number;
  ns: number;
  /** Absolute capture time in ms since the epoch (float, µs/ns precision kept as far as a double can). */
  tsMs: number;
  /** Bytes captured (may be shorter than origLen with a snap length, or when `cut`). */
  data: Uint8Array;
  origLen: number;
  /** The file ends inside this record (a writer killed or still writing): `data` is the part the file holds. */
  cut: boolean;
}

export interface PcapFile {
  linkType: number;
  snapLen: number;
  records: PcapRecord[];
}

/** Parse a classic pcap file (either byte order, µs or ns timestamps); a record the file ends inside is the last, read short. */
export function readPcap(buf: Uint8Array): PcapFile {
  if (buf.byteLength < 24) throw new Error(`pcap too short (${buf.byteLength} bytes)`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let le: boolean;
  let nano: boolean;
  const m = dv.getUint32(0, true);
  if (m === 0xa1b2c3d4 || m === 0xa1b23c4d) {
    le = true;
    nano = m === 0xa1b23c4d;
  } else {
    const mb = dv.getUint32(0, false);
    if (mb !== 0xa1b2c3d4 && mb !== 0xa1b23c4d) throw new Error(`not a pcap file (magic ${m.toString(16)})`);
    le = false;
    nano = mb === 0xa1b23c4d;
  }
  const snapLen = dv.getUint32(16, le);
  const linkType = dv.getUint32(20, le);
  const records: PcapRecord[] = [];
  let off = 24;
  while (off + 16 <= buf.byteLength) {
    const sec = dv.getUint32(off, le);
    const frac = dv.getUint32(off + 4, le);
    const capLen = dv.getUint32(off + 8, le);
    const origLen = dv.getUint32(off + 12, le);
    const start = off + 16;
    const end = Math.min(start + capLen, buf.byteLength);
    records.push({
      sec,
      ns: nano ? frac : frac * 1000,
      tsMs: sec * 1000 + (nano ? frac / 1e6 : frac / 1e3),
      data: buf.subarray(start, end),
      origLen,
      cut: end < start + capLen,
    });
    off = start + capLen;
  }
  return { linkType, snapLen, records };
}

export interface IpPacket {
  tsMs: number;
  family: 4 | 6;
  /** The whole IP packet (from the IP header on). */
  bytes: Uint8Array;
  src: string;
  dst: string;
  /** IPv4 TTL / IPv6 hop limit. */
  ttl: number;
  /** IPv4 TOS byte / IPv6 traffic class. */
  tos: number;
  /** IPv4 protocol / IPv6 next header (no extension headers are followed). */
  protocol: number;
  /** IPv4 total length / IPv6 payload length + 40: the `size` mtr-packet speaks of. */
  size: number;
  /** IPv4 header length in bytes; 40 for IPv6. */
  headerLen: number;
  /** IPv4 only. */
  ipId?: number;
  dontFragment?: boolean;
  ipChecksumOk?: boolean;
  /** IPv6 only. */
  flowLabel?: number;
  /** Transport bytes (header + payload). */
  l4: Uint8Array;
}

const u16 = (b: Uint8Array, o: number): number => (b[o]! << 8) | b[o + 1]!;

export function ip4str(b: Uint8Array, o = 0): string {
  return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
}

/** RFC 5952 text of 16 bytes at o. */
export function ip6str(b: Uint8Array, o = 0): string {
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push(u16(b, o + i));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]): string => xs.map((x) => x.toString(16)).join(':');
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

/** One's-complement sum of bytes [start, end) added to acc (not folded). */
export function onesSum(b: Uint8Array, start: number, end: number, acc = 0): number {
  let s = acc;
  let i = start;
  for (; i + 1 < end; i += 2) s += u16(b, i);
  if (i < end) s += b[i]! << 8;
  return s;
}

export function fold(s: number): number {
  let x = s;
  while (x > 0xffff) x = (x & 0xffff) + Math.floor(x / 0x10000);
  return x;
}

/** The IP packet of an Ethernet frame (VLAN tags skipped), or undefined. */
export function decodeEthernet(rec: PcapRecord): IpPacket | undefined {
  const f = rec.data;
  if (f.length < 14) return undefined;
  let o = 12;
  let type = u16(f, o);
  while ((type === 0x8100 || type === 0x88a8) && o + 6 <= f.length) {
    o += 4;
    type = u16(f, o);
  }
  o += 2;
  if (type === 0x0800) return decodeIPv4(f.subarray(o), rec.tsMs);
  if (type === 0x86dd) return decodeIPv6(f.subarray(o), rec.tsMs);
  return undefined;
}

export function decodeIPv4(b: Uint8Array, tsMs = 0): IpPacket | undefined {
  if (b.length < 20 || b[0]! >> 4 !== 4) return undefined;
  const headerLen = (b[0]! & 0x0f) * 4;
  const size = u16(b, 2);
  if (headerLen < 20 || b.length < headerLen) return undefined;
  const end = Math.min(size, b.length);
  return {
    tsMs,
    family: 4,
    bytes: b.subarray(0, end),
    src: ip4str(b, 12),
    dst: ip4str(b, 16),
    ttl: b[8]!,
    tos: b[1]!,
    protocol: b[9]!,
    size,
    headerLen,
    ipId: u16(b, 4),
    dontFragment: (b[6]! & 0x40) !== 0,
    ipChecksumOk: fold(onesSum(b, 0, headerLen)) === 0xffff,
    l4: b.subarray(headerLen, end),
  };
}

export function decodeIPv6(b: Uint8Array, tsMs = 0): IpPacket | undefined {
  if (b.length < 40 || b[0]! >> 4 !== 6) return undefined;
  const first = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
  const payloadLen = u16(b, 4);
  const end = Math.min(40 + payloadLen, b.length);
  return {
    tsMs,
    family: 6,
    bytes: b.subarray(0, end),
    src: ip6str(b, 8),
    dst: ip6str(b, 24),
    ttl: b[7]!,
    tos: (first >>> 20) & 0xff,
    protocol: b[6]!,
    size: 40 + payloadLen,
    headerLen: 40,
    flowLabel: first & 0xfffff,
    l4: b.subarray(40, end),
  };
}

/** The records of a pcap file with an Ethernet link type. */
function ethernetRecords(buf: Uint8Array): PcapRecord[] {
  const f = readPcap(buf);
  if (f.linkType !== 1) throw new Error(`pcap link type ${f.linkType} unsupported (want Ethernet)`);
  return f.records;
}

/** The IP packet of an IPv4 or IPv6 header at the start of `b` (by its version), or undefined. */
function decodeIP(b: Uint8Array, tsMs = 0): IpPacket | undefined {
  if (b.length === 0) return undefined;
  if (b[0]! >> 4 === 4) return decodeIPv4(b, tsMs);
  return decodeIPv6(b, tsMs);
}

/** IP packets of a pcap file with an Ethernet link type; other frames, and a record cut short, are skipped. */
export function ipPackets(buf: Uint8Array): IpPacket[] {
  const out: IpPacket[] = [];
  for (const r of ethernetRecords(buf)) {
    if (r.cut) break;
    const p = decodeEthernet(r);
    if (p) out.push(p);
  }
  return out;
}

/** Transport checksum (UDP, TCP, ICMPv6) over the pseudo-header: true when it verifies. */
export function l4ChecksumOk(p: IpPacket): boolean {
  const b = p.bytes;
  const len = p.l4.length;
  let s: number;
  if (p.family === 4) {
    s = onesSum(b, 12, 20) + p.protocol + len;
  } else {
    s = onesSum(b, 8, 40) + p.protocol + len;
  }
  s = onesSum(p.l4, 0, len, s);
  return fold(s) === 0xffff;
}

/** ICMPv4 checksum (no pseudo-header). */
export function icmp4ChecksumOk(p: IpPacket): boolean {
  return fold(onesSum(p.l4, 0, p.l4.length)) === 0xffff;
}

export const l4u16 = (p: IpPacket, o: number): number => u16(p.l4, o);

export type IcmpKind = 'echo-request' | 'echo-reply' | 'error';

export interface IcmpPacket {
  /** Capture timestamp in ns, counted from the start of the second of the file's first record. */
  tsNs: number;
  family: 4 | 6;
  src: string;
  dst: string;
  kind: IcmpKind;
  /** ICMP type/code of the packet itself. */
  type: number;
  code: number;
  /** Echo identifier / sequence: of the packet itself, or for errors of the echo request it quotes. */
  id: number;
  seq: number;
}

/** The ICMP echo facts of an IP packet (ICMPv6 directly, no extension headers), or undefined if it is something else. */
function icmpOf(p: IpPacket, tsNs: number): IcmpPacket | undefined {
  const { family, src, dst, l4 } = p;
  if (p.protocol !== (family === 4 ? 1 : 58) || l4.length < 8) return undefined;
  const type = l4[0]!;
  const code = l4[1]!;
  const isReq = family === 4 ? type === 8 : type === 128;
  const isRep = family === 4 ? type === 0 : type === 129;
  if (isReq || isRep) return { tsNs, family, src, dst, kind: isReq ? 'echo-request' : 'echo-reply', type, code, id: u16(l4, 4), seq: u16(l4, 6) };
  const isErr = family === 4 ? type === 3 || type === 11 || type === 12 : type >= 1 && type <= 4;
  if (!isErr) return undefined;
  const quoted = decodeIP(l4.subarray(8));
  const inner = quoted && icmpOf(quoted, tsNs);
  if (!inner || inner.kind !== 'echo-request') return undefined;
  return { tsNs, family, src, dst, kind: 'error', type, code, id: inner.id, seq: inner.seq };
}

/**
 * The ICMP / ICMPv6 echo traffic of a pcap file (Ethernet link type) and the errors quoting it; other frames
 * are skipped. A file too short for its header reads as no packets; a record cut short is read as far as it goes.
 */
export function parseIcmpPcap(buf: Uint8Array): IcmpPacket[] {
  if (buf.byteLength < 24) return [];
  const records = ethernetRecords(buf);
  const out: IcmpPacket[] = [];
  const baseSec = records[0]?.sec ?? 0;
  for (const r of records) {
    const ip = decodeEthernet(r);
    const p = ip && icmpOf(ip, (r.sec - baseSec) * 1e9 + r.ns);
    if (p) out.push(p);
  }
  return out;
}

/**
 * Pair every echo request with the first answer (echo reply or error) that names it, by family, id and
 * sequence. Returns the round trip on the capture clock, in ms.
 */
export function pairRoundTrips(packets: readonly IcmpPacket[]): Array<{ request: IcmpPacket; answer: IcmpPacket; rttMs: number }> {
  const pending = new Map<string, IcmpPacket>();
  const out: Array<{ request: IcmpPacket; answer: IcmpPacket; rttMs: number }> = [];
  for (const p of packets) {
    const key = `${p.family}/${p.id}/${p.seq}`;
    if (p.kind === 'echo-request') {
      pending.set(key, p);
    } else {
      const request = pending.get(key);
      if (!request) continue;
      pending.delete(key);
      out.push({ request, answer: p, rttMs: (p.tsNs - request.tsNs) / 1e6 });
    }
  }
  return out;
}
