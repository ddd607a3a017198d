// Send errors -> replies, as mtr-packet 0.95's report_packet_error maps them. Only these errno
// values have a word; everything else (EACCES included: 0.95 lists only EPERM) is
// `unexpected-error errno N`.

import { DEFAULT_DIALECT, type Dialect } from './names.js';
import type { BareReplyName, Reply } from './types.js';

/** Linux errno numbers (asm-generic/errno*.h; x86-64, arm64, ...). */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  ENODEV: 19,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  EPIPE: 32,
  EMSGSIZE: 90,
  ENOPROTOOPT: 92,
  EPROTONOSUPPORT: 93,
  EOPNOTSUPP: 95,
  EAFNOSUPPORT: 97,
  EADDRINUSE: 98,
  EADDRNOTAVAIL: 99,
  ENETDOWN: 100,
  ENETUNREACH: 101,
  ENOBUFS: 105,
  ECONNREFUSED: 111,
  EHOSTDOWN: 112,
  EHOSTUNREACH: 113,
} as const;
export type ErrnoCode = keyof typeof ERRNO;

/** The one table: errno code -> the reply word 0.95 answers a failed send with. */
export const SEND_ERRNO_REPLIES = {
  EINVAL: 'invalid-argument',
  ENETDOWN: 'network-down',
  ENETUNREACH: 'no-route',
  EHOSTUNREACH: 'no-route',
  EPERM: 'permission-denied',
  EADDRINUSE: 'address-in-use',
  EADDRNOTAVAIL: 'address-not-available',
} as const satisfies Partial<Record<ErrnoCode, BareReplyName | 'invalid-argument'>>;

/** The 0.96 dialect's words where they differ from 0.95's (mtr-packet 0.96 report_packet_error). */
export const SEND_ERRNO_REPLIES_096 = {
  ...SEND_ERRNO_REPLIES,
  ENETUNREACH: 'no-route-network',
  EHOSTUNREACH: 'no-route-host',
  EHOSTDOWN: 'host-down',
} as const satisfies Partial<Record<ErrnoCode, BareReplyName | 'invalid-argument'>>;

function byNumber(table: Partial<Record<ErrnoCode, BareReplyName | 'invalid-argument'>>) {
  const m = new Map<number, BareReplyName | 'invalid-argument'>();
  for (const [code, reply] of Object.entries(table)) m.set(ERRNO[code as ErrnoCode], reply);
  return m;
}
const REPLY_BY_NUMBER: Record<Dialect, Map<number, BareReplyName | 'invalid-argument'>> = {
  '0.95': byNumber(SEND_ERRNO_REPLIES),
  '0.96': byNumber(SEND_ERRNO_REPLIES_096),
};

/** The Linux number for a code like 'ENETUNREACH', or undefined for codes not in ERRNO. */
export function errnoNumber(code: string): number | undefined {
  return Object.prototype.hasOwnProperty.call(ERRNO, code) ? ERRNO[code as ErrnoCode] : undefined;
}

/**
 * The reply for a send that failed with `errnoNumber`. Node reports system errors with a negative
 * errno (-101); the sign is ignored, so -101 and 101 both give `no-route`.
 * EINVAL gives the bare `invalid-argument` (no reason), as 0.95 prints it. In the 0.96 dialect
 * the unreachables are split as 0.96 prints them (SEND_ERRNO_REPLIES_096).
 */
export function replyForErrno(token: number, errnoNumber: number, dialect: Dialect = DEFAULT_DIALECT): Reply {
  const n = Math.abs(Math.trunc(errnoNumber)) | 0;
  const name = REPLY_BY_NUMBER[dialect].get(n);
  if (name === undefined) return { token, type: 'unexpected-error', errno: n };
  if (name === 'invalid-argument') return { token, type: 'invalid-argument', reason: undefined };
  return { token, type: name };
}

/** Same, from a Node-style error code ('EHOSTUNREACH'); an unknown code with no number gives errno 0. */
export function replyForErrnoCode(token: number, code: string, fallbackErrno = 0): Reply {
  return replyForErrno(token, errnoNumber(code) ?? fallbackErrno);
}
