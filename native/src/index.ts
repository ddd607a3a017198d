// The TypeScript face of the native addon. Native does syscalls only; this file checks arguments,
// fills defaults and turns each native batch (one ArrayBuffer + a Float64Array index) into
// ReceivedPacket objects. Packet bytes are built and decoded elsewhere (./wire).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type PacketSource = 'raw' | 'ping' | 'error' | 'tcp' | 'tx';

export interface ReceivedPacket {
  family: 4 | 6;
  /**
   * Source address: 4 or 16 bytes. 'raw'/'ping': the packet's sender; 'error': the ICMP message's
   * sender (SO_EE_OFFENDER); 'tcp': the probe's destination.
   */
  from: Uint8Array;
  /**
   * 'raw': IPv4: the whole IPv4 packet (header + ICMP); IPv6: the ICMPv6 message only.
   * 'ping': the ICMP/ICMPv6 echo reply message (no IP header; its identifier is the ping socket's port).
   * 'error': the original payload as the router quoted it: for ICMP probes our ICMP echo header +
   * data (identifier = the ping socket's port), for UDP the UDP payload, for TCP the TCP header.
   * 'tcp': empty.
   */
  data: Uint8Array;
  /**
   * ns since the engine's epoch; same clock as the send returns and now(). 'tx': the kernel's
   * software transmit timestamp of the send given txId (taken as the driver hands the packet to the
   * device; SO_TIMESTAMPING TX_SOFTWARE, CLOCK_REALTIME like the receive stamps). 'raw', 'ping', 'error':
   * the kernel's receive timestamp (SO_TIMESTAMPNS, also delivered with error-queue reads) of the
   * ICMP message. 'tcp': the clock read when the event loop woke for the socket (a SYN-ACK or RST
   * has no kernel timestamp through connect()), or for an immediate ECONNREFUSED when connect() returned.
   */
  rxNs: number;
  /**
   * Where it came from: 'raw' (raw ICMP socket), 'ping' (datagram ICMP echo reply), 'error' (a
   * socket's error queue: an ICMP error for one of our datagram or TCP probes), 'tcp' (a TCP
   * probe's connect finished), 'tx' (a raw send's transmit timestamp: txId names the send; family is
   * the send socket's, from is zeros, data empty). 'tx' records come first in their batch, before
   * any answer read in the same wake.
   */
  source: PacketSource;
  /** 'error': ICMP type and code from sock_extended_err (ICMPv6 numbering for IPv6). */
  icmpType?: number;
  icmpCode?: number;
  /** 'error': the protocol of the socket the error was queued on. */
  errProto?: 'icmp' | 'udp' | 'tcp';
  /** 'error': the original destination address (msg_name of the error-queue read). */
  origDst?: Uint8Array;
  /** 'error' for UDP and TCP: the original destination port. */
  origDstPort?: number;
  /** 'error': our source port (UDP/TCP), or the ping socket's port (= ICMP identifier) for ICMP. */
  origSrcPort?: number;
  /** 'tcp', and 'error' with errProto 'tcp': the probe id from connectTcp(). */
  tcpId?: number;
  /** 'tcp': 0 (connected) or the errno (111 ECONNREFUSED, 113 EHOSTUNREACH, 110 ETIMEDOUT, ...). */
  tcpErrno?: number;
  /** 'tx': the txId given to sendIPv4/sendIPv6. */
  txId?: number;
}

/** An Error shaped like Node's system errors. */
export interface ErrnoError extends Error {
  code: string;
  errno: number;
  syscall: string;
}

export type FamilyMode = 'raw' | 'dgram' | 'none';

/**
 * 'auto' (default): raw sockets, and per family a fallback to datagram sockets when raw ones cannot
 * be opened. 'raw': raw only. 'dgram': datagram only, even when raw sockets would open.
 */
export type OpenMode = 'auto' | 'raw' | 'dgram';

export interface OpenOptions {
  mode?: OpenMode;
}

