// Which probe in flight an answer is for. Pure: the daemon's tables are reached through
// `MatchLookup`, so the rules below are tested as a table of cases (packet/test/matcher.test.ts).
//
// By our ICMP identifier and sequence, or by the ports that carry the sequence (UDP: destination
// port, source port or checksum, as mtr-packet places it; TCP/SCTP: the source port), and always
// the same family, protocol and destination. Flow probes (extension `flow`): ICMP by sequence with the
// flow's identifier and checksum; UDP by the checksum (the sequence) with both ports and, where quoted,
// the daemon's payload tag; TCP (a raw SYN) by its sequence number (the daemon's tag and the sequence,
// codec.ts tcpFlowIsn) with both ports, quoted in a Time Exceeded or acknowledged + 1 by the
// destination's SYN-ACK or RST. matchNatRewrite finds flow probes whose flow fields a NAT rewrote.

import { flowTagOk, tcpFlowTag, type Answer } from './codec.js';
import type { Probe } from './probes.js';
import type { Received } from './transport.js';

export interface MatchLookup {
  /** the probe in flight with this sequence */
  bySequence(sequence: number): Probe | undefined;
  /** the TCP probe with this native probe id */
  byTcpId(id: number): Probe | undefined;
  /** the sequence a UDP flow probe with this IPv4 identification has (codec.ts udpFlowSequence) */
  udpFlowSequence?(ipId: number): number;
  /** the daemon's tag in its UDP flow probes' payloads (codec.ts flowTagOk) */
  flowTag?(): Uint8Array;
  /** the ICMP identifier our echo requests carry for packets from this source and family */
  icmpId(source: Received['source'], family: 4 | 6): number;
}

/**
 * The probe `a` answers, or undefined. Beyond the identity above, an answer is refused when it
 * cannot be the probe's own: stamped before the probe left (a late answer for an earlier owner of
 * the sequence or port, ours or another process's), an echo reply of another length than our
 * request or with data other than its bit pattern (IPv4 and IPv6), or (raw IPv4) a quoted probe with another IPv4 identification than ours (another
 * prober that drew the same ICMP identifier).
 */
export function matchAnswer(a: Answer, p: Received, lookup: MatchLookup): Probe | undefined {
  const probe = find(a, p, lookup);
  if (probe === undefined || p.rxNs < probe.txNs) return undefined;
  if (a.kind === 'echo' && probe.icmpLength !== undefined && a.length !== probe.icmpLength) return undefined;
  if (a.kind === 'echo' && probe.icmpPattern !== undefined && a.pattern !== undefined && a.pattern !== probe.icmpPattern) {
    return undefined;
  }
  if (a.kind === 'quoted' && probe.ipId !== undefined && a.quoted.ipId !== undefined && a.quoted.ipId !== probe.ipId) {
    return undefined;
  }
  return probe;
}

/**
 * The probe, if it has p's family, this protocol and (when given) this destination (echo: where
 * its echo reply comes from). A function of its own, not a closure made per answer.
 */
function same(
  p: Received,
  probe: Probe | undefined,
  protocol: Probe['protocol'],
  dst: Uint8Array | undefined,
  echo = false,
): Probe | undefined {
  return probe !== undefined &&
    probe.family === p.family &&
    probe.protocol === protocol &&
    (dst === undefined || sameBytes(dst, echo ? (probe.echoFrom ?? probe.dst) : probe.dst))
    ? probe
    : undefined;
}

