/**
 * Ctrl+C on a command that is stuck in the engine: `cdx summary` / `cdx head` of a SQLite view
 * that never ends (a hostile recursive view). The terminal's SIGINT reaches the whole process
 * group (the CLI, its engine and the engine's reader process); the command must exit within a
 * second, non-zero, with a line saying it was interrupted, and leave no process behind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { appRoot } from '../engine/paths';

const root = appRoot();
const bin = path.join(root, 'bin', 'cdx.mjs');
const built = existsSync(path.join(root, 'out', 'main', 'cli.js')) && existsSync(path.join(root, 'out', 'main', 'blocking-worker.js'));

let dir = '';
let file = '';
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cdx-cli-cancel-'));
  file = path.join(dir, 'hostile.sqlite');
  const db = new Database(file);
  db.exec('CREATE TABLE t (a INTEGER); INSERT INTO t VALUES (1)');
  db.exec('CREATE VIEW v AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT x FROM c');
  db.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The live (not zombie) processes of a process group. */
function liveInGroup(pgid: number): string[] {
  try {
    const out = execFileSync('ps', ['-o', 'stat=,args=', '-g', String(pgid)], { encoding: 'utf8' });
    return out.split('\n').filter((l) => l.trim() && !/^\s*Z/.test(l));
  } catch {
    return []; // no process in the group
  }
}

function interrupt(args: string[]): Promise<{ code: number | null; ms: number; out: string; before: string[]; after: string[] }> {
  return new Promise((resolve, reject) => {
    // its own process group, so that SIGINT to the group is what a terminal's Ctrl+C does
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: root,
      detached: true,
      env: { ...process.env, CDX_HOME: path.join(dir, 'home') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const kill = setTimeout(() => {
      process.kill(-child.pid!, 'SIGKILL');
      reject(new Error(`no exit within 30 s:\n${out}`));
    }, 30_000);
    // wait until the engine's reader is inside SQLite's endless loop
    const poll = setInterval(() => {
      const procs = liveInGroup(child.pid!);
      if (!procs.some((l) => /blocking-worker/.test(l) && /^\s*R/.test(l))) return;
      clearInterval(poll);
      const t0 = Date.now();
      child.once('exit', (code) => {
        const ms = Date.now() - t0;
        clearTimeout(kill);
        // the engine and its reader are gone too (the reader's guard gives it a moment)
        setTimeout(() => resolve({ code, ms, out, before: procs, after: liveInGroup(child.pid!) }), 1500);
      });
      process.kill(-child.pid!, 'SIGINT');
    }, 100);
    child.once('exit', () => clearInterval(poll));
  });
}

describe.runIf(built && process.platform !== 'win32')('Ctrl+C on a hung SQLite view', () => {
  for (const cmd of ['summary', 'head']) {
    it(`cdx ${cmd} exits within a second, non-zero, saying it was interrupted`, async () => {
      const r = await interrupt([cmd, `${file}::v`]);
      expect(r.before.some((l) => /engine\.js/.test(l))).toBe(true);
      expect(r.ms).toBeLessThan(1000);
      expect(r.code).not.toBe(0);
      expect(r.out).toMatch(/^cdx: interrupted \(Ctrl\+C\): the command was cancelled\.$/m);
      expect(r.after).toEqual([]);
    }, 60_000);
  }
});
