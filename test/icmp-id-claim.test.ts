// Two mtr-packet-ts processes in one network namespace never probe with the same ICMP identifier:
// each claims its identifier (per raw family) as an abstract AF_UNIX name for its life.
import { spawn } from 'node:child_process';
import { Engine } from '@mtr-ts/native';
import { describe, expect, it } from 'vitest';
import { ourPacket, requirements, rootNeed } from './support/env.js';

const skip = requirements('ICMP identifier claims', [rootNeed]);

/** Starts a verbose daemon and reads the identifier it reports; stdin stays open (the daemon lives). */
async function startDaemon(): Promise<{ id: number; end: () => Promise<void> }> {
  const child = spawn(ourPacket, ['--verbose'], { stdio: ['pipe', 'ignore', 'pipe'] });
  let err = '';
  const id = await new Promise<number>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /icmp id (\d+)/.exec(err);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`daemon exited (${code}): ${err}`)));
  });
  const end = (): Promise<void> =>
    new Promise((resolve) => {
      child.on('close', () => resolve());
      child.stdin.end();
    });
  return { id, end };
}

describe.skipIf(skip)('ICMP identifier claims', () => {
  it('a running daemon holds its identifier in both families; it is free once the daemon exits', async () => {
    const daemon = await startDaemon();
    const probe = new Engine(() => {});
    try {
      probe.open({ mode: 'raw' });
      expect(probe.holdName(`mtr-packet-ts/icmp-id/4/${daemon.id}`)).toBe(false);
      expect(probe.holdName(`mtr-packet-ts/icmp-id/6/${daemon.id}`)).toBe(false);
      await daemon.end();
      expect(probe.holdName(`mtr-packet-ts/icmp-id/4/${daemon.id}`)).toBe(true);
    } finally {
      probe.close();
    }
  });
});
