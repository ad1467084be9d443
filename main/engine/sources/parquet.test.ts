import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Data } from 'apache-arrow';
import { parquetProvider } from './parquet';
import { corpusDir, drain, hostileCopies, readOrClearError, tempDir, withTimeout } from './testutil';
import { compareColumn, duckExpr, duckdb } from './oracle';
import { SourceError } from './types';

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
        expect(err).toBeInstanceOf(SourceError);
        expect(err.code).toBe('E_ENCRYPTED');
        expect(err.message).toMatch(/encrypted/);
        return;
      }
      if (REFUSED[base]) {
        const r = await withTimeout(readOrClearError(() => parquetProvider.open(file), file), 20_000, file);
        expect(r).not.toBe('ok');
        expect((r as SourceError).message).toMatch(REFUSED[base]);
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
        const results: ('ok' | SourceError)[] = [];
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