export interface OpenResult {
  ip4: FamilyMode;
  ip6: FamilyMode;
  /** errno code ('EPERM', ...) of why ip4 is 'none': the raw socket's failure if raw was tried, else the datagram one's. */
  ip4Error?: string;
  ip6Error?: string;
  /** errno code of a failed datagram-mode open (e.g. 'EACCES': the gid is outside net.ipv4.ping_group_range). */
  ip4DgramError?: string;
  ip6DgramError?: string;
  /** The kernel has SCTP (an IPPROTO_SCTP stream socket can be created): connectTcp can then send SCTP probes. */
  sctp: boolean;
  /** RLIMIT_NOFILE soft limit after open() raised it to the hard limit (-1: unlimited/unknown). */
  maxFiles: number;
  /**
   * Raw sends given a txId are followed by 'tx' records with the kernel's transmit timestamp
   * (SO_TIMESTAMPING on at least one raw send socket). Where a stamp never comes (a kernel or
   * device without software transmit stamps), the send's return value is all there is.
   */
  txStamps: boolean;
}

export interface CapabilityFacts {
  /**
   * SO_MARK can be set now from this thread (CAP_NET_ADMIN effective, or permitted and raised per
   * setsockopt after dropPrivileges({ keepNetAdmin: true })).
   */
  mark: boolean;
  /** SO_BINDTODEVICE can be set now on a fresh socket. */
  bindToDevice: boolean;
}

export interface ProbeSendOptions {
  /** IPv4 TTL / IPv6 hop limit, 1..255 (-1: the kernel default). */
  ttl: number;
  /** IPv4 TOS / IPv6 traffic class, 0..255 (-1: the kernel default). */
  tos: number;
  /** SO_MARK (0 or absent: unmarked). */
  mark?: number;
  /**
   * Outgoing interface (absent: routing decides). sendDgram: per-send IP_PKTINFO/IPV6_PKTINFO;
   * connectTcp: SO_BINDTODEVICE on the fresh probe socket (unprivileged since Linux 5.7).
   */
  device?: string;
  /** Source address, 4 or 16 bytes (absent: the kernel's choice). */
  src?: Uint8Array;
  /** sin6_scope_id for link-local IPv6 destinations. */
  scopeId?: number;
}

export interface DgramSendResult {
  /** Departure time, ns since the engine's epoch. */
  txNs: number;
  /**
   * The socket's local port. For 'icmp' the kernel wrote it into the echo identifier (replies and
   * quoted errors carry it); for 'udp' it is the UDP source port of every datagram-mode UDP probe.
   */
  localPort: number;
}

export interface TcpConnectResult {
  /** The probe's id: events carry it as tcpId; closeTcp(id) ends it early. */
  id: number;
  /** Departure time (immediately before connect()), ns since the engine's epoch. */
  txNs: number;
  /** The bound source port (srcPort, or the kernel's pick when srcPort was 0). */
  localPort: number;
}

export interface SendOptions {
  /** SO_MARK for this send only (0 or absent: unmarked). */
  mark?: number;
  /**
   * Outgoing interface for this packet only (absent: routing decides): IP_PKTINFO / IPV6_PKTINFO
   * ifindex, so nothing sticks to the socket and no capability is needed. An unknown name throws
   * ENODEV (syscall 'if_nametoindex'). sourceAddress() binds its throwaway socket (SO_BINDTODEVICE).
   */
  device?: string;
  /**
   * sendIPv4/sendIPv6 only: a uint32 naming this send. Its kernel transmit timestamp then arrives
   * as a 'tx' record with this txId (at most once; none where the kernel gives no stamp, or when it
   * could not be told apart from another send's). The caller picks the ids; reusing one while an
   * earlier send of it may still be stamped makes the two indistinguishable.
   */
  txId?: number;
}

export interface SendIPv6Options extends SendOptions {
  hopLimit: number;
  trafficClass: number;
  /**
   * Source address (IPV6_PKTINFO); absent: the kernel's choice. With both src and device, the
   * kernel's IPv6 route lookup treats the device as a preference only (it is strict without src):
   * a better-metric route through another interface wins.
   */
  src?: Uint8Array;
  /** sin6_scope_id for link-local destinations. */
  scopeId?: number;
}

