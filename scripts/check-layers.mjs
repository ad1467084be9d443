// The layering rule (VS Code style: layers that cannot import upward), checked on every test run:
//  - shared/ imports nothing of ours outside shared/, and no Node or Electron module;
//  - renderer/ imports only renderer/ and shared/ (plus browser-safe packages), no Node or Electron;
//  - main/engine/ never imports 'electron' (it runs in a utilityProcess or a plain Node child);
//  - product code never imports a testing/ folder (test support: fixtures, oracles, generators);
//  - main/cli/ is a client of the engine, as the app's windows are: it imports shared/ (the
//    contract), other main/cli/ files and packages, never the engine's code — so every command
//    computes in the engine process, and the CLI bundle carries no reader, writer or kernel. Two
//    named doors: main/cli/engine-client.ts starts the engine (the forked host and its supervisor,
//    the engine's entry path, where the app is installed); main/cli/index.ts runs the web host for
//    `cdx serve` / `cdx open` (main/web/serve, which forks the engine itself).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative, resolve, dirname, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const nodeModules = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
const NODE_ONLY_PACKAGES = ['electron', 'better-sqlite3', 'ws', 'commander', 'cli-progress', '@duckdb/node-api', 'node-addon-api'];

function* files(dir) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'build' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* files(p);
    else if (/\.(ts|svelte|js|mjs)$/.test(name)) yield p;
  }
}

function importsOf(src) {
  const out = [];
  const re = /(?:^|[^.\w])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|[^.\w])import\s*\(\s*['"]([^'"]+)['"]\s*\)|(?:^|[^.\w])import\s+['"]([^'"]+)['"]|require\s*\(\s*['"]([^'"]+)['"]\s*\)/gm;
  let m;
  while ((m = re.exec(src))) out.push(m[1] ?? m[2] ?? m[3] ?? m[4]);
  return out;
}

const problems = [];
function check(layer, test) {
  const dir = join(root, layer);
  try {
    statSync(dir);
  } catch {
    return;
  }
  for (const file of files(dir)) {
    const src = readFileSync(file, 'utf8');
    for (const spec of importsOf(src)) {
      const why = test(spec, file);
      if (why) problems.push(`${relative(root, file)}: imports '${spec}' — ${why}`);
    }
  }
}

const isTest = (f) => /\.test\.ts$/.test(f);
const pkgName = (spec) => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);
const within = (file, spec, layers) => {
  const target = resolve(dirname(file), spec);
  return layers.some((l) => target === join(root, l) || target.startsWith(join(root, l) + sep));
};

check('shared', (spec, file) => {
  if (isTest(file)) return null; // tests may use oracles (DuckDB) and Node
  if (nodeModules.has(spec) || spec.startsWith('node:')) return 'shared/ must not use Node modules';
  if (spec.startsWith('.')) return within(file, spec, ['shared']) ? null : 'shared/ imports nothing outside shared/';
  if (NODE_ONLY_PACKAGES.includes(pkgName(spec))) return 'shared/ must stay browser-safe';
  return null;
});
check('renderer', (spec, file) => {
  if (isTest(file)) return null;
  if (nodeModules.has(spec) || spec.startsWith('node:')) return 'the renderer must not use Node modules';
  if (spec.startsWith('.')) return within(file, spec, ['renderer', 'shared']) ? null : 'the renderer imports only renderer/ and shared/';
  if (NODE_ONLY_PACKAGES.includes(pkgName(spec))) return 'the renderer must not use Node-only packages';
  return null;
});
check('main/engine', (spec) => (pkgName(spec) === 'electron' ? "the engine never imports 'electron'" : null));
// test support lives in testing/ folders: only tests (and bench/, e2e/) import it, so no build bundles it
const inTesting = (p) => p.split(sep).includes('testing');
for (const layer of ['main', 'native', 'shared', 'renderer']) {
  check(layer, (spec, file) => {
    if (isTest(file) || inTesting(relative(root, file)) || !spec.startsWith('.')) return null;
    return inTesting(relative(root, resolve(dirname(file), spec))) ? 'product code never imports test support (testing/)' : null;
  });
}

const CLI_DOORS = {
  'main/cli/engine-client.ts': ['main/engine/forked', 'main/engine/supervisor', 'main/engine/entry', 'main/engine/paths'],
  'main/cli/index.ts': ['main/web/serve'],
};
check('main/cli', (spec, file) => {
  if (isTest(file) || !spec.startsWith('.') || within(file, spec, ['shared', 'main/cli'])) return null;
  const posix = (p) => p.split(sep).join('/');
  const target = posix(relative(root, resolve(dirname(file), spec))).replace(/\.(ts|js|mjs)$/, '');
  if ((CLI_DOORS[posix(relative(root, file))] ?? []).includes(target)) return null;
  return 'main/cli imports only shared/, main/cli/ and its engine client (engine-client.ts); the engine computes';
});

if (problems.length) {
  console.error(`Layering check failed (${problems.length}):\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log('Layering check: ok');
