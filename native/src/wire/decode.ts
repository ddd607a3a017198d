// Decoders for what the receive sockets deliver. Pure, never throwing: anything malformed,
// truncated or not ours to care about comes back as { kind: 'ignored', reason }.
//
//   decodeIPv4Packet(bytes)          raw IPPROTO_ICMP socket: IPv4 header + ICMP message
//   decodeIcmpv4Message(bytes, from) ICMP without the IP header (SOCK_DGRAM ICMP sockets)
//   decodeIcmpv6Message(bytes, from) raw IPPROTO_ICMPV6 socket: the ICMPv6 message only
//   decodeTcpSegment(bytes, family)  raw IPPROTO_TCP socket: IPv4 header + TCP, or (IPv6) TCP only
//
// Zero-copy: `from`, `quoted.src` and `quoted.dst` are subarray views into the input (or the
// `from` you passed). If the receive buffer is reused, copy them (slice()) before it is.
//
// Differences from mtr-packet 0.95 (deconstruct_unix.c), all deliberate:
//   - the outer IPv4 header length is taken from IHL (mtr assumes 20 bytes) and the quoted
//     IPv4 header's IHL is honoured too (options in the quoted header);
//   - RFC 4884: a nonzero length attribute locates the extension structure (mtr always looks
//     at offset 128); a length attribute of zero falls back to the 128-byte convention of
//     non-compliant MPLS routers (RFC 4884 section 5), like mtr;
//   - a nonzero extension checksum is verified (mtr does not); on mismatch the extension is
//     ignored (mpls undefined) but the message is still decoded;
//   - quoted IPv6 extension headers (hop-by-hop, routing, fragment, destination options, AH)
//     are skipped; quoted non-first fragments are ignored;
//   - a quoted ICMP message must be an Echo Request;
//   - all MPLS labels of the first MPLS object are returned (mtr keeps at most 8).
// The ICMP checksum itself is not verified (neither does mtr nor the kernel for raw sockets).

import type { MplsLabel } from '@mtr-ts/protocol';

import { checksumValid } from './checksum.js';

export type IpFamily = 4 | 6;
export type QuotedProtocol = 'icmp' | 'udp' | 'tcp' | 'sctp';

/**
 * The original datagram quoted in an ICMP error: enough of our probe to find it again.
 * Every field is always present on the object (undefined where it does not apply), so all
 * instances share one shape. Only the first 8 transport bytes are relied upon.
 */
export interface QuotedProbe {
  protocol: QuotedProtocol;
  /** quoted source address (4 or 16 bytes, a view into the input) */
  src: Uint8Array;
  /** quoted destination address (4 or 16 bytes, a view into the input) */
  dst: Uint8Array;
  /** quoted TTL / hop limit, as the reporting router saw it */
  ttl?: number | undefined;
  /** quoted IPv4 identification (undefined for IPv6) */
  ipId?: number | undefined;
  icmpId?: number | undefined;
  icmpSeq?: number | undefined;
  /** quoted ICMP echo checksum: a flow probe (Paris style) keeps it fixed per flow */
  icmpChecksum?: number | undefined;
  srcPort?: number | undefined;
  dstPort?: number | undefined;
  udpLength?: number | undefined;
  /** quoted UDP checksum: mtr-packet may keep the probe sequence there */
  udpChecksum?: number | undefined;
  tcpSeq?: number | undefined;
  sctpVtag?: number | undefined;
  /** the quoted transport bytes after the first 8, as far as the router quoted them (a view; may be empty) */
  tail?: Uint8Array | undefined;
}

export interface EchoReply {
  kind: 'echo-reply';
  family: IpFamily;
  /** the replying host */
  from: Uint8Array;
  id: number;
  seq: number;
  /** the IP TTL the message arrived with: only when the input had the IPv4 header (decodeIPv4Packet) */
  replyTtl?: number | undefined;
}

export type IcmpErrorKind = 'time-exceeded' | 'dest-unreachable' | 'packet-too-big' | 'parameter-problem';

export interface IcmpError {
  kind: IcmpErrorKind;
  family: IpFamily;
  /** the reporting host */
  from: Uint8Array;
  /** ICMP type as received (ICMPv6 numbering for IPv6) */
  type: number;
  /** ICMP code: for dest-unreachable, 3 (IPv4) / 4 (IPv6) is port unreachable */
  code: number;
  quoted: QuotedProbe;
  /** RFC 4950 labels from a valid RFC 4884 extension; undefined when none */
  mpls: MplsLabel[] | undefined;
  /** packet-too-big: the MTU; IPv4 dest-unreachable code 4: next-hop MTU (RFC 1191); else undefined */
  mtu: number | undefined;
  /** the IP TTL the message arrived with: only when the input had the IPv4 header (decodeIPv4Packet) */
  replyTtl?: number | undefined;
}