function find(a: Answer, p: Received, lookup: MatchLookup): Probe | undefined {
  const icmpId = lookup.icmpId(p.source, p.family);
  switch (a.kind) {
    case 'segment': {
      // the destination's SYN-ACK or RST: from the probe's destination and port, to its source port,
      // acknowledging its ISN + 1 (the daemon's tag and the sequence)
      const probe = tcpFlowProbe(lookup, (a.ack - 1) >>> 0);
      return same(p, probe, 'tcp', p.from) !== undefined && probe!.srcPort === a.dstPort && probe!.dstPort === a.srcPort
        ? probe
        : undefined;
    }
    case 'echo': {
      const probe = same(p, lookup.bySequence(a.sequence), 'icmp', p.from, true);
      // a flow probe's echo carries its flow's identifier
      return probe !== undefined && a.id === (probe.flowIcmpId ?? icmpId) ? probe : undefined;
    }
    case 'queued':
      switch (a.protocol) {
        case 'icmp':
          return a.icmpId === icmpId && a.icmpSeq !== undefined ? same(p, lookup.bySequence(a.icmpSeq), 'icmp', a.dst) : undefined;
        case 'udp': {
          const seq = a.payloadSeq !== undefined && lookup.bySequence(a.dstPort ?? -1) === undefined ? a.payloadSeq : a.dstPort;
          const probe = same(p, lookup.bySequence(seq ?? -1), 'udp', a.dst);
          return probe !== undefined && probe.dstPort === a.dstPort && probe.srcPort === a.srcPort ? probe : undefined;
        }
        case 'tcp':
          return a.tcpId === undefined ? undefined : lookup.byTcpId(a.tcpId);
      }
      return undefined;
    case 'quoted': {
      const q = a.quoted;
      switch (q.protocol) {
        case 'icmp': {
          if (q.icmpSeq === undefined) return undefined;
          const probe = same(p, lookup.bySequence(q.icmpSeq), 'icmp', q.dst);
          if (probe === undefined) return undefined;
          // a flow probe: its flow's identifier and checksum, both as sent
          if (probe.flow !== undefined) {
            return q.icmpId === probe.flowIcmpId && q.icmpChecksum === probe.flowChecksum ? probe : undefined;
          }
          return q.icmpId === icmpId ? probe : undefined;
        }
        case 'udp': {
          // a flow probe carries its sequence in the checksum only (its source port is no sequence)
          if (q.udpChecksum !== undefined) {
            const probe = same(p, lookup.bySequence(q.udpChecksum), 'udp', q.dst);
            if (probe?.flow !== undefined) {
              const tagged = lookup.flowTag === undefined || flowTagOk(q.tail, lookup.flowTag());
              return tagged && probe.srcPort === q.srcPort && probe.dstPort === q.dstPort ? probe : undefined;
            }
          }
          for (const s of [q.dstPort, q.srcPort, q.udpChecksum]) {
            if (s === undefined) continue;
            const probe = same(p, lookup.bySequence(s), 'udp', q.dst);
            if (probe !== undefined && probe.flow === undefined && probe.srcPort === q.srcPort && probe.dstPort === q.dstPort) {
              return probe;
            }
          }
          return undefined;
        }
        case 'tcp':
        case 'sctp': {
          if (q.srcPort === undefined) return undefined;
          if (q.tcpSeq !== undefined) {
            // a flow probe: its quoted sequence number, with both ports as sent
            const flowProbe = same(p, tcpFlowProbe(lookup, q.tcpSeq), 'tcp', q.dst);
            if (flowProbe !== undefined && flowProbe.srcPort === q.srcPort && flowProbe.dstPort === q.dstPort) return flowProbe;
          }
          const probe = same(p, lookup.bySequence(q.srcPort), q.protocol, q.dst);
          return probe !== undefined && probe.flow === undefined && probe.dstPort === q.dstPort ? probe : undefined;
        }
      }
    }
  }
}

/** The TCP flow probe whose ISN is `isn` (this daemon's tag in its high 16 bits), if in flight. */
function tcpFlowProbe(lookup: MatchLookup, isn: number): Probe | undefined {
  if (lookup.flowTag === undefined || isn >>> 16 !== tcpFlowTag(lookup.flowTag())) return undefined;
  const probe = lookup.bySequence(isn & 0xffff);
  return probe?.protocol === 'tcp' && probe.flow !== undefined ? probe : undefined;
}

