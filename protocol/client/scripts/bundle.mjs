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
// nor a module that is not published
const published = JSON.parse(readFileSync(resolve(here, '../package.json'), 'utf8')).files.filter((f) => f.endsWith('.d.ts'));
for (const f of published) {
  const text = readFileSync(resolve(here, '..', f), 'utf8');
  for (const [, spec] of text.matchAll(/from '([^']+)'/g)) {
    if (!spec.startsWith('./') || !published.includes(`dist/${spec.slice(2).replace(/\.js$/, '.d.ts')}`)) {
      console.error(`${f} refers to ${spec}, which is not in the published files`);
      process.exit(1);
    }
  }
}
