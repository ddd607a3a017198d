// Raw probes queued per command slice (Transport.rawQueue, sent by flushSends with one native
// call): nothing leaves before the flush, everything leaves in command order, and the replies are
// the ones sending each probe at once gives, in the same order, send errors included.

import { describe, expect, it } from 'vitest';
import { buildIcmpEchoReply, formatIPv4, wrapIPv4 } from '@mtr-ts/native/wire';
import { Daemon } from '../src/daemon.js';
import type { RawSendQueue, SendOptions } from '../src/transport.js';
import { ME4, RecordingTransport } from './recording-transport.js';

const ENETUNREACH = 101;

/** Sends at once; a send to an address in `unreachable` fails with ENETUNREACH. */
class SyncTransport extends RecordingTransport {
  unreachable = new Set<string>();
  flushes = 0;
  override sendIPv4(packet: Uint8Array, dst: Uint8Array, opts?: SendOptions): number {
    if (this.unreachable.has(formatIPv4(dst))) throw Object.assign(new Error('ENETUNREACH'), { errno: ENETUNREACH, code: 'ENETUNREACH' });
    return super.sendIPv4(packet, dst, opts);
  }
}

/** The same sends, queued until flush (as the native SendBatch does), with the departure of the flush. */
class QueueTransport extends SyncTransport {
  private queued: Array<() => number> = [];
  private results: Array<{ errno: number; departure: number }> = [];
  readonly rawQueue: RawSendQueue = {
    queueIPv4: (packet, dst, opts) => this.queued.push(() => this.sendIPv4(packet, dst, opts)) - 1,
    queueIPv6: (proto, packet, dst, _opts) => this.queued.push(() => this.sendIPv6(proto, packet, dst)) - 1,
    flush: () => {
      this.flushes++;
      this.results = this.queued.map((send) => {
        try {
          return { errno: 0, departure: send() };
        } catch (e) {
          return { errno: (e as { errno: number }).errno, departure: 0 };
        }
      });
      this.queued = [];
    },
    errno: (i) => this.results[i]!.errno,
    departure: (i) => this.results[i]!.departure,
  };
}

function setup<T extends SyncTransport>(t: T, maxInFlight?: number) {
  const out: string[] = [];
  const d = new Daemon(t, (l) => out.push(l), { icmpId: 0x2222, firstSequence: 40000, ...(maxInFlight ? { maxInFlight } : {}) });
  return { t, out, d };
}

/** Lines of a slice, the slice's flush, then answers for every probe that left. */
function run(t: SyncTransport, lines: string[], maxInFlight?: number) {
  const { out, d } = setup(t, maxInFlight);
  t.unreachable.add('10.9.9.9');
  for (const line of lines) d.handleLine(line);
  d.flushSends();
  const sentBeforeAnswers = t.sent.length;
  t.clock += 2_000_000;
  d.handlePackets(
    t.sent.map((s) => {
      const seq = (s.packet[26]! << 8) | s.packet[27]!;
      const reply = buildIcmpEchoReply({ v6: false, id: 0x2222, seq, payload: s.packet.slice(28) });
      return { source: 'raw' as const, family: 4 as const, from: s.dst, data: wrapIPv4(reply, { src: s.dst, dst: ME4, ttl: 60 }), rxNs: t.clock };
    }),
  );
  return { out, d, sentBeforeAnswers };
}

const SLICE = [
  '1 send-probe ip-4 10.0.4.2 ttl 1',
  '2 send-probe ip-4 10.9.9.9 ttl 2', // fails at its send
  '3 send-probe ip-4 10.0.4.3 ttl 3',
  '4 send-probe ip-4 10.0.4.2 bogus-word', // answered at once (a word without a value)
  '5 send-probe ip-4 10.9.9.9 ttl 5', // fails at its send
  '6 check-support feature send-probe',
  '7 send-probe ip-4 10.0.4.4 ttl 7',
];

describe('Daemon with a raw send queue', () => {
  it('sends nothing before the flush, then every probe in command order, once', () => {
    const t = new QueueTransport();
    const { d } = setup(t);
    d.handleLine('1 send-probe ip-4 10.0.4.2 ttl 1');
    d.handleLine('2 send-probe ip-4 10.0.4.3 ttl 2');
    expect(t.sent).toEqual([]);
    expect(d.inFlight).toBe(2);
    d.flushSends();
    expect(t.sent.map((s) => formatIPv4(s.dst))).toEqual(['10.0.4.2', '10.0.4.3']);
    expect(t.sent.map((s) => s.packet[8])).toEqual([1, 2]);
    d.flushSends(); // nothing queued: no second send
    expect(t.sent.length).toBe(2);
    expect(t.flushes).toBe(1);
    expect(d.inFlight).toBe(2);
  });

  it('answers exactly as sending at once does: the same lines in the same order, send errors included', () => {
    const sync = run(new SyncTransport(), SLICE);
    const queued = run(new QueueTransport(), SLICE);
    expect(queued.out).toEqual(sync.out);
    expect(queued.out.slice(0, 4)).toEqual(['2 no-route', '0 command-parse-error', '5 no-route', '6 feature-support support ok']);
    expect(queued.out.slice(4).sort()).toEqual([
      '1 reply ip-4 10.0.4.2 round-trip-time 2000',
      '3 reply ip-4 10.0.4.3 round-trip-time 2000',
      '7 reply ip-4 10.0.4.4 round-trip-time 2000',
    ]);
    expect(queued.d.inFlight).toBe(0);
  });

  it('counts queued probes against the in-flight limit', () => {
    const lines = ['1 send-probe ip-4 10.0.4.2', '2 send-probe ip-4 10.0.4.3', '3 send-probe ip-4 10.0.4.4'];
    const sync = run(new SyncTransport(), lines, 2);
    const queued = run(new QueueTransport(), lines, 2);
    expect(queued.out).toEqual(sync.out);
    expect(queued.out[0]).toBe('3 probes-exhausted');
    expect(queued.sentBeforeAnswers).toBe(2);
  });

  it('a probe with a device goes alone, after the probes queued before it', () => {
    const t = new QueueTransport();
    const { d } = setup(t);
    d.handleLine('1 send-probe ip-4 10.0.4.2 ttl 1');
    d.handleLine('2 send-probe ip-4 10.0.4.3 ttl 2 local-device eth7');
    expect(t.sent.map((s) => s.packet[8])).toEqual([1, 2]);
    expect(t.flushes).toBe(1);
  });

  it('extension dont-fragment: EMSGSIZE at the flush is packet-too-big', () => {
    const t = new QueueTransport();
    const { out, d } = setup(t);
    d.handleLine('1 check-support feature dont-fragment');
    t.emsgsize = 1;
    d.handleLine('2 send-probe ip-4 10.0.4.2 size 1500 dont-fragment 1');
    expect(out).toEqual(['1 feature-support support ok']);
    d.flushSends();
    expect(out).toEqual(['1 feature-support support ok', '2 packet-too-big']);
    expect(d.inFlight).toBe(0);
  });
});