export interface SourceAddressOptions extends SendOptions {
  scopeId?: number;
}

export interface EngineStats {
  packets: number;
  /** Truncated (oversize) or nameless datagrams dropped. */
  skipped: number;
  readErrors: number;
  batches: number;
  /** TCP probe sockets open now. */
  tcpInFlight: number;
}

export interface DropPrivilegesOptions {
  /** Switch to this uid (only as root), after setgroups(0). Nothing is kept then. */
  uid?: number;
  gid?: number;
  /**
   * Without a uid/gid switch: the calling thread keeps CAP_NET_ADMIN in its permitted set only
   * (effective and inheritable empty, bounding set just CAP_NET_ADMIN, SECBIT_NOROOT locked so an
   * execve gains nothing). Setting SO_MARK then raises it into the effective set for that one
   * setsockopt. Every other thread is cleared as without it; threads and workers created later by
   * the calling thread inherit the permitted CAP_NET_ADMIN. Marks work from the calling thread only.
   */
  keepNetAdmin?: boolean;
}

export interface DropPrivilegesResult {
  /**
   * capget(2) reports empty effective, permitted and inheritable sets for the calling thread.
   * false when keptNetAdmin (CAP_NET_ADMIN stays permitted).
   */
  capsCleared: boolean;
  /** Every capability dropped from the bounding set (but CAP_NET_ADMIN when kept). */
  boundingCleared: boolean;
  noNewPrivs: boolean;
  /**
   * Every thread of the process (not only the caller) shows empty effective and permitted sets.
   * Capabilities are per thread: other threads are reached by a one-off real-time signal, but a
   * thread that blocks every signal (Node's SIGUSR1 inspector watchdog) cannot be; it is only
   * cleared by a uid switch away from root (glibc applies setuid to all threads). So this is
   * normally true with a uid given and false when staying root. With keptNetAdmin the calling
   * thread counts as clear when its effective set is empty and its permitted set just CAP_NET_ADMIN.
   */
  allThreads: boolean;
  /** uid/gid were switched (only done when running as root and asked for). */
  switched: boolean;
  /** The calling thread holds CAP_NET_ADMIN in its permitted set (keepNetAdmin, no switch, and it had it). */
  keptNetAdmin: boolean;
  uid: number;
  gid: number;
}

export const IPPROTO_ICMPV6 = 58;
export const IPPROTO_UDP = 17;
export const IPPROTO_TCP = 6;
export const IPPROTO_SCTP = 132;

type NativeOpenResult = Omit<OpenResult, 'ip4Error' | 'ip6Error' | 'ip4DgramError' | 'ip6DgramError'> & {
  ip4Error?: ErrnoError;
  ip6Error?: ErrnoError;
  ip4DgramError?: ErrnoError;
  ip6DgramError?: ErrnoError;
};

interface NativeEngine {
  open(mode: OpenMode | undefined): NativeOpenResult;
  sendDgram(
    family: 4 | 6,
    proto: 'icmp' | 'udp',
    payload: Uint8Array,
    dst: Uint8Array,
    dstPort: number,
    ttl: number,
    tos: number,
    mark: number,
    device: string | undefined,
    src: Uint8Array | undefined,
    scopeId: number,
  ): DgramSendResult;
  connectTcp(
    family: 4 | 6,
    dst: Uint8Array,
    dstPort: number,
    srcPort: number,
    ttl: number,
    tos: number,
    mark: number,
    device: string | undefined,
    src: Uint8Array | undefined,
    scopeId: number,
    protocol: number,
  ): TcpConnectResult;
  closeTcp(id: number): boolean;
  probeCapabilities(): CapabilityFacts;
  sendIPv4(packet: Uint8Array, dst: Uint8Array, mark: number, device: string | undefined, txId: number | undefined): number;
  sendIPv6(
    proto: number,
    packet: Uint8Array,
    dst: Uint8Array,
    hopLimit: number,
    trafficClass: number,
    src: Uint8Array | undefined,
    mark: number,
    device: string | undefined,
    scopeId: number,
    txId: number | undefined,
  ): number;
  sourceAddress(family: 4 | 6, dst: Uint8Array, scopeId: number, mark: number, device: string | undefined): Uint8Array;
  now(): number;
  close(): void;
  ref(): void;
  unref(): void;
  stats(): EngineStats;
}

