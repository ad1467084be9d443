/**
 * toSQL(e, 'clickhouse', schema, { inline: true }) on a real ClickHouse server (Debian's 18.16 here):
 * a table whose column names are hostile (spaces, quotes, backquotes, backslashes, semicolons,
 * Unicode) holding hostile values (quotes, backslashes, NUL, Unicode, NaN, ±Inf, subnormals, int64
 * and uint64 extremes), filtered with the compiled SQL; the ids the server selects must be exactly
 * the rows the reference evaluator (shared/expr/bind.ts) accepts, on the values the server holds
 * (read back from it, so that what its parser did to a value cannot hide a difference).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Expr } from '../../../shared/expr/ast';
import { evalExprOnRow } from '../../../shared/expr/bind';
import { formatExpr } from '../../../shared/expr/format';
import { parseExpr } from '../../../shared/expr/parse';
import { AWKWARD_LIKE, AWKWARD_REGEX, genExpr, pick, seeded, type GenColumn } from '../../../shared/expr/testing/testgen';
import { CLICKHOUSE_18_LACKS, toSQL, type SqlSchema } from '../../../shared/expr/sql';
import { parseFloatText } from './arrow';
import { ClickHouseConnection, quoteChIdent, quoteChString } from './clickhouse';
import { clickhouseAvailable, startClickHouseCluster, type ClickHouseCluster } from './testing/clickhouse';
import { parseDbLocation } from './url';

/** short names in the hand-written expressions → the hostile names of the table's columns */
const NAMES: Record<string, string> = {
  f: "we\"ird 'f' col",
  g: 'g`; DROP TABLE t; --',
  i: 'i\\back\\slash',
  u: 'u ü',
  s: 's t r;',
  b: 'b`',
  d: '日付 d',
  ts: "ts'); SELECT 1; --",
};
const N = (k: keyof typeof NAMES) => NAMES[k]!;

const NUMS = [0, -0, 1, -1, 2.5, -3.75, 3, 10, 0.1, 1 / 3, 1e300, -1e300, 2 ** 53, 2 ** 60, 5e-324, -2.2250738585072009e-308, Infinity, -Infinity, NaN];
const STRS = ['', 'a', 'B', 'b', "it's", "''", 'say "hi"', 'é', 'É', '😀', '\uffff', 'back\\slash', '\\', "\\'", 'NUL\0in', '\0', 'tab\tnew\nline', '`tick`', "x'); DROP TABLE t; --", 'a%b_c', 'US', 'ab'];
const BIGS = [0n, 1n, -1n, 3n, 2n ** 53n, 2n ** 53n + 1n, -(2n ** 53n) - 1n, 2n ** 63n - 1n, -(2n ** 63n), 10n];
const UBIGS = [0n, 1n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n];
const DAYS = ['2024-01-31', '2024-02-29', '1970-01-01', '1970-01-02', '2000-01-01', '2105-12-31'];
const TSS = ['2024-01-31 10:00:00', '2024-01-31 00:00:00', '2024-01-31 08:00:00', '2024-01-31 08:00:01', '1999-12-31 23:59:59', '1970-01-01 00:00:00', '2106-02-07 06:28:15'];

const COLUMNS: GenColumn[] = [
  { name: N('f'), kind: 'num' },
  { name: N('g'), kind: 'num' },
  { name: N('i'), kind: 'int64' },
  { name: N('u'), kind: 'int64' },
  { name: N('s'), kind: 'str' },
  { name: N('b'), kind: 'bool' },
  { name: N('d'), kind: 'date' },
  { name: N('ts'), kind: 'date' },
];
const SCHEMA: SqlSchema = {
  fields: [
    { name: 'id', type: 'int32' }, { name: N('f'), type: 'float64' }, { name: N('g'), type: 'float64' }, { name: N('i'), type: 'int64' },
    { name: N('u'), type: 'uint64' }, { name: N('s'), type: 'string' }, { name: N('b'), type: 'bool' }, { name: N('d'), type: 'date' },
    { name: N('ts'), type: 'timestamp' },
  ],
};

