/**
 * A hung engine, end to end over the forked host (the engine the web host and the CLI use):
 *  - a SQLite view that never ends (a hostile recursive view) is cancelled from the app within a
 *    second, both when opening it and when summarising a catalogued one, and while it spins the
 *    engine keeps answering other calls (ping, listDatasets, an overview);
 *  - the watchdog: an engine whose event loop is blocked is detected, calls in flight fail with
 *    E_ENGINE_HUNG, a new engine comes up, and the state event says why.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { RpcClient } from '../../shared/rpc';
import { ENGINE_STATE_EVENT, type EngineApi, type EngineStateEvent } from '../../shared/api';
import { CdxError } from '../../shared/errors';
import { ForkedEngine, type ForkedEngineOptions } from './forked';

const HOSTILE = 'CREATE VIEW v AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT x FROM c';

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cdx-hang-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A forked engine and a client on it that follows the engine's state like the app does. */
function start(opts: ForkedEngineOptions = {}) {
  const engine = new ForkedEngine({ ...opts, env: { CDX_HOME: path.join(dir, 'home'), ...opts.env } });
  engine.start();
  const client = new RpcClient<EngineApi>(engine.connect());
  const states: EngineStateEvent[] = [];
  client.on(ENGINE_STATE_EVENT, (d) => {
    const s = d as EngineStateEvent;
    states.push(s);
    if (s.failCalls) client.failAll({ code: s.failCalls, message: s.reason ?? 'the engine stopped' });
  });
  return { engine, api: client.api, client, states };
}

/** The engine's reader processes that are running (spinning), not sleeping. */
function spinningReaders(enginePid: number): string[] {
  if (process.platform !== 'linux') return [];
  let out = '';
  try {
    out = execFileSync('ps', ['-o', 'stat=,args=', '--ppid', String(enginePid)], { encoding: 'utf8' });
  } catch {
    return []; // no children at all
  }
  return out.split('\n').filter((l) => /blocking-worker/.test(l) && /^\s*R/.test(l));
}

async function settle<T>(p: Promise<T>): Promise<{ value?: T; error?: unknown; ms: number; at: number }> {
  const t0 = Date.now();
  try {
    return { value: await p, ms: Date.now() - t0, at: Date.now() };
  } catch (error) {
    return { error, ms: Date.now() - t0, at: Date.now() };
  }
}