interface NativeAddon {
  Engine: new (onBatch: (buffer: ArrayBuffer, meta: Float64Array, ext?: Float64Array) => void) => NativeEngine;
  dropPrivileges(uid: number | undefined, gid: number | undefined, keepNetAdmin: boolean): DropPrivilegesResult;
  errnoName(errno: number): string;
}

/**
 * The addon sits in this package's build/Release. Found through the package itself, so the same
 * code works from src/ (tests), dist/ and from a bundle that inlined this module elsewhere.
 */
function addonPath(): string {
  const require = createRequire(import.meta.url);
  let pkg: string;
  try {
    pkg = require.resolve('@mtr-ts/native/package.json');
  } catch {
    // Inlined in a bundle: dist/../build (this package's own dist), or dist/../native/build (the
    // packed mtr-packet-ts, which builds the addon in its native/ at install).
    const own = fileURLToPath(new URL('../build/Release/mtr_native.node', import.meta.url));
    const packed = fileURLToPath(new URL('../native/build/Release/mtr_native.node', import.meta.url));
    return existsSync(own) || !existsSync(packed) ? own : packed;
  }
  return join(dirname(pkg), 'build', 'Release', 'mtr_native.node');
}

function loadAddon(): NativeAddon {
  const path = addonPath();
  if (!existsSync(path)) {
    throw new Error(
      `mtr-packet-ts: the native addon is missing (${path}). Run \`pnpm install\` (it builds the addon; needs python3, make and g++).`,
    );
  }
  const require = createRequire(import.meta.url);
  return require(path) as NativeAddon;
}

let cached: NativeAddon | undefined;
function addon(): NativeAddon {
  cached ??= loadAddon();
  return cached;
}

const META_FIELDS = 5; // family, fromOffset, dataOffset, dataLength, rxNs
// Only for batches holding anything but raw packets (NaN: absent):
// source, icmpType, icmpCode, errProto, origDstPort, origSrcPort, tcpId, tcpErrno, origDstOffset, txId
const EXT_FIELDS = 10;
const SOURCES: readonly PacketSource[] = ['raw', 'ping', 'error', 'tcp', 'tx'];

function errProtoOf(n: number): 'icmp' | 'udp' | 'tcp' {
  return n === 17 ? 'udp' : n === 6 ? 'tcp' : 'icmp';
}

function unpackBatch(buffer: ArrayBuffer, meta: Float64Array, ext: Float64Array | undefined): ReceivedPacket[] {
  const count = meta.length / META_FIELDS;
  const packets = new Array<ReceivedPacket>(count);
  for (let i = 0, m = 0; i < count; i++, m += META_FIELDS) {
    const family = meta[m] === 4 ? 4 : 6;
    const fromOffset = meta[m + 1]!;
    const dataOffset = meta[m + 2]!;
    const p: ReceivedPacket = {
      family,
      from: new Uint8Array(buffer, fromOffset, family === 4 ? 4 : 16),
      data: new Uint8Array(buffer, dataOffset, meta[m + 3]!),
      rxNs: meta[m + 4]!,
      source: 'raw',
    };
    if (ext !== undefined) {
      const e = i * EXT_FIELDS;
      p.source = SOURCES[ext[e]!] ?? 'raw';
      if (p.source === 'error') {
        p.icmpType = ext[e + 1]!;
        p.icmpCode = ext[e + 2]!;
        p.errProto = errProtoOf(ext[e + 3]!);
        if (!Number.isNaN(ext[e + 4]!)) p.origDstPort = ext[e + 4]!;
        if (!Number.isNaN(ext[e + 5]!)) p.origSrcPort = ext[e + 5]!;
        if (!Number.isNaN(ext[e + 6]!)) p.tcpId = ext[e + 6]!;
        if (!Number.isNaN(ext[e + 8]!)) p.origDst = new Uint8Array(buffer, ext[e + 8]!, family === 4 ? 4 : 16);
      } else if (p.source === 'tcp') {
        p.tcpId = ext[e + 6]!;
        p.tcpErrno = ext[e + 7]!;
      } else if (p.source === 'tx') {
        p.txId = ext[e + 9]!;
      }
    }
    packets[i] = p;
  }
  return packets;
}

