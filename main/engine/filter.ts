/**
 * The engine's filter compiler: an expression (shared/expr/ast.ts) over a dataset's columns
 * becomes one native filter program (native/binding.ts FilterOp, postfix over three-valued
 * results), sealed in an opaque `CompiledFilter` that only the kernels can read. Callers combine
 * filters as expressions — the user's `where`, a plot's viewport, a colour value, a lasso
 * polygon (an `inpolygon` expression) — with `andAll` and compile the combination once per
 * request; nobody splices compiled programs or knows an op's layout.
 *
 * Literals are converted for the column they meet: integers stay exact (decimal text), dates and
 * timestamps become the column's storage unit, a string against a date/timestamp column is the
 * ISO date or timestamp it spells (E_BAD_EXPR when it spells none), and a literal of another kind
 * (a string against a number, a bool against a non-bool) compares as unknown, as in the reference
 * evaluator (shared/expr/bind.ts evalExpr3).
 *
 * String predicates (contains, like, regular expressions: shared/expr/strmatch.ts) become one
 * `str` op: LIKE patterns that are plain substring tests run on the UTF-8 bytes, the rest on code
 * points with the patterns compiled here (LIKE tokens, a regular expression's NFA), so the kernel
 * parses no pattern itself. A string predicate on a column that is not a string is unknown.
 */
import { NativeFilter, type ColumnDesc } from '../../native/index';
import type { FilterLiteral, FilterOp } from '../../native/binding';
import type { ColumnRef, CompareOp, Expr, Literal, Value } from '../../shared/expr/ast';
import { andAll, closestName, columnsOf, evalExpr3 } from '../../shared/expr/bind';
import { formatValue } from '../../shared/expr/format';
import { computedColumn } from './expr-native';
import { formatColumn } from '../../shared/expr/format';
import { parseTime } from '../../shared/expr/literal';
import { compileRegex, likeShape, likeTokens, lowerTable, tablePairs } from '../../shared/expr/strmatch';
import { parseExpr } from '../../shared/expr/parse';
import { polygonEdges } from '../../shared/expr/polygon';
import { CdxError } from '../../shared/errors';

/** A filter compiled for the native kernels: opaque (nothing to read, nothing to splice). */
export type CompiledFilter = NativeFilter;

/** Resolves a column name used in an expression. */
export type ColumnResolver = Record<string, ColumnDesc> | ((name: string) => ColumnDesc | undefined);

export { andAll };

/** The half-open range lo <= column < hi (the binning convention: a viewport, a brushed range). */
export function inRange(column: string, lo: number, hi: number): Expr {
  return { kind: 'range', col: { kind: 'col', name: column }, lo, hi };
}

/** column = value */
export function equals(column: string, value: string | boolean | number): Expr {
  return { kind: 'cmp', op: '=', left: { kind: 'col', name: column }, right: { kind: 'lit', value } as Literal };
}

/** The expression of a `where` text; undefined when it is blank. Throws E_SYNTAX with the position. */
export function whereExpr(where: string | undefined): Expr | undefined {
  return where?.trim() ? parseExpr(where) : undefined;
}

/** What the compiler needs of an opened dataset (main/engine/datasets.ts OpenedDataset). */
export interface FilterDataset {
  location: string;
  columns: Map<string, ColumnDesc>;
  /** columns the kernels cannot read, with the reason */
  unsupported: Map<string, string>;
}

/** A resolver over a dataset's columns whose errors name the dataset, its columns, or why one is unreadable. */
export function datasetColumns(ds: FilterDataset): (name: string) => ColumnDesc {
  return (name) => {
    const c = ds.columns.get(name);
    if (c) return c;
    if (ds.unsupported.has(name)) {
      throw new CdxError('E_UNKNOWN_COLUMN', `column "${name}" cannot be filtered on: ${ds.unsupported.get(name)}`, { file: ds.location, column: name });
    }
    const near = closestName(name, ds.columns.keys());
    const typed = near === undefined ? '' : formatColumn(near);
    const hint = near !== undefined ? ` — did you mean ${typed.startsWith('`') ? typed : `'${near}'`}?` : ` (columns: ${[...ds.columns.keys()].join(', ')})`;
    throw new CdxError('E_UNKNOWN_COLUMN', `${ds.location}: no column "${name}"${hint}`, { file: ds.location, column: name });
  };
}

/** `expr` compiled over the dataset's columns (undefined: no filter). */
export function compileFor(ds: FilterDataset, expr: Expr | undefined): CompiledFilter | undefined {
  return expr ? compileFilter(expr, datasetColumns(ds)) : undefined;
}

// ---------------------------------------------------------------------------------------------
// The compiler

