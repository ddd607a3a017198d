// Which packet program to run when the caller does not say.
//
// 1. mtr-packet-ts installed alongside this package (the `mtr-packet-ts` package in a node_modules
//    folder on the resolution path, or this repository's packet/bin when run from a checkout);
// 2. else the MTR_PACKET environment variable, as mtr reads it, unless the caller turned it off;
// 3. else `mtr-packet`, found on PATH by spawn.
//
// A privileged caller (running as root or with capabilities on behalf of someone else) should pass
// `allowEnvironment: false`: MTR_PACKET names a program that would then run with its privileges.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export interface PacketCommandChoice {
  /** what to run */
  command: string;
  /** where the choice came from */
  source: 'installed' | 'environment' | 'path';
}

export interface PacketCommandOptions {
  /** the environment to read MTR_PACKET from (default process.env) */
  env?: NodeJS.ProcessEnv;
  /** false: never use MTR_PACKET (default true) */
  allowEnvironment?: boolean;
  /** false: do not look for mtr-packet-ts installed alongside (default true) */
  preferInstalled?: boolean;
}

/** The mtr-packet-ts launcher installed alongside this package, if there is one. */
export function installedDaemon(): string | undefined {
  const candidates: string[] = [];
  // a checkout of this repository: protocol/client/{src,dist}/ -> packet/bin
  candidates.push(fileURLToPath(new URL('../../../packet/bin/mtr-packet-ts', import.meta.url)));
  const paths = createRequire(import.meta.url).resolve.paths('mtr-packet-ts') ?? [];
  for (const dir of paths) candidates.push(`${dir}/mtr-packet-ts/bin/mtr-packet-ts`);
  return candidates.find((p) => existsSync(p));
}

export function defaultPacketCommand(options: PacketCommandOptions = {}): PacketCommandChoice {
  if (options.preferInstalled !== false) {
    const ours = installedDaemon();
    if (ours !== undefined) return { command: ours, source: 'installed' };
  }
  const env = options.env ?? process.env;
  const fromEnv = env['MTR_PACKET'];
  if (options.allowEnvironment !== false && fromEnv !== undefined && fromEnv !== '') return { command: fromEnv, source: 'environment' };
  return { command: 'mtr-packet', source: 'path' };
}
