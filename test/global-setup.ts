// Before any suite: compile the TypeScript (incremental) and bundle the daemon, so the executables
// the tests spawn (packet/bin/mtr-packet-ts, frontend/bin/mtr-ts.js) run the sources under test.

import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = fileURLToPath(new URL('../', import.meta.url));
  const require = createRequire(import.meta.url);
  const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
  execFileSync(process.execPath, [tsc, '-b'], { cwd: root, stdio: 'inherit' });
  execFileSync(process.execPath, ['packet/scripts/bundle.mjs'], { cwd: root, stdio: 'inherit' });
}
