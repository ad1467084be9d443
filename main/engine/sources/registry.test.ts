import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { detectFormat, listInner, openSource, providers, splitLocation } from './registry';
import { csvProvider } from './csv';
import { corpusDir, drain, tempDir } from './testing/util';
import { CdxError } from '../../../shared/errors';

let dir = '';
let cleanup = () => {};
beforeAll(() => {
  ({ dir, cleanup } = tempDir('cdx-reg-'));
  const db = new Database(join(dir, 'odd::name.sqlite'));
  db.exec('CREATE TABLE orders (id INTEGER, v REAL); INSERT INTO orders VALUES (1, 2.5), (2, 3.5); CREATE TABLE "a::b" (x TEXT); INSERT INTO "a::b" VALUES (\'y\');');
  db.close();
});
afterAll(() => cleanup());

async function err(p: Promise<unknown>): Promise<CdxError> {
  const e = await p.then(() => null, (x) => x);
  expect(e).toBeInstanceOf(CdxError);
  return e as CdxError;
}

describe('registry errors', () => {
  it('names each way a path can be wrong', async () => {
    const missing = await err(openSource(join(dir, 'nope.parquet')));
    expect(missing.code).toBe('ENOENT');
    expect(missing.message).toContain('nope.parquet');
    mkdirSync(join(dir, 'folder'));
    // a folder is its files as one dataset (multi.ts): one holding no data file says so
    expect((await err(openSource(join(dir, 'folder')))).code).toBe('E_EMPTY');
    writeFileSync(join(dir, 'empty.csv'), '');
    expect((await err(openSource(join(dir, 'empty.csv')))).code).toBe('E_EMPTY');
    writeFileSync(join(dir, 'binary.csv'), Buffer.from([0x00, 0x01, 0x02, 0xff, 0xfe, 0x00, 0x10, 0x80, 0x00]));
    const bin = await err(openSource(join(dir, 'binary.csv')));
    expect(bin.code).toBe('E_UNKNOWN_FORMAT');
    expect(bin.message).toMatch(/binary data/);
    writeFileSync(join(dir, 'mystery.xyz'), 'hello world');
    expect((await err(openSource(join(dir, 'mystery.xyz')))).code).toBe('E_UNKNOWN_FORMAT');
  });

  it('lists every reader once, the CSV reader included (nothing registers one elsewhere)', () => {
    const formats = providers.map((p) => p.format);
    expect(new Set(formats).size).toBe(formats.length);
    expect(providers.filter((p) => p === csvProvider)).toHaveLength(1);
    expect(providers.at(-1)).toBe(csvProvider); // no magic bytes: tried last, by extension
  });

  it('every provider has a format and extensions', () => {
    for (const p of providers) {
      expect(p.format).toMatch(/^[a-z0-9]+$/);
      expect(p.extensions.length).toBeGreaterThan(0);
    }
  });
});

describe('detection and locations', () => {
  it('detects by magic bytes even under a wrong extension, and by extension', async () => {
    const data = corpusDir('parquet-testing/data');
    if (data) {
      copyFileSync(join(data, 'alltypes_plain.parquet'), join(dir, 'renamed.dat'));
      expect(await detectFormat(join(dir, 'renamed.dat'))).toBe('parquet');
    }
    expect(await detectFormat(join(dir, 'odd::name.sqlite'))).toBe('sqlite');
    writeFileSync(join(dir, 'a.ndjson'), '{"a":1}\n{"a":2}\n');
    expect(await detectFormat(join(dir, 'a.ndjson'))).toBe('ndjson');
    writeFileSync(join(dir, 'lines.json'), '{"a":1}\n{"a":2}\n');
    expect(await detectFormat(join(dir, 'lines.json'))).toBe('ndjson');
    writeFileSync(join(dir, 'plain.csv'), 'a,b\n1,2\n');
    expect(await detectFormat(join(dir, 'plain.csv'))).toBe('csv');
    writeFileSync(join(dir, 'arr.json'), '[{"a":1}]');
    expect(await detectFormat(join(dir, 'arr.json'))).toBe('json');
    const npy = Buffer.concat([Buffer.from([0x93]), Buffer.from('NUMPY'), Buffer.from([1, 0, 54, 0]), Buffer.from("{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }".padEnd(53) + '\n'), Buffer.alloc(8)]);
    writeFileSync(join(dir, 'x.bin'), npy);
    expect(await detectFormat(join(dir, 'x.bin'))).toBe('npy');
  });

  it('splits PATH::INNER on the last :: whose left part is a file', async () => {
    const p = join(dir, 'odd::name.sqlite');
    expect(await splitLocation(`${p}::orders`)).toEqual({ path: p, inner: 'orders' });
    expect(await splitLocation(`${p}::a::b`)).toEqual({ path: p, inner: 'a::b' });
    expect(await splitLocation(p)).toEqual({ path: p });
    const src = await openSource(`${p}::orders`);
    const { rows, info } = await drain(src);
    expect(rows).toBe(2);
    expect(info.inner).toBe('orders');
    await src.close();
    const ab = await openSource(`${p}::a::b`);
    expect((await drain(ab)).rows).toBe(1);
    await ab.close();
    expect((await listInner(p)).map((d) => d.inner).sort()).toEqual(['a::b', 'orders']);
  });

  it('opens corpus files through the registry', async () => {
    const arrow = corpusDir('arrow-testing/data/arrow-ipc-stream/integration/1.0.0-littleendian');
    if (arrow) {
      const s = await openSource(join(arrow, 'generated_primitive.stream'));
      expect((await s.info()).format).toBe('arrow');
      await s.close();
    }
    const data = corpusDir('parquet-testing/data');
    if (data) {
      const s = await openSource(join(data, 'alltypes_plain.parquet'));
      expect((await drain(s)).rows).toBe(8);
      await s.close();
      expect(await listInner(join(data, 'alltypes_plain.parquet'))).toEqual([]);
      const e = await err(openSource(join(data, 'alltypes_plain.parquet::x')));
      expect(e.code).toBe('E_NO_INNER');
    }
  });
});

