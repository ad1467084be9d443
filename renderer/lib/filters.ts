/**
 * Filters that read like what the user meant. Ranges drawn on a plot or brushed on a histogram
 * become expressions in the column's own terms: integers as integers (`[ceil lo, ceil hi)`, which
 * selects exactly the integers the drawn range holds), floats rounded to the view's resolution (a
 * pixel: the bound moves by less than the user could point at), dates and timestamps as ISO
 * literals at that resolution (`pickup_at >= timestamp '2025-03-08 14:30' and pickup_at <
 * timestamp '…'`), written exactly from the stored value so that the text selects the rows it
 * says. A chip's display text (`describeFilter`) shortens what the canonical text spells out:
 * `pickup_at in [2025-03-08 14:30, 2025-04-01)`, `lasso on (x, y), 34 points`. Also the clause
 * helpers the column facets use (a column's own clauses left out, its chosen values).
 */
import type { ColumnRef, Expr, Literal } from '../../shared/expr/ast';
import { andAll, columnsOf } from '../../shared/expr/bind';
import { formatColumn, formatExpr, formatLiteral, formatNumber } from '../../shared/expr/format';
import { col } from '../../shared/expr/literal';
import type { Field } from '../../shared/datashape';
import { MS, formatTime, storedTimeText, timeStep } from '../../shared/timefmt';

/** what a range filter needs to know of its column */
export interface RangeColumn {
  name: string;
  /** the DataShape type (int32, float64, date, timestamp, …) */
  type: string;
  /** dates/timestamps: ms per stored unit (the engine's PlotColumnInfo.msPerUnit); else the type's default */
  msPerUnit?: number;
  /** timestamps: the stored unit (s, ms, us, ns) */
  unit?: string;
}

const INT_TYPES = new Set(['int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64']);
const MS_PER_UNIT: Record<string, number> = { s: 1000, ms: 1, us: 1e-3, ns: 1e-6 };

export const isIntegerType = (t: string) => INT_TYPES.has(t);
export const isTimeType = (t: string) => t === 'date' || t === 'timestamp';

/** ms per stored unit of a date/timestamp field (dates: days, Arrow's Date32, unless told otherwise) */
export function msPerUnitOf(c: Pick<RangeColumn, 'type' | 'msPerUnit' | 'unit'>): number {
  if (c.msPerUnit) return c.msPerUnit;
  return c.type === 'date' ? MS.day : MS_PER_UNIT[c.unit ?? 'ms'] ?? 1;
}

/** A column's range description from the schema (and the engine's msPerUnit where known). */
export function rangeColumn(fields: readonly Field[] | undefined, name: string, msPerUnit?: number): RangeColumn {
  const f = fields?.find((x) => x.name === name);
  return { name, type: f?.type ?? 'float64', unit: f?.unit, msPerUnit };
}

/** a decimal step at or below `res` and the digits it needs */
function decimalStep(res: number): { step: number; digits: number } {
  const e = Math.floor(Math.log10(res));
  return { step: 10 ** e, digits: Math.max(0, -e) };
}

/**
 * The half-open range [lo, hi) of column `c` (stored units) as an expression at `resolution`
 * (stored units per pixel, or whatever the user could point at). `closedHi`: hi is the last
 * value to include (a histogram's closed last bin), so the bound is put just above it.
 */
export function rangeFilter(c: RangeColumn, lo: number, hi: number, resolution: number, closedHi = false): Expr {
  const ref = col(c.name);
  if (isIntegerType(c.type)) {
    // [lo, hi) holds exactly the integers in [ceil lo, ceil hi)
    return { kind: 'range', col: ref, lo: Math.ceil(lo), hi: closedHi ? Math.floor(hi) + 1 : Math.ceil(hi) };
  }
  if (isTimeType(c.type)) return timeRange(c, lo, hi, resolution, closedHi);
  if (resolution > 0 && Number.isFinite(resolution)) {
    const { step, digits } = decimalStep(resolution);
    const r = (x: number) => (step >= 1 ? x : Number(x.toFixed(digits)));
    const a = r(Math.round(lo / step) * step);
    let b = r(Math.round(hi / step) * step);
    // closed: the bound must lie above hi (hi itself is included)
    if (closedHi) while (b <= hi) b = r(b + step);
    if (a < b && Number.isFinite(a) && Number.isFinite(b)) return { kind: 'range', col: ref, lo: a, hi: b };
  }
  // no usable resolution: 12 significant digits, still far finer than anything drawn
  const p = (x: number) => Number(x.toPrecision(12));
  const b = closedHi ? hi + Math.max(Math.abs(hi) * 1e-9, 1e-300) : hi;
  return { kind: 'range', col: ref, lo: p(lo), hi: p(b) > p(lo) ? p(b) : b };
}

