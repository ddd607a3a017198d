// Requests: a parsed command line -> typed request (or the immediate error reply), and back.
// Decoding follows mtr-packet 0.95's decode_probe_argument: arguments in order, unknown names
// ignored, the first bad value answers `TOKEN invalid-argument`. Checks that depend on the host
// (ip version / protocol support, ttl and size limits at send time) belong to the daemon.

import { ARG, COMMAND, EXT_ARG, FLOW_ARG, MIN_LOCAL_PORT, SEND_PROBE_DEFAULTS } from './names.js';
import { parseCIntArgument } from './parse.js';
import type {
  BareReply,
  InvalidArgumentReply,
  ProbeProtocol,
  RawCommand,
  Reply,
  Request,
  SendProbeRequest,
} from './types.js';
import { assertNever, checkInt, checkWord, isWord } from './words.js';

export function invalidArgument(token: number, reason?: string): InvalidArgumentReply {
  return { token, type: 'invalid-argument', reason };
}

export function unknownCommand(token: number): BareReply {
  return { token, type: 'unknown-command' };
}

/** Request and Reply share no discriminant name: requests have `command`, replies `type`. */
export function isRequest(x: Request | Reply): x is Request {
  return 'command' in x;
}

export function isReply(x: Request | Reply): x is Reply {
  return 'type' in x;
}

/** A send-probe request with 0.95's defaults and nothing else set. */
export function defaultSendProbe(token: number): SendProbeRequest {
  return {
    token,
    command: 'send-probe',
    ipVersion: undefined,
    address: undefined,
    protocol: SEND_PROBE_DEFAULTS.protocol,
    port: SEND_PROBE_DEFAULTS.port,
    localAddress: undefined,
    localPort: SEND_PROBE_DEFAULTS.localPort,
    ttl: SEND_PROBE_DEFAULTS.ttl,
    size: SEND_PROBE_DEFAULTS.size,
    bitPattern: SEND_PROBE_DEFAULTS.bitPattern,
    tos: SEND_PROBE_DEFAULTS.tos,
    mark: undefined,
    timeout: SEND_PROBE_DEFAULTS.timeout,
    localDevice: undefined,
  };
}

/** Extension arguments a daemon session has turned on (names.ts EXT_FEATURE); none by default, as 0.95. */
export interface DecodeExtensions {
  /** `dont-fragment 0|1` is decoded (else ignored, as 0.95 ignores unknown names) */
  dontFragment?: boolean;
}

/**
 * Decode a parsed command. Returns the request, or the reply the reference answers at once:
 * `invalid-argument` (bad send-probe value; check-support without `feature`) or `unknown-command`.
 * `ext`: the extension arguments the session turned on; without it, exactly 0.95's decoding.
 */
export function decodeRequest(cmd: RawCommand, ext: DecodeExtensions = {}): Request | Reply {
  switch (cmd.name) {
    case COMMAND.sendProbe:
      return decodeSendProbe(cmd, ext);
    case COMMAND.checkSupport: {
      // the first `feature` wins, like find_parameter()
      for (const [name, value] of cmd.args) {
        if (name === ARG.feature) return { token: cmd.token, command: 'check-support', feature: value };
      }
      return invalidArgument(cmd.token);
    }
    default:
      return unknownCommand(cmd.token);
  }
}

/** The request a syntactically valid line stands for, unknown commands included (never an error reply for them). */
export function requestOf(cmd: RawCommand, ext: DecodeExtensions = {}): Request | InvalidArgumentReply {
  const decoded = decodeRequest(cmd, ext);
  if (isRequest(decoded)) return decoded;
  if (decoded.type === 'unknown-command') return { token: cmd.token, command: 'unknown', name: cmd.name };
  return decoded as InvalidArgumentReply;
}

function decodeSendProbe(cmd: RawCommand, ext: DecodeExtensions): SendProbeRequest | InvalidArgumentReply {
  const req = defaultSendProbe(cmd.token);
  for (const [name, value] of cmd.args) {
    switch (name) {
      case ARG.ip4:
        req.ipVersion = 4;
        req.address = value;
        break;
      case ARG.ip6:
        req.ipVersion = 6;
        req.address = value;
        break;
      case ARG.localIp4:
      case ARG.localIp6:
        req.localAddress = value;
        break;
      case ARG.localDevice:
        req.localDevice = value;
        break;
      case ARG.protocol: {
        const protocol = PROTOCOL_BY_NAME.get(value);
        if (protocol === undefined) return invalidArgument(cmd.token);
        req.protocol = protocol;
        break;
      }
      case ARG.localPort: {
        const n = parseCIntArgument(value);
        if (n === undefined || n < MIN_LOCAL_PORT) return invalidArgument(cmd.token);
        req.localPort = n;
        break;
      }
      case FLOW_ARG: {
        // an extension's argument: never an error here (0.95 ignores the pair); the daemon decides
        const n = parseCIntArgument(value);
        req.flow = n === undefined ? -1 : n;
        break;
      }
      case ARG.port:
      case ARG.tos:
      case ARG.mark:
      case ARG.size:
      case ARG.bitPattern:
      case ARG.ttl:
      case ARG.timeout: {
        const n = parseCIntArgument(value);
        if (n === undefined) return invalidArgument(cmd.token);
        setNumeric(req, name, n);
        break;
      }
      default:
        if (name === EXT_ARG.dontFragment && ext.dontFragment === true) {
          // extension dont-fragment: 0 or 1
          const n = parseCIntArgument(value);
          if (n !== 0 && n !== 1) return invalidArgument(cmd.token);
          req.dontFragment = n === 1;
        }
        break; // other unknown argument names are ignored
    }
  }
  return req;
}

