/**
 * A join pushed down to the database holding both sides (main/engine/join-request.ts): the SELECT
 * that a query dataset on the connection runs, giving the same rows as the native hash join
 * (main/engine/join.ts): the same columns and names, null keys never matching, NaN matching NaN,
 * -0 matching 0, an integer with a float compared as doubles.
 *
 * PostgreSQL: `SELECT … FROM (SELECT * FROM L WHERE …) AS l INNER|LEFT JOIN (…) AS r ON l.k = r.k`
 * (its float8 equality already holds NaN = NaN and -0 = 0). The filters' values are written into
 * the SQL as literals: a query dataset's text has no parameters.
 *
 * ClickHouse (18.16 and current): `ALL INNER|LEFT JOIN … USING (__k0, …)` over two subqueries that
 * rename every column apart (an old server hides a right column named like a left one) and give the
 * keys one type and one name: floats made canonical (`x + 0` turns -0 into 0, every NaN one NaN),
 * integers widened to Int64 (or both UInt64), a null key never matching (left: a null flag in the
 * key that the right never has; right: its null keys dropped). A LEFT JOIN's unmatched rows get
 * the column type's default there (join_use_nulls is not set per query on 18.16): a marker column
 * `__m` (1 on every right row, 0 where none matched) makes them nulls.
 */
import type { Expr } from '../../../shared/expr/ast';
import { toSQL, quoteIdent } from '../../../shared/expr/sql';
import { CdxError } from '../../../shared/errors';
import { ExprError } from '../../../shared/expr/errors';
import type { JoinColumn, JoinSpec } from '../join';
import type { SqlDataset } from './dataset';

/** A PostgreSQL literal for a bound value (standard_conforming_strings: only quotes doubled). */
function pgLiteral(v: unknown, type: string | undefined): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
  if (typeof v === 'bigint') return `${v.toString()}::numeric`;
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return `'NaN'::float8`;
    if (!Number.isFinite(v)) return `'${v > 0 ? '' : '-'}Infinity'::float8`;
    return type === 'BIGINT' && Number.isInteger(v) ? `${v}` : `${v}::float8`;
  }
  if (v instanceof Date) return `'${v.toISOString()}'`;
  if (Array.isArray(v)) return `ARRAY[${v.map((x) => pgLiteral(x, undefined)).join(', ')}]`;
  return `'${String(v).replace(/'/g, "''")}'`;
}

function whereSql(ds: SqlDataset, e: Expr | undefined): string {
  if (!e) return '';
  const m = /(\d+)\.(\d+)/.exec(ds.serverVersion);
  const dt64 = !ds.pg && !!m && (Number(m[1]) > 20 || (Number(m[1]) === 20 && Number(m[2]) >= 1));
  let c;
  try {
    c = toSQL(e, ds.pg ? 'postgres' : 'clickhouse', { fields: ds.columns.map((x) => ({ name: x.field.name, type: x.field.type })) }, ds.pg ? {} : { inline: true, dateTime64: dt64 });
  } catch (err) {
    if (err instanceof ExprError) throw new CdxError(err.code === 'E_UNKNOWN_COLUMN' ? 'E_UNKNOWN_COLUMN' : 'E_BAD_EXPR', `${ds.what}: ${err.message}`, { file: ds.what });
    throw err;
  }
  // the placeholders from the last: $12 before $1
  const sql = ds.pg ? c.sql.replace(/\$(\d+)(::[a-z0-9_ ]+)?/gi, (_, n: string, cast: string | undefined) => pgLiteral(c.params[Number(n) - 1], c.paramTypes[Number(n) - 1]) + (cast ?? '')) : c.sql;
  return ds.pg ? `(${sql})` : `ifNull((${sql}), 0)`;
}

function column(ds: SqlDataset, name: string) {
  const c = ds.byName.get(name);
  if (!c) throw new CdxError('E_UNKNOWN_COLUMN', `${ds.what}: no column "${name}"`, { file: ds.what, column: name });
  return c;
}

