// The native addon itself: its surface as the C++ defines it (addon.cc, engine.cc) and its loading.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type {
  CapabilityFacts,
  SegmentWatch,
  DgramSendResult,
  DropPrivilegesResult,
  EngineStats,
  ErrnoError,
  OpenMode,
  OpenResult,
  TcpConnectResult,
} from './types.js';

export type NativeOpenResult = Omit<OpenResult, 'ip4Error' | 'ip6Error' | 'ip4DgramError' | 'ip6DgramError'> & {
  ip4Error?: ErrnoError;
  ip6Error?: ErrnoError;
  ip4DgramError?: ErrnoError;
  ip6DgramError?: ErrnoError;
};

export interface NativeEngine {
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
    quarantineMs: number,
  ): TcpConnectResult;
  closeTcp(id: number): boolean;
  probeCapabilities(): CapabilityFacts;
  holdName(name: string): boolean;
  watchSegments(): SegmentWatch;
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
    dontFragment: boolean,
  ): number;
  sendBatch(bytes: Uint8Array, sends: Float64Array, count: number, results: Float64Array): void;
  sourceAddress(family: 4 | 6, dst: Uint8Array, scopeId: number, mark: number, device: string | undefined): Uint8Array;
  now(): number;
  close(): void;
  ref(): void;
  unref(): void;
  stats(): EngineStats;
}

export interface NativeAddon {
  Engine: new (onBatch: (buffer: ArrayBuffer, meta: Float64Array, ext?: Float64Array) => void) => NativeEngine;
  dropPrivileges(uid: number | undefined, gid: number | undefined, keepNetAdmin: boolean): DropPrivilegesResult;
  errnoName(errno: number): string;
  setParentDeathSignal(signal: number): void;
  /** src/cc/batch.h's slot numbers (src/batch.ts reads batches with the same ones). */
  batchLayout: {
    /** src/cc/batch.h's send_slot and send_result (src/send-batch.ts writes and reads them) */
    send: Record<string, number>;
    sendResult: Record<string, number>;
    meta: Record<string, number>;
    ext: Record<string, number>;
    sources: Record<string, number>;
  };
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
export function addon(): NativeAddon {
  cached ??= loadAddon();
  return cached;
}
