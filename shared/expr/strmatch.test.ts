/**
 * String predicates (issue #19): text form round trips and messages, and the SQL forms against
 * real engines — the rows DuckDB (and SQLite for what it has, and Postgres when CDX_TEST_PG is
 * set, as in engines.test.ts) select must be the rows the reference evaluator accepts.
 * (Node-only imports are allowed here: test files are not part of shared/'s runtime.)
 */
import { unknownColumnMessage } from './bind';
import { DuckDBInstance, VARCHAR, BIGINT, DOUBLE, HUGEINT, BOOLEAN, type DuckDBConnection, type DuckDBType } from '@duckdb/node-api';
import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Expr } from './ast';
import { checkExpr, closestName, evalExprOnRow, problemMessages } from './bind';
import { ExprSyntaxError } from './errors';
import { formatExpr } from './format';
import { parseExpr } from './parse';
import { type SqlParamType, toSQL } from './sql';
import { compileRegex, likeShape, likeTokens, parseRegex, regexSource } from './strmatch';
import { AWKWARD_LIKE, AWKWARD_REGEX, genExpr, seeded } from './testing/testgen';

const WORDS = [
  '', 'a', 'A', 'ab', 'AB', 'ba', 'abc', "it's", 'é', 'É', 'ée', '😀', 'a😀b', 'x%y', 'a_b', 'back\\slash', 'new\nline', 'b', 'bb',
  'Straße', 'ΣΑΣ', 'σας', '123', ' a b ', 'aa', 'caa', 'say "hi"', 'tab\there', 'US', 'Zoë', 'x]-y', 'a.b',
];
const rows = Array.from({ length: WORDS.length * 2 + 6 }, (_, id) => ({ id, s: id < WORDS.length * 2 ? WORDS[id % WORDS.length]! : null }));
const HAND = [
  "contains(s, 'a')", "contains(s, '')", "starts_with(s, 'a')", "ends_with(s, 'b')", "contains(s, '😀')", "ends_with(s, '')",
  "contains(s, '%')", "starts_with(s, 'x%')", "ends_with(s, '_b')",
  "s like 'a%'", "s like '%a'", "s like '%b%'", "s like '_'", "s like 'a_b'", "s like 'x\\\\%y'", "s not like '%a%'", "s like '%'",
  "s like ''", "s like '__'", "s like '%\\\\\\\\%'", "s like 'new_line'",
  "s ilike 'AB'", "s ilike 'é%'", "s ilike '%σ%'", "s ilike 'straSSe'", "s not ilike 'a'", "s ilike 'zoË'",
  "s ~ '^a'", "s ~ 'b$'", "s ~ '^(a|b)+$'", "s ~ '\\\\d'", "s ~* '^é'", "s !~ 'a'", "s !~* 'A'", "matches(s, '^.$')", "s ~ '.'",
  "s ~ 'new.line'", "s ~* 'σ'", "s ~ '[^a-z]'", "s ~ '^\\\\w+$'", "s ~ 'a{2}'", "s ~ '^$'", "s ~ '[\\\\]\\\\-]'", "s ~ 'a\\\\.b'",
  "s ~ '\\\\s'", "s ~ '^\\\\S+$'", "s ~ '\\\\W'", "s ~ '^[^\\\\d]*$'", "s ~ '(?:ab)?c'", "s ~ 'b{1,}'", "s ~ '^.{2,3}$'", "s ~ 'x*'",
  "s ~ '\"'", "s ~ '\\\\t'", "s ~* 'straße'",
];

const expected = (e: Expr) => rows.filter((r) => evalExprOnRow(e, r)).map((r) => r.id);
const GEN = {
  columns: [{ name: 's', kind: 'str' as const }], strings: WORDS, stringPredicates: true, maxDepth: 3,
  likePatterns: [...AWKWARD_LIKE, '%\n%', 'σ%'], regexPatterns: [...AWKWARD_REGEX, 'Σ', '\\n'],
};

