/**
 * The installers' configuration (electron-builder.yml, scripts/after-pack.cjs, build/), checked
 * here where no Electron binary can be had:
 *  - the configuration as electron-builder itself loads and validates it (its own loader and JSON
 *    schema, offline), the Electron version it resolves, the targets, the file associations
 *    (against main/app/desktop.ts), the icons and entitlements it names;
 *  - asarUnpack against every .node / .wasm file of the runtime dependencies (walked on disk);
 *  - the fuses as a pure function, and the after-pack checks on real and crafted binaries;
 *  - a real `electron-builder --linux dir` run on a copy of the project with a stand-in Electron
 *    (a file carrying Electron's fuse wire): the app.asar it writes (what ships, what does not,
 *    what is unpacked), the sample beside it, and the fuses the afterPack hook flipped.
 * What only a real machine shows (installers built, signed, started; the e2e test in Electron) is
 * the release workflow's job (.github/workflows/release.yml).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FILE_ASSOCIATION_EXTENSIONS } from '../main/app/desktop';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
// electron-builder's own modules (CommonJS, internal paths: the loader and schema it uses itself)
const builderRequire = createRequire(require.resolve('app-builder-lib'));
const { getConfig, validateConfiguration } = builderRequire('./util/config/config.js');
const { getElectronVersion } = builderRequire('./electron/electronVersion.js');
const { DebugLogger } = builderRequire('builder-util');
const { minimatch } = builderRequire('minimatch') as { minimatch: (p: string, pattern: string, o?: object) => boolean };
const asar = require('@electron/asar') as { listPackage(a: string, o: object): string[]; statFile(a: string, f: string): { unpacked?: boolean } };
const fuses = require('@electron/fuses') as { FuseV1Options: Record<string, number | string>; FuseVersion: { V1: string }; getCurrentFuseWire(p: string): Promise<Record<string, unknown>> };
const afterPack = require('./after-pack.cjs');

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- electron-builder's Configuration, as loaded from YAML
type Config = any;
let config: Config;

beforeAll(async () => {
  config = await getConfig(root, path.join(root, 'electron-builder.yml'), null);
});

const FUSE_ON = 0x31; // '1'
const FUSE_OFF = 0x30; // '0'

describe('electron-builder.yml as electron-builder reads it', () => {
  it('passes electron-builder\'s own schema validation, which does reject a wrong key', async () => {
    await expect(validateConfiguration(structuredClone(config), new DebugLogger(false))).resolves.toBeUndefined();
    await expect(validateConfiguration({ ...structuredClone(config), nsis: { perUser: true } }, new DebugLogger(false))).rejects.toThrow(/configuration\.nsis/);
  });

  it('packages the installed Electron (electronVersion left to electron-builder, which reads node_modules/electron)', async () => {
    expect(config.electronVersion).toBeUndefined();
    const installed = JSON.parse(readFileSync(path.join(root, 'node_modules', 'electron', 'package.json'), 'utf8')).version;
    expect(await getElectronVersion(root)).toBe(installed);
  });

  it('names the product and requests every installer: AppImage + deb, dmg arm64 + x64, per-user NSIS', () => {
    expect(config.productName).toBe('Continuum Data Explorer');
    expect(config.appId).toMatch(/^[a-z0-9.-]+$/);
    expect(config.linux.target).toEqual(['AppImage', 'deb']);
    expect(config.linux.category.split(';')).toContain('Science');
    expect(config.mac.target).toEqual([{ target: 'dmg', arch: ['arm64', 'x64'] }]);
    expect(config.win.target).toEqual([{ target: 'nsis', arch: ['x64'] }]);
    expect(config.nsis).toMatchObject({ oneClick: true, perMachine: false, allowElevation: false });
    expect(config.publish).toBeNull();
    expect(config.npmRebuild).toBe(false);
    expect(config.afterPack).toBe('scripts/after-pack.cjs');
    expect(existsSync(path.join(root, config.afterPack))).toBe(true);
    expect(config.deb.depends).toContain('libgomp1');
  });

  it('associates exactly the file types of main/app/desktop.ts, one extension per entry, each with a name, description and MIME type', () => {
    const assoc = config.fileAssociations as { ext: unknown; name?: string; description?: string; mimeType?: string; role?: string }[];
    expect(assoc.map((a) => a.ext)).toEqual([...FILE_ASSOCIATION_EXTENSIONS]);
    for (const a of assoc) {
      // electron-builder writes `*.${ext}` into the Linux MIME package: an array would become "*.h5,hdf5"
      expect(typeof a.ext).toBe('string');
      expect(a.name && a.description && a.mimeType, String(a.ext)).toBeTruthy();
      expect(a.mimeType).toMatch(/^[a-z]+\/[a-z0-9.+-]+$/);
      expect(a.role).toBe('Viewer');
    }
    expect([...new Set(config.linux.mimeTypes)].sort()).toEqual([...new Set(assoc.map((a) => a.mimeType))].sort());
  });

  it('has the icons and entitlements it names, and they are what their names say', () => {
    const png = (p: string) => {
      const b = readFileSync(path.join(root, p));
      expect(b.subarray(1, 4).toString('latin1'), p).toBe('PNG');
      return [b.readUInt32BE(16), b.readUInt32BE(20)];
    };
    expect(png('build/icon.png')).toEqual([1024, 1024]);
    const linuxIcons = readdirSync(path.join(root, config.linux.icon));
    expect(linuxIcons).toEqual(expect.arrayContaining(['16x16.png', '32x32.png', '48x48.png', '128x128.png', '256x256.png', '512x512.png']));
    for (const f of linuxIcons) {
      const n = Number(f.split('x')[0]);
      expect(png(path.join(config.linux.icon, f))).toEqual([n, n]);
    }
    const ico = readFileSync(path.join(root, config.win.icon));
    expect([ico.readUInt16LE(0), ico.readUInt16LE(2)]).toEqual([0, 1]);
    const sizes = Array.from({ length: ico.readUInt16LE(4) }, (_, i) => ico[6 + 16 * i] || 256);
    expect(sizes).toContain(256);
    const icns = readFileSync(path.join(root, config.mac.icon));
    expect(icns.subarray(0, 4).toString('latin1')).toBe('icns');
    expect(icns.readUInt32BE(4)).toBe(icns.length);
    expect(icns.includes(Buffer.from('ic10'))).toBe(true); // the 1024 px (512@2x) image
    const plist = readFileSync(path.join(root, config.mac.entitlements), 'utf8');
    expect(config.mac.hardenedRuntime).toBe(true);
    expect(config.mac.entitlementsInherit).toBe(config.mac.entitlements);
    for (const k of ['com.apple.security.cs.allow-jit', 'com.apple.security.cs.allow-unsigned-executable-memory', 'com.apple.security.cs.disable-library-validation']) {
      expect(plist).toMatch(new RegExp(`<key>${k.replace(/\./g, '\\.')}</key>\\s*<true/>`));
    }
  });
});

/** Every package the app needs at run time: package.json dependencies, transitively, as installed. */
function runtimePackages(): Map<string, string> {
  const out = new Map<string, string>(); // dir → name
  const visit = (name: string, from: string, optional: boolean) => {
    let dir: string | null = null;
    for (let d = from; ; d = path.dirname(d)) {
      const cand = path.join(d, 'node_modules', name);
      if (existsSync(path.join(cand, 'package.json'))) {
        dir = cand;
        break;
      }
      if (d === root || path.dirname(d) === d) break;
    }
    if (!dir) {
      if (optional) return; // an optional dependency for another platform
      throw new Error(`runtime dependency ${name} (needed from ${from}) is not installed`);
    }
    if (out.has(dir)) return;
    out.set(dir, name);
    const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
    for (const d of Object.keys(pkg.dependencies ?? {})) visit(d, dir, false);
    for (const d of Object.keys(pkg.optionalDependencies ?? {})) visit(d, dir, true);
  };
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  for (const d of Object.keys(pkg.dependencies)) visit(d, root, false);
  for (const d of Object.keys(pkg.optionalDependencies ?? {})) visit(d, root, true);
  return out;
}

