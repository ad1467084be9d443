/**
 * Computed columns pushed down (SqlDataset.setComputed): the same rows — int64 beyond 2^53, NULL,
 * NaN, ±Inf, Unicode text, dates, timestamps — in a real PostgreSQL table and a real 2-shard
 * ClickHouse 18.16 Distributed table, with computed columns (arithmetic, text, date parts,
 * date_trunc, a comparison, one computed column read by another): the database's table windows
 * (filtered by a computed column), group-by (keyed and measured by computed columns) and summary
 * must equal the local evaluation of the same values by DuckDB over the same rows.
 */
import { BIGINT, BOOLEAN, DOUBLE, DuckDBInstance, HUGEINT, VARCHAR, type DuckDBConnection, type DuckDBType } from '@duckdb/node-api';
import type { RecordBatch } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Expr, Value } from '../../../shared/expr/ast';
import { parseExpr, parseValue } from '../../../shared/expr/parse';
import { toSQL, valueSQL, type SqlParamType, type SqlSchema } from '../../../shared/expr/sql';
import { CdxError } from '../../../shared/errors';
import { ClickHouseConnection } from './clickhouse';
import { SqlDataset } from './dataset';
import { PostgresConnection } from './postgres';
import { clickhouseAvailable, startClickHouseCluster, type ClickHouseCluster } from './testing/clickhouse';
import { postgresAvailable, startPostgres, type PostgresServer } from './testing/postgres';
import type { SqlConnection } from './types';
import { parseDbLocation } from './url';

const N = 600;
const DUCK_TYPES: Record<SqlParamType, DuckDBType> = { BIGINT, HUGEINT, DOUBLE, VARCHAR, BOOLEAN };
type Row = { id: number; i: bigint | null; f: number | null; s: string | null; d: string | null; ts: string | null };

function rows(): Row[] {
  let a = 99;
  const r = () => ((a = (a * 1103515245 + 12345) % 2147483648) / 2147483648);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const out: Row[] = [];
  for (let id = 0; id < N; id++) {
    out.push({
      id,
      i: r() < 0.1 ? null : r() < 0.15 ? pick([2n ** 53n + 1n, -(2n ** 53n) - 3n, 2n ** 62n, 2n ** 63n - 1n, -(2n ** 63n)]) : BigInt(Math.floor(r() * 200) - 100),
      f: r() < 0.1 ? null : r() < 0.1 ? pick([NaN, Infinity, -Infinity, -0, 0]) : Math.round((r() - 0.5) * 4000) / 16,
      s: r() < 0.1 ? null : pick(['', 'plain', "it's", 'é', 'Émile', '中文', '😀👍', 'back\\slash', 'a"b', 'Zebra', 'apple']),
      d: r() < 0.1 ? null : new Date(Date.UTC(1970, 0, 1) + Math.floor(r() * 20000) * 86_400_000).toISOString().slice(0, 10),
      ts: r() < 0.1 ? null : new Date(Date.UTC(1990, 0, 1) + Math.floor(r() * 1e9) * 1000).toISOString().slice(0, 19).replace('T', ' '),
    });
  }
  return out;
}

/** the computed columns (the last reads the first) */
const COMPUTED: { name: string; text: string }[] = [
  { name: 'ratio', text: 'f / i' },
  { name: 'big', text: 'i * 3' },
  { name: 'up', text: "upper(s) || '!'" },
  { name: 'n', text: 'length(s)' },
  { name: 'yr', text: 'year(ts)' },
  { name: 'wk', text: "date_trunc('week', d)" },
  { name: 'pos', text: 'f > 0' },
  { name: 'twice', text: 'ratio * 2' },
  // (values that name a part once: a lambda on ClickHouse)
  { name: 'r10', text: 'round(f / 3, 1)' },
  { name: 'ftxt', text: 'cast(f as string)' },
  { name: 'sq', text: 'i * i' },
];
const SCHEMA: SqlSchema = { fields: [{ name: 'id', type: 'int32' }, { name: 'i', type: 'int64' }, { name: 'f', type: 'float64' }, { name: 's', type: 'string' }, { name: 'd', type: 'date' }, { name: 'ts', type: 'timestamp' }] };
const computed = (): { name: string; value: Value }[] => COMPUTED.map((c) => ({ name: c.name, value: parseValue(c.text) }));
const NAMES = ['id', ...COMPUTED.map((c) => c.name)];
const FILTERS = ['ratio > 0.5', 'up like "É%" or n >= 3', 'pos and yr < 2000', "wk >= '2000-01-01' and twice != nan", 'big is null', 'true'];

