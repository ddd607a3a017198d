// What the test machine can do, and the rule for tests that need more:
// in CI (CI=true) a privileged test that cannot run is a failure, never a skip;
// elsewhere it skips and says why on screen.

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** CI is on when CI is set to anything but '', 'false' or '0' (CI=true in .ci/run). The one definition. */
export const inCI = ((ci) => ci !== undefined && ci !== '' && ci !== 'false' && ci !== '0')(process.env.CI);
export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const ourPacket = fileURLToPath(new URL('../../packet/bin/mtr-packet-ts', import.meta.url));
export const ourFrontend = fileURLToPath(new URL('../../frontend/bin/mtr-ts.js', import.meta.url));

function which(cmd: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export const referencePacket = process.env.MTR_REFERENCE_PACKET ?? which('mtr-packet');
export const referenceMtr = which('mtr');

/**
 * Returns undefined when the requirements hold. Otherwise, in CI it throws (the suite fails);
 * elsewhere it prints the reason and returns it, for `describe.skipIf`.
 */
export function requirements(what: string, needs: Array<[ok: boolean, why: string]>): string | undefined {
  const missing = needs.filter(([ok]) => !ok).map(([, why]) => why);
  if (missing.length === 0) return undefined;
  const reason = `${what}: ${missing.join('; ')}`;
  if (inCI) throw new Error(`cannot run in CI: ${reason}`);
  console.warn(`SKIPPED ${reason}`);
  return reason;
}

/** The boolean form of requirements(), for `describe.skipIf`/`{ skip }`: true = skip here (reason printed). */
export function skipUnless(ok: boolean, why: string): boolean {
  return requirements(why, [[ok, why]]) !== undefined;
}

export const rootNeed: [boolean, string] = [isRoot, 'needs root (raw sockets, network namespaces)'];
export const referenceNeed: [boolean, string] = [
  referencePacket !== undefined && existsSync(referencePacket),
  "needs the reference mtr-packet (Debian's mtr-tiny)",
];
