// decodeAnswer on real echo replies: the data an echo reply repeats (our requests carry only the
// bit pattern), so that the matcher can refuse another prober's reply with our identifier.
import { describe, expect, it } from 'vitest';
import { buildIcmpEcho, buildIPv4Packet, internetChecksum, parseIPv4, parseIPv6 } from '@mtr-ts/native/wire';
import { decodeAnswer } from '../src/codec.js';
import type { Received } from '../src/transport.js';

const DST4 = parseIPv4('10.0.4.2')!;
const SRC4 = parseIPv4('10.0.1.1')!;
const DST6 = parseIPv6('fd00::2')!;

/** An echo reply to our request (type 0 / 129), its data replaced by `data` when given. */
function echoReply(v6: boolean, pattern: number, data?: number[]): Uint8Array {
  const m = buildIcmpEcho({ v6, id: 0x1234, seq: 40000, size: 64, bitPattern: pattern });
  m[0] = v6 ? 129 : 0;
  if (data) m.set(data, 8);
  if (!v6) {
    m[2] = 0;
    m[3] = 0;
    const c = internetChecksum(m, 0, m.length);
    m[2] = c >> 8;
    m[3] = c & 0xff;
  }
  return m;
}

function raw4(icmp: Uint8Array): Received {
  const data = buildIPv4Packet({ src: DST4, dst: SRC4, ttl: 64, protocol: 1, payload: icmp });
  return { source: 'raw', family: 4, from: DST4, data, rxNs: 1 };
}

describe('decodeAnswer: echo reply data', () => {
  it('IPv6: the repeated byte, -1 for mixed data', () => {
    const same = decodeAnswer({ source: 'raw', family: 6, from: DST6, data: echoReply(true, 0xab), rxNs: 1 });
    expect(same).toMatchObject({ kind: 'echo', id: 0x1234, sequence: 40000, pattern: 0xab });
    const mixed = decodeAnswer({ source: 'raw', family: 6, from: DST6, data: echoReply(true, 0, [1, 2, 3]), rxNs: 1 });
    expect(mixed).toMatchObject({ kind: 'echo', pattern: -1 });
  });

  it('raw IPv4: past the IP header', () => {
    expect(decodeAnswer(raw4(echoReply(false, 0)))).toMatchObject({ kind: 'echo', pattern: 0, length: 44 });
    expect(decodeAnswer(raw4(echoReply(false, 0, [9])))).toMatchObject({ kind: 'echo', pattern: -1 });
  });

  it('ping socket: the message alone', () => {
    const a = decodeAnswer({ source: 'ping', family: 4, from: DST4, data: echoReply(false, 0x11), rxNs: 1 });
    expect(a).toMatchObject({ kind: 'echo', pattern: 0x11 });
  });
});
