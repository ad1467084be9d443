// `npm pack` / `npm publish`'s first step: make sure what package.json "files" ships exists — the
// native engine prebuilt for this platform (prebuilds/, rebuilt when native/ is newer) and the
// built app (out/, built when missing or older than its sources). The tarball then installs without compiling our addon;
// only better-sqlite3 (a V8 addon, rebuilt by npm for the installing Node) may still compile.
// CDX_SKIP_PREPACK=1 packs whatever is there.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
if (process.env.CDX_SKIP_PREPACK) process.exit(0);

function step(label, cmd, args) {
  // stdout is npm pack's own output (--json): our steps write to stderr only
  console.error(`cdx prepack: ${label}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 2, 2], shell: process.platform === 'win32' });
  if (r.status !== 0) {
    console.error(`cdx prepack: ${label} failed (exit ${r.status})`);
    process.exit(r.status ?? 1);
  }
}

step('native engine prebuild (prebuildify, if stale)', process.execPath, [join(root, 'scripts', 'prebuild.mjs'), '--if-stale']);
/** The newest mtime of the files the app build reads. */
function newestSource() {
  let t = 0;
  const walk = (dir) => {
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) {
        if (e.name !== 'build' && e.name !== 'node_modules' && e.name !== 'electron') walk(join(dir, e.name));
      } else if (/\.(ts|js|mjs|svelte|css|html|json|svg)$/.test(e.name) && !/\.test\.ts$/.test(e.name)) {
        t = Math.max(t, statSync(join(dir, e.name)).mtimeMs);
      }
    }
  };
  for (const d of ['main', 'shared', 'renderer', 'native']) walk(join(root, d));
  for (const f of ['electron.vite.config.ts', 'svelte.config.js']) if (existsSync(join(root, f))) t = Math.max(t, statSync(join(root, f)).mtimeMs);
  return t;
}
const outputs = ['out/main/cli.js', 'out/main/engine.js', 'out/renderer/index.html'].map((f) => join(root, f));
const built = outputs.every((f) => existsSync(f)) && Math.min(...outputs.map((f) => statSync(f).mtimeMs)) >= newestSource();
if (!built) step('app build (electron-vite; out/ missing or older than its sources)', 'npm', ['run', 'build']);
