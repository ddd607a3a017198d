// Probe builders. Every builder returns a fresh Uint8Array holding exactly the bytes to hand
// to the socket named in its comment. No sockets, no node: imports.
//
// Size arithmetic, shared by all builders that take `size`: `size` is the whole IP packet in
// bytes (IP header + transport header + payload), as mtr-packet's `size` argument. The payload
// fills what is left after the headers, with the bit pattern byte. Clamping:
//   - a size smaller than the headers yields just the headers (payload length 0);
//   - a size larger than an IP packet can be yields the largest one: total length 65535 for
//     IPv4 (so transport bytes <= 65535 - ipHeaderLen), payload length 65535 for IPv6 (so
//     transport bytes <= 65535).
// Validating what mtr-packet would refuse (its buffer is smaller than that) is the caller's job.

import {
  finishChecksum,
  internetChecksum,
  setSctpChecksum,
  sumBytes,
  sumPseudoHeaderV4,
  sumPseudoHeaderV6,
} from './checksum.js';

export const IPV4_HEADER_LEN = 20;
export const IPV6_HEADER_LEN = 40;
export const ICMP_HEADER_LEN = 8;
export const UDP_HEADER_LEN = 8;
export const TCP_HEADER_LEN = 20;
export const SCTP_COMMON_HEADER_LEN = 12;
export const SCTP_INIT_CHUNK_LEN = 20;

export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMPV6 = 58;
export const IPPROTO_SCTP = 132;

export const ICMP_ECHO_REPLY = 0;
export const ICMP_DEST_UNREACH = 3;
export const ICMP_ECHO_REQUEST = 8;
export const ICMP_TIME_EXCEEDED = 11;
export const ICMP_PARAMETER_PROBLEM = 12;
export const ICMP6_DEST_UNREACH = 1;
export const ICMP6_PACKET_TOO_BIG = 2;
export const ICMP6_TIME_EXCEEDED = 3;
export const ICMP6_PARAMETER_PROBLEM = 4;
export const ICMP6_ECHO_REQUEST = 128;
export const ICMP6_ECHO_REPLY = 129;

function put16(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >>> 8) & 0xff;
  b[at + 1] = v & 0xff;
}

function put32(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >>> 24) & 0xff;
  b[at + 1] = (v >>> 16) & 0xff;
  b[at + 2] = (v >>> 8) & 0xff;
  b[at + 3] = v & 0xff;
}

function requireAddress(name: string, a: Uint8Array | undefined, len: number): Uint8Array {
  if (a === undefined || a.length !== len) {
    throw new RangeError(`${name} must be a ${len}-byte address`);
  }
  return a;
}

/**
 * Transport bytes (transport header + payload) for a probe whose whole IP packet is `size`,
 * clamped as described at the top of this file. `transportHeaderLen` is the minimum.
 */
export function transportLengthFor(size: number, ipHeaderLen: number, transportHeaderLen: number, v6: boolean): number {
  const max = v6 ? 0xffff : 0xffff - ipHeaderLen;
  let n = Math.floor(size) - ipHeaderLen;
  if (!(n >= transportHeaderLen)) n = transportHeaderLen; // also catches NaN
  if (n > max) n = max;
  return n;
}

export interface IPv4PacketOptions {
  src: Uint8Array;
  dst: Uint8Array;
  ttl: number;
  tos?: number;
  /** IP identification; 0 lets Linux pick one on an IP_HDRINCL socket */
  id?: number;
  protocol: number;
  payload: Uint8Array;
  /** set the Don't Fragment flag (protocol extension `dont-fragment`); clear by default */
  dontFragment?: boolean;
}

/**
 * A whole IPv4 datagram for a raw IP_HDRINCL socket: IHL 5 (no options), DF clear unless asked, fragment
 * offset 0, total length in network byte order, header checksum computed.
 * A payload longer than 65515 bytes is cut to fit the 16-bit total length.
 */
