// Every probe protocol on the lab path, beside the reference mtr-packet: routers, an open TCP
// port, a closed TCP port, a closed UDP port, a router that answers Destination Unreachable;
// and the same traces from an unprivileged user on datagram sockets.

import { beforeAll, expect, it } from 'vitest';
import { describeLab, useLab } from './lab/use-lab.js';
import { ourPacket, referencePacket } from './support/env.js';
import { startTcpListener } from './support/listener.js';
import { normalise } from './support/run.js';

const OPEN_PORT = 8080;
const CLOSED_PORT = 9;

describeLab('probe protocols in the netns lab', () => {
  const lab = useLab({ delaysMs: [1, 2, 3, 1] });
  beforeAll(async () => {
    await startTcpListener(lab(), OPEN_PORT);
  });

  async function run(argv: string[], input: string) {
    const r = await lab().exec('client', argv, { input, timeoutMs: 20_000 });
    expect(r.code, r.stderr).toBe(0);
    return r.stdout;
  }

  function trace(family: 4 | 6, dest: string, extra: string): string {
    const lines: string[] = [];
    for (let ttl = 1; ttl <= 5; ttl++) lines.push(`${ttl} send-probe ip-${family} ${dest} ttl ${ttl} timeout 2 ${extra}`.trim());
    return lines.join('\n') + '\n';
  }

  for (const family of [4, 6] as const) {
    const cases: Array<[string, string, string]> = [
      ['UDP, closed port', 'protocol udp', 'reply'],
      ['UDP to a given port', `protocol udp port ${CLOSED_PORT + 3000}`, 'reply'],
      ['TCP, open port', `protocol tcp port ${OPEN_PORT}`, 'reply'],
      ['TCP, closed port', `protocol tcp port ${CLOSED_PORT}`, 'reply'],
    ];
    for (const [name, extra, last] of cases) {
      it(`IPv${family} ${name}: routers expire the TTL, dest answers; the same as the reference`, async () => {
        const hops = family === 4 ? lab().hops4 : lab().hops6;
        const input = trace(family, hops[3], extra);
        const [ours, theirs] = await Promise.all([run([ourPacket], input), run([referencePacket ?? 'mtr-packet'], input)]);
        const got = normalise(ours);
        expect(got).toEqual([
          `1 ttl-expired ip-${family} ${hops[0]} round-trip-time N`,
          `2 ttl-expired ip-${family} ${hops[1]} round-trip-time N`,
          `3 ttl-expired ip-${family} ${hops[2]} round-trip-time N`,
          `4 ${last} ip-${family} ${hops[3]} round-trip-time N`,
          `5 ${last} ip-${family} ${hops[3]} round-trip-time N`,
        ]);
        expect(got).toEqual(referenceView(normalise(theirs), got, extra.includes('tcp')));
      });
    }

    it(`IPv${family}: a router answering Destination Unreachable gives no-route from it, for every protocol`, async () => {
      const hops = family === 4 ? lab().hops4 : lab().hops6;
      const match = family === 4 ? `ip daddr ${hops[3]}` : `ip6 daddr ${hops[3]}`;
      const reject = family === 4 ? 'icmp type host-unreachable' : 'icmpv6 type addr-unreachable';
      await lab().rejectForward('r2', match, reject);
      try {
        const input = ['icmp', 'udp', `tcp port ${OPEN_PORT}`]
          .map((p, i) => `${i + 1} send-probe ip-${family} ${hops[3]} protocol ${p} timeout 2`)
          .join('\n') + '\n';
        const [ours, theirs] = await Promise.all([run([ourPacket], input), run([referencePacket ?? 'mtr-packet'], input)]);
        const want = [1, 2, 3].map((t) => `${t} no-route ip-${family} ${hops[1]} round-trip-time N`);
        expect(normalise(ours)).toEqual(want);
        expect(referenceView(normalise(theirs), want, true)).toEqual(want);
      } finally {
        await lab().clearRejects('r2');
      }
    });

    it(`IPv${family}: an unprivileged user traces with ICMP, UDP and TCP on datagram sockets`, async () => {
      const hops = family === 4 ? lab().hops4 : lab().hops6;
      const input = [
        trace(family, hops[3], ''),
        trace(family, hops[3], 'protocol udp').replace(/^(\d)/gm, '1$1'),
        trace(family, hops[3], `protocol tcp port ${OPEN_PORT}`).replace(/^(\d)/gm, '2$1'),
      ].join('');
      const r = await lab().exec(
        'client',
        ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', ourPacket, '--verbose'],
        { input, timeoutMs: 20_000 },
      );
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/datagram \(unprivileged\)/);
      const expected: string[] = [];
      for (const prefix of ['', '1', '2']) {
        for (let ttl = 1; ttl <= 5; ttl++) {
          const kind = ttl <= 3 ? 'ttl-expired' : 'reply';
          expected.push(`${prefix}${ttl} ${kind} ip-${family} ${hops[Math.min(ttl, 4) - 1]} round-trip-time N`);
        }
      }
      expect(normalise(r.stdout)).toEqual(expected.sort());
    });
  }
});

/**
 * The reference's TCP probes race: when a router's Time Exceeded aborts the connect, it may read
 * the probe socket's EHOSTUNREACH before the ICMP socket and answer a bare `no-route` instead of
 * `ttl-expired` (or `no-route`) from the router. Ours always names the router; a bare reference
 * `no-route` where ours names the router is that race, not a difference.
 */
function referenceView(theirs: string[], ours: string[], tcp: boolean): string[] {
  if (!tcp) return theirs;
  return theirs
    .map((line) => {
      const m = /^(\d+) no-route$/.exec(line);
      const mine = m ? ours.find((l) => l.startsWith(`${m[1]} ttl-expired `) || l.startsWith(`${m[1]} no-route `)) : undefined;
      return mine ?? line;
    })
    .sort();
}