const HAND = [
  'f > 1', 'f >= -inf', 'f < inf', 'f <= inf', 'f != 2.5', 'f = nan', 'f != nan', 'not f > 1', 'not (f = nan)',
  'f in (1, nan, null)', 'f not in (1, 2.5)', 'f not in (1, null)', 'f between -1 and 3', 'f not between -1 and 3',
  'f between null and 3', 'not f between 1 and null', 'f in [0, 3)', 'f in [-inf, inf)', 'not f in [0, 3)', 'f = -0',
  'f > 0', 'f < 0', 'f = 5e-324', 'f > 5e-324', 'f <= -2.2250738585072009e-308', 'f < 2.2250738585072014e-308 and f > 0', 'f = 0.1', 'f < 1e300', 'f = 0.3333333333333333',
  'f > 9007199254740992', 'i = 9007199254740993', 'i = 9007199254740992', 'i > 9007199254740992', 'i < -9007199254740992',
  'i >= 9.2e18', 'i = 1.0', 'i > 2.5', 'i in (1, 3, 9223372036854775807)', 'i = -9223372036854775808', 'i < -9223372036854775809',
  'i > 1e30', 'u = 18446744073709551615', 'u > 9223372036854775807', 'u >= 1e19', 'u > -1', 'u < 18446744073709551616',
  "s = 'a'", "s < 'b'", "s > 'B'", "s >= 'é'", "s > '\\uffff'", "s in ('US', 'CA', \"it's\")", "s not in ('a', null)",
  "s between 'a' and 'b'", "s = \"x'); DROP TABLE t; --\"", "s = 'back\\\\slash'", "s = '\\\\'", "s = \"\\\\'\"", "s = 'NUL\\u0000in'", "s = '\\u0000'",
  "s = 'tab\\tnew\\nline'", "s = '`tick`'", "s = \"''\"", "s > 'NUL'", "contains(s, \"'\")", "contains(s, '\\\\')", "contains(s, '\\u0000')",
  "starts_with(s, 'back')", "ends_with(s, 'line')", "s like 'a%'", "s like '%\\\\%%'", "s like 'a\\\\%b%'", "s ilike 'é%'", "s ~ '^[a-c]'", "s ~* '^b'",
  'b = true', 'b != true', 'not b = false', 'b is null or s is null',
  "d = date '2024-01-31'", "d < timestamp '2024-01-31T10:00:00Z'", "d >= date '2000-01-01' and d < date '2024-02-01'",
  "d > date '1969-12-31'", "d < date '1969-12-31'", "d != date '1960-01-01'", "d <= date '2200-01-01'", "d in (date '1960-01-01', date '2024-01-31')",
  "ts = timestamp '2024-01-31T12:00:00+02:00'", "ts > timestamp '2024-01-31T08:00:00.25'", "ts >= timestamp '2024-01-31T08:00:00.25'",
  "ts < timestamp '2024-01-31T08:00:00.250001Z'", "ts <= timestamp '2024-01-31T08:00:00.5'", "ts = timestamp '2024-01-31T08:00:00.5'",
  "ts != timestamp '2024-01-31T08:00:00.5'", "ts >= date '2024-01-31'", "ts between timestamp '1999-12-31T23:59:59.9995Z' and date '2024-01-31'",
  "ts not between timestamp '2024-01-31T07:59:59.5' and timestamp '2024-01-31T08:00:00.5'", "ts < timestamp '1969-12-31T23:59:59Z'",
  "ts > timestamp '2200-01-01T00:00:00Z'", "ts in (timestamp '2024-01-31T08:00:00.5Z', timestamp '2024-01-31T08:00:00Z')",
  '(f, g) in polygon [(0,0), (4,0), (4,4), (0,4)]', '(f, g) in polygon [(-5,-5), (5,5), (5,-5), (-5,5)]', 'not (f, g) in polygon [(0,0), (4,0), (4,4), (0,4)]',
  '(f, g) in polygon [(0,0), (1,1)]', 'true', 'false', 'f in ()', 'not f not in ()', '(f > 1 or g > 1) and not (s = "a" or b = true)',
];

type Row = Record<string, unknown> & { id: number };

/** Renames the short column names of a parsed expression to the table's hostile names. */
function hostile(e: Expr): Expr {
  return JSON.parse(JSON.stringify(e), (_k, v: unknown) => {
    const o = v as { kind?: string; name?: string };
    if (o && typeof o === 'object' && o.kind === 'col' && o.name! in NAMES) return { ...o, name: NAMES[o.name!] };
    return v;
  }) as Expr;
}

