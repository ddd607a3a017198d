// Between the daemon and the wire codecs: a validated request becomes probe bytes, and a
// received packet becomes an answer that names what it quotes. Pure functions.

import { FLOW_BASE_PORT, FLOW_UDP_PORT, MAX_MPLS_LABELS, type IpVersion, type MplsLabel, type ProbeResultName, type SendProbeRequest } from '@mtr-ts/protocol';
import {
  buildIcmpEcho,
  buildIcmpEchoFlow,
  buildIPv4Packet,
  buildTcpSyn,
  buildUdp,
  decodeIcmpv4Message,
  decodeIcmpv6Message,
  decodeIPv4Packet,
  decodeTcpSegment,
  formatIPv4,
  formatIPv6,
  ICMP_FLOW_MIN_LEN,
  IPPROTO_ICMP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  TCP_FLAG_ACK,
  TCP_FLAG_RST,
  TCP_FLAG_SYN,
  parseIPv4,
  parseIPv6,
  type QuotedProbe,
} from '@mtr-ts/native/wire';

import type { QueuedIcmpError, Received } from './transport.js';

/** mtr-packet's packet buffer: no probe (IPv4: whole packet; IPv6: without the IP header) is larger. */
export const PACKET_BUFFER_SIZE = 9000;
const IPV4_HEADER_LEN = 20;
const IPV6_HEADER_LEN = 40;
const UDP_HEADER_LEN = 8;
/** mtr-packet keeps room for a sequence in every UDP payload */
const UDP_MIN_PAYLOAD = 4;
const ZERO_V4 = new Uint8Array(4); // an IP_HDRINCL source of 0.0.0.0 is filled in by the kernel

export interface ProbeIdentity {
  icmpId: number;
  sequence: number;
  /** IPv4 identification of every raw IPv4 probe of this daemon (0: the kernel picks one) */
  ipId?: number;
  /** extension `flow`: the stable flow the probe goes out on */
  flow?: number;
  /** extension `flow`: the source port of flow 0 when `local-port` is not given (per daemon) */
  flowPortBase?: number;
  /**
   * extension `flow`: the daemon's tag, in a UDP or ICMP flow probe's payload after the compensating
   * bytes (ICMP: when there is room), its first two bytes in a TCP flow probe's sequence number
   */
  flowTag?: Uint8Array;
}

/** The 16-bit tag of a daemon's TCP flow probes: the first two bytes of its flow tag. */
export function tcpFlowTag(flowTag: Uint8Array): number {
  return ((flowTag[0] ?? 0) << 8) | (flowTag[1] ?? 0);
}

/**
 * A TCP flow probe's initial sequence number: the daemon's 16-bit tag, then the probe's sequence.
 * Every Time Exceeded quotes it (the first 8 transport bytes: ports and sequence number), and the
 * destination's SYN-ACK or RST acknowledges it + 1: both name the probe and the daemon, whatever
 * the ports, which a flow keeps fixed (and two daemons may share).
 */
export function tcpFlowIsn(tag: number, sequence: number): number {
  return (((tag & 0xffff) << 16) | (sequence & 0xffff)) >>> 0;
}

/** A UDP flow probe's payload: 2 compensating bytes, then the daemon's 4-byte tag. */
export const UDP_FLOW_MIN_PAYLOAD = 6;

/**
 * Whether a quote's tail (the transport bytes past the first 8) carries this daemon's flow tag, or is
 * too short to tell (IPv4 routers may quote only 8 bytes; IPv6 routers quote the whole probe).
 */
export function flowTagOk(tail: Uint8Array | undefined, tag: Uint8Array): boolean {
  if (tail === undefined || tail.length < 2 + tag.length) return true;
  for (let i = 0; i < tag.length; i++) if (tail[2 + i] !== tag[i]) return false;
  return true;
}

/**
 * An ICMP flow's identifier and checksum (Paris traceroute style: both fixed for every probe of the
 * flow, the sequence free). The identifier is the daemon's own plus the flow, so it stays as much
 * ours as the classic probes'. The checksum depends on the flow only, spread over 1..0xfffe (0 and
 * 0xffff cannot be kept): a router hashing the first bytes of the ICMP header (type, code, checksum)
 * sends flow N the same way in every run, as a UDP flow's fixed ports do.
 */
export function icmpFlowIdentity(icmpId: number, flow: number): { id: number; checksum: number } {
  const id = (icmpId + flow) & 0xffff;
  let checksum = (Math.imul(flow + 1, 0x9e37) + 0x3c5a) & 0xffff;
  if (checksum === 0 || checksum === 0xffff) checksum = 1 + flow;
  return { id, checksum };
}

