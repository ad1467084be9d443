/**
 * Checking an expression against a schema, small tree helpers for the UI, and the reference JS
 * evaluator (the oracle for the native mask and the filter for small in-memory data).
 */
import type { ColumnRef, CompareOp, Expr, Literal } from './ast';
import { ExprError } from './errors';
import { formatColumn } from './format';
import { INT64_MAX, INT64_MIN, UINT64_MAX, literalClass, parseTime, timeToMs } from './literal';
import { type PolygonEdge, pointInPolygon, polygonEdges } from './polygon';
import { checkPattern, matchString } from './strmatch';
import { applyCompare, checkPredicateValues, evalValue, schemaTypeOf, typeValue, valueColumns, vtypeOfSchemaType, type VType } from './value';

// ───────────────────────────── helpers ─────────────────────────────

/** Conjunction of the given expressions, flattening nested and-nodes and dropping `true`s. */
export function andAll(exprs: readonly (Expr | null | undefined)[]): Expr {
  return junction('and', exprs);
}

/** Disjunction of the given expressions, flattening nested or-nodes and dropping `false`s. */
export function orAll(exprs: readonly (Expr | null | undefined)[]): Expr {
  return junction('or', exprs);
}

function junction(kind: 'and' | 'or', exprs: readonly (Expr | null | undefined)[]): Expr {
  const args: Expr[] = [];
  for (const e of exprs) {
    if (!e) continue;
    if (e.kind === kind) args.push(...e.args);
    else args.push(e);
  }
  return args.length === 1 ? args[0]! : { kind, args };
}

/** Column names the expression reads, each once, in order of first appearance. */
export function columnsOf(e: Expr): string[] {
  const seen = new Set<string>();
  const add = (c: ColumnRef) => (c.expr ? valueColumns(c.expr, seen) : seen.add(c.name));
  const walk = (e: Expr): void => {
    switch (e.kind) {
      case 'and':
      case 'or':
        e.args.forEach(walk);
        break;
      case 'not':
        walk(e.arg);
        break;
      case 'cmp':
        add(e.left);
        break;
      case 'inpolygon':
        add(e.x);
        add(e.y);
        break;
      case 'test':
        valueColumns(e.arg, seen);
        break;
      default:
        add(e.col);
    }
  };
  walk(e);
  return [...seen];
}

// ───────────────────────────── suggestions ─────────────────────────────

/** Edit distance (insertions, deletions, substitutions, adjacent swaps), case-insensitive. */
export function editDistance(a: string, b: string): number {
  const s = [...a.toLowerCase()], t = [...b.toLowerCase()];
  const d: number[][] = Array.from({ length: s.length + 1 }, (_, i) => [i, ...new Array<number>(t.length).fill(0)]);
  for (let j = 1; j <= t.length; j++) d[0]![j] = j;
  for (let i = 1; i <= s.length; i++)
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  return d[s.length]![t.length]!;
}

/**
 * The name among `names` that `name` was most likely meant to be (a typo, other case, or spaces
 * for underscores), or undefined when none is close: at most a third of the letters differ.
 */
export function closestName(name: string, names: Iterable<string>): string | undefined {
  let best: string | undefined, bestD = Infinity;
  const norm = (x: string) => x.toLowerCase().replace(/[\s_-]+/g, '');
  for (const n of names) {
    const d = norm(n) === norm(name) ? 0 : editDistance(name, n);
    if (d < bestD) {
      best = n;
      bestD = d;
    }
  }
  if (best !== undefined && bestD <= Math.max(1, Math.floor([...name].length / 3))) return best;
  // `dep-delay > 10` reads as dep − delay: the name the user meant starts with what was read
  for (const n of names) if (n.length > name.length && n.startsWith(name) && /^[^\p{L}\p{N}_]/u.test(n.slice(name.length))) return n;
  return undefined;
}

/** "Unknown column 'orgin' — did you mean 'origin'?" (in backquotes where it must be typed so). */
export function unknownColumnMessage(name: string, names: Iterable<string>): string {
  const near = closestName(name, names);
  if (near === undefined) return /^[\p{L}_][\p{L}\p{N}_$]*$/u.test(name) ? `Unknown column '${name}' (text values are quoted: '${name}')` : `Unknown column '${name}'`;
  const typed = formatColumn(near);
  return `Unknown column '${name}' — did you mean ${typed.startsWith('`') ? typed : `'${near}'`}?`;
}

