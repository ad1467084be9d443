import { describe, expect, it } from 'vitest';
import { mkdtempSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Catalog, CATALOG_VERSION } from './catalog';

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
