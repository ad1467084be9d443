// The engine choosing better-sqlite3's binary (sqlite-binding.ts): under Node the default, under a
// simulated Electron ABI the Electron copy in native/electron/<platform>-<arch>-abi<modules>/, a
// clear E_NATIVE_MISSING naming `npm run build:electron-sqlite` where that copy is missing, the
// packaged app's fallback, and the env override. Real files in a temp folder (no fs fakes); the
// chosen path is then really loaded through better-sqlite3's nativeBinding option.
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { CdxError } from '../../shared/errors';
import { Catalog } from './catalog';
import { chooseSqliteBinding, electronSqliteDir, sqliteOptions, type SqliteBindingContext } from './sqlite-binding';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'cdx-sqlite-binding-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Node's own better-sqlite3 binary (what npm built). */
const nodeCopy = join(dirname(createRequire(import.meta.url).resolve('better-sqlite3/package.json')), 'build', 'Release', 'better_sqlite3.node');

function ctx(over: Partial<SqliteBindingContext>): SqliteBindingContext {
  return { versions: { node: '20.20.2', modules: '115' }, platform: 'linux', arch: 'x64', env: {}, roots: [], packaged: false, exists: existsSync, ...over };
}

/** An app root holding a better_sqlite3.node for the given Electron ABI (Node's binary, copied). */
function appWithCopy(name: string, modules: string, platform = process.platform, arch = process.arch): { root: string; file: string } {
  const r = join(dir, name);
  const file = join(r, electronSqliteDir(platform, arch, modules), 'better_sqlite3.node');
  mkdirSync(dirname(file), { recursive: true });
  copyFileSync(nodeCopy, file);
  return { root: r, file };
}

describe('chooseSqliteBinding', () => {
  it('under Node: better-sqlite3\'s default (no nativeBinding), even where an Electron copy exists', () => {
    const app = appWithCopy('node-app', '140');
    expect(chooseSqliteBinding(ctx({ roots: [app.root] }))).toBeUndefined();
    expect(sqliteOptions({ readonly: true })).toEqual({ readonly: true }); // this process is Node
  });

  it('under a simulated Electron ABI: the copy built for exactly that ABI, platform and arch', () => {
    const a = appWithCopy('electron-app', '140', 'linux', 'x64');
    appWithCopy('electron-app', '139', 'linux', 'x64'); // an older Electron's copy beside it
    const got = chooseSqliteBinding(ctx({ versions: { electron: '45.4.1', modules: '140' }, roots: [join(dir, 'nowhere'), a.root] }));
    expect(got).toBe(a.file);
    expect(got).toBe(join(a.root, 'native', 'electron', 'linux-x64-abi140', 'better_sqlite3.node'));
    // another arch's Electron (a cross build) does not take the x64 copy
    expect(() => chooseSqliteBinding(ctx({ versions: { electron: '45.4.1', modules: '140' }, arch: 'arm64', roots: [a.root] }))).toThrow(/linux-arm64/);
  });

  it('missing Electron copy from a checkout: E_NATIVE_MISSING naming what to run and every path tried', () => {
    const a = appWithCopy('stale-app', '139'); // built for an older Electron only
    let err: unknown;
    try {
      chooseSqliteBinding(ctx({ versions: { electron: '45.4.1', modules: '140' }, platform: process.platform, arch: process.arch, roots: [a.root] }));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CdxError);
    const e = err as CdxError;
    expect(e.code).toBe('E_NATIVE_MISSING');
    expect(e.message).toContain('Electron 45.4.1 (ABI 140');
    expect(e.message).toContain('npm run build:electron-sqlite');
    expect(e.message).toContain('npm start -- --web');
    expect(e.message).toContain(join(a.root, electronSqliteDir(process.platform, process.arch, '140'), 'better_sqlite3.node'));
  });

  it('packaged app: the unpacked copy when shipped, else a clear error (never Node\'s copy)', () => {
    const rp = join(dir, 'resources');
    const unpacked = appWithCopy(join('resources', 'app.asar.unpacked'), '140', 'linux', 'x64');
    const electron = { versions: { electron: '45.4.1', modules: '140' }, packaged: true } as const;
    expect(chooseSqliteBinding(ctx({ ...electron, roots: [join(rp, 'app.asar'), unpacked.root, rp] }))).toBe(unpacked.file);
    expect(() => chooseSqliteBinding(ctx({ ...electron, roots: [join(rp, 'app.asar'), rp] }))).toThrow(/installation .* lacks better-sqlite3 built for its Electron 45\.4\.1/);
  });

  it('CDX_SQLITE_BINDING wins in Node and Electron; a missing one is a clear error, not a silent default', () => {
    const a = appWithCopy('override', '140');
    const override = join(dir, 'override', 'custom.node');
    copyFileSync(nodeCopy, override);
    expect(chooseSqliteBinding(ctx({ env: { CDX_SQLITE_BINDING: override } }))).toBe(override);
    expect(chooseSqliteBinding(ctx({ versions: { electron: '45.4.1', modules: '140' }, env: { CDX_SQLITE_BINDING: override }, roots: [a.root] }))).toBe(override);
    expect(() => chooseSqliteBinding(ctx({ env: { CDX_SQLITE_BINDING: join(dir, 'no.node') } }))).toThrow(expect.objectContaining({ code: 'E_NATIVE_MISSING', message: expect.stringContaining('CDX_SQLITE_BINDING') }));
  });
});

