// `npm run prebuild`: the native engine prebuilt with prebuildify (Node-API, so one binary for every
// Node and Electron) into prebuilds/<platform>-<arch>/cdx_native.napi.<libc>.node, the layout that
// node-gyp-build resolves and native/binding.ts looks in inside an installed package. `npm pack`
// ships prebuilds/ (package.json "files") so installing the package compiles nothing of ours.
//
// prebuildify runs `node-gyp rebuild` in the folder it is given and moves the result out of its
// build/: run on native/ itself it would delete the developers' native/build/Release. So it runs on
// a temporary copy of binding.gyp + src/ (node-addon-api found through NODE_PATH), and the result
// is copied into prebuilds/. Run it under `flock /tmp/cdx-native.lock` where builds are shared.
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const tuple = `${process.env.PREBUILD_PLATFORM || process.platform}-${process.env.PREBUILD_ARCH || process.arch}`;
export const prebuildDir = join(root, 'prebuilds', tuple);

/** The newest mtime of the addon's sources (binding.gyp and native/src). */
function newestSource() {
  let t = statSync(join(root, 'native', 'binding.gyp')).mtimeMs;
  for (const f of readdirSync(join(root, 'native', 'src'))) t = Math.max(t, statSync(join(root, 'native', 'src', f)).mtimeMs);
  return t;
}

/** Whether prebuilds/<platform>-<arch>/ holds a .node newer than every source. */
export function prebuildFresh() {
  if (!existsSync(prebuildDir)) return false;
  const nodes = readdirSync(prebuildDir).filter((f) => f.endsWith('.node'));
  if (!nodes.length) return false;
  return Math.min(...nodes.map((f) => statSync(join(prebuildDir, f)).mtimeMs)) >= newestSource();
}

function nodedir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const r = spawnSync('npm', ['config', 'get', 'nodedir'], { encoding: 'utf8', shell: process.platform === 'win32' });
  const v = (r.stdout || '').trim();
  return r.status === 0 && v && v !== 'undefined' && v !== 'null' ? v : undefined;
}

async function main() {
  if (process.argv.includes('--if-stale') && prebuildFresh()) {
    console.log(`cdx prebuild: up to date (${prebuildDir})`);
    return;
  }
  const req = createRequire(join(root, 'package.json'));
  const prebuildify = req('prebuildify');
  const work = mkdtempSync(join(os.tmpdir(), 'cdx-prebuild-'));
  try {
    const src = join(work, 'native');
    mkdirSync(src);
    copyFileSync(join(root, 'native', 'binding.gyp'), join(src, 'binding.gyp'));
    cpSync(join(root, 'native', 'src'), join(src, 'src'), { recursive: true });
    const dir = nodedir();
    process.env.NODE_PATH = [join(root, 'node_modules'), process.env.NODE_PATH].filter(Boolean).join(process.platform === 'win32' ? ';' : ':');
    // node-gyp reads the user's nodedir from npm's environment (here Node's own headers, /usr)
    if (dir) process.env.npm_config_nodedir = dir;
    const gyp = join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'node-gyp.cmd' : 'node-gyp');
    console.log(`cdx prebuild: building the native engine (Node-API) for ${tuple} with prebuildify${dir ? ` (headers: ${dir})` : ''}`);
    await new Promise((ok, fail) =>
      prebuildify(
        {
          cwd: src,
          out: work,
          napi: true,
          strip: process.platform !== 'win32',
          tagLibc: process.platform === 'linux',
          name: 'cdx_native.napi', // the napi tag: node-gyp-build then takes it for any runtime's ABI
          targets: [process.versions.node],
          cache: join(os.tmpdir(), 'cdx-prebuildify'),
          ...(existsSync(gyp) ? { nodeGyp: gyp } : {}),
        },
        (err) => (err ? fail(err) : ok()),
      ),
    );
    const built = join(work, 'prebuilds', tuple);
    const files = readdirSync(built);
    if (!files.some((f) => f.endsWith('.node'))) throw new Error(`prebuildify made no .node in ${built}`);
    rmSync(prebuildDir, { recursive: true, force: true });
    mkdirSync(prebuildDir, { recursive: true });
    for (const f of files) copyFileSync(join(built, f), join(prebuildDir, f));
    console.log(`cdx prebuild: ${files.map((f) => join('prebuilds', tuple, f)).join(', ')}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    console.error(`cdx prebuild: ${e instanceof Error ? e.message : e}`);
    process.exit(1);
  });
}
