/**
 * One build for everything that ships: Electron main + the engine + the web host + the CLI (Node
 * targets; native and WebAssembly dependencies left external, pure-JS ones bundled: BUNDLED_DEPS),
 * the sandboxed preload (CommonJS, as a sandboxed preload must be), and the Svelte renderer served
 * by both Electron and the web host.
 */
import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import type { Plugin } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

/**
 * Pure-JavaScript dependencies bundled into out/main instead of loaded from node_modules: Node
 * resolves, reads and compiles an ES module graph file by file, and apache-arrow alone (some 300
 * files) took 130–160 ms to import where its bundled code takes about 20 ms — time every `cdx`
 * command and every engine start paid. Native addons and WebAssembly packages (better-sqlite3,
 * lz4-napi, @napi-rs/keyring, h5wasm, parquet-wasm), ws (optional native add-ons) and the rest
 * stay external.
 */
const BUNDLED_DEPS = [
  'apache-arrow', 'hyparquet', 'hyparquet-compressors', 'fzstd', 'yauzl', 'pg', 'pg-copy-streams', 'pg-cursor',
  'commander', 'cli-progress', 'd3-array', 'd3-scale', 'd3-scale-chromatic',
];

/**
 * apache-arrow's package.json says `"sideEffects": false`, but its entry modules install the Node
 * and DOM stream adapters by assignment (`streamAdapters.toNodeStream = …`; without them
 * `RecordBatchWriter.toNodeStream()` throws "not available in this environment"): once bundled,
 * those modules are kept whole.
 */
const arrowStreamAdapters: Plugin = {
  name: 'cdx:arrow-stream-adapters',
  transform: {
    filter: { id: /apache-arrow[\\/]Arrow\.(node|dom)\.mjs$/ },
    handler: (code) => ({ code, moduleSideEffects: true }),
  },
};

export default defineConfig({
  main: {
    plugins: [arrowStreamAdapters],
    build: {
      externalizeDeps: { exclude: BUNDLED_DEPS },
      outDir: 'out/main',
      rolldownOptions: {
        input: {
          app: resolve('main/app/index.ts'),
          engine: resolve('main/engine/index.ts'),
          // the engine's killable worker for blocking library calls (main/engine/blocking.ts)
          'blocking-worker': resolve('main/engine/blocking-worker.ts'),
          cli: resolve('main/cli/index.ts'),
          // what bin/cdx.mjs runs first: starts the engine before the CLI's modules load
          'cli-early': resolve('main/cli/early.ts'),
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
