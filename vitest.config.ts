import { defineConfig } from 'vitest/config';
import { inCI } from './test/support/env.js';

export default defineConfig({
  resolve: { conditions: ['mtr-ts-source'] },
  ssr: { resolve: { conditions: ['mtr-ts-source'] } },
  test: {
    include: ['**/test/**/*.test.ts', '**/src/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // CI runs the labs' real packets on a loaded 2-core machine beside the rest of the suite: a test that
    // fails there runs once more, and the retried reporter names every test that needed it (with its first
    // failure). Locally nothing is retried, so a flaky test shows.
    retry: inCI ? 1 : 0,
    reporters: ['default', './test/support/retried-reporter.ts'],
    globalSetup: ['test/global-setup.ts'],
  },
});
