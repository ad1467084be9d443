import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{main,shared,native,renderer,scripts,bench}/**/*.test.ts'],
    exclude: ['node_modules/**', 'out/**', 'e2e/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
