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
 * Checked row for row against the evaluator on real DuckDB and SQLite (and Postgres when
 * CDX_TEST_PG is set) in engines.test.ts; ClickHouse output is checked as text only.
 */
import { formatValue } from './format';
import type { ColumnRef, CompareOp, Expr, Literal } from './ast';
import { ExprError } from './errors';
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
}

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
  }

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
    if (c.expr) throw new ExprError('E_BAD_EXPR', `computed values ('${formatValue(c.expr)}') are not compiled to SQL yet`);
    if (this.types && !this.types.has(c.name)) throw new ExprError('E_UNKNOWN_COLUMN', `Unknown column '${c.name}'`, { column: c.name });
    return quoteIdent(c.name, this.dialect);
  }

  private param(kind: ParamKind, value: unknown): string {
    if (this.inline) return this.inlined(kind, value);
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
    const t = this.types?.get(c.name)?.toLowerCase();
    if (t !== undefined && !/^(float|double|real|decimal|numeric)/.test(t)) return null;
    return this.dialect === 'duckdb' ? `NOT isnan(${colSql})` : `${colSql} <> CAST('NaN' AS double precision)`;
  }

  /** A string literal against a date/timestamp column (per the schema) becomes that date or timestamp. */
  litFor(c: ColumnRef, l: Literal): Literal {
    const t = this.types?.get(c.name)?.toLowerCase();
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
      case 'test':
        throw new ExprError('E_BAD_EXPR', `computed values ('${formatValue(e.arg)}') are not compiled to SQL yet`);
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
  const sql = c.expr(e);
  return { sql, params: c.params, paramTypes: c.paramTypes };
}
