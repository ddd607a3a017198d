// The three ways a probe leaves, one function each: raw sockets (we build the packet), datagram
// sockets (unprivileged: the kernel builds the headers and owns the ICMP identifier), and a real
// connect() for TCP and SCTP. Each returns what the daemon must remember of the send (Sent), or
// undefined when the request cannot be built (answered invalid-argument); send errors are thrown.

import { ERRNO, type SendProbeRequest } from '@mtr-ts/protocol';
import { buildDgramPayload, buildProbe, icmpFlowIdentity, needsSource, udpFlowIpId } from './codec.js';
import type { ProbeTable } from './probes.js';
import type { SourceCache } from './source-cache.js';
import { isSendError, type ProbeOptions, type SendOptions, type SendOptions6, type Transport } from './transport.js';

const HTTP_PORT = 80;
/**
 * source ports tried for one TCP probe before its bind error is the answer: other probers' ports
 * and quarantined ones are skipped (a failed bind costs a few µs)
 */
const MAX_PORT_ATTEMPTS = 1024;
/** a TCP probe's port quarantine is its timeout, at most this */
const MAX_QUARANTINE_MS = 60_000;
/** how long a TCP probe whose connect a router aborted waits for that router's ICMP message */
/** IPv6 raw socket protocol per probe protocol (ICMP probes are ICMPv6 there). */
const PROTOCOL_NUMBERS_V6 = { icmp: 58, udp: 17, tcp: 6, sctp: 132 } as const;

/** What the strategies use of the daemon. */
export interface SenderContext {
  readonly transport: Transport;
  readonly probes: ProbeTable;
  readonly sources: SourceCache;
  readonly icmpId: number;
  readonly ipId: number;
  /** extension `flow`: the source port of flow 0 when the client gives no local-port */
  readonly flowPortBase: number;
  /** extension `flow`: the daemon's 4-byte tag in UDP flow payloads */
  readonly flowTag: Uint8Array;
  /** a fresh txId for a raw send's transmit stamp */
  takeTxId(): number;
  /** datagram mode: the ping socket's port, which the kernel made the ICMP identifier */
  pingSocketPort(family: 4 | 6, port: number): void;
}

/** What the daemon keeps of a send. */
export interface Sent {
  /** departure (ns) */
  txNs: number;
  srcPort: number;
  dstPort: number;
  sequence: number;
  /** the native TCP probe id; -1 for the others */
  tcpId: number;
  /** raw sends: the id its transmit stamp will carry */
  txId?: number;
  /**
   * raw sends through the transport's rawQueue: the send's index there. It has not left yet: txNs
   * is NaN until the queue is flushed, and a send error comes from the flush.
   */
  queued?: number;
  /** raw IPv4: the IPv4 identification it carries */
  ipId?: number;
  /** ICMP: the echo request's length */
  icmpLength?: number;
  /** ICMP: the byte its data repeats */
  icmpPattern?: number;
  /** extension `flow`: the flow, and for ICMP the identifier and checksum it carries */
  flow?: number;
  flowIcmpId?: number;
  flowChecksum?: number;
  /** extension `flow`: the source address the probe left from, where known */
  src?: Uint8Array;
}

/** Raw sockets: we build the packet (IPv4 with its header; IPv6 from the transport header). */
export function sendRaw(
  c: SenderContext,
  req: SendProbeRequest,
  family: 4 | 6,
  dst: Uint8Array,
  src: Uint8Array | undefined,
  opts: ProbeOptions,
  flow?: number,
): Sent | undefined {
  const sequence = c.probes.allocateSequence();
  const source = src ?? (needsSource(req, family, flow) ? c.sources.get(family, dst) : undefined);
  // a UDP flow probe's IPv4 identification carries its sequence too (codec.ts udpFlowIpId)
  const ipId = flow !== undefined && req.protocol === 'udp' ? udpFlowIpId(c.ipId, sequence) : c.ipId;
  // Objects on this path are built whole, each with one shape: no spread (a runtime call in V8),
  // and no property added later (the maps such objects pass through are held weakly; when one
  // dies in a GC, the optimized code that checked it is thrown away).
  const built = buildProbe({
    req,
    family,
    dst,
    src: source,
    id:
      flow === undefined
        ? { icmpId: c.icmpId, sequence, ipId, flow: undefined, flowPortBase: undefined, flowTag: undefined }
        : { icmpId: c.icmpId, sequence, ipId, flow, flowPortBase: c.flowPortBase, flowTag: c.flowTag },
  });
  if (built === undefined) return undefined;
  const txId = c.takeTxId();
  const sendOpts: SendOptions = { mark: opts.mark, device: opts.device, txId };
  // A probe with a device goes alone (its interface is looked up per send); the others wait for
  // the slice's batch when the transport has one.
  const queue = opts.device === undefined ? c.transport.rawQueue : undefined;
  let txNs = NaN;
  let queued: number | undefined;
  if (queue !== undefined) {
    queued =
      family === 4
        ? queue.queueIPv4(built.bytes, dst, sendOpts)
        : queue.queueIPv6(PROTOCOL_NUMBERS_V6[req.protocol], built.bytes, dst, v6Options(sendOpts, req, src));
  } else {
    txNs =
      family === 4
        ? c.transport.sendIPv4(built.bytes, dst, sendOpts)
        : c.transport.sendIPv6(PROTOCOL_NUMBERS_V6[req.protocol], built.bytes, dst, v6Options(sendOpts, req, src));
  }
  const icmp = req.protocol === 'icmp';
  const f = flow !== undefined && icmp ? icmpFlowIdentity(c.icmpId, flow) : undefined;
  return {
    txNs,
    srcPort: built.srcPort,
    dstPort: built.dstPort,
    sequence,
    tcpId: -1,
    txId,
    queued,
    ipId: family === 4 ? ipId : undefined,
    icmpLength: icmp ? (family === 4 ? built.bytes.length - 20 : built.bytes.length) : undefined,
    // a flow probe's data starts with its checksum compensation: not the pattern alone
    icmpPattern: icmp && flow === undefined ? req.bitPattern & 0xff : undefined,
    flow,
    flowIcmpId: f?.id,
    flowChecksum: f?.checksum,
    src: flow !== undefined ? source : undefined,
  };
}