describe('a hung SQLite view, cancelled from the app', () => {
  it('open: cancelled within a second; ping, listDatasets and an overview answer meanwhile', async () => {
    const file = path.join(dir, 'open.sqlite');
    const db = new Database(file);
    db.exec(`CREATE TABLE t (a INTEGER); INSERT INTO t VALUES (1), (2), (3); ${HOSTILE}`);
    db.close();
    const { engine, api } = start();
    try {
      const sample = (await api.listDatasets({})).find((d) => d.tags?.includes('sample'))!;
      const ac = new AbortController();
      const hung = settle(api.open({ location: `${file}::v` }, { signal: ac.signal }));
      await new Promise((r) => setTimeout(r, 1500)); // the worker is in SQLite's endless loop by now
      for (let i = 0; i < 3; i++) {
        const t0 = Date.now();
        expect((await api.ping({})).pid).toBe(engine.pid);
        expect((await api.listDatasets({})).some((d) => d.id === sample.id)).toBe(true);
        expect((await api.overview({ dataset: sample.id })).rows).toBeGreaterThan(0);
        expect(Date.now() - t0).toBeLessThan(1000);
      }
      expect(spinningReaders(engine.pid!)).toHaveLength(1);
      const abortedAt = Date.now();
      ac.abort();
      const r = await hung;
      expect(r.error).toBeInstanceOf(CdxError);
      expect(r.error).toMatchObject({ code: 'E_CANCELLED' });
      expect(r.at - abortedAt).toBeLessThan(1000);
      // the engine stopped the work too (the reader was killed, within 250 ms) and goes on serving
      await new Promise((res) => setTimeout(res, 250));
      expect(spinningReaders(engine.pid!)).toEqual([]);
      const t = await api.open({ location: `${file}::t` });
      expect(t.rows).toBe(3);
    } finally {
      await engine.stop();
    }
  }, 60_000);

  it('summary of a catalogued view that became hostile: cancelled within a second', async () => {
    const file = path.join(dir, 'summary.sqlite');
    let db = new Database(file);
    db.exec('CREATE TABLE t (a INTEGER); INSERT INTO t VALUES (1), (2), (3); CREATE VIEW v AS SELECT a AS x FROM t');
    db.close();
    const { engine, api } = start();
    try {
      const id = (await api.open({ location: `${file}::v` })).entry.id;
      // the view changes on disk; a new engine (no memory of it) must read it again
      db = new Database(file);
      db.exec(`DROP VIEW v; ${HOSTILE}`);
      db.close();
      const firstPid = engine.pid;
      engine.kill();
      for (let i = 0; i < 200 && (engine.state.state !== 'ready' || engine.pid === firstPid); i++) await new Promise((r) => setTimeout(r, 50));
      expect(engine.state.state).toBe('ready');
      const ac = new AbortController();
      const hung = settle(api.summary({ dataset: id }, { signal: ac.signal }));
      await new Promise((r) => setTimeout(r, 1500));
      expect((await api.ping({})).pid).toBe(engine.pid);
      expect((await api.listDatasets({})).map((d) => d.id)).toContain(id);
      const abortedAt = Date.now();
      ac.abort();
      const r = await hung;
      expect(r.error).toMatchObject({ code: 'E_CANCELLED' });
      expect(r.at - abortedAt).toBeLessThan(1000);
      await new Promise((res) => setTimeout(res, 250));
      expect(spinningReaders(engine.pid!)).toEqual([]);
    } finally {
      await engine.stop();
    }
  }, 60_000);
});

describe('the watchdog', () => {
  it('an engine whose event loop is blocked: calls in flight fail with E_ENGINE_HUNG, a new engine comes up, the state event says why', async () => {
    const { engine, api, client, states } = start({ watchdog: { intervalMs: 100, timeoutMs: 800 }, env: { CDX_ENGINE_TEST_HOOKS: '1' } });
    try {
      const before = await api.info({});
      const inflight = settle(api.ping({ ms: 60_000 }));
      await new Promise((r) => setTimeout(r, 200));
      // a call that blocks the engine's event loop (test hook; absent without CDX_ENGINE_TEST_HOOKS)
      const blocker = settle(client.call('testBlockEventLoop', { ms: 120_000 }));
      const r = await inflight;
      expect(r.error).toBeInstanceOf(CdxError);
      expect(r.error).toMatchObject({ code: 'E_ENGINE_HUNG' });
      expect((r.error as Error).message).toMatch(/stopped answering for \d+\.\d s/);
      expect((await blocker).error).toMatchObject({ code: 'E_ENGINE_HUNG' });
      const hung = states.find((s) => s.state === 'hung')!;
      expect(hung).toMatchObject({ pid: before.pid, failCalls: 'E_ENGINE_HUNG' });
      expect(hung.reason).toMatch(/stopped answering.*a new one is starting/);
      // the blocked process was killed and replaced
      for (let i = 0; i < 200 && !(states.at(-1)?.state === 'ready' && states.at(-1)?.pid !== before.pid); i++) await new Promise((res) => setTimeout(res, 50));
      expect(states.map((s) => s.state)).toEqual(expect.arrayContaining(['ready', 'hung', 'restarting']));
      expect(states.at(-1)).toMatchObject({ state: 'ready' });
      const after = await api.info({});
      expect(after.pid).not.toBe(before.pid);
      expect(() => process.kill(before.pid, 0)).toThrow();
    } finally {
      await engine.stop();
    }
  }, 60_000);

  it('the test hook is absent unless asked for', async () => {
    const { engine, client } = start();
    try {
      await expect(client.call('testBlockEventLoop', { ms: 10 })).rejects.toMatchObject({ code: 'E_NO_METHOD' });
    } finally {
      await engine.stop();
    }
  }, 30_000);
});