const numText = (v: number) => (Number.isNaN(v) ? 'NaN' : v === Infinity ? 'Inf' : v === -Infinity ? '-Inf' : Object.is(v, -0) ? '0' : String(v));
/** a cell as comparable text: numbers as JavaScript writes them, dates as epoch ms */
function cellText(v: unknown, date: boolean): string | null {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return String(v.getTime());
  if (typeof v === 'bigint') return String(v);
  if (typeof v === 'number') return date ? String(v) : numText(v);
  return String(v);
}

function batchRows(b: RecordBatch): (string | null)[][] {
  const out: (string | null)[][] = [];
  const cols = b.schema.fields.map((f) => ({ v: b.getChild(f.name)!, date: String(f.type).startsWith('Date') }));
  for (let i = 0; i < b.numRows; i++) out.push(cols.map((c) => cellText(c.v.get(i), c.date)));
  return out;
}

/** DuckDB over the same rows: the local evaluation of the computed columns */
class Oracle {
  constructor(private readonly con: DuckDBConnection) {}
  static async create(data: Row[]): Promise<Oracle> {
    const db = await DuckDBInstance.create(':memory:');
    const con = await db.connect();
    await con.run('CREATE TABLE t (id INTEGER, i BIGINT, f DOUBLE, s VARCHAR, d DATE, ts TIMESTAMP)');
    const q = (s: string) => `'${s.replace(/'/g, "''")}'`;
    const f = (v: number) => `'${Number.isNaN(v) ? 'nan' : v === Infinity ? 'inf' : v === -Infinity ? '-inf' : Object.is(v, -0) ? '-0.0' : v}'::DOUBLE`;
    await con.run(
      `INSERT INTO t VALUES ${data.map((r) => `(${r.id}, ${r.i ?? 'NULL'}, ${r.f === null ? 'NULL' : f(r.f)}, ${r.s === null ? 'NULL' : q(r.s)}, ${r.d === null ? 'NULL' : `DATE '${r.d}'`}, ${r.ts === null ? 'NULL' : `TIMESTAMP '${r.ts}'`})`).join(', ')}`,
    );
    return new Oracle(con);
  }
  /** SELECT over the computed columns as a subquery named like the dataset's */
  async query(select: (inner: string) => string, where?: Expr): Promise<(string | null)[][]> {
    const cols = computed();
    const params: unknown[] = [];
    const types: DuckDBType[] = [];
    const list = cols.map((c, k) => {
      const v = valueSQL(c.value, 'duckdb', SCHEMA, { computed: cols.slice(0, k) });
      params.push(...v.params);
      types.push(...v.paramTypes.map((t) => DUCK_TYPES[t]));
      // dates as epoch ms (as the dataset's batch gives them)
      const x = v.type === 'date' ? `epoch_ms(CAST(${v.sql} AS TIMESTAMP))` : v.sql;
      return `${x} AS "${c.name}"`;
    });
    // the filter (after the list in the text): the computed columns by their values
    let w = 'TRUE';
    if (where) {
      const c = toSQL(where, 'duckdb', SCHEMA, { computed: cols });
      w = c.sql;
      params.push(...c.params);
      types.push(...c.paramTypes.map((t) => DUCK_TYPES[t]));
    }
    const sql = select(`(SELECT id, i, f, s, d, ts, ${list.join(', ')} FROM t)`).replace('$WHERE', w);
    const r = await this.con.runAndReadAll(sql, params as never, types);
    return r.getRows().map((row) => row.map((c) => cellText(c, false)));
  }
}

async function openDataset(conn: SqlConnection, url: string): Promise<SqlDataset> {
  const loc = parseDbLocation(url).location;
  const relation = await conn.describe({ table: loc.table! });
  const ds = new SqlDataset({ conn, location: loc, relation, serverVersion: await conn.serverVersion() });
  await ds.count();
  return ds;
}