const SEQUENCE_FLOOR = 33434; // probes.ts MIN_SEQUENCE
/**
 * A UDP flow probe's IPv4 identification: its sequence, offset by the daemon's own identification
 * (1..65535, never 0, which would let the kernel choose). A NAT that rewrites the ports or the
 * checksum leaves it, so the probe is still found (udpFlowSequence), and another daemon's flow
 * probe with the same ports and sequence differs in it.
 */
export function udpFlowIpId(daemonIpId: number, sequence: number): number {
  return ((sequence - SEQUENCE_FLOOR + daemonIpId) % 0xffff) + 1;
}

/** The sequence a UDP flow probe's IPv4 identification stands for (udpFlowIpId's inverse; may be out of range). */
export function udpFlowSequence(daemonIpId: number, ipId: number): number {
  return ((((ipId - 1 - daemonIpId) % 0xffff) + 0xffff) % 0xffff) + SEQUENCE_FLOOR;
}

/**
 * A UDP or TCP flow's ports: the source is `local-port` when given, else the daemon's flow port base
 * + flow (random per daemon, so two daemons' flows differ in the source port too); the destination
 * is `port` when given, else FLOW_UDP_PORT (UDP) or 80 (TCP). Both fixed for the flow.
 */
export function flowPorts(
  req: Pick<SendProbeRequest, 'port' | 'localPort' | 'protocol'>,
  flow: number,
  base: number,
): { srcPort: number; dstPort: number } {
  return {
    srcPort: req.localPort ? req.localPort & 0xffff : (base + flow) & 0xffff,
    dstPort: req.port ? req.port & 0xffff : req.protocol === 'tcp' ? 80 : FLOW_UDP_PORT,
  };
}

export function parseAddress(family: IpVersion, text: string): Uint8Array | undefined {
  return family === 4 ? parseIPv4(text) : parseIPv6(text);
}

export function formatAddress(family: IpVersion, bytes: Uint8Array): string {
  return family === 4 ? formatIPv4(bytes) : formatIPv6(bytes);
}

/** The UDP ports of a probe, as mtr-packet places its sequence: in the destination port, the source port, or the checksum. */
export function udpPorts(
  req: Pick<SendProbeRequest, 'port' | 'localPort'>,
  id: ProbeIdentity,
): { srcPort: number; dstPort: number; checksum: number | undefined } {
  if (req.port) {
    return req.localPort
      ? { srcPort: req.localPort & 0xffff, dstPort: req.port & 0xffff, checksum: id.sequence }
      : { srcPort: id.sequence, dstPort: req.port & 0xffff, checksum: undefined };
  }
  return { srcPort: (req.localPort || id.icmpId) & 0xffff, dstPort: id.sequence, checksum: undefined };
}

export interface BuiltProbe {
  bytes: Uint8Array;
  srcPort: number;
  dstPort: number;
}

/** Whether building this probe needs the source address (checksums over the pseudo-header). */
export function needsSource(req: SendProbeRequest, family: IpVersion = 4, flow?: number): boolean {
  // a v6 flow echo compensates its checksum over the pseudo-header the kernel will use
  return (
    req.protocol === 'udp' ||
    (flow !== undefined && (req.protocol === 'tcp' || (req.protocol === 'icmp' && family === 6)))
  );
}

/** What a raw probe is built from (buildProbe, buildUdpProbe). */
export interface ProbeSpec {
  req: SendProbeRequest;
  family: IpVersion;
  dst: Uint8Array;
  /** the source address: needed where needsSource says so; undefined in an IPv4 header is 0.0.0.0 */
  src: Uint8Array | undefined;
  id: ProbeIdentity;
}

/**
 * The bytes to send: for IPv4 the whole packet (IP header included, TTL and TOS cut to 8 bits
 * as mtr-packet 0.95 does), for IPv6 the transport message (hop limit and traffic class go
 * with the send). undefined when the request cannot be built (answered invalid-argument).
 */
