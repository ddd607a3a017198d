#!/usr/bin/env node
// Bundles the front-end into one file (dist/mtr-ts.mjs: protocol, yargs and split2 inlined), which
// bin/mtr-ts runs. The packed package needs nothing else from a registry.
import { build } from 'esbuild';
import { renameSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// Written to a temporary name, then renamed: a process starting meanwhile (tests run while a
// pack re-bundles) reads the old file or the new one, never half of one.
const result = await build({
  stdin: { contents: "import { run } from './src/cli.ts';\nrun();\n", resolveDir: pkg, sourcefile: 'mtr-ts-entry.ts', loader: 'ts' },
  outfile: resolve(pkg, 'dist/mtr-ts.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  conditions: ['mtr-ts-source'],
  packages: 'bundle',
  // mtr-packet-ts is found at run time next to this package (trust.ts), never inlined
  external: ['mtr-packet-ts', 'mtr-packet-ts/*'],
  banner: { js: "import { createRequire as __mtrRequire } from 'node:module'; const require = __mtrRequire(import.meta.url);" },
  write: false,
  logLevel: 'warning',
  legalComments: 'none',
});
for (const f of result.outputFiles) {
  writeFileSync(`${f.path}.${process.pid}.tmp`, f.contents);
  renameSync(`${f.path}.${process.pid}.tmp`, f.path);
}
