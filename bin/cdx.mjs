#!/usr/bin/env node
// The `cdx` command: runs the built CLI (out/main/cli.js, made by `npm install` / `npm run build`).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'out', 'main', 'cli.js');
if (!existsSync(cli)) {
  console.error(`cdx: the app is not built (${cli} is missing). Run \`npm run build\` in ${root}.`);
  process.exit(1);
}
const { main } = await import(pathToFileURL(cli).href);
await main(process.argv);