export function buildProbe(spec: ProbeSpec): BuiltProbe | undefined {
  const { req, family, dst, src, id } = spec;
  const limit = family === 4 ? PACKET_BUFFER_SIZE : PACKET_BUFFER_SIZE + IPV6_HEADER_LEN;
  if (req.size > limit) return undefined;
  if (req.protocol === 'udp') {
    // classic and flow alike (buildUdpProbe)
    const udp = buildUdpProbe(spec);
    return udp && { bytes: family === 6 ? udp.bytes : v4(spec, IPPROTO_UDP, udp.bytes), srcPort: udp.srcPort, dstPort: udp.dstPort };
  }
  if (id.flow !== undefined) {
    switch (req.protocol) {
      case 'icmp': {
        if (family === 6 && src === undefined) return undefined;
        const f = icmpFlowIdentity(id.icmpId, id.flow);
        // the daemon's tag after the compensation where it fits: an IPv6 NAT that rewrote the flow's
        // identifier or checksum still leaves it, and the sequence (matchNatRewrite)
        const room = req.size - (family === 4 ? IPV4_HEADER_LEN : IPV6_HEADER_LEN) - ICMP_FLOW_MIN_LEN;
        const tag = id.flowTag !== undefined && room >= id.flowTag.length ? id.flowTag : undefined;
        let icmp: Uint8Array;
        try {
          icmp = buildIcmpEchoFlow({
            v6: family === 6,
            id: f.id,
            seq: id.sequence,
            size: req.size,
            bitPattern: req.bitPattern,
            checksum: f.checksum,
            tag,
            ...(family === 6 ? { src, dst } : {}),
          });
        } catch {
          return undefined; // too small to carry the compensation
        }
        return { bytes: family === 6 ? icmp : v4(spec, IPPROTO_ICMP, icmp), srcPort: 0, dstPort: 0 };
      }
      case 'tcp': {
        // a raw SYN: both ports fixed, the sequence (and the daemon's tag) in the sequence number
        if (src === undefined) return undefined;
        const ports = flowPorts(req, id.flow, id.flowPortBase ?? FLOW_BASE_PORT);
        const syn = buildTcpSyn({
          v6: family === 6,
          srcPort: ports.srcPort,
          dstPort: ports.dstPort,
          seq: tcpFlowIsn(id.flowTag === undefined ? 0 : tcpFlowTag(id.flowTag), id.sequence),
          src,
          dst,
          size: 0, // a bare SYN (0.95 ignores size for TCP): a RST then acks exactly ISN + 1
        });
        return { bytes: family === 6 ? syn : v4(spec, IPPROTO_TCP, syn), srcPort: ports.srcPort, dstPort: ports.dstPort };
      }
      default:
        return undefined;
    }
  }
  switch (req.protocol) {
    case 'icmp': {
      const icmp = buildIcmpEcho({
        v6: family === 6,
        id: id.icmpId,
        seq: id.sequence,
        size: req.size,
        bitPattern: req.bitPattern,
      });
      return { bytes: family === 6 ? icmp : v4(spec, IPPROTO_ICMP, icmp), srcPort: 0, dstPort: 0 };
    }
    default:
      return undefined;
  }
}

/** The IPv4 packet around a probe's transport bytes (a function of its own: no closure per probe). */
function v4({ req, dst, src, id }: ProbeSpec, protocol: number, payload: Uint8Array): Uint8Array {
  return buildIPv4Packet({
    src: src ?? ZERO_V4,
    dst,
    ttl: req.ttl,
    tos: req.tos,
    protocol,
    payload,
    id: id.ipId ?? 0,
    dontFragment: req.dontFragment === true,
  });
}

/**
 * A UDP probe's datagram (header and payload; the caller adds an IPv4 header). Classic: the sequence
 * where mtr-packet 0.95 puts it (udpPorts), at least UDP_MIN_PAYLOAD payload bytes. A flow probe
 * (id.flow): both ports fixed (flowPorts), the sequence in the checksum, as 0.95 does when both are
 * given (the caller puts it in the IPv4 identification too: udpFlowIpId), and the daemon's tag after
 * the compensation, so two daemons' probes on the same ports differ; too small for that: undefined.
 */
function buildUdpProbe({ req, family, dst, src, id }: ProbeSpec): BuiltProbe | undefined {
  if (src === undefined) return undefined;
  const flow = id.flow !== undefined;
  const room = req.size - (family === 4 ? IPV4_HEADER_LEN : IPV6_HEADER_LEN) - UDP_HEADER_LEN;
  if (flow && room < UDP_FLOW_MIN_PAYLOAD) return undefined;
  let srcPort: number, dstPort: number, checksum: number | undefined;
  if (id.flow !== undefined) {
    ({ srcPort, dstPort } = flowPorts(req, id.flow, id.flowPortBase ?? FLOW_BASE_PORT));
    checksum = id.sequence;
  } else {
    ({ srcPort, dstPort, checksum } = udpPorts(req, id));
  }
  const bytes = buildUdp({
    v6: family === 6,
    srcPort,
    dstPort,
    payloadLen: flow ? room : Math.max(room, UDP_MIN_PAYLOAD),
    bitPattern: req.bitPattern,
    src,
    dst,
    checksumValue: checksum, // undefined: the real checksum (no spread: a runtime call in V8)
    tag: flow ? udpFlowTail(id, room) : undefined,
  });
  return { bytes, srcPort, dstPort };
}

