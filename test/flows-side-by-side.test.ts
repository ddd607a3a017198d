// Two mtr-packet-ts side by side with flow probes (the `flow` extension) to the same lab destination, on
// the same flows and the same pinned UDP and TCP ports: each sees every ICMP error on its raw socket (and,
// with TCP flows, every RST on its raw TCP socket), and neither may take the other's answer. Daemon 0
// probes TTLs 1 and 3, daemon 1 TTLs 2 and 4, so an answer taken by the wrong daemon names the wrong hop
// (or, TCP, comes from dest where none can). No NAT in the lab: no reply may say `nat 1`.

import { expect, it } from 'vitest';
import type { Lab } from './lab/lab.js';
import { describeLab, useLab } from './lab/use-lab.js';
import { ourPacket } from './support/env.js';

const PROBES = 2000;
const TTLS: ReadonlyArray<readonly [number, number]> = [
  [1, 3],
  [2, 4],
];

const ttlOf = (daemon: number, token: number): number => TTLS[daemon]![token % 2]!;

/**
 * Both daemons at once, each with its own TTLs and the same flows and ports (`proto(token)`: the send-probe
 * words after `flow N`); every answer must name the hop of its own daemon's TTL, with no `nat` and no zero RTT.
 */
async function sideBySide(lab: Lab, family: 4 | 6, proto: (token: number) => string): Promise<void> {
  const hops = family === 4 ? lab.hops4 : lab.hops6;
  const dest = hops[3];
  const input = (daemon: number): string => {
    const lines = ['1 check-support feature flow'];
    for (let i = 2; i <= PROBES + 1; i++) {
      lines.push(`${i} send-probe ip-${family} ${dest} ttl ${ttlOf(daemon, i)} flow ${i % 4}${proto(i)} timeout 1`);
    }
    return lines.join('\n') + '\n';
  };
  const results = await Promise.all([0, 1].map((d) => lab.exec('client', [ourPacket], { input: input(d), timeoutMs: 60_000 })));
  const problems: string[] = [];
  let answered = 0;
  for (const [daemon, r] of results.entries()) {
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n').filter(Boolean);
    expect(lines).toHaveLength(PROBES + 1);
    expect(lines[0]).toBe('1 feature-support support ok');
    for (const line of lines.slice(1)) {
      const w = line.split(' ');
      if (w[1] === 'no-reply') continue;
      const ttl = ttlOf(daemon, Number(w[0]));
      const want = ttl < 4 ? ['ttl-expired', hops[ttl - 1]] : ['reply', dest];
      if (w[1] !== want[0] || w[3] !== want[1] || w.includes('nat') || w[5] === '0') {
        problems.push(`daemon ${daemon}: ${line} (expected ${want.join(' from ')})`);
      } else {
        answered++;
      }
    }
  }
  expect(problems.slice(0, 20)).toEqual([]);
  expect(answered).toBeGreaterThan(PROBES); // most of the 2 x PROBES were answered
}

describeLab('two mtr-packet-ts with flow probes side by side', () => {
  const lab = useLab({ delaysMs: [1, 1, 1, 1] });

  for (const family of [4, 6] as const) {
    it(`IPv${family}: ICMP and UDP flows on the same flows and ports: no crossed answers, no nat`, async () => {
      await sideBySide(lab(), family, (i) => ((i >> 1) % 2 === 1 ? ` protocol udp local-port ${40000 + (i % 4)} port 33434` : ''));
    }, 120_000);

    it(`IPv${family}: TCP flows on the same flows and pinned ports (raw SYNs, the tag in the ISN): no crossed answers, no nat`, async () => {
      // dest's port 33999 is closed: its RST answers the daemon whose SYN reached it (TTL 4)
      await sideBySide(lab(), family, (i) => ` protocol tcp local-port ${40000 + (i % 4)} port 33999`);
    }, 120_000);
  }
});