/** A Sent of the datagram or stream strategies: the raw-only fields absent. */
function sentOf(txNs: number, srcPort: number, dstPort: number, sequence: number, tcpId: number): Sent {
  return {
    txNs,
    srcPort,
    dstPort,
    sequence,
    tcpId,
    txId: undefined,
    queued: undefined,
    ipId: undefined,
    icmpLength: undefined,
    icmpPattern: undefined,
    flow: undefined,
    flowIcmpId: undefined,
    flowChecksum: undefined,
    src: undefined,
  };
}

function v6Options(o: SendOptions, req: SendProbeRequest, src: Uint8Array | undefined): SendOptions6 {
  const v6: SendOptions6 = { hopLimit: req.ttl, trafficClass: req.tos };
  // extension dont-fragment: IPv6 has no DF bit; IPV6_DONTFRAG keeps this host from fragmenting it
  if (req.dontFragment === true) v6.dontFragment = true;
  if (o.mark !== undefined) v6.mark = o.mark;
  if (o.device !== undefined) v6.device = o.device;
  if (o.txId !== undefined) v6.txId = o.txId;
  if (src) v6.src = src;
  return v6;
}

/** Datagram sockets (no privileges): the kernel builds the headers and owns the ICMP identifier. */
export function sendDgram(
  c: SenderContext,
  req: SendProbeRequest,
  family: 4 | 6,
  dst: Uint8Array,
  opts: ProbeOptions,
): Sent | undefined {
  const sequence = c.probes.allocateSequence();
  const payload = buildDgramPayload(req, family, sequence);
  if (payload === undefined) return undefined;
  const proto = req.protocol === 'icmp' ? 'icmp' : 'udp';
  const dstPort = proto === 'udp' ? req.port || sequence : 0;
  const r = c.transport.sendDgram(family, proto, payload, dst, dstPort, opts);
  if (proto === 'icmp') c.pingSocketPort(family, r.localPort);
  const sent = sentOf(r.txNs, proto === 'udp' ? r.localPort : 0, dstPort, sequence, -1);
  if (proto === 'icmp') {
    sent.icmpLength = payload.length;
    sent.icmpPattern = req.bitPattern & 0xff;
  }
  return sent;
}

/**
 * TCP and SCTP: a real connect() from the sequence as source port, as mtr-packet does (port 80
 * unless given); a port still in use by anyone is skipped (the bind fails) and the next
 * sequence is tried.
 */
export function sendStream(
  c: SenderContext,
  req: SendProbeRequest,
  family: 4 | 6,
  dst: Uint8Array,
  opts: ProbeOptions,
): Sent {
  // 0.95 keeps the port as the int it parsed and htons() cuts it to 16 bits
  const dstPort = req.port ? req.port & 0xffff : HTTP_PORT;
  const protocol = req.protocol === 'sctp' ? 'sctp' : 'tcp';
  // The port stays taken for the probe's timeout after it ends: an answer for it arriving late
  // cannot be taken for a later probe's (ours or another prober's) on the same port.
  const quarantineMs = Math.min(Math.max(0, Math.round(req.timeout * 1000)), MAX_QUARANTINE_MS);
  for (let attempt = 0; ; attempt++) {
    const sequence = c.probes.allocateSequence();
    try {
      const r = c.transport.connectTcp(family, dst, dstPort, sequence, { ...opts, protocol, quarantineMs });
      return sentOf(r.txNs, sequence, dstPort, sequence, r.id);
    } catch (e) {
      const retry = isSendError(e) && (e.errno === ERRNO.EADDRINUSE || e.errno === ERRNO.EADDRNOTAVAIL);
      if (!retry || attempt >= MAX_PORT_ATTEMPTS) throw e;
    }
  }
}