export type IgnoredReason =
  | 'truncated'
  | 'not-ipv4'
  | 'bad-ip-header'
  | 'not-icmp'
  | 'bad-address'
  | 'icmp-type'
  | 'quoted-truncated'
  | 'quoted-not-ip'
  | 'quoted-bad-header'
  | 'quoted-fragment'
  | 'quoted-protocol'
  | 'quoted-not-echo'
  | 'not-tcp';

export interface Ignored {
  kind: 'ignored';
  reason: IgnoredReason;
}

export type DecodedPacket = EchoReply | IcmpError | Ignored;

const IGNORED = new Map<IgnoredReason, Ignored>();
function ignored(reason: IgnoredReason): Ignored {
  let r = IGNORED.get(reason);
  if (r === undefined) {
    r = Object.freeze({ kind: 'ignored', reason }) as Ignored;
    IGNORED.set(reason, r);
  }
  return r;
}

function u16(b: Uint8Array, at: number): number {
  return ((b[at] as number) << 8) | (b[at + 1] as number);
}

function u32(b: Uint8Array, at: number): number {
  return (((b[at] as number) << 24) | ((b[at + 1] as number) << 16) | ((b[at + 2] as number) << 8) | (b[at + 3] as number)) >>> 0;
}

/** Minimum "original datagram" length before an RFC 4884 extension (RFC 4884 sections 4, 5). */
export const RFC4884_MIN_ORIGINAL_DATAGRAM = 128;

/**
 * Decode one datagram from a raw IPv4 ICMP socket (IPv4 header, possibly with options, then the
 * ICMP message). The IPv4 total length trims trailing bytes when it is smaller than the input.
 */
export function decodeIPv4Packet(bytes: Uint8Array): DecodedPacket {
  const len = bytes.length;
  if (len < 20) return ignored('truncated');
  const vihl = bytes[0] as number;
  if (vihl >> 4 !== 4) return ignored('not-ipv4');
  const ihl = (vihl & 0x0f) * 4;
  if (ihl < 20) return ignored('bad-ip-header');
  if (len < ihl) return ignored('truncated');
  if (bytes[9] !== 1) return ignored('not-icmp');
  const total = u16(bytes, 2);
  const end = total >= ihl && total < len ? total : len;
  return decodeIcmp(bytes, ihl, end, bytes.subarray(12, 16), 4, bytes[8] as number);
}

/** Decode an ICMPv4 message that starts at bytes[0] (no IP header), sent by `from` (4 bytes). */
export function decodeIcmpv4Message(bytes: Uint8Array, from: Uint8Array): DecodedPacket {
  if (from.length !== 4) return ignored('bad-address');
  return decodeIcmp(bytes, 0, bytes.length, from, 4);
}

/** Decode an ICMPv6 message from a raw ICMPv6 socket, sent by `from` (16 bytes). */
export function decodeIcmpv6Message(bytes: Uint8Array, from: Uint8Array): DecodedPacket {
  if (from.length !== 16) return ignored('bad-address');
  return decodeIcmp(bytes, 0, bytes.length, from, 6);
}