/**
 * NAT seen (extension `flow`): an ICMP error quoting one of our flow probes whose flow fields were
 * rewritten on the way (the ICMP identifier or checksum; the UDP or TCP source port, the UDP
 * checksum), so that matchAnswer found nothing. The probe is found by what a NAT leaves alone, and
 * must still be ours: same family, destination and destination port, taken after it left.
 *   - TCP (IPv4 and IPv6): the quoted sequence number (the daemon's tag and the sequence); IPv4 also
 *     our IPv4 identification.
 *   - IPv4 ICMP: the sequence, and our IPv4 identification; IPv4 UDP: the IPv4 identification, which
 *     carries the sequence (udpFlowIpId), and the daemon's payload tag where quoted.
 *   - IPv6 (whose routers quote the whole probe, and which has no identification): ICMP by the
 *     sequence with the daemon's tag in the quoted payload; UDP by the sequence after the tag in the
 *     quoted payload (codec.ts udpFlowTail). Without the tag quoted, nothing is taken.
 * Called only when matchAnswer found no probe.
 */
export function matchNatRewrite(a: Answer, p: Received, lookup: MatchLookup): Probe | undefined {
  if (a.kind !== 'quoted') return undefined;
  const q = a.quoted;
  const v4 = p.family === 4;
  if (v4 && q.ipId === undefined) return undefined;
  let probe: Probe | undefined;
  if (q.protocol === 'tcp') {
    if (q.tcpSeq === undefined) return undefined;
    probe = tcpFlowProbe(lookup, q.tcpSeq);
    if (probe === undefined || probe.dstPort !== q.dstPort || (v4 && probe.ipId !== q.ipId)) return undefined;
    if (q.srcPort === probe.srcPort) return undefined;
  } else if (q.protocol === 'icmp' && q.icmpSeq !== undefined) {
    probe = lookup.bySequence(q.icmpSeq);
    if (probe === undefined || probe.protocol !== 'icmp') return undefined;
    if (v4 ? probe.ipId !== q.ipId : !taggedTail(q.tail, lookup)) return undefined;
    if (q.icmpId === probe.flowIcmpId && q.icmpChecksum === probe.flowChecksum) return undefined;
  } else if (q.protocol === 'udp') {
    if (v4) {
      if (lookup.udpFlowSequence === undefined) return undefined;
      probe = lookup.bySequence(lookup.udpFlowSequence(q.ipId!));
      if (probe === undefined || probe.ipId !== q.ipId) return undefined;
      if (lookup.flowTag !== undefined && !flowTagOk(q.tail, lookup.flowTag())) return undefined;
    } else {
      const t = q.tail;
      if (t === undefined || !taggedTail(t, lookup)) return undefined;
      const at = 2 + lookup.flowTag!().length;
      if (t.length < at + 2) return undefined;
      probe = lookup.bySequence((t[at]! << 8) | t[at + 1]!);
    }
    if (probe === undefined || probe.protocol !== 'udp' || probe.dstPort !== q.dstPort) return undefined;
    if (q.srcPort === probe.srcPort && q.udpChecksum === probe.sequence) return undefined;
  } else {
    return undefined;
  }
  if (probe.flow === undefined || probe.family !== p.family || !sameBytes(q.dst, probe.dst) || p.rxNs < probe.txNs) return undefined;
  return probe;
}

/** Whether a quote's tail holds the daemon's tag after the two compensating bytes (strict: quoted at all). */
function taggedTail(tail: Uint8Array | undefined, lookup: MatchLookup): boolean {
  if (lookup.flowTag === undefined || tail === undefined) return false;
  const tag = lookup.flowTag();
  return tail.length >= 2 + tag.length && flowTagOk(tail, tag);
}

/**
 * NAT seen on an answer matchAnswer took: the quote's source address is not the one the flow probe
 * left from (a NAT rewrote it: IPv6 prefix translation keeps every checksum, so only this shows it).
 */
export function quotedSourceRewritten(a: Answer, probe: Probe): boolean {
  return a.kind === 'quoted' && probe.flow !== undefined && probe.src !== undefined && !sameBytes(a.quoted.src, probe.src);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