function timeRange(c: RangeColumn, lo: number, hi: number, resolution: number, closedHi: boolean): Expr {
  const msPer = msPerUnitOf(c);
  let stepMs = timeStep(resolution * msPer);
  if (c.type === 'date') stepMs = Math.max(stepMs, MS.day);
  // in stored units, at least one (the finest a stored value can differ by)
  const step = Math.max(1, Math.round(stepMs / msPer));
  const a = Math.round(lo / step) * step;
  const b = (closedHi ? Math.floor(hi / step) + 1 : Math.round(hi / step)) * step;
  // ISO with a T, as the parser keeps a timestamp literal (so the text parses back to this very expression)
  // (a timestamp at midnight keeps its time, so that it reads as a timestamp, not a date)
  const text = (v: number) => {
    if (c.type === 'date') return formatTime(v * msPer, MS.day);
    const t = storedTimeText(v, Math.round(1000 / msPer));
    return t.includes(' ') ? t.replace(' ', 'T') : `${t}T00:00`;
  };
  const ref = col(c.name);
  return {
    kind: 'and',
    args: [
      { kind: 'cmp', op: '>=', left: ref, right: { kind: 'lit', date: text(a) } },
      { kind: 'cmp', op: '<', left: ref, right: { kind: 'lit', date: text(b) } },
    ],
  };
}

/** A box on a plot: both ranges at the view's resolution (stored units per pixel on each axis). */
export function boxFilter(x: RangeColumn, [x0, x1]: [number, number], resX: number, y: RangeColumn, [y0, y1]: [number, number], resY: number): Expr {
  return andAll([rangeFilter(x, Math.min(x0, x1), Math.max(x0, x1), resX), rangeFilter(y, Math.min(y0, y1), Math.max(y0, y1), resY)]);
}

// ───────────────────────────── display text ─────────────────────────────

/** a column name for reading: bare when it is a plain word (even a keyword like `date`), else in backquotes */
const nm = (c: ColumnRef) => (/^[\p{L}_][\p{L}\p{N}_$]*$/u.test(c.name) ? c.name : formatColumn(c));

const timeLit = (l: Literal) => ('date' in l ? l.date.replace('T', ' ').replace(/Z$/, '') : formatLiteral(l));

function prec(e: Expr): number {
  if (e.kind === 'or' || e.kind === 'and') return e.args.length < 2 ? (e.args[0] ? prec(e.args[0]) : 4) : e.kind === 'or' ? 1 : 2;
  return e.kind === 'not' ? 3 : 4;
}

/**
 * A chip's text: the expression as the user reads it. Dates and timestamps without their
 * `timestamp '…'` wrapping, a pair `c >= a and c < b` as `c in [a, b)`, a range on a time column
 * in ISO text, a lasso as `lasso on (x, y), N points`. Not meant to be parsed: the chip keeps the
 * expression (and its canonical text) for that.
 */
