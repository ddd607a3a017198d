// A throwaway network namespace for a test that needs an odd routing table or sysctl.
// Unique name per run; deleted in finally, whatever happens.

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export async function withScratchNetns<T>(setup: string[][], fn: (ns: string) => Promise<T>): Promise<T> {
  const ns = `mtrts-${process.pid}-${randomBytes(3).toString('hex')}-x`;
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    for (const cmd of setup) execFileSync('ip', ['netns', 'exec', ns, ...cmd]);
    return await fn(ns);
  } finally {
    execFileSync('ip', ['netns', 'del', ns]);
  }
}
