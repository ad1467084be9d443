/**
 * Compile an expression to a SQL boolean expression (for a WHERE clause) with bound parameters.
 *
 * Placeholders and parameter values, by dialect:
 *   sqlite     `?`            numbers as is; { int } as bigint (within int64, else a float);
 *                             booleans as 1/0; dates/timestamps as their ISO text as written.
 *   duckdb     `?`            numbers wrapped in CAST(? AS BIGINT) (safe integers) or
 *                             CAST(? AS DOUBLE); { int } and integral floats beyond 2^53 as
 *                             bigint in CAST(? AS HUGEINT) (exact against int64 columns);
 *                             dates CAST(? AS DATE), timestamps CAST(? AS TIMESTAMP) bound as UTC
 *                             text 'YYYY-MM-DD HH:MM:SS[.f]'.
 *   postgres   `$1`, `$2`, …  same casts with Postgres type names (bigint, numeric for { int },
 *                             double precision, date, timestamptz with a UTC 'Z' text).
 *   clickhouse `{p1:Type}` …  typed server-side parameters; params[i] is the value of p{i+1}
 *                             (Int64, Int128 for { int } as decimal text, Float64, String, Bool,
 *                             Date32, DateTime64(6, 'UTC') as UTC text). Identifiers in backquotes.
 *   clickhouse with { inline: true } (servers without query parameters, e.g. Debian's 18.16):
 *                             no params; every value written into the SQL: integers as decimal text
 *                             (Int64/UInt64 range; beyond, Float64 text), floats as round-trip text
 *                             (±inf as (1/0), (-1/0); subnormals as an exact product, see
 *                             CLICKHOUSE_18_LACKS), strings as ClickHouse literals (chStringLiteral),
 *                             dates toDate('YYYY-MM-DD'), timestamps toDateTime('… HH:MM:SS', 'UTC')
 *                             (toDateTime64(…, 6, 'UTC') only with { dateTime64: true }), booleans
 *                             1/0, TRUE/FALSE as 1/0. Values outside Date/DateTime's range and
 *                             sub-second instants against whole-second DateTime columns become the
 *                             constant truth value they have for every value such a column can hold
 *                             (`(c IS NULL AND NULL)` false/unknown, `(c IS NOT NULL OR NULL)` true/unknown).
 * Identifiers: "double quotes" with " doubled (sqlite, duckdb, postgres); `backquotes` with \ and `
 * backslash-escaped (clickhouse).
 *
 * Semantics follow ast.ts exactly, including where the engine's own rules differ:
 *  - NaN: DuckDB and Postgres order NaN above every number (so NaN > 1 is true there, false in
 *    IEEE). `>`/`>=` on a column that may hold NaN (float types, or any column when the schema
 *    gives no type) get `AND NOT isnan(col)` (duckdb) / `AND col <> 'NaN'` (postgres). A NaN
 *    literal is never bound: `col != nan` → `(col IS NOT NULL OR NULL)` (true, or unknown on
 *    null) and every other comparison with nan → `(col IS NULL AND NULL)` (false, or unknown).
 *    SQLite stores NaN as NULL; ClickHouse follows IEEE.
 *  - range → `col >= lo AND col < hi`; inpolygon → the crossing count of polygon.ts, in SQL.
 *  - the empty and → TRUE, the empty or / empty in-list → FALSE (NOT IN () → TRUE).
 *  - strings order by the column's collation in SQL; the evaluator (and the native mask) use code
 *    point order = UTF-8 bytes = the "C"/binary collation (DuckDB's and SQLite's default).
 *  - timestamps are UTC: naive literals are taken as UTC, and Postgres comparisons of `timestamp`
 *    columns with the timestamptz parameter use the session TimeZone (set it to UTC).
 *  - with a schema, a string literal compared with a date/timestamp column is the ISO date or
 *    timestamp it spells (E_BAD_EXPR when it spells none), as in the evaluator and the engine.
 *  - string predicates (strmatch.ts): contains/starts_with/ends_with as substring functions;
 *    like/ilike as `LIKE ? ESCAPE '\'` with the pattern re-escaped (only % _ \ escaped);
 *    regular expressions re-written in the portable syntax (regexSource): DuckDB
 *    `regexp_matches(col, '(?s)…')` (`(?si)` to ignore case), Postgres `~`, `~*`, ClickHouse
 *    `match`. SQLite has no regular expressions (E_BAD_EXPR) and runs LIKE as GLOB
 *    (case-sensitive, as LIKE is here). Case-insensitive matching folds case per the engine:
 *    DuckDB lower-cases Unicode as the evaluator does; Postgres' ILIKE and `~*` follow the
 *    database's collation (with "C", ASCII letters only).
 * Checked row for row against the evaluator on real DuckDB, SQLite and PostgreSQL in
 * engines.test.ts, and on ClickHouse 18.16 in main/engine/sql/clickhouse-dialect.test.ts; values
 * in values-sql.test.ts (every engine) and main/engine/sql/computed.test.ts (pushdown).
 *
 * Value expressions (ast.ts Value; valueSQL, and computed operands and `test` in toSQL) follow
 * ast.ts's semantics, typed by value.ts typeValue over the schema's column types (a schema is
 * needed for every column a value reads). A parameter is a token until the SQL is done, then
 * placed in text order, so SQL that tests a value and then uses it may hold it twice. Per dialect:
 *  - int64 + − *: DuckDB in HUGEINT then TRY_CAST to BIGINT; PostgreSQL in numeric, clamped one
 *    past each end and those two made NULL; SQLite's overflow gives a float (typeof ≠ 'integer':
 *    NULL); ClickHouse's Int64 wraps: the overflow is read from the signs, or by dividing back.
 *    x % 0 is NULL and x % −1 is 0 everywhere (ClickHouse computes every row and both branches of
 *    if(), so a divisor is never 0 there). UInt64 values above 2^63 − 1 wrap in ClickHouse's
 *    arithmetic (toInt64).
 *  - floats are IEEE, except that PostgreSQL raises "value out of range" where a float operation
 *    overflows to ±inf or underflows to 0 from finite operands (1e300 * 1e300, exp(1000),
 *    pow(10, 400)): an error, not a value. pow follows JavaScript (1 ** NaN is NaN); PostgreSQL's
 *    errors for 0 ** negative and negative ** fraction are answered as ±inf / NaN first.
 *  - float % : fmod in DuckDB and SQLite; PostgreSQL has no float %: computed exactly from the
 *    IEEE bits in numeric (pgFmod); ClickHouse 18.16's % takes the integer parts: x − y·trunc(x / y)
 *    there, off when x / y rounds (7.5 % 0.1).
 *  - round(x, d) half away from zero with the evaluator's float operations (x·10^d rounded, / 10^d);
 *    float → int rounds the same way, NULL for NaN, ±inf and beyond int64.
 *  - text: lower/upper are the engine's (DuckDB's upper('ß') is 'ẞ', PostgreSQL's — with the
 *    "und-x-icu" collation, so that a "C" database still maps every letter — is 'SS'; SQLite
 *    changes ASCII only: E_BAD_EXPR); substr on ClickHouse slices the code points
 *    (extractAll): 18.16's substringUTF8 takes constant positions and reads 😀 as four.
 *  - casts of text: DuckDB TRY_CAST after a check of the evaluator's forms; PostgreSQL and
 *    ClickHouse check the form (regular expressions; the day against the month) before converting;
 *    SQLite has no regular expressions: E_BAD_EXPR. A float's text is JavaScript's (String(x):
 *    integers to 1e21 without '.0', 1e+300, nan, inf, -inf) from the engine's shortest digits;
 *    SQLite writes '%!.15g' beyond 2^53 and for fractions (0.33333333333333331, 1.0e-300).
 *  - dates: SQLite has none (E_BAD_EXPR); ClickHouse 18.16's Date and DateTime hold 1970…2105 and
 *    whole seconds, outside which its results wrap; timestamps are UTC (PostgreSQL's session
 *    TimeZone must be UTC for timestamptz).
 *  - comparisons between values: NaN as IEEE (DuckDB and PostgreSQL guarded as for literals), an
 *    int against a float exactly (2^53 + 1 > 2^53: SQLite and ClickHouse natively; DuckDB and
 *    PostgreSQL again as integers where the two are equal as floats), text in code point order
 *    (COLLATE "C" in PostgreSQL), a date against a timestamp at midnight UTC; a predicate as a
 *    value keeps unknown NULL (ClickHouse inline: and/or/not of Kleene numbers, 0.5 → NULL).
 *  - the SQL of a value may need a part more than once (a test, then the value): DuckDB and
 *    ClickHouse name it once in a lambda (bind); PostgreSQL and SQLite repeat the text, which
 *    nesting multiplies (three casts of a float to text: 64 kB); PostgreSQL's float % is a
 *    correlated scalar subquery.
 */
import { formatValue } from './format';
import type { CastType, ColumnRef, CompareOp, Expr, Literal, Value } from './ast';
import { ExprError } from './errors';
import { DATE_PARTS, type DatePart, type TruncUnit } from './functions';
import { literalType, schemaTypeOf, typeValue, vtypeOfSchemaType, type VType } from './value';
import { INT64_MAX, INT64_MIN, literalClass, parseTime, timeToUtcText } from './literal';
import { polygonEdges } from './polygon';
import { likeSqlPattern, likeTokens, LIKE_ANY, LIKE_ONE, parseRegex, regexSource } from './strmatch';

export type SqlDialect = 'sqlite' | 'duckdb' | 'postgres' | 'clickhouse';

export interface SqlSchema {
  fields: readonly { name: string; type?: string }[];
}

/** How to bind a parameter's JS value: number → BIGINT or DOUBLE, bigint → HUGEINT, string, boolean. */
export type SqlParamType = 'BIGINT' | 'HUGEINT' | 'DOUBLE' | 'VARCHAR' | 'BOOLEAN';

export interface CompiledSql {
  sql: string;
  params: unknown[];
  /**
   * The type to bind each parameter's JS value as, for drivers that infer a type from the value
   * and get it wrong (e.g. @duckdb/node-api binds the number 1e300 as BIGINT and fails): bind
   * params[i] as paramTypes[i]. Dates and timestamps are text (the SQL casts them): VARCHAR.
   */
  paramTypes: SqlParamType[];
}

/**
 * What ClickHouse 18.16 (Debian's package) lacks that current servers have, and what the SQL we
 * generate does instead, so that one text runs on both.
 */