export function buildIPv4Packet(o: IPv4PacketOptions): Uint8Array {
  const payloadLen = Math.min(o.payload.length, 0xffff - IPV4_HEADER_LEN);
  const total = IPV4_HEADER_LEN + payloadLen;
  const b = new Uint8Array(total);
  writeIPv4Header(b, 0, {
    src: o.src,
    dst: o.dst,
    ttl: o.ttl,
    tos: o.tos ?? 0,
    id: o.id ?? 0,
    protocol: o.protocol,
    totalLength: total,
    dontFragment: o.dontFragment === true,
  });
  b.set(payloadLen === o.payload.length ? o.payload : o.payload.subarray(0, payloadLen), IPV4_HEADER_LEN);
  return b;
}

/** Write a 20-byte IPv4 header (checksum included) at b[at]. */
export function writeIPv4Header(
  b: Uint8Array,
  at: number,
  h: {
    src: Uint8Array;
    dst: Uint8Array;
    ttl: number;
    tos: number;
    id: number;
    protocol: number;
    totalLength: number;
    dontFragment?: boolean;
  },
): void {
  requireAddress('src', h.src, 4);
  requireAddress('dst', h.dst, 4);
  b[at] = 0x45;
  b[at + 1] = h.tos & 0xff;
  put16(b, at + 2, h.totalLength);
  put16(b, at + 4, h.id);
  b[at + 6] = h.dontFragment === true ? 0x40 : 0;
  b[at + 7] = 0;
  b[at + 8] = h.ttl & 0xff;
  b[at + 9] = h.protocol & 0xff;
  b[at + 10] = 0;
  b[at + 11] = 0;
  b.set(h.src, at + 12);
  b.set(h.dst, at + 16);
  put16(b, at + 10, internetChecksum(b, at, at + IPV4_HEADER_LEN));
}

export interface IPv6PacketOptions {
  src: Uint8Array;
  dst: Uint8Array;
  hopLimit: number;
  trafficClass?: number;
  flowLabel?: number;
  nextHeader: number;
  payload: Uint8Array;
}

/** A whole IPv6 packet (fixed header, no extension headers); payload cut at 65535 bytes. */
export function buildIPv6Packet(o: IPv6PacketOptions): Uint8Array {
  requireAddress('src', o.src, 16);
  requireAddress('dst', o.dst, 16);
  const payloadLen = Math.min(o.payload.length, 0xffff);
  const b = new Uint8Array(IPV6_HEADER_LEN + payloadLen);
  const tc = (o.trafficClass ?? 0) & 0xff;
  const fl = (o.flowLabel ?? 0) & 0xfffff;
  put32(b, 0, ((6 << 28) | (tc << 20) | fl) >>> 0);
  put16(b, 4, payloadLen);
  b[6] = o.nextHeader & 0xff;
  b[7] = o.hopLimit & 0xff;
  b.set(o.src, 8);
  b.set(o.dst, 24);
  b.set(payloadLen === o.payload.length ? o.payload : o.payload.subarray(0, payloadLen), IPV6_HEADER_LEN);
  return b;
}

export interface IcmpEchoOptions {
  v6: boolean;
  /** ICMP identifier (16 bits) */
  id: number;
  /** ICMP sequence number (16 bits) */
  seq: number;
  /** whole IP packet size; see the clamping rules at the top of this file */
  size: number;
  /** payload fill byte, 0..255 */
  bitPattern: number;
  /** IP header length counted in `size`: default 20 for IPv4, 40 for IPv6 */
  ipHeaderLen?: number;
}

/**
 * An ICMP Echo Request (type 8) or ICMPv6 Echo Request (type 128), header + payload, for a raw
 * ICMP / ICMPv6 socket (the kernel adds the IP header). Length = size - ipHeaderLen, at least 8.
 * The ICMPv4 checksum is computed; the ICMPv6 checksum is left 0 because the kernel computes
 * it on raw ICMPv6 sockets (use setIcmpv6Checksum to fill it yourself).
 */
export function buildIcmpEcho(o: IcmpEchoOptions): Uint8Array {
  const ipHeaderLen = o.ipHeaderLen ?? (o.v6 ? IPV6_HEADER_LEN : IPV4_HEADER_LEN);
  const len = transportLengthFor(o.size, ipHeaderLen, ICMP_HEADER_LEN, o.v6);
  const b = new Uint8Array(len);
  if (len > ICMP_HEADER_LEN) b.fill(o.bitPattern & 0xff, ICMP_HEADER_LEN);
  b[0] = o.v6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO_REQUEST;
  put16(b, 4, o.id);
  put16(b, 6, o.seq);
  if (!o.v6) put16(b, 2, internetChecksum(b, 0, len));
  return b;
}