function walkFiles(dir: string, skipNodeModules: boolean, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (!(skipNodeModules && e.name === 'node_modules')) walkFiles(p, skipNodeModules, out);
    } else if (e.isFile()) out.push(p);
  }
  return out;
}

/** Does a path relative to the app folder match the patterns as electron-builder matches them (minimatch, dot, last match wins)? */
function matches(rel: string, patterns: string[]): boolean {
  let m = false;
  for (const p of patterns) {
    if (p.startsWith('!')) {
      if (m && minimatch(rel, p.slice(1), { dot: true })) m = false;
    } else if (!m && minimatch(rel, p, { dot: true })) m = true;
  }
  return m;
}

describe('what is unpacked from the asar', () => {
  it('covers every .node and .wasm file of the runtime dependencies, and of our own native folders', () => {
    const filesFilters: string[] = config.files.flatMap((f: { filter?: string[] }) => f.filter ?? []);
    const nodeModuleExcludes = filesFilters.filter((p) => p.startsWith('!'));
    const found: string[] = [];
    for (const dir of runtimePackages().keys()) {
      for (const f of walkFiles(dir, true)) {
        if (!/\.(node|wasm)$/.test(f)) continue;
        const rel = path.relative(root, f).split(path.sep).join('/');
        // what the files' "!" patterns drop never ships (better-sqlite3's test_extension.node)
        if (matches(rel, ['**/*', ...nodeModuleExcludes])) found.push(rel);
      }
    }
    // the ones we know must be there (this machine: linux-x64), so the walk cannot pass empty-handed
    expect(found).toEqual(expect.arrayContaining(['node_modules/better-sqlite3/build/Release/better_sqlite3.node', 'node_modules/parquet-wasm/node/parquet_wasm_bg.wasm']));
    expect(found.some((f) => f.includes('lz4-napi'))).toBe(true);
    expect(found.some((f) => f.includes('keyring'))).toBe(true);
    const ours = ['native/build/Release/cdx_native.node', 'native/prebuilds/linux-x64/continuum-data-explorer.node', 'prebuilds/darwin-arm64/node.napi.node', 'native/electron/linux-x64-abi140/better_sqlite3.node', 'native/electron/win32-x64-abi140/build.json'];
    const notUnpacked = [...found, ...ours].filter((f) => !matches(f, config.asarUnpack));
    expect(notUnpacked).toEqual([]);
    // and our own files are in `files` at all
    for (const f of ours.filter((f) => f.endsWith('.node'))) expect(matches(f, filesFilters), f).toBe(true);
  });

  it('ships no tests, end-to-end tests, benchmarks, C++ sources or docs', () => {
    const filesFilters: string[] = config.files.flatMap((f: { filter?: string[] }) => f.filter ?? []);
    for (const p of filesFilters.filter((p) => !p.startsWith('!'))) expect(p, p).not.toMatch(/^(e2e|bench|docs|native\/src|main|shared|renderer)(\/|$)|test/);
    for (const f of ['e2e/app.spec.ts', 'bench/run.ts', 'native/src/parquet_write.cc', 'docs/x.md', 'out/main/x.test.js', 'native/testing/fixtures.ts', 'main/engine/index.ts', 'resources/sample/trips.arrow']) {
      expect(matches(f, filesFilters), f).toBe(false);
    }
    for (const f of ['out/main/app.js', 'out/renderer/index.html', 'out/preload/index.cjs', 'package.json', 'native/build/Release/cdx_native.node']) expect(matches(f, filesFilters), f).toBe(true);
  });
});

