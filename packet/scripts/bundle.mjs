#!/usr/bin/env node
// Bundles the daemon into one file (dist/mtr-packet-ts.cjs): Node then loads one module instead
// of a few dozen at every start, which is most of what start-up costs beyond Node itself. CommonJS,
// not ESM: Node 20 compiles its ESM loader's own modules at every start of an ESM entry (about
// 15 ms here), while its CommonJS loader is in its start-up snapshot. import.meta.url (the addon's
// lookup) becomes the bundle's own file URL.
// The addon stays a separate file, found through @mtr-ts/native (or native/ when packed) at run time.
import { writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleTo } from './esbuild-bundle.mjs';

const here = dirname(fileURLToPath(import.meta.url));
await bundleTo(resolve(here, '../dist/mtr-packet-ts.cjs'), resolve(here, '../src/main.ts'), {
  format: 'cjs',
  define: { 'import.meta.url': '__mtrBundleUrl' },
  banner: { js: "'use strict';\nconst __mtrBundleUrl = require('node:url').pathToFileURL(__filename).href;" },
});

// A launcher built before the bundle was CommonJS execs dist/mtr-packet-ts.mjs: that name now loads
// the same bundle (a rebuild of the addon, `pnpm run build`, points the launcher at the .cjs), so no
// worktree ever runs a stale daemon.
writeFileSync(resolve(here, '../dist/mtr-packet-ts.mjs'), "// Written by scripts/bundle.mjs: the daemon is dist/mtr-packet-ts.cjs.\nimport './mtr-packet-ts.cjs';\n");
