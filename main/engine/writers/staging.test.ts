/**
 * CSV conversions staged in columnar form (convert.ts stageColumnar): the output equals the
 * streamed path's, also when a value past the typing sample widens a column and a late null
 * appears; the staged Arrow file never outlives the conversion (done, failed or cancelled).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tableFromIPC } from 'apache-arrow';
import { join } from 'node:path';
import { duckdb } from '../sources/testing/oracle';
import { tempDir } from '../sources/testing/util';
import { convert } from './convert';

let dir: string;
let cleanup: () => void;
let csv: string;
const ROWS = 120_000; // ~6 MB: past the 4 MiB typing sample
let db: Awaited<ReturnType<typeof duckdb>>;

beforeAll(async () => {
  ({ dir, cleanup } = tempDir('cdx-staging-'));
  csv = join(dir, 'in.csv');
  const lines = ['id,qty,code,note,day'];
  for (let i = 0; i < ROWS; i++) {
    // qty: integers until the last rows, then one decimal (widens int64 -> float64 after the sample)
    const qty = i === ROWS - 3 ? '2.5' : String((i * 7) % 1000);
    // note: never empty in the sample, one null near the end
    const note = i === ROWS - 2 ? '' : `n${i % 97} "quoted, with comma"`.replace(/"/g, '""');
    lines.push(`${i},${qty},0${i % 50},"${note}",2024-01-${String(1 + (i % 28)).padStart(2, '0')}`);
  }
  writeFileSync(csv, lines.join('\n') + '\n');
  db = await duckdb();
});
afterAll(() => {
  db?.close();
  cleanup();
});

const sq = (s: string) => "'" + s.replace(/'/g, "''") + "'";

describe('CSV conversions staged in columnar form', () => {
  it('write what the streamed path writes (widened column, late null), and leave only the output', async () => {
    const out = join(dir, 'staged');
    const ref = join(dir, 'streamed');
    mkdirSync(out);
    mkdirSync(ref);
    const a = await convert({ input: csv, output: join(out, 'x.parquet') });
    const b = await convert({ input: csv, output: join(ref, 'x.parquet'), staging: 'off' });
    expect(readdirSync(out)).toEqual(['x.parquet']);
    expect(a.rows).toBe(ROWS);
    expect(b.rows).toBe(ROWS);
    expect(a.warnings.map((w) => w.code)).toContain('W_WIDENED');
    if (!db) return;
    const types = async (p: string) => (await db!.all(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(${sq(p)}))`)).map((r) => `${r[0]}:${r[1]}`);
    expect(await types(join(out, 'x.parquet'))).toEqual(await types(join(ref, 'x.parquet')));
    expect(await types(join(out, 'x.parquet'))).toContain('qty:DOUBLE');
    // every row equal, in order
    const diff = await db.all(
      `SELECT count(*) FROM (SELECT * FROM read_parquet(${sq(join(out, 'x.parquet'))}) EXCEPT ALL SELECT * FROM read_parquet(${sq(join(ref, 'x.parquet'))}))`,
    );
    expect(Number(diff[0]![0])).toBe(0);
    const late = await db.all(`SELECT qty, note FROM read_parquet(${sq(join(out, 'x.parquet'))}) WHERE id >= ${ROWS - 3} ORDER BY id`);
    expect(late.map((r) => [Number(r[0]), r[1]])).toEqual([[2.5, `n${(ROWS - 3) % 97} "quoted, with comma"`], [((ROWS - 2) * 7) % 1000, null], [((ROWS - 1) * 7) % 1000, `n${(ROWS - 1) % 97} "quoted, with comma"`]]);
    const codes = await db.all(`SELECT code FROM read_parquet(${sq(join(out, 'x.parquet'))}) WHERE id = 1`);
    expect(codes[0]![0]).toBe('01'); // leading zeros stay a string
  });

  it('keep the nullability the data has (the staged file calls every column nullable), as the streamed path does', async () => {
    const sub = tempDir('cdx-staging-null-');
    try {
      await convert({ input: csv, output: join(sub.dir, 'staged.arrow') });
      await convert({ input: csv, output: join(sub.dir, 'streamed.arrow'), staging: 'off' });
      const nullability = (f: string) => tableFromIPC(readFileSync(join(sub.dir, f))).schema.fields.map((x) => `${x.name}:${x.nullable}`);
      expect(nullability('staged.arrow')).toEqual(nullability('streamed.arrow'));
      expect(nullability('staged.arrow')).toEqual(['id:false', 'qty:false', 'code:false', 'note:true', 'day:false']);
      expect(readdirSync(sub.dir).sort()).toEqual(['staged.arrow', 'streamed.arrow']);
    } finally {
      sub.cleanup();
    }
  });

  it('a cancel while staging leaves no output, no temporary file and no staged copy', async () => {
    const sub = tempDir('cdx-staging-cancel-');
    try {
      const ac = new AbortController();
      await expect(
        convert({ input: csv, output: join(sub.dir, 'x.parquet'), signal: ac.signal, onProgress: () => ac.abort() }),
      ).rejects.toThrow(/cancelled/);
      expect(readdirSync(sub.dir)).toEqual([]);
    } finally {
      sub.cleanup();
    }
  });

  it('a failing writer after staging leaves nothing behind either', async () => {
    const sub = tempDir('cdx-staging-fail-');
    try {
      await expect(convert({ input: csv, output: join(sub.dir, 'x.parquet'), options: { compression: 'nope' } })).rejects.toThrow(/compression/);
      expect(readdirSync(sub.dir)).toEqual([]);
    } finally {
      sub.cleanup();
    }
  });
});
