// Line syntax of mtr-packet 0.95: whitespace tokens, a C strtol token, name/value pairs.
// Lines are latin1 strings (one char per byte); a NUL is an ordinary non-space character here
// (the reference stops at it because it works on C strings: a fault we do not copy).

import { MAX_COMMAND_TOKENS } from './names.js';
import type { RawCommand } from './types.js';

/** C `isspace` in the C locale: space, \t, \n, \v, \f, \r. */
export function isCSpaceCode(code: number): boolean {
  return code === 32 || (code >= 9 && code <= 13);
}

/**
 * Split on C whitespace. With `maxTokens`, returns undefined as soon as a further token starts
 * (the reference's tokenizer fails the same way, before looking at the rest of the line).
 */
export function tokenize(line: string, maxTokens: number = Infinity): string[] | undefined {
  const tokens: string[] = [];
  const n = line.length;
  let i = 0;
  while (i < n) {
    while (i < n && isCSpaceCode(line.charCodeAt(i))) i++;
    if (i >= n) break;
    if (tokens.length >= maxTokens) return undefined;
    const start = i;
    while (i < n && !isCSpaceCode(line.charCodeAt(i))) i++;
    tokens.push(line.slice(start, i));
  }
  return tokens;
}

const LONG_MAX = (1n << 63n) - 1n;
const LONG_MIN = -(1n << 63n);

/** What C's `strtol(s, &end, 10)` on 64-bit Linux yields, followed by storing the long in an `int`. */
export interface CStrtolResult {
  /** the long value (clamped to LONG_MIN..LONG_MAX on overflow) converted to a C int (wraps mod 2^32) */
  int: number;
  /** index where conversion stopped (`end - s`); 0 when no digits were found */
  end: number;
  /** true when strtol would set errno = ERANGE */
  erange: boolean;
}

/** C `strtol(s, &end, 10)` then `(int)`, exact (BigInt past 15 significant digits). */
export function cStrtol(s: string): CStrtolResult {
  const n = s.length;
  let i = 0;
  while (i < n && isCSpaceCode(s.charCodeAt(i))) i++;
  let negative = false;
  const sign = s.charCodeAt(i);
  if (sign === 43 /* + */ || sign === 45 /* - */) {
    negative = sign === 45;
    i++;
  }
  const digitsStart = i;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) break;
    i++;
  }
  // No digits: no conversion, end pointer is the start of the string.
  if (i === digitsStart) return { int: 0, end: 0, erange: false };

  let significant = digitsStart;
  while (significant < i - 1 && s.charCodeAt(significant) === 48) significant++;
  if (i - significant <= 15) {
    let v = 0;
    for (let k = significant; k < i; k++) v = v * 10 + (s.charCodeAt(k) - 48);
    return { int: (negative ? -v : v) | 0, end: i, erange: false };
  }
  let big = BigInt(s.slice(significant, i));
  if (negative) big = -big;
  if (big > LONG_MAX) return { int: Number(BigInt.asIntN(32, LONG_MAX)), end: i, erange: true };
  if (big < LONG_MIN) return { int: Number(BigInt.asIntN(32, LONG_MIN)), end: i, erange: true };
  return { int: Number(BigInt.asIntN(32, big)), end: i, erange: false };
}

/**
 * The command token as 0.95 reads it: `strtol(tok, NULL, 10)` stored in an int.
 * "abc" -> 0, "12abc" -> 12, "+7" -> 7, 2^31 -> -2^31; undefined when strtol overflows the long
 * (ERANGE), which the reference answers with `0 command-parse-error`.
 */
export function parseCToken(token: string): number | undefined {
  const r = cStrtol(token);
  return r.erange ? undefined : r.int;
}

/**
 * A numeric `send-probe` argument as 0.95 reads it: `strtol(value, &end, 10)` with `*end == 0`
 * required, stored in an int. Overflow is not checked (clamps to LONG_MAX -> -1, LONG_MIN -> 0).
 * Undefined when the whole value is not consumed ("0x10", "1x", "-", "+", "").
 * Note "" is accepted as 0 by C too, but the tokenizer never yields an empty value.
 */
export function parseCIntArgument(value: string): number | undefined {
  const r = cStrtol(value);
  return r.end === value.length ? r.int : undefined;
}

/**
 * Parse one command line (without or with its newline). Undefined means the reference's
 * `0 command-parse-error`: fewer than 2 tokens, more than MAX_COMMAND_TOKENS tokens, a token
 * overflowing a C long, or an argument name without a value.
 */
export function parseCommandLine(line: string): RawCommand | undefined {
  const tokens = tokenize(line, MAX_COMMAND_TOKENS);
  if (tokens === undefined || tokens.length < 2) return undefined;
  if ((tokens.length & 1) !== 0) return undefined;
  const token = parseCToken(tokens[0] as string);
  if (token === undefined) return undefined;
  const args: Array<[name: string, value: string]> = [];
  for (let i = 2; i < tokens.length; i += 2) {
    args.push([tokens[i] as string, tokens[i + 1] as string]);
  }
  return { token, name: tokens[1] as string, args };
}