function decodeIcmp(
  b: Uint8Array,
  off: number,
  end: number,
  from: Uint8Array,
  family: IpFamily,
  replyTtl?: number,
): DecodedPacket {
  if (end - off < 8) return ignored('truncated');
  const type = b[off] as number;
  const code = b[off + 1] as number;
  let kind: IcmpErrorKind;
  let lengthAttr = -1; // -1: the type has no RFC 4884 length attribute
  let mtu: number | undefined;
  if (family === 4) {
    switch (type) {
      case 0:
        return { kind: 'echo-reply', family, from, id: u16(b, off + 4), seq: u16(b, off + 6), replyTtl };
      case 3:
        kind = 'dest-unreachable';
        lengthAttr = (b[off + 5] as number) * 4;
        if (code === 4) mtu = u16(b, off + 6);
        break;
      case 11:
        kind = 'time-exceeded';
        lengthAttr = (b[off + 5] as number) * 4;
        break;
      case 12:
        kind = 'parameter-problem';
        lengthAttr = (b[off + 5] as number) * 4;
        break;
      default:
        return ignored('icmp-type');
    }
  } else {
    switch (type) {
      case 129:
        return { kind: 'echo-reply', family, from, id: u16(b, off + 4), seq: u16(b, off + 6) };
      case 1:
        kind = 'dest-unreachable';
        lengthAttr = (b[off + 4] as number) * 8;
        break;
      case 2:
        kind = 'packet-too-big';
        mtu = u32(b, off + 4);
        break;
      case 3:
        kind = 'time-exceeded';
        lengthAttr = (b[off + 4] as number) * 8;
        break;
      case 4:
        kind = 'parameter-problem';
        break;
      default:
        return ignored('icmp-type');
    }
  }

  const start = off + 8; // original datagram
  let quotedEnd = end;
  let mpls: MplsLabel[] | undefined;
  if (lengthAttr > 0) {
    // RFC 4884 compliant: the extension (if any) follows the padded original datagram,
    // which must be at least 128 bytes when an extension is present.
    const ext = start + lengthAttr;
    // A smaller nonzero value is not RFC 4884 (some routers leave junk in the unused field):
    // it is ignored, as Linux does for IP_RECVERR_RFC4884.
    if (lengthAttr >= RFC4884_MIN_ORIGINAL_DATAGRAM && end - ext >= 4) {
      mpls = decodeExtension(b, ext, end);
      quotedEnd = ext;
    }
  } else if (lengthAttr === 0 && end - start >= RFC4884_MIN_ORIGINAL_DATAGRAM + 4) {
    // Non-compliant (pre-RFC 4884) MPLS routers: extension at a fixed 128 bytes.
    const ext = start + RFC4884_MIN_ORIGINAL_DATAGRAM;
    mpls = decodeExtension(b, ext, end);
  }

  const quoted = decodeQuoted(b, start, quotedEnd, family);
  if ('reason' in quoted) return quoted;
  return { kind, family, from, type, code, quoted, mpls, mtu, replyTtl };
}

/**
 * Parse an RFC 4884 ICMP extension structure occupying b[start, end) and return the labels of
 * its first RFC 4950 MPLS Label Stack object (class 1, c-type 1). undefined when the structure is
 * not version 2, its nonzero checksum is wrong, an object length is malformed or overruns, or
 * there is no MPLS object with at least one label.
 */
export function decodeExtension(b: Uint8Array, start: number, end: number): MplsLabel[] | undefined {
  if (start < 0 || end > b.length || end - start < 4) return undefined;
  if ((b[start] as number) >> 4 !== 2) return undefined;
  if (u16(b, start + 2) !== 0 && !checksumValid(b, start, end)) return undefined;
  let p = start + 4;
  while (end - p >= 4) {
    const objLen = u16(b, p);
    if (objLen < 4 || objLen > end - p) return undefined;
    if (b[p + 2] === 1 && b[p + 3] === 1) {
      const body = objLen - 4;
      if ((body & 3) !== 0 || body === 0) return undefined;
      const labels: MplsLabel[] = [];
      for (let e = p + 4; e < p + objLen; e += 4) {
        const b0 = b[e] as number;
        const b1 = b[e + 1] as number;
        const b2 = b[e + 2] as number;
        labels.push({
          label: (b0 << 12) | (b1 << 4) | (b2 >> 4),
          tc: (b2 >> 1) & 7,
          bottomOfStack: b2 & 1,
          ttl: b[e + 3] as number,
        });
      }
      return labels;
    }
    p += objLen;
  }
  return undefined;
}

const MAX_IPV6_EXTENSION_HEADERS = 8;

