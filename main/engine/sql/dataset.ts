/**
 * A database table, view or query as a dataset: every view CDX has for a local dataset, computed by
 * the database (pushdown) so that only results travel — the summary as a few aggregate queries, the
 * table's windows with keyset pagination on the primary / sorting key (LIMIT/OFFSET otherwise),
 * density grids as one GROUP BY over the cell index computed in SQL, points as the viewport in a
 * WHERE with the budget as LIMIT, histograms as a GROUP BY over the bin, filters as the expression
 * model compiled to the dialect (shared/expr/sql.ts: bound parameters on PostgreSQL, quoted
 * literals on ClickHouse 18.16, which has no query parameters).
 *
 * Every number is computed with the same definitions as the native kernels, so that a table gives
 * the results a local file of the same data gives: min/max over non-NaN values (±Inf included),
 * mean and sample std over finite values, quantiles the k-th smallest non-NaN value with
 * k = ceil(q·n), histogram bins floor((x − lo)·bins/(hi − lo)) over the finite range with hi in the
 * last bin, cells floor((x − x0)·W/(x1 − x0)) with [x0, x1) × [y0, y1), top values by count then
 * value (strings in byte order), distinct exact up to 65,536 values. Dates and timestamps are
 * computed on epoch numbers in their unit (days; µs for PostgreSQL timestamps, s for ClickHouse
 * DateTime), which is also how their cells cross the wire (arrow.ts builds the batches).
 */
import type { RecordBatch } from 'apache-arrow';
import type { ColumnSummaryInfo, RemoteInfo, SummaryValue } from '../../../shared/api';
import type { Field, PrimitiveType, Schema, TimeUnit } from '../../../shared/datashape';
import { toSQL, valueSQL, type SqlSchema, type ToSqlOptions } from '../../../shared/expr/sql';
import type { Expr, Value } from '../../../shared/expr/ast';
import type { VType } from '../../../shared/expr/value';
import { ExprError } from '../../../shared/expr/errors';
import { CdxError } from '../../../shared/errors';
import {
  MAX_CATEGORIES, type DensityParams, type DensityResult, type HistogramParams, type HistogramResult, type LineParams, type LineResult, type LineSeries, type PlotColumnInfo, type PointsParams, type PointsResult,
} from '../../../shared/plot/types';
import { displayValue } from '../summarize';
import { batchFromCells, parseFloatText } from './arrow';
import { measureField, type GroupSpec } from '../measures';
import { checkLineParams } from '../../../shared/plot/m4';
import { quoteChIdent, quoteChString } from './clickhouse';
import { quotePgIdent } from './postgres';
import type { DbLocation, QueryOptions, Relation, SqlConnection } from './types';

type Cls = 'int' | 'uint' | 'float' | 'decimal' | 'bool' | 'string' | 'date' | 'timestamp';

export interface SqlColumn {
  field: Field;
  /** the column's quoted identifier */
  ident: string;
  /** the server's type name */
  server: string;
  cls: Cls;
  /** SQL for the value as the kernels see it: a number (times as epoch numbers in the unit) or a string */
  value: string;
  /** 64-bit integers: exact text (no double rounding) */
  int64: boolean;
  /**
   * the value as a double computed cheaply, where `value` is costly per row (PostgreSQL timestamps:
   * date_part's double seconds × 10^6 instead of an exact numeric EXTRACT — the same double within
   * a µs, for plots and histogram bins)
   */
  fast?: string;
}

const MS_PER: Record<string, number> = { day: 86_400_000, s: 1000, ms: 1, us: 1e-3, ns: 1e-6 };
/** distinct values counted exactly up to this many (as the native summary does) */
const EXACT_DISTINCT = 65_536;
/** integers with at most this many distinct values get top values (as the native summary does) */
const LOW_CARD = 1000;
/** PostgreSQL counts distinct values exactly on at most this many rows; beyond, an estimate from a sample */
const PG_DISTINCT_ROW_BUDGET = 2_000_000;
/** beyond the budget, PostgreSQL columns estimated to hold at most this many values are counted exactly (GROUPING SETS) */
const PG_GROUPED_DISTINCT = 20_000;
/** ClickHouse quantiles are exact on at most this many values (as the native summary), a sketch beyond */
const EXACT_QUANTILE_ROWS = 10_000_000;
const QUANTILES = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99] as const;
const QNAMES = ['p1', 'p5', 'p25', 'p50', 'p75', 'p95', 'p99'] as const;

/** A double as SQL text that reads back as exactly the same double (finite values only). */
function f64(v: number): string {
  if (!Number.isFinite(v)) throw new CdxError('E_BAD_ARG', `not a finite number: ${v}`);
  const t = String(v);
  return t.includes('.') || t.includes('e') ? t : t + '.0';
}

// ---------------------------------------------------------------------------------------------
// types

function unwrapCh(t: string): string {
  for (;;) {
    const m = /^(Nullable|LowCardinality)\((.*)\)$/.exec(t.trim());
    if (!m) return t.trim();
    t = m[2]!;
  }
}

function chTimeUnit(t: string): { unit: TimeUnit; tz?: string; precision?: number } | null {
  const m64 = /^DateTime64\((\d+)(?:,\s*'([^']*)')?\)$/.exec(t);
  if (m64) {
    const p = Number(m64[1]);
    return { unit: p <= 0 ? 's' : p <= 3 ? 'ms' : p <= 6 ? 'us' : 'ns', precision: p, ...(m64[2] ? { tz: m64[2] } : {}) };
  }
  const m = /^DateTime(?:\('([^']*)'\))?$/.exec(t);
  if (m) return { unit: 's', ...(m[1] ? { tz: m[1] } : {}) };
  return null;
}

/**
 * One column of a relation: its DataShape field, and the SQL that gives its value to the kernels'
 * definitions. `expr`: a computed column's SQL (in parentheses), standing where the identifier would.
 */
export function planColumn(kind: SqlConnection['kind'], name: string, server: string, nullable: boolean, expr?: string): SqlColumn {
  const ident = expr ?? (kind === 'postgresql' ? quotePgIdent(name) : quoteChIdent(name));
  const base = { name, nullable };
  let type: PrimitiveType = 'string', cls: Cls = 'string', value = ident, int64 = false;
  let fast: string | undefined;
  const extra: Partial<Field> = {};
  if (kind === 'postgresql') {
    const t = server.toLowerCase();
    if (t === 'smallint') { type = 'int16'; cls = 'int'; }
    else if (t === 'integer') { type = 'int32'; cls = 'int'; }
    else if (t === 'bigint') { type = 'int64'; cls = 'int'; int64 = true; }
    else if (t === 'real') { type = 'float32'; cls = 'float'; }
    else if (t === 'double precision') { type = 'float64'; cls = 'float'; }
    else if (t.startsWith('numeric')) { type = 'float64'; cls = 'decimal'; value = `${ident}::float8`; extra.original = server; }
    else if (t === 'boolean') { type = 'bool'; cls = 'bool'; value = `${ident}::int`; }
    else if (t === 'date') {
      type = 'date'; cls = 'date';
      value = `(CASE WHEN isfinite(${ident}) THEN ${ident} - DATE '1970-01-01' END)`;
    } else if (t.startsWith('timestamp')) {
      type = 'timestamp'; cls = 'timestamp'; extra.unit = 'us'; int64 = true;
      if (t.includes('with time zone')) extra.tz = 'UTC';
      value = `(CASE WHEN isfinite(${ident}) THEN (EXTRACT(EPOCH FROM ${ident}) * 1000000)::int8 END)`;
      fast = `(CASE WHEN isfinite(${ident}) THEN date_part('epoch', ${ident}) * 1000000 END)`;
    } else if (t === 'text' || t.startsWith('character')) { /* string */ }
    else { value = `${ident}::text`; extra.original = server; if (t === 'json' || t === 'jsonb') type = 'json'; }
  } else {
    const t = unwrapCh(server);
    const im = /^(U?)Int(8|16|32|64)$/.exec(t);
    const tu = chTimeUnit(t);
    if (im) {
      type = `${im[1] ? 'u' : ''}int${im[2]}` as PrimitiveType;
      cls = im[1] ? 'uint' : 'int';
      int64 = im[2] === '64';
    } else if (t === 'Float32' || t === 'Float64') { type = t === 'Float32' ? 'float32' : 'float64'; cls = 'float'; }
    else if (/^Decimal/.test(t)) { type = 'float64'; cls = 'decimal'; value = `toFloat64(${ident})`; extra.original = server; }
    else if (t === 'Bool') { type = 'bool'; cls = 'bool'; value = `toUInt8(${ident})`; }
    else if (t === 'Date') { type = 'date'; cls = 'date'; value = `toUInt16(${ident})`; }
    else if (t === 'Date32') { type = 'date'; cls = 'date'; value = `toInt32(${ident})`; }
    else if (tu) {
      type = 'timestamp'; cls = 'timestamp'; extra.unit = tu.unit; extra.tz = tu.tz ?? 'UTC'; int64 = true;
      value = tu.precision === undefined ? `toUInt32(${ident})`
        : tu.unit === 's' ? `toUnixTimestamp(${ident})` : tu.unit === 'ms' ? `toUnixTimestamp64Milli(${ident})` : tu.unit === 'us' ? `toUnixTimestamp64Micro(${ident})` : `toUnixTimestamp64Nano(${ident})`;
    } else if (t === 'String' || /^FixedString/.test(t)) { /* string */ }
    else { value = `toString(${ident})`; extra.original = server; }
  }
  return { field: { ...base, type, ...extra }, ident, server, cls, value, int64, ...(fast ? { fast } : {}) };
}

/** The server's type name for a value of the language's type (what planColumn reads). */
function serverTypeOf(t: VType, pg: boolean, dt64: boolean): string {
  switch (t) {
    case 'int': return pg ? 'bigint' : 'Int64';
    case 'float': case 'null': return pg ? 'double precision' : 'Float64';
    case 'bool': return pg ? 'boolean' : 'Bool';
    case 'string': return pg ? 'text' : 'String';
    case 'date': return pg ? 'date' : dt64 ? 'Date32' : 'Date';
    case 'timestamp': return pg ? 'timestamp with time zone' : "DateTime('UTC')";
  }
}

function isNumericCls(c: Cls): boolean {
  return c !== 'string';
}

// ---------------------------------------------------------------------------------------------
// SQL assembly: parameters ($n on PostgreSQL, inline literals on ClickHouse)