function checkAddress(name: string, a: Uint8Array, length: 4 | 16): void {
  if (!(a instanceof Uint8Array) || a.length !== length) {
    throw new TypeError(`${name} must be a Uint8Array of ${length} bytes`);
  }
}

function checkMark(mark: number | undefined): number {
  if (mark === undefined) return 0;
  if (!Number.isInteger(mark) || mark < 0 || mark > 0xffffffff) throw new RangeError('mark must be a uint32');
  return mark;
}

function checkTxId(txId: number | undefined): number | undefined {
  if (txId === undefined) return undefined;
  if (!Number.isInteger(txId) || txId < 0 || txId > 0xffffffff) throw new RangeError('txId must be a uint32');
  return txId;
}

function checkDevice(device: string | undefined): string | undefined {
  if (device === undefined || device === '') return undefined;
  if (device.length >= 16 || device.includes('\0')) throw new RangeError('device must be an interface name');
  return device;
}

function checkPort(name: string, v: number, min: number): number {
  if (!Number.isInteger(v) || v < min || v > 65535) throw new RangeError(`${name} must be an integer ${min}..65535`);
  return v;
}

function checkFamily(family: number): 4 | 6 {
  if (family !== 4 && family !== 6) throw new TypeError('family must be 4 or 6');
  return family;
}

/** 0..255, or -1 for the kernel's default, as IPV6_HOPLIMIT / IPV6_TCLASS take them. */
function checkByteOrDefault(name: string, v: number): number {
  if (!Number.isInteger(v) || v < -1 || v > 255) throw new RangeError(`${name} must be an integer -1..255`);
  return v;
}

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
   */
  connectTcp(
    family: 4 | 6,
    dst: Uint8Array,
    dstPort: number,
    srcPort: number,
    opts: ProbeSendOptions & { protocol?: 'tcp' | 'sctp' },
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
    );
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

/**
 * Drops privileges once the sockets are open: bounding and ambient sets, then (as root, when asked)
 * setgroups(0)/setgid/setuid, then capset to nothing (or, with keepNetAdmin, to CAP_NET_ADMIN
 * permitted only) and PR_SET_NO_NEW_PRIVS, on the calling thread and then on every other thread
 * that accepts signals (see allThreads). Throws a Node-style error if a step fails (e.g. setuid EPERM).
 */
export function dropPrivileges(opts: DropPrivilegesOptions = {}): DropPrivilegesResult {
  if (opts.keepNetAdmin !== undefined && typeof opts.keepNetAdmin !== 'boolean') {
    throw new TypeError('keepNetAdmin must be a boolean');
  }
  return addon().dropPrivileges(opts.uid, opts.gid, opts.keepNetAdmin === true);
}

/** 'ENETUNREACH' for 101. */
export function errnoName(errno: number): string {
  return addon().errnoName(errno);
}

/** Whether an unknown value is a Node-style system error from this addon or Node. */
export function isErrnoError(e: unknown): e is ErrnoError {
  return (
    e instanceof Error &&
    typeof (e as Partial<ErrnoError>).code === 'string' &&
    typeof (e as Partial<ErrnoError>).errno === 'number' &&
    typeof (e as Partial<ErrnoError>).syscall === 'string'
  );
}