export interface IcmpEchoFlowOptions extends IcmpEchoOptions {
  /**
   * the checksum every probe of the flow carries (1..0xfffe): the first two payload bytes are set so
   * that the message's checksum is this value whatever `seq` is (Paris traceroute's fixed checksum)
   */
  checksum: number;
  /** ICMPv6: the addresses of the pseudo-header the kernel will checksum over (required for v6) */
  src?: Uint8Array;
  dst?: Uint8Array;
  /** written into the payload right after the two compensating bytes (a prober's tag); must fit */
  tag?: Uint8Array;
}

/** The smallest echo message a flow probe can be: the header and the two compensating payload bytes. */
export const ICMP_FLOW_MIN_LEN = ICMP_HEADER_LEN + 2;

/**
 * An Echo Request of a stable flow: identifier and checksum fixed per flow, the sequence free, the
 * first two payload bytes compensating. ICMPv6: the kernel computes the checksum on raw ICMPv6
 * sockets whatever the field holds; over the same pseudo-header it arrives at `checksum` (which is
 * also stored, so the bytes are valid as they are). Throws RangeError when the message has no room
 * for the compensation (size too small), the checksum is 0 or 0xffff, or v6 lacks addresses.
 */
export function buildIcmpEchoFlow(o: IcmpEchoFlowOptions): Uint8Array {
  const target = o.checksum & 0xffff;
  if (target === 0 || target === 0xffff) throw new RangeError('a flow checksum must be 1..0xfffe');
  const b = buildIcmpEcho(o);
  if (b.length < ICMP_FLOW_MIN_LEN) throw new RangeError(`a flow echo needs at least ${ICMP_FLOW_MIN_LEN} bytes`);
  const pseudo = o.v6
    ? sumPseudoHeaderV6(requireAddress('src', o.src, 16), requireAddress('dst', o.dst, 16), IPPROTO_ICMPV6, b.length)
    : 0;
  if (o.tag !== undefined) {
    if (b.length < ICMP_FLOW_MIN_LEN + o.tag.length) throw new RangeError('the tag does not fit the echo');
    b.set(o.tag, ICMP_FLOW_MIN_LEN);
  }
  put16(b, 2, target);
  b[ICMP_HEADER_LEN] = 0;
  b[ICMP_HEADER_LEN + 1] = 0;
  // with the field holding the target, the compensation is what makes the whole sum 0xffff
  put16(b, ICMP_HEADER_LEN, finishChecksum(sumBytes(b, 0, b.length, pseudo)));
  return b;
}

/** The ICMPv6 checksum of msg (checksum field treated as zero) for the given addresses. */
export function icmpv6Checksum(msg: Uint8Array, src: Uint8Array, dst: Uint8Array): number {
  requireAddress('src', src, 16);
  requireAddress('dst', dst, 16);
  let sum = sumPseudoHeaderV6(src, dst, IPPROTO_ICMPV6, msg.length);
  sum = sumBytes(msg, 0, 2, sum);
  sum = sumBytes(msg, 4, msg.length, sum);
  return finishChecksum(sum);
}

/** Compute and store the ICMPv6 checksum of msg in place; returns msg. */
export function setIcmpv6Checksum(msg: Uint8Array, src: Uint8Array, dst: Uint8Array): Uint8Array {
  put16(msg, 2, icmpv6Checksum(msg, src, dst));
  return msg;
}

export interface UdpOptions {
  v6: boolean;
  srcPort: number;
  dstPort: number;
  /** payload bytes after the 8-byte header; clamped to 0..65527 */
  payloadLen: number;
  bitPattern: number;
  /** both needed to compute the checksum; without them the checksum field is 0 */
  src?: Uint8Array;
  dst?: Uint8Array;
  /**
   * mtr-packet's "sequence in the checksum" form: the checksum field carries this value and the
   * first two payload bytes are set so that the checksum is still correct. Needs src, dst and
   * payloadLen >= 2. The value 0 would mean "no checksum" and is not allowed.
   */
  checksumValue?: number;
  /** written into the payload right after the two compensating bytes of checksumValue (a prober's tag) */
  tag?: Uint8Array;
}

