/**
 * The engine started before the command line is parsed (early.ts): which command lines start one,
 * that the command takes that engine instead of starting another, and that an engine no command
 * took is stopped — a command that fails to parse, or fails before it needs the engine, leaves no
 * process behind (the built `cdx`, in its own process group).
 */
import { describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { appRoot } from '../engine/paths';
import { commandNeedsEngine, ENGINE_COMMANDS, OWN_ENGINE_COMMANDS, startEarly } from './early';
import { earlyEnginePid, stopEarlyEngine, withEngine } from './engine-client';
import { buildProgram } from './index';

const root = appRoot();
const bin = path.join(root, 'bin', 'cdx.mjs');
const built = existsSync(path.join(root, 'out', 'main', 'cli.js')) && existsSync(path.join(root, 'out', 'main', 'cli-early.js'));

describe('which command lines start the engine early', () => {
  it('the commands that compute in the engine do; help, the version and the web host do not', () => {
    expect(commandNeedsEngine(['plot', 'f.csv', '--x', 'a', '--y', 'b', '--out', 'p.png'])).toBe(true);
    expect(commandNeedsEngine(['summary', 'f.csv', '--json'])).toBe(true);
    expect(commandNeedsEngine(['catalog', 'list'])).toBe(true);
    expect(commandNeedsEngine(['schema', 'postgresql://u@h:5432/db'])).toBe(true);
    expect(commandNeedsEngine([])).toBe(false);
    expect(commandNeedsEngine(['--version'])).toBe(false);
    expect(commandNeedsEngine(['-V'])).toBe(false);
    expect(commandNeedsEngine(['help', 'plot'])).toBe(false);
    expect(commandNeedsEngine(['plot', '--help'])).toBe(false);
    expect(commandNeedsEngine(['summary', 'f.csv', '-h'])).toBe(false);
    // `convert --help` lists the engine's writer options: it asks the engine
    expect(commandNeedsEngine(['convert', '--help'])).toBe(true);
    expect(commandNeedsEngine(['serve', '--port', '0'])).toBe(false);
    expect(commandNeedsEngine(['open', 'f.csv'])).toBe(false);
    expect(commandNeedsEngine(['bogus', 'f.csv'])).toBe(false);
    // an operand after `--` that looks like an option is not one
    expect(commandNeedsEngine(['head', '--', '--help'])).toBe(true);
  });

  it('every command of the program is classified (a new command must say whether it needs the engine)', () => {
    const names = buildProgram().commands.map((c) => c.name()).filter((n) => n !== 'help');
    for (const n of names) expect(ENGINE_COMMANDS.includes(n) || OWN_ENGINE_COMMANDS.includes(n), n).toBe(true);
    expect([...ENGINE_COMMANDS, ...OWN_ENGINE_COMMANDS].sort()).toEqual([...names].sort());
  });
});

describe('the early engine', () => {
  it('is the one the command runs on: no second engine is started', async () => {
    expect(startEarly(['node', 'cdx', 'catalog', 'list'])).toBe(true);
    const pid = earlyEnginePid();
    expect(pid).toBeGreaterThan(0);
    const info = await withEngine((e) => e.api.info({}));
    expect(info.pid).toBe(pid);
    expect(earlyEnginePid()).toBeUndefined();
  }, 60_000);

  it('is stopped when no command takes it', async () => {
    startEarly(['node', 'cdx', 'summary', 'x.csv']);
    const pid = earlyEnginePid()!;
    expect(pid).toBeGreaterThan(0);
    await stopEarlyEngine();
    expect(earlyEnginePid()).toBeUndefined();
    expect(() => process.kill(pid, 0)).toThrow(); // the process is gone
  }, 60_000);
});

/** The live (not zombie) processes of a process group. */
function liveInGroup(pgid: number): string[] {
  try {
    const out = execFileSync('ps', ['-o', 'stat=,args=', '-g', String(pgid)], { encoding: 'utf8' });
    return out.split('\n').filter((l) => l.trim() && !/^\s*Z/.test(l));
  } catch {
    return [];
  }
}

/** Runs the built `cdx` in its own process group; the group's live processes right after it exits. */
function run(args: string[], home: string): Promise<{ code: number | null; err: string; left: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: root, detached: true, env: { ...process.env, CDX_HOME: home }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.once('error', reject);
    child.once('exit', (code) => setTimeout(() => resolve({ code, err, left: liveInGroup(child.pid!) }), 200));
  });
}

describe.runIf(built && process.platform !== 'win32')('cdx leaves no engine behind', () => {
  it('when the command line does not parse, or the command fails before it needs the engine', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cdx-cli-early-'));
    try {
      const home = path.join(dir, 'home');
      const file = path.join(root, 'resources', 'sample', 'trips.arrow');
      // commander's usage error (no --out) exits the process at once
      const usage = await run(['plot', file, '--x', 'fare', '--y', 'tip'], home);
      expect(usage.code).not.toBe(0);
      expect(usage.err).toMatch(/--out/);
      expect(usage.left).toEqual([]);
      // refused by the command itself before it opens anything (--sql on a file)
      const refused = await run(['summary', file, '--sql', 'SELECT 1'], home);
      expect(refused.code).toBe(1);
      expect(refused.err).toMatch(/^cdx: --sql runs a query on a database/m);
      expect(refused.left).toEqual([]);
      // a failure in the engine's answer
      const missing = await run(['schema', path.join(dir, 'missing.csv')], home);
      expect(missing.code).toBe(1);
      expect(missing.err).toMatch(/^cdx: .*missing\.csv/m);
      expect(missing.left).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