describe('the chosen binary really loads', () => {
  it('a copy under native/electron/<tuple>-abi<this ABI> opens a database through nativeBinding', () => {
    // this process's own ABI stands in for Electron's: the copy must load and answer SQL
    const a = appWithCopy('real-load', process.versions.modules);
    const p = chooseSqliteBinding(ctx({ versions: { electron: '45.4.1', modules: process.versions.modules }, platform: process.platform, arch: process.arch, roots: [a.root] }))!;
    expect(p).toBe(a.file);
    const db = new Database(':memory:', { nativeBinding: p });
    try {
      expect(db.prepare('select 6 * 7 as x, sqlite_version() as v').get()).toMatchObject({ x: 42, v: expect.stringMatching(/^3\./) });
    } finally {
      db.close();
    }
  });

  it('the catalog passes it: with CDX_SQLITE_BINDING at a missing file the catalog refuses with that error; at a real copy it opens', () => {
    const home = join(dir, 'home');
    const probe = (binding: string) =>
      spawnSync(process.execPath, [join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'), '-e', `
        import('${join(root, 'main', 'engine', 'catalog.ts').replace(/\\/g, '/')}').then(({ Catalog }) => {
          try { const c = new Catalog(${JSON.stringify(home)}); c.db.close(); console.log('OK'); }
          catch (e) { console.log(e.code + ' ' + e.message.split('\\n')[0]); }
        });`], { env: { ...process.env, CDX_SQLITE_BINDING: binding }, encoding: 'utf8', timeout: 60_000 });
    const missing = probe(join(dir, 'missing.node'));
    expect(missing.stdout.trim(), missing.stderr).toMatch(/^E_NATIVE_MISSING CDX_SQLITE_BINDING names .*missing\.node/);
    const copy = join(dir, 'catalog-copy.node');
    copyFileSync(nodeCopy, copy);
    const ok = probe(copy);
    expect(ok.stdout.trim(), ok.stderr).toBe('OK');
    // and in this (Node) process, the default path still opens a catalog
    const c = new Catalog(join(dir, 'home2'));
    expect(c.db.pragma('journal_mode', { simple: true })).toBe('wal');
    c.db.close();
  });
});

describe('scripts/build-electron-sqlite.mjs', () => {
  it('writes where the engine looks (the same native/electron/<platform>-<arch>-abi<modules> folder)', () => {
    const r = spawnSync(process.execPath, [join(root, 'scripts', 'build-electron-sqlite.mjs'), '--dry-run', '--electron-version', '45.4.1', '--modules', '140', '--out', join(dir, 'out-root')], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(join(dir, 'out-root', electronSqliteDir(process.platform, process.arch, '140'), 'better_sqlite3.node'));
  });

  it('without an Electron binary: one line saying so; exit 0 under --if-possible (postinstall carries on), 1 when asked directly', () => {
    const env = { ...process.env, ELECTRON_OVERRIDE_DIST_PATH: join(dir, 'no-electron-dist') };
    const soft = spawnSync(process.execPath, [join(root, 'scripts', 'build-electron-sqlite.mjs'), '--if-possible'], { env, encoding: 'utf8' });
    expect(soft.status).toBe(0);
    const lines = soft.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^cdx build:electron-sqlite: skipped: (no Electron binary|the electron package is not installed)/);
    const hard = spawnSync(process.execPath, [join(root, 'scripts', 'build-electron-sqlite.mjs')], { env, encoding: 'utf8' });
    expect(hard.status).toBe(1);
  });
});
