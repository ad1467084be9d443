import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';
import { svelte } from '@sveltejs/vite-plugin-svelte';

export default defineConfig({
  // the renderer's rune classes (*.svelte.ts) are compiled by Svelte, as in the app's build
  plugins: [svelte({ configFile: resolve('svelte.config.js') })],
  test: {
    include: ['{main,shared,native,renderer,scripts,bench}/**/*.test.ts'],
    exclude: ['node_modules/**', 'out/**', 'e2e/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
