// The Engine: raw (or datagram) sockets with their receive polls, as a JS class over the addon.

import { addon, type NativeEngine } from './addon.js';
import { unpackBatch } from './batch.js';
import type { SendBatch } from './send-batch.js';
import {
  checkAddress,
  checkByteOrDefault,
  checkDevice,
  checkFamily,
  checkMark,
  checkPort,
  checkQuarantine,
  checkTxId,
} from './checks.js';
import {
  IPPROTO_SCTP,
  IPPROTO_TCP,
  type CapabilityFacts,
  type DgramSendResult,
  type EngineStats,
  type OpenOptions,
  type OpenResult,
  type ProbeSendOptions,
  type ReceivedPacket,
  type SegmentWatch,
  type SendIPv6Options,
  type SendOptions,
  type SourceAddressOptions,
  type TcpConnectResult,
} from './types.js';

/**
 * Raw sockets for probing, with one receive poll per family on the current env's event loop.
 * Times are JS numbers of nanoseconds since an epoch fixed at construction (CLOCK_REALTIME then),
 * exact while below 2^53 ns (~104 days).
 */
export class Engine {
  readonly #native: NativeEngine;

  constructor(onBatch: (packets: ReceivedPacket[]) => void) {
    if (typeof onBatch !== 'function') throw new TypeError('onBatch must be a function');
    const { Engine: NativeEngineClass } = addon();
    this.#native = new NativeEngineClass((buffer, meta, ext) => onBatch(unpackBatch(buffer, meta, ext)));
  }

  /**
   * Opens the sockets (once; later calls return the same result and ignore opts). Throws if neither
   * family opens. Also raises the RLIMIT_NOFILE soft limit to the hard limit (maxFiles).
   * Datagram mode per family: an ICMP "ping" socket (allowed by net.ipv4.ping_group_range) and one
   * UDP socket bound to an ephemeral port, both with IP_RECVERR/IPV6_RECVERR and SO_TIMESTAMPNS.
   */
  open(opts?: OpenOptions): OpenResult {
    const mode = opts?.mode;
    if (mode !== undefined && mode !== 'auto' && mode !== 'raw' && mode !== 'dgram') {
      throw new TypeError("mode must be 'auto', 'raw' or 'dgram'");
    }
    const r = this.#native.open(mode);
    const out: OpenResult = { ip4: r.ip4, ip6: r.ip6, sctp: r.sctp, maxFiles: r.maxFiles, txStamps: r.txStamps };
    if (r.ip4Error) out.ip4Error = r.ip4Error.code;
    if (r.ip6Error) out.ip6Error = r.ip6Error.code;
    if (r.ip4DgramError) out.ip4DgramError = r.ip4DgramError.code;
    if (r.ip6DgramError) out.ip6DgramError = r.ip6DgramError.code;
    return out;
  }