describe('.github/workflows/release.yml', () => {
  it('builds on Linux, macOS arm64 and x64, and Windows: install, the whole test suite (xvfb on Linux), installers kept as artifacts', () => {
    const yaml = builderRequire('js-yaml') as { load(s: string): any };
    const wf = yaml.load(readFileSync(path.join(root, '.github', 'workflows', 'release.yml'), 'utf8'));
    const job = wf.jobs.installers;
    expect(job.strategy.matrix.include.map((m: { os: string; dist: string }) => [m.os, m.dist])).toEqual([
      ['ubuntu-latest', '--linux --x64'],
      ['macos-latest', '--mac --arm64'],
      ['macos-13', '--mac --x64'],
      ['windows-latest', '--win --x64'],
    ]);
    expect(job.env.CDX_ZSTD_STATIC).toBe('1');
    const runs: string[] = job.steps.map((s: { run?: string; uses?: string }) => s.run ?? s.uses);
    const at = (re: RegExp) => runs.findIndex((r) => re.test(r));
    expect(at(/^npm ci$/)).toBeGreaterThan(at(/apt-get install -y libzstd-dev xvfb/));
    expect(at(/^xvfb-run -a npm test$/)).toBeGreaterThan(at(/^npm ci$/));
    expect(at(/^npm run dist -- \$\{\{ matrix\.dist \}\}$/)).toBeGreaterThan(at(/^xvfb-run -a npm test$/));
    const upload = job.steps.find((s: { uses?: string }) => s.uses?.startsWith('actions/upload-artifact'));
    const globs = upload.with.path.trim().split('\n');
    // one glob per installer the configuration asks for
    expect(globs).toEqual(['dist/*.AppImage', 'dist/*.deb', 'dist/*.dmg', 'dist/*.exe']);
  });
});

