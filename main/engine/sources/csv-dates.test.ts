// Tests of the CSV reader's datetime spellings (native/src/csv_core.h ScanDateTime, the column's
// date order in native/csv.ts CSV_ORDER) and of forced column types (columnTypes: values that do
// not convert become null and are counted). Every spelling is checked three ways: the typing pass
// (inspectCsv) and both data paths (readCsv, the streamed parser; ingestCsv, the native fast path)
// against epoch values computed here with Date.UTC, and against DuckDB's read_csv given the
// matching dateformat / timestampformat.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { tableFromIPC } from 'apache-arrow';
import { inspectCsv, readCsv, type CsvOptions, type CsvWarning } from './csv-read';
import { ingestCsv } from './csv-ingest';
import { duckQuery } from './testing/oracle';

let dir = '';
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'cdx-csvdates-')); });
afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

let duckOk = true;
async function duck(sql: string): Promise<unknown[][] | undefined> {
  if (!duckOk) return undefined;
  try {
    return await duckQuery(sql);
  } catch (e) {
    if (/Cannot find|not found|ERR_MODULE/.test(String(e))) { duckOk = false; console.log('[skip] DuckDB unavailable'); return undefined; }
    throw e;
  }
}

function file(name: string, content: string | Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

/** Values of one column as text: epoch microseconds (timestamp), days (date), the string, or null. */
async function readColumn(path: string, col: number, opts: CsvOptions = {}): Promise<{ type: string; values: (string | null)[]; warnings: CsvWarning[] }> {
  const info = await inspectCsv(path, opts);
  const warnings: CsvWarning[] = [];
  const values: (string | null)[] = [];
  for await (const b of readCsv(path, { ...opts, info, onWarning: (w) => warnings.push(w) })) {
    const v = b.getChildAt(col)!;
    for (let i = 0; i < b.numRows; i++) values.push(cell(v.data[0]!, v.get(i), i, String(b.schema.fields[col]!.type)));
  }
  return { type: info.columns[col]!.type, values, warnings };
}

function cell(data: { getValid(i: number): boolean; values: ArrayLike<unknown> }, got: unknown, i: number, type: string): string | null {
  if (!data.getValid(i)) return null;
  if (type.startsWith('Timestamp') || type.startsWith('Date')) return String(data.values[i]);
  return String(got);
}

/** The same through the native ingest (the cache's fast path). */
async function ingestColumn(path: string, col: number, opts: CsvOptions = {}): Promise<{ type: string; values: (string | null)[]; warnings: CsvWarning[] }> {
  const out = path + '.arrow';
  const warnings: CsvWarning[] = [];
  const r = await ingestCsv(path, out, { ...opts, onWarning: (w) => warnings.push(w) });
  const t = tableFromIPC(readFileSync(out));
  const v = t.getChildAt(col)!;
  const values: (string | null)[] = [];
  let k = 0;
  for (const d of v.data) for (let i = 0; i < d.length; i++, k++) values.push(cell(d, v.get(k), i, String(t.schema.fields[col]!.type)));
  return { type: r.info.columns[col]!.type, values, warnings };
}

const US = 1_000_000;
const pad = (n: number, w = 2) => String(n).padStart(w, '0');

interface Moment { y: number; mo: number; d: number; h: number; mi: number; s: number; us: number }

/** Deterministic moments over 1900..2099 (a small LCG: the same file every run). */
function moments(n: number, seed = 7): Moment[] {
  let x = seed;
  const r = (m: number) => { x = (x * 1103515245 + 12345) % 2147483648; return x % m; };
  const out: Moment[] = [];
  for (let i = 0; i < n; i++) {
    const y = 1900 + r(200), mo = 1 + r(12);
    const dim = new Date(Date.UTC(y, mo, 0)).getUTCDate();
    out.push({ y, mo, d: 1 + r(dim), h: r(24), mi: r(60), s: r(60), us: r(1000) * 1000 });
  }
  return out;
}

const epochUs = (m: Moment, time = true) =>
  String(BigInt(Date.UTC(m.y, m.mo - 1, m.d, time ? m.h : 0, time ? m.mi : 0, time ? m.s : 0)) * 1000n + BigInt(time ? m.us : 0));
const epochDays = (m: Moment) => String(Date.UTC(m.y, m.mo - 1, m.d) / 86_400_000);

interface Spelling {
  name: string;
  text: (m: Moment) => string;
  type: 'date' | 'timestamp';
  expected: (m: Moment) => string;
  /** DuckDB's read_csv option reading the same text */
  duck: string;
}

const h12 = (h: number) => (h % 12 === 0 ? 12 : h % 12);
const noSeconds = (m: Moment): Moment => ({ ...m, s: 0, us: 0 });
const noFraction = (m: Moment): Moment => ({ ...m, us: 0 });

const SPELLINGS: Spelling[] = [
  { name: 'YYYY/MM/DD HH:MM:SS', text: (m) => `${m.y}/${pad(m.mo)}/${pad(m.d)} ${pad(m.h)}:${pad(m.mi)}:${pad(m.s)}`, type: 'timestamp', expected: (m) => epochUs(noFraction(m)), duck: `timestampformat = '%Y/%m/%d %H:%M:%S'` },
  { name: 'YYYY-MM-DD HH:MM', text: (m) => `${m.y}-${pad(m.mo)}-${pad(m.d)} ${pad(m.h)}:${pad(m.mi)}`, type: 'timestamp', expected: (m) => epochUs(noSeconds(m)), duck: `timestampformat = '%Y-%m-%d %H:%M'` },
  { name: 'YYYY-MM-DDTHH:MM:SS.ffffff', text: (m) => `${m.y}-${pad(m.mo)}-${pad(m.d)}T${pad(m.h)}:${pad(m.mi)}:${pad(m.s)}.${pad(m.us, 6)}`, type: 'timestamp', expected: (m) => epochUs(m), duck: `timestampformat = '%Y-%m-%dT%H:%M:%S.%f'` },
  { name: 'YYYY.MM.DD', text: (m) => `${m.y}.${pad(m.mo)}.${pad(m.d)}`, type: 'date', expected: epochDays, duck: `dateformat = '%Y.%m.%d'` },
  { name: 'MM/DD/YYYY', text: (m) => `${pad(m.mo)}/${pad(m.d)}/${m.y}`, type: 'date', expected: epochDays, duck: `dateformat = '%m/%d/%Y'` },
  { name: 'M/D/YYYY H:MM AM/PM', text: (m) => `${m.mo}/${m.d}/${m.y} ${h12(m.h)}:${pad(m.mi)} ${m.h < 12 ? 'AM' : 'PM'}`, type: 'timestamp', expected: (m) => epochUs(noSeconds(m)), duck: `timestampformat = '%-m/%-d/%Y %-I:%M %p'` },
  { name: 'DD/MM/YYYY HH:MM:SS.fff', text: (m) => `${pad(m.d)}/${pad(m.mo)}/${m.y} ${pad(m.h)}:${pad(m.mi)}:${pad(m.s)}.${pad(m.us / 1000, 3)}`, type: 'timestamp', expected: (m) => epochUs(m), duck: `timestampformat = '%d/%m/%Y %H:%M:%S.%g'` },
  { name: 'DD-MM-YYYY', text: (m) => `${pad(m.d)}-${pad(m.mo)}-${m.y}`, type: 'date', expected: epochDays, duck: `dateformat = '%d-%m-%Y'` },
];

describe('datetime spellings (a whole column agrees)', () => {
  const sniffedAgree: string[] = [];
  const ms = moments(3000);
  // a day above 12 early on, so that day-first spellings are unambiguous (month-first ones have a
  // day above 12 too: the LCG's days cover 1..31)
  ms[0] = { y: 2024, mo: 1, d: 31, h: 13, mi: 5, s: 9, us: 250_000 };
  for (const sp of SPELLINGS) {
    it(`${sp.name}: typed ${sp.type}, read and ingested as Date.UTC computes, and as DuckDB reads it`, async () => {
      const p = file(`${sp.name.replace(/[^A-Za-z]/g, '_')}.csv`, 'id,at\n' + ms.map((m, i) => `${i},${sp.text(m)}`).join('\n') + '\n');
      const expected = ms.map(sp.expected);
      const read = await readColumn(p, 1);
      expect(read.type).toBe(sp.type);
      expect(read.values).toEqual(expected);
      expect(read.warnings).toEqual([]);
      const ing = await ingestColumn(p, 1);
      expect(ing.type).toBe(sp.type);
      expect(ing.values).toEqual(expected);
      const expr = sp.type === 'date' ? `CAST(("at" - DATE '1970-01-01') AS VARCHAR)` : `CAST(epoch_us("at") AS VARCHAR)`;
      const rows = await duck(`SELECT ${expr} FROM read_csv('${p}', header = true, columns = {'id': 'BIGINT', 'at': '${sp.type === 'date' ? 'DATE' : 'TIMESTAMP'}'}, ${sp.duck}, auto_detect = false)`);
      if (rows) expect(rows.map((r) => r[0])).toEqual(expected);
      // DuckDB's own sniffing, where it types the column the same way, reads the same values
      const sniffed = await duck(`SELECT column_type FROM (DESCRIBE SELECT * FROM read_csv('${p}')) WHERE column_name = 'at'`);
      if (sniffed && sniffed[0]![0] === (sp.type === 'date' ? 'DATE' : 'TIMESTAMP')) {
        sniffedAgree.push(sp.name);
        const auto = await duck(`SELECT ${expr} FROM read_csv('${p}')`);
        expect(auto!.map((r) => r[0])).toEqual(expected);
      }
    });
  }

  it('DuckDB sniffs most of these spellings as we do', () => {
    if (duckOk) expect(sniffedAgree.length).toBeGreaterThanOrEqual(4);
  });

  it('ISO with zones (Z, +hh:mm, -hhmm) is converted to UTC, as DuckDB reads TIMESTAMPTZ', async () => {
    const texts = ['2024-01-31T10:00:00+02:00', '2024-01-31T10:00Z', '2015-06-30 23:59:59.5-0130', '1969-12-31T23:00:00-01:00'];
    const expected = [Date.UTC(2024, 0, 31, 8), Date.UTC(2024, 0, 31, 10), Date.UTC(2015, 6, 1, 1, 29, 59, 500), 0].map((t) => String(BigInt(t) * 1000n));
    const p = file('zones.csv', 'at\n' + texts.join('\n') + '\n');
    expect((await readColumn(p, 0)).values).toEqual(expected);
    expect((await ingestColumn(p, 0)).values).toEqual(expected);
    // DuckDB's cast wants seconds before a zone: the one spelling it refuses is left out
    let checked = 0;
    for (let i = 0; i < texts.length; i++) {
      const r = await duck(`SELECT CAST(epoch_us(TRY_CAST('${texts[i]}' AS TIMESTAMPTZ)) AS VARCHAR)`);
      if (r && r[0]![0] !== null) { expect(r[0]![0]).toBe(expected[i]); checked++; }
    }
    if (duckOk) expect(checked).toBe(3);
  });

  it('2015/01/01 01:00:00 and 01/31/2024 as in the issue, by hand', async () => {
    const p = file('issue.csv', 'a,b\n2015/01/01 01:00:00,01/31/2024\n2015/01/01 02:30:15.25,02/29/2024\n');
    const a = await ingestColumn(p, 0), b = await ingestColumn(p, 1);
    expect(a.type).toBe('timestamp');
    expect(a.values).toEqual([String(1420074000n * 1_000_000n), String(1420079415n * 1_000_000n + 250_000n)]);
    expect(b.type).toBe('date');
    expect(b.values).toEqual(['19753', '19782']); // 2024-01-31, 2024-02-29 in days since 1970-01-01
  });

  it('an ambiguous column (no field above 12) is read month-first; DuckDB with %m/%d/%Y agrees', async () => {
    const p = file('ambiguous.csv', 'd\n01/02/2024\n03/04/2024\n12/11/2023\n');
    const r = await readColumn(p, 0);
    expect(r.type).toBe('date');
    const expected = [Date.UTC(2024, 0, 2), Date.UTC(2024, 2, 4), Date.UTC(2023, 11, 11)].map((t) => String(t / 86_400_000));
    expect(r.values).toEqual(expected);
    expect((await ingestColumn(p, 0)).values).toEqual(expected);
    const rows = await duck(`SELECT CAST((d - DATE '1970-01-01') AS VARCHAR) FROM read_csv('${p}', header = true, columns = {'d': 'DATE'}, dateformat = '%m/%d/%Y', auto_detect = false)`);
    if (rows) expect(rows.map((x) => x[0])).toEqual(expected);
  });

  it('one value past the typing sample that needs day-first re-reads the column day-first (native ingest and streamed)', async () => {
    // 40k ambiguous rows (about 500 kB), then 13/01/2024: month-first from the sample, day-first in the end
    const lines = ['d'];
    for (let i = 0; i < 40_000; i++) lines.push(`${pad(1 + (i % 12))}/${pad(1 + (i % 7))}/2020`);
    lines.push('13/01/2024');
    const text = lines.join('\n') + '\n';
    const p = file('late-dmy.csv', text);
    const expected = lines.slice(1).map((s) => { const [d, m, y] = s.split('/').map(Number); return String(Date.UTC(y!, m! - 1, d!) / 86_400_000); });
    const opts = { sampleBytes: 64 * 1024, chunkBytes: 64 * 1024 };
    const ing = await ingestColumn(p, 0, opts);
    expect(ing.type).toBe('date');
    expect(ing.values).toEqual(expected);
    expect(ing.warnings.map((w) => w.message)).toEqual([expect.stringContaining('read as day/month/year')]);
    const gz = file('late-dmy.csv.gz', gzipSync(text));
    const st = await ingestColumn(gz, 0, opts);
    expect(st.values).toEqual(expected);
  });

  it('a column with one value that does not parse, or whose values agree on no order, stays string', async () => {
    const cases: [string, string[]][] = [
      ['one-bad', ['2015/01/01 01:00:00', '2015/01/02 01:00:00', '2015/01/03 25:00:00']],
      ['mixed-order', ['01/31/2024', '31/01/2024']],
      ['year-first-and-last', ['2024/01/31', '01/31/2024']],
      ['bad-day', ['02/30/2024', '01/01/2024']],
      ['two-digit-year', ['01/31/24', '02/01/24']],
      ['text', ['01/31/2024', 'soon']],
    ];
    for (const [name, values] of cases) {
      const p = file(`${name}.csv`, 'v\n' + values.join('\n') + '\n');
      const r = await readColumn(p, 0);
      expect(`${name}: ${r.type}`).toBe(`${name}: string`);
      expect(r.values).toEqual(values);
      expect((await ingestColumn(p, 0)).type).toBe('string');
    }
  });
});

describe('forced column types (columnTypes): values that do not convert are null and counted', () => {
  it('string -> timestamp: nulls for the bad values, W_UNCONVERTED with the count and the first rows', async () => {
    const p = file('force-ts.csv', 'id,when\n1,01/31/2024 10:00\n2,not a date\n3,02/01/2024\n4,\n5,13/13/2024\n6,03/15/2024 23:59:59\n');
    for (const read of [readColumn, ingestColumn]) {
      const r = await read(p, 1, { columnTypes: { when: 'timestamp' } });
      expect(r.type).toBe('timestamp');
      expect(r.values).toEqual([
        String(BigInt(Date.UTC(2024, 0, 31, 10)) * 1000n), null, String(BigInt(Date.UTC(2024, 1, 1)) * 1000n), null, null,
        String(BigInt(Date.UTC(2024, 2, 15, 23, 59, 59)) * 1000n),
      ]);
      const w = r.warnings.filter((x) => x.code === 'W_UNCONVERTED');
      expect(w).toHaveLength(1);
      expect(w[0]!.count).toBe(2);
      expect(w[0]!.column).toBe('when');
      expect(w[0]!.samples).toEqual([{ row: 2, line: 3, value: 'not a date' }, { row: 5, line: 6, value: '13/13/2024' }]);
      expect(w[0]!.message).toBe('column when: 2 values did not convert to timestamp (month/day/year) and became null (row 2: "not a date", row 5: "13/13/2024")');
    }
  });

  it('string -> int64 / float64 / bool, number -> string, timestamp -> string', async () => {
    const p = file('force-many.csv', 'code,price,ok,n,at\n007,1.50,yes,1,2020-01-01 00:00\n12,007.5,N,2,2020-01-02 00:00\nx1,abc,maybe,3,2020-01-03 00:00\n3.0,2,true,4,2020-01-04 00:00\n');
    const opts: CsvOptions = { columnTypes: { code: 'int64', price: 'float64', ok: 'bool', n: 'string', at: 'string' } };
    for (const read of [readColumn, ingestColumn]) {
      expect((await read(p, 0, opts)).values).toEqual(['7', '12', null, '3']);
      expect((await read(p, 1, opts)).values).toEqual(['1.5', '7.5', null, '2']);
      expect((await read(p, 2, opts)).values).toEqual(['true', 'false', null, 'true']);
      const n = await read(p, 3, opts);
      expect(n.type).toBe('string');
      expect(n.values).toEqual(['1', '2', '3', '4']);
      expect((await read(p, 4, opts)).values).toEqual(['2020-01-01 00:00', '2020-01-02 00:00', '2020-01-03 00:00', '2020-01-04 00:00']);
      const counts = Object.fromEntries((await read(p, 0, opts)).warnings.filter((w) => w.code === 'W_UNCONVERTED').map((w) => [w.column, w.count]));
      expect(counts).toEqual({ code: 1, price: 1, ok: 1 });
    }
  });

  it('an unknown column name is refused naming the file and the column', async () => {
    const p = file('force-unknown.csv', 'a\n1\n');
    await expect(inspectCsv(p, { columnTypes: { b: 'int64' } })).rejects.toMatchObject({ code: 'E_UNKNOWN_COLUMN', column: 'b', message: expect.stringContaining('force-unknown.csv') });
  });
});