describe('text form', () => {
  it('parses every spelling into the tree and prints the canonical form', () => {
    const c = { kind: 'col' as const, name: 's' };
    expect(parseExpr("CONTAINS(s, 'x')")).toEqual({ kind: 'match', op: 'contains', col: c, pattern: 'x' });
    expect(parseExpr("s NOT ILIKE 'a%'")).toEqual({ kind: 'match', op: 'like', col: c, pattern: 'a%', icase: true, negated: true });
    expect(parseExpr("matches(s, 'a+')")).toEqual(parseExpr("s ~ 'a+'"));
    expect(parseExpr("s !~* 'a'")).toEqual({ kind: 'match', op: 'regex', col: c, pattern: 'a', icase: true, negated: true });
    const cases: [string, string][] = [
      ["contains(name, 'x')", 'contains(name, "x")'],
      ["starts_with(`odd name`, 'x') and ends_with(s, '\\\\')", 'starts_with(`odd name`, "x") and ends_with(s, "\\\\")'],
      ["s like 'a%b_'", 's like "a%b_"'],
      ["s not like 'a'", 's not like "a"'],
      ["s ilike 'ord'", 's ilike "ord"'],
      ["matches(s, '^\\\\d{3}$')", 's ~ "^\\\\d{3}$"'],
      ["s !~* 'x' or not contains(s, 'y')", 's !~* "x" or not contains(s, "y")'],
      ['`like` like "a" and `contains` = 1', '`like` like "a" and `contains` = 1'],
    ];
    for (const [input, out] of cases) {
      expect(formatExpr(parseExpr(input))).toBe(out);
      expect(parseExpr(out)).toEqual(parseExpr(input));
    }
  });

  it('round-trips generated expressions with string predicates', () => {
    const r = seeded(77);
    for (let k = 0; k < 500; k++) {
      const e = genExpr(r, { ...GEN, columns: [...GEN.columns, { name: 'like', kind: 'str' }, { name: 'n', kind: 'num' }] });
      expect(parseExpr(formatExpr(e)), formatExpr(e)).toEqual(e);
    }
  });

  const err = (text: string): ExprSyntaxError => {
    try {
      parseExpr(text);
    } catch (e) {
      expect(e).toBeInstanceOf(ExprSyntaxError);
      return e as ExprSyntaxError;
    }
    throw new Error(`no error for ${text}`);
  };

  it('says what is wrong, once, and what to write instead', () => {
    // a bare word is a column now (columns compare with columns): the unknown column's message says how to quote text
    expect(unknownColumnMessage('AA', ['carrier'])).toBe("Unknown column 'AA' (text values are quoted: 'AA')");
    expect(unknownColumnMessage('dep', ['dep-delay', 'carrier'])).toBe("Unknown column 'dep' — did you mean `dep-delay`?");
    expect(err('dep delay > 10').reason).toMatch(/found 'delay': a column name with spaces or symbols is written in backquotes, e\.g\. `dep delay`$/);
    expect(err('arr.delay > 3').reason).toBe("Unexpected character '.': a column name with spaces or symbols is written in backquotes, e.g. `arr.delay`");
    expect(err("s like x").reason).toBe("Expected a quoted LIKE pattern after 'like', found 'x': did you mean 'x'?");
    const bad = err("s ~ '(ab'");
    expect(bad.reason).toBe("Bad regular expression '(ab': missing ')'");
    expect(bad.position).toBe(5); // the caret under the '(' inside the quotes
    expect(err("s ~ 'ab{2,1}'").position).toBe(7); // under the '{'
    expect(err("s ~ 'a\\\\1'").reason).toMatch(/ \(at position 1 of the pattern\)$/); // typed with an escape: no caret inside
    expect(err("s ~ 'a\\\\1'").reason).toMatch(/the escape \\1 is not supported/);
    expect(err("s ~ 'a**'").reason).toMatch(/two quantifiers in a row/);
    expect(err("s ~ '[[:alpha:]]'").reason).toMatch(/POSIX/);
    expect(err("s ~ '(?=a)'").reason).toMatch(/only \(\?: …\) groups/);
    expect(err("s ~ '\\d'").reason).toMatch(/Unknown escape \\d in string \(write \\\\ for a backslash, e\.g\. '\\\\d' in a regular expression\)/);
    expect(err("s not like 'a\\\\'").reason).toMatch(/Bad LIKE pattern 'a\\': it ends with a lone backslash/);
    expect(err("'a' ~ s").reason).toMatch(/Expected a quoted regular expression after '~', found 's'/);
    // each message appears once in the error text (the caret excerpt adds the line, not the message)
    for (const t of ['carrier = ', "s ~ '(ab'", 'dep delay > 10']) {
      const m = err(t).message;
      expect(m.split(err(t).reason).length - 1, m).toBe(1);
    }
  });

  it('suggests the nearest column name', () => {
    const schema = { fields: ['origin', 'dest', 'dep delay', 'carrier', 'Name'].map((name) => ({ name, type: 'string' })) };
    const msg = (t: string) => checkExpr(parseExpr(t), schema).map((p) => p.message);
    expect(msg("orgin = 'ORD'")).toEqual(["Unknown column 'orgin' — did you mean 'origin'?"]);
    expect(msg("dep_delay = 'x'")).toEqual(["Unknown column 'dep_delay' — did you mean `dep delay`?"]);
    expect(msg("carirer = 'AA'")).toEqual(["Unknown column 'carirer' — did you mean 'carrier'?"]);
    expect(msg("zzz = 'AA'")).toEqual(["Unknown column 'zzz' (text values are quoted: 'zzz')"]);
    expect(msg("contains(orgin, 'x') or orgin = 'y'")).toHaveLength(1); // once per column
    expect(problemMessages(checkExpr(parseExpr("n in ('a', 'b') or n between 'a' and 'b'"), { fields: [{ name: 'n', type: 'int64' }] }))).toEqual([
      "'in' compares the int64 column 'n' with a string",
      "'between' compares the int64 column 'n' with a string",
    ]);
    expect(closestName('nmae', ['name', 'game'])).toBe('name');
    expect(closestName('x', ['origin'])).toBeUndefined();
  });

  it('checks string predicates against the column type and the pattern', () => {
    const schema = { fields: [{ name: 's', type: 'string' }, { name: 'n', type: 'int64' }] };
    const probs = (t: string) => checkExpr(parseExpr(t), schema).map((p) => `${p.code}: ${p.message}`);
    expect(probs("contains(n, '1')")).toEqual(["E_TYPE_MISMATCH: contains() on the int64 column 'n': it works on text columns"]);
    expect(probs("n ~ '1'")).toEqual(["E_TYPE_MISMATCH: A regular expression on the int64 column 'n': it works on text columns"]);
    expect(probs("s ilike 'a' and s ~ 'b'")).toEqual([]);
    const e: Expr = { kind: 'match', op: 'regex', col: { kind: 'col', name: 's' }, pattern: 'a(' };
    expect(checkExpr(e, schema)).toEqual([expect.objectContaining({ code: 'E_BAD_VALUE', message: "Bad regular expression 'a(': missing ')' (at position 1 of the pattern)" })]);
  });
});