// ───────────────────────────── checking ─────────────────────────────

export interface SchemaLike {
  fields: readonly { name: string; type: string }[];
}

export interface ExprProblem {
  code: 'E_UNKNOWN_COLUMN' | 'E_TYPE_MISMATCH' | 'E_BAD_VALUE' | 'W_NULL_COMPARISON' | 'W_OUT_OF_RANGE' | 'W_EMPTY';
  severity: 'error' | 'warning';
  message: string;
  /** the column concerned, when there is one */
  column?: string;
}

type TypeClass = 'numeric' | 'string' | 'bool' | 'temporal' | 'other';

function typeClass(type: string): TypeClass {
  const t = type.toLowerCase();
  if (/^(u?int(8|16|32|64)|float(16|32|64)|decimal|double|real|integer|bigint|smallint|tinyint|hugeint)/.test(t)) return 'numeric';
  if (t === 'string' || t === 'utf8' || t === 'large_utf8' || t === 'varchar' || t === 'text') return 'string';
  if (t === 'bool' || t === 'boolean') return 'bool';
  if (t === 'date' || t.startsWith('timestamp')) return 'temporal';
  return 'other';
}

const INT_RANGES: Record<string, [bigint, bigint]> = {
  int8: [-128n, 127n], int16: [-32768n, 32767n], int32: [-2147483648n, 2147483647n], int64: [INT64_MIN, INT64_MAX],
  uint8: [0n, 255n], uint16: [0n, 65535n], uint32: [0n, 4294967295n], uint64: [0n, UINT64_MAX],
};

const CLASS_WORD: Record<string, string> = {
  number: 'a number', int: 'a number', string: 'a string', bool: 'a boolean', date: 'a date', timestamp: 'a timestamp',
};

/**
 * Problems with `e` against `schema`: unknown columns (error), a value of the wrong kind for the
 * column's type (error), comparisons with null that can never be true (warning), integer values
 * outside the column type's range (warning), degenerate ranges/polygons. Empty when all is well.
 */
