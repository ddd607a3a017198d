// A fake Transport for daemon tests: records every raw packet sent and returns a settable clock as
// the departure. Datagram sends answer a fixed local port; TCP connects a fixed probe id.

import { parseIPv4, parseIPv6 } from '@mtr-ts/native/wire';
import type { FamilyMode, ProbeOptions, SendOptions, SendOptions6, Transport } from '../src/transport.js';

export const ME4 = parseIPv4('10.0.1.1')!;
export const ME6 = parseIPv6('fd00:0:0:1::1')!;

export interface SentPacket {
  family: 4 | 6;
  packet: Uint8Array;
  dst: Uint8Array;
  /** IPv6: the send's options */
  opts6?: SendOptions6;
}

export class RecordingTransport implements Transport {
  mode4: FamilyMode = 'raw';
  mode6: FamilyMode = 'raw';
  sctp = false;
  sent: SentPacket[] = [];
  /** IPv4 sends that fail with EMSGSIZE before one goes out */
  emsgsize = 0;
  /** what watchSegments() answers (TCP flows' SYN-ACKs and RSTs); undefined: no family */
  segments: { ip4: boolean; ip6: boolean } | undefined;

  constructor(public clock = 1_000_000_000) {}

  sendIPv4(packet: Uint8Array, dst: Uint8Array, _opts?: SendOptions): number {
    if (this.emsgsize > 0) {
      this.emsgsize--;
      throw Object.assign(new Error('EMSGSIZE'), { errno: 90, code: 'EMSGSIZE' });
    }
    this.sent.push({ family: 4, packet, dst });
    return this.clock;
  }
  sendIPv6(_proto: number, packet: Uint8Array, dst: Uint8Array, opts6?: SendOptions6): number {
    this.sent.push(opts6 === undefined ? { family: 6, packet, dst } : { family: 6, packet, dst, opts6 });
    return this.clock;
  }
  sendDgram(_f: 4 | 6, proto: 'icmp' | 'udp', _p: Uint8Array, _d: Uint8Array, _port: number, _o: ProbeOptions) {
    return { txNs: this.clock, localPort: proto === 'icmp' ? 777 : 5555 };
  }
  connectTcp(): { id: number; txNs: number } {
    return { id: 1, txNs: this.clock };
  }
  closeTcp(): void {}
  watchSegments(): { ip4: boolean; ip6: boolean } {
    return this.segments ?? { ip4: false, ip6: false };
  }
  sourceAddress(family: 4 | 6): Uint8Array {
    return family === 4 ? ME4 : ME6;
  }
  now(): number {
    return this.clock;
  }
  close(): void {}
}
