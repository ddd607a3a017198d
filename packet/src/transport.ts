// What the daemon needs from the world below it. The native Engine provides this; unit tests
// provide a fake. Keeping it this narrow is what lets the daemon be tested without sockets.

import type { QueuedIcmpError, ReceivedPacket, TcpEnd, TxStampRecord } from '@mtr-ts/native';
import type { IpVersion } from '@mtr-ts/protocol';

/** How a family's probes go out: raw sockets (root / CAP_NET_RAW), datagram sockets (unprivileged), or not at all. */
export type FamilyMode = 'raw' | 'dgram' | 'none';

/**
 * One received packet or event, as the native layer hands it over (its documentation says what
 * each field holds for each source: 'raw', 'ping', 'error', 'tcp', 'tx'). A type only: the daemon
 * does not load the addon, and a fake transport can produce these.
 */
export type Received = ReceivedPacket;
export type { QueuedIcmpError, TcpEnd, TxStampRecord };

export interface SendOptions {
  mark?: number;
  device?: string;
  /**
   * raw sends: names this send; its kernel transmit timestamp, where the kernel gives one, comes
   * back as a 'tx' packet with this txId, ahead of any answer read at the same time
   */
  txId?: number;
}

/** An IPv6 raw send's options: dontFragment sets IPV6_DONTFRAG (EMSGSIZE above the known path MTU). */
export type SendOptions6 = SendOptions & { hopLimit: number; trafficClass: number; src?: Uint8Array; dontFragment?: boolean };

export interface ProbeOptions extends SendOptions {
  ttl: number;
  tos: number;
  src?: Uint8Array;
}

/**
 * Raw sends that leave together: queued during a command slice, sent in order by flush() (the
 * native layer's sendmmsg, each packet still with its own transmit stamp). After flush(),
 * errno(i) and departure(i) say how send i went, until the next queue call starts a new batch.
 */
export interface RawSendQueue {
  /** As Transport.sendIPv4, without a device; returns the send's index in the batch. */
  queueIPv4(packet: Uint8Array, dst: Uint8Array, opts?: SendOptions): number;
  /** As Transport.sendIPv6, without a device; returns the send's index in the batch. */
  queueIPv6(
    proto: number,
    packet: Uint8Array,
    dst: Uint8Array,
    opts: SendOptions6,
  ): number;
  flush(): void;
  /** 0: sent; else the errno the single send would have thrown */
  errno(i: number): number;
  /** the departure (ns), as the single send returns it */
  departure(i: number): number;
}

export interface Transport {
  readonly mode4: FamilyMode;
  readonly mode6: FamilyMode;
  readonly sctp: boolean;
  /** raw sends queued per command slice; absent: each raw send goes at once */
  readonly rawQueue?: RawSendQueue;
  /**
   * raw: sends a full IPv4 packet; returns the departure time (ns; the clock read just before the
   * send, which a 'tx' stamp may later correct). Throws { errno, code } on failure.
   */
  sendIPv4(packet: Uint8Array, dst: Uint8Array, opts?: SendOptions): number;
  /** raw: sends a transport-layer message over IPv6; returns the departure time (ns). */
  sendIPv6(
    proto: number,
    packet: Uint8Array,
    dst: Uint8Array,
    opts: SendOptions6,
  ): number;
  /** dgram: an ICMP echo (the kernel sets the identifier to localPort) or a UDP payload. */
  sendDgram(
    family: IpVersion,
    proto: 'icmp' | 'udp',
    payload: Uint8Array,
    dst: Uint8Array,
    dstPort: number,
    opts: ProbeOptions,
  ): { txNs: number; localPort: number };
  /**
   * A TCP (or, where the kernel has SCTP, an SCTP) probe: a non-blocking connect from srcPort.
   * Its end comes as a 'tcp' packet. quarantineMs: how long its source port stays taken after
   * it ends (TCP), so that no later probe, ours or another process's, gets a late answer of its.
   */
  connectTcp(
    family: IpVersion,
    dst: Uint8Array,
    dstPort: number,
    srcPort: number,
    opts: ProbeOptions & { protocol?: 'tcp' | 'sctp'; quarantineMs?: number },
  ): { id: number; txNs: number };
  closeTcp(id: number): void;
  /** The kernel's choice of source address towards dst. Throws { errno } (e.g. ENETUNREACH). */
  sourceAddress(family: IpVersion, dst: Uint8Array): Uint8Array;
  /**
   * Claims an ICMP identifier for raw probes in this network namespace, for as long as the
   * transport is open: false if another daemon holds it. Absent: nothing to claim with.
   */
  reserveIcmpId?(id: number): boolean;
  /**
   * Claims the 16-bit tag of TCP flow probes' sequence numbers in this network namespace, as
   * reserveIcmpId does the identifier: false if another daemon holds it. Absent: nothing to claim with.
   */
  reserveTcpFlowTag?(tag: number): boolean;
  /**
   * Raw TCP flow probes: from now on, SYN-ACKs and RSTs to local ports 1024 and up come as 'segment'
   * packets, for the families said. Absent: no TCP flows.
   */
  watchSegments?(): { ip4: boolean; ip6: boolean };
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
