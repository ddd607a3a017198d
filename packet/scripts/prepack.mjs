#!/usr/bin/env node
// Before `npm pack` / `pnpm pack`: makes this package installable on its own. The tarball then holds
// the daemon bundle (protocol and native TypeScript inlined), the native sources with the launcher
// (built at install by scripts/install.mjs with node-gyp) and the node-addon-api headers, so
// `npm install -g` needs nothing from a registry. postpack.mjs removes the copies again.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const nativeSrc = resolve(pkg, '..', 'native');
const out = join(pkg, 'native');

const bundled = spawnSync(process.execPath, [join(pkg, 'scripts', 'bundle.mjs')], { stdio: 'inherit' });
if (bundled.status !== 0) process.exit(bundled.status ?? 1);

rmSync(out, { recursive: true, force: true });
for (const part of ['binding.gyp', 'src/cc', 'src/launcher', 'scripts/build-addon.mjs']) {
  cpSync(join(nativeSrc, part), join(out, part), { recursive: true });
}
const require = createRequire(join(nativeSrc, 'package.json'));
const napi = dirname(require.resolve('node-addon-api/package.json'));
mkdirSync(join(out, 'vendor', 'node-addon-api'), { recursive: true });
for (const f of ['napi.h', 'napi-inl.h', 'napi-inl.deprecated.h', 'LICENSE.md']) {
  cpSync(join(napi, f), join(out, 'vendor', 'node-addon-api', f));
}
