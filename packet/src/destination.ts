// Destinations that are not an ordinary unicast host, answered as mtr-packet 0.95 answers them.
// Pure: the daemon asks, before sending anything.

import type { IpVersion } from '@mtr-ts/protocol';

export type DestinationKind =
  /** ::ffff:a.b.c.d: 0.95 answers address-not-available (ICMP, UDP); see the README for TCP */
  | 'ipv4-mapped'
  /** ff00::/8: 0.95 answers invalid-argument */
  | 'ipv6-multicast'
  /** 0.0.0.0 or ::, "this host": the kernel answers from loopback */
  | 'unspecified'
  | 'ordinary';

export function destinationKind(family: IpVersion, dst: Uint8Array): DestinationKind {
  // loops, not every(): this runs for every probe (no closure, no subarray per call)
  if (zeroes(dst, dst.length)) return 'unspecified';
  if (family === 4) return 'ordinary';
  if (dst[0] === 0xff) return 'ipv6-multicast';
  if (zeroes(dst, 10) && dst[10] === 0xff && dst[11] === 0xff) return 'ipv4-mapped';
  return 'ordinary';
}

/** Whether dst's first n bytes are all 0. */
function zeroes(dst: Uint8Array, n: number): boolean {
  for (let i = 0; i < n; i++) if (dst[i] !== 0) return false;
  return true;
}

const LOOPBACK4 = new Uint8Array([127, 0, 0, 1]);
const LOOPBACK6 = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);

/** Where an echo reply to `dst` comes from: dst itself, or loopback for the unspecified address. */
export function echoSource(family: IpVersion, dst: Uint8Array): Uint8Array {
  if (destinationKind(family, dst) !== 'unspecified') return dst;
  return family === 4 ? LOOPBACK4 : LOOPBACK6;
}
