// `npm start`'s choice (scripts/start-plan.mjs): a window only where its engine can start; where
// better-sqlite3 has no Electron build and none can be made, web mode saying so and how to fix it.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without a declaration file
import { planStart } from './start-plan.mjs';

const electron = { path: '/opt/electron/electron' };

describe('planStart', () => {
  it('--web, no binary, no display: web mode with the reason, before looking at better-sqlite3', () => {
    expect(planStart({ forceWeb: true, electron, display: true })).toEqual({ mode: 'web', reason: 'asked for (--web).' });
    expect(planStart({ forceWeb: false, electron: { error: 'ENOTFOUND github.com' }, display: true }).reason).toContain('ENOTFOUND github.com');
    expect(planStart({ forceWeb: false, electron, display: false }).reason).toMatch(/no display/);
  });

  it('binary and display: asks for the Electron copy of better-sqlite3 before opening a window', () => {
    expect(planStart({ forceWeb: false, electron, display: true })).toEqual({ mode: 'need-sqlite' });
    expect(planStart({ forceWeb: false, electron, display: true, sqlite: { ok: true, path: '/x/better_sqlite3.node' } })).toEqual({ mode: 'electron', binary: electron.path });
  });

  it('binary but no Electron-ABI better-sqlite3 (and it cannot be built): web mode, saying why and what to run', () => {
    const p = planStart({ forceWeb: false, electron, display: true, sqlite: { ok: false, why: 'could not build better-sqlite3 for Electron 45.4.1 (ENOTFOUND electronjs.org)' } });
    expect(p.mode).toBe('web');
    expect(p.reason).toContain('ENOTFOUND electronjs.org');
    expect(p.reason).toContain('npm run build:electron-sqlite');
  });
});

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dir = mkdtempSync(join(tmpdir(), 'cdx-start-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('npm start (scripts/start.mjs)', () => {
  it('with an Electron binary but no Electron-ABI better-sqlite3 (headers unreachable or no binary ABI copy): says so and serves web mode', async () => {
    // a stand-in Electron binary: Node itself (what ELECTRON_RUN_AS_NODE makes of Electron), so the
    // ABI asked of it is Node's and no copy for it exists under native/electron/ of the checkout
    const dist = join(dir, 'dist');
    mkdirSync(dist);
    writeFileSync(join(dist, 'electron'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} "$@"\n`);
    chmodSync(join(dist, 'electron'), 0o755);
    const abiCopy = join(root, 'native', 'electron', `${process.platform}-${process.arch}-abi${process.versions.modules}`, 'better_sqlite3.node');
    if (existsSync(abiCopy)) return expect.fail(`${abiCopy} exists in the checkout: this test needs it absent`);
    const child = spawn(process.execPath, [join(root, 'scripts', 'start.mjs')], {
      cwd: root,
      env: { ...process.env, ELECTRON_OVERRIDE_DIST_PATH: dist, DISPLAY: ':99', CDX_HOME: join(dir, 'home'), CDX_WEB: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    try {
      await new Promise<void>((ok, fail) => {
        const t = setTimeout(() => fail(new Error(`no web-mode URL in 90 s:\n${out}`)), 90_000);
        child.stdout.on('data', () => { if (/http:\/\/127\.0\.0\.1:\d+/.test(out)) { clearTimeout(t); ok(); } });
        child.on('exit', (code) => { clearTimeout(t); fail(new Error(`start exited ${code}:\n${out}`)); });
      });
    } finally {
      child.kill('SIGTERM');
    }
    expect(out).toMatch(/Starting in web mode: better-sqlite3 is not built for this Electron and cannot be built now \(.+\)/);
    expect(out).toContain('npm run build:electron-sqlite');
    expect(existsSync(abiCopy)).toBe(false);
  }, 120_000);
});
