import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['mtr-ts-source'] },
  ssr: { resolve: { conditions: ['mtr-ts-source'] } },
  test: {
    include: ['**/test/**/*.test.ts', '**/src/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
    globalSetup: ['test/global-setup.ts'],
  },
});