const NS_PER_UNIT: Record<string, bigint> = { s: 1_000_000_000n, ms: 1_000_000n, us: 1_000n, ns: 1n, day: 86_400_000_000_000n };

const isString = (c: ColumnDesc) => c.kind === 'utf8' || c.kind === 'large_utf8' || c.kind === 'dict';
const isBool = (c: ColumnDesc) => c.kind === 'bool' || c.logical?.type === 'bool8';
const isTemporal = (c: ColumnDesc) => c.logical?.type === 'date' || c.logical?.type === 'timestamp';

let lowerPairs: Uint32Array | null = null;

/** The native op of a string predicate on column index `i` (before its negation). */
function stringOp(e: Extract<Expr, { kind: 'match' }>, i: number): FilterOp {
  switch (e.op) {
    case 'contains': return { op: 'str', col: i, fn: 'contains', s: e.pattern };
    case 'starts_with': return { op: 'str', col: i, fn: 'prefix', s: e.pattern };
    case 'ends_with': return { op: 'str', col: i, fn: 'suffix', s: e.pattern };
    case 'like': {
      const tokens = likeTokens(e.pattern, e.icase);
      const fold = e.icase ? { fold: (lowerPairs ??= tablePairs(lowerTable())) } : {};
      const shape = likeShape(tokens);
      if (shape && !e.icase) return { op: 'str', col: i, fn: shape.fn, s: String.fromCodePoint(...shape.cps) };
      if (shape) return { op: 'str', col: i, fn: shape.fn, pat: Int32Array.from(shape.cps), ...fold };
      return { op: 'str', col: i, fn: 'like', pat: Int32Array.from(tokens), ...fold };
    }
    case 'regex': {
      const p = compileRegex(e.pattern, e.icase);
      return { op: 'str', col: i, fn: 'regex', prog: p.prog, ranges: p.ranges, anchored: p.anchored, ...(p.fold ? { fold: p.fold } : {}) };
    }
  }
}

/** A date/timestamp literal in the column's storage unit (epoch ms for non-temporal columns). */
function dateLiteral(text: string, c: ColumnDesc): FilterLiteral | null {
  const t = parseTime(text);
  if (!t) return null;
  const lg = c.logical;
  const unit = lg && lg.type !== 'bool8' ? lg.unit : 'ms';
  const ns = BigInt(t.seconds) * 1_000_000_000n + BigInt((t.fraction || '0').padEnd(9, '0').slice(0, 9));
  const per = NS_PER_UNIT[unit]!;
  if (ns % per === 0n) return { t: 'int', v: (ns / per).toString() };
  return { t: 'num', v: Number(ns) / Number(per) };
}

/**
 * A literal converted for column `c`, or null when the two kinds do not compare (string vs
 * number, bool vs non-bool): that comparison is unknown, as in the reference evaluator.
 */
function literalFor(l: Literal, c: ColumnDesc): FilterLiteral | null {
  if ('int' in l) {
    if (!/^-?\d+$/.test(l.int)) throw new CdxError('E_BAD_ARG', `bad integer literal "${l.int}"`, { column: c.name });
    return isString(c) || isBool(c) ? null : { t: 'int', v: l.int };
  }
  if ('date' in l) return isString(c) || isBool(c) ? null : dateLiteral(l.date, c);
  const v = l.value;
  if (v === null) return { t: 'null' };
  if (typeof v === 'string') {
    if (isString(c)) return { t: 'str', v };
    if (!isTemporal(c)) return null;
    const t = dateLiteral(v, c);
    if (!t) {
      const type = c.logical?.type === 'date' ? 'date' : 'timestamp';
      throw new CdxError('E_BAD_EXPR', `'${v}' is not a date or time, so it cannot be compared with the ${type} column "${c.name}": write 'YYYY-MM-DD' or 'YYYY-MM-DD HH:MM[:SS]'`, { column: c.name });
    }
    return t;
  }
  if (typeof v === 'boolean') return isBool(c) ? { t: 'num', v: v ? 1 : 0 } : null;
  return isString(c) || isBool(c) ? null : { t: 'num', v };
}

/**
 * Compiles an expression into a native filter program over the columns it names. An unknown
 * column throws E_UNKNOWN_COLUMN (or whatever a resolver function throws).
 */
