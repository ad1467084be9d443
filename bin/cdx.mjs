#!/usr/bin/env node
// The `cdx` command: runs the built CLI (out/main/cli.js, made by `npm install` / `npm run build`).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'out', 'main');
const cli = join(out, 'cli.js');
if (!existsSync(cli)) {
  console.error(`cdx: the app is not built (${cli} is missing). Run \`npm run build\` in ${root}.`);
  process.exit(1);
}
// A command that computes in the engine starts it first (main/cli/early.ts): the engine's
// start-up runs beside the loading of the CLI's modules instead of after it.
const early = join(out, 'cli-early.js');
if (existsSync(early)) (await import(pathToFileURL(early).href)).startEarly(process.argv);
const { main } = await import(pathToFileURL(cli).href);
await main(process.argv);