export function checkExpr(e: Expr, schema: SchemaLike): ExprProblem[] {
  const problems: ExprProblem[] = [];
  const types = new Map(schema.fields.map((f) => [f.name, f.type]));
  const reported = new Set<string>();

  const valueType = (name: string): VType => {
    const t = types.get(name);
    if (t === undefined) throw new ExprError('E_UNKNOWN_COLUMN', unknownColumnMessage(name, schema.fields.map((f) => f.name)), { column: name });
    const vt = vtypeOfSchemaType(t);
    if (vt === undefined) throw new ExprError('E_TYPE_MISMATCH', `the ${t} column '${name}' cannot be used in a computed value`, { column: name });
    return vt;
  };
  /** the type of an inline value, or undefined after reporting its problem */
  const exprType = (c: ColumnRef): string | undefined => {
    try {
      return schemaTypeOf(typeValue(c.expr!, valueType));
    } catch (err) {
      if (!(err instanceof ExprError)) throw err;
      const code = err.code === 'E_UNKNOWN_COLUMN' ? 'E_UNKNOWN_COLUMN' : 'E_TYPE_MISMATCH';
      if (!reported.has(err.message)) {
        reported.add(err.message);
        problems.push({ code, severity: 'error', message: err.message, ...(err.column ? { column: err.column } : {}) });
      }
      return undefined;
    }
  };
  const colType = (c: ColumnRef): string | undefined => {
    if (c.expr) return exprType(c);
    const t = types.get(c.name);
    if (t === undefined && !reported.has(c.name)) {
      reported.add(c.name);
      problems.push({
        code: 'E_UNKNOWN_COLUMN',
        severity: 'error',
        column: c.name,
        message: unknownColumnMessage(c.name, schema.fields.map((f) => f.name)),
      });
    }
    return t;
  };

  const checkValue = (c: ColumnRef, type: string | undefined, l: Literal, where: string) => {
    if (type === undefined) return;
    const cls = literalClass(l);
    if (cls === 'null') {
      problems.push({
        code: 'W_NULL_COMPARISON', severity: 'warning', column: c.name,
        message: `${where} compares '${c.name}' with null, which is never true; use '${c.name} is null' or 'is not null'`,
      });
      return;
    }
    const tc = typeClass(type);
    if (tc === 'temporal' && cls === 'string') {
      // an ISO date or timestamp typed as a string converts for a date/timestamp column
      const text = (l as { value: string }).value;
      if (!parseTime(text))
        problems.push({
          code: 'E_TYPE_MISMATCH', severity: 'error', column: c.name,
          message: `${where} compares the ${type} column '${c.name}' with '${text}', which is not a date or time: write 'YYYY-MM-DD' or 'YYYY-MM-DD HH:MM[:SS]'`,
        });
      return;
    }
    const ok =
      tc === 'other' ||
      (tc === 'numeric' && (cls === 'number' || cls === 'int')) ||
      (tc === 'string' && cls === 'string') ||
      (tc === 'bool' && cls === 'bool') ||
      (tc === 'temporal' && (cls === 'date' || cls === 'timestamp'));
    if (!ok) {
      const hint = tc === 'temporal' && cls === 'string' ? ` (write date '…' or timestamp '…')` : '';
      problems.push({
        code: 'E_TYPE_MISMATCH', severity: 'error', column: c.name,
        message: `${where} compares the ${type} column '${c.name}' with ${CLASS_WORD[cls]}${hint}`,
      });
      return;
    }
    if ('date' in l && !parseTime(l.date)) {
      problems.push({ code: 'E_BAD_VALUE', severity: 'error', column: c.name, message: `Bad date or timestamp '${l.date}'` });
    }
    const range = INT_RANGES[type.toLowerCase()];
    if (range && (cls === 'int' || cls === 'number')) {
      const v = 'int' in l ? BigInt(l.int) : (l as { value: number }).value;
      const [lo, hi] = range;
      const out = typeof v === 'bigint' ? v < lo || v > hi : Number.isFinite(v) && (v < Number(lo) || v > Number(hi));
      if (out)
        problems.push({
          code: 'W_OUT_OF_RANGE', severity: 'warning', column: c.name,
          message: `${String(v)} is outside the range of the ${type} column '${c.name}'`,
        });
    }
  };

  const walk = (e: Expr): void => {
    switch (e.kind) {
      case 'and':
      case 'or':
        e.args.forEach(walk);
        return;
      case 'not':
        walk(e.arg);
        return;
      case 'cmp':
        checkValue(e.left, colType(e.left), e.right, `'${e.op}'`);
        return;
      case 'in': {
        const t = colType(e.col);
        for (const v of e.values) checkValue(e.col, t, v, "'in'");
        return;
      }
      case 'isnull':
        colType(e.col);
        return;
      case 'match': {
        const t = colType(e.col);
        const what = e.op === 'like' ? (e.icase ? "'ilike'" : "'like'") : e.op === 'regex' ? 'A regular expression' : `${e.op}()`;
        if (t !== undefined && !['string', 'other'].includes(typeClass(t)))
          problems.push({
            code: 'E_TYPE_MISMATCH', severity: 'error', column: e.col.name,
            message: `${what} on the ${t} column '${e.col.name}': it works on text columns`,
          });
        try {
          checkPattern(e);
        } catch (err) {
          if (!(err instanceof ExprError)) throw err;
          problems.push({ code: 'E_BAD_VALUE', severity: 'error', column: e.col.name, message: err.message });
        }
        return;
      }
      case 'between': {
        const t = colType(e.col);
        checkValue(e.col, t, e.lo, "'between'");
        checkValue(e.col, t, e.hi, "'between'");
        return;
      }
      case 'range': {
        const t = colType(e.col);
        if (t !== undefined && !['numeric', 'temporal', 'other'].includes(typeClass(t)))
          problems.push({
            code: 'E_TYPE_MISMATCH', severity: 'error', column: e.col.name,
            message: `A numeric range on the ${t} column '${e.col.name}'`,
          });
        if (Number.isNaN(e.lo) || Number.isNaN(e.hi))
          problems.push({ code: 'E_BAD_VALUE', severity: 'error', column: e.col.name, message: 'A range bound is NaN' });
        else if (!(e.lo < e.hi))
          problems.push({ code: 'W_EMPTY', severity: 'warning', column: e.col.name, message: `The range [${e.lo}, ${e.hi}) is empty` });
        return;
      }
      case 'test': {
        try {
          checkPredicateValues(e, valueType);
        } catch (err) {
          if (!(err instanceof ExprError)) throw err;
          if (!reported.has(err.message)) {
            reported.add(err.message);
            problems.push({ code: err.code === 'E_UNKNOWN_COLUMN' ? 'E_UNKNOWN_COLUMN' : 'E_TYPE_MISMATCH', severity: 'error', message: err.message });
          }
        }
        return;
      }
      case 'inpolygon': {
        for (const c of [e.x, e.y]) {
          const t = colType(c);
          if (t !== undefined && !['numeric', 'other'].includes(typeClass(t)))
            problems.push({
              code: 'E_TYPE_MISMATCH', severity: 'error', column: c.name,
              message: `A polygon on the ${t} column '${c.name}'; both columns must be numeric`,
            });
        }
        if (e.polygon.some(([x, y]) => !Number.isFinite(x) || !Number.isFinite(y)))
          problems.push({ code: 'E_BAD_VALUE', severity: 'error', message: 'A polygon point is not a finite number' });
        else if (e.polygon.length < 3)
          problems.push({ code: 'W_EMPTY', severity: 'warning', message: 'A polygon with fewer than 3 points selects nothing' });
        return;
      }
    }
  };
  walk(e);
  return problems;
}