describe('patterns', () => {
  it('LIKE tokens, shapes and the SQL text', () => {
    expect(likeTokens('a%%b_\\%')).toEqual([97, -1, 98, -2, 37]);
    expect(likeShape(likeTokens('%ab%'))).toEqual({ fn: 'contains', cps: [97, 98] });
    expect(likeShape(likeTokens('ab%'))).toEqual({ fn: 'prefix', cps: [97, 98] });
    expect(likeShape(likeTokens('%ab'))).toEqual({ fn: 'suffix', cps: [97, 98] });
    expect(likeShape(likeTokens('ab'))).toEqual({ fn: 'eq', cps: [97, 98] });
    expect(likeShape(likeTokens('%'))).toEqual({ fn: 'contains', cps: [] });
    expect(likeShape(likeTokens('a_'))).toBeNull();
    expect(toSQL(parseExpr("s like 'a\\\\qb%'"), 'duckdb').params).toEqual(['aqb%']);
  });

  it('regular expressions are re-written in the portable syntax', () => {
    expect(regexSource(parseRegex('\\d+\\.\\w|[^\\s]'))).toBe('[0-9]+\\.[0-9A-Z_a-z]|[^\t-\r ]');
    expect(regexSource(parseRegex('(a|b)*c{2,}?'))).toBe('(?:a|b)*c{2,}');
    expect(compileRegex('^ab').anchored).toBe(true);
    expect(compileRegex('^a|b').anchored).toBe(false);
  });
});

// ───────────────────────────── against the engines ─────────────────────────────

const DUCK_TYPES: Record<SqlParamType, DuckDBType> = { BIGINT, HUGEINT, DOUBLE, VARCHAR, BOOLEAN };
const sqlStr = (s: string) => `'${s.replace(/'/g, "''")}'`;

