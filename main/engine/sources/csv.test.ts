// Tests of the CSV Source: the DataShape schema and row count from info(), scans (column choice,
// progress, warnings with line numbers), errors as CdxErrors naming the file, cancellation,
// hostile (truncated / bit-flipped) copies, and the corpus CSVs against DuckDB.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tableFromIPC } from 'apache-arrow';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { formatDataShape } from '../../../shared/datashape';
import { CsvSource, csvProvider } from './csv';
import { CdxError } from '../../../shared/errors';
import { readArrowColumns } from '../columns/index';
import { summary } from '../../../native/index';
import { corpusDir, drain, hostileCopies, readOrClearError, tempDir } from './testing/util';
import { duckdb } from './testing/oracle';

let tmp: { dir: string; cleanup: () => void };
beforeAll(() => { tmp = tempDir('cdx-csv-src-'); });
afterAll(() => tmp.cleanup());

function file(name: string, content: string | Uint8Array): string {
  const p = join(tmp.dir, name);
  writeFileSync(p, content);
  return p;
}

describe('csvProvider', () => {
  it('declares the CSV extensions', () => {
    expect(csvProvider.format).toBe('csv');
    for (const e of ['csv', 'tsv', 'txt', 'csv.gz', 'tsv.gz']) expect(csvProvider.extensions).toContain(e);
  });

  it('info(): DataShape schema, row count and dialect metadata', async () => {
    const p = file('shop.tsv', 'id\tname\tprice\tday\n1\tapple\t1.5\t2024-01-02\n2\t\t2\t2024-01-03\n3\tpear\tNaN\t2024-01-04\n');
    const src = await csvProvider.open(p);
    const info = await src.info();
    expect(info.format).toBe('csv');
    expect(formatDataShape(info.rows, info.schema)).toBe('3 * {id: int64, name: ?string, price: float64, day: date}');
    expect(info.metadata).toMatchObject({ delimiter: '\t', header: 'true', encoding: 'utf-8', gzip: 'false' });
    const { rows, batches } = await drain(src);
    expect(rows).toBe(3);
    expect(batches[0]!.getChild('name')!.get(1)).toBeNull();
    await src.close();
  });

  it('scan(columns) returns only the chosen columns, with progress', async () => {
    const p = file('sel.csv.gz', gzipSync('a,b,c\n' + Array.from({ length: 1000 }, (_, i) => `${i},x${i},${i / 2}`).join('\n')));
    const src = await csvProvider.open(p);
    const seen: number[] = [];
    let n = 0;
    for await (const b of src.scan({ columns: ['c', 'a'], onProgress: (f) => seen.push(f) })) {
      expect(b.schema.fields.map((f) => f.name)).toEqual(['c', 'a']);
      n += b.numRows;
    }
    expect(n).toBe(1000);
    expect(seen.at(-1)).toBe(1);
    await expect(drain(src, ['nope'])).rejects.toMatchObject({ code: 'E_UNKNOWN_COLUMN' });
  });

  it('bad rows: the good rows load, warnings carry line numbers and a count; strict refuses', async () => {
    const p = file('bad.csv', 'a,b\n1,2\n3\n"x\ny",4\n5,6,7\n8,9\n');
    const src = await csvProvider.open(p);
    const { rows } = await drain(src);
    expect(rows).toBe(3);
    const info = await src.info();
    expect(info.warnings.filter((w) => w.code === 'W_BAD_ROW').map((w) => w.line)).toEqual([3, 6]);
    expect(info.warnings.find((w) => w.code === 'W_BAD_ROWS')!.message).toContain('2 bad row');
    const strict = new CsvSource(p, { strict: true });
    const err = await drain(strict).catch((e) => e);
    expect(err).toBeInstanceOf(CdxError);
    expect(err.code).toBe('E_BAD_ROW');
    expect(err.message).toBe(`${p}: line 3: expected 2 fields, found 1 (strict mode)`);
  });

  it('cancellation rejects with E_CANCELLED', async () => {
    const p = file('big.csv', 'a,b\n' + Array.from({ length: 200000 }, (_, i) => `${i},${i * 3}`).join('\n'));
    const src = new CsvSource(p, { chunkBytes: 64 << 10 });
    const ac = new AbortController();
    const run = (async () => { for await (const _ of src.scan({ signal: ac.signal })) ac.abort(); })();
    await expect(run).rejects.toMatchObject({ code: 'E_CANCELLED', file: p });
  });
});

