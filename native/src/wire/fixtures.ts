// Builders for the answers routers and hosts send back: for tests, and for a lab responder
// that injects crafted ICMP errors. They produce real, checksummed messages.

import type { MplsLabel } from '@mtr-ts/protocol';

import { finishChecksum, internetChecksum, sumBytes, sumPseudoHeaderV6 } from './checksum.js';
import { buildIPv4Packet, IPPROTO_ICMP, IPPROTO_ICMPV6 } from './build.js';

function put16(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >>> 8) & 0xff;
  b[at + 1] = v & 0xff;
}

/** How the original datagram and the RFC 4884 extension are laid out. */
export type ExtensionLayout =
  /** RFC 4884: original datagram zero-padded to >= 128 bytes (and to 4/8-byte words), length attribute set */
  | 'rfc4884'
  /** pre-RFC 4884 MPLS routers: original datagram padded or cut to exactly 128 bytes, length attribute 0 */
  | 'legacy';

export interface IcmpErrorOptions {
  v6: boolean;
  /** ICMP type; see the convenience wrappers below */
  type: number;
  code: number;
  /** the reporting router; used for the ICMPv6 checksum (and the IPv4 header by wrapIPv4) */
  routerSrc: Uint8Array;
  /** where the message goes (the prober); used for the ICMPv6 checksum */
  dst: Uint8Array;
  /** the original datagram as received: IP header + at least 8 bytes of transport header */
  quoted: Uint8Array;
  /** when given (even empty), an RFC 4884 extension with one RFC 4950 MPLS object is appended */
  mplsLabels?: MplsLabel[];
  /** default 'rfc4884' */
  layout?: ExtensionLayout;
  /** extension checksum: computed (default), left 0 (allowed by RFC 4884 receivers), or wrong */
  extensionChecksum?: 'correct' | 'zero' | 'wrong';
  /** override the length attribute byte (for edge-case tests); default derived from the layout */
  lengthAttribute?: number;
  /** bytes 4..7 of the ICMP header before the length attribute is applied (e.g. an MTU) */
  rest?: number;
}

/** Encode one RFC 4950 label stack entry. */
export function encodeMplsEntry(l: MplsLabel, out: Uint8Array, at: number): void {
  const label = l.label & 0xfffff;
  out[at] = label >>> 12;
  out[at + 1] = (label >>> 4) & 0xff;
  out[at + 2] = ((label & 0x0f) << 4) | ((l.tc & 7) << 1) | (l.bottomOfStack & 1);
  out[at + 3] = l.ttl & 0xff;
}

/**
 * An RFC 4884 extension structure (version 2) holding one MPLS Label Stack object
 * (class 1, c-type 1) with the given entries; checksum per `checksum`.
 */
export function buildMplsExtension(labels: MplsLabel[], checksum: 'correct' | 'zero' | 'wrong' = 'correct'): Uint8Array {
  const objLen = 4 + 4 * labels.length;
  const ext = new Uint8Array(4 + objLen);
  ext[0] = 0x20;
  put16(ext, 4, objLen);
  ext[6] = 1;
  ext[7] = 1;
  labels.forEach((l, i) => encodeMplsEntry(l, ext, 8 + 4 * i));
  if (checksum !== 'zero') {
    let c = internetChecksum(ext);
    if (checksum === 'wrong') c = c === 0x1234 ? 0x4321 : 0x1234;
    put16(ext, 2, c);
  }
  return ext;
}

/**
 * An ICMP or ICMPv6 error message (header + original datagram [+ extension]) with its checksum
 * computed (ICMPv6 over the pseudo-header of routerSrc -> dst). To send an IPv4 one through an
 * IP_HDRINCL socket, or to feed decodeIPv4Packet, wrap it with wrapIPv4.
 */