describe('scripts/after-pack.cjs', () => {
  it('sets exactly the six fuses: RunAsNode, NODE_OPTIONS and inspect off; cookie encryption, asar-only and asar integrity on', () => {
    const O = fuses.FuseV1Options as unknown as Record<string, number>;
    const c = afterPack.fuseConfig(fuses, 'linux', 1);
    const wire = Object.fromEntries(Object.entries(c).filter(([k]) => /^\d+$/.test(k)).map(([k, v]) => [fuses.FuseV1Options[k], v]));
    expect(wire).toEqual({
      RunAsNode: false,
      EnableNodeOptionsEnvironmentVariable: false,
      EnableNodeCliInspectArguments: false,
      EnableCookieEncryption: true,
      OnlyLoadAppFromAsar: true,
      EnableEmbeddedAsarIntegrityValidation: true,
    });
    expect(c.version).toBe(fuses.FuseVersion.V1);
    expect(c[O.RunAsNode]).toBe(false);
    // the ad-hoc signature is redone only where it exists: Apple silicon
    expect(afterPack.fuseConfig(fuses, 'darwin', 3).resetAdHocDarwinSignature).toBe(true);
    expect(afterPack.fuseConfig(fuses, 'darwin', 1).resetAdHocDarwinSignature).toBe(false);
    expect(afterPack.fuseConfig(fuses, 'win32', 1).resetAdHocDarwinSignature).toBe(false);
  });

  it('finds the packaged binary the way electron-builder names it on each platform', () => {
    const packager = { executableName: 'continuum-data-explorer', appInfo: { productFilename: 'Continuum Data Explorer' } };
    expect(afterPack.electronBinaryPath({ electronPlatformName: 'linux', appOutDir: '/o', packager })).toBe(path.join('/o', 'continuum-data-explorer'));
    expect(afterPack.electronBinaryPath({ electronPlatformName: 'win32', appOutDir: '/o', packager })).toBe(path.join('/o', 'Continuum Data Explorer.exe'));
    expect(afterPack.electronBinaryPath({ electronPlatformName: 'darwin', appOutDir: '/o', packager })).toBe(path.join('/o', 'Continuum Data Explorer.app'));
    expect(() => afterPack.electronBinaryPath({ electronPlatformName: 'beos', appOutDir: '/o', packager })).toThrow(/unknown platform/);
  });

  it('reads the platform and architecture of a binary from its header', () => {
    expect(afterPack.binaryTarget(readFileSync(path.join(root, 'native', 'build', 'Release', 'cdx_native.node')))).toEqual({ platform: process.platform, arch: process.arch });
    const macho = Buffer.alloc(32);
    macho.writeUInt32LE(0xfeedfacf, 0);
    macho.writeUInt32LE(0x0100000c, 4);
    expect(afterPack.binaryTarget(macho)).toEqual({ platform: 'darwin', arch: 'arm64' });
    const fat = Buffer.alloc(64);
    fat.writeUInt32BE(0xcafebabe, 0);
    fat.writeUInt32BE(2, 4);
    fat.writeUInt32BE(0x01000007, 8);
    fat.writeUInt32BE(0x0100000c, 28);
    expect(afterPack.binaryTarget(fat)).toEqual({ platform: 'darwin', arch: 'universal', archs: ['x64', 'arm64'] });
    const pe = Buffer.alloc(0x100);
    pe.writeUInt16LE(0x5a4d, 0);
    pe.writeUInt32LE(0x80, 0x3c);
    pe.writeUInt32LE(0x4550, 0x80);
    pe.writeUInt16LE(0x8664, 0x84);
    expect(afterPack.binaryTarget(pe)).toEqual({ platform: 'win32', arch: 'x64' });
    expect(afterPack.binaryTarget(Buffer.from('not a binary at all, just text'))).toBeNull();
  });

  it('refuses a package without the native engine or the Electron better-sqlite3, or with an addon for another machine', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cdx-unpacked-'));
    try {
      expect(afterPack.checkUnpacked(dir, 'linux', 'x64')).toEqual([
        expect.stringMatching(/native engine .*cdx_native\.node.*npm run build:native/),
        expect.stringMatching(/better-sqlite3 for Electron \(native\/electron\/linux-x64-abi<N>.*build:electron-sqlite/),
      ]);
      const native = path.join(root, 'native', 'build', 'Release', 'cdx_native.node');
      mkdirSync(path.join(dir, 'native', 'build', 'Release'), { recursive: true });
      copyFileSync(native, path.join(dir, 'native', 'build', 'Release', 'cdx_native.node'));
      mkdirSync(path.join(dir, 'native', 'electron', 'linux-x64-abi140'), { recursive: true });
      copyFileSync(native, path.join(dir, 'native', 'electron', 'linux-x64-abi140', 'better_sqlite3.node'));
      expect(afterPack.checkUnpacked(dir, 'linux', 'x64')).toEqual([]);
      // the same files in a package for Apple silicon: every addon is for the wrong machine, the sqlite copy is missing
      const mac = afterPack.checkUnpacked(dir, 'darwin', 'arm64');
      expect(mac).toContain('native/build/Release/cdx_native.node is built for linux-x64, the package for darwin-arm64');
      expect(mac.some((p: string) => p.includes('native/electron/darwin-arm64-abi'))).toBe(true);
      writeFileSync(path.join(dir, 'native', 'build', 'Release', 'cdx_native.node'), 'text');
      expect(afterPack.checkUnpacked(dir, 'linux', 'x64')).toEqual(['native/build/Release/cdx_native.node is not a native binary']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------------------------------------
// A real electron-builder run (the `dir` target: everything an installer holds, without the
// installer's wrapping) on a copy of the project, with a stand-in for the Electron distribution:
// the real one is a download this machine cannot make.

const built = existsSync(path.join(root, 'out', 'main', 'app.js')) && existsSync(path.join(root, 'native', 'build', 'Release', 'cdx_native.node'));
if (!built) console.warn('dist-config: the packaging run is skipped: build the app first (npm run build:native && npm run build)');

describe.skipIf(!built)('electron-builder --linux dir, with a stand-in Electron', () => {
  let tmp: string;
  let appOut: string;
  let log = '';
  // the wire of an unmodified Electron 45 (fuses 0-7): RunAsNode, cookie encryption off, NODE_OPTIONS,
  // inspect on, asar integrity and asar-only off, browser V8 snapshot off, file:// privileges on
  const STOCK_WIRE = '10110001';

  beforeAll(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'cdx-dist-'));
    const proj = path.join(tmp, 'proj');
    mkdirSync(path.join(proj, 'scripts'), { recursive: true });
    for (const f of ['package.json', 'package-lock.json', 'electron-builder.yml']) copyFileSync(path.join(root, f), path.join(proj, f));
    copyFileSync(path.join(root, 'scripts', 'after-pack.cjs'), path.join(proj, 'scripts', 'after-pack.cjs'));
    for (const d of ['out', 'build', 'resources']) cpSync(path.join(root, d), path.join(proj, d), { recursive: true });
    mkdirSync(path.join(proj, 'native', 'build', 'Release'), { recursive: true });
    copyFileSync(path.join(root, 'native', 'build', 'Release', 'cdx_native.node'), path.join(proj, 'native', 'build', 'Release', 'cdx_native.node'));
    // the Electron build of better-sqlite3 (its Node build stands in: only its place is checked here)
    const sqliteDir = path.join(proj, 'native', 'electron', `${process.platform}-${process.arch}-abi140`);
    mkdirSync(sqliteDir, { recursive: true });
    copyFileSync(path.join(root, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node'), path.join(sqliteDir, 'better_sqlite3.node'));
    symlinkSync(path.join(root, 'node_modules'), path.join(proj, 'node_modules'), 'dir');
    // the stand-in Electron: an executable holding the fuse sentinel and a stock wire
    const dist = path.join(tmp, 'electron-dist');
    mkdirSync(dist);
    writeFileSync(path.join(dist, 'electron'), Buffer.concat([Buffer.from('#!/bin/false\n'), Buffer.from('dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX'), Buffer.from([1, STOCK_WIRE.length]), Buffer.from(STOCK_WIRE)]), { mode: 0o755 });
    writeFileSync(path.join(dist, 'version'), JSON.parse(readFileSync(path.join(root, 'node_modules', 'electron', 'package.json'), 'utf8')).version);
    writeFileSync(path.join(dist, 'LICENSE'), '');
    const outDir = path.join(tmp, 'dist');
    const r = spawnSync(process.execPath, [require.resolve('electron-builder/cli.js'), '--linux', 'dir', `--${process.arch}`, `-c.electronDist=${dist}`, `-c.directories.output=${outDir}`], {
      cwd: proj,
      encoding: 'utf8',
      timeout: 240_000,
    });
    log = `${r.stdout}\n${r.stderr}`;
    if (r.status !== 0) throw new Error(`electron-builder failed (exit ${r.status}):\n${log.slice(-4000)}`);
    appOut = path.join(outDir, process.arch === 'x64' ? 'linux-unpacked' : `linux-${process.arch}-unpacked`);
  }, 300_000);

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it.runIf(process.platform === 'linux')('writes an app.asar with the built app and none of the tests, sources or benchmarks', () => {
    const archive = path.join(appOut, 'resources', 'app.asar');
    const files = asar.listPackage(archive, { isPack: false }).map((f) => f.split(path.sep).join('/').replace(/^\//, ''));
    for (const f of ['package.json', 'out/main/app.js', 'out/main/engine.js', 'out/main/blocking-worker.js', 'out/main/cli.js', 'out/preload/index.cjs', 'out/renderer/index.html', 'native/build/Release/cdx_native.node']) {
      expect(files, f).toContain(f);
    }
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
    expect(files).toContain(pkg.main);
    for (const dep of Object.keys(pkg.dependencies)) expect(files, dep).toContain(`node_modules/${dep}/package.json`);
    const own = files.filter((f) => !f.startsWith('node_modules/'));
    expect(own.filter((f) => /^(e2e|bench|docs|main|shared|renderer|native\/src)\//.test(f) || /\.(test|spec)\.|(^|\/)testing\//.test(f) || f === 'electron-builder.yml')).toEqual([]);
    expect(own.filter((f) => f.startsWith('resources/sample'))).toEqual([]);
    expect(files.filter((f) => /node_modules\/[^/]+\/(test|tests|__tests__)\//.test(f) || f.includes('better-sqlite3/deps/') || f.includes('better-sqlite3/src/'))).toEqual([]);
    // every addon and WebAssembly module inside is marked unpacked, and is there on disk
    const binaries = files.filter((f) => /\.(node|wasm)$/.test(f));
    // (which others are there depends on what this checkout has built: prebuilds/, native/electron/)
    expect(binaries).toContain('native/build/Release/cdx_native.node');
    expect(binaries.some((f) => /better-sqlite3\/.*\.node$/.test(f)), 'better-sqlite3').toBe(true);
    expect(binaries.some((f) => f.endsWith('.wasm')), 'a WebAssembly module').toBe(true);
    for (const f of binaries) {
      expect(asar.statFile(archive, f).unpacked, f).toBe(true);
      expect(existsSync(path.join(appOut, 'resources', 'app.asar.unpacked', f)), f).toBe(true);
    }
  });

  it.runIf(process.platform === 'linux')('puts the sample dataset beside the asar, where the engine can map it', () => {
    const sample = path.join(appOut, 'resources', 'sample', 'trips.arrow');
    expect(readFileSync(sample).equals(readFileSync(path.join(root, 'resources', 'sample', 'trips.arrow')))).toBe(true);
  });

  it.runIf(process.platform === 'linux')('runs the afterPack hook, which flips the fuses of the packaged binary', async () => {
    expect(log).toContain('after-pack: fuses set on');
    const wire = await fuses.getCurrentFuseWire(path.join(appOut, 'continuum-data-explorer'));
    const O = fuses.FuseV1Options as unknown as Record<string, number>;
    expect(wire[O.RunAsNode]).toBe(FUSE_OFF);
    expect(wire[O.EnableNodeOptionsEnvironmentVariable]).toBe(FUSE_OFF);
    expect(wire[O.EnableNodeCliInspectArguments]).toBe(FUSE_OFF);
    expect(wire[O.EnableCookieEncryption]).toBe(FUSE_ON);
    expect(wire[O.OnlyLoadAppFromAsar]).toBe(FUSE_ON);
    expect(wire[O.EnableEmbeddedAsarIntegrityValidation]).toBe(FUSE_ON);
    // the fuses the hook does not own keep Electron's stock values
    expect(wire[O.LoadBrowserProcessSpecificV8Snapshot]).toBe(STOCK_WIRE.charCodeAt(6));
    expect(wire[O.GrantFileProtocolExtraPrivileges]).toBe(STOCK_WIRE.charCodeAt(7));
  });

  it('runs `electron-builder --help` offline', () => {
    const r = spawnSync(process.execPath, [require.resolve('electron-builder/cli.js'), '--help'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/--linux/);
  });
});
