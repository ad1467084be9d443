import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Data } from 'apache-arrow';
import { parquetProvider } from './parquet';
import { corpusDir, drain, hostileCopies, readOrClearError, tempDir, withTimeout } from './testing/util';
import { compareColumn, duckExpr, duckdb } from './testing/oracle';
import { CdxError } from '../../../shared/errors';

const data = corpusDir('parquet-testing/data');
const bad = corpusDir('parquet-testing/bad_data');

/** Valid files refused on purpose, and why. */
const REFUSED: Record<string, RegExp> = {
  'large_string_map.brotli.parquet': /per-page limit/, // a 1 GiB page of one repeated string
  'nation.dict-malformed.parquet': /malformed|cannot read/, // malformed on purpose (dictionary page)
};

function parquetFiles(dir: string): string[] {
  const out: string[] = [];
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) out.push(...parquetFiles(p));
    else if (/\.parquet(\.encrypted)?$/.test(f)) out.push(p);
  }
  return out;
}

describe('parquet corpus against DuckDB', () => {
  if (!data) { it.skip('corpus absent', () => {}); return; }
  let db: Awaited<ReturnType<typeof duckdb>>;
  beforeAll(async () => { db = await duckdb(); });
  afterAll(() => db?.close());
  const files = parquetFiles(data);
  it('finds the corpus files', () => expect(files.length).toBeGreaterThan(60));
  for (const file of files) {
    const rel = file.slice(data.length + 1);
    const base = rel.split('/').pop()!;
    it(rel, async () => {
      if (/\.encrypted$/.test(rel)) {
        const err = await parquetProvider.open(file).then(() => null, (e) => e);
        expect(err).toBeInstanceOf(CdxError);
        expect(err.code).toBe('E_ENCRYPTED');
        expect(err.message).toMatch(/encrypted/);
        return;
      }
      if (REFUSED[base]) {
        const r = await withTimeout(readOrClearError(() => parquetProvider.open(file), file), 20_000, file);
        expect(r).not.toBe('ok');
        expect((r as CdxError).message).toMatch(REFUSED[base]);
        return;
      }
      const src = await parquetProvider.open(file);
      const { info, batches, rows } = await drain(src);
      await src.close();
      expect(rows).toBe(info.rows);
      if (!db) return;
      let theirs: unknown[][];
      const fields = info.schema.fields;
      const sql = `SELECT ${fields.length ? fields.map(duckExpr).join(', ') : '1'} FROM read_parquet('${file.replace(/'/g, "''")}', binary_as_string=true)`;
      let asBlob = false;
      try {
        theirs = await db.all(sql);
      } catch {
        // WKB geometry and other binary in unannotated BYTE_ARRAY: DuckDB refuses it as text
        try {
          theirs = await db.all(sql.replace(', binary_as_string=true', ''));
          asBlob = true;
        } catch (e) {
          console.log(`[note] DuckDB cannot read ${rel}: ${(e as Error).message.split('\n')[0].slice(0, 160)}; row count only`);
          return;
        }
      }
      expect(rows, 'row count vs DuckDB').toBe(theirs.length);
      fields.forEach((f, ci) => {
        if (asBlob && f.type === 'string') return;
        const cells: { data: Data; i: number }[] = [];
        for (const b of batches) {
          const d = b.getChildAt(ci)!.data[0];
          for (let i = 0; i < b.numRows; i++) cells.push({ data: d, i });
        }
        // DuckDB reads unannotated BYTE_ARRAY as text too (binary_as_string); FLBA without annotation as blob
        let expected = theirs.map((r) => r[ci]);
        if (f.original === 'int96') {
          // DuckDB wraps INT96 values outside the int64-nanosecond range (years before 1677 or after
          // 2262); compare only where its answer can be right
          const lim = 9_223_372_036_854_775n / 1n;
          expected = expected.map((v, r) => {
            const ours = cells[r].data.getValid(cells[r].i) ? BigInt((cells[r].data.values as BigInt64Array)[cells[r].i]) : 0n;
            return ours > lim || ours < -lim ? String(ours) : v;
          });
        }
        const mismatch = compareColumn(f, cells, expected);
        expect(mismatch, `${rel}: ${mismatch}`).toBeUndefined();
      });
    }, 30_000);
  }
});

describe('parquet bad_data', () => {
  if (!bad) { it.skip('corpus absent', () => {}); return; }
  for (const f of readdirSync(bad).filter((x) => x.endsWith('.parquet'))) {
    it(`${f} gives a clear error or a correct read`, async () => {
      const p = join(bad, f);
      const r = await withTimeout(readOrClearError(() => parquetProvider.open(p), p), 10_000, p);
      if (r !== 'ok') expect(r.message.length).toBeGreaterThan(p.length + 10);
    }, 15_000);
  }
});

describe('parquet hostile copies', () => {
  if (!data) { it.skip('corpus absent', () => {}); return; }
  for (const name of ['alltypes_plain.snappy.parquet', 'nested_lists.snappy.parquet', 'byte_stream_split.zstd.parquet', 'delta_byte_array.parquet', 'int96_from_spark.parquet']) {
    it(`truncated and bit-flipped ${name}`, async () => {
      const { dir, cleanup } = tempDir();
      try {
        const copies = hostileCopies(join(data, name), dir, { flips: 40, seed: name.length });
        const results: ('ok' | CdxError)[] = [];
        for (const p of copies) results.push(await withTimeout(readOrClearError(() => parquetProvider.open(p), p), 10_000, p));
        expect(results.slice(0, 4).every((r) => r !== 'ok')).toBe(true); // truncated: footer gone
      } finally {
        cleanup();
      }
    }, 60_000);
  }
});

