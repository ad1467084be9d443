import { describe, expect, it } from 'vitest';
import { ExprError } from './errors';
import { parseExpr } from './parse';
import { type SqlDialect, type SqlSchema, quoteIdent, toSQL as toSQLFull } from './sql';

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