/**
 * The messages of problems as a user should read them: each once (`x in ('a', 'b')` on a number
 * column is one message, not two), errors only unless `warnings`.
 */
export function problemMessages(problems: readonly ExprProblem[], warnings = false): string[] {
  return [...new Set(problems.filter((p) => warnings || p.severity === 'error').map((p) => p.message))];
}

// ───────────────────────────── evaluation ─────────────────────────────

/** Three-valued truth: true, false, or null for unknown. */
export type Truth = boolean | null;

/**
 * Order of a cell against a literal: -1, 0, 1; NaN when unordered (a NaN operand); null when
 * unknown (a null operand, or kinds that do not compare: string vs number etc.).
 *
 * Cells: null/undefined = null; number (float64) or bigint (exact int64/uint64); string; boolean;
 * Date, or a number (epoch ms) or ISO string, against a date/timestamp literal. Strings compare by
 * code point (the same order as UTF-8 bytes, which SQL engines use by default).
 */
export function compareCell(cell: unknown, l: Literal): number | null {
  if (cell === null || cell === undefined) return null;
  if ('date' in l) {
    const t = literalMs(l);
    const ms = cellMs(cell);
    if (t === null || ms === null) return null;
    return cmpNum(ms, t);
  }
  const v = 'int' in l ? literalBigInt(l) : l.value;
  if (v === null) return null;
  if (typeof v === 'number' || typeof v === 'bigint') {
    if (typeof cell === 'number' || typeof cell === 'bigint') return cmpNum(cell, v);
    if (cell instanceof Date) return cmpNum(cell.getTime(), v);
    return null;
  }
  if (typeof v === 'string') {
    if (cell instanceof Date) {
      // a date/timestamp cell against an ISO string: the string converts (as the engines do)
      const ms = stringMs(v);
      return cmpNum(cell.getTime(), ms);
    }
    return typeof cell === 'string' ? cmpCodePoints(cell, v) : null;
  }
  if (typeof v === 'boolean') return typeof cell === 'boolean' ? (cell === v ? 0 : cell ? 1 : -1) : null;
  return null;
}

// literals are immutable plain objects: cache their parsed forms (the evaluator runs per row)
const msCache = new WeakMap<Literal, number | null>();
const bigCache = new WeakMap<Literal, bigint>();

function literalMs(l: Literal & { date: string }): number | null {
  let v = msCache.get(l);
  if (v === undefined) {
    const t = parseTime(l.date);
    msCache.set(l, (v = t ? timeToMs(t) : null));
  }
  return v;
}

const stringMsCache = new Map<string, number>();

function stringMs(s: string): number {
  let v = stringMsCache.get(s);
  if (v === undefined) {
    const t = parseTime(s);
    if (!t) throw new ExprError('E_BAD_EXPR', `'${s}' is not a date or time: write 'YYYY-MM-DD' or 'YYYY-MM-DD HH:MM[:SS]'`);
    if (stringMsCache.size > 1000) stringMsCache.clear();
    stringMsCache.set(s, (v = timeToMs(t)));
  }
  return v;
}

function literalBigInt(l: Literal & { int: string }): bigint {
  let v = bigCache.get(l);
  if (v === undefined) bigCache.set(l, (v = BigInt(l.int)));
  return v;
}

function cellMs(cell: unknown): number | null {
  if (cell instanceof Date) return cell.getTime();
  if (typeof cell === 'number') return cell;
  if (typeof cell === 'bigint') return Number(cell);
  if (typeof cell === 'string') {
    const t = parseTime(cell);
    return t ? timeToMs(t) : null;
  }
  return null;
}

