/**
 * Value expressions (ast.ts Value): their types and the JS reference evaluator (the oracle the
 * native evaluator and the SQL dialects are tested against, and the evaluator of streamed
 * exports). The semantics are those of ast.ts's Value comment; every engine implements them.
 */
import type { CompareOp, Expr, Literal, Value } from './ast';
import { ExprError } from './errors';
import { formatValue } from './format';
import { DATE_PARTS, TRUNC_UNITS, type DatePart, type TruncUnit } from './functions';
import { valuePosition } from './parse';
import { isDateOnly, parseTime, timeToMs, INT64_MAX, INT64_MIN } from './literal';

/** The language's types. 'null': a null literal (takes the type of what it meets). */
export type VType = 'int' | 'float' | 'bool' | 'string' | 'date' | 'timestamp' | 'null';

/** The language type of a DataShape / schema type string; undefined for types values cannot hold (lists, structs). */
export function vtypeOfSchemaType(type: string): VType | undefined {
  const t = type.toLowerCase();
  if (/^(u?int(8|16|32|64)|integer|bigint|smallint|tinyint)\b/.test(t)) return 'int';
  if (/^(float(16|32|64)|double|real|decimal)/.test(t)) return 'float';
  if (t === 'bool' || t === 'boolean') return 'bool';
  if (t === 'string' || t === 'utf8' || t === 'large_utf8' || t === 'varchar' || t === 'text' || t.startsWith('categor') || t.startsWith('dict')) return 'string';
  if (t === 'date' || t.startsWith('date[') || t.startsWith('date32') || t.startsWith('date64')) return 'date';
  if (t.startsWith('timestamp') || t.startsWith('datetime')) return 'timestamp';
  return undefined;
}

/** The schema type string of a language type (what a computed column's field says). */
export function schemaTypeOf(t: VType): string {
  return t === 'int' ? 'int64' : t === 'float' ? 'float64' : t === 'null' ? 'float64' : t;
}

const NUM = (t: VType) => t === 'int' || t === 'float';
const TEMPORAL = (t: VType) => t === 'date' || t === 'timestamp';

function mismatch(v: object, message: string): never {
  const pos = valuePosition(v);
  throw new ExprError('E_TYPE_MISMATCH', pos === undefined ? message : `${message} (at position ${pos})`, pos === undefined ? {} : { position: pos });
}

/** The common type of branches (case, coalesce); null when they have none. */
export function commonType(ts: readonly VType[]): VType | null {
  let r: VType = 'null';
  for (const t of ts) {
    if (t === 'null' || t === r) continue;
    if (r === 'null') r = t;
    else if (NUM(r) && NUM(t)) r = 'float';
    else if (TEMPORAL(r) && TEMPORAL(t)) r = 'timestamp';
    else return null;
  }
  return r;
}

const WORD: Record<VType, string> = { int: 'an integer', float: 'a number', bool: 'a boolean', string: 'text', date: 'a date', timestamp: 'a timestamp', null: 'null' };

/** Can values of types a and b be compared? (a string literal compares with a date or timestamp: it is read as one) */
export function comparable(a: VType, b: VType): boolean {
  if (a === 'null' || b === 'null' || a === b) return true;
  return (NUM(a) && NUM(b)) || (TEMPORAL(a) && TEMPORAL(b));
}

/**
 * The type of `v`, checking it: `columnType` gives a column's type (and throws for an unknown
 * column). A mistake is an E_TYPE_MISMATCH naming the part of the expression and its position.
 */
