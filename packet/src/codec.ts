// Between the daemon and the wire codecs: a validated request becomes probe bytes, and a
// received packet becomes an answer naming the sequence it answers. Pure functions.

import type { IpVersion, MplsLabel, ProbeResultName, ProbeProtocol, SendProbeRequest } from '@mtr-ts/protocol';
import {
  buildIcmpEcho,
  buildIPv4Packet,
  decodeIcmpv6Message,
  decodeIPv4Packet,
  formatIPv4,
  formatIPv6,
  IPPROTO_ICMP,
  parseIPv4,
  parseIPv6,
} from '@mtr-ts/native/wire';

/** mtr-packet's packet buffer: no probe (IPv4: whole packet; IPv6: without the IP header) is larger. */
export const PACKET_BUFFER_SIZE = 9000;
const IPV6_HEADER_LEN = 40;
const ZERO_V4 = new Uint8Array(4); // an IP_HDRINCL source of 0.0.0.0 is filled in by the kernel

export interface ProbeIdentity {
  icmpId: number;
  sequence: number;
}

export function parseAddress(family: IpVersion, text: string): Uint8Array | undefined {
  return family === 4 ? parseIPv4(text) : parseIPv6(text);
}

export function formatAddress(family: IpVersion, bytes: Uint8Array): string {
  return family === 4 ? formatIPv4(bytes) : formatIPv6(bytes);
}

/**
 * The bytes to send: for IPv4 the whole packet (IP header included, TTL and TOS cut to 8 bits
 * as mtr-packet 0.95 does), for IPv6 the transport message (hop limit and traffic class go
 * with the send). undefined when the request cannot be built (answered invalid-argument).
 */
export function buildProbe(
  req: SendProbeRequest,
  family: IpVersion,
  dst: Uint8Array,
  src: Uint8Array | undefined,
  id: ProbeIdentity,
): Uint8Array | undefined {
  const limit = family === 4 ? PACKET_BUFFER_SIZE : PACKET_BUFFER_SIZE + IPV6_HEADER_LEN;
  if (req.size > limit) return undefined;
  switch (req.protocol) {
    case 'icmp': {
      const icmp = buildIcmpEcho({
        v6: family === 6,
        id: id.icmpId,
        seq: id.sequence,
        size: req.size,
        bitPattern: req.bitPattern,
      });
      if (family === 6) return icmp;
      return buildIPv4Packet({
        src: src ?? ZERO_V4,
        dst,
        ttl: req.ttl,
        tos: req.tos,
        protocol: IPPROTO_ICMP,
        payload: icmp,
      });
    }
    default:
      return undefined;
  }
}

export interface Answer {
  type: ProbeResultName;
  protocol: ProbeProtocol;
  sequence: number;
  /** the destination quoted in an ICMP error; undefined for an echo reply */
  quotedDst: Uint8Array | undefined;
  mpls: MplsLabel[] | undefined;
}

/**
 * What a received packet answers, or undefined when it answers none of ours. Matching follows
 * mtr-packet: an echo reply or a quoted echo request must carry our ICMP identifier; port
 * unreachable from the destination means the probe arrived (`reply`); any other unreachable is
 * `no-route` from the host that said so.
 */
export function decodeAnswer(p: { family: IpVersion; from: Uint8Array; data: Uint8Array }, icmpId: number): Answer | undefined {
  const d = p.family === 4 ? decodeIPv4Packet(p.data) : decodeIcmpv6Message(p.data, p.from);
  switch (d.kind) {
    case 'echo-reply':
      if (d.id !== icmpId) return undefined;
      return { type: 'reply', protocol: 'icmp', sequence: d.seq, quotedDst: undefined, mpls: undefined };
    case 'time-exceeded':
    case 'dest-unreachable': {
      const q = d.quoted;
      let type: ProbeResultName;
      if (d.kind === 'time-exceeded') type = 'ttl-expired';
      else type = d.code === (p.family === 4 ? 3 : 4) ? 'reply' : 'no-route';
      if (q.protocol !== 'icmp' || q.icmpId !== icmpId || q.icmpSeq === undefined) return undefined;
      return { type, protocol: 'icmp', sequence: q.icmpSeq, quotedDst: q.dst, mpls: d.mpls };
    }
    default:
      return undefined;
  }
}