export function describeFilter(e: Expr, fields: readonly Field[] = []): string {
  const typeOf = (name: string) => fields.find((f) => f.name === name);
  // a date typed as text against a time column ('2025-03-10') is a date too: shown bare, as a date literal is
  const textOnTime = (name: string, l: Literal) => 'value' in l && typeof l.value === 'string' && isTimeType(typeOf(name)?.type ?? '');
  const isTimeLit = (name: string, l: Literal) => 'date' in l || textOnTime(name, l);
  const tl = (name: string, l: Literal) => (textOnTime(name, l) ? (l as { value: string }).value : timeLit(l));
  const wrap = (x: Expr, min: number) => (prec(x) < min ? `(${node(x)})` : node(x));
  const node = (x: Expr): string => {
    switch (x.kind) {
      case 'and':
      case 'or': {
        if (x.args.length === 0) return x.kind === 'and' ? 'true' : 'false';
        if (x.args.length === 1) return node(x.args[0]!);
        const min = x.kind === 'or' ? 2 : 3;
        const parts: string[] = [];
        for (let i = 0; i < x.args.length; i++) {
          const a = x.args[i]!, b = x.args[i + 1];
          // c >= lo and c < hi (as a range on a time column is written) reads as c in [lo, hi)
          if (x.kind === 'and' && b && a.kind === 'cmp' && b.kind === 'cmp' && a.op === '>=' && b.op === '<' && a.left.name === b.left.name) {
            parts.push(`${nm(a.left)} in [${tl(a.left.name, a.right)}, ${tl(b.left.name, b.right)})`);
            i++;
          } else parts.push(wrap(a, min));
        }
        return parts.join(x.kind === 'or' ? ' or ' : ' and ');
      }
      case 'not':
        return 'not ' + wrap(x.arg, 3);
      case 'cmp':
        return isTimeLit(x.left.name, x.right) ? `${nm(x.left)} ${x.op} ${tl(x.left.name, x.right)}` : formatExpr(x);
      case 'between':
        return isTimeLit(x.col.name, x.lo) || isTimeLit(x.col.name, x.hi)
          ? `${nm(x.col)} ${x.negated ? 'not between' : 'between'} ${tl(x.col.name, x.lo)} and ${tl(x.col.name, x.hi)}`
          : formatExpr(x);
      case 'in':
        return x.values.some((v) => isTimeLit(x.col.name, v)) ? `${nm(x.col)} ${x.negated ? 'not in' : 'in'} (${x.values.map((v) => tl(x.col.name, v)).join(', ')})` : formatExpr(x);
      case 'range': {
        const f = typeOf(x.col.name);
        if (f && isTimeType(f.type)) {
          const k = msPerUnitOf(f);
          return `${nm(x.col)} in [${formatTime(x.lo * k)}, ${formatTime(x.hi * k)})`;
        }
        return `${nm(x.col)} in [${formatNumber(x.lo)}, ${formatNumber(x.hi)})`;
      }
      case 'inpolygon':
        return `lasso on (${nm(x.x)}, ${nm(x.y)}), ${x.polygon.length} points`;
      default:
        return formatExpr(x);
    }
  };
  return node(e);
}

// ───────────────────────────── clauses (facets) ─────────────────────────────

/** the top-level clauses of a conjunction */
export function clausesOf(e: Expr): Expr[] {
  return e.kind === 'and' ? e.args.flatMap(clausesOf) : [e];
}

/** whether every column the clause reads is `name` (the column's own filter) */
export function onlyOn(e: Expr, name: string): boolean {
  const cs = columnsOf(e);
  return cs.length > 0 && cs.every((c) => c === name);
}

/** The conjunction of `exprs` with the clauses on column `name` alone left out (null: nothing left). */
export function withoutColumn(exprs: readonly Expr[], name: string): Expr | null {
  const keep = exprs.flatMap(clausesOf).filter((c) => !onlyOn(c, name));
  return keep.length ? andAll(keep) : null;
}

/** the values a clause picks for column `name` (`c = v`, `c in (…)`), or null when it is not such a clause */
export function pickedValues(e: Expr, name: string): Literal[] | null {
  if (e.kind === 'cmp' && e.op === '=' && e.left.name === name) return [e.right];
  if (e.kind === 'in' && !e.negated && e.col.name === name) return e.values;
  return null;
}

/** `c = v` for one value, `c in (v1, v2, …)` for more; null for none */
export function pickExpr(name: string, values: readonly Literal[]): Expr | null {
  if (!values.length) return null;
  return values.length === 1 ? { kind: 'cmp', op: '=', left: col(name), right: values[0]! } : { kind: 'in', col: col(name), values: [...values] };
}

/** literal equality by canonical text */
export const sameLiteral = (a: Literal, b: Literal) => formatLiteral(a) === formatLiteral(b);