class Sql {
  readonly params: unknown[] = [];
  constructor(readonly pg: boolean) {}
  /** a text value bound (PostgreSQL, cast to `type`) or quoted (ClickHouse) */
  text(v: string, pgType?: string): string {
    if (!this.pg) return quoteChString(v);
    this.params.push(v);
    return `$${this.params.length}${pgType ? `::${pgType}` : ''}`;
  }
  /** a compiled filter's SQL with its placeholders renumbered after the ones already bound */
  filter(sql: string, params: unknown[]): string {
    if (!this.pg || !params.length) return sql;
    const base = this.params.length;
    this.params.push(...params);
    return sql.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + base}`);
  }
}

/** A column's summary value from the server's text for its class. */
function numText(c: SqlColumn, s: string | null | undefined): number | bigint | null {
  if (s === null || s === undefined || s === '') return null;
  if (c.int64 || c.cls === 'int' || c.cls === 'uint') {
    if (/^-?\d+$/.test(s)) {
      const b = BigInt(s);
      return Number.isSafeInteger(Number(b)) ? Number(b) : b;
    }
    return parseFloatText(s);
  }
  return parseFloatText(s);
}

function logicalOf(c: SqlColumn): { type: 'date' | 'timestamp' | 'bool8'; unit: string } | undefined {
  if (c.cls === 'date') return { type: 'date', unit: 'day' };
  if (c.cls === 'timestamp') return { type: 'timestamp', unit: c.field.unit ?? 'us' };
  return undefined;
}

/** A float cell of a result (null: NaN). */
function floatCell(s: string | null | undefined): number {
  return s == null ? NaN : parseFloatText(s);
}

/** ClickHouse's text of a Float64 array `[1,2,nan]` → numbers */
function chArray(s: string | null | undefined): number[] {
  if (!s) return [];
  const t = s.trim().replace(/^\[|\]$/g, '');
  return t ? t.split(',').map((x) => parseFloatText(x.trim().replace(/^'|'$/g, ''))) : [];
}

/** PostgreSQL's text of an array `{1,2,NaN}` → numbers (NULL elements: NaN) */
function pgArray(s: string | null | undefined): number[] {
  if (!s) return [];
  const t = s.trim().replace(/^\{|\}$/g, '');
  return t ? t.split(',').map((x) => (x === 'NULL' ? NaN : parseFloatText(x.replace(/^"|"$/g, '')))) : [];
}

// ---------------------------------------------------------------------------------------------

export interface SqlDatasetInit {
  conn: SqlConnection;
  location: DbLocation;
  relation: Relation;
  serverVersion: string;
}

interface Anchor {
  /** the window's offset whose first row has these key values */
  offset: number;
  /** key values as the server's text */
  key: (string | null)[];
  /** rows before the first row with this key (unique keys: = offset) */
  before?: number;
}

export class SqlDataset {
  readonly conn: SqlConnection;
  readonly location: DbLocation;
  readonly relation: Relation;
  readonly serverVersion: string;
  /** the relation's columns, then the computed ones (setComputed) */
  readonly columns: SqlColumn[];
  readonly byName: Map<string, SqlColumn>;
  /** the relation's own columns */
  private readonly base: SqlColumn[];
  private computed: { name: string; value: Value }[] = [];
  readonly from: string;
  readonly pg: boolean;
  rows = 0;
  /** key anchors of the table's windows, per filter text ('' = none) */
  private anchors = new Map<string, Anchor[]>();
  private totals = new Map<string, number>();
  private categoryCache = new Map<string, string[] | null>();
  /** ClickHouse ≥ 20.1 has DateTime64 (toSQL writes sub-second literals) */
  private readonly dt64: boolean;

  constructor(init: SqlDatasetInit) {
    this.conn = init.conn;
    this.location = init.location;
    this.relation = init.relation;
    this.serverVersion = init.serverVersion;
    this.pg = init.conn.kind === 'postgresql';
    this.base = init.relation.columns.map((c) => planColumn(init.conn.kind, c.name, c.type, c.nullable));
    this.columns = [...this.base];
    this.byName = new Map(this.columns.map((c) => [c.field.name, c]));
    this.from = init.conn.fromClause(init.location.sql !== undefined ? { sql: init.location.sql } : { table: init.location.table! });
    const m = /(\d+)\.(\d+)/.exec(init.serverVersion);
    this.dt64 = !this.pg && !!m && (Number(m[1]) > 20 || (Number(m[1]) === 20 && Number(m[2]) >= 1));
  }

  /** what the user sees the dataset as: the connection and table (no secret) */
  get what(): string {
    const l = this.location;
    return l.sql !== undefined ? `${this.conn.label} (query)` : `${this.conn.label}::${l.table!.schema !== undefined ? l.table!.schema + '.' : ''}${l.table!.name}`;
  }

  get schema(): Schema {
    return { fields: this.columns.map((c) => c.field) };
  }

  /** the key the table's windows page by (empty: LIMIT/OFFSET over an order by every column) */
  get key(): SqlColumn[] {
    return this.relation.key.map((k) => this.byName.get(k)).filter((c): c is SqlColumn => !!c);
  }

  remote(): RemoteInfo {
    return {
      kind: this.conn.kind,
      connection: this.conn.label,
      serverVersion: this.serverVersion,
      relation: this.relation.kind,
      key: this.key.map((c) => c.field.name),
      offsetPaging: this.key.length === 0,
    };
  }

  /** counts the rows (once, at open) */
  async count(opts: QueryOptions = {}): Promise<number> {
    const r = await this.conn.query(`SELECT count(*) FROM ${this.from}`, [], opts);
    this.rows = Number(r.rows[0]?.[0] ?? 0);
    return this.rows;
  }

  private column(name: string, role?: string): SqlColumn {
    const c = this.byName.get(name);
    if (!c) throw new CdxError('E_UNKNOWN_COLUMN', `${this.what}: no column "${name}"${role ? ` (${role})` : ''}`, { file: this.what, column: name });
    return c;
  }

  private numericColumn(name: string, role: string): SqlColumn {
    const c = this.column(name, role);
    if (!isNumericCls(c.cls) || c.cls === 'bool') throw new CdxError('E_BAD_TYPE', `${this.what}: column "${name}" (${role}) is not numeric or date/time`, { file: this.what, column: name });
    return c;
  }

  private sqlSchema(): SqlSchema {
    return { fields: this.base.map((c) => ({ name: c.field.name, type: c.field.type })) };
  }

  /** toSQL's options: the dialect's, and the computed columns (their names stand for their values) */
  private sqlOptions(): ToSqlOptions {
    return { ...(this.pg ? {} : { inline: true, dateTime64: this.dt64 }), computed: this.computed };
  }

  /**
   * Computed columns (the engine's defineColumn): each a value over the relation's columns (and
   * the computed ones before it), typed and compiled here (shared/expr/sql.ts valueSQL, values
   * written into the SQL), then a column like the others: windows, the summary, group keys and
   * measures, plots and filters select `(<its SQL>)` where a column's name would stand. Replaces
   * the previous list. A name may not be a column's of the relation; a value that does not type
   * or compile is an E_BAD_EXPR / E_TYPE_MISMATCH naming the dataset and the column.
   */
  setComputed(cols: readonly { name: string; value: Value }[]): void {
    const planned: SqlColumn[] = [];
    const seen = new Set<string>();
    for (let i = 0; i < cols.length; i++) {
      const { name, value } = cols[i]!;
      if (this.base.some((c) => c.field.name === name) || seen.has(name)) throw new CdxError('E_BAD_ARG', `${this.what}: a column named "${name}" exists already`, { file: this.what, column: name });
      seen.add(name);
      let c;
      try {
        // the columns before it may be read by name; its own name (or a later one's) may not
        c = valueSQL(value, this.pg ? 'postgres' : 'clickhouse', this.sqlSchema(), { ...this.sqlOptions(), computed: cols.slice(0, i), ...(this.pg ? { literals: true } : {}) });
      } catch (err) {
        if (err instanceof ExprError) throw new CdxError(err.code === 'E_UNKNOWN_COLUMN' ? 'E_UNKNOWN_COLUMN' : err.code === 'E_TYPE_MISMATCH' ? 'E_TYPE_MISMATCH' : 'E_BAD_EXPR', `${this.what}: computed column "${name}": ${err.message}`, { file: this.what, column: name });
        throw err;
      }
      planned.push(planColumn(this.conn.kind, name, serverTypeOf(c.type, this.pg, this.dt64), true, `(${c.sql})`));
    }
    this.computed = cols.map((c) => ({ name: c.name, value: c.value }));
    this.columns.splice(0, this.columns.length, ...this.base, ...planned);
    this.byName.clear();
    for (const c of this.columns) this.byName.set(c.field.name, c);
    this.anchors.clear();
    this.totals.clear();
    this.categoryCache.clear();
  }

  /** the filter as SQL in `q` (or '' for none) */
  private where(q: Sql, e: Expr | undefined): string {
    if (!e) return '';
    let c;
    try {
      c = toSQL(e, this.pg ? 'postgres' : 'clickhouse', this.sqlSchema(), this.sqlOptions());
    } catch (err) {
      if (err instanceof ExprError) throw new CdxError(err.code === 'E_UNKNOWN_COLUMN' ? 'E_UNKNOWN_COLUMN' : 'E_BAD_EXPR', `${this.what}: ${err.message}`, { file: this.what });
      throw err;
    }
    return q.filter(c.sql, c.params);
  }

  private whereClause(q: Sql, e: Expr | undefined, extra: string[] = []): string {
    const parts = [...extra];
    const w = this.where(q, e);
    if (w) parts.push(this.pg ? `(${w})` : `ifNull((${w}), 0)`);
    return parts.length ? ` WHERE ${parts.join(' AND ')}` : '';
  }

  private async run(q: Sql, sql: string, opts: QueryOptions) {
    if (!process.env.CDX_SQL_DEBUG) return this.conn.query(sql, q.params, opts);
    const t0 = performance.now();
    try {
      return await this.conn.query(sql, q.params, opts);
    } finally {
      console.error(`[sql ${(performance.now() - t0).toFixed(0)} ms] ${sql}`);
    }
  }

  /** non-NaN / finite predicates for a value expression of a column */
  private notNaN(c: SqlColumn, v = c.value): string | null {
    if (c.cls !== 'float' && c.cls !== 'decimal') return null;
    return this.pg ? `${v} <> 'NaN'::float8` : `NOT isNaN(${v})`;
  }
  private finite(c: SqlColumn, v = c.value): string | null {
    if (c.cls !== 'float' && c.cls !== 'decimal') return null;
    return this.pg ? `${v} NOT IN ('NaN'::float8, 'Infinity'::float8, '-Infinity'::float8)` : `isFinite(${v})`;
  }
  /** aggregate `fn(v)` restricted to rows where `cond` (null: all) */
  private agg(fn: string, v: string, cond: string | null): string {
    if (!cond) return `${fn}(${v})`;
    return this.pg ? `${fn}(${v}) FILTER (WHERE ${cond})` : `${fn}If(${v}, ${cond})`;
  }
  private countWhere(cond: string): string {
    return this.pg ? `count(*) FILTER (WHERE ${cond})` : `countIf(${cond})`;
  }

  /** count, NaN count, min, max, sum and mean of a numeric column (columnStats: the native regionStats' definitions) */
  async stats(name: string, opts: QueryOptions): Promise<{ count: number; nanCount: number; min: number; max: number; sum: number; mean: number }> {
    const c = this.numericColumn(name, 'statistics');
    const fv = this.fnum(c);
    const nn = this.notNaN(c, fv);
    const q = new Sql(this.pg);
    const r = (await this.run(q, `SELECT count(${fv}), ${nn ? this.countWhere(this.pg ? `${fv} = 'NaN'::float8` : `isNaN(${fv})`) : '0'}, ${this.agg('min', fv, nn)}, ${this.agg('max', fv, nn)}, ${this.agg('sum', fv, nn)} FROM ${this.from}`, opts)).rows[0]!;
    const count = Number(r[0]), nanCount = Number(r[1]);
    const valid = count - nanCount;
    const sum = valid ? floatCell(r[4]) : 0;
    return { count, nanCount, min: floatCell(r[2]), max: floatCell(r[3]), sum, mean: valid ? sum / valid : NaN };
  }

  // -------------------------------------------------------------------------------------------
  // summary

  async summary(names: string[] | undefined, where: Expr | undefined, o: { bins?: number; topk?: number; signal?: AbortSignal; onColumn?: (c: ColumnSummaryInfo, i: number, n: number) => void } = {}): Promise<{ rows: number; filteredRows?: number; columns: ColumnSummaryInfo[] }> {
    const cols = names?.length ? names.map((n) => this.column(n)) : this.columns;
    const bins = o.bins ?? 20, topk = o.topk ?? 10;
    const opts = { signal: o.signal };
    const pg = this.pg;
    // round 1: counts, extremes, moments of every column in one scan
    const build = (moments: boolean) => {
      const q1 = new Sql(pg);
      const sel: string[] = ['count(*)'];
      const at: number[] = [];
      for (const c of cols) {
        at.push(sel.length);
        const v = c.value;
        if (pg && c.cls === 'timestamp') {
          // aggregated as timestamps, the extremes turned into µs once (converting every row to
          // epoch µs costs PostgreSQL a numeric computation per value: several seconds on 10M rows);
          // the moments over date_part's double seconds
          const r = c.ident, ok = `isfinite(${r})`;
          const us = (e: string) => `(EXTRACT(EPOCH FROM ${e}) * 1000000)::int8`;
          const dv = `(date_part('epoch', ${r}) * 1000000)`;
          sel.push(
            `count(*) FILTER (WHERE ${ok})`, '0',
            us(`min(${r}) FILTER (WHERE ${ok})`), us(`max(${r}) FILTER (WHERE ${ok})`),
            `${us(`min(${r}) FILTER (WHERE ${ok})`)}::float8`, `${us(`max(${r}) FILTER (WHERE ${ok})`)}::float8`,
            !moments ? 'NULL' : `avg(${dv}) FILTER (WHERE ${ok})`, !moments ? 'NULL' : `stddev_samp(${dv}) FILTER (WHERE ${ok})`,
            `count(*) FILTER (WHERE ${ok})`, 'NULL',
          );
        } else if (isNumericCls(c.cls)) {
          const nn = this.notNaN(c), fin = this.finite(c);
          const fv = pg ? `${v}::float8` : `toFloat64(${v})`;
          sel.push(
            `count(${v})`,
            nn ? this.countWhere(pg ? `${v} = 'NaN'::float8` : `isNaN(${v})`) : '0',
            this.agg('min', v, nn), this.agg('max', v, nn),
            this.agg('min', fv, fin), this.agg('max', fv, fin),
            // (PostgreSQL's avg of integers is exact numeric; doubles as the kernels: finite values only)
            !moments ? 'NULL' : pg ? `${this.agg('avg', c.int64 || c.cls === 'int' ? v : fv, fin)}::float8` : this.agg('avg', fv, fin),
            !moments ? 'NULL' : pg ? this.agg('stddev_samp', fv, fin) : this.agg('stddevSamp', fv, fin),
            this.agg('count', v, fin),
            pg ? 'NULL' : (nn ? `uniqIf(${v}, ${nn})` : `uniq(${v})`),
          );
        } else {
          sel.push(
            `count(${v})`,
            pg ? `min(${v} COLLATE "C")` : `min(${v})`, pg ? `max(${v} COLLATE "C")` : `max(${v})`,
            pg ? `min(char_length(${v}))` : `min(lengthUTF8(${v}))`, pg ? `max(char_length(${v}))` : `max(lengthUTF8(${v}))`,
            pg ? 'NULL' : `uniq(${v})`,
          );
        }
      }
      return { q1, sel, at };
    };
    let moments = true;
    let b = build(true);
    let r1: (string | null)[];
    try {
      r1 = (await this.run(b.q1, `SELECT ${b.sel.join(', ')} FROM ${this.from}${this.whereClause(b.q1, where)}`, opts)).rows[0]!;
    } catch (e) {
      // PostgreSQL's float8 sums refuse to overflow (values near 1e300): the moments again, scaled, below
      if (!(pg && (e as { cause?: { code?: string } }).cause?.code === '22003')) throw e;
      moments = false;
      b = build(false);
      r1 = (await this.run(b.q1, `SELECT ${b.sel.join(', ')} FROM ${this.from}${this.whereClause(b.q1, where)}`, opts)).rows[0]!;
    }
    const at = b.at;
    const rows = Number(r1[0]);
    const states: ColState[] = [];
    for (let i = 0; i < cols.length; i++) {
      const c = cols[i]!, j = at[i]!;
      const count = Number(r1[j]);
      const info: ColumnSummaryInfo = { name: c.field.name, type: c.field.type, nullable: c.field.nullable, rows, count, nulls: rows - count };
      const lg = logicalOf(c);
      const state: ColState = { c, info, fmin: NaN, fmax: NaN, nonNaN: 0, finite: 0 };
      if (isNumericCls(c.cls)) {
        const nan = Number(r1[j + 1]);
        if (c.cls === 'float' || c.cls === 'decimal') info.nanCount = nan;
        state.nonNaN = count - nan;
        const mn = numText(c, r1[j + 2]), mx = numText(c, r1[j + 3]);
        if (c.cls === 'bool') {
          info.min = mn === null ? null : Number(mn) !== 0;
          info.max = mx === null ? null : Number(mx) !== 0;
        } else {
          info.min = displayValue(mn, lg as never);
          info.max = displayValue(mx, lg as never);
        }
        state.fmin = floatCell(r1[j + 4]);
        state.fmax = floatCell(r1[j + 5]);
        const mean = floatCell(r1[j + 6]);
        const std = floatCell(r1[j + 7]);
        state.finite = Number(r1[j + 8]);
        if (lg) {
          info.msPerUnit = MS_PER[lg.unit];
          if (!Number.isNaN(mean)) info.mean = displayValue(mean, lg as never) as string;
          if (state.finite > 1 && Number.isFinite(std)) info.std = std * MS_PER[lg.unit]!;
        } else if (c.cls !== 'bool') {
          if (!Number.isNaN(mean) && state.finite > 0) info.mean = mean;
          if (state.finite > 1 && Number.isFinite(std)) info.std = std;
        }
        if (!pg) state.uniq = Number(r1[j + 9]);
      } else {
        if (r1[j + 1] != null) info.min = r1[j + 1]!;
        if (r1[j + 2] != null) info.max = r1[j + 2]!;
        if (r1[j + 3] != null) info.minLength = Number(r1[j + 3]);
        if (r1[j + 4] != null) info.maxLength = Number(r1[j + 4]);
        state.nonNaN = count;
        if (!pg) state.uniq = Number(r1[j + 5]);
      }
      states.push(state);
    }
    const out = states.map((st) => st.info);
    await this.scaledMoments(states, where, moments, opts);
    // round 2: distinct counts, quantiles and histograms of all columns in a few scans, then top values
    // (the first numbers show at once; each column again when complete)
    out.forEach((info, i) => o.onColumn?.({ ...info }, i, 2 * cols.length));
    await this.distincts(states, where, rows, topk, opts);
    await this.quantilesOf(states.filter((st) => isNumericCls(st.c.cls) && st.c.cls !== 'bool' && st.nonNaN > 0), where, rows, opts);
    if (bins > 0) await this.histograms(states.filter((st) => isNumericCls(st.c.cls) && st.finite > 0), where, bins, opts);
    for (let i = 0; i < states.length; i++) {
      const st = states[i]!, info = st.info;
      const d = info.distinct ?? Infinity;
      const wantTop = st.c.cls === 'string' || ((st.c.cls === 'int' || st.c.cls === 'uint' || st.c.cls === 'bool' || st.c.cls === 'date' || st.c.cls === 'timestamp') && info.distinctExact && d <= LOW_CARD);
      if (topk > 0 && wantTop && st.nonNaN > 0 && !info.top) await this.top(st, where, topk, opts);
      else if (topk > 0 && wantTop && !info.top) info.top = [];
      else if (!wantTop) delete info.top;
      o.onColumn?.(info, cols.length + i, 2 * cols.length);
    }
    return { rows: where ? this.rows : rows, ...(where ? { filteredRows: rows } : {}), columns: out };
  }

  /**
   * Mean and std of columns holding huge values (|x| > 1e150: the sums of squares overflow a double;
   * PostgreSQL refuses, ClickHouse says inf) computed on the values scaled by a power of two (exact),
   * as the native kernels' merged moments never overflow.
   */
  private async scaledMoments(states: ColState[], where: Expr | undefined, moments: boolean, opts: QueryOptions): Promise<void> {
    const need = states.filter((st) => isNumericCls(st.c.cls) && st.c.cls !== 'bool' && st.finite > 0
      && (!moments || Math.max(Math.abs(st.fmin), Math.abs(st.fmax)) > 1e150));
    if (!need.length) return;
    const q = new Sql(this.pg);
    const sel: string[] = [];
    const scales = need.map((st) => 2 ** -Math.ceil(Math.log2(Math.max(Math.abs(st.fmin), Math.abs(st.fmax)))));
    need.forEach((st, i) => {
      const fin = this.finite(st.c);
      if (this.pg) {
        // PostgreSQL: exact numeric sums (a scaled double would raise underflow on tiny values)
        const nv = `(${this.fnum(st.c)})::numeric * ${f64(scales[i]!)}::numeric`;
        sel.push(`${this.agg('avg', nv, fin)}::float8`, `${this.agg('stddev_samp', nv, fin)}::float8`);
      } else {
        const fv = `(${this.fnum(st.c)} * ${f64(scales[i]!)})`;
        sel.push(this.agg('avg', fv, fin), this.agg('stddevSamp', fv, fin));
      }
    });
    const r = (await this.run(q, `SELECT ${sel.join(', ')} FROM ${this.from}${this.whereClause(q, where)}`, opts)).rows[0]!;
    need.forEach((st, i) => {
      const mean = floatCell(r[2 * i]) / scales[i]!;
      const std = floatCell(r[2 * i + 1]) / scales[i]!;
      const lg = logicalOf(st.c);
      const per = lg ? MS_PER[lg.unit]! : 1;
      if (!Number.isNaN(mean)) st.info.mean = lg ? (displayValue(mean, lg as never) as string) : mean;
      if (st.finite > 1 && Number.isFinite(std)) st.info.std = std * per;
      else delete st.info.std;
    });
  }

  /**
   * Distinct counts. ClickHouse: uniq, then uniqExact where uniq says at most ~65,536. PostgreSQL:
   * count(DISTINCT) of every column in one scan under a row budget; beyond it the planner's own
   * estimate (pg_stats, for a table) or one from a sample, and exact counts with the top values in
   * one GROUPING SETS scan for the columns estimated to hold few values.
   */
  private async distincts(states: ColState[], where: Expr | undefined, rows: number, topk: number, opts: QueryOptions): Promise<void> {
    const live = states.filter((st) => {
      if (st.nonNaN > 0) return true;
      st.info.distinct = 0;
      st.info.distinctExact = true;
      return false;
    });
    if (!live.length) return;
    if (!this.pg) {
      const exact = live.filter((st) => (st.uniq ?? Infinity) <= EXACT_DISTINCT * 1.1);
      if (exact.length) {
        const q = new Sql(false);
        const sel = exact.map((st) => {
          const nn = this.notNaN(st.c);
          return nn ? `uniqExactIf(${st.c.value}, ${nn})` : `uniqExact(${st.c.value})`;
        });
        const r = (await this.run(q, `SELECT ${sel.join(', ')} FROM ${this.from}${this.whereClause(q, where)}`, opts)).rows[0]!;
        exact.forEach((st, i) => {
          const d = Number(r[i]);
          st.info.distinct = d <= EXACT_DISTINCT ? d : Math.min(st.uniq!, st.nonNaN);
          st.info.distinctExact = d <= EXACT_DISTINCT;
        });
      }
      for (const st of live) {
        if (st.info.distinct !== undefined) continue;
        st.info.distinct = Math.min(st.uniq!, st.nonNaN);
        st.info.distinctExact = false;
      }
      for (const st of live) if (!st.info.distinctExact) st.info.distinctHow = "ClickHouse's uniq (an adaptive sample of hashes, about 1 % error)";
      return;
    }
    const budget = Number(process.env.CDX_PG_DISTINCT_ROWS) || PG_DISTINCT_ROW_BUDGET;
    if (rows <= budget) {
      const q = new Sql(true);
      const sel = live.map((st) => this.agg('count', `DISTINCT ${st.c.value}`, this.notNaN(st.c)));
      const r = (await this.run(q, `SELECT ${sel.join(', ')} FROM ${this.from}${this.whereClause(q, where)}`, opts)).rows[0]!;
      live.forEach((st, i) => {
        st.info.distinct = Number(r[i]);
        st.info.distinctExact = true;
      });
      return;
    }
    // estimates: the planner's statistics for a table (no filter), else a sample
    const est = new Map<ColState, { n: number; how: string }>();
    if (!where && this.location.table && this.relation.kind === 'table') {
      try {
        const q = new Sql(true);
        const r = await this.run(q, `SELECT s.attname, s.n_distinct FROM pg_stats s JOIN pg_class c ON c.relname = s.tablename JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = s.schemaname WHERE c.oid = to_regclass(${q.text(this.from)})`, opts);
        const byName = new Map(r.rows.map(([name, nd]) => [name!, Number(nd)]));
        for (const st of live) {
          const nd = byName.get(st.c.field.name);
          if (nd === undefined || !Number.isFinite(nd) || nd === 0) continue;
          est.set(st, { n: Math.min(st.nonNaN, Math.round(nd < 0 ? -nd * rows : nd)), how: "PostgreSQL's own estimate (pg_stats, from ANALYZE's sample)" });
        }
      } catch {
        /* no statistics readable: a sample below */
      }
    }
    for (const st of live) {
      if (est.has(st)) continue;
      // an estimate from a Bernoulli sample of ~1M rows (the GEE estimator: √(N/n)·f1 + Σ f_j≥2)
      const q = new Sql(true);
      const p = Math.min(1, 1_000_000 / rows);
      const nn = this.notNaN(st.c);
      const wc = this.whereClause(q, where, [`random() < ${f64(p)}`, `${st.c.value} IS NOT NULL`, ...(nn ? [nn] : [])]);
      const r = await this.run(q, `SELECT count(*) FILTER (WHERE __n = 1), count(*) FILTER (WHERE __n > 1), coalesce(sum(__n), 0) FROM (SELECT ${st.c.value} AS __v, count(*) AS __n FROM ${this.from}${wc} GROUP BY 1) s`, opts);
      const f1 = Number(r.rows[0]![0]), fm = Number(r.rows[0]![1]), n = Number(r.rows[0]![2]);
      const e = n > 0 ? Math.sqrt(st.nonNaN / n) * f1 + fm : 0;
      est.set(st, { n: Math.min(Math.round(e), st.nonNaN), how: `estimated from a sample of about ${Math.round(n).toLocaleString('en-US')} values (GEE)` });
    }
    // few values: counted exactly with their counts (the top values come with them), a parallel
    // GROUP BY per column (one GROUPING SETS scan over several columns ran slower: bench)
    const grouped = Number(process.env.CDX_PG_GROUPED_DISTINCT) || PG_GROUPED_DISTINCT;
    const few = live.filter((st) => est.get(st)!.n <= grouped);
    if (few.length) {
      const groups: [string, number][][] = [];
      for (const st of few) {
        const q = new Sql(true);
        const nn = this.notNaN(st.c);
        const wc = this.whereClause(q, where, [`${st.c.value} IS NOT NULL`, ...(nn ? [nn] : [])]);
        const r = await this.run(q, `SELECT ${st.c.value}::text, count(*) FROM ${this.from}${wc} GROUP BY ${st.c.value}`, opts);
        groups.push(r.rows.map((row) => [row[0]!, Number(row[1])]));
      }
      few.forEach((st, i) => {
        const g = groups[i]!;
        st.info.distinct = g.length;
        st.info.distinctExact = true;
        if (topk > 0) {
          const cmp = st.c.cls === 'string' ? (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b))
            : st.c.cls === 'float' || st.c.cls === 'decimal' ? (a: string, b: string) => parseFloatText(a) - parseFloatText(b)
              : (a: string, b: string) => { const x = BigInt(a), y = BigInt(b); return x < y ? -1 : x > y ? 1 : 0; };
          g.sort((a, b) => b[1] - a[1] || cmp(a[0], b[0]));
          const lg = logicalOf(st.c);
          st.info.top = g.slice(0, topk).map(([v, n]) => [
            st.c.cls === 'string' ? v : st.c.cls === 'bool' ? v === '1' || v === 't' || v === 'true' : displayValue(numText(st.c, v), lg as never), n,
          ] as [SummaryValue, number]);
        }
      });
    }
    for (const st of live) {
      if (st.info.distinctExact) continue;
      const e = est.get(st)!;
      st.info.distinct = e.n;
      st.info.distinctExact = false;
      st.info.distinctHow = `${e.how}; counted exactly on tables up to ${budget.toLocaleString('en-US')} rows and where few values are expected`;
    }
  }

  /** quantiles of every numeric column in one scan: exact (the k-th smallest, k = ceil(q·n)) up to 10M values, else from a sample */
  private async quantilesOf(states: ColState[], where: Expr | undefined, rows: number, opts: QueryOptions): Promise<void> {
    if (!states.length) return;
    const q = new Sql(this.pg);
    let vals: number[][];
    let exact = true;
    if (this.pg) {
      // percentile_disc: the first value whose position reaches q·n, i.e. the k-th smallest, k = ceil(q·n)
      exact = rows <= EXACT_QUANTILE_ROWS;
      const levels = `ARRAY[${QUANTILES.join(', ')}]::float8[]`;
      const one = (st: ColState) => {
        if (st.c.cls === 'timestamp') {
          // sorted as timestamps, the seven picked turned into µs
          const r = st.c.ident;
          return `(SELECT array_agg((EXTRACT(EPOCH FROM u) * 1000000)::int8 ORDER BY o) FROM unnest(percentile_disc(${levels}) WITHIN GROUP (ORDER BY ${r}) FILTER (WHERE isfinite(${r}))) WITH ORDINALITY AS p(u, o))`;
        }
        const nn = this.notNaN(st.c);
        return `percentile_disc(${levels}) WITHIN GROUP (ORDER BY ${st.c.value})${nn ? ` FILTER (WHERE ${nn})` : ''}`;
      };
      // an ordered-set aggregate sorts in one process: two columns at a time on their own connections
      vals = new Array<number[]>(states.length);
      let next = 0;
      const worker = async () => {
        for (let i = next++; i < states.length; i = next++) {
          const qi = new Sql(true);
          const wc = this.whereClause(qi, where, exact ? [] : [`random() < ${f64(EXACT_QUANTILE_ROWS / 10 / rows)}`]);
          vals[i] = pgArray((await this.run(qi, `SELECT ${one(states[i]!)} FROM ${this.from}${wc}`, opts)).rows[0]![0]);
        }
      };
      await Promise.all([worker(), worker()]);
    } else {
      const sel = states.map((st) => {
        const n = st.nonNaN;
        const ex = n <= EXACT_QUANTILE_ROWS;
        if (!ex) exact = false;
        // quantileExact(level) takes the element at floor(level·n): level (k − ½)/n picks the k-th smallest
        const levels = QUANTILES.map((p) => (ex ? (Math.max(1, Math.ceil(p * n)) - 0.5) / n : p));
        const fn = ex ? 'quantilesExact' : 'quantiles';
        const v = `toFloat64(${st.c.value})`;
        const nn = this.notNaN(st.c);
        return nn ? `${fn}If(${levels.map(f64).join(', ')})(${v}, ${nn})` : `${fn}(${levels.map(f64).join(', ')})(${v})`;
      });
      const r = (await this.run(q, `SELECT ${sel.join(', ')} FROM ${this.from}${this.whereClause(q, where)}`, opts)).rows[0]!;
      vals = states.map((_, i) => chArray(r[i]));
    }
    states.forEach((st, i) => {
      const v = vals[i]!;
      if (v.length !== QUANTILES.length) return;
      const lg = logicalOf(st.c);
      const m = (x: number) => (Number.isNaN(x) ? null : displayValue(x, lg as never));
      st.info.quantiles = Object.fromEntries(QNAMES.map((k, j) => [k, m(v[j]!)])) as ColumnSummaryInfo['quantiles'];
      st.info.quantilesExact = this.pg ? exact : st.nonNaN <= EXACT_QUANTILE_ROWS;
    });
  }

  /** bins over [lo, hi) as the kernels draw them: floor((x − lo)·scale), hi itself in the last bin */
  private binExpr(v: string, lo: number, hi: number, bins: number): string {
    const scale = bins / (hi - lo);
    return this.pg
      ? `least(greatest(floor((${v} - ${f64(lo)}) * ${f64(scale)}), 0), ${bins - 1})::int`
      : `least(greatest(toInt64(floor((${v} - ${f64(lo)}) * ${f64(scale)})), 0), ${bins - 1})`;
  }

  /** every numeric column's histogram over its finite range, in one scan */
  private async histograms(states: ColState[], where: Expr | undefined, bins: number, opts: QueryOptions): Promise<void> {
    if (!states.length) return;
    const q = new Sql(this.pg);
    const ranges = states.map((st) => {
      const lo = st.fmin;
      const hi = st.fmax > lo ? st.fmax : lo + 1;
      return [lo, hi] as const;
    });
    const binOf = (st: ColState, i: number) => {
      const fv = this.fnum(st.c);
      const fin = this.finite(st.c, fv);
      const b = this.binExpr(fv, ranges[i]![0], ranges[i]![1], bins);
      // (PostgreSQL's greatest() skips NULL: a null value must not land in bin 0)
      return `CASE WHEN ${fv} IS NOT NULL${fin ? ` AND ${fin}` : ''} THEN ${b} END`;
    };
    const counts = states.map(() => new Array<number>(bins).fill(0));
    if (this.pg) {
      // a parallel GROUP BY per column: faster than one GROUPING SETS scan over all of them (bench)
      for (let i = 0; i < states.length; i++) {
        const st = states[i]!;
        const qi = new Sql(true);
        const fv = this.fnum(st.c), fin = this.finite(st.c, fv);
        const wc = this.whereClause(qi, where, [`${fv} IS NOT NULL`, ...(fin ? [fin] : [])]);
        const r = await this.run(qi, `SELECT ${this.binExpr(fv, ranges[i]![0], ranges[i]![1], bins)}, count(*) FROM ${this.from}${wc} GROUP BY 1`, opts);
        for (const [b, n] of r.rows) counts[i]![Number(b)] = Number(n);
      }
    } else {
      // one scan: every column's bin in an array, unrolled by ARRAY JOIN, grouped by (column, bin)
      const r = await this.run(q, `SELECT __i, __b, count() FROM (SELECT [${states.map((st, i) => binOf(st, i)).join(', ')}] AS __bs FROM ${this.from}${this.whereClause(q, where)}) ARRAY JOIN __bs AS __b, arrayEnumerate(__bs) AS __i WHERE __b IS NOT NULL GROUP BY __i, __b`, opts);
      for (const [i, b, n] of r.rows) counts[Number(i) - 1]![Number(b)] = Number(n);
    }
    states.forEach((st, i) => {
      st.info.histogram = { lo: ranges[i]![0], hi: ranges[i]![1], counts: counts[i]! };
    });
  }

  private async top(st: ColState, where: Expr | undefined, k: number, opts: QueryOptions): Promise<void> {
    const { c, info } = st;
    const q = new Sql(this.pg);
    const wc = this.whereClause(q, where, [`${c.value} IS NOT NULL`]);
    const order = this.pg && c.cls === 'string' ? `(${c.value}) COLLATE "C"` : this.pg ? c.value : '__v';
    const r = await this.run(q, `SELECT ${c.value} AS __v, count(*) AS __n FROM ${this.from}${wc} GROUP BY ${this.pg ? 1 : '__v'} ORDER BY __n DESC, ${order} LIMIT ${k}`, opts);
    const lg = logicalOf(c);
    info.top = r.rows.map(([v, n]) => {
      let value: SummaryValue;
      if (c.cls === 'string') value = v!;
      else if (c.cls === 'bool') value = Number(v) !== 0;
      else value = displayValue(numText(c, v), lg as never);
      return [value, Number(n)] as [SummaryValue, number];
    });
  }

  // -------------------------------------------------------------------------------------------
  // rows

  /** the columns' cells as the Arrow builder reads them */
  private cellExprs(cols: SqlColumn[]): string[] {
    return cols.map((c) => {
      if (c.cls === 'bool' || c.cls === 'date' || c.cls === 'timestamp' || c.cls === 'decimal') return c.value;
      if (!this.pg && c.cls === 'string' && c.value !== c.ident) return c.value;
      return this.pg && c.value !== c.ident ? c.value : c.ident;
    });
  }

  /**
   * The order of the table's windows: the key (and, where it may repeat, every other column). A
   * query keeps its own order (its ORDER BY is the user's); a PostgreSQL table without a key is
   * read in its physical order (the session turns synchronized scans off, so each scan starts at
   * the first page). '' = no ORDER BY.
   */
  private orderBy(): string {
    const key = this.key;
    if (key.length && this.pg) return key.map((c) => c.ident).join(', ');
    if (this.relation.kind === 'query' || (this.pg && !key.length)) return '';
    // (computed columns are functions of the others: no part of the order)
    const rest = this.base.filter((c) => !key.includes(c));
    return [...key, ...rest].map((c) => (this.pg && c.cls === 'string' ? `${c.value} COLLATE "C"` : c.value)).join(', ') || '1';
  }

  /** the key's text for anchors, and its comparison `(k…) >= (v…)` */
  private keyText(c: SqlColumn): string {
    return this.pg ? `${c.ident}::text` : c.cls === 'string' ? c.ident : `toString(${c.ident})`;
  }

  private keyCompare(q: Sql, key: SqlColumn[], vals: (string | null)[], op: '>=' | '<'): string | null {
    if (vals.some((v) => v === null)) return null;
    if (this.pg) {
      return `(${key.map((c) => c.ident).join(', ')}) ${op} (${key.map((c, i) => q.text(vals[i]!, c.server)).join(', ')})`;
    }
    // ClickHouse: the key's own type from its text
    const lits = key.map((c, i) => `CAST(${quoteChString(vals[i]!)} AS ${c.server.replace(/^LowCardinality\((.*)\)$/, '$1')})`);
    return `(${key.map((c) => c.ident).join(', ')}) ${op} (${lits.join(', ')})`;
  }

  async total(where: Expr | undefined, whereText: string, opts: QueryOptions): Promise<number> {
    if (!where) return this.rows;
    const hit = this.totals.get(whereText);
    if (hit !== undefined) return hit;
    const q = new Sql(this.pg);
    const r = await this.run(q, `SELECT count(*) FROM ${this.from}${this.whereClause(q, where)}`, opts);
    const n = Number(r.rows[0]![0]);
    if (this.totals.size > 16) this.totals.clear();
    this.totals.set(whereText, n);
    return n;
  }

  /** rows [offset, offset + limit) of `names` (of the filtered view with `where`) as a record batch */
  async window(names: string[], offset: number, limit: number, where: Expr | undefined, whereText: string, opts: QueryOptions, sort?: readonly { name: string; desc: boolean }[]): Promise<{ offset: number; total: number; batch: RecordBatch }> {
    const cols = names.map((n) => this.column(n));
    if (sort?.length) return this.sortedWindow(cols, offset, limit, where, whereText, opts, sort);
    const total = await this.total(where, whereText, opts);
    const start = Math.min(offset, total);
    const n = Math.max(0, Math.min(limit, total - start));
    const fields = cols.map((c) => c.field);
    if (n === 0) return { offset: start, total, batch: batchFromCells(fields, []) };
    const key = this.key;
    const q = new Sql(this.pg);
    const extra: string[] = [];
    let skip = start;
    let anchor: Anchor | undefined;
    if (key.length) {
      const list = this.anchors.get(whereText) ?? [];
      for (const a of list) if (a.offset <= start && (!anchor || a.offset > anchor.offset)) anchor = a;
      if (anchor && anchor.offset > 0) {
        if (anchor.before === undefined) {
          // rows before the first row with this key (a sorting key may repeat)
          const qc = new Sql(this.pg);
          const cmp = this.keyCompare(qc, key, anchor.key, '<');
          if (cmp) {
            const r = await this.run(qc, `SELECT count(*) FROM ${this.from}${this.whereClause(qc, where, [cmp])}`, opts);
            anchor.before = Number(r.rows[0]![0]);
          }
        }
        const cmp = anchor.before !== undefined ? this.keyCompare(q, key, anchor.key, '>=') : null;
        if (cmp) {
          extra.push(cmp);
          skip = start - anchor.before!;
        }
      }
    }
    const keyCols = key.map((c) => this.keyText(c));
    const sel = [...this.cellExprs(cols), ...keyCols].map((e, i) => `${e} AS ${this.pg ? `"__c${i}"` : `\`__c${i}\``}`);
    const wc = this.whereClause(q, where, extra);
    const order = this.orderBy();
    const sql = `SELECT ${sel.join(', ')} FROM ${this.from}${wc}${order ? ` ORDER BY ${order}` : ''} LIMIT ${n}${skip ? ` OFFSET ${skip}` : ''}`;
    const r = await this.run(q, sql, opts);
    const cells = r.rows.map((row) => row.slice(0, cols.length));
    if (key.length && r.rows.length) {
      // anchors at this window's first row and just past it, for the next windows
      const list = this.anchors.get(whereText) ?? [];
      const add = (off: number, kv: (string | null)[]) => {
        if (list.some((a) => a.offset === off)) return;
        list.push({ offset: off, key: kv, ...(this.pg && this.relation.key.length ? { before: off } : {}) });
      };
      add(start, r.rows[0]!.slice(cols.length));
      add(start + r.rows.length - 1, r.rows[r.rows.length - 1]!.slice(cols.length));
      if (list.length > 256) list.splice(0, list.length - 256);
      this.anchors.set(whereText, list);
    }
    return { offset: start, total, batch: batchFromCells(fields, cells) };
  }

  /**
   * A window of the rows sorted by `sort` (the table's sort): `ORDER BY` with the native sort's
   * order — nulls last whatever the direction, NaN the greatest number (ClickHouse puts NaN after
   * the numbers in both directions, so a descending float is led by `isNaN(x) DESC`), text in byte
   * order (COLLATE "C" on PostgreSQL) — then the default order for ties; LIMIT/OFFSET (no anchors:
   * they follow the default order).
   */
  private async sortedWindow(cols: SqlColumn[], offset: number, limit: number, where: Expr | undefined, whereText: string, opts: QueryOptions, sort: readonly { name: string; desc: boolean }[]): Promise<{ offset: number; total: number; batch: RecordBatch }> {
    const keys = sort.map((k) => ({ c: this.column(k.name), desc: k.desc }));
    const total = await this.total(where, whereText, opts);
    const start = Math.min(offset, total);
    const n = Math.max(0, Math.min(limit, total - start));
    const fields = cols.map((c) => c.field);
    if (n === 0) return { offset: start, total, batch: batchFromCells(fields, []) };
    const q = new Sql(this.pg);
    const order: string[] = [];
    for (const { c, desc } of keys) {
      const x = this.pg && c.cls === 'string' ? `${c.value} COLLATE "C"` : c.value;
      if (!this.pg && desc && c.field.type.startsWith('float')) order.push(`isNaN(${c.value}) DESC`);
      order.push(`${x} ${desc ? 'DESC' : 'ASC'} NULLS LAST`);
    }
    const rest = this.orderBy();
    if (rest) order.push(rest);
    const sel = this.cellExprs(cols).map((e, i) => `${e} AS ${this.pg ? `"__c${i}"` : `\`__c${i}\``}`);
    const sql = `SELECT ${sel.join(', ')} FROM ${this.from}${this.whereClause(q, where)} ORDER BY ${order.join(', ')} LIMIT ${n}${start ? ` OFFSET ${start}` : ''}`;
    const r = await this.run(q, sql, opts);
    return { offset: start, total, batch: batchFromCells(fields, r.rows) };
  }

  /**
   * Group-by computed by the database: `SELECT keys, measures … GROUP BY keys ORDER BY … LIMIT`,
   * with the native kernel's definitions (main/engine/group.ts): NaN above every number (max is NaN
   * when one is present, min skips it), sample std/var, distinct non-null values, quantiles
   * interpolated (PostgreSQL percentile_cont; ClickHouse 18.16 has no interpolating exact quantile,
   * so the sorted group array is interpolated the same way); float keys with ±0 as one group;
   * nulls last, text in byte order. `groups` counts every group (a second query when limited).
   */
  async groupBy(spec: GroupSpec, where: Expr | undefined, opts: QueryOptions): Promise<{ batch: RecordBatch; groups: number; fields: Field[] }> {
    if (!spec.by.length || spec.by.length > 8) throw new CdxError('E_BAD_ARG', 'group by 1 to 8 columns (--by a,b)');
    const keys = spec.by.map((n) => this.column(n, 'group key'));
    const q = new Sql(this.pg);
    const id = (i: number) => (this.pg ? `"__g${i}"` : `\`__g${i}\``);
    const keyExprs = this.cellExprs(keys).map((e, i) => {
      const c = keys[i]!;
      // one group for -0 and 0 (a float's value plus 0 is +0)
      return c.cls === 'float' ? (this.pg ? `(${e} + 0)` : `(${e} + 0)`) : e;
    });
    const fields: Field[] = keys.map((c) => ({ ...c.field, nullable: true }));
    const sel: string[] = keyExprs.map((e, i) => `${e} AS ${id(i)}`);
    const raw: string[] = []; // each measure's aggregate, for ORDER BY
    spec.measures.forEach((m, j) => {
      const alias = id(keys.length + j);
      if (m.fn === 'rows') {
        fields.push(measureField(m, undefined));
        sel.push(`count(*) AS ${alias}`);
        raw.push('count(*)');
        return;
      }
      const c = this.column(m.column!, m.name);
      const text = c.cls === 'string';
      if (text && m.fn !== 'count' && m.fn !== 'distinct') throw new CdxError('E_BAD_TYPE', `${this.what}: ${m.name}: column "${c.field.name}" is text; only count and distinct apply to it`, { column: c.field.name });
      if ((c.cls === 'date' || c.cls === 'timestamp') && !['count', 'distinct', 'min', 'max'].includes(m.fn)) {
        throw new CdxError('E_BAD_TYPE', `${this.what}: ${m.name}: column "${c.field.name}" is ${c.field.type}; only count, distinct, min and max apply to it`, { column: c.field.name });
      }
      fields.push(measureField(m, c.field));
      const v = c.value;
      const isFloat = c.cls === 'float' || c.cls === 'decimal';
      const nan = this.pg ? `${v} = 'NaN'::float8` : `isNaN(${v})`;
      let e: string;
      switch (m.fn) {
        case 'count': e = `count(${v})`; break;
        case 'distinct': e = this.pg ? `count(DISTINCT ${isFloat ? `(${v} + 0)` : v})` : `ifNull(uniqExact(${isFloat ? `(${v} + 0)` : v}), 0)`; break;
        case 'sum': e = this.pg ? `sum(${v})` : `sum(${v})`; break;
        case 'mean': e = `avg(${v})`; break;
        case 'std': e = this.pg ? `stddev_samp(${v})` : `stddevSamp(${v})`; break;
        case 'var': e = this.pg ? `var_samp(${v})` : `varSamp(${v})`; break;
        case 'min':
          e = !isFloat || this.pg ? `min(${v})` : `if(count(${v}) = 0, NULL, if(countIf(NOT isNaN(${v})) = 0, nan, minIf(${v}, NOT isNaN(${v}))))`;
          break;
        case 'max':
          e = !isFloat || this.pg ? `max(${v})` : `if(count(${v}) = 0, NULL, if(countIf(${nan}) > 0, nan, maxIf(${v}, NOT isNaN(${v}))))`;
          break;
        case 'quantile': {
          const qq = Number(m.q ?? 0.5);
          if (this.pg) {
            e = `percentile_cont(${qq}) WITHIN GROUP (ORDER BY ${v})`;
          } else {
            // the sorted values of the group (NaN last), interpolated at q·(n − 1)
            const a = `arraySort(groupArray(toFloat64(${v})))`;
            const pos = `(${qq} * (length(${a}) - 1))`;
            e = `if(length(${a}) = 0, NULL, arrayElement(${a}, toUInt64(floor(${pos})) + 1) + if(${pos} > floor(${pos}), (arrayElement(${a}, toUInt64(floor(${pos})) + 2) - arrayElement(${a}, toUInt64(floor(${pos})) + 1)) * (${pos} - floor(${pos})), 0))`;
          }
          break;
        }
        default: throw new CdxError('E_BAD_ARG', `${this.what}: ${m.name}: not computed by the database`);
      }
      raw.push(e);
      // numbers as text the batch builder reads (64-bit integers exact, floats round-tripped)
      sel.push(`${this.pg ? `(${e})::text` : `toString(${e})`} AS ${alias}`);
    });
    const names = [...spec.by, ...spec.measures.map((m) => m.name)];
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup) throw new CdxError('E_BAD_ARG', `the result would have two columns named ${dup}; name a measure with "as"`);
    const order = (spec.sort ?? spec.by).map((t) => {
      const desc = t.startsWith('-');
      const name = t.replace(/^[-+]/, '');
      const i = names.indexOf(name);
      if (i < 0) throw new CdxError('E_UNKNOWN_COLUMN', `cannot sort by ${name}: the result's columns are ${names.join(', ')}`, { column: name });
      const f = fields[i]!;
      // the sort value: the key's own expression (text in byte order), or the measure's aggregate
      let x = i < keys.length ? keyExprs[i]! : raw[i - keys.length]!;
      if (i < keys.length && f.type === 'string' && this.pg) x = `${x} COLLATE "C"`;
      return `${x} ${desc ? 'DESC' : 'ASC'} NULLS LAST`;
    });
    const wc = this.whereClause(q, where);
    const group = keyExprs.map((_e, i) => (this.pg ? String(i + 1) : id(i))).join(', ');
    const limit = spec.limit !== undefined ? ` LIMIT ${Math.max(0, Math.floor(spec.limit))}` : '';
    const sql = `SELECT ${sel.join(', ')} FROM ${this.from}${wc} GROUP BY ${group}${order.length ? ` ORDER BY ${order.join(', ')}` : ''}${limit}`;
    const r = await this.run(q, sql, opts);
    let groups = r.rows.length;
    if (spec.limit !== undefined && groups >= spec.limit) {
      const qc = new Sql(this.pg);
      const c = await this.run(qc, `SELECT count(*) FROM (SELECT 1 FROM ${this.from}${this.whereClause(qc, where)} GROUP BY ${keyExprs.join(', ')}) AS g`, opts);
      groups = Number(c.rows[0]![0]);
    }
    const named = fields.map((f, i) => ({ ...f, name: names[i]! }));
    return { batch: batchFromCells(named, r.rows as (string | null)[][]), groups, fields: named };
  }

  /** every row of `names` (filtered), streamed in batches: exports */
  async *batches(names: string[], where: Expr | undefined, opts: QueryOptions & { batchRows?: number } = {}): AsyncIterable<RecordBatch> {
    const cols = names.map((n) => this.column(n));
    const q = new Sql(this.pg);
    const wc = this.whereClause(q, where);
    if (q.params.length) {
      // (the cursor path takes no parameters: a filtered export goes through windows)
      const total = await this.total(where, JSON.stringify(where), opts);
      const step = opts.batchRows ?? 65_536;
      for (let o = 0; o < total; o += step) yield (await this.window(names, o, step, where, JSON.stringify(where), opts)).batch;
      return;
    }
    for await (const r of this.conn.stream(`SELECT ${this.cellExprs(cols).join(', ')} FROM ${this.from}${wc}`, opts)) {
      yield batchFromCells(cols.map((c) => c.field), r.rows);
    }
  }

  // -------------------------------------------------------------------------------------------
  // plots

  async plotRanges(names: string[], opts: QueryOptions, noRange: string[] = []): Promise<PlotColumnInfo[]> {
    const out: PlotColumnInfo[] = [];
    const num = names.map((n) => this.column(n)).filter((c) => isNumericCls(c.cls) && c.cls !== 'bool' && !noRange.includes(c.field.name));
    let ext: (string | null)[] = [];
    if (num.length) {
      const q = new Sql(this.pg);
      const sel = num.flatMap((c) => {
        const fv = this.pg ? `${c.value}::float8` : `toFloat64(${c.value})`;
        // the range of the finite values (the local kernels' zone maps do the same), and of all
        // numbers for a column that holds only infinities
        const nn = this.notNaN(c, fv), fin = this.finite(c, fv);
        return [this.agg('min', fv, fin), this.agg('max', fv, fin), this.agg('min', fv, nn), this.agg('max', fv, nn)];
      });
      ext = (await this.run(q, `SELECT ${sel.join(', ')} FROM ${this.from}`, opts)).rows[0] ?? [];
    }
    for (const name of names) {
      const c = this.column(name);
      if (c.cls === 'string' || c.cls === 'bool') {
        const labels = await this.categories(c, opts);
        out.push({ name, kind: 'category', min: 0, max: Math.max(0, (labels?.length ?? 1) - 1), ...(labels ? { categories: labels } : {}) });
        continue;
      }
      const i = num.indexOf(c);
      const fmin = i < 0 ? NaN : floatCell(ext[4 * i]), fmax = i < 0 ? NaN : floatCell(ext[4 * i + 1]);
      const [min, max] = fmin <= fmax ? [fmin, fmax] : i < 0 ? [NaN, NaN] : [floatCell(ext[4 * i + 2]), floatCell(ext[4 * i + 3])];
      const info: PlotColumnInfo = { name, kind: c.cls === 'date' || c.cls === 'timestamp' ? 'time' : 'number', min: NaN, max: NaN };
      if (info.kind === 'time') info.msPerUnit = MS_PER[logicalOf(c)!.unit];
      if (min <= max) {
        info.min = Number.isFinite(min) ? min : -Number.MAX_VALUE;
        info.max = Number.isFinite(max) ? max : Number.MAX_VALUE;
      }
      out.push(info);
    }
    return out;
  }

  /** a string or bool column's values when few enough to blend (by count, then value), else null */
  private async categories(c: SqlColumn, opts: QueryOptions): Promise<string[] | null> {
    if (c.cls === 'bool') return ['false', 'true'];
    if (this.categoryCache.has(c.field.name)) return this.categoryCache.get(c.field.name)!;
    const q = new Sql(this.pg);
    const order = this.pg ? `(${c.value}) COLLATE "C"` : '__v';
    const r = await this.run(q, `SELECT ${c.value} AS __v, count(*) AS __n FROM ${this.from} WHERE ${c.value} IS NOT NULL GROUP BY ${this.pg ? 1 : '__v'} ORDER BY __n DESC, ${order} LIMIT ${MAX_CATEGORIES + 1}`, opts);
    const labels = r.rows.length > 0 && r.rows.length <= MAX_CATEGORIES ? r.rows.map((x) => x[0]!) : null;
    this.categoryCache.set(c.field.name, labels);
    return labels;
  }

  private fnum(c: SqlColumn): string {
    return c.fast ?? (this.pg ? `${c.value}::float8` : `toFloat64(${c.value})`);
  }

  async density(p: DensityParams, where: Expr | undefined, opts: QueryOptions): Promise<DensityResult> {
    const t0 = performance.now();
    const x = this.numericColumn(p.x, 'x'), y = this.numericColumn(p.y, 'y');
    const W = Math.trunc(p.width), H = Math.trunc(p.height);
    if (!(W >= 1 && W <= 4096 && H >= 1 && H <= 4096)) throw new CdxError('E_BAD_ARG', `grid ${p.width}x${p.height}: each side must be 1..4096`);
    if (!(p.x1 > p.x0) || !(p.y1 > p.y0)) throw new CdxError('E_BAD_ARG', `empty viewport [${p.x0}, ${p.x1}) x [${p.y0}, ${p.y1})`);
    const sx = W / (p.x1 - p.x0), sy = H / (p.y1 - p.y0);
    if (!Number.isFinite(sx) || !Number.isFinite(sy)) throw new CdxError('E_BAD_ARG', 'range too small');
    const xv = this.fnum(x), yv = this.fnum(y);
    const pg = this.pg;
    const isnan = (v: string) => (pg ? `${v} = 'NaN'::float8` : `isNaN(${v})`);
    const fl = (v: string, lo: number, s: number, n: number) => (pg
      ? `least(floor((${v} - ${f64(lo)}) * ${f64(s)})::int4, ${n - 1})`
      : `least(toInt64(floor((${v} - ${f64(lo)}) * ${f64(s)})), ${n - 1})`);
    const cell = `CASE WHEN ${xv} IS NULL OR ${yv} IS NULL OR ${isnan(xv)} OR ${isnan(yv)} THEN -2`
      + ` WHEN ${xv} >= ${f64(p.x0)} AND ${xv} < ${f64(p.x1)} AND ${yv} >= ${f64(p.y0)} AND ${yv} < ${f64(p.y1)}`
      + ` THEN ${fl(yv, p.y0, sy, H)} * ${W} + ${fl(xv, p.x0, sx, W)} ELSE -1 END`;
    let note: string | undefined;
    let cat: { c: SqlColumn; labels: string[] } | undefined;
    let mean: SqlColumn | undefined;
    if (p.color) {
      const c = this.column(p.color, 'colour');
      if (isNumericCls(c.cls) && c.cls !== 'bool') mean = c;
      else {
        const labels = await this.categories(c, opts);
        if (labels && labels.length * W * H <= 64 * 1024 * 1024) cat = { c, labels };
        else note = `"${p.color}" has more than ${MAX_CATEGORIES} values to blend: density shows counts`;
      }
    }
    const q = new Sql(pg);
    const n = W * H;
    const counts = new Uint32Array(n);
    // PostgreSQL estimates as many groups as rows (the cell is computed from x and y), and its hash
    // aggregate over ~10^6 cells runs 3x slower than a parallel sort (bench sql_pushdown): big grids sort
    const gopts: QueryOptions = pg && n > 65_536 ? { ...opts, settings: { enable_hashagg: 'off' } } : opts;
    let binned = 0, outside = 0, nan = 0, passed = 0;
    const wc = this.whereClause(q, where);
    let categoryCounts: Uint32Array | undefined, means: Float64Array | undefined;
    if (cat) {
      const cv = cat.c.value;
      const code = `CASE ${cat.labels.map((l, k) => `WHEN ${cv} = ${cat!.c.cls === 'bool' ? String(k) : q.text(l)} THEN ${k}`).join(' ')} ELSE -1 END`;
      const r = await this.run(q, `SELECT __cell, __k, count(*) FROM (SELECT ${cell} AS __cell, ${code} AS __k FROM ${this.from}${wc}) d GROUP BY __cell, __k`, gopts);
      categoryCounts = new Uint32Array(cat.labels.length * n);
      // rows without one of the values are not drawn: counted with the filtered-out ones (as locally)
      for (const [cs, ks, ns] of r.rows) {
        const ci = Number(cs), k = Number(ks), m = Number(ns);
        if (k < 0) continue;
        passed += m;
        if (ci === -2) nan += m;
        else if (ci === -1) outside += m;
        else {
          binned += m;
          categoryCounts[k * n + ci]! += m;
          counts[ci]! += m;
        }
      }
      note = `coloured by the ${cat.labels.length} values of "${p.color}" (rows without a value are not drawn)`;
    } else if (mean) {
      const mv = this.fnum(mean);
      const sqlOf = (numeric: boolean) => `SELECT __cell, count(*), ${pg
        ? (numeric
          // (numeric holds no infinity: a cell with +Inf has mean +Inf, with both signs NaN, as in doubles)
          ? `CASE WHEN count(*) FILTER (WHERE __mv = 'Infinity'::float8) > 0 AND count(*) FILTER (WHERE __mv = '-Infinity'::float8) > 0 THEN 'NaN'::float8`
            + ` WHEN count(*) FILTER (WHERE __mv = 'Infinity'::float8) > 0 THEN 'Infinity'::float8 WHEN count(*) FILTER (WHERE __mv = '-Infinity'::float8) > 0 THEN '-Infinity'::float8`
            + ` ELSE (avg(__mv::numeric) FILTER (WHERE __mv NOT IN ('NaN'::float8, 'Infinity'::float8, '-Infinity'::float8)))::float8 END`
          : `avg(__mv) FILTER (WHERE __mv <> 'NaN'::float8)`)
        : 'avgIf(__mv, NOT isNaN(__mv))'} FROM (SELECT ${cell} AS __cell, ${mv} AS __mv FROM ${this.from}${wc}) d GROUP BY __cell`;
      let r;
      try {
        r = await this.run(q, sqlOf(false), gopts);
      } catch (e) {
        // PostgreSQL's float8 sums refuse to overflow (values near 1e300): exact numeric sums instead
        if (!(pg && (e as { cause?: { code?: string } }).cause?.code === '22003')) throw e;
        r = await this.run(q, sqlOf(true), gopts);
      }
      means = new Float64Array(n).fill(NaN);
      for (const [cs, ns, ms] of r.rows) {
        const ci = Number(cs), m = Number(ns);
        passed += m;
        if (ci === -2) nan += m;
        else if (ci === -1) outside += m;
        else { binned += m; counts[ci] = m; means[ci] = floatCell(ms); }
      }
      note = `coloured by the mean of "${p.color}" per cell`;
    } else if (pg) {
      // only non-empty cells travel, packed: 4-byte cell and 4-byte count each, base64 (4/3 of the bytes)
      const wide = this.rows >= 2 ** 31;
      // (the cells grouped in a CTE of its own: planned apart from the packing aggregate, it gets parallel workers)
      const r = await this.run(q, `WITH g AS MATERIALIZED (SELECT __cell, count(*) AS __n FROM (SELECT ${cell} AS __cell FROM ${this.from}${wc}) d GROUP BY __cell) SELECT encode(string_agg(int4send(__cell) || ${wide ? 'int8send(__n)' : 'int4send(__n::int4)'}, ''::bytea), 'base64'), sum(__n) FILTER (WHERE __cell = -1), sum(__n) FILTER (WHERE __cell = -2) FROM g`, gopts);
      const [b64, out, nn] = r.rows[0]!;
      const buf = b64 ? Buffer.from(b64, 'base64') : Buffer.alloc(0);
      const step = wide ? 12 : 8;
      for (let o = 0; o + step <= buf.length; o += step) {
        const ci = buf.readInt32BE(o);
        const m = wide ? Number(buf.readBigInt64BE(o + 4)) : buf.readInt32BE(o + 4);
        passed += m;
        if (ci >= 0) { counts[ci] = m; binned += m; }
      }
      outside = Number(out ?? 0);
      nan = Number(nn ?? 0);
    } else {
      const r = await this.run(q, `SELECT __cell, count() FROM (SELECT ${cell} AS __cell FROM ${this.from}${wc}) GROUP BY __cell`, opts);
      for (const [cs, ns] of r.rows) {
        const ci = Number(cs), m = Number(ns);
        passed += m;
        if (ci === -2) nan += m;
        else if (ci === -1) outside += m;
        else { counts[ci] = m; binned += m; }
      }
    }
    const rows = this.rows;
    return {
      x0: p.x0, x1: p.x1, y0: p.y0, y1: p.y1, counts, width: W, height: H,
      ...(categoryCounts ? { categoryCounts, categories: cat!.labels } : {}),
      ...(means ? { means, meanOf: p.color } : {}),
      rows, binned, outside, nan, filtered: where || cat ? rows - passed : 0,
      ms: performance.now() - t0,
      ...(note ? { note } : {}),
    };
  }

  async points(p: PointsParams, where: Expr | undefined, opts: QueryOptions): Promise<PointsResult> {
    const t0 = performance.now();
    const x = this.numericColumn(p.x, 'x'), y = this.numericColumn(p.y, 'y');
    const vp = p.viewport;
    // the viewport on the plotted values (times as their epoch numbers), with the user's filter
    const q = new Sql(this.pg);
    const xv = this.fnum(x), yv = this.fnum(y);
    const box = [`${xv} >= ${f64(vp.x0)}`, `${xv} < ${f64(vp.x1)}`, `${yv} >= ${f64(vp.y0)}`, `${yv} < ${f64(vp.y1)}`];
    const wc = this.whereClause(q, where, box);
    let count = p.count;
    if (count === undefined) {
      const qc = new Sql(this.pg);
      const r = await this.run(qc, `SELECT count(*) FROM ${this.from}${this.whereClause(qc, where, box)}`, opts);
      count = Number(r.rows[0]![0]);
    }
    const empty = { x: new Float64Array(0), y: new Float64Array(0), ids: new Float64Array(0) };
    if (count > p.limit) return { count, sent: false, ...empty, ms: performance.now() - t0 };
    let cat: string[] | null = null, cc: SqlColumn | undefined;
    if (p.color) {
      cc = this.column(p.color, 'colour');
      if (cc.cls === 'string' || cc.cls === 'bool') cat = await this.categories(cc, opts);
      if ((cc.cls === 'string' || cc.cls === 'bool') && !cat) cc = undefined;
    }
    const sel = [xv, yv, ...(cc ? [cat ? cc.value : this.fnum(cc)] : [])];
    const r = await this.run(q, `SELECT ${sel.join(', ')} FROM ${this.from}${wc} LIMIT ${Math.min(count, p.limit)}`, opts);
    const m = r.rows.length;
    const xs = new Float64Array(m), ys = new Float64Array(m), ids = new Float64Array(m).fill(-1);
    const color = cc ? new Float64Array(m) : undefined;
    for (let i = 0; i < m; i++) {
      const row = r.rows[i]!;
      xs[i] = parseFloatText(row[0]!);
      ys[i] = parseFloatText(row[1]!);
      if (color) {
        const v = row[2];
        color[i] = v == null ? NaN : cat ? (cc!.cls === 'bool' ? Number(v) : cat.indexOf(v)) : parseFloatText(v);
      }
    }
    return { count, sent: true, x: xs, y: ys, ids, ...(color ? { color } : {}), ...(cat ? { categories: cat } : {}), ms: performance.now() - t0 };
  }

  async histogram(p: HistogramParams, where: Expr | undefined, opts: QueryOptions): Promise<HistogramResult> {
    const t0 = performance.now();
    const c = this.numericColumn(p.column, 'histogram');
    const bins = Math.trunc(p.bins);
    if (!(bins >= 1 && bins <= 1 << 20)) throw new CdxError('E_BAD_ARG', `bins ${p.bins}: must be 1..${1 << 20}`);
    if (!(p.hi > p.lo)) throw new CdxError('E_BAD_ARG', `empty range [${p.lo}, ${p.hi})`);
    const fv = this.fnum(c);
    const q = new Sql(this.pg);
    const scale = bins / (p.hi - p.lo);
    const b = this.pg ? `floor((${fv} - ${f64(p.lo)}) * ${f64(scale)})::int8` : `toInt64(floor((${fv} - ${f64(p.lo)}) * ${f64(scale)}))`;
    const wc = this.whereClause(q, where, [`${fv} >= ${f64(p.lo)}`, `${fv} < ${f64(p.hi)}`]);
    const r = await this.run(q, `SELECT least(${b}, ${bins - 1}) AS __b, count(*) FROM ${this.from}${wc} GROUP BY __b`, opts);
    const counts = new Float64Array(bins);
    let binned = 0;
    for (const [bs, ns] of r.rows) {
      counts[Number(bs)]! += Number(ns);
      binned += Number(ns);
    }
    return { counts, lo: p.lo, hi: p.hi, bins, rows: this.rows, binned, ms: performance.now() - t0 };
  }

  /**
   * Line data (EngineApi.line) as SQL: one GROUP BY of the pixel column (and the split value's
   * code) over the rows of [x0, x1) — so a table ordered by x (a ClickHouse sort key, a PostgreSQL
   * index) reads only the range — with per series count, first and last by x, and the smallest and
   * largest y: PostgreSQL compares arrays (`min(ARRAY[x, y])` is the first point, `min(ARRAY[y, x])`
   * the lowest), ClickHouse has argMin/argMax; each y column under its own "finite" condition
   * (FILTER / -If). Then the nearest point on each side of the range, per series, with ORDER BY x
   * LIMIT 1. Ties: a database keeps no row order, so equal x are ordered by y (PostgreSQL) or
   * left to the server (ClickHouse) where the local kernel takes the earlier row.
   */
  async line(p: LineParams, where: Expr | undefined, opts: QueryOptions): Promise<LineResult> {
    const t0 = performance.now();
    checkLineParams(p, this.what);
    const x = this.numericColumn(p.x, 'x');
    const ys = p.y.map((n) => this.numericColumn(n, 'y'));
    const W = p.width;
    const scale = W / (p.x1 - p.x0);
    if (!Number.isFinite(scale)) throw new CdxError('E_BAD_ARG', `${this.what}: x range too small`);
    const pg = this.pg;
    const xv = this.fnum(x);
    const finite = (v: string) => (pg ? `${v} NOT IN ('NaN'::float8, 'Infinity'::float8, '-Infinity'::float8)` : `isFinite(${v})`);
    let split: { c: SqlColumn; labels: string[] } | undefined;
    if (p.split) {
      const c = this.column(p.split, 'split');
      if (isNumericCls(c.cls) && c.cls !== 'bool') throw new CdxError('E_BAD_TYPE', `${this.what}: "${p.split}" is a number, not a category: a line splits by a category column of at most ${MAX_CATEGORIES} values`, { file: this.what, column: p.split });
      const labels = await this.categories(c, opts);
      if (!labels) throw new CdxError('E_TOO_LARGE', `${this.what}: "${p.split}" has more than ${MAX_CATEGORIES} values to split a line by`, { file: this.what, column: p.split });
      split = { c, labels };
    }
    const q = new Sql(pg);
    const code = split
      ? `CASE ${split.labels.map((l, k) => `WHEN ${split!.c.value} = ${split!.c.cls === 'bool' ? String(k) : q.text(l)} THEN ${k}`).join(' ')} ELSE -1 END`
      : '0';
    const px = pg ? `least(floor((${xv} - ${f64(p.x0)}) * ${f64(scale)})::int4, ${W - 1})` : `least(toInt64(floor((${xv} - ${f64(p.x0)}) * ${f64(scale)})), ${W - 1})`;
    const aggs: string[] = [];
    ys.forEach((y, i) => {
      const yv = this.fnum(y);
      const ok = `${yv} IS NOT NULL AND ${finite(yv)}`;
      if (pg) {
        const f = (agg: string) => `${agg} FILTER (WHERE ${ok})`;
        const a = f(`min(ARRAY[${xv}, ${yv}])`), b = f(`max(ARRAY[${xv}, ${yv}])`), lo = f(`min(ARRAY[${yv}, ${xv}])`), hi = f(`max(ARRAY[${yv}, -(${xv})])`);
        aggs.push(`${f('count(*)')} AS __n${i}`, `(${a})[1]`, `(${a})[2]`, `(${b})[1]`, `(${b})[2]`, `(${lo})[2]`, `(${lo})[1]`, `-(${hi})[2]`, `(${hi})[1]`);
      } else {
        aggs.push(`countIf(${ok}) AS __n${i}`, `minIf(${xv}, ${ok})`, `argMinIf(${yv}, ${xv}, ${ok})`, `maxIf(${xv}, ${ok})`, `argMaxIf(${yv}, ${xv}, ${ok})`,
          `argMinIf(${xv}, ${yv}, ${ok})`, `minIf(${yv}, ${ok})`, `argMaxIf(${xv}, ${yv}, ${ok})`, `maxIf(${yv}, ${ok})`);
      }
    });
    const xok = `${xv} IS NOT NULL AND ${finite(xv)}`;
    const inRange = [xok, `${xv} >= ${f64(p.x0)}`, `${xv} < ${f64(p.x1)}`];
    const wc = this.whereClause(q, where, inRange);
    const r = await this.run(q, `SELECT ${px} AS __px, ${code} AS __k, ${aggs.join(', ')} FROM ${this.from}${wc} GROUP BY __px, __k`, opts);
    const S = split ? split.labels.length : ys.length;
    const series: LineSeries[] = [];
    for (let s = 0; s < S; s++) {
      const arr = () => new Float64Array(W).fill(NaN);
      series.push({
        y: split ? p.y[0]! : p.y[s]!, ...(split ? { label: split.labels[s]! } : {}),
        count: new Float64Array(W), firstX: arr(), firstY: arr(), lastX: arr(), lastY: arr(), minX: arr(), minY: arr(), maxX: arr(), maxY: arr(),
        before: null, after: null,
      });
    }
    let used = 0;
    for (const row of r.rows) {
      const i = Number(row[0]), k = Number(row[1]);
      if (!(i >= 0 && i < W) || k < 0) continue;
      for (let yi = 0; yi < ys.length; yi++) {
        const o = 2 + yi * 9, n = Number(row[o]);
        if (!(n > 0)) continue;
        const t = series[split ? k : yi]!;
        t.count[i] = n;
        used += n;
        const v = (j: number) => parseFloatText(row[o + j]!);
        t.firstX[i] = v(1); t.firstY[i] = v(2); t.lastX[i] = v(3); t.lastY[i] = v(4);
        t.minX[i] = v(5); t.minY[i] = v(6); t.maxX[i] = v(7); t.maxY[i] = v(8);
      }
    }
    // the nearest point on each side, per series
    await Promise.all(series.flatMap((t, s) => (['before', 'after'] as const).map(async (side) => {
      const qq = new Sql(pg);
      const yv = this.fnum(ys[split ? 0 : s]!);
      const cond = [xok, `${yv} IS NOT NULL`, finite(yv), side === 'before' ? `${xv} < ${f64(p.x0)}` : `${xv} >= ${f64(p.x1)}`];
      if (split) cond.push(`${split.c.value} = ${split.c.cls === 'bool' ? String(s) : qq.text(split.labels[s]!)}`);
      const w = this.whereClause(qq, where, cond);
      const rr = await this.run(qq, `SELECT ${xv}, ${yv} FROM ${this.from}${w} ORDER BY ${xv} ${side === 'before' ? 'DESC' : 'ASC'} LIMIT 1`, opts);
      const row = rr.rows[0];
      if (row) t[side] = [parseFloatText(row[0]!), parseFloatText(row[1]!)];
    })));
    return { x0: p.x0, x1: p.x1, width: W, series, rows: this.rows, used, ms: performance.now() - t0 };
  }
}

interface ColState {
  c: SqlColumn;
  info: ColumnSummaryInfo;
  fmin: number;
  fmax: number;
  nonNaN: number;
  finite: number;
  uniq?: number;
}
