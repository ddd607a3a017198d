// One native batch (an ArrayBuffer of bytes, a Float64Array index, and for anything but raw
// packets a second Float64Array of extra fields) into ReceivedPacket objects. The slots mirror
// engine.cc's kMetaPerPacket / kExtPerPacket layout.

import type { PacketSource, ReceivedPacket } from './types.js';

const META_FIELDS = 5; // family, fromOffset, dataOffset, dataLength, rxNs
// Only for batches holding anything but raw packets (NaN: absent):
// source, icmpType, icmpCode, errProto, origDstPort, origSrcPort, tcpId, tcpErrno, origDstOffset, txId
const EXT_FIELDS = 10;
const SOURCES: readonly PacketSource[] = ['raw', 'ping', 'error', 'tcp', 'tx'];

function errProtoOf(n: number): 'icmp' | 'udp' | 'tcp' {
  return n === 17 ? 'udp' : n === 6 ? 'tcp' : 'icmp';
}

export function unpackBatch(buffer: ArrayBuffer, meta: Float64Array, ext: Float64Array | undefined): ReceivedPacket[] {
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
