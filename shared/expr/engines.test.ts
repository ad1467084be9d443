/**
 * toSQL against real engines: the rows DuckDB (and SQLite) select must be exactly the rows the
 * reference evaluator accepts, for hand-written and for generated expressions.
 * (Node-only imports are allowed here: test files are not part of shared/'s runtime.)
 */
import { BIGINT, BOOLEAN, DOUBLE, DuckDBInstance, HUGEINT, VARCHAR, type DuckDBConnection, type DuckDBType } from '@duckdb/node-api';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Expr } from './ast';
import { evalExprOnRow } from './bind';
import { formatExpr } from './format';
import { parseExpr } from './parse';
import { type SqlParamType, type SqlSchema, toSQL } from './sql';
import { type GenColumn, genExpr, pick, seeded } from './testing/testgen';
import { postgresAvailable, startPostgres, type PostgresServer } from '../../main/engine/sql/testing/postgres';

type Row = { id: number; f: number | null; g: number | null; i: bigint | null; u: bigint | null; s: string | null; b: boolean | null; d: Date | null; ts: Date | null };

const NUMS = [0, -0, 1, -1, 2.5, -3.75, 3, 10, 0.1, 1e300, -1e300, 2 ** 53, 2 ** 60, Infinity, -Infinity, NaN];
const STRS = ['', 'a', 'B', 'b', "it's", 'say "hi"', 'é', '😀', '\uffff', 'back\\slash', 'US', 'CA', 'ab'];
const BIGS = [0n, 1n, -1n, 3n, 2n ** 53n, 2n ** 53n + 1n, -(2n ** 53n) - 1n, 2n ** 63n - 1n, -(2n ** 63n), 10n];
const UBIGS = [0n, 1n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n];
const DAYS = ['2024-01-31', '2024-02-29', '1969-12-31', '2000-01-01'].map((s) => new Date(s + 'T00:00:00Z'));
const TSS = ['2024-01-31T10:00:00Z', '2024-01-31T00:00:00Z', '2024-01-31T08:00:00.250Z', '1999-12-31T23:59:59.999Z'].map((s) => new Date(s));

function makeRows(n: number): Row[] {
  const r = seeded(7);
  const maybe = <T>(x: T): T | null => (r() < 0.15 ? null : x);
  const rows: Row[] = [];
  for (let id = 0; id < n; id++) {
    rows.push({
      id,
      f: maybe(pick(r, NUMS)),
      g: maybe(r() < 0.5 ? pick(r, NUMS) : Math.round((r() * 24 - 12) * 4) / 4),
      i: maybe(pick(r, BIGS)),
      u: maybe(pick(r, UBIGS)),
      s: maybe(pick(r, STRS)),
      b: maybe(r() < 0.5),
      d: maybe(pick(r, DAYS)),
      ts: maybe(pick(r, TSS)),
    });
  }
  // points on a grid for the polygon tests
  for (let x = -10; x <= 10; x += 0.5)
    for (let y = -10; y <= 10; y += 2.5)
      rows.push({ id: rows.length, f: x, g: y, i: null, u: null, s: null, b: null, d: null, ts: null });
  return rows;
}

const sqlNum = (v: number) => (Number.isNaN(v) ? "'nan'::DOUBLE" : v === Infinity ? "'inf'::DOUBLE" : v === -Infinity ? "'-inf'::DOUBLE" : Object.is(v, -0) ? "'-0.0'::DOUBLE" : `${v}::DOUBLE`);
const sqlStr = (s: string) => `'${s.replace(/'/g, "''")}'`;
const nul = <T>(v: T | null, f: (x: T) => string) => (v === null ? 'NULL' : f(v));