export const CLICKHOUSE_18_LACKS: readonly { feature: string; instead: string }[] = [
  { feature: 'query parameters ({name:Type}, HTTP param_*)', instead: 'toSQL(…, { inline: true }): values written as quoted literals' },
  { feature: 'Bool type and TRUE/FALSE literals', instead: 'UInt8 1/0' },
  { feature: 'Int128/Int256 (exact comparisons beyond 64 bits)', instead: 'integers beyond Int64/UInt64 as Float64 text' },
  { feature: 'DateTime64 (sub-second instants)', instead: "toDateTime('… HH:MM:SS', 'UTC'); a sub-second literal against a DateTime column becomes the comparison it is equal to on whole seconds" },
  { feature: 'Date32 (dates before 1970 or after 2105)', instead: "a date outside Date's range compares as the constant it is for every Date value" },
  { feature: 'subnormal float literals (the parser fails on ERANGE: 5e-324 is a syntax error)', instead: 'an exact product N * 2^-537 * 2^-537' },
  { feature: 'inf / nan written as literals everywhere (a column may be named inf)', instead: '(1/0) and (-1/0)' },
  { feature: 'ILIKE', instead: 'lowerUTF8(col) LIKE lowerUTF8(pattern)' },
  { feature: "LIKE … ESCAPE '\\' (neither version has ESCAPE)", instead: 'LIKE with its built-in backslash escape' },
  { feature: 'NOT BETWEEN', instead: 'NOT (col BETWEEN lo AND hi)' },
  { feature: 'X-ClickHouse-Exception-Code header; 200 then an exception at the end of the body', instead: 'the body is scanned for "Code: N" (main/engine/sql/clickhouse.ts)' },
  { feature: 'cancel_http_readonly_queries_on_client_close', instead: 'KILL QUERY WHERE query_id = … on a separate request' },
  { feature: 'system.tables.total_rows', instead: 'sum(rows) of active parts in system.parts' },
  { feature: 'comparing a DateTime with a Date (18.16 compares the raw numbers: seconds against days)', instead: "a date against a timestamp column is written as that day's midnight UTC, toDateTime('YYYY-MM-DD 00:00:00', 'UTC')" },
  { feature: 'Date/DateTime before 1970 print as 0000-00-00', instead: 'the pushdown reads epoch numbers (toUInt32, toUInt16), not the text' },
];