/**
 * What a UDP flow probe's payload carries after its 2 compensating bytes: the daemon's tag, and the
 * sequence (2 bytes) when there is room, which an IPv6 NAT rewriting the ports and the checksum
 * leaves (IPv4 has the identification for that: udpFlowIpId).
 */
function udpFlowTail(id: ProbeIdentity, room: number): Uint8Array | undefined {
  const tag = id.flowTag;
  if (tag === undefined || room < 2 + tag.length + 2) return tag;
  const tail = new Uint8Array(tag.length + 2);
  tail.set(tag);
  tail[tag.length] = id.sequence >> 8;
  tail[tag.length + 1] = id.sequence & 0xff;
  return tail;
}

export type Answer =
  | {
      kind: 'echo';
      id: number;
      sequence: number;
      /** the echo reply's ICMP message length (header and data): the same as our request's */
      length: number;
      /** the byte its data repeats (our requests carry the bit pattern only); -1 for mixed data; undefined: no data */
      pattern: number | undefined;
      detail?: AnswerDetail;
    }
  | { kind: 'quoted'; type: ProbeResultName; quoted: QuotedProbe; mpls: MplsLabel[] | undefined; detail?: AnswerDetail }
  | {
      /** a TCP segment from a raw TCP socket: a SYN-ACK or a RST (with ACK) answering a TCP flow probe */
      kind: 'segment';
      srcPort: number;
      dstPort: number;
      /** its acknowledgment number: a flow probe's ISN + 1 */
      ack: number;
      detail?: AnswerDetail;
    }
  | {
      /** an ICMP error read from a datagram or TCP socket's error queue */
      kind: 'queued';
      type: ProbeResultName;
      protocol: 'icmp' | 'udp' | 'tcp';
      dst: Uint8Array | undefined;
      /** ICMP: the identifier and sequence of our echo as quoted */
      icmpId: number | undefined;
      icmpSeq: number | undefined;
      /** UDP: the ports, and the sequence from the payload when it carries one */
      srcPort: number | undefined;
      dstPort: number | undefined;
      payloadSeq: number | undefined;
      tcpId: number | undefined;
      detail?: AnswerDetail;
    };

/** What an answer says beyond 0.95's words: the icmp-detail extension's fields, where known. */
export interface AnswerDetail {
  icmpType?: number | undefined;
  icmpCode?: number | undefined;
  mtu?: number | undefined;
  replyTtl?: number | undefined;
}

export interface DecodeAnswerOptions {
  /**
   * take ICMPv6 Packet-Too-Big as a `no-route` answer (with its MTU): only for a session that asked for
   * icmp-detail; 0.95 ignores these messages
   */
  packetTooBig?: boolean;
}

/**
 * What a received packet says, or undefined when it cannot answer a probe. As mtr-packet:
 * port unreachable from the destination means the probe arrived (`reply`); any other
 * unreachable is `no-route` from the host that said so.
 */
export function decodeAnswer(p: Received, opts: DecodeAnswerOptions = {}): Answer | undefined {
  if (p.source === 'error') return decodeQueued(p);
  if (p.source === 'segment') return decodeSegment(p);
  const d =
    p.source === 'ping'
      ? p.family === 4
        ? decodeIcmpv4Message(p.data, p.from)
        : decodeIcmpv6Message(p.data, p.from)
      : p.family === 4
        ? decodeIPv4Packet(p.data)
        : decodeIcmpv6Message(p.data, p.from);
  // As mtr-packet: the first MAX_MPLS_LABELS entries, the rest dropped (and the line stays
  // within the reply buffer mtr reads).
  const mpls = 'mpls' in d && d.mpls !== undefined ? d.mpls.slice(0, MAX_MPLS_LABELS) : undefined;
  if (d.kind === 'ignored') return undefined;
  if (d.kind === 'echo-reply') {
    return {
      kind: 'echo',
      id: d.id,
      sequence: d.seq,
      length: icmpLength(p),
      pattern: echoPattern(p),
      detail: { replyTtl: d.replyTtl },
    };
  }
  const detail: AnswerDetail = { icmpType: d.type, icmpCode: d.code, mtu: d.mtu, replyTtl: d.replyTtl };
  switch (d.kind) {
    case 'time-exceeded':
      return { kind: 'quoted', type: 'ttl-expired', quoted: d.quoted, mpls, detail };
    case 'dest-unreachable':
      return {
        kind: 'quoted',
        type: d.code === (p.family === 4 ? 3 : 4) ? 'reply' : 'no-route',
        quoted: d.quoted,
        mpls,
        detail,
      };
    case 'packet-too-big':
      return opts.packetTooBig === true ? { kind: 'quoted', type: 'no-route', quoted: d.quoted, mpls, detail } : undefined;
    default:
      return undefined;
  }
}

