/**
 * The native Parquet encoder checked by three independent readers — DuckDB, CDX's own Parquet
 * reader (hyparquet) and parquet-wasm (arrow-rs, which also restores the embedded Arrow schema) —
 * against ground truth kept as plain JS values: every covered type with nulls and edge values
 * (int64 beyond 2^53 and at its limits, uint64 max, NaN/±Inf/-0.0, empty strings vs nulls, emoji,
 * dates before 1970, timestamps of each unit with and without a zone), batches sliced at odd row
 * offsets (validity and bool bits not byte-aligned), a 0-row batch, several row groups, zstd and
 * none. Plus: convert() picks the native path only when it covers the file, the engine option,
 * a cancel leaves nothing, bad buffers are refused with a code naming the file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  Bool, DateDay, DateMillisecond, Field, Float32, Float64, Int16, Int32, Int64, Int8, LargeUtf8, RecordBatch, Schema, Struct,
  Table, TimeUnit, Timestamp, Uint16, Uint32, Uint64, Uint8, Utf8, makeData, tableFromIPC, tableToIPC, type DataType,
} from 'apache-arrow';
import { duckdb } from '../sources/testing/oracle';
import { rng, tempDir } from '../sources/testing/util';
import { openSource } from '../sources/registry';
import { convert } from './convert';
import { NativeParquetWriter, nativeParquetInfo } from '../../../native/parquet';

type V = number | bigint | boolean | string | null;
interface Col { name: string; type: DataType; values: V[] }

const ROWS = 1000;
const info = nativeParquetInfo();
const DAY = 86_400_000n;

/** Edge pools per column; row i takes pool[i] for the first rows, then random picks, ~15% null. */
function truth(seed: number): Col[] {
  const r = rng(seed);
  const pick = <T,>(pool: T[], i: number): T | null => (i < pool.length ? pool[i] : r() < 0.15 ? null : pool[Math.floor(r() * pool.length)]);
  const gen = <T extends V>(pool: T[]) => Array.from({ length: ROWS }, (_, i) => pick(pool, i));
  return [
    { name: 'i8', type: new Int8(), values: gen([0, -128, 127, -1, 5]) },
    { name: 'i16', type: new Int16(), values: gen([0, -32768, 32767, -7]) },
    { name: 'i32', type: new Int32(), values: gen([0, -2147483648, 2147483647, 42]) },
    { name: 'i64', type: new Int64(), values: gen([2n ** 53n + 1n, -(2n ** 53n) - 1n, 2n ** 63n - 1n, -(2n ** 63n), 0n, -1n]) },
    { name: 'u8', type: new Uint8(), values: gen([0, 255, 128]) },
    { name: 'u16', type: new Uint16(), values: gen([0, 65535, 32768]) },
    { name: 'u32', type: new Uint32(), values: gen([0, 4294967295, 2147483648]) },
    { name: 'u64', type: new Uint64(), values: gen([2n ** 64n - 1n, 2n ** 63n, 0n, 2n ** 53n + 1n]) },
    { name: 'f32', type: new Float32(), values: gen([NaN, Infinity, -Infinity, -0, 0, 1.5, 3.4028234663852886e38, Math.fround(1e-45), Math.fround(0.1)]) },
    { name: 'f64', type: new Float64(), values: gen([NaN, Infinity, -Infinity, -0, 0, 0.1, 5e-324, 1.7976931348623157e308, 1 / 3]) },
    { name: 'b', type: new Bool(), values: gen([true, false, true, true, false]) },
    { name: 's', type: new Utf8(), values: gen(['', 'plain', '\u{1F600}\u{1F44D}\u{1F3FD}', 'e\u0301', '\u4e2d\u6587', 'a,b "q"\nline', 'x'.repeat(3000)]) },
    { name: 'ls', type: new LargeUtf8(), values: gen(['', '\u{1F9EA}', 'large', 'NA']) },
    { name: 'd32', type: new DateDay(), values: gen([0, -1, 19724, -719162, 2932896]) },
    { name: 'd64', type: new DateMillisecond(), values: gen([0n, -DAY, 19724n * DAY, -719162n * DAY]) },
    { name: 'ts_s', type: new Timestamp(TimeUnit.SECOND), values: gen([0n, -1n, 1704164645n, 253402300799n]) },
    { name: 'ts_ms_tz', type: new Timestamp(TimeUnit.MILLISECOND, 'Europe/Paris'), values: gen([0n, -1n, 1704164645123n]) },
    { name: 'ts_us', type: new Timestamp(TimeUnit.MICROSECOND), values: gen([0n, -1n, 1704164645123456n, -62135596800000000n]) },
    { name: 'ts_ns_utc', type: new Timestamp(TimeUnit.NANOSECOND, 'UTC'), values: gen([0n, -1n, 1704164645123456789n, 2n ** 62n]) },
  ];
}

