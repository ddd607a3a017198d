// The protocol extensions (names.ts EXT_*): off until the session asks `check-support feature NAME`,
// then icmp-detail words on probe results and `dont-fragment 1` on send-probe. Without asking, every
// line is 0.95's.

import { describe, expect, it } from 'vitest';
import {
  buildIcmpDestUnreachable,
  buildIcmpEchoReply,
  buildIcmpError,
  buildIcmpTimeExceeded,
  parseIPv4,
  parseIPv6,
  wrapIPv4,
} from '@mtr-ts/native/wire';
import { Daemon } from '../src/daemon.js';
import type { FamilyMode } from '../src/transport.js';
import { ME4, ME6, RecordingTransport as Fake, type SentPacket } from './recording-transport.js';

const v4 = (s: string) => parseIPv4(s)!;
const ROUTER = v4('10.0.2.2');

function setup(mode: FamilyMode = 'raw') {
  const t = new Fake(5_000_000_000);
  t.mode4 = mode;
  t.mode6 = mode;
  const out: string[] = [];
  const d = new Daemon(t, (l) => out.push(l), { icmpId: 0x4321, firstSequence: 50000 });
  return { t, out, d };
}

/** the router's answers to the first probe sent, through a raw IPv4 socket, arriving with IP TTL 61 */
function fromRouter(t: Fake, icmp: Uint8Array, src = ROUTER) {
  return { source: 'raw' as const, family: 4 as const, from: src, data: wrapIPv4(icmp, { src, dst: ME4, ttl: 61 }), rxNs: t.clock + 3000 };
}

function scenario(ask: boolean) {
  const { t, out, d } = setup();
  if (ask) d.handleLine('1 check-support feature icmp-detail');
  d.handleLine('2 send-probe ip-4 10.0.4.2 ttl 2');
  d.handleLine('3 send-probe ip-4 10.0.4.2 ttl 3');
  d.handleLine('4 send-probe ip-4 10.0.4.2 ttl 9');
  d.handleLine('5 send-probe ip-4 10.0.4.2 ttl 9 size 1400');
  const q = (i: number) => t.sent[i]!.packet.slice(0, 28);
  d.handlePackets([
    fromRouter(t, buildIcmpTimeExceeded({ v6: false, routerSrc: ROUTER, dst: ME4, quoted: q(0) })),
    fromRouter(t, buildIcmpDestUnreachable({ v6: false, code: 13, routerSrc: ROUTER, dst: ME4, quoted: q(1) })),
    fromRouter(
      t,
      buildIcmpEchoReply({ v6: false, id: 0x4321, seq: 50002, payload: new Uint8Array(64 - 28) }),
      v4('10.0.4.2'),
    ),
    // Fragmentation Needed, next-hop MTU 1280 in the low 16 bits of the rest-of-header word
    fromRouter(t, buildIcmpDestUnreachable({ v6: false, code: 4, routerSrc: ROUTER, dst: ME4, quoted: q(3), rest: 1280 })),
  ]);
  return out;
}

