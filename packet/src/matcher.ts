// Which probe in flight an answer is for. Pure: the daemon's tables are reached through
// `MatchLookup`, so the rules below are tested as a table of cases (packet/test/matcher.test.ts).
//
// By our ICMP identifier and sequence, or by the ports that carry the sequence (UDP: destination
// port, source port or checksum, as mtr-packet places it; TCP/SCTP: the source port), and always
// the same family, protocol and destination.

import type { Answer } from './codec.js';
import type { Probe } from './probes.js';
import type { Received } from './transport.js';

export interface MatchLookup {
  /** the probe in flight with this sequence */
  bySequence(sequence: number): Probe | undefined;
  /** the TCP probe with this native probe id */
  byTcpId(id: number): Probe | undefined;
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

function find(a: Answer, p: Received, lookup: MatchLookup): Probe | undefined {
  const same = (
    probe: Probe | undefined,
    protocol: Probe['protocol'],
    dst: Uint8Array | undefined,
    echo = false,
  ): Probe | undefined =>
    probe !== undefined &&
    probe.family === p.family &&
    probe.protocol === protocol &&
    (dst === undefined || sameBytes(dst, echo ? (probe.echoFrom ?? probe.dst) : probe.dst))
      ? probe
      : undefined;
  const icmpId = lookup.icmpId(p.source, p.family);
  switch (a.kind) {
    case 'echo':
      return a.id === icmpId ? same(lookup.bySequence(a.sequence), 'icmp', p.from, true) : undefined;
    case 'queued':
      switch (a.protocol) {
        case 'icmp':
          return a.icmpId === icmpId && a.icmpSeq !== undefined ? same(lookup.bySequence(a.icmpSeq), 'icmp', a.dst) : undefined;
        case 'udp': {
          const seq = a.payloadSeq !== undefined && lookup.bySequence(a.dstPort ?? -1) === undefined ? a.payloadSeq : a.dstPort;
          const probe = same(lookup.bySequence(seq ?? -1), 'udp', a.dst);
          return probe !== undefined && probe.dstPort === a.dstPort && probe.srcPort === a.srcPort ? probe : undefined;
        }
        case 'tcp':
          return a.tcpId === undefined ? undefined : lookup.byTcpId(a.tcpId);
      }
      return undefined;
    case 'quoted': {
      const q = a.quoted;
      switch (q.protocol) {
        case 'icmp':
          if (q.icmpId !== icmpId || q.icmpSeq === undefined) return undefined;
          return same(lookup.bySequence(q.icmpSeq), 'icmp', q.dst);
        case 'udp':
          for (const s of [q.dstPort, q.srcPort, q.udpChecksum]) {
            if (s === undefined) continue;
            const probe = same(lookup.bySequence(s), 'udp', q.dst);
            if (probe !== undefined && probe.srcPort === q.srcPort && probe.dstPort === q.dstPort) return probe;
          }
          return undefined;
        case 'tcp':
        case 'sctp': {
          if (q.srcPort === undefined) return undefined;
          const probe = same(lookup.bySequence(q.srcPort), q.protocol, q.dst);
          return probe !== undefined && probe.dstPort === q.dstPort ? probe : undefined;
        }
      }
    }
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