const COLUMNS: GenColumn[] = [
  { name: 'f', kind: 'num' },
  { name: 'g', kind: 'num' },
  { name: 'i', kind: 'int64' },
  { name: 'u', kind: 'int64' },
  { name: 's', kind: 'str' },
  { name: 'b', kind: 'bool' },
  { name: 'd', kind: 'date' },
  { name: 'ts', kind: 'date' },
];
const SCHEMA: SqlSchema = {
  fields: [
    { name: 'id', type: 'int32' }, { name: 'f', type: 'float64' }, { name: 'g', type: 'float64' }, { name: 'i', type: 'int64' },
    { name: 'u', type: 'uint64' }, { name: 's', type: 'string' }, { name: 'b', type: 'bool' }, { name: 'd', type: 'date' },
    { name: 'ts', type: 'timestamp' },
  ],
};
const GEN = {
  columns: COLUMNS,
  numbers: NUMS,
  strings: [...STRS, 'zz', 'A'],
  bigints: ['9007199254740993', '-9007199254740993', '9223372036854775807', '-9223372036854775808', '18446744073709551615', '9223372036854775808'],
  dates: ['2024-01-31', '2024-02-29', '2000-01-01', '2024-01-31T10:00:00Z', '2024-01-31T12:00:00+02:00', '2024-01-31T08:00:00.25', '1999-12-31T23:59:59.999500Z', '1970-01-01'],
  maxDepth: 3,
};

const HAND = [
  'f > 1',
  'f >= -inf',
  'f < inf',
  'f <= inf',
  'f != 2.5',
  'f = nan',
  'f != nan',
  'not f > 1',
  'not (f = nan)',
  'f in (1, nan, null)',
  'f not in (1, 2.5)',
  'f not in (1, null)',
  'f between -1 and 3',
  'f not between -1 and 3',
  'f between null and 3',
  'not f between 1 and null',
  'f between -inf and nan',
  'f in [0, 3)',
  'f in [-inf, inf)',
  'not f in [0, 3)',
  'f = -0',
  'f > 9007199254740992',
  'i = 9007199254740993',
  'i = 9007199254740992',
  'i > 9007199254740992',
  'i < -9007199254740992',
  'i >= 9.2e18',
  'i = 1.0',
  'i > 2.5',
  'i in (1, 3, 9223372036854775807)',
  'u = 18446744073709551615',
  'u > 9223372036854775807',
  'u >= 1e19',
  "s = 'a'",
  "s < 'b'",
  "s > 'B'",
  "s >= 'é'",
  "s > '\\uffff'",
  "s in ('US', 'CA', \"it's\")",
  "s not in ('a', null)",
  "s between 'a' and 'b'",
  'b = true',
  'b != true',
  'not b = false',
  'b is null or s is null',
  "d = date '2024-01-31'",
  "d < timestamp '2024-01-31T10:00:00Z'",
  "d >= date '2000-01-01' and d < date '2024-02-01'",
  "ts = timestamp '2024-01-31T12:00:00+02:00'",
  "ts > timestamp '2024-01-31T08:00:00.25'",
  "ts < timestamp '2024-01-31T08:00:00.250001Z'",
  "ts >= date '2024-01-31'",
  "ts between timestamp '1999-12-31T23:59:59.9995Z' and date '2024-01-31'",
  '(f, g) in polygon [(0,0), (4,0), (4,4), (0,4)]',
  '(f, g) in polygon [(-5,-5), (5,5), (5,-5), (-5,5)]',
  '(f, g) in polygon [(0,0), (7.5,-2.5), (10,10), (-3,7.5), (-10,-10)]',
  'not (f, g) in polygon [(0,0), (4,0), (4,4), (0,4)]',
  '(f, g) in polygon [(0,0), (1,1)]',
  '(g, f) in polygon [(-2.5, -10), (2.5, 10), (0, 0)]',
  '(i, u) in polygon [(0,0), (4,0), (4,4), (0,4)]',
  '(f, g) in polygon [(0,0), (inf,0), (4,4), (nan,4), (0, -inf)]',
  '(f, g) in polygon [(0,0), (4,0), (4,4), (nan,4)]',
  '(f, g) in polygon [(0,0), (4,0), (inf,4)]',
  '(f, g) in polygon [(-1e308,-1e308), (1e308,-1e308), (0,1e308)]',
  'true',
  'false',
  'f in ()',
  'not f not in ()',
  '(f > 1 or g > 1) and not (s = "a" or b = true)',
];

const DUCK_TYPES: Record<SqlParamType, DuckDBType> = { BIGINT, HUGEINT, DOUBLE, VARCHAR, BOOLEAN };

function expected(rows: Row[], e: Expr): number[] {
  return rows.filter((r) => evalExprOnRow(e, r)).map((r) => r.id);
}