describe('extensions: icmp-detail', () => {
  it('without asking, the replies are exactly 0.95 lines', () => {
    expect(scenario(false)).toEqual([
      '2 ttl-expired ip-4 10.0.2.2 round-trip-time 3',
      '3 no-route ip-4 10.0.2.2 round-trip-time 3',
      '4 reply ip-4 10.0.4.2 round-trip-time 3',
      '5 no-route ip-4 10.0.2.2 round-trip-time 3',
    ]);
  });

  it('after check-support feature icmp-detail: type, code, MTU and the reply TTL', () => {
    expect(scenario(true)).toEqual([
      '1 feature-support support ok',
      '2 ttl-expired ip-4 10.0.2.2 round-trip-time 3 icmp-type 11 icmp-code 0 reply-ttl 61',
      '3 no-route ip-4 10.0.2.2 round-trip-time 3 icmp-type 3 icmp-code 13 reply-ttl 61',
      '4 reply ip-4 10.0.4.2 round-trip-time 3 reply-ttl 61',
      '5 no-route ip-4 10.0.2.2 round-trip-time 3 icmp-type 3 icmp-code 4 mtu 1280 reply-ttl 61',
    ]);
  });

  it('is per daemon session: another daemon that was not asked stays 0.95', () => {
    const a = setup();
    a.d.handleLine('1 check-support feature icmp-detail');
    const b = setup();
    b.d.handleLine('2 send-probe ip-4 10.0.4.2 ttl 2');
    b.d.handlePackets([
      fromRouter(b.t, buildIcmpTimeExceeded({ v6: false, routerSrc: ROUTER, dst: ME4, quoted: b.t.sent[0]!.packet.slice(0, 28) })),
    ]);
    expect(b.out).toEqual(['2 ttl-expired ip-4 10.0.2.2 round-trip-time 3']);
  });

  it('ICMPv6 Packet Too Big answers no-route with its MTU only when asked (0.95 ignores it: no-reply)', () => {
    for (const ask of [false, true]) {
      const { t, out, d } = setup();
      if (ask) d.handleLine('1 check-support feature icmp-detail');
      d.handleLine('7 send-probe ip-6 fd00:0:0:4::2 ttl 9 size 1400 timeout 1');
      const sent = t.sent[0]!;
      const ip6 = new Uint8Array(40 + 8);
      ip6[0] = 0x60;
      ip6[6] = 58;
      ip6[7] = 5;
      ip6.set(ME6, 8);
      ip6.set(sent.dst, 24);
      ip6.set(sent.packet.subarray(0, 8), 40);
      const routerV6 = parseIPv6('fd00:0:0:2::2')!;
      const ptb = buildIcmpError({ v6: true, type: 2, code: 0, rest: 1280, routerSrc: routerV6, dst: ME6, quoted: ip6 });
      d.handlePackets([{ source: 'raw', family: 6, from: routerV6, data: ptb, rxNs: t.clock + 4000 }]);
      d.expire(t.clock + 2e9);
      expect(out.at(-1)).toBe(ask ? '7 no-route ip-6 fd00:0:0:2::2 round-trip-time 4 icmp-type 2 icmp-code 0 mtu 1280' : '7 no-reply');
    }
  });
});

describe('extensions: dont-fragment', () => {
  it('without asking, `dont-fragment 1` is ignored as 0.95 ignores unknown names: DF stays clear', () => {
    const { t, out, d } = setup();
    d.handleLine('1 send-probe ip-4 10.0.4.2 dont-fragment 1');
    expect(out).toEqual([]);
    expect(t.sent[0]!.packet[6]! & 0x40).toBe(0);
  });

  it.each([
    [4, 'sets DF in the raw IPv4 header', '10.0.4.2', (s: SentPacket) => (s.packet[6]! & 0x40) !== 0, 1400],
    // the ICMPv6 message of a 1400-byte packet (the kernel adds the 40-byte header)
    [6, 'sends with IPV6_DONTFRAG', 'fd00::2', (s: SentPacket) => s.opts6?.dontFragment === true, 1360],
  ] as const)('after asking, IPv%i `dont-fragment 1` %s (ICMP and UDP); 0 and absent without; 2 is invalid', (family, _how, dst, df, length) => {
    const { t, out, d } = setup();
    d.handleLine('1 check-support feature dont-fragment');
    d.handleLine(`2 send-probe ip-${family} ${dst} dont-fragment 1 size 1400`);
    d.handleLine(`3 send-probe ip-${family} ${dst} dont-fragment 0`);
    d.handleLine(`4 send-probe ip-${family} ${dst} protocol udp dont-fragment 1`);
    d.handleLine(`5 send-probe ip-${family} ${dst}`);
    d.handleLine(`6 send-probe ip-${family} ${dst} dont-fragment 2`);
    expect(out).toEqual(['1 feature-support support ok', '6 invalid-argument']);
    expect(t.sent.map(df)).toEqual([true, false, true, false]);
    expect(t.sent[0]!.packet.length).toBe(length);
  });

  it('refuses what it cannot send with DF: TCP, and everything in datagram mode', () => {
    const { out, d } = setup();
    d.handleLine('1 check-support feature dont-fragment');
    d.handleLine('2 send-probe ip-6 fd00::2 protocol tcp dont-fragment 1');
    d.handleLine('3 send-probe ip-4 10.0.4.2 protocol tcp dont-fragment 1');
    expect(out).toEqual(['1 feature-support support ok', '2 invalid-argument', '3 invalid-argument']);
    const dg = setup('dgram');
    dg.d.handleLine('1 check-support feature dont-fragment');
    dg.d.handleLine('2 send-probe ip-4 10.0.4.2 dont-fragment 1');
    expect(dg.out).toEqual(['1 feature-support support no']);
    // not turned on: the argument is ignored and the probe goes out (as 0.95)
    expect(dg.d.inFlight).toBe(1);
  });
});

