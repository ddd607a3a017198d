// The typed outcome every probe settles with (reply.ts sorts parsed replies into them).

import { parseReply } from '@mtr-ts/protocol';
import { outcomeOf } from './reply.js';

/** One MPLS label stack entry (RFC 4950) quoted by a router, in mtr-packet's order. */
export interface MplsLabel {
  label: number;
  /** traffic class */
  tc: number;
  /** bottom-of-stack bit, 0 or 1 */
  bottomOfStack: number;
  ttl: number;
}

export type ProbeProtocol = 'icmp' | 'udp' | 'tcp' | 'sctp';
export type IpVersion = 4 | 6;

/**
 * The kinds of ICMP Destination Unreachable: mtr-packet 0.95 says `no-route` for all of them,
 * later versions (and mtr-packet-ts when asked for the 0.96 dialect) split them.
 */
export type UnreachableReason = 'no-route' | 'no-route-network' | 'no-route-host' | 'host-down';

/** Reply words that refuse a probe instead of reporting on the network. */
export type RefusalReason =
  | 'invalid-argument'
  | 'probes-exhausted'
  | 'permission-denied'
  | 'address-in-use'
  | 'address-not-available'
  | 'unexpected-error'
  | 'unknown-command'
  | 'command-parse-error'
  | 'command-buffer-overflow'
  /** a reply this client does not know (a newer packet program, or garbage after a valid token) */
  | 'unknown-reply';

/**
 * What the `icmp-detail` extension adds to an answer (mtr-packet-ts only, after
 * `checkSupport('icmp-detail')` answered `ok`): each field only when the packet program knows it.
 */
export interface IcmpDetail {
  /** ICMP type and code of an answer that was an ICMP error (ICMPv6 numbering for IPv6) */
  readonly icmpType?: number | undefined;
  readonly icmpCode?: number | undefined;
  /** the MTU a Fragmentation-Needed / Packet-Too-Big answer reported */
  readonly mtu?: number | undefined;
  /** the IP TTL / hop limit the answer arrived with */
  readonly replyTtl?: number | undefined;
}

/** What the `flow` extension adds to an answer (mtr-packet-ts, after `checkSupport('flow')`). */
export interface FlowDetail {
  /** a flow probe's quote came back with its flow fields rewritten: a NAT on the way */
  readonly nat?: true;
}

export type ProbeOutcome =
  /** the destination answered (ICMP echo reply, UDP port unreachable, TCP SYN-ACK or RST, ...) */
  | ({ readonly kind: 'reply'; readonly address: string; readonly rtt: number; readonly mpls: readonly MplsLabel[] | undefined } & IcmpDetail & FlowDetail)
  /** a router on the way answered Time Exceeded: it is the hop at this TTL */
  | ({ readonly kind: 'ttl-expired'; readonly address: string; readonly rtt: number; readonly mpls: readonly MplsLabel[] | undefined } & IcmpDetail & FlowDetail)
  /** a router or the destination answered Destination Unreachable: the path ends there */
  | ({
      readonly kind: 'unreachable';
      readonly reason: UnreachableReason;
      readonly address: string;
      readonly rtt: number;
      readonly mpls: readonly MplsLabel[] | undefined;
    } & IcmpDetail & FlowDetail)
  /** nothing came back within the probe's timeout */
  | { readonly kind: 'no-reply' }
  /**
   * the packet program's own host could not send it: no route, the network is down, or (extension
   * `dont-fragment`) a don't-fragment probe larger than the path MTU the host already knows, with that MTU
   * when the packet program saw it reported
   */
  | { readonly kind: 'send-failed'; readonly reason: 'no-route' | 'network-down' }
  | { readonly kind: 'send-failed'; readonly reason: 'packet-too-big'; readonly mtu?: number | undefined }
  /** the packet program refused the probe; `message` is mtr's wording */
  | {
      readonly kind: 'refused';
      readonly reason: RefusalReason;
      readonly message: string;
      /** invalid-argument's reason word, unexpected-error's errno, or an unknown reply's whole line */
      readonly detail: string | undefined;
    };

/** Outcomes that name an answering host (`rtt` is in microseconds). */
export type AnsweredOutcome = Extract<ProbeOutcome, { address: string }>;

/** The outcome a reply line stands for; undefined for a line that is not a reply (fewer than two words). */
export function outcomeOfLine(line: string): ProbeOutcome | undefined {
  const r = parseReply(line);
  return r === undefined ? undefined : outcomeOf(r);
}