describe('a file larger than the sample', () => {
  const text = () => 'id,v\n' + Array.from({ length: 30000 }, (_, i) => `${i},${i}`).join('\n') + '\n30000,2.5\n';
  it('info() is sample-based (rows unknown); scan() types the whole file first, so batches never widen', async () => {
    const p = file('late.csv', text());
    const src = new CsvSource(p, { sampleBytes: 65536, chunkBytes: 65536 });
    const before = await src.info();
    expect(before.rows).toBeNull();
    expect(formatDataShape(before.rows, before.schema)).toBe('var * {id: int64, v: int64}');
    const types = new Set<string>();
    let n = 0;
    for await (const b of src.scan()) { types.add(String(b.schema.fields[1]!.type)); n += b.numRows; }
    expect([...types]).toEqual(['Float64']);
    expect(n).toBe(30001);
    expect(formatDataShape((await src.info()).rows, (await src.info()).schema)).toBe('30001 * {id: int64, v: float64}');
  });

  it('ingestToArrow makes one pass when nothing widens after the first batch, two otherwise', async () => {
    const p = file('late2.csv', text());
    const src = new CsvSource(p, { sampleBytes: 65536, chunkBytes: 65536 });
    const r = await src.ingestToArrow(join(tmp.dir, 'late2.arrow'));
    expect(r.passes).toBe(2);
    expect(formatDataShape((await src.info()).rows, (await src.info()).schema)).toBe('30001 * {id: int64, v: float64}');
  });
});

describe('the nativeIngest capability', () => {
  it('is declared by the CSV source and writes what ingestToArrow writes, with the nullability found', async () => {
    const p = file('cap.csv', 'a,b\n1,x\n2,\n3,z\n');
    const src = await csvProvider.open(p);
    const nativeIngest = src.capabilities?.nativeIngest;
    expect(typeof nativeIngest).toBe('function');
    const out = join(tmp.dir, 'cap.arrow');
    const r = await nativeIngest!(out);
    expect(r).toEqual({ rows: 3, columns: [{ name: 'a', nullable: false }, { name: 'b', nullable: true }] });
    expect(tableFromIPC(readFileSync(out)).numRows).toBe(3);
    const info = await src.info();
    expect(formatDataShape(info.rows, info.schema)).toBe('3 * {a: int64, b: ?string}');
  });
});

describe('ingestToArrow', () => {
  it('writes an Arrow IPC file and updates info() with exact counts and warnings', async () => {
    const p = file('ing.csv', 'a,b\n1,x\n2\n3,\n');
    const src = new CsvSource(p);
    const out = join(tmp.dir, 'ing.arrow');
    const r = await src.ingestToArrow(out);
    expect(r.info.rows).toBe(2);
    const info = await src.info();
    expect(formatDataShape(info.rows, info.schema)).toBe('2 * {a: int64, b: ?string}');
    expect(info.warnings.map((w) => [w.code, w.line])).toEqual([['W_BAD_ROW', 3], ['W_BAD_ROWS', undefined]]);
    const t = tableFromIPC(readFileSync(out));
    expect(t.numRows).toBe(2);
  });

  it('the cache file is mapped in place by the engine, and its summaries agree with DuckDB', async () => {
    const lines = ['id,x,name,day,ok'];
    for (let i = 0; i < 50000; i++) {
      lines.push(`${i},${i % 11 === 3 ? '' : (i * 0.5 - 7).toFixed(1)},"n${i % 97}${i % 5 === 0 ? '\n' : ''}",2020-01-${String(1 + (i % 28)).padStart(2, '0')},${i % 3 === 0}`);
    }
    const p = file('mapped.csv', lines.join('\n') + '\n');
    const src = new CsvSource(p, { chunkBytes: 200000, sampleBytes: 65536 });
    const out = join(tmp.dir, 'mapped.arrow');
    await src.ingestToArrow(out);
    const cols = readArrowColumns(out);
    expect(cols.rows).toBe(50000);
    const x = await summary(cols.column('x'));
    const id = await summary(cols.column('id'));
    const name = await summary(cols.column('name'));
    const db = await duckdb();
    if (!db) return;
    try {
      const [row] = (await db.all(`SELECT count(x), sum(x), min(x), max(x), count(DISTINCT name), max(id) FROM read_csv('${p}', header = true, columns = {'id': 'BIGINT', 'x': 'DOUBLE', 'name': 'VARCHAR', 'day': 'DATE', 'ok': 'BOOLEAN'})`)) as unknown[][];
      expect(x.count).toBe(Number(row![0]));
      expect(x.mean! * x.count).toBeCloseTo(Number(row![1]), 3);
      expect([x.min, x.max]).toEqual([Number(row![2]), Number(row![3])]);
      expect(name.distinct).toBe(Number(row![4]));
      expect(id.maxExact).toBe(BigInt(row![5] as bigint));
    } finally {
      db.close();
    }
  });
});

