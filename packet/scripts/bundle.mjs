#!/usr/bin/env node
// Bundles the daemon into one file (dist/mtr-packet-ts.mjs): Node then loads one module instead
// of a few dozen at every start, which is most of what start-up costs beyond Node itself.
// The addon stays a separate file, found through @mtr-ts/native at run time.
import { build } from 'esbuild';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
await build({
  entryPoints: [resolve(here, '../src/main.ts')],
  outfile: resolve(here, '../dist/mtr-packet-ts.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  conditions: ['mtr-ts-source'],
  packages: 'bundle',
  logLevel: 'warning',
  legalComments: 'none',
});