describe('parquet scan options', () => {
  if (!data) { it.skip('corpus absent', () => {}); return; }
  it('reads chosen columns in small batches, exact int64 and decimals', async () => {
    const src = await parquetProvider.open(join(data, 'alltypes_tiny_pages_plain.parquet'));
    const { batches, rows } = await drain(src, ['bigint_col', 'id']);
    expect(rows).toBe(7300);
    expect(batches[0].schema.fields.map((f) => f.name)).toEqual(['bigint_col', 'id']);
    expect(batches[0].schema.fields[0].type.toString()).toBe('Int64');
    const small = [];
    for await (const b of src.scan({ batchRows: 1000, columns: ['id'] })) small.push(b.numRows);
    expect(Math.max(...small)).toBeLessThanOrEqual(1000);
    await expect((async () => { for await (const _ of src.scan({ columns: ['nope'] })) { /* */ } })()).rejects.toThrow(/no column/);
    await src.close();
    const dec = await parquetProvider.open(join(data, 'int64_decimal.parquet'));
    const info = await dec.info();
    expect(info.schema.fields[0]).toMatchObject({ type: 'decimal', precision: 10, scale: 2 });
    await dec.close();
  });
});

describe('parquet written by DuckDB: every type, against DuckDB', () => {
  it('reads decimals of every width exactly, temporal units, unsigned, nested, multiple row groups', async () => {
    const db = await duckdb();
    if (!db) return;
    const { dir, cleanup } = tempDir('cdx-pq-');
    try {
      const p = join(dir, 'types.parquet');
      await db.all(`COPY (SELECT
          (i % 256 - 128)::TINYINT AS i8, (i * 10 - 15000)::SMALLINT AS i16, (i * 70000)::INTEGER AS i32, (i::BIGINT * 3037000499) AS i64,
          (i % 256)::UTINYINT AS u8, (i * 20)::USMALLINT AS u16, (i * 70000)::UINTEGER AS u32, (i::UBIGINT * 4000000000000000) AS u64,
          (i / 7)::FLOAT AS f32, (i / 7)::DOUBLE AS f64, (i % 2 = 0) AS b,
          ((i % 7000) * 0.01 - 35)::DECIMAL(4, 2) AS d4, (i * 123456.789)::DECIMAL(18, 3) AS d18,
          ('-12345678901234567890.' || i)::DECIMAL(38, 10) AS d38,
          DATE '2000-01-01' + i::INTEGER AS day, TIMESTAMP '2020-02-29 12:34:56.789123' + to_minutes(i) AS ts,
          TIMESTAMPTZ '2021-06-01 00:00:00+00' + to_seconds(i) AS tstz,
          'str' || i AS s, CASE WHEN i % 3 = 0 THEN NULL ELSE 'maybe' END AS ns, ('\\x00\\xFF' || i::VARCHAR)::BLOB AS bl,
          [i, i + 1] AS lst, {'a': i, 'b': 'x' || i} AS st, MAP {'k': i} AS mp
        FROM range(0, 3000) t(i)) TO '${p}' (FORMAT parquet, ROW_GROUP_SIZE 1000)`);
      const src = await parquetProvider.open(p);
      const { info, batches, rows } = await drain(src);
      await src.close();
      expect(rows).toBe(3000);
      const types = Object.fromEntries(info.schema.fields.map((f) => [f.name, f.type]));
      expect(types).toMatchObject({ i8: 'int8', i16: 'int16', i32: 'int32', i64: 'int64', u8: 'uint8', u16: 'uint16', u32: 'uint32', u64: 'uint64',
        f32: 'float32', f64: 'float64', b: 'bool', d4: 'decimal', d18: 'decimal', d38: 'decimal', day: 'date', ts: 'timestamp', tstz: 'timestamp',
        s: 'string', ns: 'string', bl: 'binary', lst: 'json', st: 'json', mp: 'json' });
      expect(info.schema.fields.find((f) => f.name === 'd38')).toMatchObject({ precision: 38, scale: 10 });
      expect(info.schema.fields.find((f) => f.name === 'tstz')?.tz).toBe('UTC');
      const theirs = await db.all(`SELECT ${info.schema.fields.map(duckExpr).join(', ')} FROM read_parquet('${p}')`);
      info.schema.fields.forEach((f, ci) => {
        const cells: { data: Data; i: number }[] = [];
        for (const b of batches) { const d = b.getChildAt(ci)!.data[0]; for (let i = 0; i < b.numRows; i++) cells.push({ data: d, i }); }
        const mismatch = compareColumn(f, cells, theirs.map((r) => r[ci]));
        expect(mismatch, String(mismatch)).toBeUndefined();
      });
      const lst = batches[0].getChild('lst')!.get(1);
      expect(JSON.parse(lst)).toEqual([1, 2]);
      expect(JSON.parse(batches[0].getChild('st')!.get(1))).toEqual({ a: 1, b: 'x1' });
    } finally {
      db.close();
      cleanup();
    }
  }, 60_000);
});
