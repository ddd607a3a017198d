// What mtr-ts takes from its environment when it runs with more privilege than its caller.
//
// Run as root with a user's environment (sudo -E, SETENV, env_keep, a wrapper), that environment
// must not be able to act as root: MTR_PACKET would run any program as root (CVE-2025-49809),
// `-F FILE` would read a root-only file and print its lines in error messages. As mtr 0.96 does,
// mtr-ts then ignores MTR_PACKET, refuses -F, and starts its own packet program (the launcher, by
// absolute path) with an environment of its own. Node's own variables (NODE_OPTIONS, a `node` on
// the caller's PATH) are handled before Node starts, by bin/mtr-ts.
//
// Hooks (the only calls the rest of the front-end makes):
//   const trust = assessTrust(env)                      once, at start
//   readFile: (p) => readTargetsFile(trust, p)          parseOptions' -F reader
//   const { path, env } = packetCommand(trust)          what MtrPacket.spawn runs, with which env

import { accessSync, constants, existsSync, readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** mtr 0.96's marker: where it exists, mtr is run under sudo and its environment is not trusted. */
export const SUDO_GUARD = '/etc/mtr.is.run.under.sudo';

export interface Credentials {
  uid: number;
  euid: number;
  env: NodeJS.ProcessEnv;
  /** whether SUDO_GUARD exists */
  guard: boolean;
}

export interface Trust {
  /** runs with more privilege than its caller: the environment is the caller's, not ours to obey */
  readonly elevated: boolean;
  /** why elevated (for messages), e.g. 'running as root through sudo' */
  readonly why: string | undefined;
  readonly env: NodeJS.ProcessEnv;
}

export function currentCredentials(env: NodeJS.ProcessEnv = process.env): Credentials {
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  const euid = typeof process.geteuid === 'function' ? process.geteuid() : uid;
  return { uid, euid, env, guard: existsSync(SUDO_GUARD) };
}

export function assessTrust(c: Credentials = currentCredentials()): Trust {
  let why: string | undefined;
  if (c.euid !== c.uid) why = 'running set-user-ID';
  else if (c.euid === 0 && (c.env['SUDO_UID'] !== undefined || c.env['SUDO_USER'] !== undefined)) why = 'running as root through sudo';
  else if (c.guard) why = `${SUDO_GUARD} exists`;
  return { elevated: why !== undefined, why, env: c.env };
}

/** Thrown for -F when elevated; the message names no file content. */
export class TrustError extends Error {}

/**
 * parseOptions' reader for -F. Elevated: refused, nothing is opened. Otherwise the file is read
 * only if the real user may read it (access(2) checks the real uid), so its lines, which name
 * targets and may appear in messages, are never more than the caller could read anyway.
 */
export function readTargetsFile(trust: Trust, path: string): string {
  if (trust.elevated) throw new TrustError(`-F is not allowed when mtr-ts runs with more privilege than its caller (${trust.why})`);
  if (path === '-') return readFileSync(0, 'utf8');
  accessSync(path, constants.R_OK);
  return readFileSync(path, 'utf8');
}

/** The directory of the mtr-packet-ts package, or undefined. */
function packetPackageDir(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    return realpathSync(dirname(require.resolve('mtr-packet-ts/package.json')));
  } catch {
    const sibling = fileURLToPath(new URL('../../packet', import.meta.url));
    return existsSync(join(sibling, 'package.json')) ? sibling : undefined;
  }
}

/**
 * Our packet program, by absolute path: the launcher (mtr-packet-launch) where it is built (the
 * installed package, or the repository's native/build), else mtr-packet-ts's own bin script.
 */
export function ourPacketProgram(): string {
  const pkg = packetPackageDir();
  if (pkg === undefined) return fileURLToPath(new URL('../../packet/bin/mtr-packet-ts', import.meta.url));
  for (const launcher of [
    join(pkg, 'native', 'build', 'Release', 'mtr-packet-launch'),
    join(pkg, 'node_modules', '@mtr-ts', 'native', 'build', 'Release', 'mtr-packet-launch'),
  ]) {
    if (existsSync(launcher)) return realpathSync(launcher);
  }
  return join(pkg, 'bin', 'mtr-packet-ts');
}

/** Only what the launcher uses: the sudo ids (it runs the daemon as that user). */
const KEPT_WHEN_ELEVATED = ['SUDO_UID', 'SUDO_GID', 'SUDO_USER'] as const;

/** The packet program to spawn and its environment. */
export function packetCommand(trust: Trust): { path: string; env: NodeJS.ProcessEnv } {
  if (!trust.elevated) {
    const chosen = trust.env['MTR_PACKET'];
    return { path: chosen !== undefined && chosen !== '' ? chosen : ourPacketProgram(), env: trust.env };
  }
  const env: NodeJS.ProcessEnv = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };
  for (const k of KEPT_WHEN_ELEVATED) if (trust.env[k] !== undefined) env[k] = trust.env[k];
  return { path: ourPacketProgram(), env };
}