function sameAnswers(get: () => { ds: SqlDataset; oracle: Oracle; dateMs: (x: string | null) => string | null }) {
  it('table windows of computed columns, filtered by computed columns, equal the local evaluation', async () => {
    const { ds, oracle } = get();
    for (const text of FILTERS) {
      const e = parseExpr(text);
      const w = await ds.window(NAMES, 0, N, e, text, {});
      const got = batchRows(w.batch);
      const want = await oracle.query((t) => `SELECT ${NAMES.map((n) => `"${n}"`).join(', ')} FROM ${t} AS x WHERE $WHERE ORDER BY id`, e);
      expect(w.total, text).toBe(want.length);
      // every filter selects some rows and leaves some ('true' all)
      expect(want.length, text).toBeGreaterThan(text === 'true' ? N - 1 : 10);
      if (text !== 'true') expect(want.length, text).toBeLessThan(N - 10);
      expect(got, text).toEqual(want);
      // a window further in
      if (want.length > 20) expect(batchRows((await ds.window(NAMES, 10, 7, e, text, {})).batch), text).toEqual(want.slice(10, 17));
    }
  });

  it('table windows sorted by computed columns (nulls last, text by bytes) equal the local evaluation', async () => {
    const { ds, oracle } = get();
    for (const [name, desc] of [['big', true], ['up', false], ['wk', true]] as const) {
      const w = await ds.window(['id', name], 5, 40, parseExpr('n > 1'), 'n > 1', {}, [{ name, desc }]);
      const want = await oracle.query((t) => `SELECT id, "${name}" FROM ${t} AS x WHERE n > 1 ORDER BY "${name}" ${desc ? 'DESC' : 'ASC'} NULLS LAST, id LIMIT 40 OFFSET 5`);
      expect(batchRows(w.batch), name).toEqual(want);
    }
  });

  it('group-by keyed and measured by computed columns equals the local evaluation', async () => {
    const { ds, oracle } = get();
    const r = await ds.groupBy(
      { by: ['yr', 'pos'], measures: [{ fn: 'rows', name: 'rows' }, { fn: 'max', column: 'big', name: 'mx' }, { fn: 'count', column: 'up', name: 'ups' }, { fn: 'min', column: 'n', name: 'shortest' }] },
      parseExpr('n > 0'),
      {},
    );
    const got = batchRows(r.batch);
    const want = await oracle.query((t) => `SELECT yr, pos, count(*), max(big), count(up), min(n) FROM ${t} AS x WHERE n > 0 GROUP BY yr, pos ORDER BY yr ASC NULLS LAST, pos ASC NULLS LAST`);
    expect(r.groups).toBe(want.length);
    expect(want.length).toBeGreaterThan(20);
    expect(got).toEqual(want.map((row) => row.map((c, k) => (k === 1 && c !== null ? (c === 'true' ? 'true' : 'false') : c))));
  });

  it('group-by keyed by a computed float (rounded), counting the distinct texts of another', async () => {
    const { ds, oracle } = get();
    const r = await ds.groupBy({ by: ['r10'], measures: [{ fn: 'rows', name: 'rows' }, { fn: 'distinct', column: 'ftxt', name: 't' }, { fn: 'max', column: 'sq', name: 'sq' }] }, parseExpr('r10 between -20 and 20'), {});
    const want = await oracle.query((t) => `SELECT r10 + 0, count(*), count(DISTINCT ftxt), max(sq) FROM ${t} AS x WHERE r10 BETWEEN -20 AND 20 GROUP BY r10 + 0 ORDER BY r10 + 0 ASC NULLS LAST`);
    expect(want.length).toBeGreaterThan(20);
    expect(batchRows(r.batch)).toEqual(want);
  });

  it('the summary of computed columns counts what the local evaluation holds', async () => {
    const { ds, oracle } = get();
    const s = await ds.summary(['big', 'n', 'up', 'wk'], parseExpr('ratio < 10'));
    const want = (await oracle.query((t) => `SELECT count(*), count(big), min(big), max(big), count(n), min(n), max(n), count(up), count(wk) FROM ${t} AS x WHERE ratio < 10`))[0]!;
    const [big, n, up, wk] = s.columns;
    expect(s.filteredRows ?? s.rows).toBe(Number(want[0]));
    expect([big!.count, String(big!.min), String(big!.max)]).toEqual([Number(want[1]), want[2], want[3]]);
    expect([n!.count, String(n!.min), String(n!.max)]).toEqual([Number(want[4]), want[5], want[6]]);
    expect(up!.count).toBe(Number(want[7]));
    expect(Number(want[1])).toBeGreaterThan(100);
    expect(wk!.count).toBe(Number(want[8]));
    expect(ds.schema.fields.slice(-COMPUTED.length).map((f) => `${f.name}:${f.type}`)).toEqual([
      'ratio:float64', 'big:int64', 'up:string', 'n:int64', 'yr:int64', 'wk:date', 'pos:bool', 'twice:float64', 'r10:float64', 'ftxt:string', 'sq:int64',
    ]);
  });

  it('refuses a name the relation has, a value that does not type, and a column defined through a later one', () => {
    const { ds } = get();
    expect(() => ds.setComputed([{ name: 'i', value: parseValue('f + 1') }])).toThrow(CdxError);
    expect(() => ds.setComputed([{ name: 'x', value: parseValue('s + 1') }])).toThrow(/computed column "x"/);
    expect(() => ds.setComputed([{ name: 'x', value: parseValue('y * 2') }, { name: 'y', value: parseValue('f') }])).toThrow(/computed column "x"/);
    ds.setComputed(computed());
  });
}