describe('progress and cancellation (every reader)', () => {
  async function cases(): Promise<string[]> {
    const out: string[] = [];
    const data = corpusDir('parquet-testing/data');
    if (data) out.push(join(data, 'alltypes_tiny_pages_plain.parquet'));
    const db = new Database(join(dir, 'big.sqlite'));
    db.exec('CREATE TABLE IF NOT EXISTS t (i INTEGER, s TEXT)');
    if ((db.prepare('SELECT count(*) AS n FROM t').get() as any).n === 0) {
      const ins = db.prepare('INSERT INTO t VALUES (?, ?)');
      db.transaction(() => { for (let i = 0; i < 5000; i++) ins.run(i, `s${i}`); })();
    }
    db.close();
    out.push(join(dir, 'big.sqlite'));
    writeFileSync(join(dir, 'big.ndjson'), Array.from({ length: 5000 }, (_, i) => JSON.stringify({ i })).join('\n'));
    out.push(join(dir, 'big.ndjson'));
    const hdr = "{'descr': '<f8', 'fortran_order': False, 'shape': (5000,), }";
    const h = hdr.padEnd(117) + '\n';
    writeFileSync(join(dir, 'big.npy'), Buffer.concat([Buffer.from([0x93]), Buffer.from('NUMPY'), Buffer.from([1, 0, h.length, 0]), Buffer.from(h), Buffer.alloc(5000 * 8)]));
    out.push(join(dir, 'big.npy'));
    return out;
  }

  it('reports progress up to 1 and stops with E_CANCELLED when cancelled', async () => {
    for (const p of await cases()) {
      const src = await openSource(p);
      const seen: number[] = [];
      let rows = 0;
      for await (const b of src.scan({ batchRows: 1000, onProgress: (x) => seen.push(x) })) rows += b.numRows;
      expect(rows, p).toBeGreaterThan(1000);
      expect(seen.length, p).toBeGreaterThan(0);
      expect(seen[seen.length - 1], p).toBeCloseTo(1, 5);
      for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1]);
      const ac = new AbortController();
      const e = await (async () => {
        for await (const _ of src.scan({ batchRows: 1000, signal: ac.signal })) ac.abort();
      })().then(() => null, (x) => x);
      expect(e, p).toBeInstanceOf(CdxError);
      expect(e.code, p).toBe('E_CANCELLED');
      await src.close();
    }
  });
});

describe('csv through the registry', () => {
  it('opens a CSV by extension (the native parser is loaded on first use)', async () => {
    writeFileSync(join(dir, 'small.csv'), 'a,b\n1,x\n2,y\n');
    let src;
    try {
      src = await openSource(join(dir, 'small.csv'));
    } catch (e) {
      console.log(`[skip] CSV reader unavailable: ${(e as Error).message}`);
      return;
    }
    const { info, rows } = await drain(src);
    expect(info.format).toBe('csv');
    expect(rows).toBe(2);
    await src.close();
  });
});
