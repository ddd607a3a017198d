// Every word of mtr-packet's line protocol, written once. Types are derived from these tables;
// the compile-time checks at the bottom tie them to the hand-written unions in types.ts.

import type { BareReplyName, ProbeProtocol, ProbeResultName } from './types.js';

/** Limits of mtr-packet 0.95 (packet/cmdparse.h, packet/command.h). */
export const COMMAND_BUFFER_SIZE = 4096;
/** A pending line that reaches this many bytes without a newline overflows (the buffer keeps one byte for NUL). */
export const MAX_LINE_BYTES = COMMAND_BUFFER_SIZE - 1;
export const MAX_COMMAND_ARGUMENTS = 16;
/** token + command name + 16 name/value pairs */
export const MAX_COMMAND_TOKENS = MAX_COMMAND_ARGUMENTS * 2 + 2;
/** MPLS label stack entries a reply carries at most (packet/probe.h MAX_MPLS_LABELS); the rest are dropped. */
export const MAX_MPLS_LABELS = 8;
/** mtr's buffer for one reply line from mtr-packet (ui/cmdpipe.h PACKET_REPLY_BUFFER_SIZE): no reply line may be longer. */
export const REPLY_BUFFER_SIZE = 4096;
/** `local-port` below this is refused with `invalid-argument` (privileged ports). */
export const MIN_LOCAL_PORT = 1024;

export const COMMAND = {
  sendProbe: 'send-probe',
  checkSupport: 'check-support',
} as const;
export type CommandName = (typeof COMMAND)[keyof typeof COMMAND];

/** Argument names of `send-probe` and `check-support`. */
export const ARG = {
  ip4: 'ip-4',
  ip6: 'ip-6',
  localIp4: 'local-ip-4',
  localIp6: 'local-ip-6',
  protocol: 'protocol',
  port: 'port',
  localPort: 'local-port',
  tos: 'tos',
  mark: 'mark',
  size: 'size',
  bitPattern: 'bit-pattern',
  ttl: 'ttl',
  timeout: 'timeout',
  /** not known to 0.95 (it ignores the pair); later mtr front-ends send it */
  localDevice: 'local-device',
  feature: 'feature',
} as const;
export type ArgumentName = (typeof ARG)[keyof typeof ARG];

/** Argument names inside replies. */
export const REPLY_ARG = {
  ip4: 'ip-4',
  ip6: 'ip-6',
  roundTripTime: 'round-trip-time',
  mpls: 'mpls',
  reason: 'reason',
  errno: 'errno',
  support: 'support',
} as const;
export type ReplyArgumentName = (typeof REPLY_ARG)[keyof typeof REPLY_ARG];

export const PROTOCOLS = ['icmp', 'udp', 'tcp', 'sctp'] as const;

/** Replies carrying `ip-4|ip-6 ADDR round-trip-time US [mpls ...]`. */
export const PROBE_RESULT_REPLIES = [
  'reply',
  'ttl-expired',
  'no-route',
  'no-route-network',
  'no-route-host',
  'host-down',
] as const;

/** Replies that are only a word after the token. */
export const BARE_REPLIES = [
  'no-reply',
  'no-route',
  'no-route-network',
  'no-route-host',
  'host-down',
  'network-down',
  'permission-denied',
  'probes-exhausted',
  'address-in-use',
  'address-not-available',
  'unknown-command',
  'command-parse-error',
  'command-buffer-overflow',
] as const;

export const REPLY = {
  reply: 'reply',
  ttlExpired: 'ttl-expired',
  noRoute: 'no-route',
  noRouteNetwork: 'no-route-network',
  noRouteHost: 'no-route-host',
  hostDown: 'host-down',
  noReply: 'no-reply',
  networkDown: 'network-down',
  permissionDenied: 'permission-denied',
  probesExhausted: 'probes-exhausted',
  invalidArgument: 'invalid-argument',
  addressInUse: 'address-in-use',
  addressNotAvailable: 'address-not-available',
  unexpectedError: 'unexpected-error',
  featureSupport: 'feature-support',
  unknownCommand: 'unknown-command',
  commandParseError: 'command-parse-error',
  commandBufferOverflow: 'command-buffer-overflow',
} as const;
export type ReplyName = (typeof REPLY)[keyof typeof REPLY];

/** `invalid-argument reason WORD` words used by mtr-packet 0.95. */
export const INVALID_ARGUMENT_REASON = {
  ipVersionNotSupported: 'ip-version-not-supported',
  protocolNotSupported: 'protocol-not-supported',
} as const;
export type InvalidArgumentReason = (typeof INVALID_ARGUMENT_REASON)[keyof typeof INVALID_ARGUMENT_REASON];

/** Feature names `check-support` knows in 0.95; any other feature answers `no`. */
export const FEATURES = ['version', 'ip-4', 'ip-6', 'send-probe', 'icmp', 'udp', 'tcp', 'sctp', 'mark'] as const;
export type FeatureName = (typeof FEATURES)[number];