/** Arrow data of one column, built buffer by buffer (no rounding through Date or Number). */
function dataOf(c: Col) {
  const n = c.values.length;
  const nullBitmap = new Uint8Array((n + 7) >> 3);
  let nullCount = 0;
  c.values.forEach((v, i) => (v === null ? nullCount++ : (nullBitmap[i >> 3] |= 1 << (i & 7))));
  const t = c.type as any;
  if (c.type instanceof Utf8 || c.type instanceof LargeUtf8) {
    const enc = c.values.map((v) => Buffer.from(v === null ? '' : (v as string), 'utf8'));
    const large = c.type instanceof LargeUtf8;
    const offsets = large ? new BigInt64Array(n + 1) : new Int32Array(n + 1);
    let at = 0;
    enc.forEach((b, i) => {
      at += b.length;
      offsets[i + 1] = (large ? BigInt(at) : at) as never;
    });
    return makeData({ type: c.type as any, length: n, nullCount, nullBitmap, valueOffsets: offsets as any, data: Buffer.concat(enc) });
  }
  if (c.type instanceof Bool) {
    const bits = new Uint8Array((n + 7) >> 3);
    c.values.forEach((v, i) => v && (bits[i >> 3] |= 1 << (i & 7)));
    return makeData({ type: c.type, length: n, nullCount, nullBitmap, data: bits });
  }
  const arr = new t.ArrayType(n);
  c.values.forEach((v, i) => (arr[i] = v === null ? (arr instanceof BigInt64Array || arr instanceof BigUint64Array ? 0n : 0) : v));
  return makeData({ type: c.type as any, length: n, nullCount, nullBitmap, data: arr });
}

function batchOf(cols: Col[]): RecordBatch {
  const schema = new Schema(cols.map((c) => new Field(c.name, c.type, true)));
  const children = cols.map(dataOf);
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: ROWS, nullCount: 0, children }));
}

/** Normal form of a value for comparison: text (a double's shortest text is exact), -0 kept apart from 0. */
function norm(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number' && Object.is(v, -0)) return '-0';
  return String(v);
}

function expectColumn(name: string, got: unknown[], want: V[], map: (v: V) => unknown = (v) => v) {
  expect(got.length, `${name}: rows`).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const w = want[i] === null ? null : norm(map(want[i]));
    if (norm(got[i]) !== w) expect(norm(got[i]), `${name}[${i}]`).toBe(w);
  }
}

let dir: string;
let cleanup: () => void;
let db: Awaited<ReturnType<typeof duckdb>>;
const cols = truth(11);
const batch = batchOf(cols);
const byName = Object.fromEntries(cols.map((c) => [c.name, c]));

/** Writes `batch` in uneven slices (odd bit offsets, a 0-row slice) through the native encoder. */
async function writeNative(path: string, codec: 'zstd' | 'none', rowGroupRows: number): Promise<void> {
  const w = NativeParquetWriter.open(path, batch.schema, { codec, rowGroupRows });
  const cuts = [0, 0, 1, 8, 21, 333, 334, 700, ROWS];
  for (let k = 0; k + 1 < cuts.length; k++) await w.write(batch.slice(cuts[k], cuts[k + 1]));
  const r = await w.finish();
  expect(r.rows).toBe(ROWS);
}

beforeAll(async () => {
  ({ dir, cleanup } = tempDir('cdx-pqnative-'));
  db = await duckdb();
});
afterAll(() => {
  db?.close();
  cleanup();
});

if (!info.available || !info.zstd) console.warn(`native Parquet encoder tests skipped: ${!info.available ? 'encoder not built' : 'built without zstd (install libzstd-dev and rebuild)'}`);

// CI installs libzstd-dev (.ci/run): there the encoder must be there, or the suite below would skip silently
it.runIf(!!process.env.CI)('CI builds the native Parquet encoder with zstd', () => {
  expect(info).toMatchObject({ available: true, zstd: true });
});

