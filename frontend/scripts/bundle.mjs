#!/usr/bin/env node
// Bundles the front-end into one file (dist/mtr-ts.mjs: protocol, @mtr-ts/client, yargs inlined), which
// bin/mtr-ts runs. The packed package needs nothing else from a registry.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleTo } from '../../packet/scripts/esbuild-bundle.mjs';

const pkg = resolve(dirname(fileURLToPath(import.meta.url)), '..');
await bundleTo(
  resolve(pkg, 'dist/mtr-ts.mjs'),
  { contents: "import { run } from './src/cli.ts';\nrun();\n", resolveDir: pkg },
  {
    // mtr-packet-ts is found at run time next to this package (trust.ts), never inlined
    external: ['mtr-packet-ts', 'mtr-packet-ts/*'],
    // yargs is CommonJS inside: give it a require
    banner: { js: "import { createRequire as __mtrRequire } from 'node:module'; const require = __mtrRequire(import.meta.url);" },
  },
);