describe('toSQL on DuckDB agrees with evalExprOnRow', () => {
  let con: DuckDBConnection;
  const rows = makeRows(400);

  beforeAll(async () => {
    const db = await DuckDBInstance.create(':memory:');
    con = await db.connect();
    await con.run('CREATE TABLE t (id INTEGER, f DOUBLE, g DOUBLE, i BIGINT, u UBIGINT, s VARCHAR, b BOOLEAN, d DATE, ts TIMESTAMP)');
    const values = rows.map(
      (r) =>
        `(${r.id}, ${nul(r.f, sqlNum)}, ${nul(r.g, sqlNum)}, ${nul(r.i, String)}, ${nul(r.u, String)}, ${nul(r.s, sqlStr)}, ${nul(r.b, String)}, ${nul(
          r.d,
          (d) => `DATE '${d.toISOString().slice(0, 10)}'`,
        )}, ${nul(r.ts, (d) => `TIMESTAMP '${d.toISOString().slice(0, 23).replace('T', ' ')}'`)})`,
    );
    await con.run(`INSERT INTO t VALUES ${values.join(', ')}`);
  });
  afterAll(() => con?.closeSync());

  async function select(e: Expr, schema?: SqlSchema): Promise<number[]> {
    const { sql, params, paramTypes } = toSQL(e, 'duckdb', schema);
    const types = paramTypes.map((t) => DUCK_TYPES[t]);
    const reader = await con.runAndReadAll(`SELECT id FROM t WHERE ${sql} ORDER BY id`, params as never, types).catch((err: Error) => {
      throw new Error(`${err.message}\n${formatExpr(e)}\n${sql}\n${params.map(String).join(', ')}`);
    });
    return reader.getRows().map((r) => Number(r[0]));
  }

  it('sanity: the table holds the rows', async () => {
    const reader = await con.runAndReadAll('SELECT count(*), count(f), sum(CASE WHEN isnan(f) THEN 1 ELSE 0 END) FROM t');
    const [n, nf, nan] = reader.getRows()[0]!.map(Number);
    expect(n).toBe(rows.length);
    expect(nf).toBe(rows.filter((r) => r.f !== null).length);
    expect(nan).toBeGreaterThan(5);
  });

  it.each(HAND)('%s', async (text) => {
    const e = parseExpr(text);
    const want = expected(rows, e);
    expect(await select(e, SCHEMA), `with schema: ${toSQL(e, 'duckdb', SCHEMA).sql}`).toEqual(want);
    expect(await select(e), `without schema: ${toSQL(e, 'duckdb').sql}`).toEqual(want);
  });

  it('agrees on 600 generated expressions', async () => {
    const r = seeded(2024);
    let nonTrivial = 0;
    for (let k = 0; k < 600; k++) {
      const e = genExpr(r, GEN);
      const want = expected(rows, e);
      if (want.length > 0 && want.length < rows.length) nonTrivial++;
      const got = await select(e, k % 2 ? SCHEMA : undefined);
      expect(got, `#${k}: ${formatExpr(e)}\n${toSQL(e, 'duckdb', k % 2 ? SCHEMA : undefined).sql}`).toEqual(want);
    }
    expect(nonTrivial).toBeGreaterThan(200);
  });
});

