// A send batch: the raw sends of one command slice, gathered here and handed to the addon in one
// call (Engine.sendBatch), which sends consecutive packets for the same socket and mark with one
// sendmmsg, each still stamped by the kernel. The slots are src/cc/batch.h's (send_slot,
// send_result): change both; the addon exports its numbering in `batchLayout` and
// test/batch-layout.test.ts checks that it is this one.

import { checkAddress, checkByteOrDefault, checkMark, checkTxId } from './checks.js';
import type { SendIPv6Options, SendOptions } from './types.js';

/** Per send, written by add*. */
export const SEND = {
  family: 0,
  proto: 1,
  dataOffset: 2,
  dataLength: 3,
  dstOffset: 4,
  srcOffset: 5,
  hopLimit: 6,
  trafficClass: 7,
  mark: 8,
  txId: 9,
  scopeId: 10,
  dontFragment: 11,
  count: 12,
} as const;
/** Per send, written by the addon. */
export const SEND_RESULT = { departure: 0, errno: 1, count: 2 } as const;

export class SendBatch {
  /** the packets and addresses, back to back */
  bytes = new Uint8Array(16384);
  /** SEND.count numbers per send */
  sends = new Float64Array(128 * SEND.count);
  /** SEND_RESULT.count numbers per send, once sent */
  results = new Float64Array(128 * SEND_RESULT.count);
  /** bytes in use */
  used = 0;
  /** sends gathered */
  count = 0;

  /** Forgets every send (and result): the next add is send 0. */
  clear(): void {
    this.used = 0;
    this.count = 0;
  }

  /** A full IPv4 packet (header included) to dst; returns its index. A device is not taken: send such a packet alone. */
  addIPv4(packet: Uint8Array, dst: Uint8Array, opts?: SendOptions): number {
    checkAddress('dst', dst, 4);
    if (opts?.device !== undefined) throw new TypeError('a send batch takes no device');
    const mark = checkMark(opts?.mark);
    const txId = checkTxId(opts?.txId);
    const i = this.slot(packet.length + 4);
    const s = this.sends;
    const o = i * SEND.count;
    s[o + SEND.family] = 4;
    s[o + SEND.proto] = 0;
    s[o + SEND.dataOffset] = this.put(packet);
    s[o + SEND.dataLength] = packet.length;
    s[o + SEND.dstOffset] = this.put(dst);
    s[o + SEND.srcOffset] = -1;
    s[o + SEND.hopLimit] = -1;
    s[o + SEND.trafficClass] = -1;
    s[o + SEND.mark] = mark;
    s[o + SEND.txId] = txId ?? -1;
    s[o + SEND.scopeId] = 0;
    s[o + SEND.dontFragment] = 0;
    return i;
  }

  /** A transport header + payload of protocol proto over IPv6, as Engine.sendIPv6 takes it; returns its index. */
  addIPv6(proto: number, packet: Uint8Array, dst: Uint8Array, opts: SendIPv6Options): number {
    checkAddress('dst', dst, 16);
    if (opts.src !== undefined) checkAddress('src', opts.src, 16);
    if (opts.device !== undefined) throw new TypeError('a send batch takes no device');
    if (!Number.isInteger(proto) || proto < 0 || proto > 255) throw new RangeError('proto must be an integer 0..255');
    const hopLimit = checkByteOrDefault('hopLimit', opts.hopLimit);
    const trafficClass = checkByteOrDefault('trafficClass', opts.trafficClass);
    const mark = checkMark(opts.mark);
    const txId = checkTxId(opts.txId);
    const scopeId = opts.scopeId ?? 0;
    if (!Number.isInteger(scopeId) || scopeId < 0 || scopeId > 0xffffffff) throw new RangeError('scopeId must be a uint32');
    const i = this.slot(packet.length + 32);
    const s = this.sends;
    const o = i * SEND.count;
    s[o + SEND.family] = 6;
    s[o + SEND.proto] = proto;
    s[o + SEND.dataOffset] = this.put(packet);
    s[o + SEND.dataLength] = packet.length;
    s[o + SEND.dstOffset] = this.put(dst);
    s[o + SEND.srcOffset] = opts.src === undefined ? -1 : this.put(opts.src);
    s[o + SEND.hopLimit] = hopLimit;
    s[o + SEND.trafficClass] = trafficClass;
    s[o + SEND.mark] = mark;
    s[o + SEND.txId] = txId ?? -1;
    s[o + SEND.scopeId] = scopeId;
    s[o + SEND.dontFragment] = opts.dontFragment === true ? 1 : 0;
    return i;
  }

  /** After Engine.sendBatch: send i's errno, 0 when it left. */
  errno(i: number): number {
    return this.results[i * SEND_RESULT.count + SEND_RESULT.errno]!;
  }

  /** After Engine.sendBatch: send i's departure (ns, the clock read before its sendmmsg), when it left. */
  departure(i: number): number {
    return this.results[i * SEND_RESULT.count + SEND_RESULT.departure]!;
  }

  /** Room for one more send with up to `bytes` bytes; returns its index. */
  private slot(bytes: number): number {
    const i = this.count++;
    if (this.count * SEND.count > this.sends.length) {
      const sends = new Float64Array(this.sends.length * 2);
      sends.set(this.sends);
      this.sends = sends;
      this.results = new Float64Array((sends.length / SEND.count) * SEND_RESULT.count);
    }
    if (this.used + bytes > this.bytes.length) {
      const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.used + bytes));
      grown.set(this.bytes.subarray(0, this.used));
      this.bytes = grown;
    }
    return i;
  }

  private put(b: Uint8Array): number {
    const at = this.used;
    this.bytes.set(b, at);
    this.used = at + b.length;
    return at;
  }
}