export function typeValue(v: Value, columnType: (name: string) => VType): VType {
  const T = (x: Value) => typeValue(x, columnType);
  switch (v.kind) {
    case 'col':
      return v.expr ? T(v.expr) : columnType(v.name);
    case 'lit':
      return literalType(v);
    case 'neg': {
      const t = T(v.arg);
      if (!NUM(t) && t !== 'null') mismatch(v, `'-' needs a number, and ${formatValue(v.arg)} is ${WORD[t]}`);
      return t;
    }
    case 'arith': {
      const a = T(v.left), b = T(v.right);
      const what = `'${formatValue(v)}'`;
      if (a === 'null' && b === 'null') return v.op === '/' ? 'float' : 'int';
      const x = a === 'null' ? b : a, y = b === 'null' ? a : b;
      if (NUM(x) && NUM(y)) return v.op === '/' ? 'float' : x === 'int' && y === 'int' ? 'int' : 'float';
      if (v.op === '+' && ((x === 'date' && y === 'int') || (x === 'int' && y === 'date'))) return 'date';
      if (v.op === '-' && x === 'date' && y === 'int') return 'date';
      if (v.op === '-' && x === 'date' && y === 'date') return 'int';
      mismatch(v, `${what}: '${v.op}' cannot take ${WORD[a]} and ${WORD[b]}${TEMPORAL(a) || TEMPORAL(b) ? ' (a date takes + and − a whole number of days; date − date is days)' : ''}`);
    }
    case 'cmpv': {
      const a = T(v.left), b = T(v.right);
      const strTime = (s: Value, t: VType) => t !== 'null' && TEMPORAL(t) && s.kind === 'lit' && typeof (s as { value?: unknown }).value === 'string';
      if (!comparable(a, b) && !strTime(v.left, b) && !strTime(v.right, a))
        mismatch(v, `'${formatValue(v)}' compares ${WORD[a]} with ${WORD[b]}`);
      if (strTime(v.left, b) || strTime(v.right, a)) {
        const s = (strTime(v.left, b) ? v.left : v.right) as { value: string };
        if (!parseTime(s.value)) mismatch(v, `'${s.value}' is not a date or time: write 'YYYY-MM-DD' or 'YYYY-MM-DD HH:MM[:SS]'`);
      }
      return 'bool';
    }
    case 'pred':
      checkPredicateValues(v.arg, columnType);
      return 'bool';
    case 'case': {
      for (const w of v.whens) checkPredicateValues(w.when, columnType);
      const ts = [...v.whens.map((w) => T(w.then)), ...(v.else !== undefined ? [T(v.else)] : [])];
      const c = commonType(ts);
      if (c === null) mismatch(v, `the branches of '${formatValue(v)}' are of different types (${[...new Set(ts)].map((t) => WORD[t]).join(', ')})`);
      return c;
    }
    case 'cast': {
      const t = T(v.arg);
      const ok =
        t === 'null' || t === v.to || v.to === 'string' || t === 'string' ||
        (NUM(t) && (v.to === 'int' || v.to === 'float' || v.to === 'bool')) ||
        (t === 'bool' && (v.to === 'int' || v.to === 'float')) ||
        (TEMPORAL(t) && TEMPORAL(v.to));
      if (!ok) mismatch(v, `cannot cast ${WORD[t]} to ${v.to} in '${formatValue(v)}'`);
      return v.to;
    }
    case 'call':
      return typeCall(v, v.args.map(T));
  }
}

/** Type-checks the inline values inside a predicate (case conditions, pred values). */
export function checkPredicateValues(e: Expr, columnType: (name: string) => VType): void {
  const ref = (c: { expr?: Value }) => {
    if (c.expr) typeValue(c.expr, columnType);
  };
  switch (e.kind) {
    case 'and':
    case 'or':
      e.args.forEach((a) => checkPredicateValues(a, columnType));
      return;
    case 'not':
      checkPredicateValues(e.arg, columnType);
      return;
    case 'test': {
      const t = typeValue(e.arg, columnType);
      if (t !== 'bool' && t !== 'null') mismatch(e.arg, `'${formatValue(e.arg)}' is ${WORD[t]}, not a condition: compare it (=, <, …)`);
      return;
    }
    case 'inpolygon':
      ref(e.x);
      ref(e.y);
      return;
    case 'cmp':
      ref(e.left);
      return;
    default:
      ref(e.col);
  }
}

export function literalType(l: Literal): VType {
  if ('int' in l) return 'int';
  if ('date' in l) return isDateOnly(l.date) ? 'date' : 'timestamp';
  const x = l.value;
  if (x === null) return 'null';
  if (typeof x === 'number') return Number.isInteger(x) && !Object.is(x, -0) && Number.isSafeInteger(x) ? 'int' : 'float';
  if (typeof x === 'string') return 'string';
  return 'bool';
}

