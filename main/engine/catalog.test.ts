import { describe, expect, it } from 'vitest';
import { mkdtempSync, existsSync } from 'node:fs';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Catalog, CATALOG_VERSION } from './catalog';
import { appRoot } from './paths';

const home = () => mkdtempSync(path.join(os.tmpdir(), 'cdx-catalog-'));
const schema = { fields: [{ name: 'x', type: 'float64' as const, nullable: false }] };

describe('catalog', () => {
  it('remembers datasets across sessions, recent first, with schema, rows, summary and tags', async () => {
    const dir = home();
    const c1 = new Catalog(dir);
    const a = c1.upsert({ location: '/data/a.csv', format: 'csv', size: 10, mtimeMs: 1000, schema, rows: 5, cachePath: '/cache/a.arrow' });
    await new Promise((r) => setTimeout(r, 5));
    const b = c1.upsert({ location: '/data/run.h5::/sensors/temp', format: 'hdf5', size: 20, mtimeMs: 2000 });
    c1.setSummary(a.id, { rows: 5, columns: [{ name: 'x', min: 1 }] });
    c1.setTags(a.id, ['sales', 'q3']);
    c1.touch(a.id);
    c1.close();

    const c2 = new Catalog(dir);
    const list = c2.list();
    expect(list.map((e) => e.name)).toEqual(['a.csv', 'run.h5::/sensors/temp']);
    const a2 = c2.get(a.id)!;
    expect(a2).toMatchObject({ location: '/data/a.csv', format: 'csv', size: 10, rows: 5, cachePath: '/cache/a.arrow', schema });
    expect(a2.summary).toEqual({ rows: 5, columns: [{ name: 'x', min: 1 }] });
    expect(a2.tags.sort()).toEqual(['q3', 'sales']);
    expect(c2.list('SALES').map((e) => e.id)).toEqual([a.id]);
    expect(c2.list('h5').map((e) => e.id)).toEqual([b.id]);
    expect(c2.list('100%')).toEqual([]);
    c2.close();
  });

  it('forgets the cached summary and cache file when the source changes, keeps them when it does not', () => {
    const c = new Catalog(home());
    const e = c.upsert({ location: '/d/x.csv', format: 'csv', size: 10, mtimeMs: 1, schema, rows: 3, cachePath: '/c/x.arrow', warnings: [{ code: 'W_BAD_ROW', message: 'x', line: 3 }], metadata: { delimiter: ';' } });
    c.setSummary(e.id, { ok: 1, big: 2n ** 63n - 1n });
    const same = c.upsert({ location: '/d/x.csv', format: 'csv', size: 10, mtimeMs: 1 });
    expect(same.id).toBe(e.id);
    expect(same.summary).toEqual({ ok: 1, big: 2n ** 63n - 1n });
    expect(same.warnings).toEqual([{ code: 'W_BAD_ROW', message: 'x', line: 3 }]);
    expect(same.metadata).toEqual({ delimiter: ';' });
    expect(same.cachePath).toBe('/c/x.arrow');
    expect(c.isFresh(same, 10, 1)).toBe(true);
    const changed = c.upsert({ location: '/d/x.csv', format: 'csv', size: 11, mtimeMs: 2 });
    expect(changed.summary).toBeNull();
    expect(changed.cachePath).toBeNull();
    expect(changed.rows).toBeNull();
    expect(changed.warnings).toEqual([]);
    expect(c.isFresh(changed, 10, 1)).toBe(false);
    c.close();
  });

  it('removes entries and their tags', () => {
    const c = new Catalog(home());
    const e = c.upsert({ location: '/d/y.npy', format: 'npy', size: 1, mtimeMs: 1 });
    c.setTags(e.id, ['t']);
    expect(c.remove(e.id)?.location).toBe('/d/y.npy');
    expect(c.get(e.id)).toBeNull();
    expect(c.remove(e.id)).toBeNull();
    expect(c.db.prepare('SELECT count(*) AS n FROM tags').get()).toEqual({ n: 0 });
    c.close();
  });

  it('migrates a catalog written by an older version, keeping its entries', () => {
    const dir = home();
    const old = new Database(path.join(dir, 'catalog.sqlite'));
    old.exec(`CREATE TABLE datasets (id TEXT PRIMARY KEY, name TEXT NOT NULL, location TEXT NOT NULL UNIQUE, format TEXT NOT NULL,
      size INTEGER NOT NULL, mtime_ms REAL NOT NULL, schema_json TEXT, rows INTEGER, cache_path TEXT, added_at INTEGER NOT NULL, opened_at INTEGER);
      INSERT INTO datasets VALUES ('old-1', 'legacy.csv', '/d/legacy.csv', 'csv', 42, 7, NULL, 9, NULL, 1, NULL);
      PRAGMA user_version = 1;`);
    old.close();
    const c = new Catalog(dir);
    expect(c.db.pragma('user_version', { simple: true })).toBe(CATALOG_VERSION);
    expect(c.get('old-1')).toMatchObject({ name: 'legacy.csv', rows: 9, summary: null, tags: [], warnings: [], metadata: {} });
    c.setTags('old-1', ['migrated']);
    expect(c.get('old-1')!.tags).toEqual(['migrated']);
    expect(c.db.pragma('journal_mode', { simple: true })).toBe('wal');
    c.close();
  });

  it('refuses a catalog from a newer version instead of damaging it', () => {
    const dir = home();
    const db = new Database(path.join(dir, 'catalog.sqlite'));
    db.pragma('user_version = 999');
    db.close();
    expect(() => new Catalog(dir)).toThrow(/newer CDX/);
    expect(existsSync(path.join(dir, 'catalog.sqlite'))).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// Several processes on one catalog (the app, `cdx serve` and the CLI at once): real node processes
// running testing/catalog-worker.ts, started together.

const worker = path.join(path.dirname(fileURLToPath(import.meta.url)), 'testing', 'catalog-worker.ts');

interface Proc { child: ChildProcessWithoutNullStreams; lines: string[]; waiters: (() => void)[]; exited: Promise<number | null> }

function startWorker(args: Record<string, unknown>): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', worker, JSON.stringify(args)], { cwd: appRoot(), stdio: ['pipe', 'pipe', 'pipe'] });
  const p: Proc = { child, lines: [], waiters: [], exited: new Promise((r) => child.once('exit', (code) => r(code))) };
  let buf = '', err = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d;
    for (let i; (i = buf.indexOf('\n')) >= 0; buf = buf.slice(i + 1)) {
      p.lines.push(buf.slice(0, i));
      p.waiters.splice(0).forEach((w) => w());
    }
  });
  child.stderr.on('data', (d: Buffer) => (err += d));
  child.once('exit', () => {
    if (err.trim()) p.lines.push(JSON.stringify({ ok: false, stderr: err }));
    p.waiters.splice(0).forEach((w) => w());
  });
  return p;
}

/** Waits until every process printed `ready` (their n-th), then tells them all to go. */
async function startTogether(procs: Proc[], n: number): Promise<void> {
  await Promise.all(procs.map(async (p) => {
    while (p.lines.filter((l) => l === 'ready').length < n) {
      if (p.child.exitCode !== null) throw new Error(`worker ended before it was ready: ${p.lines.join('\n')}`);
      await new Promise<void>((r) => p.waiters.push(r));
    }
  }));
  for (const p of procs) p.child.stdin.write('go\n');
}

async function resultOf(p: Proc): Promise<Record<string, unknown>> {
  const code = await p.exited;
  const out = p.lines.filter((l) => l !== 'ready').map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(out, `worker exited ${code}`).toEqual([expect.objectContaining({ ok: true })]);
  return out[0]!;
}

describe('catalog shared by several processes', () => {
  it('thousands of mixed operations from 3 processes at once: no error, nothing lost or duplicated', async () => {
    const dir = home();
    new Catalog(dir).close(); // (the file exists; the processes race on everything else)
    const OPS = 3000, SHARED = 40;
    const procs = [0, 1, 2].map((w) => startWorker({ mode: 'stress', worker: w, home: dir, ops: OPS, shared: SHARED, seed: 1000 + w }));
    await startTogether(procs, 1);
    const results = (await Promise.all(procs.map(resultOf))) as {
      mine: Record<string, { id: string; name: string; size: number; tags: string[] }>; sharedIds: Record<string, string>; connections: string[]; counts: Record<string, number>;
    }[];
    // every process did a real mix (each kind of operation thousands of times in all)
    for (const r of results) expect(Object.values(r.counts).reduce((a, b) => a + b, 0)).toBe(OPS);
    for (const op of ['add', 'refresh', 'shared', 'rename', 'tags', 'remove', 'list', 'connection']) expect(results.every((r) => (r.counts[op] ?? 0) > 30)).toBe(true);

    const c = new Catalog(dir);
    expect(c.db.pragma('user_version', { simple: true })).toBe(CATALOG_VERSION);
    expect(c.db.pragma('integrity_check', { simple: true })).toBe('ok');
    const all = c.list();
    // each process's own entries exactly as it last left them; none that it removed
    const expected = new Map(results.flatMap((r) => Object.entries(r.mine)));
    // each shared location is one entry: every process got the same id for it
    const shared = new Map<string, string>();
    for (const r of results) {
      for (const [loc, id] of Object.entries(r.sharedIds)) {
        expect(shared.get(loc) ?? id, loc).toBe(id);
        shared.set(loc, id);
      }
    }
    expect(all.length).toBe(expected.size + shared.size);
    expect(new Set(all.map((e) => e.location)).size).toBe(all.length);
    for (const e of all) {
      if (shared.has(e.location)) {
        expect(e.id).toBe(shared.get(e.location));
        continue;
      }
      const m = expected.get(e.location);
      expect(m, `unexpected entry ${e.location}`).toBeDefined();
      expect({ id: e.id, name: e.name, size: e.size, tags: e.tags.sort() }).toEqual({ ...m!, tags: [...m!.tags].sort() });
    }
    expect(c.db.prepare('SELECT count(*) AS n FROM tags WHERE dataset_id NOT IN (SELECT id FROM datasets)').get()).toEqual({ n: 0 });
    // connections: each process's own as it left them, and the one they all saved, once
    const conns = c.connections().map((x) => x.url).sort();
    const wantConns = results.flatMap((r) => r.connections);
    if (results.some((r) => r.counts['shared-connection'])) wantConns.push('postgres://shared@host/db');
    expect(conns).toEqual(wantConns.sort());
    c.close();
  }, 60_000);

  it('processes opening an old catalog (or a new one) at once migrate it once and keep its entries', async () => {
    const ROUNDS = 4;
    const homes = Array.from({ length: ROUNDS }, () => {
      const dir = home();
      const old = new Database(path.join(dir, 'catalog.sqlite'));
      old.exec(`CREATE TABLE datasets (id TEXT PRIMARY KEY, name TEXT NOT NULL, location TEXT NOT NULL UNIQUE, format TEXT NOT NULL,
        size INTEGER NOT NULL, mtime_ms REAL NOT NULL, schema_json TEXT, rows INTEGER, cache_path TEXT, added_at INTEGER NOT NULL, opened_at INTEGER);
        INSERT INTO datasets VALUES ('old-1', 'legacy.csv', '/d/legacy.csv', 'csv', 42, 7, NULL, 9, NULL, 1, NULL);
        PRAGMA user_version = 1;`);
      old.close();
      return dir;
    });
    const fresh = home(); // no catalog file yet: created by all three at once
    homes.push(fresh);
    const procs = [0, 1, 2].map((w) => startWorker({ mode: 'migrate', worker: w, homes }));
    for (let i = 1; i <= homes.length; i++) await startTogether(procs, i);
    const results = await Promise.all(procs.map(resultOf));
    for (const [i, dir] of homes.entries()) {
      const c = new Catalog(dir);
      expect(c.db.pragma('user_version', { simple: true })).toBe(CATALOG_VERSION);
      expect(c.db.pragma('journal_mode', { simple: true })).toBe('wal');
      const old = dir === fresh ? [] : [['/d/legacy.csv', 'old-1']];
      if (old.length) expect(c.get('old-1')).toMatchObject({ name: 'legacy.csv', location: '/d/legacy.csv', rows: 9, tags: [], metadata: {} });
      // each process's entry, under the id it was given
      expect(c.list().map((e) => [e.location, e.id]).sort()).toEqual(
        [...old, ...results.map((r) => [`/m/w${r.worker as number}.csv`, (r.ids as string[])[i]!])].sort(),
      );
      c.close();
    }
  }, 60_000);
});