describe('toSQL on SQLite agrees with evalExprOnRow', () => {
  // SQLite has no NaN (it stores NULL), no booleans (0/1) and no date type: numbers, ints, strings
  const rows = makeRows(300).map((r) => ({ ...r, f: r.f !== null && Number.isNaN(r.f) ? null : r.f, g: r.g !== null && Number.isNaN(r.g) ? null : r.g }));
  const db = new Database(':memory:');
  db.defaultSafeIntegers(true);
  db.exec('CREATE TABLE t (id INTEGER, f REAL, g REAL, i INTEGER, s TEXT, b INTEGER)');
  const ins = db.prepare('INSERT INTO t VALUES (?, ?, ?, ?, ?, ?)');
  for (const r of rows) ins.run(r.id, r.f, r.g, r.i, r.s, r.b === null ? null : r.b ? 1 : 0);
  afterAll(() => db.close());

  const cols = COLUMNS.filter((c) => ['f', 'g', 'i', 's', 'b'].includes(c.name));
  const gen = { ...GEN, columns: cols, numbers: NUMS.filter((n) => !Number.isNaN(n)), bigints: GEN.bigints.filter((b) => BigInt(b) < 2n ** 63n) };

  it('agrees on hand-written and 400 generated expressions', () => {
    const r = seeded(99);
    const exprs = [
      ...HAND.filter((t) => !/nan|\bd\b|ts|\bu\b|[<>]=? *'|between 'a'/.test(t)).map(parseExpr),
      ...Array.from({ length: 400 }, () => genExpr(r, gen)),
    ];
    for (const e of exprs) {
      const { sql, params } = toSQL(e, 'sqlite');
      const got = (db.prepare(`SELECT id FROM t WHERE ${sql} ORDER BY id`).all(...(params as never[])) as { id: bigint }[]).map((x) => Number(x.id));
      expect(got, `${formatExpr(e)}\n${sql}`).toEqual(expected(rows, e));
    }
  });
});

/**
 * PostgreSQL: a real server started here on loopback (main/engine/sql/testing/postgres.ts), where
 * its binaries are installed. Strings use COLLATE "C" (byte order, as the evaluator); the session
 * time zone is UTC.
 */
describe.skipIf(!postgresAvailable())('toSQL on Postgres agrees with evalExprOnRow', () => {
  let pg: PostgresServer;
  const psql = (script: string) => pg.psql("SET TimeZone = 'UTC'; SET client_min_messages = warning;\n" + script);
  // Postgres text cannot hold NUL; u is numeric(20) (no unsigned 64-bit type)
  const rows = makeRows(300);
  const pgLit = (v: unknown) =>
    typeof v === 'number' ? `'${Number.isNaN(v) ? 'NaN' : v === Infinity ? 'Infinity' : v === -Infinity ? '-Infinity' : Object.is(v, -0) ? '-0' : String(v)}'`
    : typeof v === 'string' ? `'${v.replace(/'/g, "''")}'`
    : String(v);

  beforeAll(async () => {
    pg = await startPostgres();
    const values = rows.map(
      (r) =>
        `(${r.id}, ${nul(r.f, pgLit)}, ${nul(r.g, pgLit)}, ${nul(r.i, String)}, ${nul(r.u, String)}, ${nul(r.s, pgLit)}, ${nul(r.b, String)}, ${nul(
          r.d,
          (d) => `DATE '${d.toISOString().slice(0, 10)}'`,
        )}, ${nul(r.ts, (d) => `TIMESTAMP '${d.toISOString().slice(0, 23).replace('T', ' ')}'`)})`,
    );
    await psql(
      'DROP TABLE IF EXISTS t;\n' +
        'CREATE TABLE t (id integer, f double precision, g double precision, i bigint, u numeric(20), s text COLLATE "C", b boolean, d date, ts timestamp);\n' +
        `INSERT INTO t VALUES ${values.join(', ')};`,
    );
  }, 120_000);
  afterAll(async () => {
    await pg?.stop();
  });

  async function runAll(exprs: Expr[], schema?: SqlSchema): Promise<number[][]> {
    let script = '';
    exprs.forEach((e, k) => {
      const { sql, params } = toSQL(e, 'postgres', schema);
      script += `PREPARE q${k} AS SELECT id FROM t WHERE ${sql} ORDER BY id;\n`;
      script += `EXECUTE q${k}${params.length ? `(${params.map(pgLit).join(', ')})` : ''};\nSELECT -1;\nDEALLOCATE q${k};\n`;
    });
    const out = (await psql(script)).split('\n').filter((l) => l !== '');
    const res: number[][] = [];
    let cur: number[] = [];
    for (const l of out) {
      if (l === '-1') {
        res.push(cur);
        cur = [];
      } else cur.push(Number(l));
    }
    return res;
  }

  it('agrees on hand-written and 500 generated expressions', async () => {
    const r = seeded(31337);
    const exprs = [...HAND.map(parseExpr), ...Array.from({ length: 500 }, () => genExpr(r, GEN))];
    for (const schema of [SCHEMA, undefined]) {
      const got = await runAll(exprs, schema);
      expect(got.length).toBe(exprs.length);
      exprs.forEach((e, k) => expect(got[k], `${formatExpr(e)}\n${toSQL(e, 'postgres', schema).sql}`).toEqual(expected(rows, e)));
    }
  });
});
