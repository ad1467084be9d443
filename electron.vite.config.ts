/**
 * One build for everything that ships: Electron main + the engine + the web host + the CLI (Node
 * targets, dependencies left external), the sandboxed preload (CommonJS, as a sandboxed preload
 * must be), and the Svelte renderer served by both Electron and the web host.
 */
import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      rolldownOptions: {
        input: {
          app: resolve('main/app/index.ts'),
          engine: resolve('main/engine/index.ts'),
          // the engine's killable worker for blocking library calls (main/engine/blocking.ts)
          'blocking-worker': resolve('main/engine/blocking-worker.ts'),
          cli: resolve('main/cli/index.ts'),
        },
        output: { entryFileNames: '[name].js', chunkFileNames: 'chunks/[name]-[hash].js' },
      },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      rolldownOptions: {
        input: { index: resolve('main/app/preload.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: 'renderer',
    plugins: [svelte({ configFile: resolve('svelte.config.js') })],
    // the plot worker (renderer/gl/glworker.ts) as one classic script: it is served with its own
    // CSP (see main/web/server.ts) and must load from file:// in Electron, where module workers can't
    worker: { format: 'iife' },
    build: {
      outDir: resolve('out/renderer'),
      emptyOutDir: true,
      rolldownOptions: { input: resolve('renderer/index.html') },
    },
  },
});