export const SUPPORT = { ok: 'ok', no: 'no' } as const;

/** The version string 0.95 answers to `check-support feature version`. */
export const REFERENCE_VERSION = '0.95';

/**
 * The protocol's two dialects. 0.95 (the default, mtr-packet 0.95's words): `no-route` for every
 * unreachable. 0.96 (mtr-packet 0.96 and later, whose mtr ignores `no-route`): a router's
 * Destination Unreachable is `no-route-host ip-N ADDR round-trip-time N`, a failed send is
 * `no-route-network` (ENETUNREACH), `no-route-host` (EHOSTUNREACH) or `host-down` (EHOSTDOWN), and
 * `check-support feature version` answers 0.96.
 */
export const DIALECTS = ['0.95', '0.96'] as const;
export type Dialect = (typeof DIALECTS)[number];
export const DEFAULT_DIALECT: Dialect = '0.95';
/** mtr execs MTR_PACKET without arguments: the dialect is asked for through the environment. */
export const DIALECT_ENV = 'MTR_PACKET_TS_DIALECT';

/** `send-probe` defaults of mtr-packet 0.95 (`mark` and `local-device` have none: not given = not set). */
export const SEND_PROBE_DEFAULTS = {
  protocol: 'icmp',
  port: 0,
  localPort: 0,
  ttl: 255,
  size: 64,
  bitPattern: 0,
  tos: 0,
  timeout: 10,
} as const;

// ---- extensions (not in 0.95) -----------------------------------------------------------------
// A client turns an extension on for its daemon session by asking `check-support feature NAME`
// (answer `ok`); only after that do replies carry its words and send-probe accept its arguments.
// A client that never asks (mtr 0.95) sees exactly 0.95's protocol.

// ext: icmp-detail, dont-fragment
/** Extension features of ext: `icmp-detail` (reply words below), `dont-fragment` (send-probe argument). */
export const EXT_FEATURE = {
  icmpDetail: 'icmp-detail',
  dontFragment: 'dont-fragment',
} as const;
export type ExtFeatureName = (typeof EXT_FEATURE)[keyof typeof EXT_FEATURE];
/**
 * Reply words of `icmp-detail`, after 0.95's own (probe results only): `icmp-type N icmp-code N` on
 * answers that were ICMP errors (ttl-expired, the unreachables, and `reply` from a port unreachable),
 * `mtu N` on Fragmentation-Needed / Packet-Too-Big, `reply-ttl N` (the answer's IP TTL / hop limit)
 * where the daemon learns it.
 */
export const EXT_REPLY_ARG = {
  icmpType: 'icmp-type',
  icmpCode: 'icmp-code',
  mtu: 'mtu',
  replyTtl: 'reply-ttl',
} as const;
/** send-probe argument of `dont-fragment`: `dont-fragment 1` (0: as without it). */
export const EXT_ARG = {
  dontFragment: 'dont-fragment',
} as const;
/**
 * Reply of `dont-fragment`: `TOKEN packet-too-big [mtu N]`: a don't-fragment probe was not sent because it is
 * larger than the path MTU this host already knows for its destination (the kernel refused it, EMSGSIZE);
 * `mtu` is the MTU the last Fragmentation Needed / Packet Too Big for that destination reported, when the
 * daemon saw one.
 */
export const EXT_REPLY = {
  packetTooBig: 'packet-too-big',
} as const;
// end ext


/** flows (ECMP, issue 14): `check-support feature flow` turns on send-probe `flow N` and replies' `nat 1`. */
export const FLOW_FEATURE = 'flow';
/** send-probe `flow N`: the probe goes out on stable flow N (0..MAX_FLOW), its sequence carried elsewhere */
export const FLOW_ARG = 'flow';
/** the highest flow number */
export const MAX_FLOW = 255;
/** a probe result's `nat 1`: the quoted probe's flow fields (source port, checksum) or source address are not the ones sent */
export const NAT_REPLY_ARG = 'nat';
/**
 * flows of UDP and TCP without `local-port`: flow N leaves from a base + N; the daemon draws its base at
 * random (49152..); this one is buildProbe's when the probe identity names none
 */
export const FLOW_BASE_PORT = 50000;
/** UDP flows without `port`: the destination port (traceroute's first) */
export const FLOW_UDP_PORT = 33434;

// ---- compile-time ties to types.ts ------------------------------------------------------------

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
function assertType<T extends true>(): T | undefined {
  return undefined;
}
assertType<Same<(typeof PROTOCOLS)[number], ProbeProtocol>>();
assertType<Same<(typeof PROBE_RESULT_REPLIES)[number], ProbeResultName>>();
assertType<Same<(typeof BARE_REPLIES)[number], BareReplyName>>();
assertType<
  Same<
    ReplyName,
    ProbeResultName | BareReplyName | 'invalid-argument' | 'unexpected-error' | 'feature-support'
  >
>();
