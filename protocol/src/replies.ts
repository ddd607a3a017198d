// Replies: one discriminated union (types.ts), formatted exactly as mtr-packet 0.95 prints them and
// parsed strictly: a line that does not have exactly the shape of a known reply is kept whole as
// the `unknown` variant. parseReply never throws.

import { BARE_REPLIES, EXT_REPLY, EXT_REPLY_ARG, NAT_REPLY_ARG, PROBE_RESULT_REPLIES, REPLY, REPLY_ARG } from './names.js';
import { cStrtol, tokenize } from './parse.js';
import type { BareReplyName, MplsLabel, ProbeResultName, ProbeResultReply, Reply } from './types.js';
import { assertNever, checkInt, checkWord } from './words.js';

/** The line for a reply, without the newline. Throws RangeError on values that cannot be put on the wire. */
export function formatReply(r: Reply): string {
  const token = checkInt(r.token, 'token');
  switch (r.type) {
    case 'no-route':
    case 'no-route-network':
    case 'no-route-host':
    case 'host-down':
      return 'address' in r ? formatProbeResult(token, r) : `${token} ${r.type}`;
    case 'reply':
    case 'ttl-expired':
      return formatProbeResult(token, r);
    case 'no-reply':
    case 'network-down':
    case 'permission-denied':
    case 'probes-exhausted':
    case 'address-in-use':
    case 'address-not-available':
    case 'unknown-command':
    case 'command-parse-error':
    case 'command-buffer-overflow':
      return `${token} ${r.type}`;
    case 'invalid-argument':
      return r.reason === undefined
        ? `${token} ${REPLY.invalidArgument}`
        : `${token} ${REPLY.invalidArgument} ${REPLY_ARG.reason} ${checkWord(r.reason, 'reason')}`;
    case 'unexpected-error':
      return `${token} ${REPLY.unexpectedError} ${REPLY_ARG.errno} ${checkInt(r.errno, 'errno')}`;
    case 'feature-support':
      return `${token} ${REPLY.featureSupport} ${REPLY_ARG.support} ${checkWord(r.support, 'support')}`;
    case 'packet-too-big':
      return r.mtu === undefined
        ? `${token} ${EXT_REPLY.packetTooBig}`
        : `${token} ${EXT_REPLY.packetTooBig} ${EXT_REPLY_ARG.mtu} ${checkInt(r.mtu, 'mtu')}`;
    case 'unknown':
      // kept whole; a line break inside would forge further lines
      if (/[\n\r]/.test(r.line)) throw new RangeError('unknown reply line contains a line break');
      return r.line;
    default:
      return assertNever(r);
  }
}

function formatProbeResult(token: number, r: ProbeResultReply): string {
  const rtt = checkInt(r.roundTripTime, 'round-trip-time');
  const head = `${token} ${r.type} ip-${checkIpVersion(r.ipVersion)} ${checkWord(r.address, 'address')}`;
  let line = `${head} ${REPLY_ARG.roundTripTime} ${rtt}`;
  if (r.mpls !== undefined && r.mpls.length > 0) line += ` ${REPLY_ARG.mpls} ${formatMpls(r.mpls)}`;
  line += formatIcmpDetail(r);
  // extension `flow`: only set on replies to a client that asked for it
  if (r.nat === true) line += ` ${NAT_REPLY_ARG} 1`;
  return line;
}

/** The `icmp-detail` extension's words (empty when the reply has none of its fields). */
function formatIcmpDetail(r: ProbeResultReply): string {
  // no closure per reply: this runs for every probe's answer
  return (
    detailWord(EXT_REPLY_ARG.icmpType, r.icmpType) +
    detailWord(EXT_REPLY_ARG.icmpCode, r.icmpCode) +
    detailWord(EXT_REPLY_ARG.mtu, r.mtu) +
    detailWord(EXT_REPLY_ARG.replyTtl, r.replyTtl)
  );
}

function detailWord(name: string, v: number | undefined): string {
  return v === undefined ? '' : ` ${name} ${checkInt(v, name)}`;
}

function checkIpVersion(v: unknown): 4 | 6 {
  if (v === 4 || v === 6) return v;
  throw new RangeError(`ipVersion must be 4 or 6, got ${String(v)}`);
}

