// The TypeScript face of the native addon. Native does syscalls only; this file checks arguments,
// fills defaults and turns each native batch (one ArrayBuffer + a Float64Array index) into
// ReceivedPacket objects. Packet bytes are built and decoded elsewhere (./wire).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export interface ReceivedPacket {
  family: 4 | 6;
  /** Source address of the packet: 4 or 16 bytes. */
  from: Uint8Array;
  /** IPv4: the whole IPv4 packet (header + ICMP). IPv6: the ICMPv6 message only. */
  data: Uint8Array;
  /** Kernel receive time (SO_TIMESTAMPNS), ns since the engine's epoch; same clock as send()'s return and now(). */
  rxNs: number;
}

/** An Error shaped like Node's system errors. */
export interface ErrnoError extends Error {
  code: string;
  errno: number;
  syscall: string;
}

export type FamilyMode = 'raw' | 'dgram' | 'none';

export interface OpenResult {
  ip4: FamilyMode;
  ip6: FamilyMode;
  /** errno code ('EPERM', ...) of why ip4 is 'none'. */
  ip4Error?: string;
  ip6Error?: string;
  /** SCTP probes can be sent on at least one open family. */
  sctp: boolean;
}

export interface SendOptions {
  /** SO_MARK for this send only (0 or absent: unmarked). */
  mark?: number;
  /** SO_BINDTODEVICE for this send only (absent: unbound). */
  device?: string;
}

export interface SendIPv6Options extends SendOptions {
  hopLimit: number;
  trafficClass: number;
  /** Source address (IPV6_PKTINFO); absent: the kernel's choice. */
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
}

export interface DropPrivilegesResult {
  /** capget(2) reports empty effective, permitted and inheritable sets for the calling thread. */
  capsCleared: boolean;
  boundingCleared: boolean;
  noNewPrivs: boolean;
  /**
   * Every thread of the process (not only the caller) shows empty effective and permitted sets.
   * Capabilities are per thread: other threads are reached by a one-off real-time signal, but a
   * thread that blocks every signal (Node's SIGUSR1 inspector watchdog) cannot be; it is only
   * cleared by a uid switch away from root (glibc applies setuid to all threads). So this is
   * normally true with a uid given and false when staying root.
   */
  allThreads: boolean;
  /** uid/gid were switched (only done when running as root and asked for). */
  switched: boolean;
  uid: number;
  gid: number;
}

export const IPPROTO_ICMPV6 = 58;
export const IPPROTO_UDP = 17;
export const IPPROTO_TCP = 6;
export const IPPROTO_SCTP = 132;

interface NativeEngine {
  open(): OpenResult & { ip4Error?: ErrnoError; ip6Error?: ErrnoError };
  sendIPv4(packet: Uint8Array, dst: Uint8Array, mark: number, device: string | undefined): number;
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
  ): number;
  sourceAddress(family: 4 | 6, dst: Uint8Array, scopeId: number, mark: number, device: string | undefined): Uint8Array;
  now(): number;
  close(): void;
  ref(): void;
  unref(): void;
  stats(): EngineStats;
}

interface NativeAddon {
  Engine: new (onBatch: (buffer: ArrayBuffer, meta: Float64Array) => void) => NativeEngine;
  dropPrivileges(uid: number | undefined, gid: number | undefined): DropPrivilegesResult;
  errnoName(errno: number): string;
}

const addonUrl = new URL('../build/Release/mtr_native.node', import.meta.url);

function loadAddon(): NativeAddon {
  const path = fileURLToPath(addonUrl);
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

function unpackBatch(buffer: ArrayBuffer, meta: Float64Array): ReceivedPacket[] {
  const count = meta.length / META_FIELDS;
  const packets = new Array<ReceivedPacket>(count);
  for (let i = 0, m = 0; i < count; i++, m += META_FIELDS) {
    const family = meta[m] === 4 ? 4 : 6;
    const fromOffset = meta[m + 1]!;
    const dataOffset = meta[m + 2]!;
    packets[i] = {
      family,
      from: new Uint8Array(buffer, fromOffset, family === 4 ? 4 : 16),
      data: new Uint8Array(buffer, dataOffset, meta[m + 3]!),
      rxNs: meta[m + 4]!,
    };
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

function checkDevice(device: string | undefined): string | undefined {
  if (device === undefined || device === '') return undefined;
  if (device.length >= 16 || device.includes('\0')) throw new RangeError('device must be an interface name');
  return device;
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
    this.#native = new NativeEngineClass((buffer, meta) => onBatch(unpackBatch(buffer, meta)));
  }

  /** Opens the sockets (once; later calls return the same result). Throws if neither family opens. */
  open(): OpenResult {
    const r = this.#native.open();
    const out: OpenResult = { ip4: r.ip4, ip6: r.ip6, sctp: r.sctp };
    if (r.ip4Error) out.ip4Error = r.ip4Error.code;
    if (r.ip6Error) out.ip6Error = r.ip6Error.code;
    return out;
  }

  /** Sends a full IPv4 packet (header included). Returns the departure time (ns since epoch). */
  sendIPv4(packet: Uint8Array, dst: Uint8Array, opts?: SendOptions): number {
    checkAddress('dst', dst, 4);
    return this.#native.sendIPv4(packet, dst, checkMark(opts?.mark), checkDevice(opts?.device));
  }

  /** Sends a transport header + payload for protocol proto (58, 17, 6 or 132) over IPv6. */
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
 * setgroups(0)/setgid/setuid, then capset to nothing and PR_SET_NO_NEW_PRIVS, on the calling thread
 * and then on every other thread that accepts signals (see allThreads). Throws a Node-style error
 * if a step fails (e.g. setuid EPERM).
 */
export function dropPrivileges(opts: { uid?: number; gid?: number } = {}): DropPrivilegesResult {
  return addon().dropPrivileges(opts.uid, opts.gid);
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