/** The SELECT joining `l` and `r` on the database, with the columns `cols` (join.ts joinColumns). */
export function joinQuery(l: SqlDataset, r: SqlDataset, spec: JoinSpec, cols: readonly JoinColumn[], lw?: Expr, rw?: Expr): string {
  const how = spec.how ?? 'inner';
  if (l.pg) {
    const q = (s: string) => quoteIdent(s, 'postgres');
    const sub = (ds: SqlDataset, w: Expr | undefined) => {
      const wc = whereSql(ds, w);
      return `(SELECT * FROM ${ds.from}${wc ? ` WHERE ${wc}` : ''}) AS ${ds === l ? '__l' : '__r'}`;
    };
    const sel = cols.map((c) => `${c.side === 'left' ? '__l' : '__r'}.${q(c.column)} AS ${q(c.name)}`);
    const on = spec.on.map(([a, b]) => `__l.${q(a)} = __r.${q(b)}`);
    return `SELECT ${sel.join(', ')} FROM ${sub(l, lw)} ${how === 'left' ? 'LEFT' : 'INNER'} JOIN ${sub(r, rw)} ON ${on.join(' AND ')}`;
  }
  const q = (s: string) => quoteIdent(s, 'clickhouse');
  const keyExpr = (ds: SqlDataset, name: string, other: SqlDataset, otherName: string) => {
    const c = column(ds, name), o = column(other, otherName);
    const ident = c.field.nullable ? `assumeNotNull(${c.ident})` : c.ident;
    const isF = (t: string) => t === 'float32' || t === 'float64';
    const isI = (t: string) => /^u?int\d+$/.test(t);
    if (isF(c.field.type) || (isI(c.field.type) && isF(o.field.type))) return `if(isNaN(toFloat64(${ident})), nan, toFloat64(${ident}) + 0)`;
    if (isI(c.field.type)) return c.field.type === 'uint64' && o.field.type === 'uint64' ? ident : `toInt64(${ident})`;
    return ident;
  };
  const lsel: string[] = [], rsel: string[] = [];
  const lwhere: string[] = [], rwhere: string[] = [];
  spec.on.forEach(([a, b], i) => {
    lsel.push(`${keyExpr(l, a, r, b)} AS __k${i}`);
    rsel.push(`${keyExpr(r, b, l, a)} AS __k${i}`);
    const lc = column(l, a), rc = column(r, b);
    if (lc.field.nullable) {
      lsel.push(`isNull(${lc.ident}) AS __n${i}`);
      rsel.push(`toUInt8(0) AS __n${i}`);
      if (how === 'inner') lwhere.push(`isNotNull(${lc.ident})`);
    }
    if (rc.field.nullable) rwhere.push(`isNotNull(${rc.ident})`);
  });
  const keys = spec.on.flatMap((_, i) => (column(l, spec.on[i]![0]).field.nullable ? [`__k${i}`, `__n${i}`] : [`__k${i}`]));
  const outer: string[] = [];
  cols.forEach((c, i) => {
    const src = column(c.side === 'left' ? l : r, c.column);
    if (c.side === 'left') {
      lsel.push(`${src.ident} AS __c${i}`);
      outer.push(`__c${i} AS ${q(c.name)}`);
    } else {
      rsel.push(`${src.ident} AS __c${i}`);
      outer.push(how === 'left' ? `if(__m = 1, toNullable(__c${i}), NULL) AS ${q(c.name)}` : `__c${i} AS ${q(c.name)}`);
    }
  });
  if (how === 'left') rsel.push('toUInt8(1) AS __m');
  const lwc = whereSql(l, lw), rwc = whereSql(r, rw);
  if (lwc) lwhere.push(lwc);
  if (rwc) rwhere.push(rwc);
  const sub = (ds: SqlDataset, sel: string[], where: string[]) => `(SELECT ${sel.join(', ')} FROM ${ds.from}${where.length ? ` WHERE ${where.join(' AND ')}` : ''})`;
  return `SELECT ${outer.join(', ')} FROM ${sub(l, lsel, lwhere)} ALL ${how === 'left' ? 'LEFT' : 'INNER'} JOIN ${sub(r, rsel, rwhere)} USING (${keys.join(', ')})`;
}