  /**
   * Datagram mode: sends one ICMP echo request ('icmp': payload = ICMP echo header + data; the
   * kernel computes the checksum and replaces the identifier with localPort) or one UDP datagram
   * ('udp': payload = UDP payload only; dstPort 1..65535, source port = localPort). TTL/TOS,
   * source address and device go in per-send control messages, so nothing sticks; mark is set on
   * the shared socket only when it changes. Throws EOPNOTSUPP when the family is in raw mode,
   * EAFNOSUPPORT when it is closed, and Node-style errors from sendmsg (e.g. ENETUNREACH).
   */
  sendDgram(
    family: 4 | 6,
    proto: 'icmp' | 'udp',
    payload: Uint8Array,
    dst: Uint8Array,
    dstPort: number,
    opts: ProbeSendOptions,
  ): DgramSendResult {
    checkFamily(family);
    if (proto !== 'icmp' && proto !== 'udp') throw new TypeError("proto must be 'icmp' or 'udp'");
    if (!(payload instanceof Uint8Array)) throw new TypeError('payload must be a Uint8Array');
    checkAddress('dst', dst, family === 4 ? 4 : 16);
    if (opts.src !== undefined) checkAddress('src', opts.src, family === 4 ? 4 : 16);
    return this.#native.sendDgram(
      family,
      proto,
      payload,
      dst,
      proto === 'udp' ? checkPort('dstPort', dstPort, 1) : 0,
      checkByteOrDefault('ttl', opts.ttl),
      checkByteOrDefault('tos', opts.tos),
      checkMark(opts.mark),
      checkDevice(opts.device),
      opts.src,
      opts.scopeId ?? 0,
    );
  }

  /**
   * Starts a TCP probe: a non-blocking connect() from srcPort (0: the kernel picks) with this TTL,
   * TOS, mark and device, without SO_REUSEADDR (a port still in use gives EADDRINUSE from bind).
   * Works in raw and datagram mode; needs open(). Its end arrives as a 'tcp' event (tcpErrno 0:
   * connected; else the errno, e.g. 111 refused, 113 for a router's ICMP error), after which the
   * socket is closed at once with SO_LINGER {1,0} (a connected probe sends RST; no TIME_WAIT).
   * An ECONNREFUSED that connect() itself returns is no throw: it is delivered the same way, in
   * the next batch. In datagram mode (IP_RECVERR) a router's ICMP error for the probe also comes
   * as an 'error' event (errProto 'tcp', tcpId, origSrcPort) in the same batch, before its 'tcp'
   * event; in raw mode it comes only through the raw ICMP socket (quoting our source port).
   * Other failures throw Node-style errors (EADDRINUSE from bind, ENETUNREACH from connect, ...).
   * With `protocol: 'sctp'` the probe is an SCTP association attempt instead (a stream socket of
   * IPPROTO_SCTP, as mtr-packet's), with the same events; where the kernel has no SCTP
   * (OpenResult.sctp false) it throws EPROTONOSUPPORT from socket().
   * With `quarantineMs` (TCP only), the probe's source port stays taken that long after the probe
   * ends: its socket is disconnected (RST when connected) but kept bound, so no probe of this or
   * any other process can bind the port while a late answer for this one may still arrive.
   */
  connectTcp(
    family: 4 | 6,
    dst: Uint8Array,
    dstPort: number,
    srcPort: number,
    opts: ProbeSendOptions & { protocol?: 'tcp' | 'sctp'; quarantineMs?: number },
  ): TcpConnectResult {
    checkFamily(family);
    checkAddress('dst', dst, family === 4 ? 4 : 16);
    if (opts.src !== undefined) checkAddress('src', opts.src, family === 4 ? 4 : 16);
    return this.#native.connectTcp(
      family,
      dst,
      checkPort('dstPort', dstPort, 1),
      checkPort('srcPort', srcPort, 0),
      checkByteOrDefault('ttl', opts.ttl),
      checkByteOrDefault('tos', opts.tos),
      checkMark(opts.mark),
      checkDevice(opts.device),
      opts.src,
      opts.scopeId ?? 0,
      opts.protocol === 'sctp' ? IPPROTO_SCTP : IPPROTO_TCP,
      checkQuarantine(opts.quarantineMs),
    );
  }

  /** Closes a TCP probe early (no event follows). Idempotent: false when it was already closed. */
  closeTcp(id: number): boolean {
    if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) throw new RangeError('id must be a uint32');
    return this.#native.closeTcp(id);
  }

  /** What can be set now (call it after dropPrivileges): tried on a throwaway socket. */
  probeCapabilities(): CapabilityFacts {
    return this.#native.probeCapabilities();
  }

  /**
   * Sends a full IPv4 packet (header included). Returns the departure time (ns since epoch): the
   * clock read immediately before the send syscall. With opts.txId the kernel's transmit timestamp
   * follows as a 'tx' record (see OpenResult.txStamps).
   */
  sendIPv4(packet: Uint8Array, dst: Uint8Array, opts?: SendOptions): number {
    checkAddress('dst', dst, 4);
    return this.#native.sendIPv4(packet, dst, checkMark(opts?.mark), checkDevice(opts?.device), checkTxId(opts?.txId));
  }

  /** Sends a transport header + payload for protocol proto (58, 17, 6 or 132) over IPv6. Returns and stamps as sendIPv4. */
  sendIPv6(proto: number, packet: Uint8Array, dst: Uint8Array, opts: SendIPv6Options): number {
    checkAddress('dst', dst, 16);
    if (opts.src !== undefined) checkAddress('src', opts.src, 16);
    return this.#native.sendIPv6(
      proto,
      packet,
      dst,
      checkByteOrDefault('hopLimit', opts.hopLimit),
      checkByteOrDefault('trafficClass', opts.trafficClass),
      opts.src,
      checkMark(opts.mark),
      checkDevice(opts.device),
      opts.scopeId ?? 0,
      checkTxId(opts.txId),
      opts.dontFragment === true,
    );
  }

  /**
   * Sends every packet of a send batch, in order; then batch.errno(i) and batch.departure(i) say
   * how each went (no throw for a failed send: its errno, as sendIPv4/sendIPv6 would throw it).
   * Consecutive packets for one socket and mark leave in one sendmmsg while transmit stamps are
   * on, each with its own stamp (its txId); without stamps each is sent alone, its departure the
   * clock read just before it.
   */
  sendBatch(batch: SendBatch): void {
    this.#native.sendBatch(batch.bytes, batch.sends, batch.count, batch.results);
  }

  /** The kernel's choice of source address towards dst. Throws e.g. ENETUNREACH (syscall 'connect'). */
  sourceAddress(family: 4 | 6, dst: Uint8Array, opts?: SourceAddressOptions): Uint8Array {
    checkAddress('dst', dst, family === 4 ? 4 : 16);
    return this.#native.sourceAddress(family, dst, opts?.scopeId ?? 0, checkMark(opts?.mark), checkDevice(opts?.device));
  }

  /** Now, in ns since the engine's epoch, on the clock of rxNs and send returns. */
  now(): number {
    return this.#native.now();
  }

  /**
   * Holds the abstract AF_UNIX name "\0" + name of this network namespace until the engine closes:
   * true if it is now held, false if another socket (of any process in the namespace) holds it.
   * Processes of one namespace claim something through it, e.g. an ICMP identifier.
   */
  holdName(name: string): boolean {
    if (typeof name !== 'string' || name.length === 0 || name.includes('\0')) {
      throw new TypeError('name must be a non-empty string without NUL');
    }
    return this.#native.holdName(name);
  }

  /**
   * Raw TCP flow probes (SYNs sent whole through sendIPv4/sendIPv6): from now on, the SYN-ACKs and
   * RSTs to local ports 1024 and up that the raw IPPROTO_TCP sockets (opened with the raw sockets,
   * where they opened) receive arrive as 'segment' records, kernel-stamped. Says which families do
   * (none in datagram mode). Idempotent; needs open().
   */
  watchSegments(): SegmentWatch {
    return this.#native.watchSegments();
  }

  /** Closes every socket and stops the polls. Idempotent. */
  close(): void {
    this.#native.close();
  }

  /** While open, the polls keep the event loop alive (the default). */
  ref(): this {
    this.#native.ref();
    return this;
  }

  /** Lets the event loop exit even while open. */
  unref(): this {
    this.#native.unref();
    return this;
  }

  stats(): EngineStats {
    return this.#native.stats();
  }
}
