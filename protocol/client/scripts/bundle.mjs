#!/usr/bin/env node
// The published build: dist/index.js with @mtr-ts/protocol inlined, so the tarball depends on
// nothing (the protocol package is private to this repository). tsc -b writes the declarations
// (dist/*.d.ts) and a per-file dist/index.js first; this replaces that index.js by the bundle.
// In the workspace both forms behave the same.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const outfile = resolve(here, '../dist/index.js');
await build({
  entryPoints: [resolve(here, '../src/index.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  conditions: ['mtr-ts-source'],
  packages: 'bundle',
  logLevel: 'warning',
  legalComments: 'none',
});
// the published declarations (package.json `files`) must not name the private package either
for (const f of ['index.d.ts', 'mtr-packet.d.ts', 'outcome.d.ts', 'errors.d.ts', 'command.d.ts']) {
  if (readFileSync(resolve(here, '../dist', f), 'utf8').includes('@mtr-ts/protocol')) {
    console.error(`dist/${f} refers to @mtr-ts/protocol, which is not published`);
    process.exit(1);
  }
}