describe('string predicates on DuckDB agree with the evaluator', () => {
  let con: DuckDBConnection;
  beforeAll(async () => {
    const db = await DuckDBInstance.create(':memory:');
    con = await db.connect();
    await con.run('CREATE TABLE t (id INTEGER, s VARCHAR)');
    await con.run(`INSERT INTO t VALUES ${rows.map((r) => `(${r.id}, ${r.s === null ? 'NULL' : sqlStr(r.s)})`).join(', ')}`);
  });
  afterAll(() => con?.closeSync());

  async function select(e: Expr): Promise<number[]> {
    const { sql, params, paramTypes } = toSQL(e, 'duckdb', { fields: [{ name: 'id', type: 'int32' }, { name: 's', type: 'string' }] });
    const reader = await con.runAndReadAll(`SELECT id FROM t WHERE ${sql} ORDER BY id`, params as never, paramTypes.map((t) => DUCK_TYPES[t]));
    return reader.getRows().map((r) => Number(r[0]));
  }

  it.each(HAND)('%s', async (text) => {
    const e = parseExpr(text);
    expect(await select(e), toSQL(e, 'duckdb').sql).toEqual(expected(e));
  });

  it('agrees on 400 generated expressions', async () => {
    const r = seeded(1919);
    let nonTrivial = 0;
    for (let k = 0; k < 400; k++) {
      const e = genExpr(r, GEN);
      const want = expected(e);
      if (want.length > 0 && want.length < rows.length) nonTrivial++;
      expect(await select(e), `#${k}: ${formatExpr(e)}\n${toSQL(e, 'duckdb').sql}`).toEqual(want);
    }
    expect(nonTrivial).toBeGreaterThan(150);
  });
});

describe('string predicates on SQLite (no regular expressions; LIKE as GLOB)', () => {
  it('agree with the evaluator where SQLite has the predicate', () => {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE t (id INTEGER, s TEXT)');
    const ins = db.prepare('INSERT INTO t VALUES (?, ?)');
    for (const r of rows) ins.run(r.id, r.s);
    for (const text of HAND.filter((t) => !/~|matches|ilike/.test(t))) {
      const e = parseExpr(text);
      const { sql, params } = toSQL(e, 'sqlite');
      const got = (db.prepare(`SELECT id FROM t WHERE ${sql} ORDER BY id`).all(...(params as never[])) as { id: number }[]).map((x) => x.id);
      expect(got, `${text}\n${sql}`).toEqual(expected(e));
    }
    expect(() => toSQL(parseExpr("s ~ 'a'"), 'sqlite')).toThrow(expect.objectContaining({ code: 'E_BAD_EXPR', message: expect.stringContaining("'a'") }));
    db.close();
  });
});

const PG = process.env.CDX_TEST_PG;
describe.skipIf(!PG)('string predicates on Postgres agree with the evaluator', () => {
  // case-insensitive matching follows the collation in Postgres: the table uses "C" for the
  // byte order and ILIKE/~* on ASCII letters only, so those are checked on ASCII strings
  const [host, port] = (PG ?? ':').split(':');
  const psql = (script: string) =>
    execFileSync('psql', ['-h', host!, '-p', port!, '-U', 'postgres', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1'], { input: script, encoding: 'utf8' });
  it('on hand-written and generated expressions', () => {
    psql(`DROP TABLE IF EXISTS ts; CREATE TABLE ts (id integer, s text COLLATE "C"); INSERT INTO ts VALUES ${rows.map((r) => `(${r.id}, ${r.s === null ? 'NULL' : sqlStr(r.s)})`).join(', ')};`);
    const r = seeded(4242);
    const exprs = [...HAND.map(parseExpr), ...Array.from({ length: 300 }, () => genExpr(r, GEN))].filter(
      (e) => !(JSON.stringify(e).includes('"icase":true') && rows.some((x) => x.s !== null && /[^\x00-\x7f]/.test(x.s) && evalExprOnRow(e, x))),
    );
    let script = '';
    exprs.forEach((e, k) => {
      const { sql, params } = toSQL(e, 'postgres');
      script += `PREPARE q${k} AS SELECT id FROM ts WHERE ${sql} ORDER BY id;\nEXECUTE q${k}${params.length ? `(${params.map((p) => sqlStr(String(p))).join(', ')})` : ''};\nSELECT -1;\n`;
    });
    const out = psql(script).split('\n').filter((l) => l !== '');
    const res: number[][] = [];
    let cur: number[] = [];
    for (const l of out) {
      if (l === '-1') {
        res.push(cur);
        cur = [];
      } else cur.push(Number(l));
    }
    expect(res.length).toBe(exprs.length);
    exprs.forEach((e, k) => expect(res[k], `${formatExpr(e)}\n${toSQL(e, 'postgres').sql}`).toEqual(expected(e)));
  });
});