function typeCall(v: Extract<Value, { kind: 'call' }>, ts: VType[]): VType {
  const name = v.fn === '||' ? "'||'" : `${v.fn}()`;
  const need = (i: number, ok: (t: VType) => boolean, what: string) => {
    const t = ts[i]!;
    if (t !== 'null' && !ok(t)) mismatch(v, `${name} needs ${what}${ts.length > 1 ? ` as argument ${i + 1}` : ''}, and ${formatValue(v.args[i]!)} is ${WORD[t]}`);
  };
  switch (v.fn) {
    case 'abs':
    case 'floor':
    case 'ceil':
      need(0, NUM, 'a number');
      return ts[0] === 'null' ? 'float' : ts[0]!;
    case 'round':
      need(0, NUM, 'a number');
      if (ts.length > 1) need(1, (t) => t === 'int', 'a whole number of digits');
      return ts[0] === 'null' ? 'float' : ts[0]!;
    case 'sqrt':
    case 'ln':
    case 'log10':
    case 'log2':
    case 'exp':
      need(0, NUM, 'a number');
      return 'float';
    case 'pow':
      need(0, NUM, 'a number');
      need(1, NUM, 'a number');
      return 'float';
    case 'date_trunc': {
      const u = v.args[0]!;
      const unit = u.kind === 'lit' && typeof (u as { value?: unknown }).value === 'string' ? (u as { value: string }).value.toLowerCase() : null;
      if (!unit || !(TRUNC_UNITS as readonly string[]).includes(unit)) mismatch(v, `date_trunc() takes a unit in quotes first: ${TRUNC_UNITS.map((x) => `'${x}'`).join(', ')}`);
      need(1, TEMPORAL, 'a date or timestamp');
      return ts[1] === 'null' ? 'timestamp' : ts[1]!;
    }
    case 'lower':
    case 'upper':
      need(0, (t) => t === 'string', 'text');
      return 'string';
    case 'length':
      need(0, (t) => t === 'string', 'text');
      return 'int';
    case 'substr':
      need(0, (t) => t === 'string', 'text');
      need(1, (t) => t === 'int', 'a whole number');
      if (ts.length > 2) need(2, (t) => t === 'int', 'a whole number');
      return 'string';
    case 'concat':
    case '||':
      return 'string';
    case 'contains':
    case 'starts_with':
    case 'ends_with':
      need(0, (t) => t === 'string', 'text');
      need(1, (t) => t === 'string', 'text');
      return 'bool';
    case 'coalesce': {
      const c = commonType(ts);
      if (c === null) mismatch(v, `the arguments of coalesce() are of different types (${[...new Set(ts)].map((t) => WORD[t]).join(', ')})`);
      return c;
    }
    default:
      if ((DATE_PARTS as readonly string[]).includes(v.fn)) {
        need(0, TEMPORAL, 'a date or timestamp');
        return 'int';
      }
      mismatch(v, `unknown function ${v.fn}()`);
  }
}

/** Column names a value reads, each once. */
export function valueColumns(v: Value, out = new Set<string>()): Set<string> {
  const pred = (e: Expr) => predColumns(e, out);
  switch (v.kind) {
    case 'col':
      if (v.expr) valueColumns(v.expr, out);
      else out.add(v.name);
      break;
    case 'lit':
      break;
    case 'arith':
    case 'cmpv':
      valueColumns(v.left, out);
      valueColumns(v.right, out);
      break;
    case 'neg':
    case 'cast':
      valueColumns(v.arg, out);
      break;
    case 'call':
      v.args.forEach((a) => valueColumns(a, out));
      break;
    case 'case':
      for (const w of v.whens) {
        pred(w.when);
        valueColumns(w.then, out);
      }
      if (v.else !== undefined) valueColumns(v.else, out);
      break;
    case 'pred':
      pred(v.arg);
      break;
  }
  return out;
}

function predColumns(e: Expr, out: Set<string>): void {
  switch (e.kind) {
    case 'and':
    case 'or':
      e.args.forEach((a) => predColumns(a, out));
      return;
    case 'not':
      predColumns(e.arg, out);
      return;
    case 'test':
      valueColumns(e.arg, out);
      return;
    case 'cmp':
      valueColumns(e.left, out);
      return;
    case 'inpolygon':
      valueColumns(e.x, out);
      valueColumns(e.y, out);
      return;
    default:
      valueColumns(e.col, out);
  }
}

// ───────────────────────────── the reference evaluator ─────────────────────────────
// Cells as the filter evaluator reads them: null; bigint (int64, exact) or number (float, or an
// int read as a number); string; boolean; Date (dates at UTC midnight, timestamps to the ms).

export type Cell = null | number | bigint | string | boolean | Date;

const DAY_MS = 86_400_000;

function toNum(c: Cell): number | null {
  if (typeof c === 'number') return c;
  if (typeof c === 'bigint') return Number(c);
  if (typeof c === 'boolean') return c ? 1 : 0;
  return null;
}

function isInt(c: Cell): boolean {
  return typeof c === 'bigint' || (typeof c === 'number' && Number.isInteger(c) && !Object.is(c, -0));
}

