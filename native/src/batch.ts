// One native batch (an ArrayBuffer of bytes, a Float64Array index, and for anything but raw
// packets a second Float64Array of extra fields) into ReceivedPacket objects. The slots are
// src/cc/batch.h's (meta_slot, ext_slot, Source): change both; the addon exports its numbering as
// `batchLayout` and test/batch-layout.test.ts checks that it is this one.

import type { PacketSource, QueuedIcmpError, ReceivedPacket } from './types.js';

/** Per packet, always. */
export const META = { family: 0, fromOffset: 1, dataOffset: 2, dataLength: 3, rxNs: 4, hopLimit: 5, count: 6 } as const;
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
export const SOURCES: readonly PacketSource[] = ['raw', 'ping', 'error', 'tcp', 'tx', 'segment'];

function errProtoOf(n: number): 'icmp' | 'udp' | 'tcp' {
  return n === 17 ? 'udp' : n === 6 ? 'tcp' : 'icmp';
}

// Object spread (`{ ...base, source }`) costs a runtime call per packet in V8; each packet is built
// as one literal instead.
export function unpackBatch(buffer: ArrayBuffer, meta: Float64Array, ext: Float64Array | undefined): ReceivedPacket[] {
  const count = meta.length / META.count;
  const packets = new Array<ReceivedPacket>(count);
  for (let i = 0, m = 0; i < count; i++, m += META.count) {
    const family = meta[m + META.family] === 4 ? 4 : 6;
    const from = new Uint8Array(buffer, meta[m + META.fromOffset]!, family === 4 ? 4 : 16);
    const data = new Uint8Array(buffer, meta[m + META.dataOffset]!, meta[m + META.dataLength]!);
    const rxNs = meta[m + META.rxNs]!;
    const hopLimit = meta[m + META.hopLimit]!;
    packets[i] =
      ext === undefined
        ? hopLimit < 0
          ? { source: 'raw', family, from, data, rxNs }
          : { source: 'raw', family, from, data, rxNs, hopLimit }
        : withExt(family, from, data, rxNs, hopLimit, buffer, ext, i * EXT.count);
  }
  return packets;
}

function withExt(
  family: 4 | 6,
  from: Uint8Array,
  data: Uint8Array,
  rxNs: number,
  hopLimit: number,
  buffer: ArrayBuffer,
  ext: Float64Array,
  e: number,
): ReceivedPacket {
  const source = SOURCES[ext[e + EXT.source]!] ?? 'raw';
  switch (source) {
    case 'error': {
      const p: QueuedIcmpError = {
        source,
        family,
        from,
        data,
        rxNs,
        icmpType: ext[e + EXT.icmpType]!,
        icmpCode: ext[e + EXT.icmpCode]!,
        errProto: errProtoOf(ext[e + EXT.errProto]!),
      };
      const dstPort = ext[e + EXT.origDstPort]!;
      const srcPort = ext[e + EXT.origSrcPort]!;
      const tcpId = ext[e + EXT.tcpId]!;
      const dstOffset = ext[e + EXT.origDstOffset]!;
      if (!Number.isNaN(dstPort)) p.origDstPort = dstPort;
      if (!Number.isNaN(srcPort)) p.origSrcPort = srcPort;
      if (!Number.isNaN(tcpId)) p.tcpId = tcpId;
      if (!Number.isNaN(dstOffset)) p.origDst = new Uint8Array(buffer, dstOffset, family === 4 ? 4 : 16);
      return p;
    }
    case 'tcp':
      return { source, family, from, data, rxNs, tcpId: ext[e + EXT.tcpId]!, tcpErrno: ext[e + EXT.tcpErrno]! };
    case 'tx':
      return { source, family, from, data, rxNs, txId: ext[e + EXT.txId]! };
    case 'raw':
    case 'ping':
      return hopLimit < 0 ? { source, family, from, data, rxNs } : { source, family, from, data, rxNs, hopLimit };
    case 'segment':
      return { source, family, from, data, rxNs };
  }
}