export function compileFilter(expr: Expr, columns: ColumnResolver): CompiledFilter {
  const resolve = typeof columns === 'function' ? columns : (n: string) => columns[n];
  const cols: ColumnDesc[] = [];
  const index = new Map<string, number>();
  const col = (name: string, expr?: Value): [number, ColumnDesc] => {
    const key = expr ? '\u0000' + formatValue(expr) : name;
    let i = index.get(key);
    if (i === undefined) {
      // an inline computed value (`lower(s) like 'a%'`, `a + b > 10`): a computed column the kernels evaluate
      const c = expr ? computedColumn(name, expr, (n) => {
        const d = resolve(n);
        if (!d) throw new CdxError('E_UNKNOWN_COLUMN', `unknown column "${n}"`, { column: n });
        return d;
      }) : resolve(name);
      if (!c) throw new CdxError('E_UNKNOWN_COLUMN', `unknown column "${name}"`, { column: name });
      i = cols.length;
      cols.push(c);
      index.set(key, i);
    }
    return [i, cols[i]!];
  };
  const prog: FilterOp[] = [];
  const cmp = (i: number, op: CompareOp, lit: FilterLiteral | null) =>
    prog.push(lit ? { op: 'cmp', col: i, cmp: op, lit } : { op: 'const', v: 1 });
  const ref = (c: ColumnRef) => col(c.name, c.expr);
  const emit = (e: Expr): void => {
    if (e.kind !== 'and' && e.kind !== 'or' && e.kind !== 'not' && columnsOf(e).length === 0) {
      // no column at all (`1 + 1 = 2`): the predicate's value, once
      const t = evalExpr3(e, {});
      prog.push({ op: 'const', v: t === true ? 2 : t === false ? 0 : 1 });
      return;
    }
    switch (e.kind) {
      case 'test': {
        const [i] = e.arg.kind === 'col' ? ref(e.arg) : col(formatValue(e.arg), e.arg);
        prog.push({ op: 'cmp', col: i, cmp: '=', lit: { t: 'num', v: 1 } });
        return;
      }
      case 'cmp': {
        const [i, c] = ref(e.left);
        cmp(i, e.op, literalFor(e.right, c));
        return;
      }
      case 'and':
      case 'or':
        if (e.args.length === 0) { prog.push({ op: 'const', v: e.kind === 'and' ? 2 : 0 }); return; }
        e.args.forEach(emit);
        if (e.args.length > 1) prog.push({ op: e.kind, n: e.args.length });
        return;
      case 'not':
        emit(e.arg);
        prog.push({ op: 'not' });
        return;
      case 'in': {
        const [i, c] = ref(e.col);
        if (e.values.length === 0) {
          prog.push({ op: 'const', v: e.negated ? 2 : 0 }); // x in () is false, even for null x
          return;
        }
        // a literal of another kind compares as unknown, like a null in the list
        prog.push({ op: 'in', col: i, lits: e.values.map((v) => literalFor(v, c) ?? { t: 'null' }) });
        if (e.negated) prog.push({ op: 'not' });
        return;
      }
      case 'isnull': {
        const [i] = ref(e.col);
        prog.push({ op: 'isnull', col: i });
        if (e.negated) prog.push({ op: 'not' });
        return;
      }
      case 'between': {
        const [i, c] = ref(e.col);
        cmp(i, '>=', literalFor(e.lo, c));
        cmp(i, '<=', literalFor(e.hi, c));
        prog.push({ op: 'and', n: 2 });
        if (e.negated) prog.push({ op: 'not' });
        return;
      }
      case 'range': {
        const [i, c] = ref(e.col);
        if (isString(c) || c.kind === 'bool') {
          prog.push({ op: 'const', v: 1 }); // not a number: unknown, as in the reference evaluator
          return;
        }
        prog.push({ op: 'cmp', col: i, cmp: '>=', lit: { t: 'num', v: e.lo } });
        prog.push({ op: 'cmp', col: i, cmp: '<', lit: { t: 'num', v: e.hi } });
        prog.push({ op: 'and', n: 2 });
        return;
      }
      case 'match': {
        const [i, c] = ref(e.col);
        if (!isString(c)) {
          prog.push({ op: 'const', v: 1 }); // not a string: unknown, as in the reference evaluator
          return;
        }
        prog.push(stringOp(e, i));
        if ((e.op === 'like' || e.op === 'regex') && e.negated) prog.push({ op: 'not' });
        return;
      }
      case 'inpolygon': {
        const [x] = ref(e.x);
        const [y] = ref(e.y);
        const edges = polygonEdges(e.polygon);
        const pts = new Float64Array(edges.length * 5);
        edges.forEach((g, k) => pts.set([g.ylo, g.yhi, g.xi, g.yi, g.k], k * 5));
        prog.push({ op: 'poly', x, y, pts });
        return;
      }
      default:
        throw new CdxError('E_BAD_ARG', `unknown expression kind ${(e as { kind: string }).kind}`);
    }
  };
  emit(expr);
  return NativeFilter.seal(prog, cols);
}
