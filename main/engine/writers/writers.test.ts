/**
 * Writers checked by independent readers against generated edge values (ground truth kept as plain
 * JS values): DuckDB reads our CSV and Parquet, Python's sqlite3 reads our SQLite (DuckDB's sqlite
 * extension cannot be installed offline), apache-arrow reads our Arrow file, numpy reads our
 * NPY/NPZ, h5wasm reads our HDF5. Plus filtered and column-subset exports, the safety rules (never
 * the input, no silent replace, a cancel or failure leaves nothing) and the fidelity reports.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, linkSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { duckdb } from '../sources/testing/oracle';
import { tempDir } from '../sources/testing/util';
import { convert } from './convert';
import { EDGE_COLUMNS, dec4, edgeTruth, writeEdgeArrow, type EdgeTruth } from './testing/edge';

const ROWS = 300;
let dir: string;
let cleanup: () => void;
let src: string;
let truth: EdgeTruth;
let db: Awaited<ReturnType<typeof duckdb>>;

beforeAll(async () => {
  ({ dir, cleanup } = tempDir('cdx-writers-'));
  truth = edgeTruth(ROWS, 7);
  src = join(dir, 'edge.arrows');
  writeEdgeArrow(src, truth, 64);
  db = await duckdb();
});
afterAll(() => {
  db?.close();
  cleanup();
});


function python(code: string): any {
  const r = spawnSync('python3', ['-c', code], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}
const hasNumpy = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;

/** ISO text of µs / ns since the epoch, computed with Date for the seconds (independent of values.ts). */
function iso(count: bigint, digits: 6 | 9, sep = 'T'): string {
  const per = 10n ** BigInt(digits);
  let secs = count / per;
  let frac = count % per;
  if (frac < 0n) {
    frac += per;
    secs -= 1n;
  }
  const s = new Date(Number(secs) * 1000).toISOString().slice(0, 19);
  const y = Number(s.slice(0, 4));
  void y;
  return `${s.slice(0, 10)}${sep}${s.slice(11)}.${frac.toString().padStart(digits, '0')}`;
}
function isoDate(days: number): string {
  return new Date(days * 86_400_000).toISOString().slice(0, 10);
}

function sameFloat(a: unknown, b: unknown): boolean {
  if (typeof a !== 'number' || typeof b !== 'number') return false;
  return Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));
}

/** DuckDB's view of the edge columns, in the notation of `expectDuck`. */
const DUCK_SELECT = `CAST(i64 AS VARCHAR), CAST(u64 AS VARCHAR), f64, b, s, datediff('day', DATE '1970-01-01', d),
  CAST(epoch_us(ts) AS VARCHAR), CAST(epoch_ns(tsn) AS VARCHAR), CAST(dec AS VARCHAR)`;

function expectDuck(t: EdgeTruth, i: number): unknown[] {
  return [
    t.i64[i] === null ? null : String(t.i64[i]),
    t.u64[i] === null ? null : String(t.u64[i]),
    t.f64[i],
    t.b[i],
    t.s[i],
    t.d[i],
    t.ts[i] === null ? null : String(t.ts[i]),
    t.tsn[i] === null ? null : String(t.tsn[i]),
    t.dec[i] === null ? null : dec4(t.dec[i]!),
  ];
}

function compareRows(actual: unknown[][], expected: (i: number) => unknown[], rows: number[], cols: readonly string[]): void {
  expect(actual.length).toBe(rows.length);
  for (let k = 0; k < rows.length; k++) {
    const e = expected(rows[k]);
    for (let j = 0; j < e.length; j++) {
      let a = actual[k][j];
      if (typeof a === 'bigint') a = Number(a);
      const ok = e[j] === null ? a === null || a === undefined : typeof e[j] === 'number' ? sameFloat(a, e[j]) : a === e[j];
      if (!ok) throw new Error(`row ${rows[k]} column ${cols[j]}: got ${JSON.stringify(String(a))}, expected ${JSON.stringify(String(e[j]))}`);
    }
  }
}

