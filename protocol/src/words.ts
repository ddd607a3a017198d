// Guards for values going onto the wire: a word must stay one token, a number must print as %d would.

import { isCSpaceCode } from './parse.js';

export function assertNever(x: never): never {
  throw new TypeError(`unexpected value ${JSON.stringify(x)}`);
}

/** True when `s` is one non-empty token of the line protocol (no C whitespace inside). */
export function isWord(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (isCSpaceCode(s.charCodeAt(i))) return false;
  return true;
}

export function checkWord(s: unknown, what: string): string {
  if (typeof s !== 'string' || !isWord(s)) {
    throw new RangeError(`${what} must be a non-empty word without whitespace, got ${JSON.stringify(s)}`);
  }
  return s;
}

/** C int values only (what %d prints): integers in -2^31..2^31-1; -0 prints as 0. */
export function checkInt(n: unknown, what: string): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < -2147483648 || n > 2147483647) {
    throw new RangeError(`${what} must be an integer in the C int range, got ${String(n)}`);
  }
  return n === 0 ? 0 : n;
}
