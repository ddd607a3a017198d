#!/usr/bin/env node
// Bundles each command of the front-end into one file (dist/mtr-ts.mjs, dist/mtr-ts-exporter.mjs:
// protocol, @mtr-ts/client and the libraries inlined), which bin/mtr-ts runs. The packed package needs nothing else from a registry.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleTo } from '../../packet/scripts/esbuild-bundle.mjs';

const pkg = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const entries = [
  ['dist/mtr-ts.mjs', './src/cli.ts'],
  ['dist/mtr-ts-exporter.mjs', './src/exporter/main.ts'],
];
for (const [out, source] of entries) {
  await bundleTo(
    resolve(pkg, out),
    { contents: `import { run } from '${source}';\nrun();\n`, resolveDir: pkg },
    {
      // mtr-packet-ts is found at run time next to this package (trust.ts), never inlined
      external: ['mtr-packet-ts', 'mtr-packet-ts/*'],
      // yargs and prom-client are CommonJS inside: give them a require
      banner: {
        js: "import { createRequire as __mtrRequire } from 'node:module'; const require = __mtrRequire(import.meta.url);",
      },
    },
  );
}
