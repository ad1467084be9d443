import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Data } from 'apache-arrow';
import { affinity, quoteIdent, sqliteProvider } from './sqlite';
import { cellText } from './testing/oracle';
import { drain, hostileCopies, python, readOrClearError, tempDir, withTimeout } from './testing/util';
import { CdxError } from '../../../shared/errors';
import { blockingWorkerCount } from '../blocking';

// The independent reader is Python's sqlite3 module (DuckDB's sqlite extension is downloaded on
// first use and this machine is offline). Python writes the fixture and dumps every cell.
const GEN = String.raw`
import sqlite3, json, sys, os, math
out = sys.argv[1]
db = sqlite3.connect(os.path.join(out, 'shop.sqlite'))
weird = ['orders', 'we"ird; name', 'with space', 'naïve', "x'; DROP TABLE orders; --"]
for t in weird:
    q = '"' + t.replace('"', '""') + '"'
    db.execute(f'CREATE TABLE {q} (id INTEGER PRIMARY KEY, big INTEGER, price REAL, name TEXT, raw BLOB, mixed NUMERIC, day DATE, ok BOOLEAN, "col ""quoted""" TEXT)')
    rows = []
    for i in range(1, 2501):
        rows.append((i, 2**62 + i if i % 3 else -(2**63), i / 7 if i % 11 else None, f'n{i}' if i % 13 else None,
                     bytes([i % 256, 0, 255]) if i % 2 else None, i if i % 2 else i + 0.5,
                     f'2020-01-{1 + i % 28:02d}' if i % 5 else None, i % 2, 'é"' + str(i)))
    db.executemany(f'INSERT INTO {q} VALUES (?,?,?,?,?,?,?,?,?)', rows)
db.execute('CREATE VIEW "big orders" AS SELECT id, big, name FROM orders WHERE id > 2000')
db.execute('CREATE TABLE mixed_text (v)')
db.executemany('INSERT INTO mixed_text VALUES (?)', [(1,), ('two',), (3.5,), (None,)])
db.execute('CREATE TABLE empty_t (a INTEGER, b TEXT)')
db.commit()
dump = {}
def cell(v):
    if v is None: return None
    if isinstance(v, bool): return ['int', str(int(v))]
    if isinstance(v, int): return ['int', str(v)]
    if isinstance(v, float): return ['real', repr(v)]
    if isinstance(v, str): return ['text', v]
    if isinstance(v, bytes): return ['blob', v.hex().upper()]
for (name,) in db.execute("SELECT name FROM sqlite_schema WHERE type IN ('table','view')"):
    q = '"' + name.replace('"', '""') + '"'
    cur = db.execute(f'SELECT * FROM {q}')
    cols = [d[0] for d in cur.description]
    dump[name] = {'columns': cols, 'rows': [[cell(v) for v in r] for r in cur]}
json.dump(dump, open(os.path.join(out, 'dump.json'), 'w'))
`;

let dir = '';
let cleanup = () => {};
let ok = false;
beforeAll(() => {
  ({ dir, cleanup } = tempDir('cdx-sqlite-'));
  writeFileSync(join(dir, 'gen.py'), GEN);
  const r = python(`import runpy, sys; sys.argv = ['gen.py', ${JSON.stringify(dir)}]; runpy.run_path(${JSON.stringify(join(dir, 'gen.py'))}, run_name='__main__')`);
  ok = r.ok;
  if (!ok) console.log(`[skip] python3 sqlite3 unavailable: ${r.out.slice(0, 300)}`);
});
afterAll(() => cleanup());

/** What our cell should read as, given Python's raw value and our field. */
function expectedCell(type: string, v: [string, string] | null): string | number | null {
  if (v === null) return null;
  const [kind, text] = v;
  switch (type) {
    case 'int64': return text;
    case 'float64': return Number(text);
    case 'bool': return text === '1' ? 'true' : 'false';
    case 'binary': return kind === 'blob' ? text : Buffer.from(text).toString('hex').toUpperCase();
    case 'date': return String(Date.parse(`${text}T00:00:00Z`) / 86400000);
    case 'string': return kind === 'real' ? text.replace(/\.0$/, '.0') : text;
    default: return text;
  }
}

