// IPv4 / IPv6 text <-> bytes, with exactly glibc's inet_pton / inet_ntop behaviour.
//
// Acceptance rules (glibc resolv/inet_pton.c, which is what mtr-packet 0.95 calls):
//   IPv4: exactly four dotted parts, each one or more decimal digits with a value 0..255 and
//         no leading zero ("0" is fine, "00" and "01" are rejected); nothing else, no spaces.
//   IPv6: up to eight groups of 1..4 hex digits (either case) separated by ':'; at most one
//         '::', which must stand for at least one zero group (so "1:2:3:4:5:6:7:8::" and
//         "1::2:3:4:5:6:7:8" are rejected, "1:2:3:4:5:6:7::" is accepted); a leading ':' must be
//         part of '::'; a trailing single ':' after digits is rejected;
//         the last 32 bits may be written as a dotted quad (IPv4 rules above), which must end
//         the text; no zone ids ("%eth0"), no brackets, no prefix lengths.
// Formatting follows glibc inet_ntop: IPv4 "%u.%u.%u.%u"; IPv6 lowercase hex without leading
// zeros, the longest run of two or more zero groups becomes '::' (the first run on ties), and
// the dotted-quad tail is used for ::ffff:a.b.c.d (IPv4-mapped) and for ::a.b.c.d when the
// first six groups are zero and the seventh is not (IPv4-compatible; ::1 and :: stay hex).

const CH_0 = 48;
const CH_9 = 57;
const CH_DOT = 46;
const CH_COLON = 58;

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/**
 * glibc inet_pton4 over text[start, end) writing into out[at..at+3]. Returns false when the
 * text is not a valid dotted quad. Writes partial results into out even on failure (callers
 * pass a scratch buffer).
 */
function parseIPv4Into(text: string, start: number, end: number, out: Uint8Array, at: number): boolean {
  let octets = 0;
  let sawDigit = false;
  let value = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c >= CH_0 && c <= CH_9) {
      if (sawDigit && value === 0) return false; // leading zero
      value = value * 10 + (c - CH_0);
      if (value > 255) return false;
      if (!sawDigit) {
        if (++octets > 4) return false;
        sawDigit = true;
      }
    } else if (c === CH_DOT && sawDigit) {
      if (octets === 4) return false;
      out[at + octets - 1] = value;
      value = 0;
      sawDigit = false;
    } else {
      return false;
    }
  }
  if (octets < 4 || !sawDigit) return false;
  out[at + 3] = value;
  return true;
}

/** Parse dotted-quad IPv4 text like glibc inet_pton(AF_INET); undefined when rejected. */
export function parseIPv4(text: string): Uint8Array | undefined {
  const out = new Uint8Array(4);
  return parseIPv4Into(text, 0, text.length, out, 0) ? out : undefined;
}

/** Parse IPv6 text like glibc inet_pton(AF_INET6); undefined when rejected. */
export function parseIPv6(text: string): Uint8Array | undefined {
  const end = text.length;
  if (end === 0) return undefined;
  const out = new Uint8Array(16);
  let src = 0;
  // A leading ':' must be the first half of '::'.
  if (text.charCodeAt(0) === CH_COLON) {
    src = 1;
    if (src === end || text.charCodeAt(src) !== CH_COLON) return undefined;
  }
  let tp = 0; // next byte to write
  let colonp = -1; // where '::' was seen
  let curtok = src;
  let digits = 0;
  let val = 0;
  while (src < end) {
    const c = text.charCodeAt(src++);
    const d = hexValue(c);
    if (d >= 0) {
      if (digits === 4) return undefined;
      val = (val << 4) | d;
      digits++;
      continue;
    }
    if (c === CH_COLON) {
      curtok = src;
      if (digits === 0) {
        if (colonp >= 0) return undefined;
        colonp = tp;
        continue;
      } else if (src === end) {
        return undefined; // trailing single ':'
      }
      if (tp + 2 > 16) return undefined;
      out[tp++] = val >> 8;
      out[tp++] = val & 0xff;
      digits = 0;
      val = 0;
      continue;
    }
    if (c === CH_DOT && tp + 4 <= 16 && parseIPv4Into(text, curtok, end, out, tp)) {
      tp += 4;
      digits = 0;
      break;
    }
    return undefined;
  }
  if (digits > 0) {
    if (tp + 2 > 16) return undefined;
    out[tp++] = val >> 8;
    out[tp++] = val & 0xff;
  }
  if (colonp >= 0) {
    if (tp === 16) return undefined; // '::' would stand for zero groups
    const n = tp - colonp;
    out.copyWithin(16 - n, colonp, tp);
    out.fill(0, colonp, 16 - n);
    tp = 16;
  }
  return tp === 16 ? out : undefined;
}

/** glibc inet_ntop(AF_INET): "a.b.c.d" from the first four bytes at offset. */
export function formatIPv4(bytes: Uint8Array, offset = 0): string {
  return `${bytes[offset] ?? 0}.${bytes[offset + 1] ?? 0}.${bytes[offset + 2] ?? 0}.${bytes[offset + 3] ?? 0}`;
}

/** glibc inet_ntop(AF_INET6) from the sixteen bytes at offset. */
export function formatIPv6(bytes: Uint8Array, offset = 0): string {
  const words = new Array<number>(8);
  for (let i = 0; i < 8; i++) words[i] = ((bytes[offset + 2 * i] ?? 0) << 8) | (bytes[offset + 2 * i + 1] ?? 0);
  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  let curLen = 0;
  for (let i = 0; i < 8; i++) {
    if (words[i] === 0) {
      if (curBase === -1) {
        curBase = i;
        curLen = 1;
      } else {
        curLen++;
      }
    } else if (curBase !== -1) {
      if (bestBase === -1 || curLen > bestLen) {
        bestBase = curBase;
        bestLen = curLen;
      }
      curBase = -1;
    }
  }
  if (curBase !== -1 && (bestBase === -1 || curLen > bestLen)) {
    bestBase = curBase;
    bestLen = curLen;
  }
  if (bestBase !== -1 && bestLen < 2) bestBase = -1;

  let s = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase !== -1 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) s += ':';
      continue;
    }
    if (i !== 0) s += ':';
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff))) {
      s += formatIPv4(bytes, offset + 12);
      return s;
    }
    s += (words[i] as number).toString(16);
  }
  if (bestBase !== -1 && bestBase + bestLen === 8) s += ':';
  return s;
}

/** Format 4 bytes as IPv4 or 16 bytes as IPv6; anything else yields undefined. */
export function formatAddress(bytes: Uint8Array): string | undefined {
  if (bytes.length === 4) return formatIPv4(bytes);
  if (bytes.length === 16) return formatIPv6(bytes);
  return undefined;
}

/** Byte-wise equality of two addresses (or any two byte strings). */
export function addressEquals(a: Uint8Array, b: Uint8Array): boolean {
  const n = a.length;
  if (n !== b.length) return false;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}