const allRows = Array.from({ length: ROWS }, (_, i) => i);

describe('independent readers agree with what we wrote', () => {
  it('CSV: DuckDB reads every edge value back (typed columns, quoted "" vs null)', async () => {
    if (!db) return;
    const out = join(dir, 'edge.csv');
    const r = await convert({ input: src, output: out });
    expect(r.rows).toBe(ROWS);
    const rows = await db.all(`SELECT ${DUCK_SELECT} FROM read_csv('${out}', header=true, auto_detect=false, delim=',', quote='"', escape='"',
      nullstr='', allow_quoted_nulls=false, columns={'i64':'BIGINT','u64':'UBIGINT','f64':'DOUBLE','b':'BOOLEAN','s':'VARCHAR','d':'DATE',
      'ts':'TIMESTAMPTZ','tsn':'TIMESTAMP_NS','dec':'DECIMAL(20,4)'})`);
    compareRows(rows, (i) => expectDuck(truth, i), allRows, EDGE_COLUMNS);
  });

  it('CSV with a BOM, semicolons, CRLF and quote=all is still read back by DuckDB', async () => {
    if (!db) return;
    const out = join(dir, 'edge-excel.csv');
    await convert({ input: src, output: out, options: { bom: 'true', delimiter: ';', newline: 'crlf', quote: 'all' } });
    const bytes = readFileSync(out);
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const rows = await db.all(`SELECT s FROM read_csv('${out}', header=true, auto_detect=false, delim=';', quote='"', escape='"',
      nullstr='', allow_quoted_nulls=false, new_line='\\r\\n', columns={'i64':'VARCHAR','u64':'VARCHAR','f64':'VARCHAR','b':'VARCHAR','s':'VARCHAR','d':'VARCHAR',
      'ts':'VARCHAR','tsn':'VARCHAR','dec':'VARCHAR'})`);
    // quote=all writes "" for an empty string and nothing for a null
    compareRows(rows, (i) => [truth.s[i]], allRows, ['s']);
  });

  it('CSV and NDJSON with .gz are gzip-compressed and read back by DuckDB', async () => {
    if (!db) return;
    const out = join(dir, 'edge.csv.gz');
    await convert({ input: src, output: out, batchRows: 50 });
    expect([...readFileSync(out).subarray(0, 2)]).toEqual([0x1f, 0x8b]);
    const rows = await db.all(`SELECT ${DUCK_SELECT} FROM read_csv('${out}', header=true, auto_detect=false, delim=',', quote='"', escape='"',
      nullstr='', allow_quoted_nulls=false, columns={'i64':'BIGINT','u64':'UBIGINT','f64':'DOUBLE','b':'BOOLEAN','s':'VARCHAR','d':'DATE',
      'ts':'TIMESTAMPTZ','tsn':'TIMESTAMP_NS','dec':'DECIMAL(20,4)'})`);
    compareRows(rows, (i) => expectDuck(truth, i), allRows, EDGE_COLUMNS);
    const nd = join(dir, 'edge.ndjson.gz');
    await convert({ input: src, output: nd });
    const { gunzipSync } = await import('node:zlib');
    expect(gunzipSync(readFileSync(nd)).toString('utf8').trimEnd().split('\n').length).toBe(ROWS);
  });

  it('TSV by extension uses tabs', async () => {
    const out = join(dir, 'edge.tsv');
    await convert({ input: src, output: out, columns: ['i64', 's'] });
    expect(readFileSync(out, 'utf8').split('\n')[0]).toBe('i64\ts');
  });

  for (const codec of ['zstd', 'snappy', 'gzip', 'none']) {
    it(`Parquet (${codec}): DuckDB reads every edge value back, with the codec and row groups asked for`, async () => {
      if (!db) return;
      const out = join(dir, `edge-${codec}.parquet`);
      // snappy goes through the in-thread encoder (worker=false), the others through the worker thread
      await convert({ input: src, output: out, options: { compression: codec, rowGroupRows: '100', ...(codec === 'snappy' ? { worker: 'false' } : {}) } });
      const rows = await db.all(`SELECT ${DUCK_SELECT} FROM read_parquet('${out}')`);
      compareRows(rows, (i) => expectDuck(truth, i), allRows, EDGE_COLUMNS);
      const meta = await db.all(`SELECT DISTINCT compression FROM parquet_metadata('${out}')`);
      expect(meta.map((m) => String(m[0]).toLowerCase())).toEqual([codec === 'none' ? 'uncompressed' : codec]);
      const groups = await db.all(`SELECT count(DISTINCT row_group_id) FROM parquet_metadata('${out}')`);
      expect(Number(groups[0][0])).toBe(3);
      const types = await db.all(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('${out}'))`);
      expect(Object.fromEntries(types.map((t) => [t[0], t[1]]))).toMatchObject({
        i64: 'BIGINT', u64: 'UBIGINT', f64: 'DOUBLE', b: 'BOOLEAN', s: 'VARCHAR', d: 'DATE', ts: 'TIMESTAMP WITH TIME ZONE', tsn: 'TIMESTAMP_NS', dec: 'DECIMAL(20,4)',
      });
    });
  }

  it('Parquet with parallel encoders: row groups stitched in row order, every value as DuckDB reads it', async () => {
    if (!db) return;
    const out = join(dir, 'edge-par.parquet');
    await convert({ input: src, output: out, options: { encoders: '2', rowGroupRows: '37' } });
    const rows = await db.all(`SELECT ${DUCK_SELECT} FROM read_parquet('${out}')`);
    compareRows(rows, (i) => expectDuck(truth, i), allRows, EDGE_COLUMNS);
    const groups = await db.all(`SELECT row_group_id, any_value(row_group_num_rows) FROM parquet_metadata('${out}') GROUP BY 1 ORDER BY 1`);
    expect(groups.map((g) => Number(g[1]))).toEqual([...Array(Math.floor(ROWS / 37)).fill(37), ROWS % 37]);
    const back = await convert({ input: out, output: join(dir, 'edge-par-back.arrow') });
    expect(back.rows).toBe(ROWS);
    expect(readdirSync(dir).filter((f) => f.includes('.part'))).toEqual([]);
  });

  it('Arrow IPC file: apache-arrow reads the same buffers (types, zone, every value)', async () => {
    const out = join(dir, 'edge.feather');
    await convert({ input: src, output: out });
    const t = tableFromIPC(readFileSync(out));
    expect(t.numRows).toBe(ROWS);
    expect(String(t.schema.fields.find((f) => f.name === 'ts')!.type)).toBe('Timestamp<MICROSECOND, UTC>');
    expect(String(t.schema.fields.find((f) => f.name === 'dec')!.type)).toMatch(/Decimal.*20.*4|Decimal\[20e-4\]/);
    const get = (c: string, i: number) => t.getChild(c)!.get(i);
    for (let i = 0; i < ROWS; i++) {
      expect(get('i64', i)).toBe(truth.i64[i]);
      expect(get('u64', i)).toBe(truth.u64[i]);
      const f = get('f64', i);
      expect(truth.f64[i] === null ? f === null : sameFloat(f, truth.f64[i])).toBe(true);
      expect(get('s', i)).toBe(truth.s[i]);
      expect(get('b', i)).toBe(truth.b[i]);
    }
    // raw 64-bit values (get() rounds timestamps to ms)
    const tsRaw: (bigint | null)[] = [];
    for (const d of t.getChild('tsn')!.data) for (let i = 0; i < d.length; i++) tsRaw.push(d.getValid(i) ? (d.values as BigInt64Array)[i] : null);
    expect(tsRaw).toEqual(truth.tsn);
  });

  it('Arrow IPC stream (.arrows): apache-arrow and CDX read it back', async () => {
    const out = join(dir, 'edge-copy.arrows');
    await convert({ input: src, output: out });
    const bytes = readFileSync(out);
    expect(bytes.subarray(0, 6).toString('latin1')).not.toBe('ARROW1');
    const t = tableFromIPC(bytes);
    expect(t.numRows).toBe(ROWS);
    for (let i = 0; i < ROWS; i++) expect(t.getChild('i64')!.get(i)).toBe(truth.i64[i]);
    const r = await convert({ input: out, output: join(dir, 'edge-copy.csv'), columns: ['s'] });
    expect(r.rows).toBe(ROWS);
  });

  it('SQLite: Python sqlite3 reads the documented mapping (exact int64, ISO text dates, NaN as NULL)', async () => {
    const out = join(dir, 'edge.sqlite');
    const r = await convert({ input: src, output: out, options: { index: 'i64,s' } });
    expect(r.report.columns.find((c) => c.column === 'f64')!.status).toBe('lost');
    const rows = python(`
import sqlite3, json
c = sqlite3.connect(${JSON.stringify(out)})
def enc(v):
    if isinstance(v, int): return 'i:' + str(v)
    if isinstance(v, float): return 'f:' + repr(v)
    return v
rows = [[enc(v) for v in r] for r in c.execute('SELECT * FROM "edge" ORDER BY rowid')]
decl = [[r[1], r[2]] for r in c.execute('PRAGMA table_info("edge")')]
idx = sorted(r[1] for r in c.execute('PRAGMA index_list("edge")'))
print(json.dumps({'rows': rows, 'decl': decl, 'idx': idx}))`);
    expect(rows.decl).toEqual([['i64', 'INTEGER'], ['u64', 'TEXT'], ['f64', 'REAL'], ['b', 'BOOLEAN'], ['s', 'TEXT'], ['d', 'DATE'], ['ts', 'TIMESTAMP'], ['tsn', 'TIMESTAMP'], ['dec', 'TEXT']]);
    expect(rows.idx).toEqual(['edge_i64_idx', 'edge_s_idx']);
    const pyFloat = (x: number) => (Number.isNaN(x) ? null : x === Infinity ? 'f:inf' : x === -Infinity ? 'f:-inf' : x);
    compareRows(rows.rows.map((r: unknown[]) => r.map((v, j) => (j === 2 && typeof v === 'string' && v.startsWith('f:') && !/inf/.test(v) ? Number(v.slice(2)) : v))), (i) => [
      truth.i64[i] === null ? null : 'i:' + truth.i64[i],
      truth.u64[i] === null ? null : String(truth.u64[i]),
      truth.f64[i] === null ? null : Object.is(truth.f64[i], -0) ? 0 : pyFloat(truth.f64[i]!),
      truth.b[i] === null ? null : truth.b[i] ? 'i:1' : 'i:0',
      truth.s[i],
      truth.d[i] === null ? null : isoDate(truth.d[i]!),
      truth.ts[i] === null ? null : iso(truth.ts[i]!, 6, ' ') + 'Z',
      truth.tsn[i] === null ? null : iso(truth.tsn[i]!, 9, ' '),
      truth.dec[i] === null ? null : dec4(truth.dec[i]!),
    ], allRows, EDGE_COLUMNS);
  });

  it('NPZ: numpy reads an array per column, exact int64/uint64, NaT for null dates, null masks', async () => {
    if (!hasNumpy) return console.log('[skip] numpy not available');
    const out = join(dir, 'edge.npz');
    const r = await convert({ input: src, output: out });
    expect(r.report.columns.find((c) => c.column === 's')!.status).toBe('lost');
    const got = python(`
import numpy as np, json
z = np.load(${JSON.stringify(out)})
out = {}
for k in z.files:
    a = z[k]
    if a.dtype.kind in 'Mm': out[k] = [a.dtype.str, [None if np.isnat(v) else str(int(v.astype('int64'))) for v in a]]
    elif a.dtype.kind == 'f': out[k] = [a.dtype.str, [repr(float(v)) for v in a]]
    else: out[k] = [a.dtype.str, [str(v) for v in a.tolist()]]
print(json.dumps(out))`);
    expect(Object.keys(got).sort()).toEqual(['b', 'b__null', 'd', 'dec', 'dec__null', 'f64', 'f64__null', 'i64', 'i64__null', 'ts', 'tsn', 'u64', 'u64__null']);
    expect(got.i64[0]).toBe('<i8');
    expect(got.u64[0]).toBe('<u8');
    expect(got.d[0]).toBe('<M8[D]');
    expect(got.ts[0]).toBe('<M8[us]');
    expect(got.tsn[0]).toBe('<M8[ns]');
    for (let i = 0; i < ROWS; i++) {
      expect(got.i64__null[1][i]).toBe(truth.i64[i] === null ? 'True' : 'False');
      if (truth.i64[i] !== null) expect(got.i64[1][i]).toBe(String(truth.i64[i]));
      if (truth.u64[i] !== null) expect(got.u64[1][i]).toBe(String(truth.u64[i]));
      expect(got.d[1][i]).toBe(truth.d[i] === null ? null : String(truth.d[i]));
      expect(got.ts[1][i]).toBe(truth.ts[i] === null ? null : String(truth.ts[i]));
      // NaT is the int64 minimum: a real timestamp there would read as null (documented)
      expect(got.tsn[1][i]).toBe(truth.tsn[i] === null ? null : String(truth.tsn[i]));
      if (truth.f64[i] !== null) expect(Number(got.f64[1][i].replace('inf', 'Infinity'))).toSatisfy((x: number) => sameFloat(x, truth.f64[i]));
      if (truth.b[i] !== null) expect(got.b[1][i]).toBe(truth.b[i] ? 'True' : 'False');
    }
  });

  it('NPY: one 2-D array of the common dtype, or 1-D for one column', async () => {
    if (!hasNumpy) return console.log('[skip] numpy not available');
    const one = join(dir, 'one.npy');
    await convert({ input: src, output: one, columns: ['u64'], where: 'u64 is not null' });
    const two = join(dir, 'two.npy');
    await convert({ input: src, output: two, columns: ['i64', 'f64'] });
    const got = python(`
import numpy as np, json
a = np.load(${JSON.stringify(one)}); b = np.load(${JSON.stringify(two)})
print(json.dumps({'a': [a.dtype.str, list(a.shape), [str(v) for v in a.tolist()]], 'b': [b.dtype.str, list(b.shape), [repr(float(v)) for v in b[:, 1]]]}))`);
    const u = truth.u64.filter((x) => x !== null).map(String);
    expect(got.a).toEqual(['<u8', [u.length], u]);
    expect(got.b[0]).toBe('<f8');
    expect(got.b[1]).toEqual([ROWS, 2]);
    got.b[2].forEach((v: string, i: number) => {
      const x = Number(v.replace('inf', 'Infinity'));
      expect(truth.f64[i] === null ? Number.isNaN(x) : sameFloat(x, truth.f64[i])).toBe(true);
    });
  });

  it('HDF5: h5wasm reads a group with a dataset per column, gzip chunks, units/tz attributes and null masks', async () => {
    const out = join(dir, 'edge.h5');
    await convert({ input: src, output: out, options: { chunkRows: '50' } });
    const h5 = (await import('h5wasm/node')).default;
    await h5.ready;
    const f = new h5.File(out, 'r');
    try {
      const g: any = f.get('edge');
      const v = (k: string) => g.get(k).value as any;
      const mask = (k: string) => (g.get(`${k}__null`) ? (v(`${k}__null`) as Uint8Array) : new Uint8Array(ROWS));
      expect(g.get('i64').filters.map((x: any) => x.name)).toEqual(['deflate']);
      expect(g.get('ts').attrs.tz.value).toBe('UTC');
      expect(g.get('ts').attrs.units.value).toBe('microseconds since 1970-01-01T00:00:00Z');
      const cols: Record<string, unknown[]> = {
        i64: [...v('i64')], u64: [...v('u64')], f64: [...v('f64')], b: [...v('b')], s: v('s'), d: [...v('d')], ts: [...v('ts')], tsn: [...v('tsn')], dec: v('dec'),
      };
      for (const c of EDGE_COLUMNS) {
        const m = mask(c);
        for (let i = 0; i < ROWS; i++) {
          const want = (truth as any)[c][i];
          if (want === null) {
            expect(m[i], `${c}[${i}] null`).toBe(1);
            continue;
          }
          expect(m[i]).toBe(0);
          const got = cols[c][i];
          if (c === 'f64') expect(sameFloat(got, want)).toBe(true);
          else if (c === 'b') expect(got).toBe(want ? 1 : 0);
          else if (c === 'dec') expect(got).toBe(dec4(want));
          else expect(got, `${c}[${i}]`).toBe(want);
        }
      }
    } finally {
      f.close();
    }
  });

  it('NDJSON: every line parses as JSON; int64 digits exact; NaN/Infinity as strings', async () => {
    const out = join(dir, 'edge.ndjson');
    await convert({ input: src, output: out });
    const lines = readFileSync(out, 'utf8').trimEnd().split('\n');
    expect(lines.length).toBe(ROWS);
    lines.forEach((l, i) => {
      const o = JSON.parse(l);
      expect(o.s).toBe(truth.s[i]);
      const digits = /"i64":(-?\d+|null)/.exec(l)![1];
      expect(digits).toBe(truth.i64[i] === null ? 'null' : String(truth.i64[i]));
      const f = truth.f64[i];
      if (f !== null && !Number.isFinite(f)) expect(o.f64).toBe(Number.isNaN(f) ? 'NaN' : f > 0 ? 'Infinity' : '-Infinity');
    });
  });
});

describe('filtered and column-subset exports', () => {
  it('--where and --columns: the rows DuckDB selects with the same predicate, in the order asked', async () => {
    if (!db) return;
    const out = join(dir, 'filtered.parquet');
    const r = await convert({ input: src, output: out, where: 'f64 > 0 and s is not null', columns: ['s', 'i64'] });
    const want = allRows.filter((i) => truth.f64[i] !== null && (truth.f64[i] as number) > 0 && truth.s[i] !== null);
    expect(r.rows).toBe(want.length);
    expect(r.rowsRead).toBe(ROWS);
    const rows = await db.all(`SELECT s, CAST(i64 AS VARCHAR) FROM read_parquet('${out}')`);
    compareRows(rows, (i) => [truth.s[i], truth.i64[i] === null ? null : String(truth.i64[i])], want, ['s', 'i64']);
    const cols = await db.all(`SELECT column_name FROM (DESCRIBE SELECT * FROM read_parquet('${out}'))`);
    expect(cols.map((c) => c[0])).toEqual(['s', 'i64']);
  });

  it('a filter keeps every bit of the rows it keeps (ns timestamps, decimals, uint64) in Arrow output', async () => {
    const out = join(dir, 'filtered.arrow');
    await convert({ input: src, output: out, where: 'b = true' });
    const want = allRows.filter((i) => truth.b[i] === true);
    const t = tableFromIPC(readFileSync(out));
    expect(t.numRows).toBe(want.length);
    const raw: (bigint | null)[] = [];
    for (const d of t.getChild('tsn')!.data) for (let i = 0; i < d.length; i++) raw.push(d.getValid(i) ? (d.values as BigInt64Array)[i] : null);
    expect(raw).toEqual(want.map((i) => truth.tsn[i]));
    expect(t.getChild('u64')!.toArray().length).toBe(want.length);
    want.forEach((i, k) => expect(t.getChild('u64')!.get(k)).toBe(truth.u64[i]));
  });

  it('filters on decimals, dates and zoned timestamps select the rows the truth says', async () => {
    const out = join(dir, 'filtered-temporal.ndjson');
    const r = await convert({ input: src, output: out, where: "dec > 0 and d >= date '1970-01-01' and ts < timestamp '2000-01-01T00:00:00Z'", columns: ['i64'] });
    const want = allRows.filter((i) => truth.dec[i] !== null && truth.dec[i]! > 0n && truth.d[i] !== null && truth.d[i]! >= 0 && truth.ts[i] !== null && truth.ts[i]! < 946684800000000n);
    expect(r.rows).toBe(want.length);
    expect(want.length).toBeGreaterThan(0);
  });

  it('a filter on a column that is not exported, and a filter that keeps nothing', async () => {
    const out = join(dir, 'none.csv');
    const r = await convert({ input: src, output: out, where: 'i64 > 9223372036854775807', columns: ['s'] });
    expect(r.rows).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe('s\n');
  });

  it('unknown columns and bad filters are refused before anything is written', async () => {
    const out = join(dir, 'bad.csv');
    await expect(convert({ input: src, output: out, columns: ['nope'] })).rejects.toThrow(/no column "nope"/);
    await expect(convert({ input: src, output: out, where: 'nope > 1' })).rejects.toThrow(/bad filter/);
    await expect(convert({ input: src, output: out, where: 'i64 >' })).rejects.toThrow(/bad filter/);
    expect(existsSync(out)).toBe(false);
  });
});

describe('safety', () => {
  it('never writes over the input: same path, a symlink to it, a hard link to it', async () => {
    const copy = join(dir, 'self.arrows');
    writeEdgeArrow(copy, truth);
    const before = readFileSync(copy);
    await expect(convert({ input: copy, output: copy, format: 'arrow', force: true })).rejects.toThrow(/is the input file/);
    const sym = join(dir, 'self-link.arrows');
    symlinkSync(copy, sym);
    await expect(convert({ input: copy, output: sym, force: true })).rejects.toThrow(/is the input file/);
    await expect(convert({ input: sym, output: copy, force: true })).rejects.toThrow(/is the input file/);
    const hard = join(dir, 'self-hard.arrows');
    linkSync(copy, hard);
    await expect(convert({ input: copy, output: hard, force: true })).rejects.toThrow(/is the input file/);
    expect(readFileSync(copy).equals(before)).toBe(true);
  });

  it('refuses an existing output unless force; force replaces it', async () => {
    const out = join(dir, 'exists.csv');
    writeFileSync(out, 'keep me');
    await expect(convert({ input: src, output: out })).rejects.toThrow(/already exists; give --force/);
    expect(readFileSync(out, 'utf8')).toBe('keep me');
    await convert({ input: src, output: out, force: true, columns: ['i64'] });
    expect(readFileSync(out, 'utf8').startsWith('i64\n')).toBe(true);
  });

  it('a missing input or output folder is one clear error naming the path', async () => {
    await expect(convert({ input: join(dir, 'missing.csv'), output: join(dir, 'm.parquet') })).rejects.toThrow(/missing\.csv: no such file/);
    await expect(convert({ input: src, output: join(dir, 'no', 'such', 'x.parquet') })).rejects.toThrow(/x\.parquet: the output folder .* does not exist/);
  });

  it('a dry run writes nothing and returns the report', async () => {
    const out = join(dir, 'dry.npy');
    const r = await convert({ input: src, output: out, dryRun: true });
    expect(r.dryRun).toBe(true);
    expect(existsSync(out)).toBe(false);
    const s = r.report.columns.find((c) => c.column === 's')!;
    expect(s.status).toBe('lost');
    const ts = r.report.columns.find((c) => c.column === 'ts')!;
    expect(ts.note).toMatch(/zone "UTC" is lost/);
  });

  for (const fmt of ['csv', 'parquet', 'arrow', 'sqlite', 'hdf5', 'npz', 'ndjson']) {
    it(`a cancel midway (${fmt}) leaves no file and no temporary file`, async () => {
      const sub = tempDir('cdx-cancel-');
      try {
        const out = join(sub.dir, `out.${fmt === 'hdf5' ? 'h5' : fmt}`);
        const ac = new AbortController();
        let batches = 0;
        await expect(convert({
          input: src, output: out, signal: ac.signal, batchRows: 32,
          onProgress: () => {
            if (++batches === 2) ac.abort();
          },
        })).rejects.toThrow(/cancelled/);
        expect(readdirSync(sub.dir)).toEqual([]);
      } finally {
        sub.cleanup();
      }
    });
  }

  it('a failing writer leaves nothing (HDF5 text over its memory limit)', async () => {
    const sub = tempDir('cdx-fail-');
    try {
      const out = join(sub.dir, 'out.h5');
      await expect(convert({ input: src, output: out, options: { maxTextBytes: '100' } })).rejects.toThrow(/maxTextBytes/);
      expect(readdirSync(sub.dir)).toEqual([]);
    } finally {
      sub.cleanup();
    }
  });

  it('SQLite: adds a table to an existing database, refuses an existing table, --force replaces it, a cancel rolls back', async () => {
    const out = join(dir, 'shop.sqlite');
    await convert({ input: src, output: `${out}::first`, columns: ['i64'] });
    await convert({ input: src, output: `${out}::second`, columns: ['s'] });
    await expect(convert({ input: src, output: `${out}::first`, columns: ['s'] })).rejects.toThrow(/already has a table "first"/);
    await convert({ input: src, output: `${out}::first`, columns: ['s', 'b'], force: true, where: 'b = true' });
    const ac = new AbortController();
    let n = 0;
    await expect(convert({ input: src, output: `${out}::third`, signal: ac.signal, batchRows: 32, onProgress: () => { if (++n === 2) ac.abort(); } })).rejects.toThrow(/cancelled/);
    const got = python(`
import sqlite3, json
c = sqlite3.connect(${JSON.stringify(out)})
t = sorted(r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type='table'"))
cols = [r[1] for r in c.execute('PRAGMA table_info("first")')]
n = c.execute('SELECT count(*) FROM "first"').fetchone()[0]
print(json.dumps({'t': t, 'cols': cols, 'n': n}))`);
    expect(got).toEqual({ t: ['first', 'second'], cols: ['s', 'b'], n: truth.b.filter((x) => x === true).length });
    expect(readdirSync(dir).filter((f) => f.includes('.cdx-'))).toEqual([]);
  });

  it('HDF5: adds a group to an existing file and refuses an existing group', async () => {
    const out = join(dir, 'lab.h5');
    await convert({ input: src, output: `${out}::/runs/a`, columns: ['i64'] });
    await convert({ input: src, output: `${out}::/runs/b`, columns: ['f64'] });
    await expect(convert({ input: src, output: `${out}::/runs/a`, columns: ['f64'] })).rejects.toThrow(/already has "\/runs\/a"/);
    const h5 = (await import('h5wasm/node')).default;
    await h5.ready;
    const f = new h5.File(out, 'r');
    expect((f.get('runs') as any).keys().sort()).toEqual(['a', 'b']);
    f.close();
  });

  it('options are checked: unknown keys and bad values name the file and the option', async () => {
    const out = join(dir, 'opt.parquet');
    await expect(convert({ input: src, output: out, options: { compresion: 'zstd' } })).rejects.toThrow(/unknown option "compresion" for parquet/);
    await expect(convert({ input: src, output: out, options: { compression: 'zip' } })).rejects.toThrow(/compression takes one of/);
    await expect(convert({ input: src, output: join(dir, 'x.arrow'), options: { compression: 'zstd' } })).rejects.toThrow(/cannot be written in this build/);
    await expect(convert({ input: src, output: join(dir, 'x.unknown') })).rejects.toThrow(/cannot tell the output format/);
    expect(existsSync(out)).toBe(false);
  });
});
