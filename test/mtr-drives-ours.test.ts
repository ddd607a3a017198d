// mtr 0.95 itself, driving mtr-packet-ts through MTR_PACKET, reports the same hops as with its own
// helper, on the netns lab's path.

import { beforeAll, expect, it } from 'vitest';
import { describeLab, useLab } from './lab/use-lab.js';
import { ourPacket, referenceMtr, requirements } from './support/env.js';
import { startTcpListener } from './support/listener.js';

const skip = requirements('mtr driving mtr-packet-ts', [[referenceMtr !== undefined, "needs mtr 0.95 (Debian's mtr-tiny)"]]);

/** Host column of each hop line of `mtr -n -r`: [hop number, host]. */
export function reportHops(report: string): Array<[number, string]> {
  const hops: Array<[number, string]> = [];
  for (const line of report.split('\n')) {
    const m = /^\s*(\d+)\.\|--\s+(\S+)/.exec(line);
    if (m) hops.push([Number(m[1]), m[2]!]);
  }
  return hops;
}

describeLab('mtr with MTR_PACKET=mtr-packet-ts', () => {
  const lab = useLab({ delaysMs: [1, 2, 3, 1] });
  if (skip) return;

  // -T needs an open port on dest: a listener for the whole suite
  beforeAll(async () => {
    await startTcpListener(lab(), 8080);
  });

  const modes: Array<[string, string[]]> = [
    ['ICMP', []],
    ['UDP (-u)', ['-u']],
    ['TCP (-T -P 8080)', ['-T', '-P', '8080']],
  ];
  for (const family of [4, 6] as const)
  for (const [mode, flags] of modes) {
    it(`IPv${family} ${mode}: lists every hop, the same as with mtr's own helper`, async () => {
      const dest = family === 4 ? lab().hops4[3] : lab().hops6[3];
      const argv = ['mtr', `-${family}`, ...flags, '-n', '-r', '-c', '5', '-i', '0.2', dest];
      const [withOurs, withTheirs] = await Promise.all([
        lab().exec('client', ['env', `MTR_PACKET=${ourPacket}`, ...argv], { timeoutMs: 60_000 }),
        lab().exec('client', argv, { timeoutMs: 60_000 }),
      ]);
      expect(withOurs.code, withOurs.stderr).toBe(0);
      expect(withTheirs.code, withTheirs.stderr).toBe(0);
      const hops = family === 4 ? lab().hops4 : lab().hops6;
      const expected = hops.map((h, i) => [i + 1, h]);
      expect(reportHops(withOurs.stdout)).toEqual(expected);
      expect(reportHops(withTheirs.stdout)).toEqual(expected);
      // no loss on a clean path
      for (const line of withOurs.stdout.split('\n').filter((l) => /\|--/.test(l))) {
        expect(line).toMatch(/\s0\.0%/);
      }
    });
  }
});