describe.skipIf(!postgresAvailable())('computed columns on a PostgreSQL table', () => {
  let pg: PostgresServer;
  let conn: PostgresConnection;
  let ds: SqlDataset;
  let oracle: Oracle;
  beforeAll(async () => {
    const data = rows();
    pg = await startPostgres();
    const q = (s: string) => `'${s.replace(/'/g, "''")}'`;
    const f = (v: number) => `'${Number.isNaN(v) ? 'NaN' : v === Infinity ? 'Infinity' : v === -Infinity ? '-Infinity' : Object.is(v, -0) ? '-0' : v}'`;
    await pg.psql(
      'SET ROLE cdx; CREATE TABLE public.t (id integer PRIMARY KEY, i bigint, f double precision, s text COLLATE "C", d date, ts timestamp);\n' +
        `INSERT INTO public.t VALUES ${data.map((r) => `(${r.id}, ${r.i ?? 'NULL'}, ${r.f === null ? 'NULL' : f(r.f)}, ${r.s === null ? 'NULL' : q(r.s)}, ${r.d === null ? 'NULL' : `DATE '${r.d}'`}, ${r.ts === null ? 'NULL' : `TIMESTAMP '${r.ts}'`})`).join(', ')};`,
    );
    conn = new PostgresConnection(parseDbLocation(pg.url).location, { password: pg.password });
    ds = await openDataset(conn, `${pg.url}::public.t`);
    ds.setComputed(computed());
    oracle = await Oracle.create(data);
  }, 120_000);
  afterAll(async () => {
    await conn?.close();
    await pg?.stop();
  });
  sameAnswers(() => ({ ds, oracle, dateMs: (x) => x }));
});

describe.skipIf(!clickhouseAvailable())('computed columns on a 2-shard ClickHouse Distributed table', () => {
  let ch: ClickHouseCluster;
  let conn: ClickHouseConnection;
  let ds: SqlDataset;
  let oracle: Oracle;
  beforeAll(async () => {
    const data = rows();
    ch = await startClickHouseCluster();
    const q = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
    const f = (v: number) => (Number.isNaN(v) ? 'nan' : v === Infinity ? 'inf' : v === -Infinity ? '-inf' : Object.is(v, -0) ? '-0.' : String(v));
    for (const k of [0, 1]) {
      await ch.query(
        "CREATE TABLE default.t_local (id Int32, i Nullable(Int64), f Nullable(Float64), s Nullable(String), d Nullable(Date), ts Nullable(DateTime('UTC'))) ENGINE = MergeTree() ORDER BY id",
        k,
      );
      const part = data.filter((r) => (r.id % 2) === k);
      const sel = part.map(
        (r) =>
          `SELECT ${r.id}, ${r.i === null ? 'NULL' : `toNullable(toInt64('${r.i}'))`}, ${r.f === null ? 'NULL' : `toNullable(toFloat64(${f(r.f)}))`}, ${r.s === null ? 'NULL' : `toNullable(${q(r.s)})`}, ` +
          `${r.d === null ? 'NULL' : `toNullable(toDate('${r.d}'))`}, ${r.ts === null ? 'NULL' : `toNullable(toDateTime('${r.ts}', 'UTC'))`}`,
      );
      for (let j = 0; j < sel.length; j += 100) await ch.query(`INSERT INTO default.t_local ${sel.slice(j, j + 100).join(' UNION ALL ')}`, k);
    }
    await ch.query(`CREATE TABLE default.t AS default.t_local ENGINE = Distributed(${ch.cluster}, default, t_local, id)`, 0);
    const url = `clickhouse://cdx@127.0.0.1:${ch.http[0]}/default`;
    conn = new ClickHouseConnection(parseDbLocation(url).location, { password: ch.password });
    ds = await openDataset(conn, `${url}::t`);
    ds.setComputed(computed());
    oracle = await Oracle.create(data);
  }, 120_000);
  afterAll(async () => {
    await conn?.close();
    await ch?.stop();
  });
  sameAnswers(() => ({ ds, oracle, dateMs: (x) => x }));
});
