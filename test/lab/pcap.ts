/**
 * Minimal pcap reader for the lab: ICMP/ICMPv6 echo traffic and the errors quoting it, with kernel timestamps.
 * Lets tests measure what happened on a wire independently of the program under test (its own timestamps
 * may be late when the machine is busy).
 */

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

function ip4(b: Uint8Array, o: number): string {
  return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
}

function ip6(b: Uint8Array, o: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[o + i]! << 8) | b[o + i + 1]!).toString(16));
  // Compress the longest run of zero groups (RFC 5952).
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

const u16 = (b: Uint8Array, o: number): number => (b[o]! << 8) | b[o + 1]!;

/** Decode an IP packet at `o` (length `len`) into ICMP echo facts, or undefined if it is something else. */
function decodeIp(b: Uint8Array, o: number, end: number, tsNs: number): IcmpPacket | undefined {
  if (o >= end) return undefined;
  const version = b[o]! >> 4;
  let family: 4 | 6;
  let src: string;
  let dst: string;
  let l4: number;
  if (version === 4) {
    const ihl = (b[o]! & 0x0f) * 4;
    if (b[o + 9] !== 1 || o + ihl + 8 > end) return undefined;
    family = 4;
    src = ip4(b, o + 12);
    dst = ip4(b, o + 16);
    l4 = o + ihl;
  } else if (version === 6) {
    if (b[o + 6] !== 58 || o + 48 > end) return undefined; // ICMPv6 directly, no extension headers
    family = 6;
    src = ip6(b, o + 8);
    dst = ip6(b, o + 24);
    l4 = o + 40;
  } else {
    return undefined;
  }
  const type = b[l4]!;
  const code = b[l4 + 1]!;
  const isReq = family === 4 ? type === 8 : type === 128;
  const isRep = family === 4 ? type === 0 : type === 129;
  if (isReq || isRep) {
    return { tsNs, family, src, dst, kind: isReq ? 'echo-request' : 'echo-reply', type, code, id: u16(b, l4 + 4), seq: u16(b, l4 + 6) };
  }
  const isErr = family === 4 ? type === 3 || type === 11 || type === 12 : type >= 1 && type <= 4;
  if (!isErr) return undefined;
  const inner = decodeIp(b, l4 + 8, end, tsNs);
  if (!inner || inner.kind !== 'echo-request') return undefined;
  return { tsNs, family, src, dst, kind: 'error', type, code, id: inner.id, seq: inner.seq };
}

/** Parse a pcap file (Ethernet link type, µs or ns precision, either byte order). Non-ICMP frames are skipped. */
export function parseIcmpPcap(buf: Uint8Array): IcmpPacket[] {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.byteLength < 24) return [];
  const magicLE = dv.getUint32(0, true);
  let le: boolean;
  let nano: boolean;
  if (magicLE === 0xa1b2c3d4 || magicLE === 0xa1b23c4d) {
    le = true;
    nano = magicLE === 0xa1b23c4d;
  } else {
    const magicBE = dv.getUint32(0, false);
    if (magicBE !== 0xa1b2c3d4 && magicBE !== 0xa1b23c4d) throw new Error('not a pcap file');
    le = false;
    nano = magicBE === 0xa1b23c4d;
  }
  const linkType = dv.getUint32(20, le);
  if (linkType !== 1) throw new Error(`pcap link type ${linkType} unsupported (want Ethernet)`);
  const out: IcmpPacket[] = [];
  let off = 24;
  let baseSec: number | undefined;
  while (off + 16 <= buf.byteLength) {
    const sec = dv.getUint32(off, le);
    const frac = dv.getUint32(off + 4, le);
    const capLen = dv.getUint32(off + 8, le);
    const frame = off + 16;
    const end = Math.min(frame + capLen, buf.byteLength);
    off = frame + capLen;
    baseSec ??= sec;
    const tsNs = (sec - baseSec) * 1e9 + (nano ? frac : frac * 1000);
    if (end - frame < 14) continue;
    const etherType = u16(buf, frame + 12);
    if (etherType !== 0x0800 && etherType !== 0x86dd) continue;
    const p = decodeIp(buf, frame + 14, end, tsNs);
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