function int64(b: bigint): bigint | null {
  return b < INT64_MIN || b > INT64_MAX ? null : b;
}

/** Round half away from zero. */
export function roundHalfAway(x: number): number {
  return x < 0 ? -Math.floor(-x + 0.5) : Math.floor(x + 0.5);
}

function castInt(x: number): bigint | null {
  if (!Number.isFinite(x)) return null;
  const r = roundHalfAway(x);
  if (r < -9223372036854775808 || r >= 9223372036854775808) return null;
  return BigInt(r);
}

/** The text a value casts to (as DuckDB writes it). */
export function castText(c: Cell, dateOnly?: boolean): string | null {
  if (c === null) return null;
  if (typeof c === 'string') return c;
  if (typeof c === 'boolean') return c ? 'true' : 'false';
  if (typeof c === 'bigint') return c.toString();
  if (typeof c === 'number') {
    if (Number.isNaN(c)) return 'nan';
    if (!Number.isFinite(c)) return c > 0 ? 'inf' : '-inf';
    return String(c);
  }
  const iso = c.toISOString();
  const date = dateOnly ?? c.getTime() % DAY_MS === 0;
  if (date) return iso.slice(0, 10);
  const frac = iso.slice(20, 23);
  return iso.slice(0, 10) + ' ' + iso.slice(11, 19) + (frac === '000' ? '' : '.' + frac);
}

function truncDate(d: Date, unit: TruncUnit): Date {
  const y = d.getUTCFullYear(), m = d.getUTCMonth();
  switch (unit) {
    case 'year': return new Date(Date.UTC(y, 0, 1));
    case 'quarter': return new Date(Date.UTC(y, m - (m % 3), 1));
    case 'month': return new Date(Date.UTC(y, m, 1));
    case 'week': {
      const day = Math.floor(d.getTime() / DAY_MS);
      const dow = (((day + 3) % 7) + 7) % 7; // 0 = Monday (1970-01-01 was a Thursday)
      return new Date((day - dow) * DAY_MS);
    }
    case 'day': return new Date(Math.floor(d.getTime() / DAY_MS) * DAY_MS);
    case 'hour': return new Date(Math.floor(d.getTime() / 3_600_000) * 3_600_000);
    case 'minute': return new Date(Math.floor(d.getTime() / 60_000) * 60_000);
    case 'second': return new Date(Math.floor(d.getTime() / 1000) * 1000);
  }
}

function datePart(d: Date, p: DatePart): bigint {
  switch (p) {
    case 'year': return BigInt(d.getUTCFullYear());
    case 'quarter': return BigInt(Math.floor(d.getUTCMonth() / 3) + 1);
    case 'month': return BigInt(d.getUTCMonth() + 1);
    case 'day': return BigInt(d.getUTCDate());
    case 'hour': return BigInt(d.getUTCHours());
    case 'minute': return BigInt(d.getUTCMinutes());
    case 'second': return BigInt(d.getUTCSeconds());
    case 'weekday': return BigInt(((d.getUTCDay() + 6) % 7) + 1);
  }
}

function cellTime(c: Cell): Date | null {
  if (c instanceof Date) return c;
  if (typeof c === 'string') {
    const t = parseTime(c);
    return t ? new Date(timeToMs(t)) : null;
  }
  if (typeof c === 'number') return new Date(c);
  return null;
}

function codePoints(s: string): string[] {
  return [...s];
}

function literalCell(l: Literal): Cell {
  if ('int' in l) return BigInt(l.int);
  if ('date' in l) {
    const t = parseTime(l.date);
    return t ? new Date(timeToMs(t)) : null;
  }
  return l.value;
}

/** Compare two cells: -1/0/1, NaN unordered, null unknown. */
export function compareCells(a: Cell, b: Cell): number | null {
  if (a === null || b === null) return null;
  if (a instanceof Date || b instanceof Date) {
    const x = cellTime(a), y = cellTime(b);
    if (!x || !y) return null;
    return x.getTime() < y.getTime() ? -1 : x.getTime() > y.getTime() ? 1 : 0;
  }
  if (typeof a === 'string' && typeof b === 'string') return a === b ? 0 : cmpCp(a, b);
  if (typeof a === 'boolean' && typeof b === 'boolean') return a === b ? 0 : a ? 1 : -1;
  const x = typeof a === 'bigint' || typeof a === 'number' ? a : null;
  const y = typeof b === 'bigint' || typeof b === 'number' ? b : null;
  if (x === null || y === null) return null;
  if ((typeof x === 'number' && Number.isNaN(x)) || (typeof y === 'number' && Number.isNaN(y))) return NaN;
  return x < y ? -1 : x > y ? 1 : 0;
}