/** `label,tc,s,ttl[,label,tc,s,ttl...]` as 0.95 prints it (%d each). */
export function formatMpls(labels: readonly MplsLabel[]): string {
  const parts: string[] = [];
  for (const l of labels) {
    parts.push(
      `${checkInt(l.label, 'mpls label')},${checkInt(l.tc, 'mpls tc')},${checkInt(l.bottomOfStack, 'mpls s')},${checkInt(l.ttl, 'mpls ttl')}`,
    );
  }
  return parts.join(',');
}

/** Parses `label,tc,s,ttl,...`; undefined unless it is a non-empty whole number of groups of four integers. */
export function parseMpls(text: string): MplsLabel[] | undefined {
  const fields = text.split(',');
  if (fields.length % 4 !== 0) return undefined;
  const labels: MplsLabel[] = [];
  for (let i = 0; i < fields.length; i += 4) {
    const label = strictInt(fields[i] as string);
    const tc = strictInt(fields[i + 1] as string);
    const bottomOfStack = strictInt(fields[i + 2] as string);
    const ttl = strictInt(fields[i + 3] as string);
    if (label === undefined || tc === undefined || bottomOfStack === undefined || ttl === undefined) {
      return undefined;
    }
    labels.push({ label, tc, bottomOfStack, ttl });
  }
  return labels;
}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/** A decimal integer as %d prints it (optional sign, digits, nothing else) within int32; else undefined. */
export function strictInt(text: string): number | undefined {
  const n = text.length;
  if (n === 0) return undefined;
  const r = cStrtol(text);
  if (r.end !== n || r.erange) return undefined;
  const first = text.charCodeAt(0);
  if (first !== 43 && first !== 45 && (first < 48 || first > 57)) return undefined; // no leading space
  const v = Number(text);
  return v >= INT32_MIN && v <= INT32_MAX ? v | 0 : undefined;
}

type ReplyShape =
  | 'probe-result'
  | 'bare'
  | 'bare-or-result'
  | 'invalid-argument'
  | 'unexpected-error'
  | 'feature-support'
  | 'packet-too-big';

const SHAPES = new Map<string, ReplyShape>();
for (const name of PROBE_RESULT_REPLIES) SHAPES.set(name, 'probe-result');
for (const name of BARE_REPLIES) SHAPES.set(name, 'bare');
for (const name of [REPLY.noRoute, REPLY.noRouteNetwork, REPLY.noRouteHost, REPLY.hostDown]) SHAPES.set(name, 'bare-or-result');
SHAPES.set(REPLY.invalidArgument, 'invalid-argument');
SHAPES.set(REPLY.unexpectedError, 'unexpected-error');
SHAPES.set(REPLY.featureSupport, 'feature-support');
SHAPES.set(EXT_REPLY.packetTooBig, 'packet-too-big');

/**
 * Parse one reply line (a trailing newline / CR is fine). Undefined only when the line has fewer
 * than two tokens (blank, or a token alone). Every other line gives a Reply: a known shape, or
 * `unknown` with the tokens and the original line. Known shapes are strict: a token that is not a
 * plain int32 decimal, a missing, repeated or extra argument, or a malformed number makes the line
 * `unknown` (its `token` then is what C strtol reads from the first token, ERANGE giving 0).
 * Argument order inside a probe result is free, as mtr's front-end reads arguments by name.
 */
export function parseReply(line: string): Reply | undefined {
  const tokens = tokenize(line);
  if (tokens === undefined || tokens.length < 2) return undefined;
  const known = parseKnown(tokens);
  if (known !== undefined) return known;
  const first = cStrtol(tokens[0] as string);
  const args: Array<[name: string, value: string]> = [];
  for (let i = 2; i < tokens.length; i += 2) args.push([tokens[i] as string, tokens[i + 1] ?? '']);
  return { token: first.erange ? 0 : first.int, type: 'unknown', name: tokens[1] as string, args, line };
}

