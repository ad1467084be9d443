/**
 * Test support (not product code) for the CSV tests: DuckDB as the oracle — its reading of a CSV with our dialect and
 * schema, in the tests' cell notation (ints, dates, timestamps as decimal text; null as null) —
 * and a row-by-row comparison that names the first differing cell.
 */
import { afterAll, beforeAll, expect } from 'vitest';
import type { CsvInfo } from '../csv-read';

export type Cell = string | number | null;

export type Duck = { all: (sql: string) => Promise<unknown[][]>; close: () => void };
/** DuckDB for this test file (undefined when it cannot load: the oracle checks are then skipped). */
export let duck: Duck | undefined;
beforeAll(async () => {
  try {
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const inst = await DuckDBInstance.create(':memory:');
    const con = await inst.connect();
    await con.run('SET threads = 1');
    duck = { all: async (sql) => (await con.runAndReadAll(sql)).getRows() as unknown[][], close: () => { con.closeSync?.(); inst.closeSync?.(); } };
  } catch (e) {
    console.log(`[skip] DuckDB unavailable: ${(e as Error).message}`);
  }
});
afterAll(() => duck?.close());

const DUCK_TYPE: Record<string, string> = { int64: 'BIGINT', float64: 'DOUBLE', bool: 'BOOLEAN', date: 'DATE', timestamp: 'TIMESTAMP', string: 'VARCHAR' };
export const sq = (s: string) => "'" + s.replace(/'/g, "''") + "'";
const dq = (s: string) => '"' + s.replace(/"/g, '""') + '"';

/** DuckDB's reading of `path` with our dialect and schema, in the notation of load(). */
export async function duckRows(path: string, info: CsvInfo): Promise<Cell[][]> {
  const cols = info.columns.map((c) => `${sq(c.name)}: ${sq(DUCK_TYPE[c.type]!)}`).join(', ');
  const exprs = info.columns.map((c) => {
    const n = dq(c.name);
    switch (c.type) {
      case 'float64': return `CAST(${n} AS DOUBLE)`;
      case 'date': return `CAST((${n} - DATE '1970-01-01') AS VARCHAR)`;
      case 'timestamp': return `CAST(epoch_us(${n}) AS VARCHAR)`;
      default: return `CAST(${n} AS VARCHAR)`;
    }
  });
  const d = info.dialect;
  const sql = `SELECT ${exprs.join(', ')} FROM read_csv(${sq(path)}, header = ${info.header}, delim = ${sq(d.delimiter)}, quote = ${sq(d.quote)}, escape = ${sq(d.quote)}, ` +
    `columns = {${cols}}, nullstr = ['', 'NA', 'N/A', 'null', 'NULL'], ignore_errors = true, auto_detect = false` +
    (d.lineEnding === 'cr' ? `, new_line = '\\r'` : '') + ')';
  const rows = await duck!.all(sql);
  return rows.map((r) => r.map((v, j) => {
    if (v === null || v === undefined) return null;
    if (info.columns[j]!.type === 'float64') return Number(v);
    return String(v);
  }));
}

export function expectSameRows(a: Cell[][], b: Cell[][]): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!, y = b[i]!;
    for (let j = 0; j < x.length; j++) {
      const u = x[j], v = y[j];
      if (typeof u === 'number' && typeof v === 'number') {
        if (Number.isNaN(u) && Number.isNaN(v)) continue;
        if (u !== v) expect(`row ${i} col ${j}: ${u}`).toBe(`row ${i} col ${j}: ${v}`);
      } else if (u !== v) {
        expect(`row ${i} col ${j}: ${JSON.stringify(u)}`).toBe(`row ${i} col ${j}: ${JSON.stringify(v)}`);
      }
    }
  }
}