function cmpCp(a: string, b: string): number {
  const x = codePoints(a), y = codePoints(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const p = x[i]!.codePointAt(0)!, q = y[i]!.codePointAt(0)!;
    if (p !== q) return p < q ? -1 : 1;
  }
  return x.length < y.length ? -1 : x.length > y.length ? 1 : 0;
}

export function applyCompare(op: CompareOp, c: number | null): boolean | null {
  if (c === null) return null;
  if (Number.isNaN(c)) return op === '!=';
  switch (op) {
    case '=': return c === 0;
    case '!=': return c !== 0;
    case '<': return c < 0;
    case '<=': return c <= 0;
    case '>': return c > 0;
    case '>=': return c >= 0;
  }
}

/**
 * The value of `v` on a row (cells by column name). `evalPred` evaluates a predicate (passed in
 * to keep this module free of the filter evaluator, which calls back here).
 */
export function evalValue(v: Value, row: Readonly<Record<string, unknown>>, evalPred: (e: Expr) => boolean | null): Cell {
  const E = (x: Value) => evalValue(x, row, evalPred);
  switch (v.kind) {
    case 'col': {
      if (v.expr) return E(v.expr);
      const c = row[v.name];
      return c === undefined ? null : (c as Cell);
    }
    case 'lit':
      return literalCell(v);
    case 'neg': {
      const a = E(v.arg);
      if (a === null) return null;
      if (typeof a === 'bigint') return int64(-a);
      return -(toNum(a) as number);
    }
    case 'arith': {
      const a = E(v.left), b = E(v.right);
      if (a === null || b === null) return null;
      if (a instanceof Date || b instanceof Date) {
        if (a instanceof Date && b instanceof Date) return BigInt(Math.round((a.getTime() - b.getTime()) / DAY_MS));
        const [d, n] = a instanceof Date ? [a, toNum(b)!] : [b as Date, toNum(a)!];
        const out = new Date(d.getTime() + (v.op === '-' ? -n : n) * DAY_MS);
        return Number.isNaN(out.getTime()) ? null : out; // beyond the dates a Date holds: null
      }
      if (v.op === '/') {
        const y = toNum(b)!;
        return y === 0 ? null : toNum(a)! / y;
      }
      // int64 arithmetic when both operands are integers: an int64 cell (bigint) or an integer literal;
      // a number cell may be a float column's integral value, so it takes float arithmetic (as SQL
      // does for a float column; an int32 cell gives the same result there within 2^53)
      const intLike = (c: Cell, node: Value) => typeof c === 'bigint' || (node.kind === 'lit' && literalType(node) === 'int' && isInt(c));
      if (intLike(a, v.left) && intLike(b, v.right)) {
        const x = BigInt(a as number | bigint), y = BigInt(b as number | bigint);
        switch (v.op) {
          case '+': return int64(x + y);
          case '-': return int64(x - y);
          case '*': return int64(x * y);
          case '%': return y === 0n ? null : x % y;
        }
      }
      const x = toNum(a)!, y = toNum(b)!;
      switch (v.op) {
        case '+': return x + y;
        case '-': return x - y;
        case '*': return x * y;
        case '%': return y === 0 ? null : x % y;
      }
      return null;
    }
    case 'cmpv':
      return applyCompare(v.op, compareCells(E(v.left), E(v.right)));
    case 'pred':
      return evalPred(v.arg);
    case 'case': {
      for (const w of v.whens) if (evalPred(w.when) === true) return E(w.then);
      return v.else !== undefined ? E(v.else) : null;
    }
    case 'cast':
      return castCell(E(v.arg), v.to);
    case 'call':
      return callCell(v, v.args.map(E));
  }
}

