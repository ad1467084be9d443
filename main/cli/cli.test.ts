/**
 * The `cdx` command as a user runs it (the built bin), and `npm start`'s fallback to web mode where
 * the Electron binary cannot be had.
 */
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { appRoot } from '../engine/paths';

const root = appRoot();
const bin = path.join(root, 'bin', 'cdx.mjs');
const built = existsSync(path.join(root, 'out', 'main', 'cli.js'));

function electronAvailable(): boolean {
  const r = spawnSync(process.execPath, ['-e', "process.stdout.write(require('electron'))"], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  return r.status === 0 && existsSync(r.stdout) && !!(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);
}

/** Runs a command until its output matches `re`, then stops it. */
function runUntil(
  args: string[],
  re: RegExp,
  timeoutMs = 60_000,
  whileRunning: (m: RegExpMatchArray) => Promise<void> = async () => {},
): Promise<{ out: string; match: RegExpMatchArray }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, CDX_HOME: path.join(root, '.cdx-home') }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no match for ${re} in ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const onData = (d: Buffer) => {
      out += d;
      const m = out.match(re);
      if (m) {
        clearTimeout(t);
        child.stdout.off('data', onData);
        child.stderr.off('data', onData);
        whileRunning(m)
          .then(() => {
            child.once('exit', () => resolve({ out, match: m }));
            child.kill('SIGTERM');
          })
          .catch((e) => {
            child.kill('SIGKILL');
            reject(e);
          });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
  });
}

describe.runIf(built)('cdx', () => {
  it('--version prints the package version', () => {
    const r = spawnSync(process.execPath, [bin, '--version'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).version);
  });

  it('an unknown command or bad option exits non-zero with one clear line', () => {
    const r = spawnSync(process.execPath, [bin, 'serve', '--port', 'abc'], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/a port is a whole number/);
  });

  it('serve prints a loopback URL with a token, and that URL serves the app', async () => {
    let page = '';
    let without = 0;
    const { match } = await runUntil([bin, 'serve', '--port', '0'], /(http:\/\/127\.0\.0\.1:(\d+)\/\?token=([\w-]+))/, 60_000, async (m) => {
      without = (await fetch(`http://127.0.0.1:${m[2]}/`)).status;
      page = await (await fetch(`http://127.0.0.1:${m[2]}/`, { headers: { 'x-cdx-token': m[3]! } })).text();
    });
    expect(match[3]!.length).toBeGreaterThanOrEqual(32);
    expect(without).toBe(403);
    expect(page).toContain('<title>Continuum Data Explorer</title>');
  });

  it.skipIf(electronAvailable())('npm start falls back to web mode without an Electron binary, and says why', async () => {
    const { out } = await runUntil([path.join(root, 'scripts', 'start.mjs')], /http:\/\/127\.0\.0\.1:\d+\/\?token=/, 120_000);
    expect(out).toMatch(/Starting in web mode: (the Electron binary is not available here|no display)/);
  }, 130_000);
});

describe.skipIf(built)('cdx (not built)', () => {
  it('needs `npm run build` first', () => {
    throw new Error('out/main/cli.js is missing: run `npm run build` (npm test does it first).');
  });
});
