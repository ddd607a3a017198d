// One contract for @mtr-ts/client, run against every packet program a user may have: our daemon
// and the reference mtr-packet 0.95. The same expectations hold for both, on loopback and on the
// netns lab (client — r1 — r2 — r3 — dest). Traffic only to loopback and the lab's addresses.
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MtrPacket, type OpenOptions, type ProbeOutcome } from '@mtr-ts/client';
import { describeLab, useLab } from './lab/use-lab.js';
import { ourPacket, referenceNeed, referencePacket, requirements, rootNeed } from './support/env.js';

const skipOurs = requirements('client contract against mtr-packet-ts', [rootNeed]);
const skipReference = requirements('client contract against the reference mtr-packet', [rootNeed, referenceNeed]);
const programs: Array<[name: string, path: string]> = [];
if (skipOurs === undefined) programs.push(['mtr-packet-ts', ourPacket]);
if (skipReference === undefined) programs.push(['mtr-packet 0.95', referencePacket as string]);

const kinds = (rs: ProbeOutcome[]): string[] => rs.map((r) => r.kind);
const addresses = (rs: ProbeOutcome[]): Array<string | undefined> => rs.map((r) => ('address' in r ? r.address : undefined));

describe.skipIf(programs.length === 0).each(programs)('client contract on loopback: %s', (_name, path) => {
  let mtr: MtrPacket;
  let listening: Server;
  let openPort = 0;
  let closedPort = 0;
  beforeAll(async () => {
    mtr = await MtrPacket.open({ command: path, stderr: 'ignore' });
    listening = createServer((s) => s.destroy());
    await new Promise<void>((res) => listening.listen(0, '127.0.0.1', res));
    openPort = (listening.address() as { port: number }).port;
    // a port nothing listens on: bind, learn it, close
    const tmp = createServer();
    await new Promise<void>((res) => tmp.listen(0, '127.0.0.1', res));
    closedPort = (tmp.address() as { port: number }).port;
    await new Promise((res) => tmp.close(res));
  });
  afterAll(async () => {
    await mtr?.close();
    listening?.close();
  });

  it('answers the start-up questions', async () => {
    for (const f of ['send-probe', 'ip-4', 'ip-6', 'icmp', 'udp', 'tcp']) expect(await mtr.checkSupport(f), f).toBe('ok');
    expect(await mtr.checkSupport('no-such-feature')).toBe('no');
    expect(await mtr.checkSupport('version')).toMatch(/^\d+\.\d+/);
  });

  it('ICMP, UDP and TCP probes to IPv4 and IPv6 loopback are replies from the destination', async () => {
    const rs = await Promise.all([
      mtr.probe('127.0.0.1', { timeout: 2 }),
      mtr.probe('::1', { timeout: 2 }),
      mtr.probe('127.0.0.1', { protocol: 'udp', port: 33434, timeout: 2 }),
      mtr.probe('::1', { protocol: 'udp', port: 33434, timeout: 2 }),
      mtr.probe('127.0.0.1', { protocol: 'tcp', port: openPort, timeout: 2 }),
      mtr.probe('127.0.0.1', { protocol: 'tcp', port: closedPort, timeout: 2 }),
      mtr.probe('localhost', { ipVersion: 4, timeout: 2 }),
    ]);
    expect(kinds(rs)).toEqual(Array(7).fill('reply'));
    expect(addresses(rs)).toEqual(['127.0.0.1', '::1', '127.0.0.1', '::1', '127.0.0.1', '127.0.0.1', '127.0.0.1']);
    for (const r of rs) if ('rtt' in r) expect(r.rtt).toBeGreaterThanOrEqual(0);
  });

  it('many probes in flight at once, all answered, no token left', async () => {
    const rs = await Promise.all(Array.from({ length: 100 }, (_, i) => mtr.probe(i % 2 ? '127.0.0.1' : '::1', { timeout: 2 })));
    expect(new Set(kinds(rs))).toEqual(new Set(['reply']));
    expect(mtr.inFlight).toBe(0);
    expect(mtr.strayReplies).toBe(0);
  });

  it('a probe the program cannot send is refused with invalid-argument', async () => {
    expect(await mtr.probe('127.0.0.1', { size: 100_000, timeout: 1 })).toMatchObject({ kind: 'refused', reason: 'invalid-argument' });
    await expect(mtr.probe('127.0.0.1', { size: 100_000, timeout: 1, throwOnRefusal: true })).rejects.toMatchObject({ name: 'InvalidArgument', local: false });
  });
});