/** A SYN-ACK or an acknowledging RST (what a SYN gets from its destination); anything else is no answer. */
function decodeSegment(p: Received): Answer | undefined {
  const s = decodeTcpSegment(p.data, p.family);
  if (s.kind !== 'tcp-segment' || (s.flags & TCP_FLAG_ACK) === 0 || (s.flags & (TCP_FLAG_SYN | TCP_FLAG_RST)) === 0) return undefined;
  return {
    kind: 'segment',
    srcPort: s.srcPort,
    dstPort: s.dstPort,
    ack: s.ack,
    detail: { replyTtl: p.family === 4 ? p.data[8] : undefined },
  };
}

/** The byte an echo reply's data repeats, -1 when its bytes differ, undefined when it has none. */
function echoPattern(p: Received): number | undefined {
  const d = p.data;
  const start = (p.source === 'raw' && p.family === 4 && d.length >= 20 ? (d[0]! & 0x0f) * 4 : 0) + 8;
  const end = start - 8 + icmpLength(p);
  if (end <= start || end > d.length) return undefined;
  const first = d[start]!;
  for (let i = start + 1; i < end; i++) if (d[i] !== first) return -1;
  return first;
}

/** The length of the ICMP message a received packet carries (raw IPv4: past its IP header, to its total length). */
function icmpLength(p: Received): number {
  const d = p.data;
  if (p.source !== 'raw' || p.family !== 4 || d.length < 20) return d.length;
  const ihl = (d[0]! & 0x0f) * 4;
  const total = (d[2]! << 8) | d[3]!;
  return Math.max(0, Math.min(total, d.length) - ihl);
}

/** The result an ICMP type/code stands for, by family numbering; undefined for kinds no probe waits for. */
export function resultOf(family: IpVersion, type: number, code: number): ProbeResultName | undefined {
  if (family === 4) {
    if (type === 11) return 'ttl-expired';
    if (type === 3) return code === 3 ? 'reply' : 'no-route';
  } else {
    if (type === 3) return 'ttl-expired';
    if (type === 1) return code === 4 ? 'reply' : 'no-route';
  }
  return undefined;
}

function decodeQueued(p: QueuedIcmpError): Answer | undefined {
  const type = resultOf(p.family, p.icmpType, p.icmpCode);
  if (type === undefined) return undefined;
  const d = p.data;
  const u16 = (at: number): number | undefined => (d.length >= at + 2 ? (d[at]! << 8) | d[at + 1]! : undefined);
  return {
    kind: 'queued',
    type,
    protocol: p.errProto,
    dst: p.origDst,
    icmpId: p.errProto === 'icmp' ? u16(4) : undefined,
    icmpSeq: p.errProto === 'icmp' ? u16(6) : undefined,
    srcPort: p.origSrcPort,
    dstPort: p.origDstPort,
    payloadSeq: p.errProto === 'udp' ? u16(0) : undefined,
    tcpId: p.tcpId,
    detail: { icmpType: p.icmpType, icmpCode: p.icmpCode },
  };
}

/**
 * What a datagram-mode probe sends: the ICMP echo (its identifier is the kernel's to set) or
 * the UDP payload. A UDP probe to a given port cannot carry its sequence in a port there (the
 * socket is shared), so it carries it in the first two payload bytes.
 */
export function buildDgramPayload(req: SendProbeRequest, family: IpVersion, sequence: number): Uint8Array | undefined {
  const ipHeader = family === 4 ? IPV4_HEADER_LEN : IPV6_HEADER_LEN;
  const limit = family === 4 ? PACKET_BUFFER_SIZE : PACKET_BUFFER_SIZE + IPV6_HEADER_LEN;
  if (req.size > limit) return undefined;
  if (req.protocol === 'icmp') {
    return buildIcmpEcho({ v6: family === 6, id: 0, seq: sequence, size: req.size, bitPattern: req.bitPattern });
  }
  if (req.protocol !== 'udp') return undefined;
  const payload = new Uint8Array(Math.max(req.size - ipHeader - UDP_HEADER_LEN, UDP_MIN_PAYLOAD));
  payload.fill(req.bitPattern & 0xff);
  if (req.port) {
    payload[0] = sequence >> 8;
    payload[1] = sequence & 0xff;
  }
  return payload;
}
