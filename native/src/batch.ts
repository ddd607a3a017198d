// One native batch (an ArrayBuffer of bytes, a Float64Array index, and for anything but raw
// packets a second Float64Array of extra fields) into ReceivedPacket objects. The slots are
// src/cc/batch.h's (meta_slot, ext_slot, Source): change both; the addon exports its numbering as
// `batchLayout` and test/batch-layout.test.ts checks that it is this one.

import type { PacketBase, PacketSource, QueuedIcmpError, ReceivedPacket } from './types.js';

/** Per packet, always. */
export const META = { family: 0, fromOffset: 1, dataOffset: 2, dataLength: 3, rxNs: 4, count: 5 } as const;
/** Per packet, only in batches holding anything but raw packets (NaN: absent). */
export const EXT = {
  source: 0,
  icmpType: 1,
  icmpCode: 2,
  errProto: 3,
  origDstPort: 4,
  origSrcPort: 5,
  tcpId: 6,
  tcpErrno: 7,
  origDstOffset: 8,
  txId: 9,
  count: 10,
} as const;
/** ext[EXT.source] values, by index (batch.h Source) */
export const SOURCES: readonly PacketSource[] = ['raw', 'ping', 'error', 'tcp', 'tx'];

function errProtoOf(n: number): 'icmp' | 'udp' | 'tcp' {
  return n === 17 ? 'udp' : n === 6 ? 'tcp' : 'icmp';
}

export function unpackBatch(buffer: ArrayBuffer, meta: Float64Array, ext: Float64Array | undefined): ReceivedPacket[] {
  const count = meta.length / META.count;
  const packets = new Array<ReceivedPacket>(count);
  for (let i = 0, m = 0; i < count; i++, m += META.count) {
    const family = meta[m + META.family] === 4 ? 4 : 6;
    const base: PacketBase = {
      family,
      from: new Uint8Array(buffer, meta[m + META.fromOffset]!, family === 4 ? 4 : 16),
      data: new Uint8Array(buffer, meta[m + META.dataOffset]!, meta[m + META.dataLength]!),
      rxNs: meta[m + META.rxNs]!,
    };
    packets[i] = ext === undefined ? { ...base, source: 'raw' } : withExt(base, buffer, ext, i * EXT.count);
  }
  return packets;
}

function withExt(base: PacketBase, buffer: ArrayBuffer, ext: Float64Array, e: number): ReceivedPacket {
  const at = (slot: number): number | undefined => (Number.isNaN(ext[e + slot]!) ? undefined : ext[e + slot]!);
  const source = SOURCES[ext[e + EXT.source]!] ?? 'raw';
  switch (source) {
    case 'error': {
      const p: QueuedIcmpError = {
        ...base,
        source,
        icmpType: ext[e + EXT.icmpType]!,
        icmpCode: ext[e + EXT.icmpCode]!,
        errProto: errProtoOf(ext[e + EXT.errProto]!),
      };
      const dstPort = at(EXT.origDstPort);
      const srcPort = at(EXT.origSrcPort);
      const tcpId = at(EXT.tcpId);
      const dstOffset = at(EXT.origDstOffset);
      if (dstPort !== undefined) p.origDstPort = dstPort;
      if (srcPort !== undefined) p.origSrcPort = srcPort;
      if (tcpId !== undefined) p.tcpId = tcpId;
      if (dstOffset !== undefined) p.origDst = new Uint8Array(buffer, dstOffset, base.family === 4 ? 4 : 16);
      return p;
    }
    case 'tcp':
      return { ...base, source, tcpId: ext[e + EXT.tcpId]!, tcpErrno: ext[e + EXT.tcpErrno]! };
    case 'tx':
      return { ...base, source, txId: ext[e + EXT.txId]! };
    case 'raw':
    case 'ping':
      return { ...base, source };
  }
}
