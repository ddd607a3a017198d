// RFC 1071 Internet checksum and RFC 4960 (Appendix B) / RFC 3309 CRC32c.
//
// The Internet checksum is built from an unfolded 32-bit-ish accumulator so that pieces
// (pseudo-header, header, payload) can be summed separately and combined:
//   finishChecksum(sumBytes(b, 0, n, sumPseudoHeaderV4(src, dst, proto, len)))
// A piece that starts at an odd position of the whole must be summed with its bytes swapped;
// keep pieces at even lengths (all headers here are) and this never matters.

/**
 * Add the bytes of data[start, end) as big-endian 16-bit words to `acc` (an odd final byte
 * is padded with a zero byte). The result is unfolded; pass it to foldChecksum/finishChecksum.
 */
export function sumBytes(data: Uint8Array, start: number, end: number, acc = 0): number {
  let sum = acc;
  let i = start;
  const even = end - ((end - start) & 1);
  for (; i < even; i += 2) {
    // doubles hold the unfolded sum exactly far beyond any IP packet (2^53 / 2^16 words)
    sum += ((data[i] as number) << 8) | (data[i + 1] as number);
  }
  if (i < end) sum += (data[i] as number) << 8;
  return sum;
}

/** Fold carries into 16 bits (one's complement sum), not yet complemented. */
export function foldChecksum(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

/** The value to store in a checksum field: the one's complement of the folded sum. */
export function finishChecksum(sum: number): number {
  return ~foldChecksum(sum) & 0xffff;
}

/** RFC 1071 checksum of data[start, end). */
export function internetChecksum(data: Uint8Array, start = 0, end = data.length): number {
  return finishChecksum(sumBytes(data, start, end));
}

/**
 * True when data[start, end) sums to 0xffff, i.e. its embedded checksum field is correct
 * (RFC 1071 verification: the checksum over a datagram including its checksum is zero).
 */
export function checksumValid(data: Uint8Array, start = 0, end = data.length, acc = 0): boolean {
  return foldChecksum(sumBytes(data, start, end, acc)) === 0xffff;
}

/** Unfolded sum of the IPv4 pseudo-header (RFC 768/793): src, dst, zero, protocol, length. */
export function sumPseudoHeaderV4(src: Uint8Array, dst: Uint8Array, protocol: number, length: number, acc = 0): number {
  return (
    acc +
    sumBytes(src, 0, 4) +
    sumBytes(dst, 0, 4) +
    protocol +
    (length & 0xffff)
  );
}

/**
 * Unfolded sum of the IPv6 pseudo-header (RFC 8200 section 8.1): src, dst, 32-bit upper-layer
 * length, three zero bytes, next header.
 */
export function sumPseudoHeaderV6(src: Uint8Array, dst: Uint8Array, nextHeader: number, length: number, acc = 0): number {
  return (
    acc +
    sumBytes(src, 0, 16) +
    sumBytes(dst, 0, 16) +
    Math.floor(length / 0x10000) +
    (length & 0xffff) +
    nextHeader
  );
}

// ---------------------------------------------------------------------------------------------
// CRC32c (Castagnoli), reflected polynomial 0x82F63B78, initial value and final xor 0xFFFFFFFF.

const CRC32C_TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/**
 * Continue a CRC32c over data[start, end). Start with crc = 0 for a fresh computation
 * (the pre/post inversion is handled here, so crc32c(b) === crc32c(b2, crc32c(b1)) for b = b1+b2).
 */
export function crc32c(data: Uint8Array, crc = 0, start = 0, end = data.length): number {
  let c = ~crc >>> 0;
  for (let i = start; i < end; i++) {
    c = (CRC32C_TABLE[(c ^ (data[i] as number)) & 0xff] as number) ^ (c >>> 8);
  }
  return ~c >>> 0;
}

/**
 * Compute and store the SCTP checksum of the packet sctp[start, end) (common header at
 * `start`): the checksum field is zeroed, CRC32c computed over the whole packet, and the
 * result written least significant byte first (RFC 4960 Appendix B byte order, the same as
 * RFC 3720's "CRC: aa 36 91 8a" for 0x8a9136aa). Returns the CRC value.
 */
export function setSctpChecksum(sctp: Uint8Array, start = 0, end = sctp.length): number {
  sctp[start + 8] = 0;
  sctp[start + 9] = 0;
  sctp[start + 10] = 0;
  sctp[start + 11] = 0;
  const crc = crc32c(sctp, 0, start, end);
  sctp[start + 8] = crc & 0xff;
  sctp[start + 9] = (crc >>> 8) & 0xff;
  sctp[start + 10] = (crc >>> 16) & 0xff;
  sctp[start + 11] = crc >>> 24;
  return crc;
}

const ZERO4 = new Uint8Array(4);

/** True when the SCTP packet's stored CRC32c matches its contents. */
export function sctpChecksumValid(sctp: Uint8Array, start = 0, end = sctp.length): boolean {
  if (end - start < 12) return false;
  const stored =
    ((sctp[start + 8] as number) |
      ((sctp[start + 9] as number) << 8) |
      ((sctp[start + 10] as number) << 16) |
      ((sctp[start + 11] as number) << 24)) >>>
    0;
  let c = crc32c(sctp, 0, start, start + 8);
  c = crc32c(ZERO4, c, 0, 4);
  c = crc32c(sctp, c, start + 12, end);
  return c === stored;
}
