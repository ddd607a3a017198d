// The typed face of mtr-packet's line protocol. Every other package speaks in these types;
// only protocol/ turns them into text and back.

export type IpVersion = 4 | 6;
export type ProbeProtocol = 'icmp' | 'udp' | 'tcp' | 'sctp';

/** One MPLS label stack entry (RFC 4950), in mtr-packet's reply order: label,tc,s,ttl. */
export interface MplsLabel {
  label: number;
  /** traffic class (the former "experimental use" bits) */
  tc: number;
  /** bottom-of-stack bit, 0 or 1 */
  bottomOfStack: number;
  ttl: number;
}

/** A syntactically valid command line: token, command word, name/value pairs in order. */
export interface RawCommand {
  token: number;
  name: string;
  args: Array<[name: string, value: string]>;
}

/** `send-probe` after argument decoding (mtr-packet's defaults applied). */
export interface SendProbeRequest {
  token: number;
  command: 'send-probe';
  /** undefined when the request named neither ip-4 nor ip-6 */
  ipVersion: IpVersion | undefined;
  /** the ip-4 / ip-6 value exactly as sent; validated by the packet process */
  address: string | undefined;
  protocol: ProbeProtocol;
  /** destination port; 0 when not given */
  port: number;
  localAddress: string | undefined;
  /** 0 when not given */
  localPort: number;
  ttl: number;
  /** bytes including IP and transport headers */
  size: number;
  bitPattern: number;
  tos: number;
  /** undefined when not given (a given mark of 0 is still a request to set SO_MARK 0) */
  mark: number | undefined;
  /** seconds */
  timeout: number;
  localDevice: string | undefined;
  /** extension `dont-fragment` (only decoded when the session turned it on): set DF / no fragmentation */
  dontFragment?: boolean | undefined;
  /**
   * extension `flow` (not in 0.95): send-probe `flow N` as given (any int; -1 when its value is not
   * one); the daemon honours it only after `check-support feature flow`. Absent when not given.
   */
  flow?: number;
}

export interface CheckSupportRequest {
  token: number;
  command: 'check-support';
  feature: string;
}

export interface UnknownCommandRequest {
  token: number;
  command: 'unknown';
  name: string;
}

export type Request = SendProbeRequest | CheckSupportRequest | UnknownCommandRequest;

/** Replies that carry the answering host and the round-trip time. */
export type ProbeResultName =
  | 'reply'
  | 'ttl-expired'
  | 'no-route'
  // later mtr versions' words for ICMP unreachable answers; the front-end understands them
  | 'no-route-network'
  | 'no-route-host'
  | 'host-down';

export interface ProbeResultReply {
  token: number;
  type: ProbeResultName;
  ipVersion: IpVersion;
  address: string;
  /** microseconds */
  roundTripTime: number;
  mpls: MplsLabel[] | undefined;
  // extension `icmp-detail` (not in 0.95): present only when the session turned it on and the daemon knows them
  /** ICMP type / code of the answer when it was an ICMP error (ICMPv6 numbering for IPv6) */
  icmpType?: number | undefined;
  icmpCode?: number | undefined;
  /** the MTU of a Fragmentation-Needed / Packet-Too-Big answer */
  mtu?: number | undefined;
  /** the IP TTL / hop limit the answer arrived with */
  replyTtl?: number | undefined;
  /** extension `flow` (not in 0.95): `nat 1`, the quoted probe's flow fields were rewritten on the way */
  nat?: true;
}

/** Replies that are only a word after the token. */
export type BareReplyName =
  | 'no-reply'
  | 'no-route'
  /** the 0.96 dialect's send errors (ENETUNREACH, EHOSTUNREACH, EHOSTDOWN) */
  | 'no-route-network'
  | 'no-route-host'
  | 'host-down'
  | 'network-down'
  | 'permission-denied'
  | 'probes-exhausted'
  | 'address-in-use'
  | 'address-not-available'
  | 'unknown-command'
  | 'command-parse-error'
  | 'command-buffer-overflow';

export interface BareReply {
  token: number;
  type: BareReplyName;
}

export interface InvalidArgumentReply {
  token: number;
  type: 'invalid-argument';
  /** e.g. 'ip-version-not-supported', 'protocol-not-supported'; undefined for the bare form */
  reason: string | undefined;
}

export interface UnexpectedErrorReply {
  token: number;
  type: 'unexpected-error';
  errno: number;
}

export interface FeatureSupportReply {
  token: number;
  type: 'feature-support';
  /** 'ok', 'no', or the version string for feature `version` */
  support: string;
}

/** extension `dont-fragment`: the probe was larger than the known path MTU and was not sent (names.ts EXT_REPLY) */
export interface PacketTooBigReply {
  token: number;
  type: 'packet-too-big';
  mtu: number | undefined;
}

/** Any line we do not understand is kept whole, never dropped. */
export interface UnknownReply {
  token: number;
  type: 'unknown';
  name: string;
  args: Array<[name: string, value: string]>;
  line: string;
}

export type Reply =
  | ProbeResultReply
  | BareReply
  | InvalidArgumentReply
  | UnexpectedErrorReply
  | FeatureSupportReply
  | PacketTooBigReply
  | UnknownReply;