describe('icmp-detail: reply-ttl where the packet has no IP header', () => {
  const answerTo = (t: Fake, source: 'raw' | 'ping', hopLimit: number | undefined) => {
    const sent = t.sent[0]!.packet; // the ICMPv6 echo request (raw IPv6: no IP header)
    const id = source === 'ping' ? 777 : (sent[4]! << 8) | sent[5]!;
    const data = buildIcmpEchoReply({ v6: true, id, seq: (sent[6]! << 8) | sent[7]!, payload: sent.slice(8) });
    const p = { source, family: 6 as const, from: parseIPv6('fd00::2')!, data, rxNs: t.clock + 2000 };
    return hopLimit === undefined ? p : { ...p, hopLimit };
  };

  it('IPv6: the hop limit the socket reported; none reported, none said', () => {
    for (const hopLimit of [58, undefined]) {
      const { t, out, d } = setup();
      d.handleLine('1 check-support feature icmp-detail');
      d.handleLine('2 send-probe ip-6 fd00::2');
      d.handlePackets([answerTo(t, 'raw', hopLimit)]);
      expect(out[1]).toBe(`2 reply ip-6 fd00::2 round-trip-time 2${hopLimit === undefined ? '' : ` reply-ttl ${hopLimit}`}`);
    }
  });

  it('without asking, no reply-ttl (0.95 words)', () => {
    const { t, out, d } = setup();
    d.handleLine('2 send-probe ip-6 fd00::2');
    d.handlePackets([answerTo(t, 'raw', 58)]);
    expect(out).toEqual(['2 reply ip-6 fd00::2 round-trip-time 2']);
  });
});

describe('dont-fragment: larger than the path MTU the kernel knows', () => {
  it('answers packet-too-big with the MTU last reported for that destination', () => {
    const { t, out, d } = setup();
    d.handleLine('1 check-support feature icmp-detail');
    d.handleLine('2 check-support feature dont-fragment');
    d.handleLine('3 send-probe ip-4 10.0.4.2 size 1500 dont-fragment 1');
    d.handlePackets([
      fromRouter(
        t,
        buildIcmpDestUnreachable({ v6: false, code: 4, routerSrc: ROUTER, dst: ME4, quoted: t.sent[0]!.packet.slice(0, 28), rest: 1400 }),
      ),
    ]);
    t.emsgsize = 2; // the kernel now refuses larger sends (after a Fragmentation Needed for 10.0.4.2)
    d.handleLine('4 send-probe ip-4 10.0.4.2 size 1500 dont-fragment 1');
    d.handleLine('5 send-probe ip-4 10.0.9.9 size 1500 dont-fragment 1');
    expect(out.slice(3)).toEqual(['4 packet-too-big mtu 1400', '5 packet-too-big']);
  });
});
