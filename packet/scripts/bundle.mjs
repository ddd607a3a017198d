#!/usr/bin/env node
// Bundles the daemon into one file (dist/mtr-packet-ts.mjs): Node then loads one module instead
// of a few dozen at every start, which is most of what start-up costs beyond Node itself.
// The addon stays a separate file, found through @mtr-ts/native at run time.
import { build } from 'esbuild';
import { renameSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
// Written to a temporary name, then renamed: a process starting meanwhile (tests run while a
// pack re-bundles) reads the old file or the new one, never half of one.
const result = await build({
  entryPoints: [resolve(here, '../src/main.ts')],
  outfile: resolve(here, '../dist/mtr-packet-ts.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  conditions: ['mtr-ts-source'],
  packages: 'bundle',
  write: false,
  logLevel: 'warning',
  legalComments: 'none',
});
for (const f of result.outputFiles) {
  writeFileSync(`${f.path}.${process.pid}.tmp`, f.contents);
  renameSync(`${f.path}.${process.pid}.tmp`, f.path);
}