function castCell(a: Cell, to: string): Cell {
  if (a === null) return null;
  switch (to) {
    case 'int':
      if (typeof a === 'bigint') return a;
      if (typeof a === 'boolean') return a ? 1n : 0n;
      if (typeof a === 'string') {
        const s = a.trim();
        if (/^[+-]?\d+$/.test(s)) return int64(BigInt(s));
        const f = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(s) ? Number(s) : NaN;
        return Number.isNaN(f) ? null : castInt(f);
      }
      return typeof a === 'number' ? castInt(a) : null;
    case 'float': {
      if (typeof a === 'string') {
        const s = a.trim().toLowerCase();
        if (s === 'nan') return NaN;
        if (s === 'inf' || s === 'infinity' || s === '+inf' || s === '+infinity') return Infinity;
        if (s === '-inf' || s === '-infinity') return -Infinity;
        return /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(s) ? Number(s) : null;
      }
      return a instanceof Date ? null : toNum(a);
    }
    case 'bool':
      if (typeof a === 'boolean') return a;
      if (typeof a === 'string') {
        const s = a.trim().toLowerCase();
        return s === 'true' || s === 't' || s === '1' ? true : s === 'false' || s === 'f' || s === '0' ? false : null;
      }
      if (typeof a === 'number' || typeof a === 'bigint') return a != 0; // eslint-disable-line eqeqeq
      return null;
    case 'string':
      return castText(a);
    case 'date': {
      const d = cellTime(a);
      return d ? truncDate(d, 'day') : null;
    }
    case 'timestamp':
      return cellTime(a);
  }
  return null;
}

let lowerMap: ((s: string) => string) | null = null;

function callCell(v: Extract<Value, { kind: 'call' }>, a: Cell[]): Cell {
  const fn = v.fn;
  // (a float-typed coalesce or case of an int64 gives the int64 here: without column types the
  // evaluator cannot see the common type; values-sql.test.ts knows it as the evaluator's quirk)
  if (fn === 'coalesce') return a.find((x) => x !== null) ?? null;
  if (fn === 'concat') return a.map((x) => castText(x) ?? '').join('');
  if (a.some((x) => x === null) && fn !== 'date_trunc') return null;
  const n = (i: number) => toNum(a[i]!)!;
  switch (fn) {
    case '||': return castText(a[0]!)! + castText(a[1]!)!;
    case 'abs': return typeof a[0] === 'bigint' ? int64(a[0] < 0n ? -a[0] : a[0]) : Math.abs(n(0));
    case 'sqrt': return n(0) < 0 ? null : Math.sqrt(n(0));
    case 'ln': return n(0) <= 0 ? null : Math.log(n(0));
    case 'log10': return n(0) <= 0 ? null : Math.log10(n(0));
    case 'log2': return n(0) <= 0 ? null : Math.log2(n(0));
    case 'exp': return Math.exp(n(0));
    case 'pow': return Math.pow(n(0), n(1));
    case 'floor': return typeof a[0] === 'bigint' ? a[0] : Math.floor(n(0));
    case 'ceil': return typeof a[0] === 'bigint' ? a[0] : Math.ceil(n(0));
    case 'round': {
      if (typeof a[0] === 'bigint') return a[0];
      const d = a.length > 1 ? n(1) : 0;
      const x = n(0);
      if (!Number.isFinite(x)) return x;
      const p = Math.pow(10, d);
      return d >= 0 ? roundHalfAway(x * p) / p : roundHalfAway(x / Math.pow(10, -d)) * Math.pow(10, -d);
    }
    case 'date_trunc': {
      const d = cellTime(a[1]!);
      return d ? truncDate(d, String(a[0]).toLowerCase() as TruncUnit) : null;
    }
    case 'lower': return (lowerMap ??= (s) => [...s].map((c) => { const l = c.toLowerCase(); return [...l].length === 1 ? l : c; }).join(''))(a[0] as string);
    case 'upper': return [...(a[0] as string)].map((c) => { const u = c.toUpperCase(); return [...u].length === 1 ? u : c; }).join('');
    case 'length': return BigInt(codePoints(a[0] as string).length);
    case 'substr': {
      const cps = codePoints(a[0] as string);
      const start = Number(a[1]);
      const len = a.length > 2 ? Number(a[2]) : Infinity;
      // SQL: characters [start, start + len) with 1-based start; positions before 1 count but hold nothing
      const lo = Math.max(start, 1), hi = len === Infinity ? Infinity : start + Math.max(len, 0);
      return hi <= lo ? '' : cps.slice(lo - 1, hi === Infinity ? undefined : hi - 1).join('');
    }
    case 'contains': return (a[0] as string).includes(a[1] as string);
    case 'starts_with': return (a[0] as string).startsWith(a[1] as string);
    case 'ends_with': return (a[0] as string).endsWith(a[1] as string);
  }
  if ((DATE_PARTS as readonly string[]).includes(fn)) {
    const d = cellTime(a[0]!);
    return d ? datePart(d, fn as DatePart) : null;
  }
  throw new ExprError('E_BAD_EXPR', `unknown function ${fn}()`);
}