function cmpNum(a: number | bigint, b: number | bigint): number {
  if ((typeof a === 'number' && Number.isNaN(a)) || (typeof b === 'number' && Number.isNaN(b))) return NaN;
  // mixed bigint/number relational comparison is exact in JS
  return a < b ? -1 : a > b ? 1 : 0;
}

function cmpCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i), y = b.charCodeAt(i);
    if (x === y) continue;
    // a surrogate (astral code point) sorts above every BMP unit in code point order
    const xs = x >= 0xd800 && x <= 0xdfff, ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x < y ? -1 : 1;
  }
  return a.length < b.length ? -1 : 1;
}

/** A comparison's truth from an order (value.ts applyCompare: NaN unordered, null unknown). */
const applyOp = (op: CompareOp, c: number | null): Truth => applyCompare(op, c);

function and3(a: Truth, b: Truth): Truth {
  if (a === false || b === false) return false;
  return a === null || b === null ? null : true;
}
function not3(a: Truth): Truth {
  return a === null ? null : !a;
}

const edgeCache = new WeakMap<object, PolygonEdge[]>();

function cellNumber(v: unknown): number | null {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Date) return v.getTime();
  return null;
}

/** A column's cell, or an inline value's. */
function cellOf(c: ColumnRef, row: Readonly<Record<string, unknown>>): unknown {
  return c.expr ? evalValue(c.expr, row, (p) => evalExpr3(p, row)) : row[c.name];
}

/** Evaluate with SQL three-valued logic: true, false, or null (unknown). */
export function evalExpr3(e: Expr, row: Readonly<Record<string, unknown>>): Truth {
  switch (e.kind) {
    case 'and': {
      let r: Truth = true;
      for (const a of e.args) {
        r = and3(r, evalExpr3(a, row));
        if (r === false) return false;
      }
      return r;
    }
    case 'or': {
      let r: Truth = false;
      for (const a of e.args) {
        const v = evalExpr3(a, row);
        if (v === true) return true;
        if (v === null) r = null;
      }
      return r;
    }
    case 'not':
      return not3(evalExpr3(e.arg, row));
    case 'cmp':
      return applyOp(e.op, compareCell(cellOf(e.left, row), e.right));
    case 'test': {
      const v = evalValue(e.arg, row, (p) => evalExpr3(p, row));
      return v === null ? null : v === true;
    }
    case 'in': {
      const cell = cellOf(e.col, row);
      let r: Truth = false;
      for (const v of e.values) {
        const t = applyOp('=', compareCell(cell, v));
        if (t === true) {
          r = true;
          break;
        }
        if (t === null) r = null;
      }
      return e.negated ? not3(r) : r;
    }
    case 'isnull': {
      const v = cellOf(e.col, row);
      const isNull = v === null || v === undefined;
      return e.negated ? !isNull : isNull;
    }
    case 'between': {
      const cell = cellOf(e.col, row);
      const r = and3(applyOp('>=', compareCell(cell, e.lo)), applyOp('<=', compareCell(cell, e.hi)));
      return e.negated ? not3(r) : r;
    }
    case 'range': {
      const cell = cellOf(e.col, row);
      if (cell === null || cell === undefined) return null;
      const x = typeof cell === 'number' || typeof cell === 'bigint' ? cell : cell instanceof Date ? cell.getTime() : null;
      if (x === null) return null;
      return cmpNum(x, e.lo) >= 0 && cmpNum(x, e.hi) < 0; // NaN anywhere → false
    }
    case 'match': {
      const cell = cellOf(e.col, row);
      if (typeof cell !== 'string') return null; // null, or not a string: unknown
      const r = matchString(e, cell);
      return e.op !== 'like' && e.op !== 'regex' ? r : e.negated ? !r : r;
    }
    case 'inpolygon': {
      const x = cellNumber(cellOf(e.x, row));
      const y = cellNumber(cellOf(e.y, row));
      if (x === null || y === null) return null;
      let edges = edgeCache.get(e);
      if (!edges) edgeCache.set(e, (edges = polygonEdges(e.polygon)));
      return pointInPolygon(edges, x, y);
    }
  }
}

/** Does the row pass the filter? (true only when the expression is true; unknown → false) */
export function evalExprOnRow(e: Expr, row: Readonly<Record<string, unknown>>): boolean {
  return evalExpr3(e, row) === true;
}