describeLab('client contract on the netns lab', () => {
  const lab = useLab({ delaysMs: [1, 2, 3, 20] });
  const inClient = (path: string): OpenOptions => ({ command: 'ip', args: ['netns', 'exec', lab().names.client, path], stderr: 'ignore' });

  for (const [name, path] of programs) {
    describe(name, () => {
      it('a concurrent trace (every TTL at once) gives the lab path, IPv4 ICMP and TCP, IPv6 UDP', async () => {
        const l = lab();
        await using_(await MtrPacket.open(inClient(path)), async (mtr) => {
          const ttls = [1, 2, 3, 4, 5];
          const icmp4 = await Promise.all(ttls.map((ttl) => mtr.probe(l.hops4[3], { ttl, timeout: 2 })));
          const tcp4 = await Promise.all(ttls.map((ttl) => mtr.probe(l.hops4[3], { ttl, protocol: 'tcp', port: 80, timeout: 2 })));
          const udp6 = await Promise.all(ttls.map((ttl) => mtr.probe(l.hops6[3], { ttl, protocol: 'udp', port: 33434, timeout: 2 })));
          for (const [rs, hops] of [
            [icmp4, l.hops4],
            [tcp4, l.hops4],
            [udp6, l.hops6],
          ] as const) {
            expect(kinds(rs)).toEqual(['ttl-expired', 'ttl-expired', 'ttl-expired', 'reply', 'reply']);
            expect(addresses(rs)).toEqual([...hops, hops[3]]);
          }
          // RTTs follow the link delays (2, 6, 12, 52 ms nominal round trips)
          const rtt = (r: ProbeOutcome): number => ('rtt' in r ? r.rtt : NaN);
          expect(rtt(icmp4[3]!)).toBeGreaterThan(rtt(icmp4[2]!));
          expect(rtt(icmp4[3]!)).toBeGreaterThanOrEqual(50_000);
        });
      });

      it('a router that answers Destination Unreachable ends the path with kind unreachable', async () => {
        const l = lab();
        await using_(await MtrPacket.open(inClient(path)), async (mtr) => {
          // the TTL runs out at r3 before r3 routes; one more and r3 says there is no route
          const rs = await Promise.all([1, 2, 3, 4, 5].map((ttl) => mtr.probe(l.unroutable4, { ttl, timeout: 2 })));
          expect(kinds(rs)).toEqual(['ttl-expired', 'ttl-expired', 'ttl-expired', 'unreachable', 'unreachable']);
          expect(addresses(rs)).toEqual([l.hops4[0], l.hops4[1], l.hops4[2], l.hops4[2], l.hops4[2]]);
          expect(rs[3]).toMatchObject({ reason: 'no-route' }); // 0.95's word, ours by default too
        });
      });

      it('an abort in flight: rejected at once, the late answer swallowed, no token left', async () => {
        const l = lab();
        await using_(await MtrPacket.open(inClient(path)), async (mtr) => {
          const ac = new AbortController();
          const p = mtr.probe(l.hops4[3], { timeout: 2, signal: ac.signal }); // ~52 ms round trip
          const other = mtr.probe(l.hops4[3], { timeout: 2 });
          await new Promise((r) => setImmediate(r)); // both lines written; the answers are >= 52 ms away
          expect(mtr.inFlight).toBe(2);
          ac.abort();
          await expect(p).rejects.toMatchObject({ name: 'AbortError' });
          expect(await other).toMatchObject({ kind: 'reply', address: l.hops4[3] });
          await new Promise((r) => setTimeout(r, 200));
          expect(mtr.lateReplies).toBe(1);
          expect(mtr.inFlight).toBe(0);
          expect(mtr.strayReplies).toBe(0);
        });
      });
    });
  }
});

/** `await using` for Node 20 (no syntax for it there): run, then close whatever happened. */
async function using_(mtr: MtrPacket, fn: (m: MtrPacket) => Promise<void>): Promise<void> {
  try {
    await fn(mtr);
  } finally {
    await mtr.close();
  }
}