describe.skipIf(!info.available || !info.zstd)('native Parquet encoder', () => {
  for (const codec of ['zstd', 'none'] as const) {
    it(`${codec}: DuckDB reads every value back, with the codec, row groups and logical types`, async () => {
      if (!db) return;
      const out = join(dir, `all-${codec}.parquet`);
      await writeNative(out, codec, 300);
      const sql = (e: string) => `SELECT ${e} FROM read_parquet('${out}')`;
      const col = async (e: string) => (await db!.all(sql(e))).map((r) => r[0]);
      const text = (c: string) => col(`CAST("${c}" AS VARCHAR)`);
      for (const c of ['i8', 'i16', 'i32', 'i64', 'u8', 'u16', 'u32', 'u64', 's', 'ls']) expectColumn(c, await text(c), byName[c].values);
      for (const c of ['f32', 'f64']) expectColumn(c, await col(`CAST("${c}" AS DOUBLE)`), byName[c].values);
      expectColumn('b', await col('b'), byName.b.values);
      expectColumn('d32', await col(`CAST(datediff('day', DATE '1970-01-01', d32) AS VARCHAR)`), byName.d32.values);
      expectColumn('d64', await col(`CAST(datediff('day', DATE '1970-01-01', d64) AS VARCHAR)`), byName.d64.values, (v) => (v as bigint) / DAY);
      expectColumn('ts_s', await text('ts_s'), byName.ts_s.values);
      expectColumn('ts_ms_tz', await col('CAST(epoch_ms(ts_ms_tz) AS VARCHAR)'), byName.ts_ms_tz.values);
      expectColumn('ts_us', await col('CAST(epoch_us(ts_us) AS VARCHAR)'), byName.ts_us.values);
      // DuckDB holds a zoned timestamp in µs: ns are truncated toward zero on its side (as for arrow-rs's files)
      expectColumn('ts_ns_utc', await col('CAST(epoch_us(ts_ns_utc) AS VARCHAR)'), byName.ts_ns_utc.values, (v) => (v as bigint) / 1000n);
      const types = Object.fromEntries((await db.all(`SELECT column_name, column_type FROM (DESCRIBE ${sql('*')})`)).map((t) => [t[0], t[1]]));
      expect(types).toEqual({
        i8: 'TINYINT', i16: 'SMALLINT', i32: 'INTEGER', i64: 'BIGINT', u8: 'UTINYINT', u16: 'USMALLINT', u32: 'UINTEGER', u64: 'UBIGINT',
        f32: 'FLOAT', f64: 'DOUBLE', b: 'BOOLEAN', s: 'VARCHAR', ls: 'VARCHAR', d32: 'DATE', d64: 'DATE', ts_s: 'BIGINT',
        ts_ms_tz: 'TIMESTAMP WITH TIME ZONE', ts_us: 'TIMESTAMP', ts_ns_utc: 'TIMESTAMP WITH TIME ZONE',
      });
      const meta = await db.all(`SELECT DISTINCT compression FROM parquet_metadata('${out}')`);
      expect(meta.map((m) => String(m[0]).toLowerCase())).toEqual([codec === 'none' ? 'uncompressed' : codec]);
      const groups = await db.all(`SELECT row_group_id, any_value(row_group_num_rows) FROM parquet_metadata('${out}') GROUP BY 1 ORDER BY 1`);
      expect(groups.map((g) => Number(g[1]))).toEqual([300, 300, 300, 100]);
      const nulls = await db.all(`SELECT path_in_schema, sum(stats_null_count) FROM parquet_metadata('${out}') GROUP BY 1`);
      for (const [p, n] of nulls) expect(Number(n), String(p)).toBe(byName[String(p)].values.filter((v) => v === null).length);
    });
  }

  it('column statistics: min/max per row group that DuckDB trusts to skip row groups, and every filtered count right', async () => {
    if (!db) return;
    const out = join(dir, 'stats.parquet');
    await writeNative(out, 'zstd', 128);
    const stats = await db.all(`SELECT path_in_schema, count(*), count(stats_min_value), count(stats_max_value) FROM parquet_metadata('${out}') GROUP BY 1`);
    for (const [p, groups, mins, maxs] of stats) {
      // (DuckDB shows an infinite float bound as null, so floats are checked by the counts below)
      if (['f32', 'f64'].includes(String(p))) continue;
      const numeric = !['s', 'ls', 'b'].includes(String(p));
      expect([Number(mins), Number(maxs)], String(p)).toEqual(numeric ? [Number(groups), Number(groups)] : [0, 0]);
    }
    // literal of a value in DuckDB SQL, typed like the column (so the filter is pushed down as is)
    const lit: Record<string, (v: V) => string> = {
      i8: (v) => `(${v})::TINYINT`, i16: (v) => `(${v})::SMALLINT`, i32: (v) => `(${v})::INTEGER`, i64: (v) => `(${v})::BIGINT`,
      u8: (v) => `${v}::UTINYINT`, u16: (v) => `${v}::USMALLINT`, u32: (v) => `${v}::UINTEGER`, u64: (v) => `${v}::UBIGINT`,
      f32: (v) => `'${v}'::FLOAT`, f64: (v) => `'${v}'::DOUBLE`, d32: (v) => `(DATE '1970-01-01' + (${v}))`, ts_s: (v) => `(${v})::BIGINT`,
    };
    for (const [c, toSql] of Object.entries(lit)) {
      const vals = byName[c].values.filter((v): v is number | bigint => v !== null && !(typeof v === 'number' && Number.isNaN(v)));
      const sorted = [...vals].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      for (const t of [sorted[0], sorted[sorted.length - 1], sorted[sorted.length >> 1]]) {
        const want = { eq: vals.filter((v) => v == t).length, le: vals.filter((v) => v <= t).length, ge: vals.filter((v) => v >= t).length };
        const [eq, le, ge] = (await db.all(`SELECT count(*) FILTER (WHERE "${c}" = ${toSql(t)}), count(*) FILTER (WHERE "${c}" <= ${toSql(t)}),
          count(*) FILTER (WHERE "${c}" >= ${toSql(t)}${c.startsWith('f') ? ` AND NOT isnan("${c}")` : ''}) FROM read_parquet('${out}')`))[0].map(Number);
        expect({ eq, le, ge }, `${c} vs ${t}`).toEqual(want);
        const pushed = Number((await db.all(`SELECT count(*) FROM read_parquet('${out}') WHERE "${c}" = ${toSql(t)}`))[0][0]);
        expect(pushed, `${c} = ${t} (pushed down)`).toBe(want.eq);
      }
    }
  });

  it("CDX's own Parquet reader reads every value back", async () => {
    const out = join(dir, 'all-zstd.parquet');
    if (!existsSync(out)) await writeNative(out, 'zstd', 300);
    const src = await openSource(out);
    try {
      const got: Record<string, unknown[]> = Object.fromEntries(cols.map((c) => [c.name, []]));
      for await (const b of src.scan({})) {
        for (const c of cols) {
          const d = b.getChild(c.name)!.data[0];
          for (let i = 0; i < d.length; i++) {
            if (!d.getValid(i)) { got[c.name].push(null); continue; }
            if (c.type instanceof Utf8 || c.type instanceof LargeUtf8 || c.type instanceof Bool) got[c.name].push(b.getChild(c.name)!.get(i));
            else got[c.name].push((d.values as any)[i * (d.stride ?? 1)]);
          }
        }
      }
      for (const c of cols) expectColumn(c.name, got[c.name], c.values, c.name === 'd64' ? (v) => (v as bigint) / DAY : undefined);
      const types = Object.fromEntries((await src.info()).schema.fields.map((f) => [f.name, f.type + (f.tz ? `/${f.tz}` : '')]));
      // (ts_us: the reader lets the legacy TIMESTAMP_MICROS annotation, which arrow-rs and this encoder
      // both write beside isAdjustedToUTC=false, mean UTC; the same for either encoder)
      expect(types).toMatchObject({ i8: 'int8', u8: 'uint8', u32: 'uint32', i64: 'int64', u64: 'uint64', f32: 'float32', s: 'string', ls: 'string', d32: 'date', d64: 'date', ts_ms_tz: 'timestamp/UTC', ts_ns_utc: 'timestamp/UTC' });
    } finally {
      await src.close();
    }
  });

  it('parquet-wasm (arrow-rs) reads it back with the embedded Arrow schema: zone names, unsigned and large types', async () => {
    const out = join(dir, 'all-zstd.parquet');
    if (!existsSync(out)) await writeNative(out, 'zstd', 300);
    const pw = await import('parquet-wasm');
    const t = tableFromIPC(pw.readParquet(readFileSync(out)).intoIPCStream());
    expect(t.numRows).toBe(ROWS);
    const types = Object.fromEntries(t.schema.fields.map((f) => [f.name, String(f.type)]));
    expect(types).toMatchObject({
      u64: 'Uint64', ls: 'LargeUtf8', ts_ms_tz: 'Timestamp<MILLISECOND, Europe/Paris>', ts_ns_utc: 'Timestamp<NANOSECOND, UTC>', ts_s: 'Timestamp<SECOND>', d64: 'Date64<MILLISECOND>',
    });
    for (const c of cols) {
      const got: unknown[] = [];
      for (const d of t.getChild(c.name)!.data) {
        for (let i = 0; i < d.length; i++) {
          if (!d.getValid(i)) got.push(null);
          else if (c.type instanceof Utf8 || c.type instanceof LargeUtf8 || c.type instanceof Bool) got.push(t.getChild(c.name)!.get(got.length));
          else got.push((d.values as any)[i]);
        }
      }
      expectColumn(c.name, got, c.values);
    }
  });

  it('non-nullable fields are REQUIRED columns (no definition levels), values intact', async () => {
    if (!db) return;
    const pick = ['i64', 'u32', 'f64', 'b', 's', 'd64', 'ts_us'];
    const dense = pick.map((n) => ({ ...byName[n], values: byName[n].values.map((v, i) => v ?? byName[n].values[i % 4]) }));
    const schema = new Schema(dense.map((c) => new Field(c.name, c.type, false)));
    const rb = new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: ROWS, nullCount: 0, children: dense.map(dataOf) }));
    const out = join(dir, 'required.parquet');
    const w = NativeParquetWriter.open(out, schema, { codec: 'zstd', rowGroupRows: 300 });
    await w.write(rb.slice(0, 13));
    await w.write(rb.slice(13));
    await w.finish();
    const reps = await db.all(`SELECT name, repetition_type FROM parquet_schema('${out}') WHERE name <> 'arrow_schema'`);
    expect(reps.map((r) => String(r[1]))).toEqual(pick.map(() => 'REQUIRED'));
    const col = async (e: string) => (await db!.all(`SELECT ${e} FROM read_parquet('${out}')`)).map((r) => r[0]);
    for (const c of dense) {
      const e = c.name === 'd64' ? `CAST(datediff('day', DATE '1970-01-01', d64) AS VARCHAR)` : c.name === 'ts_us' ? 'CAST(epoch_us(ts_us) AS VARCHAR)'
        : c.name === 'f64' || c.name === 'b' ? c.name : `CAST("${c.name}" AS VARCHAR)`;
      expectColumn(c.name, await col(e), c.values, c.name === 'd64' ? (v) => (v as bigint) / DAY : undefined);
    }
  });

  it('a 0-row file is valid: DuckDB and CDX read the schema and no rows', async () => {
    const out = join(dir, 'empty.parquet');
    const w = NativeParquetWriter.open(out, batch.schema, { codec: 'zstd' });
    await w.write(batch.slice(0, 0));
    expect(await w.finish()).toMatchObject({ rows: 0, rowGroups: 0 });
    if (db) {
      expect(Number((await db.all(`SELECT count(*) FROM read_parquet('${out}')`))[0][0])).toBe(0);
      expect((await db.all(`SELECT column_name FROM (DESCRIBE SELECT * FROM read_parquet('${out}'))`)).length).toBe(cols.length);
    }
    const src = await openSource(out);
    expect((await src.info()).rows).toBe(0);
    await src.close();
  });

  it('rowGroupBytes closes a row group early', async () => {
    const out = join(dir, 'bytes.parquet');
    const w = NativeParquetWriter.open(out, batch.schema, { codec: 'none', rowGroupRows: 1 << 20, rowGroupBytes: 1 });
    for (let k = 0; k < 4; k++) await w.write(batch.slice(k * 250, (k + 1) * 250));
    expect((await w.finish()).rowGroups).toBe(4);
    if (db) expect(Number((await db.all(`SELECT count(*) FROM read_parquet('${out}')`))[0][0])).toBe(ROWS);
  });

  it('bad input is refused with a stable code naming the file: bad offsets, nulls in a non-nullable column, an existing file', async () => {
    const out = join(dir, 'bad.parquet');
    const s = new Schema([new Field('s', new Utf8(), true)]);
    const bad = makeData({ type: new Utf8(), length: 2, nullCount: 0, valueOffsets: new Int32Array([0, 5, 2]), data: new Uint8Array(5) });
    const w = NativeParquetWriter.open(out, s, { codec: 'zstd' });
    const rb = new RecordBatch(s, makeData({ type: new Struct(s.fields), length: 2, nullCount: 0, children: [bad] }));
    await w.write(rb).catch(() => undefined);
    const e1 = await w.finish().catch((e) => e);
    expect(e1.code).toBe('E_CORRUPT');
    expect(e1.message).toContain(out);
    await w.abort();

    const out2 = join(dir, 'bad2.parquet');
    const s2 = new Schema([new Field('x', new Int32(), false)]);
    const withNull = makeData({ type: new Int32(), length: 3, nullCount: 1, nullBitmap: new Uint8Array([0b101]), data: new Int32Array(3) });
    const w2 = NativeParquetWriter.open(out2, s2, { codec: 'none' });
    await w2.write(new RecordBatch(s2, makeData({ type: new Struct(s2.fields), length: 3, nullCount: 0, children: [withNull] }))).catch(() => undefined);
    const e2 = await w2.finish().catch((e) => e);
    expect(e2.code).toBe('E_BAD_VALUE');
    expect(e2.message).toContain(out2);
    await w2.abort();

    writeFileSync(join(dir, 'exists.parquet'), 'x');
    let e3: any;
    try {
      NativeParquetWriter.open(join(dir, 'exists.parquet'), s, { codec: 'zstd' });
    } catch (e) {
      e3 = e;
    }
    expect(e3.code).toBe('E_EXISTS');
    expect(e3.message).toContain('exists.parquet');
  });

  it('a cancel rejects with E_CANCELLED, and convert() leaves no output', async () => {
    const ac = new AbortController();
    const out = join(dir, 'cancel.parquet');
    const w = NativeParquetWriter.open(out, batch.schema, { codec: 'zstd', signal: ac.signal });
    ac.abort();
    const e = await w.write(batch).then(() => w.finish()).catch((x) => x);
    expect(e.code).toBe('E_CANCELLED');
    await w.abort();

    // through convert(): cancel after the first batch
    const arrows = join(dir, 'src.arrows');
    writeFileSync(arrows, tableToIPC(new Table([batch, batch, batch]), 'stream'));
    const ac2 = new AbortController();
    const out2 = join(dir, 'cancelled.parquet');
    const err = await convert({
      input: arrows, output: out2, batchRows: 500, signal: ac2.signal, onProgress: (_f, rows) => { if (rows > 0) ac2.abort(); },
    }).catch((x) => x);
    expect(err.code).toBe('E_CANCELLED');
    expect(existsSync(out2)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes('cancelled.parquet'))).toEqual([]);
  });

  it('convert(): native for covered columns (engine=native), the same values as engine=wasm; uncovered types fall back', async () => {
    if (!db) return;
    const arrows = join(dir, 'conv.arrows');
    writeFileSync(arrows, tableToIPC(new Table([batch]), 'stream'));
    const a = join(dir, 'conv-native.parquet');
    const b = join(dir, 'conv-wasm.parquet');
    const ra = await convert({ input: arrows, output: a, options: { engine: 'native', rowGroupRows: '400' } });
    await convert({ input: arrows, output: b, options: { engine: 'wasm', rowGroupRows: '400' } });
    expect(ra.report.notes.join('\n')).toMatch(/encoder: native/);
    const created = async (p: string) => String((await db!.all(`SELECT created_by FROM parquet_file_metadata('${p}')`))[0][0]);
    expect(await created(a)).toMatch(/native/);
    expect(await created(b)).toMatch(/parquet-wasm/);
    // same rows (DuckDB; d64 differs by design: DATE natively, a bare INT64 from arrow-rs)
    const cmp = await db.all(`SELECT count(*) FROM (SELECT * EXCLUDE (d64) FROM read_parquet('${a}') EXCEPT ALL SELECT * EXCLUDE (d64) FROM read_parquet('${b}'))`);
    expect(Number(cmp[0][0])).toBe(0);
    // snappy is not native: auto falls back, native refuses with the reason
    const c = join(dir, 'conv-snappy.parquet');
    await convert({ input: arrows, output: c, options: { compression: 'snappy' } });
    expect(await created(c)).toMatch(/parquet-wasm/);
    await expect(convert({ input: arrows, output: join(dir, 'x.parquet'), options: { compression: 'snappy', engine: 'native' } })).rejects.toMatchObject({ code: 'E_UNSUPPORTED' });
  });
});