export function buildIcmpError(o: IcmpErrorOptions): Uint8Array {
  let original = o.quoted;
  let ext: Uint8Array | undefined;
  let lengthAttr = 0;
  if (o.mplsLabels !== undefined) {
    ext = buildMplsExtension(o.mplsLabels, o.extensionChecksum ?? 'correct');
    const word = o.v6 ? 8 : 4;
    let origLen: number;
    if ((o.layout ?? 'rfc4884') === 'legacy') {
      origLen = 128;
    } else {
      origLen = Math.max(128, Math.ceil(original.length / word) * word);
      if (origLen > 255 * word) origLen = 255 * word;
      lengthAttr = origLen / word;
    }
    const padded = new Uint8Array(origLen);
    padded.set(original.length > origLen ? original.subarray(0, origLen) : original);
    original = padded;
  }
  const len = 8 + original.length + (ext?.length ?? 0);
  const msg = new Uint8Array(len);
  msg[0] = o.type;
  msg[1] = o.code;
  const rest = o.rest ?? 0;
  msg[4] = (rest >>> 24) & 0xff;
  msg[5] = (rest >>> 16) & 0xff;
  msg[6] = (rest >>> 8) & 0xff;
  msg[7] = rest & 0xff;
  const attr = o.lengthAttribute ?? (lengthAttr > 0 ? lengthAttr : undefined);
  if (attr !== undefined) msg[o.v6 ? 4 : 5] = attr & 0xff;
  msg.set(original, 8);
  if (ext !== undefined) msg.set(ext, 8 + original.length);
  if (o.v6) {
    const sum = sumPseudoHeaderV6(o.routerSrc, o.dst, IPPROTO_ICMPV6, len);
    put16(msg, 2, finishChecksum(sumBytes(msg, 0, len, sum)));
  } else {
    put16(msg, 2, internetChecksum(msg));
  }
  return msg;
}

export type TimeExceededOptions = Omit<IcmpErrorOptions, 'type' | 'code'> & { code?: number };

/** ICMP Time Exceeded (type 11) / ICMPv6 Time Exceeded (type 3), code 0 (hop limit) by default. */
export function buildIcmpTimeExceeded(o: TimeExceededOptions): Uint8Array {
  return buildIcmpError({ ...o, type: o.v6 ? 3 : 11, code: o.code ?? 0 });
}

/**
 * ICMP Destination Unreachable (type 3) / ICMPv6 Destination Unreachable (type 1).
 * Port unreachable is code 3 for IPv4 and code 4 for IPv6.
 */
export function buildIcmpDestUnreachable(o: TimeExceededOptions & { code: number }): Uint8Array {
  return buildIcmpError({ ...o, type: o.v6 ? 1 : 3 });
}

/** ICMP Echo Reply (type 0) / ICMPv6 Echo Reply (129) with the given payload. */
export function buildIcmpEchoReply(o: {
  v6: boolean;
  id: number;
  seq: number;
  payload?: Uint8Array;
  /** for the ICMPv6 checksum; without them it is left 0 */
  src?: Uint8Array;
  dst?: Uint8Array;
}): Uint8Array {
  const payload = o.payload ?? new Uint8Array(0);
  const msg = new Uint8Array(8 + payload.length);
  msg[0] = o.v6 ? 129 : 0;
  put16(msg, 4, o.id);
  put16(msg, 6, o.seq);
  msg.set(payload, 8);
  if (!o.v6) {
    put16(msg, 2, internetChecksum(msg));
  } else if (o.src !== undefined && o.dst !== undefined) {
    const sum = sumPseudoHeaderV6(o.src, o.dst, IPPROTO_ICMPV6, msg.length);
    put16(msg, 2, finishChecksum(sumBytes(msg, 0, msg.length, sum)));
  }
  return msg;
}

/** Put an ICMPv4 message in an IPv4 header (protocol 1), as a raw ICMP socket delivers it. */
export function wrapIPv4(icmp: Uint8Array, o: { src: Uint8Array; dst: Uint8Array; ttl?: number; id?: number; tos?: number }): Uint8Array {
  return buildIPv4Packet({
    src: o.src,
    dst: o.dst,
    ttl: o.ttl ?? 64,
    tos: o.tos ?? 0xc0,
    id: o.id ?? 0,
    protocol: IPPROTO_ICMP,
    payload: icmp,
  });
}