/**
 * A UDP datagram (header + payload) for a raw UDP socket. With src and dst the checksum is
 * computed over the pseudo-header (a computed 0 is sent as 0xffff, RFC 768). Without them it is
 * 0: "no checksum" in IPv4, invalid in IPv6 unless the socket has IPV6_CHECKSUM set.
 */
export function buildUdp(o: UdpOptions): Uint8Array {
  let payloadLen = Math.floor(o.payloadLen);
  if (!(payloadLen >= 0)) payloadLen = 0;
  if (payloadLen > 0xffff - UDP_HEADER_LEN) payloadLen = 0xffff - UDP_HEADER_LEN;
  const len = UDP_HEADER_LEN + payloadLen;
  const b = new Uint8Array(len);
  if (payloadLen > 0) b.fill(o.bitPattern & 0xff, UDP_HEADER_LEN);
  put16(b, 0, o.srcPort);
  put16(b, 2, o.dstPort);
  put16(b, 4, len);
  const haveAddrs = o.src !== undefined && o.dst !== undefined;
  if (o.checksumValue !== undefined) {
    if (!haveAddrs) throw new RangeError('checksumValue needs src and dst');
    if (payloadLen < 2) throw new RangeError('checksumValue needs payloadLen >= 2');
    if ((o.checksumValue & 0xffff) === 0) throw new RangeError('checksumValue must not be 0');
    if (o.tag !== undefined) {
      if (payloadLen < 2 + o.tag.length) throw new RangeError('the tag does not fit the payload');
      b.set(o.tag, UDP_HEADER_LEN + 2);
    }
    put16(b, 6, o.checksumValue);
    b[8] = 0;
    b[9] = 0;
    put16(b, 8, finishChecksum(udpSum(b, o)));
  } else if (haveAddrs) {
    const c = finishChecksum(udpSum(b, o));
    put16(b, 6, c === 0 ? 0xffff : c);
  }
  return b;
}

function udpSum(b: Uint8Array, o: UdpOptions): number {
  const src = o.src as Uint8Array;
  const dst = o.dst as Uint8Array;
  const pseudo = o.v6
    ? sumPseudoHeaderV6(requireAddress('src', src, 16), requireAddress('dst', dst, 16), IPPROTO_UDP, b.length)
    : sumPseudoHeaderV4(requireAddress('src', src, 4), requireAddress('dst', dst, 4), IPPROTO_UDP, b.length);
  return sumBytes(b, 0, b.length, pseudo);
}

export interface TcpSynOptions {
  v6: boolean;
  srcPort: number;
  dstPort: number;
  /** initial sequence number (32 bits) */
  seq: number;
  src: Uint8Array;
  dst: Uint8Array;
  /** whole IP packet size; bytes beyond the TCP header are SYN payload filled with bitPattern */
  size: number;
  bitPattern?: number;
  /** when given, a 4-byte MSS option is included (header 24 bytes) */
  mss?: number;
  /** receive window, default 65535 */
  window?: number;
  ipHeaderLen?: number;
}

/**
 * A TCP SYN segment for a raw TCP socket: data offset 5 (or 6 with MSS), only SYN set, ack 0,
 * urgent 0, checksum over the pseudo-header. mtr-packet 0.95 itself lets the kernel connect()
 * (so its SYN carries Linux's options: MSS, SACK-permitted, timestamps, window scale, a 60-byte
 * IPv4 packet) and ignores `size` for TCP; this builder sends a plain SYN and honours `size` by
 * adding payload, which is valid TCP (RFC 9293 allows data on a SYN). Pass a small size for a
 * bare SYN. Identify the probe by srcPort and seq (both in the 8 quoted bytes).
 */
