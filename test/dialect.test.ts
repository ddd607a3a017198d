// The two dialects through the process: 0.95's words by default, 0.96's when the environment
// asks (mtr execs MTR_PACKET without arguments), a clear error for anything else.

import { describe, expect, it } from 'vitest';
import { ourPacket, requirements, rootNeed } from './support/env.js';
import { withScratchNetns } from './support/netns.js';
import { runProcess } from './support/run.js';

const skip = requirements('mtr-packet-ts dialects', [rootNeed]);

const INPUT = '1 check-support feature version\n2 send-probe ip-4 10.9.9.9\n3 send-probe ip-6 fd00:99::1\n';

describe.skipIf(skip)('mtr-packet-ts dialects', () => {
  for (const [dialect, env, expected] of [
    ['0.95 (default)', {}, ['1 feature-support support 0.95', '2 no-route', '3 no-route']],
    ['0.95', { MTR_PACKET_TS_DIALECT: '0.95' }, ['1 feature-support support 0.95', '2 no-route', '3 no-route']],
    ['0.96', { MTR_PACKET_TS_DIALECT: '0.96' }, ['1 feature-support support 0.96', '2 no-route-network', '3 no-route-network']],
  ] as const) {
    it(`${dialect}: version and the words of a send its routing table refuses`, async () => {
      await withScratchNetns([], async (ns) => {
        const r = await runProcess([ourPacket], INPUT, { netns: ns, env: { ...process.env, ...env } });
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout.split('\n').filter(Boolean)).toEqual(expected);
      });
    });
  }

  it('refuses an unknown dialect with a clear message and exit status 2', async () => {
    const r = await runProcess([ourPacket], INPUT, { env: { ...process.env, MTR_PACKET_TS_DIALECT: '1.0' } });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('mtr-packet-ts: MTR_PACKET_TS_DIALECT=1.0: the dialect must be one of 0.95, 0.96\n');
  });
});
