import { describe, expect, it } from 'vitest';
import { ExprError } from './errors';
import { parseExpr, parseValue } from './parse';
import { type SqlDialect, type SqlSchema, quoteIdent, toSQL as toSQLFull, valueSQL, valueSQL as valueSQLFull } from './sql';

/** sql and params only (paramTypes has its own test) */
const toSQL = (e: Parameters<typeof toSQLFull>[0], d: SqlDialect, schema?: SqlSchema) => {
  const { sql, params } = toSQLFull(e, d, schema);
  return { sql, params };
};

const typed = {
  fields: [
    { name: 'price', type: 'float64' },
    { name: 'n', type: 'int64' },
    { name: 'country', type: 'string' },
    { name: 'comment', type: 'string' },
    { name: 'ok', type: 'bool' },
    { name: 'day', type: 'date' },
    { name: 'at', type: 'timestamp' },
    { name: 'odd "name"', type: 'int32' },
    { name: 'x', type: 'float64' },
    { name: 'y', type: 'float64' },
  ],
};

describe('toSQL', () => {
  const example = 'price > 100 and country in ("US", "CA") and comment is not null';

  it('sqlite: ? placeholders, booleans as 1/0, big ints as bigint', () => {
    expect(toSQL(parseExpr(example), 'sqlite')).toEqual({
      sql: '("price" > ?) AND ("country" IN (?, ?)) AND ("comment" IS NOT NULL)',
      params: [100, 'US', 'CA'],
    });
    expect(toSQL(parseExpr('ok = true and n = 9223372036854775807 and n < 18446744073709551615'), 'sqlite')).toEqual({
      sql: '("ok" = ?) AND ("n" = ?) AND ("n" < ?)',
      params: [1, 9223372036854775807n, 18446744073709551615],
    });
    expect(toSQL(parseExpr("day = date '2024-01-31'"), 'sqlite')).toEqual({ sql: '"day" = ?', params: ['2024-01-31'] });
  });

  it('duckdb: casts on numbers and dates, NaN guard on float columns only', () => {
    expect(toSQL(parseExpr(example), 'duckdb', typed)).toEqual({
      sql: '("price" > CAST(? AS BIGINT) AND NOT isnan("price")) AND ("country" IN (?, ?)) AND ("comment" IS NOT NULL)',
      params: [100, 'US', 'CA'],
    });
    expect(toSQL(parseExpr('n >= 1.5 and n = 9007199254740993'), 'duckdb', typed)).toEqual({
      sql: '("n" >= CAST(? AS DOUBLE)) AND ("n" = CAST(? AS HUGEINT))',
      params: [1.5, 9007199254740993n],
    });
    expect(toSQL(parseExpr("at < timestamp '2024-01-31T10:00:00.25+02:00' and day = date '2024-01-31'"), 'duckdb', typed)).toEqual({
      sql: '("at" < CAST(? AS TIMESTAMP)) AND ("day" = CAST(? AS DATE))',
      params: ['2024-01-31 08:00:00.25', '2024-01-31'],
    });
  });

  it('postgres: numbered $n placeholders with casts', () => {
    expect(toSQL(parseExpr(example + ' and ok = false'), 'postgres', typed)).toEqual({
      sql: `("price" > CAST($1 AS bigint) AND "price" <> CAST('NaN' AS double precision)) AND ("country" IN ($2, $3)) AND ("comment" IS NOT NULL) AND ("ok" = $4)`,
      params: [100, 'US', 'CA', false],
    });
    expect(toSQL(parseExpr("at >= timestamp '2024-01-31 10:00' and n != 18446744073709551615"), 'postgres', typed)).toEqual({
      sql: '("at" >= CAST($1 AS timestamptz)) AND ("n" <> CAST($2 AS numeric))',
      params: ['2024-01-31T10:00:00Z', '18446744073709551615'],
    });
  });

  it('clickhouse: typed {pN:Type} parameters and backquoted identifiers', () => {
    expect(toSQL(parseExpr(example + " and `a``b\\` = 1.5 and day < date '2024-01-31' and n = 9007199254740993"), 'clickhouse')).toEqual({
      sql:
        '(`price` > {p1:Int64}) AND (`country` IN ({p2:String}, {p3:String})) AND (`comment` IS NOT NULL) AND (`a\\`b\\\\` = {p4:Float64}) AND (`day` < {p5:Date32}) AND (`n` = {p6:Int128})',
      params: [100, 'US', 'CA', 1.5, '2024-01-31', '9007199254740993'],
    });
    // the backquoted column in the text above is a`b\ :
    expect(quoteIdent('a`b\\', 'clickhouse')).toBe('`a\\`b\\\\`');
  });

  it('does not double parentheses, even with parentheses inside quoted names', () => {
    expect(toSQL(parseExpr('not price > 1 and `a)(b` = 1 and not `a)(b` is null'), 'duckdb', { fields: [{ name: 'price', type: 'float32' }, { name: 'a)(b' }] }).sql).toBe(
      '(NOT ("price" > CAST(? AS BIGINT) AND NOT isnan("price"))) AND ("a)(b" = CAST(? AS BIGINT)) AND (NOT ("a)(b" IS NULL))',
    );
    expect(toSQL(parseExpr('not `a)``(b` = 1'), 'clickhouse').sql).toBe('NOT (`a)\\`(b` = {p1:Int64})');
  });

  it('quotes identifiers by doubling the quote', () => {
    expect(toSQL(parseExpr('`odd "name"` is null'), 'duckdb', typed).sql).toBe('"odd ""name""" IS NULL');
    expect(quoteIdent('a"b', 'sqlite')).toBe('"a""b"');
  });

  it('never binds NaN; rewrites comparisons with it', () => {
    expect(toSQL(parseExpr('x != nan'), 'duckdb')).toEqual({ sql: '("x" IS NOT NULL OR NULL)', params: [] });
    expect(toSQL(parseExpr('x < nan'), 'sqlite')).toEqual({ sql: '("x" IS NULL AND NULL)', params: [] });
    expect(toSQL(parseExpr('x in (nan, 1)'), 'sqlite')).toEqual({ sql: '"x" IN (?)', params: [1] });
    expect(toSQL(parseExpr('x not in (nan)'), 'sqlite')).toEqual({ sql: 'NOT ("x" IS NULL AND NULL)', params: [] });
    expect(toSQL(parseExpr('x between 0 and nan'), 'sqlite')).toEqual({ sql: '("x" >= ?) AND (("x" IS NULL AND NULL))', params: [0] });
  });

  it('null literals, empty and/or/in, ranges, negations', () => {
    expect(toSQL(parseExpr('x = null'), 'sqlite')).toEqual({ sql: '"x" = NULL', params: [] });
    expect(toSQL(parseExpr('x in (1, null)'), 'sqlite')).toEqual({ sql: '"x" IN (?, NULL)', params: [1] });
    expect(toSQL(parseExpr('true'), 'duckdb').sql).toBe('TRUE');
    expect(toSQL(parseExpr('false'), 'duckdb').sql).toBe('FALSE');
    expect(toSQL(parseExpr('x in ()'), 'duckdb').sql).toBe('FALSE');
    expect(toSQL(parseExpr('x not in ()'), 'duckdb').sql).toBe('TRUE');
    expect(toSQL(parseExpr('n in [0, 10)'), 'duckdb', typed)).toEqual({
      sql: '"n" >= CAST(? AS BIGINT) AND "n" < CAST(? AS BIGINT)',
      params: [0, 10],
    });
    expect(toSQL(parseExpr('not (n between 1 and 2 or n not in (3))'), 'sqlite')).toEqual({
      sql: 'NOT (("n" BETWEEN ? AND ?) OR ("n" NOT IN (?)))',
      params: [1, 2, 3],
    });
  });

  it('compiles a polygon to a crossing count with precomputed edges', () => {
    const { sql, params } = toSQL(parseExpr('(x, y) in polygon [(0,0), (2,0), (0,2)]'), 'sqlite');
    // edges with y0 != y1: (2,0)→(0,2) and (0,2)→(0,0)
    expect(sql).toBe(
      'CASE WHEN "x" IS NULL OR "y" IS NULL THEN NULL ELSE (' +
        'CASE WHEN "y" >= ? AND "y" < ? AND "x" < ? + ("y" - ?) * ? THEN 1 ELSE 0 END + ' +
        'CASE WHEN "y" >= ? AND "y" < ? AND "x" < ? + ("y" - ?) * ? THEN 1 ELSE 0 END) % 2 = 1 END',
    );
    expect(params).toEqual([0, 2, 2, 0, -1, 0, 2, 0, 2, -0]);
  });

  it('gives the type to bind each parameter as', () => {
    const e = parseExpr("x > 1 and x < 1e300 and x = 2.5 and n = 9007199254740993 and s = 'a' and b = true and d = date '2024-01-01'");
    expect(toSQLFull(e, 'duckdb').paramTypes).toEqual(['BIGINT', 'DOUBLE', 'DOUBLE', 'HUGEINT', 'VARCHAR', 'BOOLEAN', 'VARCHAR']);
    expect(toSQLFull(e, 'sqlite').paramTypes).toEqual(['BIGINT', 'DOUBLE', 'DOUBLE', 'HUGEINT', 'VARCHAR', 'BIGINT', 'VARCHAR']);
    expect(toSQLFull(e, 'postgres').paramTypes).toEqual(['BIGINT', 'DOUBLE', 'DOUBLE', 'VARCHAR', 'VARCHAR', 'BOOLEAN', 'VARCHAR']);
  });

  it('binds integral floats beyond 2^53 as exact wide integers', () => {
    expect(toSQL(parseExpr('n > 1e20'), 'duckdb', typed)).toEqual({ sql: '"n" > CAST(? AS HUGEINT)', params: [100000000000000000000n] });
    expect(toSQL(parseExpr('n > 1e20'), 'postgres', typed)).toEqual({ sql: '"n" > CAST($1 AS numeric)', params: ['100000000000000000000'] });
    expect(toSQL(parseExpr('n > 1e20'), 'sqlite', typed)).toEqual({ sql: '"n" > ?', params: [1e20] });
    expect(toSQL(parseExpr('n > 1e300'), 'duckdb', typed)).toEqual({ sql: '"n" > CAST(? AS DOUBLE)', params: [1e300] });
  });

  it('rejects unknown columns when a schema is given', () => {
    try {
      toSQL(parseExpr('price > 1 and nope = 2'), 'duckdb', typed);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ExprError);
      expect((e as ExprError).code).toBe('E_UNKNOWN_COLUMN');
      expect((e as Error).message).toMatch(/nope/);
    }
    expect(() => toSQL(parseExpr('nope = 2'), 'duckdb')).not.toThrow();
  });
});

