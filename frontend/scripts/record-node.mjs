#!/usr/bin/env node
// Install step: records the absolute path of the Node that installs the package in node-path, which
// bin/mtr-ts runs (never a `node` found through the caller's PATH when it runs with privilege).
import { realpathSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = resolve(dirname(fileURLToPath(import.meta.url)), '..');
writeFileSync(join(pkg, 'node-path'), realpathSync(process.execPath) + '\n');
