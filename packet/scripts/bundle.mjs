#!/usr/bin/env node
// Bundles the daemon into one file (dist/mtr-packet-ts.mjs): Node then loads one module instead
// of a few dozen at every start, which is most of what start-up costs beyond Node itself.
// The addon stays a separate file, found through @mtr-ts/native (or native/ when packed) at run time.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleTo } from './esbuild-bundle.mjs';

const here = dirname(fileURLToPath(import.meta.url));
await bundleTo(resolve(here, '../dist/mtr-packet-ts.mjs'), resolve(here, '../src/main.ts'));
