#!/usr/bin/env node
// Install step of the packed package (npm install -g mtr-packet-ts-*.tgz): builds the addon and the
// launcher from native/ (see prepack.mjs), recording this Node and this package's daemon bundle as
// what the launcher execs. In the repository there is no native/ here: the workspace's
// @mtr-ts/native package builds them, and this does nothing.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const build = join(pkg, 'native', 'scripts', 'build-addon.mjs');
if (existsSync(build)) {
  const r = spawnSync(process.execPath, [build, '--script', join(pkg, 'dist', 'mtr-packet-ts.cjs')], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