describe('ingestToArrow failures leave nothing behind', () => {
  it('cancelled: E_CANCELLED and no temporary file', async () => {
    const p = file('ing-cancel.csv', 'a,b\n' + Array.from({ length: 100000 }, (_, i) => `${i},${i}`).join('\n'));
    const src = new CsvSource(p, { chunkBytes: 64 << 10 });
    const ac = new AbortController();
    const out = join(tmp.dir, 'ing-cancel.arrow');
    const run = src.ingestToArrow(out, { signal: ac.signal, onProgress: () => ac.abort() });
    await expect(run).rejects.toMatchObject({ code: 'E_CANCELLED' });
    expect(readdirSync(tmp.dir).filter((f) => f.startsWith('ing-cancel.arrow'))).toEqual([]);
  });

  it('an output folder that does not exist: E_IO before parsing', async () => {
    const p = file('ing-io.csv', 'a\n1\n');
    const err = await new CsvSource(p).ingestToArrow(join(tmp.dir, 'no-such-dir', 'x.arrow')).catch((e) => e);
    expect(err).toBeInstanceOf(CdxError);
    expect(err.code).toBe('E_IO');
  });
});

describe('bad input gets its own CdxError naming the file', () => {
  it.each([
    ['missing', () => join(tmp.dir, 'missing.csv'), 'ENOENT'],
    ['a directory', () => { const d = join(tmp.dir, 'folder.csv'); mkdirSync(d, { recursive: true }); return d; }, 'E_IS_DIR'],
    ['empty', () => file('empty.csv', ''), 'E_EMPTY'],
    ['binary named .csv', () => file('image.csv', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13])), 'E_NOT_TEXT'],
  ])('%s', async (_, make, code) => {
    const p = make();
    const err = await csvProvider.open(p).catch((e) => e);
    expect(err).toBeInstanceOf(CdxError);
    expect(err.code).toBe(code);
    expect(err.message).toContain(p);
  });

  it('truncated and bit-flipped copies read or fail clearly', async () => {
    const dir = corpusDir('arrow-testing/data/csv');
    if (!dir) return;
    for (const f of ['aggregate_test_100.csv', 'aggregate_test_100.csv.gz']) {
      const sub = join(tmp.dir, 'hostile-' + f);
      mkdirSync(sub, { recursive: true });
      for (const p of hostileCopies(join(dir, f), sub, { ext: f.endsWith('.gz') ? '.csv.gz' : '.csv' })) {
        await readOrClearError(() => csvProvider.open(p), p);
      }
    }
  });
});

describe('corpus', () => {
  it('every CSV in arrow-testing/data/csv opens with DuckDB\'s row count', async () => {
    const dir = corpusDir('arrow-testing/data/csv');
    if (!dir) return;
    const db = await duckdb();
    for (const f of readdirSync(dir).filter((x) => /\.csv(\.gz)?$/.test(x))) {
      const p = join(dir, f);
      const src = await csvProvider.open(p);
      const { info, rows } = await drain(src);
      expect(info.rows, f).toBe(rows);
      if (db) {
        const n = Number((await db.all(`SELECT count(*) FROM read_csv('${p.replace(/'/g, "''")}')`))[0]![0]);
        expect(rows, f).toBe(n);
      }
    }
    db?.close();
  });
});
