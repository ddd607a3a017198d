// What the daemon needs from the world below it. The native Engine provides this; unit tests
// provide a fake. Keeping it this narrow is what lets the daemon be tested without sockets.

import type { IpVersion } from '@mtr-ts/protocol';

export interface Received {
  family: IpVersion;
  /** source address bytes (4 or 16) */
  from: Uint8Array;
  /** IPv4: the whole IP packet; IPv6: the ICMPv6 message */
  data: Uint8Array;
  /** kernel receive time, ns on the transport's clock */
  rxNs: number;
}

export interface SendOptions {
  mark?: number;
  device?: string;
}

export interface Transport {
  /** Which families could be opened. */
  readonly ip4: boolean;
  readonly ip6: boolean;
  readonly sctp: boolean;
  /** Sends a full IPv4 packet; returns the departure time (ns). Throws { errno, code } on failure. */
  sendIPv4(packet: Uint8Array, dst: Uint8Array, opts?: SendOptions): number;
  /** Sends a transport-layer payload over IPv6; returns the departure time (ns). */
  sendIPv6(
    proto: number,
    packet: Uint8Array,
    dst: Uint8Array,
    opts: SendOptions & { hopLimit: number; trafficClass: number; src?: Uint8Array },
  ): number;
  /** The kernel's choice of source address towards dst. Throws { errno } (e.g. ENETUNREACH). */
  sourceAddress(family: IpVersion, dst: Uint8Array): Uint8Array;
  /** ns on the same clock as departures and receptions */
  now(): number;
  /** Closes the sockets; the process can exit afterwards. */
  close(): void;
}

/** A send failure as the native layer reports it: Node-style, with a positive errno. */
export interface SendError {
  errno: number;
  code?: string;
}

export function isSendError(e: unknown): e is SendError {
  return typeof e === 'object' && e !== null && typeof (e as { errno?: unknown }).errno === 'number';
}
