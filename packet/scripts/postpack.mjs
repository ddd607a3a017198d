#!/usr/bin/env node
// After packing: removes what prepack.mjs copied into the package (the repository builds native/ itself).
import { rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

rmSync(join(resolve(dirname(fileURLToPath(import.meta.url)), '..'), 'native'), { recursive: true, force: true });