type NumericArg = typeof ARG.port | typeof ARG.tos | typeof ARG.mark | typeof ARG.size | typeof ARG.bitPattern | typeof ARG.ttl | typeof ARG.timeout;

function setNumeric(req: SendProbeRequest, name: NumericArg, n: number): void {
  switch (name) {
    case ARG.port:
      req.port = n;
      return;
    case ARG.tos:
      req.tos = n;
      return;
    case ARG.mark:
      req.mark = n;
      return;
    case ARG.size:
      req.size = n;
      return;
    case ARG.bitPattern:
      req.bitPattern = n;
      return;
    case ARG.ttl:
      req.ttl = n;
      return;
    case ARG.timeout:
      req.timeout = n;
      return;
    default:
      assertNever(name);
  }
}

const PROTOCOL_BY_NAME = new Map<string, ProbeProtocol>([
  ['icmp', 'icmp'],
  ['udp', 'udp'],
  ['tcp', 'tcp'],
  ['sctp', 'sctp'],
]);

/** `TOKEN NAME [ARG VALUE]...`, no newline. Throws RangeError for words with whitespace or non-int tokens. */
export function formatCommand(
  token: number,
  name: string,
  args: ReadonlyArray<readonly [name: string, value: string]> = [],
): string {
  let line = `${checkInt(token, 'token')} ${checkWord(name, 'command name')}`;
  for (const [argName, value] of args) {
    line += ` ${checkWord(argName, 'argument name')} ${checkWord(value, `value of ${argName}`)}`;
  }
  return line;
}

/**
 * The request line (no newline) the front-end writes. send-probe emits `ip-4|ip-6 ADDR`, then only
 * what differs from 0.95's defaults, except `ttl` and `timeout` which are always written; a 0 port
 * or local-port means "not given" and is left out. decodeRequest(parseCommandLine(formatRequest(r)))
 * gives r back. Throws RangeError when the request cannot be expressed (address without version,
 * non-integer numbers, words with whitespace, a local-port that 0.95 would refuse).
 */
export function formatRequest(req: Request): string {
  switch (req.command) {
    case 'send-probe':
      return formatSendProbe(req.token, req);
    case 'check-support':
      return formatCommand(req.token, COMMAND.checkSupport, [[ARG.feature, req.feature]]);
    case 'unknown':
      return formatCommand(req.token, req.name);
    default:
      return assertNever(req);
  }
}

/** ` NAME VALUE` for a word argument; the message names the argument only when the value is refused. */
function wordArg(name: string, value: string): string {
  if (typeof value !== 'string' || !isWord(value)) checkWord(value, `value of ${name}`);
  return ` ${name} ${value}`;
}

/** ` NAME N` for an integer argument (checkInt's rules and message). */
function intArg(name: string, n: number): string {
  return ` ${name} ${String(checkInt(n, name))}`;
}

/**
 * The send-probe line (no newline), built as one string (the probe path formats one per probe): what
 * formatRequest writes for `{ ...req, token, command: 'send-probe' }`, the arguments in 0.95's order,
 * each checked as formatCommand checks it, with the same errors.
 */
export function formatSendProbe(token: number, req: Omit<SendProbeRequest, 'token' | 'command'>): string {
  const d = SEND_PROBE_DEFAULTS;
  let line = `${checkInt(token, 'token')} ${COMMAND.sendProbe}`;
  if (req.address !== undefined || req.ipVersion !== undefined) {
    if (req.ipVersion !== 4 && req.ipVersion !== 6) throw new RangeError('send-probe address needs ipVersion 4 or 6');
    if (req.address === undefined) throw new RangeError('send-probe ipVersion needs an address');
    line += wordArg(req.ipVersion === 6 ? ARG.ip6 : ARG.ip4, req.address);
  }
  if (req.localAddress !== undefined) line += wordArg(req.ipVersion === 6 ? ARG.localIp6 : ARG.localIp4, req.localAddress);
  if (req.protocol !== d.protocol) {
    if (!PROTOCOL_BY_NAME.has(req.protocol)) throw new RangeError(`unknown protocol ${String(req.protocol)}`);
    line += wordArg(ARG.protocol, req.protocol);
  }
  if (req.port !== d.port) line += intArg(ARG.port, req.port);
  if (req.localPort !== d.localPort) {
    if (req.localPort < MIN_LOCAL_PORT) throw new RangeError(`local-port below ${MIN_LOCAL_PORT} is refused`);
    line += intArg(ARG.localPort, req.localPort);
  }
  line += intArg(ARG.ttl, req.ttl);
  if (req.size !== d.size) line += intArg(ARG.size, req.size);
  if (req.bitPattern !== d.bitPattern) line += intArg(ARG.bitPattern, req.bitPattern);
  if (req.tos !== d.tos) line += intArg(ARG.tos, req.tos);
  if (req.mark !== undefined) line += intArg(ARG.mark, req.mark);
  line += intArg(ARG.timeout, req.timeout);
  if (req.localDevice !== undefined) line += wordArg(ARG.localDevice, req.localDevice);
  if (req.dontFragment === true) line += ` ${EXT_ARG.dontFragment} 1`;
  if (req.flow !== undefined) line += intArg(FLOW_ARG, req.flow);
  return line;
}
