// The installable package (issue 13): `npm pack` (its prepack prebuilds the addon with prebuildify),
// the tarball installed into an empty prefix from the local npm cache (`--offline`, else
// `--prefer-offline`: the registry only for what the cache lacks), and `cdx` run
// from there, outside any checkout, with its own CDX_HOME: summary (checked against apache-arrow
// reading the same file), plot (a valid, non-uniform PNG) and serve (a URL whose token the server
// accepts, and a refusal without it). The installed package must load our addon from its
// prebuilds/ (CDX_NATIVE_DEBUG names the file loaded), carry no sources, tests, bench data or e2e
// artifacts, and need no devDependency. Skips, saying why, where the tarball cannot be installed
// (no registry cache for the dependencies). Slow (better-sqlite3 compiles during the install).
import { tableFromIPC } from 'apache-arrow';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string; devDependencies: Record<string, string> };
const sample = join(root, 'resources', 'sample', 'trips.arrow');
const tuple = `${process.platform}-${process.arch}`;
const dir = mkdtempSync(join(tmpdir(), 'cdx-pack-'));
const prefix = join(dir, 'prefix');
const work = join(dir, 'work'); // the working folder of every command: not a checkout
const home = join(dir, 'home');
mkdirSync(work);

let skip: string | undefined;
let files: { path: string; size: number }[] = [];
let tarSize = 0;
let unpackedSize = 0;
let installed = '';
let cdx = '';

/**
 * Builds of the shared checkout take its locks: prepack may rebuild out/ (the app build's lock) and
 * the prebuild (the native lock); better-sqlite3's compile during the install takes the native lock.
 */
function locked(locks: string[], cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeout: number }): SpawnSyncReturns<string> {
  const hasFlock = spawnSync('flock', ['--version'], { encoding: 'utf8' }).status === 0;
  let [c, a] = [cmd, args];
  if (hasFlock) for (const l of [...locks].reverse()) [c, a] = ['flock', [l, c, ...a]];
  return spawnSync(c, a, { ...opts, encoding: 'utf8', maxBuffer: 64 << 20 });
}

/** The environment of an installed cdx: nothing pointing back into the checkout. */
function userEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, CDX_HOME: home, CDX_NATIVE_DEBUG: '1', ...extra };
  for (const k of ['CDX_NATIVE_PATH', 'CDX_APP_ROOT', 'CDX_RESOURCES', 'CDX_SQLITE_BINDING', 'NODE_PATH']) delete env[k];
  for (const k of Object.keys(env)) if (k.startsWith('npm_') || k.startsWith('VITEST')) delete env[k];
  return env;
}