function decodeQuoted(b: Uint8Array, s: number, e: number, family: IpFamily): QuotedProbe | Ignored {
  let t: number;
  let proto: number;
  let src: Uint8Array;
  let dst: Uint8Array;
  let ttl: number;
  let ipId: number | undefined;
  if (family === 4) {
    if (e - s < 20) return ignored('quoted-truncated');
    const vihl = b[s] as number;
    if (vihl >> 4 !== 4) return ignored('quoted-not-ip');
    const ihl = (vihl & 0x0f) * 4;
    if (ihl < 20) return ignored('quoted-bad-header');
    if ((u16(b, s + 6) & 0x1fff) !== 0) return ignored('quoted-fragment');
    t = s + ihl;
    proto = b[s + 9] as number;
    ttl = b[s + 8] as number;
    ipId = u16(b, s + 4);
    src = b.subarray(s + 12, s + 16);
    dst = b.subarray(s + 16, s + 20);
  } else {
    if (e - s < 40) return ignored('quoted-truncated');
    if ((b[s] as number) >> 4 !== 6) return ignored('quoted-not-ip');
    proto = b[s + 6] as number;
    ttl = b[s + 7] as number;
    src = b.subarray(s + 8, s + 24);
    dst = b.subarray(s + 24, s + 40);
    t = s + 40;
    for (let n = 0; n < MAX_IPV6_EXTENSION_HEADERS; n++) {
      if (proto === 0 || proto === 43 || proto === 60) {
        if (e - t < 2) return ignored('quoted-truncated');
        proto = b[t] as number;
        t += ((b[t + 1] as number) + 1) * 8;
      } else if (proto === 44) {
        if (e - t < 8) return ignored('quoted-truncated');
        if ((u16(b, t + 2) & 0xfff8) !== 0) return ignored('quoted-fragment');
        proto = b[t] as number;
        t += 8;
      } else if (proto === 51) {
        if (e - t < 2) return ignored('quoted-truncated');
        proto = b[t] as number;
        t += ((b[t + 1] as number) + 2) * 4;
      } else {
        break;
      }
    }
  }
  if (e - t < 8) return ignored('quoted-truncated');

  let protocol: QuotedProtocol;
  let icmpId: number | undefined;
  let icmpSeq: number | undefined;
  let icmpChecksum: number | undefined;
  let srcPort: number | undefined;
  let dstPort: number | undefined;
  let udpLength: number | undefined;
  let udpChecksum: number | undefined;
  let tcpSeq: number | undefined;
  let sctpVtag: number | undefined;
  if (proto === (family === 4 ? 1 : 58)) {
    if (b[t] !== (family === 4 ? 8 : 128)) return ignored('quoted-not-echo');
    protocol = 'icmp';
    icmpId = u16(b, t + 4);
    icmpSeq = u16(b, t + 6);
    icmpChecksum = u16(b, t + 2);
  } else if (proto === 17) {
    protocol = 'udp';
    srcPort = u16(b, t);
    dstPort = u16(b, t + 2);
    udpLength = u16(b, t + 4);
    udpChecksum = u16(b, t + 6);
  } else if (proto === 6) {
    protocol = 'tcp';
    srcPort = u16(b, t);
    dstPort = u16(b, t + 2);
    tcpSeq = u32(b, t + 4);
  } else if (proto === 132) {
    protocol = 'sctp';
    srcPort = u16(b, t);
    dstPort = u16(b, t + 2);
    sctpVtag = u32(b, t + 4);
  } else {
    return ignored('quoted-protocol');
  }
  return {
    protocol,
    src,
    dst,
    ttl,
    ipId,
    icmpId,
    icmpSeq,
    icmpChecksum,
    srcPort,
    dstPort,
    udpLength,
    udpChecksum,
    tcpSeq,
    sctpVtag,
    tail: b.subarray(t + 8, e),
  };
}

/** A TCP segment's header fields (a raw TCP flow probe's answer: SYN-ACK or RST). */
export interface TcpSegment {
  kind: 'tcp-segment';
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  /** the flag bits of byte 13 (FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10, ...) */
  flags: number;
}

export const TCP_FLAG_SYN = 0x02;
export const TCP_FLAG_RST = 0x04;
export const TCP_FLAG_ACK = 0x10;

/**
 * Decode what a raw IPPROTO_TCP socket delivers: for IPv4 the IPv4 header (IHL honoured) then the
 * TCP header, for IPv6 the TCP header only. Only the first 14 TCP bytes are needed.
 */
export function decodeTcpSegment(bytes: Uint8Array, family: IpFamily): TcpSegment | Ignored {
  let t = 0;
  if (family === 4) {
    if (bytes.length < 20) return ignored('truncated');
    const vihl = bytes[0] as number;
    if (vihl >> 4 !== 4) return ignored('not-ipv4');
    t = (vihl & 0x0f) * 4;
    if (t < 20) return ignored('bad-ip-header');
    if (bytes[9] !== 6) return ignored('not-tcp');
  }
  if (bytes.length < t + 14) return ignored('truncated');
  return {
    kind: 'tcp-segment',
    srcPort: u16(bytes, t),
    dstPort: u16(bytes, t + 2),
    seq: u32(bytes, t + 4),
    ack: u32(bytes, t + 8),
    flags: bytes[t + 13] as number,
  };
}
