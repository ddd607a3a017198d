// Two mtr-packet-ts side by side, TCP probes to the same lab destination and port: each sees every
// ICMP error on its raw socket, and a source port one frees the other may bind. No daemon may take
// the other's answer for its own (an answer from the wrong hop, or a round-trip time of 0 from an
// answer stamped before the probe left), and neither may run out of ports.

import { expect, it } from 'vitest';
import { describeLab, useLab } from './lab/use-lab.js';
import { ourPacket } from './support/env.js';

const PROBES = 3000;
const RUNS = 3;
const TTLS = 4; // 1..3 expire at r1..r3; 4 reaches dest, whose closed port answers RST

describeLab('two mtr-packet-ts with TCP probes side by side', () => {
  const lab = useLab({ delaysMs: [1, 1, 1, 1] });

  for (const family of [4, 6] as const) {
    it(`IPv${family}: ${RUNS} runs of ${PROBES} probes each: no crossed answers, no RTT 0, no address-in-use`, async () => {
      const hops = family === 4 ? lab().hops4 : lab().hops6;
      const dest = hops[3];
      const input: string[] = [];
      for (let i = 1; i <= PROBES; i++) {
        input.push(`${i} send-probe ip-${family} ${dest} protocol tcp port 33999 ttl ${1 + (i % TTLS)} timeout 1`);
      }
      const text = input.join('\n') + '\n';
      const problems: string[] = [];
      let answered = 0;
      for (let run = 0; run < RUNS; run++) {
        const results = await Promise.all(
          [0, 1].map(() => lab().exec('client', [ourPacket], { input: text, timeoutMs: 60_000 })),
        );
        for (const [which, r] of results.entries()) {
          expect(r.code, r.stderr).toBe(0);
          const lines = r.stdout.split('\n').filter(Boolean);
          expect(lines).toHaveLength(PROBES);
          for (const line of lines) {
            const w = line.split(' ');
            const ttl = 1 + (Number(w[0]) % TTLS);
            const type = w[1];
            if (type === 'no-reply') continue;
            const where = `run ${run}, daemon ${which}: ${line}`;
            if (type !== 'ttl-expired' && type !== 'reply') {
              problems.push(where);
              continue;
            }
            answered++;
            const want = ttl < TTLS ? ['ttl-expired', hops[ttl - 1]] : ['reply', dest];
            if (type !== want[0] || w[3] !== want[1]) problems.push(`${where} (expected ${want.join(' from ')})`);
            if (w[5] === '0') problems.push(`${where} (round-trip time 0)`);
          }
        }
      }
      expect(problems.slice(0, 20)).toEqual([]);
      expect(answered).toBeGreaterThan(RUNS * PROBES / 4); // most probes were answered (routers rate-limit ICMP)
    }, 240_000);
  }
});