beforeAll(() => {
  const packed = locked(['/tmp/cdx-build.lock', '/tmp/cdx-native.lock'], 'npm', ['pack', '--json', '--pack-destination', dir], { cwd: root, timeout: 240_000 });
  if (packed.status !== 0) throw new Error(`npm pack failed:\n${packed.stderr}`);
  const info = (JSON.parse(packed.stdout) as { filename: string; size: number; unpackedSize: number; files: { path: string; size: number }[] }[])[0]!;
  files = info.files;
  tarSize = info.size;
  unpackedSize = info.unpackedSize;
  const tarball = join(dir, info.filename.replace(/^@.*\//, '').replace(/\//g, '-'));
  // the dependencies from the npm cache; where it lacks one's metadata, from the registry
  const install = (mode: string) =>
    locked(['/tmp/cdx-native.lock'], 'npm', ['install', '-g', '--prefix', prefix, tarball, mode, '--no-audit', '--no-fund', '--loglevel=error'], { cwd: work, timeout: 400_000, env: userEnv() });
  let inst = install('--offline');
  if (inst.status !== 0 && /ENOTCACHED/.test(inst.stderr)) inst = install('--prefer-offline');
  if (inst.status !== 0) {
    const err = `${inst.stderr}\n${inst.stdout}`;
    if (/ENOTCACHED|ENOTFOUND|EAI_AGAIN|offline/i.test(err)) {
      skip = `the tarball cannot be installed here (a dependency is neither in the npm cache nor reachable in the registry): ${err.split('\n').find((l) => /ENOTCACHED|ENOTFOUND|EAI_AGAIN|offline/i.test(l))}`;
      console.warn(`pack.test: skipped: ${skip}`);
      return;
    }
    throw new Error(`npm install of the tarball failed:\n${err}`);
  }
  const libDir = process.platform === 'win32' ? join(prefix, 'node_modules') : join(prefix, 'lib', 'node_modules');
  installed = join(libDir, pkg.name);
  cdx = process.platform === 'win32' ? join(prefix, 'cdx.cmd') : join(prefix, 'bin', 'cdx');
}, 600_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[], timeout = 120_000): SpawnSyncReturns<string> {
  return spawnSync(cdx, args, { cwd: work, env: userEnv(), encoding: 'utf8', timeout, shell: process.platform === 'win32' });
}

describe('npm pack', () => {
  it('ships the built app, the sample and our addon prebuilt for this platform, and nothing else of the checkout', () => {
    const paths = files.map((f) => f.path);
    for (const p of ['package.json', 'bin/cdx.mjs', 'out/main/cli.js', 'out/main/engine.js', 'out/main/blocking-worker.js', 'out/renderer/index.html', 'resources/sample/trips.arrow', 'scripts/postinstall.mjs']) {
      expect(paths, p).toContain(p);
    }
    const prebuilt = paths.filter((p) => p.startsWith(`prebuilds/${tuple}/`) && p.endsWith('.node'));
    expect(prebuilt.length, `prebuilds/${tuple}/*.node in ${paths.join(', ')}`).toBeGreaterThan(0);
    expect(prebuilt.every((p) => /\.napi\./.test(p))).toBe(true);
    const foreign = paths.filter((p) =>
      /\.test\.|(^|\/)(e2e|bench|test-results|playwright-report|node_modules)\/|^(main|renderer|shared|native)\/|\.gyp$|\.cc$|\.ts$|\.cdx-home/.test(p),
    );
    expect(foreign).toEqual([]);
    // the sample (about 5 MB) and the build are the bulk; a stray dataset or build tree would show
    expect(unpackedSize).toBeLessThan(16 << 20);
    expect(tarSize).toBeLessThan(10 << 20);
    console.log(`pack.test: ${files.length} files, tarball ${(tarSize / 1048576).toFixed(1)} MB, unpacked ${(unpackedSize / 1048576).toFixed(1)} MB`);
  });
});

describe('installed into an empty prefix', () => {
  it('has cdx on the prefix, no native sources or build folder, and none of the devDependencies', (ctx) => {
    if (skip) return ctx.skip(skip);
    expect(existsSync(cdx)).toBe(true);
    expect(existsSync(join(installed, 'native'))).toBe(false);
    expect(existsSync(join(installed, 'build'))).toBe(false);
    expect(readdirSync(join(installed, 'prebuilds', tuple)).some((f) => f.endsWith('.node'))).toBe(true);
    const nm = join(installed, 'node_modules');
    for (const dev of ['electron', 'vitest', '@duckdb/node-api', 'electron-builder', 'prebuildify', 'typescript']) {
      expect(existsSync(join(nm, dev)), `devDependency ${dev} installed`).toBe(false);
    }
    expect(Object.keys(pkg.devDependencies)).toContain('electron');
    const v = run(['--version']);
    expect(v.stdout.trim(), v.stderr).toBe(pkg.version);
  });

  it('cdx summary on the sample: its numbers are the file\'s (apache-arrow), computed by the prebuilt addon', (ctx) => {
    if (skip) return ctx.skip(skip);
    const r = run(['summary', sample, '--json', '--columns', 'pickup_lon,pickup_lat']);
    expect(r.status, r.stderr).toBe(0);
    // the engine process names the addon it loaded: the package's prebuild, not a build folder
    const loaded = /cdx native: loaded (.+)/.exec(r.stderr)?.[1]?.trim();
    expect(loaded, r.stderr).toBeDefined();
    expect(resolve(loaded!).startsWith(join(installed, 'prebuilds', tuple) + '/')).toBe(true);
    const got = JSON.parse(r.stdout) as { rows: number; columns: { name: string; count: number; min: number; max: number; mean: number }[] };
    const t = tableFromIPC(readFileSync(sample));
    expect(got.rows).toBe(t.numRows);
    for (const name of ['pickup_lon', 'pickup_lat']) {
      const col = t.getChild(name)!.toArray() as Float64Array;
      let min = Infinity, max = -Infinity, sum = 0;
      for (const x of col) { min = Math.min(min, x); max = Math.max(max, x); sum += x; }
      const c = got.columns.find((x) => x.name === name)!;
      expect(c.count).toBe(col.length);
      expect(c.min).toBe(min);
      expect(c.max).toBe(max);
      expect(c.mean).toBeCloseTo(sum / col.length, 9);
    }
  });

  it('cdx plot writes a valid, non-empty PNG of the sample', (ctx) => {
    if (skip) return ctx.skip(skip);
    const out = join(work, 'x.png');
    const r = run(['plot', sample, '--x', 'pickup_lon', '--y', 'pickup_lat', '--out', out, '--width', '320', '--height', '240']);
    expect(r.status, r.stderr).toBe(0);
    const png = readFileSync(out);
    expect(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
    // chunks: IHDR first, IDATs inflating to height rows of (1 filter byte + width * channels)
    let off = 8, width = 0, height = 0, channels = 0;
    const idat: Buffer[] = [];
    while (off < png.length) {
      const len = png.readUInt32BE(off), type = png.toString('latin1', off + 4, off + 8), body = png.subarray(off + 8, off + 8 + len);
      if (type === 'IHDR') {
        width = body.readUInt32BE(0); height = body.readUInt32BE(4);
        expect(body[8]).toBe(8); // bit depth
        channels = ({ 0: 1, 2: 3, 4: 2, 6: 4 } as Record<number, number>)[body[9]!]!;
      }
      if (type === 'IDAT') idat.push(body);
      off += 12 + len;
    }
    expect([width, height]).toEqual([320, 240]);
    const raw = inflateSync(Buffer.concat(idat));
    expect(raw.length).toBe(height * (1 + width * channels));
    // the filter bytes aside, the picture is not one colour: the trips are drawn
    const stride = 1 + width * channels;
    const firstPixel = raw.subarray(1, 1 + channels);
    let differing = 0;
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
      const p = raw.subarray(y * stride + 1 + x * channels, y * stride + 1 + (x + 1) * channels);
      if (!p.equals(firstPixel)) differing++;
    }
    // (with filter type 0 the bytes are the pixels; any other filter still makes them differ)
    expect(differing).toBeGreaterThan(100);
    expect(statSync(out).size).toBeGreaterThan(1000);
  });

  it('cdx serve --port 0 prints a URL that answers with the token, and refuses without it', async (ctx) => {
    if (skip) return ctx.skip(skip);
    const child = spawn(cdx, ['serve', '--port', '0'], { cwd: work, env: userEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    try {
      const url = await new Promise<string>((ok, fail) => {
        const t = setTimeout(() => fail(new Error(`no URL in 60 s:\n${out}`)), 60_000);
        child.stdout.on('data', () => {
          const m = /(http:\/\/127\.0\.0\.1:\d+\/\S*)/.exec(out);
          if (m) { clearTimeout(t); ok(m[1]!); }
        });
        child.on('exit', (code) => { clearTimeout(t); fail(new Error(`serve exited ${code}:\n${out}`)); });
      });
      const u = new URL(url);
      expect(u.search).toMatch(/token=/);
      const withToken = await fetch(url, { redirect: 'manual' });
      const page = withToken.status >= 300 && withToken.status < 400
        ? await fetch(new URL(withToken.headers.get('location')!, url), { headers: { cookie: (withToken.headers.get('set-cookie') ?? '').split(';')[0]! } })
        : withToken;
      expect(page.status).toBe(200);
      expect(await page.text()).toMatch(/<html/i);
      const without = await fetch(`${u.origin}/`, { redirect: 'manual' });
      expect([401, 403]).toContain(without.status);
    } finally {
      child.kill('SIGTERM');
    }
  }, 90_000);
});