describe('sqlite', () => {
  it('lists every table and view, with awkward names', async () => {
    if (!ok) return;
    const list = await sqliteProvider.list!(join(dir, 'shop.sqlite'));
    expect(list.map((d) => d.inner).sort()).toEqual(['big orders', 'empty_t', 'mixed_text', 'naïve', 'orders', 'we"ird; name', 'with space', "x'; DROP TABLE orders; --"].sort());
    expect(list.find((d) => d.inner === 'big orders')?.kind).toBe('view');
  });

  it('reads every dataset and agrees with Python sqlite3 cell by cell', async () => {
    if (!ok) return;
    const dump = JSON.parse(readFileSync(join(dir, 'dump.json'), 'utf8'));
    for (const [name, t] of Object.entries<any>(dump)) {
      const src = await sqliteProvider.open(join(dir, 'shop.sqlite'), name);
      const { info, batches, rows } = await drain(src);
      await src.close();
      expect(rows, name).toBe(t.rows.length);
      expect(info.rows, name).toBe(t.rows.length);
      expect(info.schema.fields.map((f) => f.name), name).toEqual(t.columns);
      info.schema.fields.forEach((f, ci) => {
        let r = 0;
        for (const b of batches) {
          const d: Data = b.getChildAt(ci)!.data[0];
          for (let i = 0; i < b.numRows; i++, r++) {
            const ours = cellText(f, d, i);
            const exp = expectedCell(f.type, t.rows[r][ci]);
            if (ours !== exp) throw new Error(`${name}.${f.name}[${r}] (${f.type}): ${ours} vs python ${JSON.stringify(t.rows[r][ci])}`);
          }
        }
      });
    }
  });

  it('maps stored types: exact int64, widening, dates, bools', async () => {
    if (!ok) return;
    const info = await (await sqliteProvider.open(join(dir, 'shop.sqlite'), 'orders')).info();
    const types = Object.fromEntries(info.schema.fields.map((f) => [f.name, f.type]));
    expect(types).toEqual({ id: 'int64', big: 'int64', price: 'float64', name: 'string', raw: 'binary', mixed: 'float64', day: 'date', ok: 'bool', 'col "quoted"': 'string' });
    expect(info.schema.fields.find((f) => f.name === 'id')?.nullable).toBe(false);
    const mt = await (await sqliteProvider.open(join(dir, 'shop.sqlite'), 'mixed_text')).info();
    expect(mt.schema.fields[0].type).toBe('string');
    expect(mt.warnings.map((w) => w.code)).toContain('W_WIDENED');
    const e = await (await sqliteProvider.open(join(dir, 'shop.sqlite'), 'empty_t')).info();
    expect(e.rows).toBe(0);
    expect(e.schema.fields.map((f) => f.type)).toEqual(['int64', 'string']);
  });

  it('opens read-only and never modifies the file', async () => {
    if (!ok) return;
    const p = join(dir, 'shop.sqlite');
    const before = readFileSync(p);
    const src = await sqliteProvider.open(p, "x'; DROP TABLE orders; --");
    await drain(src);
    await src.close();
    expect(Buffer.compare(before, readFileSync(p))).toBe(0);
    await expect(sqliteProvider.open(p, 'nope')).rejects.toThrow(/no table or view named/);
    await expect(sqliteProvider.open(p)).rejects.toThrow(/open one as/);
  });

  it('streams in batches and selects columns', async () => {
    if (!ok) return;
    const src = await sqliteProvider.open(join(dir, 'shop.sqlite'), 'with space');
    const sizes: number[] = [];
    for await (const b of src.scan({ batchRows: 1000, columns: ['col "quoted"', 'big'] })) {
      sizes.push(b.numRows);
      expect(b.schema.fields.map((f) => f.name)).toEqual(['col "quoted"', 'big']);
    }
    expect(sizes).toEqual([1000, 1000, 500]);
    await src.close();
  });

  it('truncated and bit-flipped databases give a clear error or a correct read', async () => {
    if (!ok) return;
    const { dir: d, cleanup: c } = tempDir();
    try {
      const copies = hostileCopies(join(dir, 'shop.sqlite'), d, { flips: 30, seed: 5, cuts: [0.001, 0.3, 0.7] });
      for (const p of copies) {
        await withTimeout((async () => {
          let list;
          try { list = await sqliteProvider.list!(p); } catch (e) { if (!(e instanceof CdxError)) throw e; return; }
          for (const item of list) await readOrClearError(() => sqliteProvider.open(p, item.inner), p);
        })(), 20_000, p);
      }
    } finally {
      c();
    }
  }, 120_000);

  it('a query that never ends (a hostile recursive view) is cancelled at once, and other calls go on meanwhile', async () => {
    const { dir: d, cleanup: c } = tempDir();
    try {
      const p = join(d, 'hostile.sqlite');
      const db = new Database(p);
      db.exec('CREATE TABLE t (a INTEGER); INSERT INTO t VALUES (1), (2)');
      db.exec('CREATE VIEW v AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT x FROM c');
      db.close();
      const src = await sqliteProvider.open(p, 'v');
      const scanAll = async (signal: AbortSignal) => {
        for await (const b of src.scan({ signal })) expect(b.numRows).toBeGreaterThan(0);
      };
      for (const start of [(signal: AbortSignal) => src.info({ signal }), scanAll]) {
        const ac = new AbortController();
        const hung = start(ac.signal).then(() => 'finished', (e) => e);
        // while SQLite spins in its worker, the engine's thread is free: a timer fires on time and
        // another database call is answered
        const t0 = Date.now();
        await new Promise((r) => setTimeout(r, 300));
        expect(Date.now() - t0).toBeLessThan(450);
        expect((await sqliteProvider.list!(p)).map((x) => x.inner)).toEqual(['t', 'v']);
        const info = await (await sqliteProvider.open(p, 't')).info();
        expect(info.rows).toBe(2);
        const aborted = Date.now();
        ac.abort();
        const err = await hung;
        expect(Date.now() - aborted).toBeLessThan(250);
        expect(err).toBeInstanceOf(CdxError);
        expect(err).toMatchObject({ code: 'E_CANCELLED', file: p });
      }
      // the killed worker is gone (no reader process left spinning)
      await new Promise((r) => setTimeout(r, 300));
      expect(blockingWorkerCount()).toBeLessThanOrEqual(2);
      if (process.platform === 'linux') {
        const kids = execFileSync('ps', ['-o', 'stat=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' });
        expect(kids.split('\n').filter((l) => /blocking-worker/.test(l) && /^\s*R/.test(l))).toEqual([]);
      }
    } finally {
      c();
    }
  }, 60_000);

  it('quotes identifiers and knows affinities', () => {
    expect(quoteIdent('a"b')).toBe('"a""b"');
    expect(affinity('VARCHAR(10)')).toBe('TEXT');
    expect(affinity('BIGINT')).toBe('INTEGER');
    expect(affinity('DOUBLE PRECISION')).toBe('REAL');
    expect(affinity('')).toBe('BLOB');
    expect(affinity('DATE')).toBe('NUMERIC');
    const db = new Database(':memory:');
    expect((db.prepare(`SELECT 1 AS ${quoteIdent('x"; DROP')}`).get() as any)['x"; DROP']).toBe(1);
    db.close();
  });
});