/** A ClickHouse string literal: backslash and quote escaped, NUL as \0 (every other byte as is). */
export function chStringLiteral(s: string): string {
  return "'" + s.replace(/[\\'\0]/g, (c) => (c === '\0' ? '\\0' : '\\' + c)) + "'";
}

export interface ToSqlOptions {
  /** clickhouse only: write every value into the SQL (servers without query parameters) */
  inline?: boolean;
  /** clickhouse inline: the server has DateTime64 (sub-second timestamps, ≥ 20.1) and Date32 (≥ 21.9) */
  dateTime64?: boolean;
  /**
   * computed columns: a column of one of these names is its value, compiled in its place (the
   * names shadow the schema's); their types come from typeValue over the schema
   */
  computed?: readonly { name: string; value: Value }[];
  /**
   * postgres only: write every value into the SQL as a typed literal (no params), for SQL that is
   * pasted into other statements (a computed column's expression in a SELECT list)
   */
  literals?: boolean;
}

/** `s` as a PostgreSQL dollar-quoted string (no escapes to get wrong whatever standard_conforming_strings says) */
function pgDollar(s: string): string {
  let tag = 'cdx';
  while (s.includes(`$${tag}$`)) tag += 'x';
  return `$${tag}$${s}$${tag}$`;
}

/** SQL type names of the language's types, per dialect. */
const TYPE_NAMES: Record<SqlDialect, Record<Exclude<VType, 'null'>, string>> = {
  duckdb: { int: 'BIGINT', float: 'DOUBLE', string: 'VARCHAR', bool: 'BOOLEAN', date: 'DATE', timestamp: 'TIMESTAMP' },
  postgres: { int: 'bigint', float: 'double precision', string: 'text', bool: 'boolean', date: 'date', timestamp: 'timestamp' },
  sqlite: { int: 'INTEGER', float: 'REAL', string: 'TEXT', bool: 'INTEGER', date: 'TEXT', timestamp: 'TEXT' },
  clickhouse: { int: 'Int64', float: 'Float64', string: 'String', bool: 'UInt8', date: 'Date', timestamp: "DateTime('UTC')" },
};

const CH_DATE_MIN = 0; // 1970-01-01, in days
const CH_DATE_MAX = 49_674; // 2105-12-31: the last day 18.16's date tables hold
const CH_DATETIME_MAX = 4_294_967_295; // 2106-02-07 06:28:15 UTC
const CH_DT64_MIN = -2_208_988_800; // 1900-01-01
const CH_DT64_MAX = 10_413_791_999; // 2299-12-31 23:59:59

/** `v` as a ClickHouse float literal that reads back as exactly v (not NaN). */
function chFloat(v: number): string {
  if (v === Infinity) return '(1/0)';
  if (v === -Infinity) return '(-1/0)';
  if (v !== 0 && Math.abs(v) < 2.2250738585072014e-308) {
    // 18.16 refuses subnormal literals; v = n·2^-1074 with n < 2^52, and n·2^-537·2^-537 is exact
    const n = Math.round(Math.abs(v) * 2 ** 537 * 2 ** 537);
    return `(${v < 0 ? '-' : ''}${n} * ${2 ** -537} * ${2 ** -537})`;
  }
  const t = String(v);
  return t.includes('.') || t.includes('e') ? t : t + '.';
}

export function quoteIdent(name: string, dialect: SqlDialect): string {
  if (dialect === 'clickhouse') return '`' + name.replace(/\\/g, '\\\\').replace(/`/g, '\\`') + '`';
  return '"' + name.replace(/"/g, '""') + '"';
}

/** A parameter's token in the SQL being built (see Compiler.param); NUL never stands in SQL text we write otherwise. */
const TOKEN = '\u0000';
const TOKEN_RE = /\u0000(\d+)\u0000/g;

type ParamKind = 'int' | 'bigint' | 'float' | 'string' | 'bool' | 'date' | 'timestamp';

const CASTS: Record<'duckdb' | 'postgres', Partial<Record<ParamKind, string>>> = {
  duckdb: { int: 'BIGINT', bigint: 'HUGEINT', float: 'DOUBLE', date: 'DATE', timestamp: 'TIMESTAMP' },
  postgres: { int: 'bigint', bigint: 'numeric', float: 'double precision', date: 'date', timestamp: 'timestamptz' },
};
const CH_TYPES: Record<ParamKind, string> = {
  int: 'Int64', bigint: 'Int128', float: 'Float64', string: 'String', bool: 'Bool', date: 'Date32', timestamp: "DateTime64(6, 'UTC')",
};

class Compiler {
  readonly params: unknown[] = [];
  readonly paramTypes: SqlParamType[] = [];
  private readonly types: Map<string, string | undefined> | null;

  private readonly inline: boolean;
  private readonly dt64: boolean;

  constructor(
    private readonly dialect: SqlDialect,
    schema?: SqlSchema,
    opts: ToSqlOptions = {},
  ) {
    this.types = schema ? new Map(schema.fields.map((f) => [f.name, f.type])) : null;
    this.inline = dialect === 'clickhouse' && !!opts.inline;
    this.dt64 = !!opts.dateTime64;
    this.computed = new Map((opts.computed ?? []).map((c) => [c.name, c.value]));
    this.pgLiterals = dialect === 'postgres' && !!opts.literals;
  }

  private readonly pgLiterals: boolean;

  private readonly computed: Map<string, Value>;

  private get T(): string {
    return this.inline ? '1' : 'TRUE';
  }

  private get F(): string {
    return this.inline ? '0' : 'FALSE';
  }

  /** A value written into the SQL (clickhouse inline). */
  private inlined(kind: ParamKind, value: unknown): string {
    switch (kind) {
      case 'int':
      case 'bigint':
        return String(value);
      case 'float':
        return chFloat(value as number);
      case 'string':
        return chStringLiteral(value as string);
      case 'bool':
        return value ? '1' : '0';
      case 'date':
        return this.dt64 ? `toDate32('${value as string}')` : `toDate('${value as string}')`;
      case 'timestamp': {
        const t = value as string; // 'YYYY-MM-DD HH:MM:SS[.f]' UTC
        const dot = t.indexOf('.');
        if (this.dt64) return `toDateTime64('${t}', 6, 'UTC')`;
        return `toDateTime('${dot >= 0 ? t.slice(0, dot) : t}', 'UTC')`;
      }
    }
  }

  /**
   * clickhouse inline: a date/timestamp literal the column cannot be compared with as written (out of
   * the type's range, or sub-second against whole seconds): 'below' / 'above' every value the column
   * can hold, or 'between' two whole seconds (floor = the lower). undefined when it can be written.
   */
  private chTimeFit(l: Literal): { where: 'below' | 'above' | 'between'; floor?: Literal } | undefined {
    if (!this.inline || !('date' in l)) return undefined;
    const t = parseTime(l.date);
    if (!t) return undefined;
    if (t.dateOnly) {
      const days = Math.floor(t.seconds / 86_400);
      if (this.dt64) return days < -25_567 ? { where: 'below' } : days > 120_529 ? { where: 'above' } : undefined; // Date32 1900…2299
      return days < CH_DATE_MIN ? { where: 'below' } : days > CH_DATE_MAX ? { where: 'above' } : undefined;
    }
    const lo = this.dt64 ? CH_DT64_MIN : 0;
    const hi = this.dt64 ? CH_DT64_MAX : CH_DATETIME_MAX;
    const frac = /[1-9]/.test(t.fraction);
    if (t.seconds < lo) return { where: 'below' };
    if (t.seconds > hi || (t.seconds === hi && frac)) return { where: 'above' };
    if (frac && !this.dt64) return { where: 'between', floor: { kind: 'lit', date: timeToUtcText({ ...t, fraction: '' }) } };
    return undefined;
  }

  col(c: ColumnRef): string {
    const v = c.expr ?? this.computed.get(c.name);
    if (v) return paren(this.value(v));
    if (this.types && !this.types.has(c.name)) throw new ExprError('E_UNKNOWN_COLUMN', `Unknown column '${c.name}'`, { column: c.name });
    return quoteIdent(c.name, this.dialect);
  }

  /**
   * A parameter: a token in the text, replaced by its placeholder when the whole SQL is done
   * (render), in the order the tokens stand. So a piece of SQL may be written twice (a value
   * tested and then used, `CASE WHEN x IS NULL …`) and positional `?` placeholders still bind the
   * right values: each occurrence binds its own copy.
   */
  private param(kind: ParamKind, value: unknown): string {
    if (this.inline) return this.inlined(kind, value);
    this.slots.push({ kind, value });
    return `${TOKEN}${this.slots.length - 1}${TOKEN}`;
  }

  private readonly slots: { kind: ParamKind; value: unknown }[] = [];

  /** The SQL with every parameter token replaced by its placeholder (params bound in text order). */
  render(sql: string): string {
    const seen = new Map<number, string>();
    return sql.replace(TOKEN_RE, (_m, i: string) => {
      const k = Number(i);
      // numbered placeholders ($n, {pn:T}) may stand twice for one value; `?` binds once per use
      const again = seen.get(k);
      if (again !== undefined) return again;
      const { kind, value } = this.slots[k]!;
      const ph = this.placeholder(kind, value);
      if (this.dialect === 'postgres' || this.dialect === 'clickhouse') seen.set(k, ph);
      return ph;
    });
  }

  private placeholder(kind: ParamKind, value: unknown): string {
    if (this.pgLiterals) {
      const text =
        typeof value === 'number' ? (Number.isNaN(value) ? 'NaN' : value === Infinity ? 'Infinity' : value === -Infinity ? '-Infinity' : String(value))
        : typeof value === 'boolean' ? (value ? 'true' : 'false')
        : String(value);
      const t = CASTS.postgres[kind];
      return t ? `CAST(${pgDollar(text)} AS ${t})` : kind === 'bool' ? (value ? 'TRUE' : 'FALSE') : pgDollar(text);
    }
    this.params.push(value);
    this.paramTypes.push(
      typeof value === 'bigint' ? 'HUGEINT'
      : typeof value === 'number' ? (kind === 'int' || kind === 'bool' ? 'BIGINT' : 'DOUBLE')
      : typeof value === 'boolean' ? 'BOOLEAN'
      : 'VARCHAR',
    );
    const n = this.params.length;
    switch (this.dialect) {
      case 'sqlite':
        return '?';
      case 'clickhouse':
        return `{p${n}:${CH_TYPES[kind]}}`;
      case 'duckdb': {
        const t = CASTS.duckdb[kind];
        return t ? `CAST(? AS ${t})` : '?';
      }
      case 'postgres': {
        const t = CASTS.postgres[kind];
        return t ? `CAST($${n} AS ${t})` : `$${n}`;
      }
    }
  }

  num(v: number): string {
    if (Number.isSafeInteger(v)) return this.param('int', v);
    // an integral float beyond 2^53 binds as an exact wide integer, so that an int64 column is
    // compared with it exactly (as the evaluator does) rather than after rounding to double
    if (Number.isInteger(v) && Math.abs(v) < 2 ** 127 && this.dialect !== 'sqlite') {
      const b = BigInt(v);
      return this.param('bigint', this.dialect === 'duckdb' ? b : b.toString());
    }
    return this.param('float', v);
  }

  /**
   * clickhouse inline: `e` as a Kleene truth number, 0 false, 0.5 unknown, 1 true: 18.16's and/or
   * give NULL whenever an argument is NULL (0 AND NULL is NULL there), so and/or/not are least,
   * greatest and 1 - x over these numbers.
   */
  tri(e: Expr): string {
    if (e.kind === 'and' || e.kind === 'or') {
      if (e.args.length === 0) return e.kind === 'and' ? '1' : '0';
      const f = e.kind === 'and' ? 'least' : 'greatest';
      return e.args.map((a) => this.tri(a)).reduce((acc, x) => `${f}(${acc}, ${x})`);
    }
    if (e.kind === 'not') return `(1 - ${this.tri(e.arg)})`;
    return `ifNull(toFloat64(${this.expr(e)}), 0.5)`;
  }

  /** A literal as SQL (a placeholder, or NULL). NaN literals never reach here. */
  lit(l: Literal): string {
    const d = this.dialect;
    if ('int' in l) {
      const b = BigInt(l.int);
      if (d === 'sqlite') return this.param('bigint', b >= INT64_MIN && b <= INT64_MAX ? b : Number(b));
      if (d === 'duckdb') return this.param('bigint', b);
      return this.param('bigint', l.int);
    }
    if ('date' in l) {
      const t = parseTime(l.date);
      if (!t) throw new ExprError('E_BAD_EXPR', `Bad date or timestamp '${l.date}'`);
      if (d === 'sqlite') return this.param(t.dateOnly ? 'date' : 'timestamp', l.date);
      if (t.dateOnly) return this.param('date', l.date);
      if (d === 'postgres') return this.param('timestamp', timeToUtcText(t, 'T') + 'Z');
      return this.param('timestamp', timeToUtcText(t));
    }
    const v = l.value;
    if (v === null) return 'NULL';
    if (typeof v === 'number') return this.num(v);
    if (typeof v === 'string') return this.param('string', v);
    return this.param('bool', d === 'sqlite' ? (v ? 1 : 0) : v);
  }

  /** May the column hold NaN that the engine orders above every number? */
  private nanGuard(c: ColumnRef, colSql: string): string | null {
    if (this.dialect !== 'duckdb' && this.dialect !== 'postgres') return null;
    const t = this.schemaType(c)?.toLowerCase();
    if (t !== undefined && !/^(float|double|real|decimal|numeric)/.test(t)) return null;
    return this.dialect === 'duckdb' ? `NOT isnan(${colSql})` : `${colSql} <> CAST('NaN' AS double precision)`;
  }

  /** A string literal against a date/timestamp column (per the schema) becomes that date or timestamp. */
  litFor(c: ColumnRef, l: Literal): Literal {
    const t = this.schemaType(c)?.toLowerCase();
    // a date against a timestamp column is that day's midnight UTC, written as a timestamp:
    // ClickHouse 18.16 compares a DateTime with a Date as raw numbers (seconds against days)
    const midnight = (d: string): Literal => {
      const p = parseTime(d);
      return this.dialect === 'clickhouse' && t?.startsWith('timestamp') && p?.dateOnly ? { kind: 'lit', date: `${d.trim()} 00:00:00` } : { kind: 'lit', date: d };
    };
    if ('date' in l) return midnight(l.date);
    if (!('value' in l) || typeof l.value !== 'string') return l;
    if (t === undefined || !/^(date|timestamp)/.test(t)) return l;
    const p = parseTime(l.value);
    if (!p) throw new ExprError('E_BAD_EXPR', `'${l.value}' is not a date or time for the ${t} column '${c.name}': write 'YYYY-MM-DD' or 'YYYY-MM-DD HH:MM[:SS]'`, { column: c.name });
    return midnight(l.value);
  }

  match(e: Extract<Expr, { kind: 'match' }>): string {
    const cs = this.col(e.col);
    const d = this.dialect;
    const p = () => this.param('string', e.pattern);
    switch (e.op) {
      case 'contains':
        if (d === 'duckdb') return `contains(${cs}, ${p()})`;
        if (d === 'postgres') return `strpos(${cs}, ${p()}) > 0`;
        if (d === 'clickhouse') return `position(${cs}, ${p()}) > 0`;
        return `${cs} GLOB ${this.param('string', '*' + globEscape(e.pattern) + '*')}`;
      case 'starts_with':
        if (d === 'duckdb' || d === 'postgres') return `starts_with(${cs}, ${p()})`;
        if (d === 'clickhouse') return `startsWith(${cs}, ${p()})`;
        return `${cs} GLOB ${this.param('string', globEscape(e.pattern) + '*')}`;
      case 'ends_with':
        if (d === 'duckdb') return `ends_with(${cs}, ${p()})`;
        if (d === 'postgres') {
          const q = p();
          return `right(${cs}, length(${q})) = ${q}`;
        }
        if (d === 'clickhouse') return `endsWith(${cs}, ${p()})`;
        return `${cs} GLOB ${this.param('string', '*' + globEscape(e.pattern))}`;
      case 'like': {
        const not = e.negated ? 'NOT ' : '';
        if (d === 'sqlite') {
          if (e.icase) {
            // SQLite's LIKE ignores ASCII case only (and lower() too): the nearest it has
            return `${not}(${cs} LIKE ${this.param('string', likeSqlPattern(e.pattern))} ESCAPE '\\')`;
          }
          let g = '';
          for (const t of likeTokens(e.pattern)) g += t === LIKE_ANY ? '*' : t === LIKE_ONE ? '?' : globEscape(String.fromCodePoint(t));
          return `${not}(${cs} GLOB ${this.param('string', g)})`;
        }
        const pat = this.param('string', likeSqlPattern(e.pattern));
        if (d === 'clickhouse' && this.inline) {
          // neither 18.16 nor current ClickHouse has ESCAPE (backslash is LIKE's escape); 18.16 has no ILIKE
          return e.icase ? `lowerUTF8(${cs}) ${not}LIKE lowerUTF8(${pat})` : `${cs} ${not}LIKE ${pat}`;
        }
        return `${cs} ${not}${e.icase ? 'ILIKE' : 'LIKE'} ${pat} ESCAPE '\\'`;
      }
      case 'regex': {
        const src = regexSource(parseRegex(e.pattern));
        const not = e.negated ? 'NOT ' : '';
        if (d === 'sqlite') throw new ExprError('E_BAD_EXPR', `regular expressions (here '${e.pattern}') are not available in SQLite`, { column: e.col.name });
        if (d === 'postgres') return `${cs} ${e.negated ? '!' : ''}~${e.icase ? '*' : ''} ${this.param('string', src)}`;
        const flagged = this.param('string', (e.icase ? '(?si)' : '(?s)') + src);
        return d === 'duckdb' ? `${not}regexp_matches(${cs}, ${flagged})` : `${not}match(${cs}, ${flagged})`;
      }
    }
  }

  cmp(op: CompareOp, c: ColumnRef, lit: Literal, guard = true): string {
    const cs = this.col(c);
    const l = this.litFor(c, lit);
    if ('value' in l && typeof l.value === 'number' && Number.isNaN(l.value))
      return op === '!=' ? `(${cs} IS NOT NULL OR NULL)` : `(${cs} IS NULL AND NULL)`;
    const fit = this.chTimeFit(l);
    if (fit) {
      const always = `(${cs} IS NOT NULL OR NULL)`;
      const never = `(${cs} IS NULL AND NULL)`;
      if (op === '=') return never;
      if (op === '!=') return always;
      if (fit.where === 'below') return op === '>' || op === '>=' ? always : never;
      if (fit.where === 'above') return op === '<' || op === '<=' ? always : never;
      // strictly between floor and floor + 1 s: no whole second equals it
      return `${cs} ${op === '<' || op === '<=' ? '<=' : '>'} ${this.lit(fit.floor!)}`;
    }
    const sqlOp = op === '!=' ? '<>' : op;
    const base = `${cs} ${sqlOp} ${this.lit(l)}`;
    const cls = literalClass(l);
    if (guard && (op === '>' || op === '>=') && (cls === 'number' || cls === 'int')) {
      const g = this.nanGuard(c, cs);
      if (g) return `(${base} AND ${g})`;
    }
    return base;
  }

  expr(e: Expr): string {
    switch (e.kind) {
      case 'and':
      case 'or': {
        if (e.args.length === 0) return e.kind === 'and' ? this.T : this.F;
        if (this.inline && e.args.length > 1) return `(${this.tri(e)} = 1)`;
        if (e.args.length === 1) return this.expr(e.args[0]!);
        return e.args.map((a) => paren(this.expr(a))).join(e.kind === 'and' ? ' AND ' : ' OR ');
      }
      case 'not':
        if (this.inline) return `(${this.tri(e)} = 1)`;
        return `NOT ${paren(this.expr(e.arg))}`;
      case 'cmp':
        return this.cmp(e.op, e.left, e.right);
      case 'isnull':
        return `${this.col(e.col)} ${e.negated ? 'IS NOT NULL' : 'IS NULL'}`;
      case 'match':
        return this.match(e);
      case 'in': {
        const cs = this.col(e.col);
        const vals = e.values.filter((v) => !('value' in v && typeof v.value === 'number' && Number.isNaN(v.value)) && !this.chTimeFit(this.litFor(e.col, v)));
        let s: string;
        if (vals.length === 0) {
          if (e.values.length === 0) return e.negated ? this.T : this.F;
          s = `(${cs} IS NULL AND NULL)`; // only NaNs: never equal
          return e.negated ? `NOT ${s}` : s;
        }
        s = `${cs} ${e.negated ? 'NOT IN' : 'IN'} (${vals.map((v) => this.lit(this.litFor(e.col, v))).join(', ')})`;
        if (this.inline) {
          // 18.16: NULL IN (…) is 0, not NULL, and a NULL in the list is ignored: the evaluator's
          // unknown for a null cell, and for an unmatched value when the list holds a NULL
          const nonNull = vals.filter((v) => !('value' in v && v.value === null));
          const list = nonNull.map((v) => this.lit(this.litFor(e.col, v))).join(', ');
          const hasNull = nonNull.length < vals.length;
          const inList = nonNull.length ? `${cs} IN (${list})` : '0';
          if (hasNull) return `if(${cs} IS NULL, NULL, if(${inList}, ${e.negated ? 0 : 1}, NULL))`;
          s = `if(${cs} IS NULL, NULL, ${e.negated ? `NOT (${inList})` : inList})`;
        }
        return s;
      }
      case 'between': {
        const isNaNLit = (l: Literal) => 'value' in l && typeof l.value === 'number' && Number.isNaN(l.value);
        const cs = this.col(e.col);
        const numeric = ['number', 'int'].includes(literalClass(e.lo)) || ['number', 'int'].includes(literalClass(e.hi));
        const fits = !this.chTimeFit(this.litFor(e.col, e.lo)) && !this.chTimeFit(this.litFor(e.col, e.hi));
        if (!isNaNLit(e.lo) && !isNaNLit(e.hi) && !(numeric && this.nanGuard(e.col, cs)) && fits) {
          if (this.inline && e.negated) return `NOT (${cs} BETWEEN ${this.lit(this.litFor(e.col, e.lo))} AND ${this.lit(this.litFor(e.col, e.hi))})`;
          return `${cs} ${e.negated ? 'NOT BETWEEN' : 'BETWEEN'} ${this.lit(this.litFor(e.col, e.lo))} AND ${this.lit(this.litFor(e.col, e.hi))}`;
        }
        const s = `(${this.cmp('>=', e.col, e.lo)}) AND (${this.cmp('<=', e.col, e.hi)})`;
        return e.negated ? `NOT (${s})` : s;
      }
      case 'range': {
        const lo: Literal = { kind: 'lit', value: e.lo };
        const hi: Literal = { kind: 'lit', value: e.hi };
        // no NaN guard on >=: the `<` half is already false for NaN in every engine
        return `${this.cmp('>=', e.col, lo, false)} AND ${this.cmp('<', e.col, hi)}`;
      }
      case 'test': {
        const t = this.ty(e.arg);
        if (t !== 'bool' && t !== 'null') throw new ExprError('E_TYPE_MISMATCH', `'${formatValue(e.arg)}' is not a condition: compare it (=, <, …)`);
        const x = this.value(e.arg);
        return this.inline ? `(${x} = 1)` : paren(x);
      }
      case 'inpolygon': {
        const x = this.col(e.x), y = this.col(e.y);
        const f = (v: number) => this.param('float', v);
        const terms = polygonEdges(e.polygon).map(
          (g) => `CASE WHEN ${y} >= ${f(g.ylo)} AND ${y} < ${f(g.yhi)} AND ${x} < ${f(g.xi)} + (${y} - ${f(g.yi)}) * ${f(g.k)} THEN 1 ELSE 0 END`,
        );
        const inside = terms.length ? `(${terms.join(' + ')}) % 2 = 1` : this.F;
        return `CASE WHEN ${x} IS NULL OR ${y} IS NULL THEN NULL ELSE ${inside} END`;
      }
    }
  }
  // ───────────────────────── value expressions (ast.ts Value) ─────────────────────────

  private readonly tyCache = new WeakMap<object, VType>();
  private typing = new Set<string>();

  /** The language type of a column (a computed one's from its value); E_BAD_EXPR without types. */
  readonly columnVType = (name: string): VType => {
    const comp = this.computed.get(name);
    if (comp) {
      if (this.typing.has(name)) throw new ExprError('E_BAD_EXPR', `the computed column '${name}' is defined through itself`, { column: name });
      this.typing.add(name);
      try {
        return this.ty(comp);
      } finally {
        this.typing.delete(name);
      }
    }
    if (!this.types) throw new ExprError('E_BAD_EXPR', `computed values need the column types (a schema) to compile to SQL (column '${name}')`, { column: name });
    if (!this.types.has(name)) throw new ExprError('E_UNKNOWN_COLUMN', `Unknown column '${name}'`, { column: name });
    const t = this.types.get(name);
    const vt = t === undefined ? undefined : vtypeOfSchemaType(t);
    if (!vt) throw new ExprError('E_TYPE_MISMATCH', `the column '${name}'${t ? ` (${t})` : ''} cannot be used in a computed value`, { column: name });
    return vt;
  };

  ty(v: Value): VType {
    let t = this.tyCache.get(v);
    if (t === undefined) {
      t = typeValue(v, this.columnVType);
      this.tyCache.set(v, t);
    }
    return t;
  }

  /** The schema type of a column or an inline value (what the NaN guards and date literals read). */
  schemaType(c: ColumnRef): string | undefined {
    const v = c.expr ?? this.computed.get(c.name);
    if (v) return schemaTypeOf(this.ty(v));
    return this.types?.get(c.name);
  }

  private get D(): SqlDialect {
    return this.dialect;
  }

  private typeName(t: Exclude<VType, 'null'>): string {
    return TYPE_NAMES[this.D][t];
  }

  /** a typed NULL */
  private nul(t: VType): string {
    if (t === 'null' || this.D === 'sqlite') return 'NULL';
    if (this.D === 'clickhouse') return `CAST(NULL AS Nullable(${this.typeName(t)}))`;
    return `CAST(NULL AS ${this.typeName(t)})`;
  }

  private bool(b: boolean): string {
    return this.D === 'duckdb' || this.D === 'postgres' ? (b ? 'TRUE' : 'FALSE') : b ? '1' : '0';
  }

  private nanSql(): string {
    return this.D === 'duckdb' ? "CAST('nan' AS DOUBLE)" : this.D === 'postgres' ? "CAST('NaN' AS double precision)" : this.D === 'clickhouse' ? '(0/0)' : 'NULL';
  }

  private infSql(neg = false): string {
    const s = neg ? '-' : '';
    return this.D === 'duckdb' ? `CAST('${s}inf' AS DOUBLE)` : this.D === 'postgres' ? `CAST('${s}Infinity' AS double precision)` : this.D === 'clickhouse' ? `(${s}1/0)` : `${s}9e999`;
  }

  private isNaN(x: string): string {
    return this.D === 'duckdb' ? `isnan(${x})` : this.D === 'postgres' ? `(${x} = CAST('NaN' AS double precision))` : this.D === 'clickhouse' ? `isNaN(${x})` : '0';
  }

  private isInf(x: string): string {
    return this.D === 'duckdb' ? `isinf(${x})` : this.D === 'postgres' ? `(${x} IN (CAST('Infinity' AS double precision), CAST('-Infinity' AS double precision)))` : this.D === 'clickhouse' ? `isInfinite(${x})` : `(${x} IN (9e999, -9e999))`;
  }

  private nullIf(x: string, y: string): string {
    return this.D === 'clickhouse' ? `nullIf(${x}, ${y})` : `NULLIF(${x}, ${y})`;
  }

  private get MIN(): string {
    return this.D === 'clickhouse' ? "toInt64('-9223372036854775808')" : '(-9223372036854775807 - 1)';
  }

  /** `x` (of type t) as a float */
  private dbl(x: string, t: VType): string {
    if (t === 'float') return x;
    if (t === 'null') return this.nul('float');
    if (this.D === 'postgres' && t === 'bool') return `CAST(CAST(${x} AS integer) AS double precision)`;
    return this.D === 'clickhouse' ? `toFloat64(${x})` : `CAST(${x} AS ${this.typeName('float')})`;
  }

  /** an int64 operand (ClickHouse: UInt64 columns wrap above 2^63 − 1, see valueSQL's notes) */
  private i64(x: string): string {
    return this.D === 'clickhouse' ? `toInt64(${x})` : x;
  }

  /** `x` of type `from` as type `to` for a branch of case/coalesce (int → float, date → timestamp) */
  private coerce(x: string, from: VType, to: VType): string {
    if (from === to) return x;
    if (from === 'null') return this.nul(to);
    if (to === 'float') return this.dbl(x, from);
    if (to === 'timestamp' && from === 'date') return this.toTimestamp(x);
    return x;
  }

  private toTimestamp(x: string): string {
    if (this.D === 'clickhouse') return `toDateTime(${x}, 'UTC')`;
    return `CAST(${x} AS ${this.typeName('timestamp')})`;
  }

  private noSqlite(what: string): never {
    throw new ExprError('E_BAD_EXPR', `${what} is not available in SQLite`);
  }

  /** SQL for the value `v` (the expression is type-checked first: E_TYPE_MISMATCH). */
  value(v: Value): string {
    const t = this.ty(v);
    if (this.D === 'sqlite' && (t === 'date' || t === 'timestamp')) this.noSqlite(`'${formatValue(v)}' (dates and times in computed values)`);
    switch (v.kind) {
      case 'col':
        return this.col(v);
      case 'lit':
        return this.vlit(v);
      case 'neg': {
        const a = this.ty(v.arg);
        if (a === 'null') return this.nul(t);
        const x = this.value(v.arg);
        return a === 'int' ? `(-${this.nullIf(this.i64(x), this.MIN)})` : `(-${x})`;
      }
      case 'arith':
        return this.arith(v, t);
      case 'cmpv':
        return this.cmpv(v);
      case 'pred':
        return this.predValue(v.arg);
      case 'case': {
        if (this.D === 'clickhouse') {
          const args = v.whens.flatMap((w) => [`ifNull(${this.cond(w.when)}, 0)`, this.coerce(this.value(w.then), this.ty(w.then), t)]);
          return `multiIf(${args.join(', ')}, ${v.else !== undefined ? this.coerce(this.value(v.else), this.ty(v.else), t) : this.nul(t)})`;
        }
        const ws = v.whens.map((w) => `WHEN ${this.cond(w.when)} THEN ${this.coerce(this.value(w.then), this.ty(w.then), t)}`);
        return `(CASE ${ws.join(' ')} ELSE ${v.else !== undefined ? this.coerce(this.value(v.else), this.ty(v.else), t) : this.nul(t)} END)`;
      }
      case 'cast':
        return this.cast(v.arg, v.to);
      case 'call':
        return this.call(v, t);
    }
  }

  /** a predicate as SQL truth (for CASE WHEN and pred values) */
  private cond(e: Expr): string {
    return paren(this.expr(e));
  }

  private predValue(e: Expr): string {
    // ClickHouse inline: and/or/not are Kleene numbers (tri) compared with 1, which reads unknown
    // as false; a value keeps it NULL
    if (this.inline && (e.kind === 'and' || e.kind === 'or' || e.kind === 'not') && !(e.kind !== 'not' && e.args.length < 2)) return `(nullIf(${this.tri(e)}, 0.5) = 1)`;
    return paren(this.expr(e));
  }

  /** A literal in a value (typed: ints as int64, other numbers as float). */
  private vlit(l: Literal): string {
    const t = literalType(l);
    const D = this.D;
    if ('int' in l) {
      const b = BigInt(l.int);
      if (b < INT64_MIN || b > INT64_MAX) return this.dbl(this.param('float', Number(b)), 'float'); // beyond int64: as a float (see notes)
      if (this.inline) return b === INT64_MIN ? this.MIN : `toInt64(${l.int})`;
      if (D === 'duckdb') return `CAST(${this.param('bigint', b)} AS BIGINT)`;
      if (D === 'postgres') return `CAST(${this.param('bigint', l.int)} AS bigint)`;
      if (D === 'clickhouse') return this.param('int', l.int);
      return this.param('bigint', b);
    }
    if ('date' in l) return this.lit(l);
    const x = l.value;
    if (x === null) return 'NULL';
    if (typeof x === 'boolean') return this.bool(x);
    if (typeof x === 'string') return D === 'postgres' ? `CAST(${this.param('string', x)} AS text)` : this.param('string', x);
    if (Number.isNaN(x)) return this.nanSql();
    if (t === 'int') {
      if (this.inline) return `toInt64(${x})`;
      return D === 'sqlite' ? `CAST(${this.param('int', x)} AS INTEGER)` : this.param('int', x);
    }
    if (this.inline) return x === Infinity || x === -Infinity ? this.infSql(x < 0) : `toFloat64(${chFloat(x)})`;
    return D === 'sqlite' ? `CAST(${this.param('float', x)} AS REAL)` : this.param('float', x);
  }

  /** int64 `a op b` (+ − *), null beyond int64 */
  private intOp(op: '+' | '-' | '*', a: string, b: string): string {
    switch (this.D) {
      case 'duckdb':
        return `TRY_CAST(CAST(${a} AS HUGEINT) ${op} CAST(${b} AS HUGEINT) AS BIGINT)`;
      case 'postgres': {
        const x = `(CAST(${a} AS numeric) ${op} CAST(${b} AS numeric))`;
        // clamp one step past each end, then turn those two values into NULL: one evaluation of x
        const lo = '-9223372036854775809', hi = '9223372036854775808';
        return `CAST(NULLIF(NULLIF(LEAST(GREATEST(${x}, ${lo}), ${hi}), ${hi}), ${lo}) AS bigint)`;
      }
      case 'sqlite': {
        // SQLite turns an integer result that overflows into a float
        const x = `(${a} ${op} ${b})`;
        return `(CASE WHEN typeof(${x}) = 'integer' THEN ${x} END)`;
      }
      case 'clickhouse': {
        // Int64 arithmetic wraps: the overflow is read from the signs (+ −) or by dividing back (*)
        return this.bindAll([this.i64(a), this.i64(b)], ([A, B]) => {
          const r = `(${A} ${op} ${B})`;
          const over =
            op === '+' ? `((${A} >= 0) = (${B} >= 0) AND (${r} >= 0) != (${A} >= 0))`
            : op === '-' ? `((${A} >= 0) != (${B} >= 0) AND (${r} >= 0) != (${A} >= 0))`
            : `(${A} != 0 AND intDivOrZero(${r}, ${A}) != ${B})`;
          return `if(${over}, ${this.nul('int')}, ${r})`;
        });
      }
    }
  }

  private arith(v: Extract<Value, { kind: 'arith' }>, t: VType): string {
    const ta = this.ty(v.left), tb = this.ty(v.right);
    if (ta === 'null' || tb === 'null') return this.nul(t);
    const D = this.D;
    const a = this.value(v.left), b = this.value(v.right);
    if (ta === 'date' || tb === 'date') {
      if (ta === 'date' && tb === 'date') {
        if (D === 'clickhouse') return `(toInt64(${a}) - toInt64(${b}))`;
        return `CAST(${a} - ${b} AS ${this.typeName('int')})`;
      }
      const [d, n] = ta === 'date' ? [a, b] : [b, a];
      // JavaScript's dates end 10^8 days from 1970: more days is no date (null)
      const fits = `${n} BETWEEN -100000000 AND 100000000`;
      if (D === 'clickhouse') return `if(${fits}, ${v.op === '-' ? 'subtractDays' : 'addDays'}(${d}, ${n}), ${this.nul('date')})`;
      const days = D === 'duckdb' ? `CAST(${n} AS INTEGER)` : `CAST(${n} AS integer)`;
      return `(CASE WHEN ${fits} THEN ${d} ${v.op === '-' ? '-' : '+'} ${days} END)`;
    }
    if (v.op === '/') {
      const y = this.nullIf(this.dbl(b, tb), '0');
      return `(${this.dbl(a, ta)} / ${y})`;
    }
    if (t === 'int') {
      if (v.op !== '%') return this.intOp(v.op, a, b);
      switch (D) {
        case 'duckdb':
          return `(${a} % NULLIF(CASE WHEN ${b} = -1 THEN 1 ELSE ${b} END, 0))`;
        case 'postgres':
          return `(${a} % NULLIF(${b}, 0))`;
        case 'sqlite':
          return `(${a} % ${b})`;
        case 'clickhouse': {
          const B = `ifNull(${this.i64(b)}, 0)`;
          // ClickHouse computes every row (a NULL's default value 0 too, and both branches of
          // if) and throws on % 0: the divisor is never 0 (x % −1 = x % 1 = 0)
          return `if(${B} = 0, ${this.nul('int')}, ${this.i64(a)} % if(${B} = 0 OR ${B} = -1, toInt64(1), ${B}))`;
        }
      }
    }
    const x = this.dbl(a, ta), y = this.dbl(b, tb);
    if (v.op !== '%') return `(${x} ${v.op} ${y})`;
    switch (D) {
      case 'duckdb':
        return `(${x} % NULLIF(${y}, 0))`;
      case 'sqlite':
        return `mod(${x}, ${y})`;
      case 'clickhouse': {
        // 18.16's % of floats is of their integer parts: x − y·trunc(x / y) as in PostgreSQL
        return this.bindAll([x, y], ([x, y]) => {
          const q = `(${x} / ${y})`;
          return `if(${y} = 0, ${this.nul('float')}, if(isInfinite(${y}) AND isFinite(${x}), ${x}, ${x} - ${y} * if(${q} < 0, ceil(${q}), floor(${q}))))`;
        });
      }
      case 'postgres':
        return pgFmod(x, y);
    }
  }

  private cmpv(v: Extract<Value, { kind: 'cmpv' }>): string {
    let tl = this.ty(v.left), tr = this.ty(v.right);
    if (tl === 'null' || tr === 'null') return this.nul('bool');
    const D = this.D;
    const TEMP = (t: VType) => t === 'date' || t === 'timestamp';
    // a string literal against a date/timestamp is the date or timestamp it spells
    const asTime = (s: Value, other: VType): Value => {
      const text = (s as { value: string }).value;
      const p = parseTime(text);
      if (!p) throw new ExprError('E_BAD_EXPR', `'${text}' is not a date or time: write 'YYYY-MM-DD' or 'YYYY-MM-DD HH:MM[:SS]'`);
      return { kind: 'lit', date: D === 'clickhouse' && other === 'timestamp' && p.dateOnly ? `${text.trim()} 00:00:00` : text };
    };
    let L = v.left, R = v.right;
    if (tl === 'string' && TEMP(tr)) [L, tl] = [asTime(L, tr), tr];
    if (tr === 'string' && TEMP(tl)) [R, tr] = [asTime(R, tl), tl];
    let a = this.value(L), b = this.value(R);
    const op = v.op === '!=' ? '<>' : v.op;
    if (TEMP(tl) && TEMP(tr)) {
      if (D === 'clickhouse' && tl !== tr) {
        if (tl === 'date') a = this.toTimestamp(a);
        else b = this.toTimestamp(b);
      }
      return `(${a} ${op} ${b})`;
    }
    if ((tl === 'int' || tl === 'float') && (tr === 'int' || tr === 'float')) return this.bindAll([a, b], ([a, b]) => this.cmpNum(v.op, a!, tl, b!, tr));
    if (tl === 'string' && D === 'postgres') return `(${a} ${op} ${b} COLLATE "C")`;
    return `(${a} ${op} ${b})`;
  }

  /** numbers compared: NaN as IEEE, an int against a float exactly */
  private cmpNum(o: CompareOp, a: string, tl: VType, b: string, tr: VType): string {
    const D = this.D;
    const op = o === '!=' ? '<>' : o;
    {
      // an int against a float exactly, as the evaluator (2^53 + 1 > 2^53): SQLite and ClickHouse
      // compare them so natively; DuckDB and PostgreSQL convert the int to a float, so where the
      // two are equal as floats, they are compared again as integers (the float is one then)
      let cmp = `${a} ${op} ${b}`;
      if ((D === 'duckdb' || D === 'postgres') && tl !== tr) {
        const [i, f] = tl === 'int' ? [a, b] : [b, a];
        const fi = this.dbl(i, 'int');
        const exact = (x: string) => (D === 'duckdb' ? `CAST(${x} AS HUGEINT)` : `CAST(${x} AS numeric)`);
        const fInt = D === 'duckdb' ? exact(f) : `(CASE WHEN ${f} >= CAST(9223372036854775808 AS double precision) THEN CAST(9223372036854775808 AS numeric) ELSE CAST(CAST(${f} AS bigint) AS numeric) END)`;
        const [x, y, X, Y] = tl === 'int' ? [fi, f, exact(i), fInt] : [f, fi, fInt, exact(i)];
        cmp = `CASE WHEN ${fi} <> ${f} THEN ${x} ${op} ${y} ELSE ${X} ${op} ${Y} END`;
        a = tl === 'int' ? fi : a;
        b = tr === 'int' ? fi : b;
      }
      if ((D === 'duckdb' || D === 'postgres') && (tl === 'float' || tr === 'float')) {
        // DuckDB and PostgreSQL order NaN above every number (and NaN = NaN): IEEE here
        const nan = [tl === 'float' ? this.isNaN(a) : '', tr === 'float' ? this.isNaN(b) : ''].filter(Boolean).join(' OR ');
        return `(CASE WHEN ${a} IS NULL OR ${b} IS NULL THEN NULL WHEN ${nan} THEN ${this.bool(o === '!=')} ELSE ${cmp} END)`;
      }
      return `(${cmp})`;
    }
  }

  private binds = 0;

  /**
   * `body` over the value `x` named once: SQL that tests a value and then uses it would otherwise
   * hold it several times, and nested, grow by that factor at each level. DuckDB and ClickHouse
   * bind it with a lambda over one-element lists (pure expressions, fine in GROUP BY); PostgreSQL
   * and SQLite get the text repeated (a correlated subquery there is costlier, and PostgreSQL
   * would not see a GROUP BY expression holding one as the same in ORDER BY). ClickHouse 18.16's
   * lambdas see nothing outside them: `body` reads only the names it is given (and constants).
   */
  private bind(x: string, body: (v: string) => string): string {
    return this.bindAll([x], ([v]) => body(v!));
  }

  private bindAll(xs: string[], body: (vs: string[]) => string): string {
    const simple = (x: string) => /^(\w+|"(?:[^"]|"")*"|`(?:[^`\\]|\\.)*`)$/.test(x);
    if (xs.every(simple) || (this.D !== 'duckdb' && this.D !== 'clickhouse')) return body(xs);
    const vs = xs.map(() => `__cdx_v${++this.binds}`);
    if (this.D === 'clickhouse') return `arrayMap((${vs.join(', ')}) -> ${body(vs)}, ${xs.map((x) => `[${x}]`).join(', ')})[1]`;
    // DuckDB: one list per value, nested (its lambdas see the enclosing ones)
    let out = body(vs);
    for (let i = xs.length - 1; i >= 0; i--) out = `list_transform([${xs[i]}], lambda ${vs[i]}: ${out})[1]`;
    return out;
  }

  /** round half away from zero of the float y */
  private roundHalf(y: string): string {
    return this.bind(y, (y) => {
      if (this.D === 'clickhouse') return `if(${y} < 0, -floor(-${y} + 0.5), floor(${y} + 0.5))`;
      return `(CASE WHEN ${y} < 0 THEN -floor(-${y} + 0.5) ELSE floor(${y} + 0.5) END)`;
    });
  }

  /** a float as int64: rounded half away from zero, NULL when NaN, infinite or beyond int64 */
  private floatToInt(x: string): string {
    return this.bind(this.roundHalf(x), (r) => this.roundedToInt(r));
  }

  private roundedToInt(r: string): string {
    switch (this.D) {
      case 'duckdb':
        return `TRY_CAST(${r} AS BIGINT)`;
      case 'postgres':
        return `(CASE WHEN ${r} >= CAST(-9223372036854775808 AS double precision) AND ${r} < CAST(9223372036854775808 AS double precision) THEN CAST(${r} AS bigint) END)`;
      case 'sqlite':
        return `(CASE WHEN ${r} >= -9223372036854775808.0 AND ${r} < 9223372036854775808.0 THEN CAST(${r} AS INTEGER) END)`;
      case 'clickhouse':
        return `if(${r} >= -9223372036854775808. AND ${r} < 9223372036854775808., toInt64(${r}), ${this.nul('int')})`;
    }
  }

  /** does the text x match the whole regular expression re (portable: digits, classes, ? * + |) */
  private fullMatch(x: string, re: string): string {
    switch (this.D) {
      case 'duckdb':
        return `regexp_full_match(${x}, '${re}')`;
      case 'postgres':
        return `(${x} ~ '^(${re})$')`;
      case 'clickhouse':
        return `match(${x}, '^(${re})$')`;
      case 'sqlite':
        return this.noSqlite('converting text to a number (cast)');
    }
  }

  private trim(x: string): string {
    // (18.16 has no trimBoth)
    return this.D === 'clickhouse' ? `replaceRegexpAll(${x}, '^[[:space:]]+|[[:space:]]+$', '')` : `trim(${x})`;
  }

  /** the text of a value, as castText (value.ts) writes it */
  private text(x: string, t: VType): string {
    const D = this.D;
    const str = (y: string) => (D === 'clickhouse' ? `toString(${y})` : `CAST(${y} AS ${this.typeName('string')})`);
    switch (t) {
      case 'string':
        return x;
      case 'null':
        return this.nul('string');
      case 'int':
        return str(x);
      case 'bool':
        if (D === 'clickhouse') return `arrayElement(['false', 'true'], toUInt8(${x}) + 1)`;
        return `(CASE WHEN ${x} THEN 'true' WHEN NOT ${x} THEN 'false' END)`;
      case 'float':
        return this.bind(x, (x) => this.floatText(x));
      case 'date':
        if (D === 'postgres') return `to_char(${x}, 'YYYY-MM-DD')`;
        // 18.16 writes day 0 as 0000-00-00
        if (D === 'clickhouse') return `if(toUInt16(${x}) = 0, '1970-01-01', toString(${x}))`;
        return str(x);
      case 'timestamp':
        return this.bind(x, (x) => this.timestampText(x));
    }
  }

  private floatText(x: string): string {
    const D = this.D;
    const str = (y: string) => (D === 'clickhouse' ? `toString(${y})` : `CAST(${y} AS ${this.typeName('string')})`);
    // JavaScript's String(x): integers without '.0' (below 1e21), nan, inf, -inf (beyond 2^53
    // ClickHouse and SQLite write their own text)
    // (PostgreSQL's float → numeric keeps 15 digits: through bigint, exact for these)
    const whole = D === 'duckdb' ? `CAST(CAST(${x} AS HUGEINT) AS VARCHAR)` : D === 'postgres' ? `CAST(CAST(${x} AS bigint) AS text)` : D === 'sqlite' ? `CAST(CAST(${x} AS INTEGER) AS TEXT)` : `toString(toInt64(${x}))`;
    const trunc = `trunc(${x})`;
    let other = D === 'sqlite' ? `CAST(${x} AS TEXT)` : str(x);
    if (D === 'duckdb' || D === 'postgres') {
      // an integer from 2^53 to 1e21: JavaScript writes its shortest digits padded with zeros
      // (2^60 → 1152921504606847000), the engines an exponent (1.152921504606847e+18) or '.0'
      const t = str(`abs(${x})`);
      const mant = `replace(split_part(${t}, 'e', 1), '.', '')`;
      const digits = `(CASE WHEN ${t} LIKE '%e%' THEN rpad(${mant}, CAST(split_part(${t}, 'e+', 2) AS INTEGER) + 1, '0') ELSE split_part(${t}, '.', 1) END)`;
      other = `(CASE WHEN ${x} = ${trunc} AND abs(${x}) < 1e21 THEN (CASE WHEN ${x} < 0 THEN '-' ELSE '' END) || ${digits} ELSE ${other} END)`;
    }
    // (ClickHouse writes 1e300 where JavaScript writes 1e+300)
    if (D === 'clickhouse')
      return `multiIf(isNaN(${x}), 'nan', ${x} = (1/0), 'inf', ${x} = (-1/0), '-inf', ${x} = ${trunc} AND abs(${x}) <= 9007199254740992, ${whole}, replaceRegexpOne(${other}, 'e([0-9])', 'e+\\\\1'))`;
    const limit = '9007199254740992';
    return `(CASE WHEN ${x} IS NULL THEN NULL WHEN ${this.isNaN(x)} THEN 'nan' WHEN ${x} = ${this.infSql()} THEN 'inf' WHEN ${x} = ${this.infSql(true)} THEN '-inf' WHEN ${x} = ${trunc} AND abs(${x}) <= ${limit} THEN ${whole} ELSE ${other} END)`;
  }

  private timestampText(x: string): string {
    const D = this.D;
    // a midnight is written as its date; milliseconds only when not zero
    if (D === 'duckdb')
      return `(CASE WHEN ${x} = date_trunc('day', ${x}) THEN strftime(${x}, '%Y-%m-%d') WHEN epoch_ms(${x}) % 1000 = 0 THEN strftime(${x}, '%Y-%m-%d %H:%M:%S') ELSE strftime(${x}, '%Y-%m-%d %H:%M:%S.%g') END)`;
    if (D === 'postgres')
      return `(CASE WHEN ${x} = date_trunc('day', ${x}) THEN to_char(${x}, 'YYYY-MM-DD') WHEN date_trunc('second', ${x}) = date_trunc('milliseconds', ${x}) THEN to_char(${x}, 'YYYY-MM-DD HH24:MI:SS') ELSE to_char(${x}, 'YYYY-MM-DD HH24:MI:SS.MS') END)`;
    return `if(${x} = toStartOfDay(${x}), ${this.text(`toDate(${x})`, 'date')}, toString(${x}))`;
  }

  private cast(arg: Value, to: CastType): string {
    const from = this.ty(arg);
    if (from === 'null') return this.nul(to);
    const x = this.value(arg);
    if (from === to) return x;
    const D = this.D;
    const INT_RE = '[+-]?[0-9]+';
    const FLOAT_RE = '[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?';
    switch (to) {
      case 'string':
        return this.text(x, from);
      case 'float':
        if (from === 'int' || from === 'bool') return this.dbl(D === 'clickhouse' && from === 'bool' ? `toUInt8(${x})` : x, from);
        if (from === 'string') {
          const s = this.trim(x);
          const word = D === 'clickhouse' ? `lowerUTF8(${s})` : `lower(${s})`;
          const num =
            D === 'duckdb' ? `TRY_CAST(${s} AS DOUBLE)`
            : D === 'postgres' ? `CAST(${s} AS double precision)`
            : `toFloat64OrZero(replaceRegexpOne(${s}, '^[+]', ''))`;
          const words = `WHEN ${word} = 'nan' THEN ${this.nanSql()} WHEN ${word} IN ('inf', 'infinity', '+inf', '+infinity') THEN ${this.infSql()} WHEN ${word} IN ('-inf', '-infinity') THEN ${this.infSql(true)}`;
          if (D === 'clickhouse')
            return `multiIf(${word} = 'nan', ${this.nanSql()}, ${word} IN ('inf', 'infinity', '+inf', '+infinity'), ${this.infSql()}, ${word} IN ('-inf', '-infinity'), ${this.infSql(true)}, ${this.fullMatch(s, FLOAT_RE)}, ${num}, ${this.nul('float')})`;
          return `(CASE ${words} WHEN ${this.fullMatch(s, FLOAT_RE)} THEN ${num} END)`;
        }
        break;
      case 'int':
        if (from === 'float') return this.floatToInt(x);
        if (from === 'bool') return D === 'postgres' ? `CAST(CAST(${x} AS integer) AS bigint)` : D === 'clickhouse' ? `toInt64(${x})` : D === 'sqlite' ? x : `CAST(${x} AS BIGINT)`;
        if (from === 'string') {
          const s = this.trim(x);
          const asInt =
            D === 'duckdb' ? `TRY_CAST(${s} AS BIGINT)`
            : D === 'postgres' ? `CAST(NULLIF(NULLIF(LEAST(GREATEST(CAST(${s} AS numeric), -9223372036854775809), 9223372036854775808), 9223372036854775808), -9223372036854775809) AS bigint)`
            : `toInt64OrZero(replaceRegexpOne(${s}, '^[+]', ''))`;
          const asFloat = this.floatToInt(D === 'duckdb' ? `TRY_CAST(${s} AS DOUBLE)` : D === 'postgres' ? `CAST(CAST(${s} AS numeric) AS double precision)` : `toFloat64OrZero(replaceRegexpOne(${s}, '^[+]', ''))`);
          if (D === 'clickhouse') {
            // within int64: fewer than 19 digits, or 19 not above 2^63 − 1 (2^63 when negative)
            const digits = `replaceRegexpOne(${s}, '^[+-]?0*', '')`;
            const fits = `(lengthUTF8(${digits}) < 19 OR (lengthUTF8(${digits}) = 19 AND ${digits} <= if(startsWith(${s}, '-'), '9223372036854775808', '9223372036854775807')))`;
            return `multiIf(${this.fullMatch(s, INT_RE)}, if(${fits}, ${asInt}, ${this.nul('int')}), ${this.fullMatch(s, FLOAT_RE)}, ${asFloat}, ${this.nul('int')})`;
          }
          if (D === 'postgres') {
            // numeric rounds half away from zero, exactly
            const n = `CAST(${s} AS numeric)`;
            return `(CASE WHEN ${this.fullMatch(s, INT_RE)} THEN ${asInt} WHEN ${this.fullMatch(s, FLOAT_RE)} THEN CAST(NULLIF(NULLIF(LEAST(GREATEST(round(${n}), -9223372036854775809), 9223372036854775808), 9223372036854775808), -9223372036854775809) AS bigint) END)`;
          }
          return `(CASE WHEN ${this.fullMatch(s, INT_RE)} THEN ${asInt} WHEN ${this.fullMatch(s, FLOAT_RE)} THEN ${asFloat} END)`;
        }
        break;
      case 'bool':
        if (from === 'int' || from === 'float') return `(${x} <> 0)`;
        if (from === 'string') {
          const w = D === 'clickhouse' ? `lowerUTF8(${this.trim(x)})` : `lower(${this.trim(x)})`;
          if (D === 'clickhouse') return `multiIf(${w} IN ('true', 't', '1'), toUInt8(1), ${w} IN ('false', 'f', '0'), toUInt8(0), ${this.nul('bool')})`;
          return `(CASE WHEN ${w} IN ('true', 't', '1') THEN ${this.bool(true)} WHEN ${w} IN ('false', 'f', '0') THEN ${this.bool(false)} END)`;
        }
        break;
      case 'date':
      case 'timestamp': {
        let ts: string;
        if (from === 'string') {
          const s = this.trim(x);
          // parseTime's forms (literal.ts), fields in range
          const re = '[+-]?[0-9]{4,6}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.][0-9]{1,9})?)?([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)?)?';
          if (D === 'duckdb') ts = `(CASE WHEN ${this.fullMatch(s, re)} THEN TRY_CAST(TRY_CAST(${s} AS TIMESTAMPTZ) AS TIMESTAMP) END)`;
          else if (D === 'postgres') {
            // PostgreSQL raises an error on a day the month lacks (2024-02-30): the day is checked
            // against the month's length first (in a year of the same leap rule, ≥ 2000)
            const part = (r: string) => `CAST(substring(${s} from '${r}') AS integer)`;
            const y = part('^[+-]?([0-9]+)'), m = part('^[+-]?[0-9]+-([0-9]{2})'), d = part('^[+-]?[0-9]+-[0-9]{2}-([0-9]{2})');
            const sign = `(CASE WHEN ${s} LIKE '-%' THEN -1 ELSE 1 END)`;
            const monthDays = `EXTRACT(DAY FROM make_date(2000 + mod(mod(${sign} * ${y}, 400) + 400, 400), ${m}, 1) + interval '1 month' - interval '1 day')`;
            ts = `(CASE WHEN ${this.fullMatch(s, re)} THEN (CASE WHEN ${d} <= ${monthDays} THEN CAST(${s} AS timestamptz) END) END)`;
          }
          else {
            // parseDateTimeBestEffort reads 2024-02-30 as 2024-03-01: the day must stay the text's
            const day = `toDayOfMonth(parseDateTimeBestEffortOrNull(substring(${s}, 1, 10), 'UTC')) = toUInt8OrZero(substring(${s}, 9, 2))`;
            ts = `if(${this.fullMatch(s, re)} AND ${day}, parseDateTimeBestEffortOrNull(${s}, 'UTC'), NULL)`;
          }
          if (to === 'timestamp') return ts;
          return D === 'clickhouse' ? `toDate(${ts})` : `CAST(${ts} AS ${this.typeName('date')})`;
        }
        if (to === 'timestamp') return this.toTimestamp(x);
        return D === 'clickhouse' ? `toDate(${x})` : `CAST(${x} AS ${this.typeName('date')})`;
      }
    }
    throw new ExprError('E_TYPE_MISMATCH', `cannot cast ${from} to ${to} in SQL`);
  }

  private call(v: Extract<Value, { kind: 'call' }>, t: VType): string {
    const D = this.D;
    const fn = v.fn;
    const ts = v.args.map((a) => this.ty(a));
    if (fn === 'coalesce') {
      const xs = v.args.map((a, i) => this.coerce(this.value(a), ts[i]!, t));
      return `coalesce(${xs.join(', ')})`;
    }
    if (fn === 'concat') {
      const xs = v.args.map((a, i) => `coalesce(${this.text(this.value(a), ts[i]!)}, '')`);
      return D === 'clickhouse' ? `concat(${xs.join(', ')}${xs.length === 1 ? ", ''" : ''})` : `(${xs.join(' || ')})`;
    }
    if (fn === '||') {
      if (ts.includes('null')) return this.nul('string');
      const [a, b] = v.args.map((a, i) => this.text(this.value(a), ts[i]!));
      return D === 'clickhouse' ? `concat(${a}, ${b})` : `(${a} || ${b})`;
    }
    if (fn !== 'date_trunc' && ts.includes('null')) return this.nul(t);
    const x = () => this.value(v.args[0]!);
    const X = () => this.dbl(x(), ts[0]!);
    switch (fn) {
      case 'abs':
        if (ts[0] === 'int') return D === 'clickhouse' ? `toInt64(abs(${this.nullIf(this.i64(x()), this.MIN)}))` : `abs(${this.nullIf(x(), this.MIN)})`;
        return `abs(${x()})`;
      case 'floor':
      case 'ceil':
        return ts[0] === 'int' ? x() : `${fn}(${x()})`;
      case 'sqrt':
      case 'ln':
      case 'log10':
      case 'log2': {
        const y = X();
        const name = fn === 'ln' && D === 'clickhouse' ? 'log' : fn;
        const f = D === 'postgres' && fn === 'log2' ? `(ln(${y}) / ln(CAST(2 AS double precision)))` : `${name}(${y})`;
        const bad = fn === 'sqrt' ? `${y} < 0` : `${y} <= 0`;
        return D === 'clickhouse' ? `if(${bad}, ${this.nul('float')}, ${f})` : `(CASE WHEN ${bad} THEN NULL ELSE ${f} END)`;
      }
      case 'exp':
        return `exp(${X()})`;
      case 'pow': {
        const a = X(), b = this.dbl(this.value(v.args[1]!), ts[1]!);
        // JavaScript's Math.pow: 1 ** NaN and (±1) ** ±inf are NaN (C's pow says 1)
        const js = `${this.isNaN(b)} OR (abs(${a}) = 1 AND ${this.isInf(b)})`;
        const p = D === 'postgres' ? 'power' : 'pow';
        if (D === 'clickhouse') return `if(${js}, ${a} * 0 + ${this.nanSql()}, pow(${a}, ${b}))`;
        // PostgreSQL raises errors where C's pow gives inf or NaN: 0 ** negative, negative ** fraction
        const pg = D === 'postgres' ? ` WHEN ${a} = 0 AND ${b} < 0 THEN (CASE WHEN CAST(${a} AS text) = '-0' AND ${b} = trunc(${b}) AND trunc(${b} / 2) * 2 <> ${b} THEN ${this.infSql(true)} ELSE ${this.infSql()} END) WHEN ${a} = ${this.infSql(true)} AND NOT ${this.isInf(b)} AND ${b} <> trunc(${b}) THEN (CASE WHEN ${b} > 0 THEN ${this.infSql()} ELSE CAST(0 AS double precision) END) WHEN ${a} < 0 AND NOT ${this.isInf(b)} AND ${b} <> trunc(${b}) THEN ${this.nanSql()}` : '';
        return `(CASE WHEN ${a} IS NULL OR ${b} IS NULL THEN NULL WHEN ${js} THEN ${this.nanSql()}${pg} ELSE ${p}(${a}, ${b}) END)`;
      }
      case 'round': {
        if (ts[0] === 'int') return x();
        const y = x();
        const d = v.args[1];
        if (d === undefined) return this.roundHalf(y);
        const dl = d.kind === 'lit' && 'value' in d && typeof d.value === 'number' ? d.value : undefined;
        if (dl !== undefined) {
          if (dl === 0) return this.roundHalf(y);
          // the same float operations as value.ts: x · 10^d (or x / 10^−d), rounded, scaled back
          const pl: Literal = { kind: 'lit', value: Math.pow(10, Math.abs(dl)) };
          const pf = this.dbl(this.vlit(pl), literalType(pl));
          return dl > 0 ? `(${this.roundHalf(`(${y} * ${pf})`)} / ${pf})` : `(${this.roundHalf(`(${y} / ${pf})`)} * ${pf})`;
        }
        const dv = this.value(d);
        const p = `pow(${this.dbl('10', 'int')}, ${this.dbl(`abs(${dv})`, 'int')})`;
        if (D === 'clickhouse') return `if(${dv} >= 0, ${this.roundHalf(`(${y} * ${p})`)} / ${p}, ${this.roundHalf(`(${y} / ${p})`)} * ${p})`;
        return `(CASE WHEN ${dv} >= 0 THEN ${this.roundHalf(`(${y} * ${p})`)} / ${p} ELSE ${this.roundHalf(`(${y} / ${p})`)} * ${p} END)`;
      }
      case 'date_trunc': {
        const unit = String((v.args[0] as { value: string }).value).toLowerCase() as TruncUnit;
        const tt = ts[1]!;
        if (tt === 'null') return this.nul(t);
        const y = this.value(v.args[1]!);
        if (tt === 'date' && ['day', 'hour', 'minute', 'second'].includes(unit)) return y;
        if (D === 'clickhouse') {
          const f: Record<TruncUnit, string> = { year: 'toStartOfYear', quarter: 'toStartOfQuarter', month: 'toStartOfMonth', week: 'toMonday', day: 'toStartOfDay', hour: 'toStartOfHour', minute: 'toStartOfMinute', second: this.dt64 ? 'toStartOfSecond' : '' };
          if (!f[unit]) return y; // DateTime holds whole seconds
          const r = `${f[unit]}(${y})`;
          // toStartOfYear … toMonday give a Date
          return tt === 'timestamp' && ['year', 'quarter', 'month', 'week'].includes(unit) ? this.toTimestamp(r) : r;
        }
        const r = `date_trunc('${unit}', ${y})`;
        return tt === 'date' ? `CAST(${r} AS ${this.typeName('date')})` : r;
      }
      case 'lower':
      case 'upper':
        if (D === 'sqlite') this.noSqlite(`${fn}() (SQLite changes the case of ASCII letters only)`);
        if (D === 'clickhouse') return `${fn}UTF8(${x()})`;
        // the database's collation may be "C" (ASCII only): ICU's root locale maps every letter
        if (D === 'postgres') return `${fn}(${x()} COLLATE "und-x-icu")`;
        return `${fn}(${x()})`;
      case 'length':
        if (D === 'clickhouse') return `toInt64(lengthUTF8(${x()}))`;
        if (D === 'sqlite') return `length(${x()})`;
        return `CAST(length(${x()}) AS ${this.typeName('int')})`;
      case 'substr': {
        // characters [start, start + length) of the 1-based positions, those before 1 holding
        // nothing; positions clamped to 2^31 − 1 (no engine's text is longer), the end computed
        // as a float (no int64 overflow): substr(s, lo, n) with lo ≥ 1 and n ≥ 0
        const s = x();
        const st = this.value(v.args[1]!);
        // (GREATEST and LEAST skip NULLs in DuckDB and PostgreSQL: these keep them)
        const mx = (a: string, b: string) => (D === 'clickhouse' ? `if(${a} < ${b}, ${b}, ${a})` : `(CASE WHEN ${a} < ${b} THEN ${b} ELSE ${a} END)`);
        const mn = (a: string, b: string) => (D === 'clickhouse' ? `if(${a} > ${b}, ${b}, ${a})` : `(CASE WHEN ${a} > ${b} THEN ${b} ELSE ${a} END)`);
        const BIG = '2147483647';
        const lo = mn(mx(st, '1'), BIG);
        const len = v.args[2] !== undefined ? this.value(v.args[2]) : undefined;
        const end = len !== undefined ? mn(`${this.dbl(st, 'int')} + ${this.dbl(mx(len, '0'), 'int')}`, BIG) : undefined;
        const n = end !== undefined ? mx(`${end} - ${lo}`, '0') : undefined;
        const i = (y: string) => (D === 'postgres' ? `CAST(${y} AS integer)` : D === 'clickhouse' ? `toUInt64(${y})` : D === 'duckdb' ? `CAST(${y} AS BIGINT)` : `CAST(${y} AS INTEGER)`);
        if (D === 'clickhouse') {
          // 18.16's substringUTF8 takes constant positions only and reads a 4-byte character as
          // four: the code points as an array (extractAll of '(?s).', RE2 reads UTF-8), sliced
          const parts = [s, st, ...(len !== undefined ? [len] : [])].map((y) => `isNull(${y})`).join(' OR ');
          const cps = `extractAll(ifNull(${s}, ''), '(?s).')`;
          return `if(${parts}, ${this.nul('string')}, arrayStringConcat(arraySlice(${cps}, ifNull(${i(lo)}, 1), ${n ? `ifNull(${i(n)}, 0)` : `toUInt64(${BIG})`}), ''))`;
        }
        return n ? `substr(${s}, ${i(lo)}, ${i(n)})` : `substr(${s}, ${i(lo)})`;
      }
      case 'contains':
      case 'starts_with':
      case 'ends_with': {
        const a = x(), b = this.value(v.args[1]!);
        if (D === 'duckdb') return `${fn}(${a}, ${b})`;
        if (D === 'clickhouse') return fn === 'contains' ? `(position(${a}, ${b}) > 0)` : `${fn === 'starts_with' ? 'startsWith' : 'endsWith'}(${a}, ${b})`;
        if (D === 'postgres') return fn === 'contains' ? `(strpos(${a}, ${b}) > 0)` : fn === 'starts_with' ? `starts_with(${a}, ${b})` : `(right(${a}, length(${b})) = ${b})`;
        if (fn === 'contains') return `(instr(${a}, ${b}) > 0)`;
        if (fn === 'starts_with') return `(instr(${a}, ${b}) = 1)`;
        return `(CASE WHEN ${a} IS NULL OR ${b} IS NULL THEN NULL ELSE length(${b}) = 0 OR substr(${a}, -length(${b})) = ${b} END)`;
      }
    }
    if ((DATE_PARTS as readonly string[]).includes(fn)) {
      const y = x();
      const tt = ts[0]!;
      const part = fn as DatePart;
      if (D === 'clickhouse') {
        const f: Record<DatePart, string> = { year: 'toYear', quarter: 'toQuarter', month: 'toMonth', day: 'toDayOfMonth', hour: 'toHour', minute: 'toMinute', second: 'toSecond', weekday: 'toDayOfWeek' };
        const arg = tt === 'date' && ['hour', 'minute', 'second'].includes(part) ? this.toTimestamp(y) : y;
        return `toInt64(${f[part]}(${arg}))`;
      }
      if (D === 'duckdb') return `CAST(${part === 'weekday' ? 'isodow' : part}(${y}) AS BIGINT)`;
      const arg = tt === 'date' ? `CAST(${y} AS timestamp)` : y;
      const field = part === 'weekday' ? 'ISODOW' : part.toUpperCase();
      const e = `EXTRACT(${field} FROM ${arg})`;
      return part === 'second' ? `CAST(floor(${e}) AS bigint)` : `CAST(${e} AS bigint)`;
    }
    throw new ExprError('E_BAD_EXPR', `unknown function ${fn}()`);
  }
}

/**
 * fmod(x, y) in PostgreSQL, exactly (it has no float %): |x| = mx·2^ex and |y| = my·2^ey read
 * from the IEEE bits (float8send), both scaled to integers at 2^min(ex, ey) in numeric, their
 * remainder (below 2^53, so a bigint and a double exactly) scaled back, with x's sign. y = 0 is
 * NULL; x infinite or either NaN is NaN; y infinite or x zero is x.
 */
function pgFmod(x: string, y: string): string {
  const bits = (v: string) => `(('x' || encode(float8send(abs(${v})), 'hex'))::bit(64)::bigint)`;
  const parts = (v: string, m: string, e: string) =>
    `(${bits(v)} & 4503599627370495) + CASE WHEN (${bits(v)} >> 52) > 0 THEN 4503599627370496 ELSE 0 END AS ${m}, ` +
    `CASE WHEN (${bits(v)} >> 52) > 0 THEN (${bits(v)} >> 52) - 1075 ELSE -1074 END AS ${e}`;
  const inf = `CAST('Infinity' AS double precision)`;
  const nan = `CAST('NaN' AS double precision)`; // (PostgreSQL's NaN equals itself)
  const scaled = (m: string, e: string) => `(CAST(${m} AS numeric) * power(CAST(2 AS numeric), CAST(${e} - least(ex, ey) AS numeric)))`;
  return (
    `(SELECT CASE WHEN a IS NULL OR b IS NULL OR b = 0 THEN NULL WHEN a = ${nan} OR b = ${nan} OR abs(a) = ${inf} THEN CAST('NaN' AS double precision) WHEN abs(b) = ${inf} OR a = 0 THEN a ` +
    `ELSE sign(a) * (CAST(CAST(mod(${scaled('mx', 'ex')}, ${scaled('my', 'ey')}) AS bigint) AS double precision) * power(CAST(2 AS double precision), least(ex, ey))) END ` +
    `FROM (SELECT a, b, ${parts('a', 'mx', 'ex')}, ${parts('b', 'my', 'ey')} FROM (SELECT ${x} AS a, ${y} AS b) v) w)`
  );
}

/** Text matched literally by SQLite's GLOB: `*`, `?` and `[` in brackets. */
function globEscape(s: string): string {
  return s.replace(/[*?[]/g, (c) => `[${c}]`);
}

/** `(s)` unless s is already one parenthesised group (quotes skipped when matching). */
function paren(s: string): string {
  if (s[0] !== '(') return `(${s})`;
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === "'" || c === '"' || c === '`') {
      // skip a quoted run (a doubled quote just starts the next run; ClickHouse backquoted
      // identifiers escape with a backslash)
      for (i++; i < s.length && s[i] !== c; i++) if (c === '`' && s[i] === '\\') i++;
      continue;
    }
    if (c === '(') depth++;
    else if (c === ')' && --depth === 0 && i < s.length - 1) return `(${s})`;
  }
  return s;
}

/**
 * SQL for `e` in `dialect`, with values as bound parameters. With `schema`, every column must be
 * in it (else ExprError code 'E_UNKNOWN_COLUMN'), and field types (DataShape names or SQL names)
 * narrow the NaN guards to float columns.
 */
export function toSQL(e: Expr, dialect: SqlDialect, schema?: SqlSchema, opts: ToSqlOptions = {}): CompiledSql {
  const c = new Compiler(dialect, schema, opts);
  const sql = c.render(c.expr(e));
  return { sql, params: c.params, paramTypes: c.paramTypes };
}

/**
 * SQL for the value `v` in `dialect` (a SELECT list item, an ORDER BY or GROUP BY key), with
 * parameters as toSQL binds them. The value is type-checked (E_TYPE_MISMATCH) against the
 * schema's column types, which it needs for every column it reads (E_BAD_EXPR without a schema).
 * Booleans are BOOLEAN in DuckDB and PostgreSQL, 0/1 in SQLite and ClickHouse (UInt8).
 */
export function valueSQL(v: Value, dialect: SqlDialect, schema?: SqlSchema, opts: ToSqlOptions = {}): CompiledSql & { type: VType } {
  const c = new Compiler(dialect, schema, opts);
  const type = c.ty(v);
  const sql = c.render(c.value(v));
  return { sql, params: c.params, paramTypes: c.paramTypes, type };
}