export function buildTcpSyn(o: TcpSynOptions): Uint8Array {
  const ipHeaderLen = o.ipHeaderLen ?? (o.v6 ? IPV6_HEADER_LEN : IPV4_HEADER_LEN);
  const headerLen = o.mss === undefined ? TCP_HEADER_LEN : TCP_HEADER_LEN + 4;
  const len = transportLengthFor(o.size, ipHeaderLen, headerLen, o.v6);
  const b = new Uint8Array(len);
  if (len > headerLen) b.fill((o.bitPattern ?? 0) & 0xff, headerLen);
  put16(b, 0, o.srcPort);
  put16(b, 2, o.dstPort);
  put32(b, 4, o.seq >>> 0);
  b[12] = (headerLen / 4) << 4;
  b[13] = 0x02; // SYN
  put16(b, 14, o.window ?? 0xffff);
  if (o.mss !== undefined) {
    b[20] = 2; // kind MSS
    b[21] = 4;
    put16(b, 22, o.mss);
  }
  const pseudo = o.v6
    ? sumPseudoHeaderV6(requireAddress('src', o.src, 16), requireAddress('dst', o.dst, 16), IPPROTO_TCP, len)
    : sumPseudoHeaderV4(requireAddress('src', o.src, 4), requireAddress('dst', o.dst, 4), IPPROTO_TCP, len);
  put16(b, 16, finishChecksum(sumBytes(b, 0, len, pseudo)));
  return b;
}

export interface SctpInitOptions {
  v6: boolean;
  srcPort: number;
  dstPort: number;
  /** INIT's Initiate Tag; must be nonzero (RFC 9260 3.3.2) */
  initiateTag: number;
  /** default: initiateTag */
  initialTsn?: number;
  /** advertised receiver window credit, default 65535 (RFC minimum 1500) */
  aRwnd?: number;
  /** number of outbound streams, default 10 */
  outboundStreams?: number;
  /** maximum inbound streams, default 65535 */
  inboundStreams?: number;
  /** whole IP packet size; room beyond the 32 bytes of SCTP is filled with a Padding parameter */
  size: number;
  bitPattern?: number;
  ipHeaderLen?: number;
}

/**
 * An SCTP packet holding one INIT chunk, for a raw SCTP socket: common header with
 * verification tag 0 (required for INIT) and CRC32c. When `size` leaves at least 4 bytes beyond
 * the 32-byte minimum, a Padding parameter (type 0x8005, RFC 4820; a receiver that does not know
 * it skips it silently) of (room rounded down to a multiple of 4) bytes is appended, its value
 * filled with bitPattern; so SCTP probes hit `size` exactly only when size - headers is a
 * multiple of 4. Identify the probe by srcPort (quoted); the quoted verification tag is 0.
 */
export function buildSctpInit(o: SctpInitOptions): Uint8Array {
  const ipHeaderLen = o.ipHeaderLen ?? (o.v6 ? IPV6_HEADER_LEN : IPV4_HEADER_LEN);
  const minLen = SCTP_COMMON_HEADER_LEN + SCTP_INIT_CHUNK_LEN;
  if ((o.initiateTag >>> 0) === 0) throw new RangeError('initiateTag must be nonzero');
  const avail = transportLengthFor(o.size, ipHeaderLen, minLen, o.v6);
  let pad = (avail - minLen) & ~3;
  if (pad < 4) pad = 0;
  const len = minLen + pad;
  const b = new Uint8Array(len);
  put16(b, 0, o.srcPort);
  put16(b, 2, o.dstPort);
  // verification tag 0 (bytes 4..7), checksum (8..11) set last
  b[12] = 1; // INIT
  b[13] = 0;
  put16(b, 14, SCTP_INIT_CHUNK_LEN + pad);
  put32(b, 16, o.initiateTag >>> 0);
  put32(b, 20, (o.aRwnd ?? 65535) >>> 0);
  put16(b, 24, o.outboundStreams ?? 10);
  put16(b, 26, o.inboundStreams ?? 65535);
  put32(b, 28, (o.initialTsn ?? o.initiateTag) >>> 0);
  if (pad > 0) {
    put16(b, 32, 0x8005);
    put16(b, 34, pad);
    if (pad > 4) b.fill((o.bitPattern ?? 0) & 0xff, 36);
  }
  setSctpChecksum(b, 0, len);
  return b;
}
