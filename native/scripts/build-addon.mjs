#!/usr/bin/env node
// Builds the C++ addon and the launcher (mtr-packet-launch) with node-gyp, against the headers of
// the Node that runs this script (node-gyp would otherwise try to download headers, which an
// offline machine cannot do).
//
// Before node-gyp it writes gen/config.gypi (where the node-addon-api headers are) and
// gen/launcher-config.h: the absolute paths the launcher execs, recorded now and never looked up
// through PATH at run time:
//   MTR_NODE_PATH      the Node running this script (the one that installs the package runs it)
//   MTR_DAEMON_SCRIPT  the daemon bundle: --script PATH, or in the repository ../packet/dist/mtr-packet-ts.cjs
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const pkgDir = resolve(here, '..');
const require = createRequire(import.meta.url);

function fail(message) {
  console.error(`mtr-packet-ts: ${message}`);
  process.exit(1);
}

function option(name) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** A C string literal for a path; refuses what a path of ours should never hold. */
function cString(path) {
  if (!isAbsolute(path) || /[\x00-\x1f\x7f"\\]/.test(path)) fail(`unusable path for the launcher: ${JSON.stringify(path)}`);
  return `"${path.replace(/\?/g, '\\?')}"`;
}

function nodeAddonApiDir() {
  const vendored = join(pkgDir, 'vendor', 'node-addon-api');
  try {
    return dirname(require.resolve('node-addon-api/package.json'));
  } catch {
    if (existsSync(join(vendored, 'napi.h'))) return vendored;
    fail('node-addon-api is missing (its headers are needed to build the addon)');
  }
}

function nodeGyp() {
  try {
    return require.resolve('node-gyp/bin/node-gyp.js');
  } catch {
    // npm and pnpm tell install scripts where their own node-gyp is
    const theirs = process.env.npm_config_node_gyp;
    if (theirs && existsSync(theirs)) return theirs;
    fail('node-gyp is missing (npm and pnpm bring their own; or install node-gyp)');
  }
}

function daemonScript() {
  const given = option('--script');
  if (given !== undefined) return resolve(given);
  const packetDir = resolve(pkgDir, '..', 'packet');
  return join(existsSync(packetDir) ? realpathSync(packetDir) : packetDir, 'dist', 'mtr-packet-ts.cjs');
}

const genDir = join(pkgDir, 'gen');
mkdirSync(genDir, { recursive: true });
writeFileSync(
  join(genDir, 'config.gypi'),
  JSON.stringify({ variables: { napi_include_dir: nodeAddonApiDir() } }, null, 2) + '\n',
);
const node = realpathSync(process.execPath);
writeFileSync(
  join(genDir, 'launcher-config.h'),
  '/* Written by scripts/build-addon.mjs: what mtr-packet-launch execs. */\n' +
    `#define MTR_NODE_PATH ${cString(node)}\n` +
    `#define MTR_DAEMON_SCRIPT ${cString(daemonScript())}\n`,
);

const args = [nodeGyp(), 'rebuild', '--release'];
const prefix = resolve(dirname(process.execPath), '..');
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))) {
  args.push(`--nodedir=${prefix}`);
}
const r = spawnSync(process.execPath, args, { cwd: pkgDir, stdio: 'inherit' });
if (r.status !== 0) fail('building the native addon failed (needs python3, make and a C/C++ compiler).');
