// @mtr-ts/protocol: the one parser and formatter of mtr-packet's line protocol.
export type * from './types.js';
export * from './names.js';
export { LineFramer, latin1Decode, latin1Encode, type FrameEvent } from './framing.js';
export {
  cStrtol,
  isCSpaceCode,
  parseCIntArgument,
  parseCToken,
  parseCommandLine,
  tokenize,
  type CStrtolResult,
} from './parse.js';
export {
  decodeRequest,
  defaultSendProbe,
  formatCommand,
  formatRequest,
  formatSendProbe,
  invalidArgument,
  isReply,
  isRequest,
  requestOf,
  unknownCommand,
  type DecodeExtensions,
} from './requests.js';
export { formatMpls, formatReply, parseMpls, parseReply, strictInt } from './replies.js';
export { ERRNO, SEND_ERRNO_REPLIES, errnoNumber, replyForErrno, replyForErrnoCode, type ErrnoCode } from './errno.js';
export { assertNever, isWord } from './words.js';
