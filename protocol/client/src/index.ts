// @mtr-ts/client: drive any mtr-packet (mtr's probe helper, or mtr-packet-ts) from Node.
export {
  MtrPacket,
  probeFields,
  refusalError,
  DEFAULT_CLOSE_WAIT_MS,
  DEFAULT_KILL_GRACE_MS,
  DEFAULT_MAX_LINE_BYTES,
  DEFAULT_RESOLVE_CACHE_MS,
  DEFAULT_STARTUP_TIMEOUT_MS,
  FIRST_PROBE_TOKEN,
  TOKEN_LIMIT,
  type OpenOptions,
  type ProbeFields,
  type ProbeOptions,
  type RequestOptions,
  type Resolved,
} from './mtr-packet.js';
export { defaultPacketCommand, installedDaemon, type PacketCommandChoice, type PacketCommandOptions } from './command.js';
export { outcomeOfLine } from './outcome.js';
export type {
  AnsweredOutcome,
  FlowDetail,
  IcmpDetail,
  IpVersion,
  MplsLabel,
  ProbeOutcome,
  ProbeProtocol,
  RefusalReason,
  UnreachableReason,
} from './outcome.js';
export {
  InvalidArgument,
  LineTooLong,
  MtrPacketError,
  NameResolutionFailed,
  PacketProcessError,
  PacketProcessExited,
  ProbeRefused,
  RequestTimeout,
  StartupTimeout,
} from './errors.js';