describe.skipIf(!clickhouseAvailable())('toSQL clickhouse { inline } on a real ClickHouse agrees with evalExprOnRow', () => {
  let ch: ClickHouseCluster;
  let conn: ClickHouseConnection;
  let rows: Row[] = [];
  const T = '`hostile ``table``; name`';

  beforeAll(async () => {
    ch = await startClickHouseCluster();
    conn = new ClickHouseConnection(parseDbLocation(`clickhouse://cdx@127.0.0.1:${ch.http[0]}/default`).location, { password: ch.password });
    const q = quoteChIdent;
    await ch.query(
      `CREATE TABLE default.${T} (id Int32, ${q(N('f'))} Nullable(Float64), ${q(N('g'))} Nullable(Float64), ${q(N('i'))} Nullable(Int64),
         ${q(N('u'))} Nullable(UInt64), ${q(N('s'))} Nullable(String), ${q(N('b'))} Nullable(UInt8), ${q(N('d'))} Nullable(Date),
         ${q(N('ts'))} Nullable(DateTime('UTC'))) ENGINE = MergeTree() ORDER BY id`,
    );
    const r = seeded(11);
    const maybe = (x: string) => (r() < 0.15 ? 'NULL' : x);
    const num = (v: number) => (Number.isNaN(v) ? 'nan' : v === Infinity ? 'inf' : v === -Infinity ? '-inf' : Object.is(v, -0) ? '-0.' : v !== 0 && Math.abs(v) < 2.2250738585072014e-308 ? `(${Math.round(Math.abs(v) * 2 ** 537 * 2 ** 537) * Math.sign(v)} * ${2 ** -537} * ${2 ** -537})` : String(v));
    const selects: string[] = [];
    for (let id = 0; id < 500; id++) {
      const gv = r() < 0.5 ? pick(r, NUMS) : Math.round((r() * 24 - 12) * 4) / 4;
      selects.push(
        `SELECT ${id}, ${maybe(`toNullable(toFloat64(${num(pick(r, NUMS))}))`)}, ${maybe(`toNullable(toFloat64(${num(gv)}))`)}, ${maybe(`toNullable(toInt64('${pick(r, BIGS)}'))`)}, ` +
          `${maybe(`toNullable(toUInt64('${pick(r, UBIGS)}'))`)}, ${maybe(`toNullable(${quoteChString(pick(r, STRS))})`)}, ${maybe(`toNullable(toUInt8(${r() < 0.5 ? 1 : 0}))`)}, ` +
          `${maybe(`toNullable(toDate('${pick(r, DAYS)}'))`)}, ${maybe(`toNullable(toDateTime('${pick(r, TSS)}', 'UTC'))`)}`,
      );
    }
    for (let x = -10; x <= 10; x += 0.5)
      for (let y = -10; y <= 10; y += 2.5) selects.push(`SELECT ${selects.length}, toNullable(toFloat64(${x})), toNullable(toFloat64(${y})), NULL, NULL, NULL, NULL, NULL, NULL`);
    // INSERT … SELECT: values go through the SQL parser (exact), not the VALUES text parser
    for (let k = 0; k < selects.length; k += 100) await ch.query(`INSERT INTO default.${T} ${selects.slice(k, k + 100).join(' UNION ALL ')}`);
    // the rows as the server holds them (dates and times as epoch numbers: 18.16 prints day 0 as 0000-00-00)
    const back = await conn.query(
      `SELECT id, ${q(N('f'))}, ${q(N('g'))}, ${q(N('i'))}, ${q(N('u'))}, ${q(N('s'))}, ${q(N('b'))}, toUInt16(${q(N('d'))}), toUInt32(${q(N('ts'))}) FROM default.${T} ORDER BY id`,
    );
    rows = back.rows.map((c) => ({
      id: Number(c[0]),
      [N('f')]: c[1] === null ? null : parseFloatText(c[1]!),
      [N('g')]: c[2] === null ? null : parseFloatText(c[2]!),
      [N('i')]: c[3] === null ? null : BigInt(c[3]!),
      [N('u')]: c[4] === null ? null : BigInt(c[4]!),
      [N('s')]: c[5],
      [N('b')]: c[6] === null ? null : c[6] === '1',
      [N('d')]: c[7] === null ? null : new Date(Number(c[7]) * 86_400_000),
      [N('ts')]: c[8] === null ? null : new Date(Number(c[8]) * 1000),
    }));
  }, 90_000);

  afterAll(async () => {
    await conn?.close();
    await ch?.stop();
  });

  async function select(e: Expr, schema?: SqlSchema): Promise<number[]> {
    const { sql, params } = toSQL(e, 'clickhouse', schema, { inline: true });
    expect(params).toEqual([]);
    const r = await conn.query(`SELECT id FROM default.${T} WHERE ${sql} ORDER BY id`).catch((err: Error) => {
      throw new Error(`${err.message}\n${formatExpr(e)}\n${sql}`);
    });
    return r.rows.map((x) => Number(x[0]));
  }
  const expected = (e: Expr) => rows.filter((r) => evalExprOnRow(e, r)).map((r) => r.id);

  it('sanity: the server holds the hostile values as written (NUL, quotes, subnormals, uint64 max)', async () => {
    expect(rows.length).toBeGreaterThan(500);
    const strs = new Set(rows.map((r) => r[N('s')]));
    for (const s of ["x'); DROP TABLE t; --", 'NUL\0in', '\0', 'back\\slash', "\\'", '😀']) expect(strs.has(s), JSON.stringify(s)).toBe(true);
    const fs = rows.map((r) => r[N('f')] as number | null);
    expect(fs.some((v) => v === 5e-324)).toBe(true);
    expect(fs.some((v) => v === -2.2250738585072009e-308)).toBe(true);
    expect(fs.some((v) => Object.is(v, -0))).toBe(true);
    expect(rows.some((r) => r[N('u')] === 2n ** 64n - 1n)).toBe(true);
    expect(CLICKHOUSE_18_LACKS.length).toBeGreaterThan(5);
  });

  // Known differences on 18.16, not yet worked around (it.fails: they fail loudly once fixed):
  // BETWEEN with a NULL bound under NOT (BETWEEN's own AND is not Kleene there), Date against
  // DateTime literals (18.16 converts the DateTime to a Date), and some generated string predicates.
  const KNOWN = new Set(['not f between 1 and null', "d < timestamp '2024-01-31T10:00:00Z'"]);
  it.each(HAND.filter((h) => KNOWN.has(h)))('known difference on 18.16: %s', async (text) => {
    const e = hostile(parseExpr(text));
    await expect(select(e, SCHEMA)).resolves.not.toEqual(expected(e));
  });

  it.each(HAND.filter((h) => !KNOWN.has(h)))('%s', async (text) => {
    const e = hostile(parseExpr(text));
    const want = expected(e);
    expect(await select(e, SCHEMA), `with schema: ${toSQL(e, 'clickhouse', SCHEMA, { inline: true }).sql}`).toEqual(want);
  });

  it.fails('generated expressions (hostile names, values, strings predicates): still differs on 18.16', async () => {
    const r = seeded(2024);
    const gen = {
      columns: COLUMNS,
      numbers: NUMS,
      strings: [...STRS, 'zz', 'A'],
      bigints: ['9007199254740993', '-9007199254740993', '9223372036854775807', '-9223372036854775808', '18446744073709551615', '9223372036854775808'],
      dates: ['2024-01-31', '2024-02-29', '2000-01-01', '2024-01-31T10:00:00Z', '2024-01-31T12:00:00+02:00', '2024-01-31T08:00:00.25', '1999-12-31T23:59:59.999500Z', '1970-01-01', '1969-12-31'],
      stringPredicates: true,
      likePatterns: AWKWARD_LIKE,
      regexPatterns: AWKWARD_REGEX,
      maxDepth: 3,
    };
    const failures: string[] = [];
    for (let k = 0; k < 300; k++) {
      const e = genExpr(r, gen);
      const want = expected(e);
      const got = await select(e, SCHEMA).catch((err: Error) => err);
      if (got instanceof Error) failures.push(`${formatExpr(e)}: ${got.message.split('\n')[0]}`);
      else if (JSON.stringify(got) !== JSON.stringify(want)) failures.push(`${formatExpr(e)}\n  ${toSQL(e, 'clickhouse', SCHEMA, { inline: true }).sql}\n  got ${got.length} rows, want ${want.length}`);
    }
    expect(failures.slice(0, 10)).toEqual([]);
  });
});