describe('valueSQL and computed values in toSQL', () => {
  // (literal arguments of functions are written where the parser of 84b68d1 takes them: see values-sql.test.ts)
  it('compiles a value with its parameters, and types it', () => {
    expect(valueSQL(parseValue('n + 1'), 'duckdb', typed)).toMatchObject({
      sql: 'TRY_CAST(CAST("n" AS HUGEINT) + CAST(CAST(? AS BIGINT) AS HUGEINT) AS BIGINT)',
      params: [1],
      type: 'int',
    });
    expect(valueSQL(parseValue('price / n'), 'postgres', typed)).toMatchObject({
      sql: '("price" / NULLIF(CAST("n" AS double precision), 0))',
      params: [],
      type: 'float',
    });
    expect(valueSQL(parseValue("lower(country) || '!'"), 'clickhouse', typed, { inline: true })).toMatchObject({ sql: "concat(lowerUTF8(`country`), '!')", params: [], type: 'string' });
  });

  it('binds a value that stands twice once per placeholder, in text order (positional ? in DuckDB and SQLite)', () => {
    // sqrt tests its argument (CASE WHEN x < 0 …) and then uses it: the parameter is bound twice
    const d = valueSQLFull(parseValue('sqrt(price - 2.5)'), 'duckdb', typed);
    expect(d.sql.match(/\?/g)).toHaveLength(2);
    expect(d.params).toEqual([2.5, 2.5]);
    expect(d.paramTypes).toEqual(['DOUBLE', 'DOUBLE']);
    // numbered placeholders stand twice for one value
    const p = valueSQLFull(parseValue('sqrt(price - 2.5)'), 'postgres', typed);
    expect(p.sql.match(/\$1\b/g)).toHaveLength(2);
    expect(p.params).toEqual([2.5]);
    // and a computed operand in a predicate with a NaN guard (the operand twice, then the literal)
    const e = toSQLFull(parseExpr('price * 2 > 1'), 'duckdb', typed);
    expect(e.sql).toBe('(("price" * CAST(CAST(? AS BIGINT) AS DOUBLE)) > CAST(? AS BIGINT) AND NOT isnan(("price" * CAST(CAST(? AS BIGINT) AS DOUBLE))))');
    expect(e.params).toEqual([2, 1, 2]);
  });

  it('writes values into the SQL with { literals } (PostgreSQL) and { inline } (ClickHouse)', () => {
    const v = parseValue("coalesce(country, 'it''s $cdx$') || cast(price * 1.5 as string)");
    const p = valueSQLFull(v, 'postgres', typed, { literals: true });
    expect(p.params).toEqual([]);
    expect(p.sql).toContain("CAST($cdxx$it's $cdx$$cdxx$ AS text)");
    expect(p.sql).toContain("CAST($cdx$1.5$cdx$ AS double precision)");
    expect(valueSQLFull(v, 'clickhouse', typed, { inline: true }).params).toEqual([]);
  });

  it('resolves computed column names (opts.computed), one computed column reading another', () => {
    const computed = [{ name: 'twice', value: parseValue('price * 2') }, { name: 'big', value: parseValue('twice > 100') }];
    expect(() => toSQL(parseExpr('big and twice < 1000'), 'postgres', typed)).toThrow(/Unknown column 'big'/);
    const both = toSQLFull(parseExpr('big and twice < 1000'), 'postgres', typed, { computed });
    expect(both.sql).toBe(
      `(("price" * CAST(CAST($1 AS bigint) AS double precision)) > CAST($2 AS bigint) AND ("price" * CAST(CAST($1 AS bigint) AS double precision)) <> CAST('NaN' AS double precision)) AND ` +
        `(("price" * CAST(CAST($3 AS bigint) AS double precision)) < CAST($4 AS bigint))`,
    );
    expect(both.params).toEqual([2, 100, 2, 1000]);
    const c = toSQLFull(parseExpr('big'), 'postgres', typed, { computed });
    expect(c.sql).toContain('"price" * CAST(CAST($1 AS bigint) AS double precision)');
    expect(() => toSQLFull(parseExpr('x > 1'), 'duckdb', typed, { computed: [{ name: 'x', value: parseValue('x + 1') }] })).toThrow(/defined through itself/);
  });

  it('refuses what it cannot compile, naming it: no schema, a type mismatch, SQLite gaps', () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return `${(e as ExprError).code}: ${(e as Error).message}`;
      }
      return 'compiled';
    };
    expect(code(() => valueSQL(parseValue('price + 1'), 'duckdb'))).toMatch(/^E_BAD_EXPR: .*schema/);
    expect(code(() => valueSQL(parseValue('country + 1'), 'duckdb', typed))).toMatch(/^E_TYPE_MISMATCH/);
    expect(code(() => toSQL(parseExpr('price + 1'), 'duckdb', typed))).toMatch(/^E_TYPE_MISMATCH: .*not a condition/);
    expect(code(() => valueSQL(parseValue('upper(country)'), 'sqlite', typed))).toMatch(/^E_BAD_EXPR: upper\(\).*SQLite/);
    expect(code(() => valueSQL(parseValue('year(day)'), 'sqlite', typed))).toMatch(/^E_BAD_EXPR: .*dates and times.*SQLite/);
    expect(code(() => valueSQL(parseValue('cast(country as int)'), 'sqlite', typed))).toMatch(/^E_BAD_EXPR: .*SQLite/);
    expect(code(() => valueSQL(parseValue('substr(country, n)'), 'clickhouse', typed, { inline: true }))).toBe('compiled');
  });
});