function parseKnown(tokens: string[]): Reply | undefined {
  const name = tokens[1] as string;
  const shape = SHAPES.get(name);
  if (shape === undefined) return undefined;
  const token = strictInt(tokens[0] as string);
  if (token === undefined) return undefined;
  const argc = tokens.length - 2;
  switch (shape) {
    case 'bare':
      return argc === 0 ? { token, type: name as BareReplyName } : undefined;
    case 'bare-or-result':
      if (argc === 0) return { token, type: name as BareReplyName };
      return parseProbeResult(token, name as ProbeResultName, tokens);
    case 'probe-result':
      return parseProbeResult(token, name as ProbeResultName, tokens);
    case 'invalid-argument':
      if (argc === 0) return { token, type: 'invalid-argument', reason: undefined };
      if (argc === 2 && tokens[2] === REPLY_ARG.reason) {
        return { token, type: 'invalid-argument', reason: tokens[3] as string };
      }
      return undefined;
    case 'unexpected-error': {
      if (argc !== 2 || tokens[2] !== REPLY_ARG.errno) return undefined;
      const errno = strictInt(tokens[3] as string);
      return errno === undefined ? undefined : { token, type: 'unexpected-error', errno };
    }
    case 'feature-support':
      if (argc !== 2 || tokens[2] !== REPLY_ARG.support) return undefined;
      return { token, type: 'feature-support', support: tokens[3] as string };
    case 'packet-too-big': {
      if (argc === 0) return { token, type: 'packet-too-big', mtu: undefined };
      if (argc !== 2 || tokens[2] !== EXT_REPLY_ARG.mtu) return undefined;
      const mtu = strictInt(tokens[3] as string);
      return mtu === undefined ? undefined : { token, type: 'packet-too-big', mtu };
    }
    default:
      return assertNever(shape);
  }
}

const EXT_FIELD = new Map<string, 'icmpType' | 'icmpCode' | 'mtu' | 'replyTtl'>([
  [EXT_REPLY_ARG.icmpType, 'icmpType'],
  [EXT_REPLY_ARG.icmpCode, 'icmpCode'],
  [EXT_REPLY_ARG.mtu, 'mtu'],
  [EXT_REPLY_ARG.replyTtl, 'replyTtl'],
]);

function parseProbeResult(token: number, type: ProbeResultName, tokens: string[]): Reply | undefined {
  if ((tokens.length & 1) !== 0) return undefined;
  let ipVersion: 4 | 6 | undefined;
  let address: string | undefined;
  let roundTripTime: number | undefined;
  let mpls: MplsLabel[] | undefined;
  const ext: Partial<Record<'icmpType' | 'icmpCode' | 'mtu' | 'replyTtl', number>> = {};
  let hasExt = false;
  let nat: true | undefined;
  for (let i = 2; i < tokens.length; i += 2) {
    const key = tokens[i] as string;
    const value = tokens[i + 1] as string;
    switch (key) {
      case REPLY_ARG.ip4:
      case REPLY_ARG.ip6:
        if (address !== undefined) return undefined;
        ipVersion = key === REPLY_ARG.ip4 ? 4 : 6;
        address = value;
        break;
      case REPLY_ARG.roundTripTime:
        if (roundTripTime !== undefined) return undefined;
        roundTripTime = strictInt(value);
        if (roundTripTime === undefined) return undefined;
        break;
      case REPLY_ARG.mpls:
        if (mpls !== undefined) return undefined;
        mpls = parseMpls(value);
        if (mpls === undefined) return undefined;
        break;
      case NAT_REPLY_ARG:
        if (nat !== undefined || value !== '1') return undefined;
        nat = true;
        break;
      default: {
        // the icmp-detail extension's words (a daemon only sends them to a client that asked)
        const field = EXT_FIELD.get(key);
        if (field === undefined || ext[field] !== undefined) return undefined;
        const n = strictInt(value);
        if (n === undefined) return undefined;
        ext[field] = n;
        hasExt = true;
      }
    }
  }
  if (ipVersion === undefined || address === undefined || roundTripTime === undefined) return undefined;
  const reply: ProbeResultReply = { token, type, ipVersion, address, roundTripTime, mpls };
  // the extension's words, when any came (a spread of an empty object per reply is V8's slow path)
  if (hasExt) Object.assign(reply, ext);
  if (nat) reply.nat = nat;
  return reply;
}
