/**
 * Computed columns for the native kernels: a value expression (shared/expr/ast.ts Value) over a
 * dataset's columns becomes a column descriptor whose chunks the kernels evaluate when they read
 * them (native/src/expr.h) — so a computed column is read by the summary, binning, filters,
 * group-by, sort, row windows and exports like any column, and is never written anywhere.
 *
 * Here the value is typed (shared/expr/value.ts is the contract; its errors point at the text),
 * dates and timestamps are tracked with their storage unit, and the tree becomes a postfix
 * program of monomorphic ops (every conversion explicit). Predicates used as values (case
 * conditions, `x > 0 and y > 0` as a column) become nested native filters.
 */
import { columnRows, computedChunks, type ColumnDesc, type ComputedDesc, type LogicalType, type NativeFilter } from '../../native/index';
import type { CompareOp, Expr, Literal, Value } from '../../shared/expr/ast';
import { ExprError } from '../../shared/expr/errors';
import { formatValue } from '../../shared/expr/format';
import { DATE_PARTS, TRUNC_UNITS } from '../../shared/expr/functions';
import { isDateOnly, parseTime } from '../../shared/expr/literal';
import { valuePosition } from '../../shared/expr/parse';
import { lowerTable, tablePairs, upperTable } from '../../shared/expr/strmatch';
import { typeValue, valueColumns, type VType } from '../../shared/expr/value';
import { compileFilter } from './filter';

/** Op codes: native/src/expr.cc Code. */
const OP = {
  COL: 1, LIT: 2, NUL: 3,
  ADD_I: 10, SUB_I: 11, MUL_I: 12, MOD_I: 13, NEG_I: 14, ABS_I: 15,
  ADD_F: 20, SUB_F: 21, MUL_F: 22, DIV_F: 23, MOD_F: 24, NEG_F: 25, ABS_F: 26, SQRT: 27, LN: 28, LOG10: 29, LOG2: 30, EXP: 31, POW: 32, ROUND: 33, FLOOR: 34, CEIL: 35,
  I2F: 40, F2I: 41, B2I: 42, I2B: 43, F2B: 44, SCALE_I: 45, FLOORDIV_I: 46,
  PART: 50, TRUNC: 51,
  LOWER: 60, UPPER: 61, LENGTH: 62, SUBSTR: 63, CONCAT: 64, CONTAINS: 65, STARTS: 66, ENDS: 67, TOSTR: 68, STR2I: 69, STR2F: 70, STR2B: 71, STR2DATE: 72, STR2TS: 73,
  CMP: 80, COALESCE: 81, IFELSE: 82, PRED: 83,
} as const;

/** Register types: native/src/expr.cc VT. */
const R = { F: 0, I: 1, B: 2, S: 3 } as const;

/** One op of a computed column's program (its shape is native/index.ts ComputedDesc's). */
type ValueOp = ComputedDesc['code'][number];

type Unit = 'day' | 'ms' | 's' | 'us' | 'ns';
interface TT {
  k: VType;
  /** dates and timestamps: the storage unit of the int64 register */
  unit?: Unit;
  tz?: string | null;
}
interface Frag {
  t: TT;
  code: ValueOp[];
}

const PER_DAY: Record<Unit, bigint> = { day: 1n, s: 86_400n, ms: 86_400_000n, us: 86_400_000_000n, ns: 86_400_000_000_000n };
const PER_SEC: Record<Unit, number> = { day: 0, s: 1, ms: 1000, us: 1_000_000, ns: 1_000_000_000 };
const FINER: Unit[] = ['day', 's', 'ms', 'us', 'ns'];
const CMP: Record<CompareOp, number> = { '=': 0, '!=': 1, '<': 2, '<=': 3, '>': 4, '>=': 5 };

const isStringCol = (c: ColumnDesc) => c.kind === 'utf8' || c.kind === 'large_utf8' || c.kind === 'dict';

/** The language type of a column (undefined: values cannot read it). */
export function columnVType(c: ColumnDesc): TT | undefined {
  if (isStringCol(c)) return { k: 'string' };
  if (c.kind === 'bool' || c.logical?.type === 'bool8') return { k: 'bool' };
  const lg = c.logical;
  if (lg?.type === 'date') return { k: 'date', unit: lg.unit };
  if (lg?.type === 'timestamp') return { k: 'timestamp', unit: lg.unit, tz: lg.timezone ?? null };
  if (c.kind !== 'numeric' || !c.dtype) return undefined;
  return c.dtype.startsWith('float') ? { k: 'float' } : { k: 'int' };
}

function fail(v: object, msg: string): never {
  const pos = valuePosition(v);
  throw new ExprError('E_BAD_EXPR', pos === undefined ? msg : `${msg} (at position ${pos})`, pos === undefined ? {} : { position: pos });
}

function regOf(t: TT): number {
  return t.k === 'float' ? R.F : t.k === 'bool' ? R.B : t.k === 'string' ? R.S : R.I;
}

/**
 * Compiles `value` into a computed column named `name` over the columns `resolve` gives (it throws
 * for an unknown column, naming the dataset). Type errors are E_TYPE_MISMATCH at the position.
 */
export function computedColumn(name: string, value: Value, resolve: (name: string) => ColumnDesc, rowsHint?: number): ColumnDesc {
  // the shared typing first: its messages are the language's
  typeValue(value, (n) => {
    const t = columnVType(resolve(n));
    if (!t) throw new ExprError('E_TYPE_MISMATCH', `column '${n}' cannot be used in a computed value (its type is not one values hold)`, { column: n });
    return t.k;
  });
  const inputs: ColumnDesc[] = [];
  const inputIndex = new Map<string, number>();
  const preds: NativeFilter[] = [];
  let needLower = false, needUpper = false;

  const col = (n: string): Frag => {
    const c = resolve(n);
    const t = columnVType(c)!;
    let i = inputIndex.get(n);
    if (i === undefined) {
      i = inputs.length;
      inputs.push(c);
      inputIndex.set(n, i);
    }
    return { t, code: [{ op: OP.COL, a: i, b: regOf(t) }] };
  };

  const nul = (t: TT): Frag => ({ t, code: [{ op: OP.NUL, a: regOf(t) }] });

  const literal = (l: Literal): Frag => {
    if ('int' in l) return { t: { k: 'int' }, code: [{ op: OP.LIT, a: R.I, i: BigInt.asIntN(64, BigInt(l.int)).toString() }] };
    if ('date' in l) {
      const p = parseTime(l.date);
      if (!p) fail(l, `bad date or timestamp '${l.date}'`);
      if (isDateOnly(l.date)) return { t: { k: 'date', unit: 'day' }, code: [{ op: OP.LIT, a: R.I, i: String(Math.floor(p.seconds / 86400)) }] };
      const ns = BigInt(p.seconds) * 1_000_000_000n + BigInt((p.fraction || '0').padEnd(9, '0').slice(0, 9));
      const unit: Unit = ns % 1000n === 0n ? 'us' : 'ns';
      return { t: { k: 'timestamp', unit }, code: [{ op: OP.LIT, a: R.I, i: (unit === 'us' ? ns / 1000n : ns).toString() }] };
    }
    const x = l.value;
    if (x === null) return nul({ k: 'null' });
    if (typeof x === 'boolean') return { t: { k: 'bool' }, code: [{ op: OP.LIT, a: R.B, i: x ? '1' : '0' }] };
    if (typeof x === 'string') return { t: { k: 'string' }, code: [{ op: OP.LIT, a: R.S, s: x }] };
    if (Number.isSafeInteger(x) && !Object.is(x, -0)) return { t: { k: 'int' }, code: [{ op: OP.LIT, a: R.I, i: String(x) }] };
    return { t: { k: 'float' }, code: [{ op: OP.LIT, a: R.F, f: x }] };
  };

  /** `f` as type `to` (int → float, a null literal of any type, temporal units, text literals as times). */
  const as = (f: Frag, to: TT, v?: Value): Frag => {
    if (f.t.k === 'null') return nul(to);
    if (f.t.k === to.k && f.t.unit === to.unit) return f;
    if (f.t.k === 'int' && to.k === 'float') {
      const only = f.code.length === 1 && f.code[0]!.op === OP.LIT ? f.code[0]! : null;
      if (only) return { t: to, code: [{ op: OP.LIT, a: R.F, f: Number(only.i ?? 0) }] }; // a constant converted here
      return { t: to, code: [...f.code, { op: OP.I2F }] };
    }
    if (f.t.k === 'bool' && to.k === 'int') return { t: to, code: [...f.code, { op: OP.B2I }] };
    if (f.t.k === 'bool' && to.k === 'float') return { t: to, code: [...f.code, { op: OP.I2F }] };
    if ((f.t.k === 'date' || f.t.k === 'timestamp') && (to.k === 'date' || to.k === 'timestamp') && f.t.unit && to.unit) {
      const from = f.t.unit, dest = to.unit;
      if (from === dest) return { t: to, code: f.code };
      const nsOf = (u: Unit) => (u === 'day' ? 86_400_000_000_000n : BigInt(1_000_000_000 / PER_SEC[u]));
      const nf = nsOf(from), nt = nsOf(dest);
      if (nf > nt) return { t: to, code: [...f.code, { op: OP.SCALE_I, i: (nf / nt).toString() }] };
      return { t: to, code: [...f.code, { op: OP.FLOORDIV_I, i: (nt / nf).toString() }] };
    }
    if (f.t.k === 'string' && (to.k === 'date' || to.k === 'timestamp') && v?.kind === 'lit' && typeof (v as { value?: unknown }).value === 'string') {
      const text = (v as { value: string }).value;
      const p = parseTime(text);
      if (!p) fail(v, `'${text}' is not a date or time: write 'YYYY-MM-DD' or 'YYYY-MM-DD HH:MM[:SS]'`);
      const ns = BigInt(p.seconds) * 1_000_000_000n + BigInt((p.fraction || '0').padEnd(9, '0').slice(0, 9));
      const per = to.unit === 'day' ? 86_400_000_000_000n : BigInt(1_000_000_000 / PER_SEC[to.unit!]);
      const q = ns / per - (ns % per !== 0n && ns < 0n ? 1n : 0n);
      return { t: to, code: [{ op: OP.LIT, a: R.I, i: q.toString() }] };
    }
    fail(v ?? f, `cannot use ${f.t.k} as ${to.k}`);
  };

  const finer = (a: TT, b: TT): TT => {
    const u = FINER[Math.max(FINER.indexOf(a.unit ?? 'day'), FINER.indexOf(b.unit ?? 'day'))]!;
    return { k: u === 'day' && a.k === 'date' && b.k === 'date' ? 'date' : a.k === 'timestamp' || b.k === 'timestamp' ? 'timestamp' : 'date', unit: u, tz: a.tz ?? b.tz ?? null };
  };

  /** The common type of branches (as value.ts commonType, with units). */
  const common = (ts: TT[]): TT => {
    let r: TT = { k: 'null' };
    for (const t of ts) {
      if (t.k === 'null') continue;
      if (r.k === 'null') r = t;
      else if ((r.k === 'int' || r.k === 'float') && (t.k === 'int' || t.k === 'float')) r = { k: r.k === 'float' || t.k === 'float' ? 'float' : 'int' };
      else if ((r.k === 'date' || r.k === 'timestamp') && (t.k === 'date' || t.k === 'timestamp')) r = finer(r, t);
    }
    return r.k === 'null' ? { k: 'float' } : r;
  };

  const predicate = (e: Expr): Frag => {
    // a predicate as a bool value: a nested native filter over (possibly computed) columns
    const f = compileFilter(e, (n) => resolve(n));
    preds.push(f);
    return { t: { k: 'bool' }, code: [{ op: OP.PRED, a: preds.length - 1 }] };
  };

  const C = (v: Value): Frag => {
    switch (v.kind) {
      case 'col':
        return v.expr ? C(v.expr) : col(v.name);
      case 'lit':
        return literal(v);
      case 'neg': {
        const a = C(v.arg);
        if (a.t.k === 'null') return a;
        return { t: a.t, code: [...a.code, { op: a.t.k === 'int' ? OP.NEG_I : OP.NEG_F }] };
      }
      case 'arith': {
        const a = C(v.left), b = C(v.right);
        const ka = a.t.k === 'null' ? b.t.k : a.t.k, kb = b.t.k === 'null' ? a.t.k : b.t.k;
        if (ka === 'date' || kb === 'date') {
          if (ka === 'date' && kb === 'date') {
            // days between: both in days
            const x = as(a, { k: 'date', unit: 'day' }), y = as(b, { k: 'date', unit: 'day' });
            return { t: { k: 'int' }, code: [...x.code, ...y.code, { op: OP.SUB_I }] };
          }
          const d = ka === 'date' ? a : b, n = ka === 'date' ? b : a;
          const unit = d.t.unit ?? 'day';
          const days = as(n, { k: 'int' });
          const scaled = unit === 'day' ? days.code : [...days.code, { op: OP.SCALE_I, i: PER_DAY[unit].toString() }];
          const dd = as(d, { k: 'date', unit });
          return { t: { k: 'date', unit }, code: ka === 'date' ? [...dd.code, ...scaled, { op: v.op === '-' ? OP.SUB_I : OP.ADD_I }] : [...scaled, ...dd.code, { op: OP.ADD_I }] };
        }
        const intOp = ka !== 'float' && kb !== 'float' && v.op !== '/';
        const t: TT = { k: intOp ? 'int' : 'float' };
        const x = as(a, t), y = as(b, t);
        const op = intOp
          ? { '+': OP.ADD_I, '-': OP.SUB_I, '*': OP.MUL_I, '%': OP.MOD_I, '/': OP.DIV_F }[v.op]
          : { '+': OP.ADD_F, '-': OP.SUB_F, '*': OP.MUL_F, '%': OP.MOD_F, '/': OP.DIV_F }[v.op];
        // a constant on the right: an immediate (no register filled with it per batch)
        const k = y.code.length === 1 && y.code[0]!.op === OP.LIT ? y.code[0]! : null;
        if (k && (k.a === R.F || k.a === R.I)) return { t, code: [...x.code, k.a === R.F ? { op, b: 1, f: k.f ?? 0 } : { op, b: 1, i: k.i ?? '0' }] };
        return { t, code: [...x.code, ...y.code, { op }] };
      }
      case 'cmpv': {
        let a = C(v.left), b = C(v.right);
        let t: TT;
        const temporal = (x: TT) => x.k === 'date' || x.k === 'timestamp';
        if (temporal(a.t) && b.t.k === 'string') b = as(b, a.t, v.right);
        else if (temporal(b.t) && a.t.k === 'string') a = as(a, b.t, v.left);
        if (temporal(a.t) && temporal(b.t)) t = finer(a.t, b.t);
        else t = common([a.t, b.t]);
        if (a.t.k === 'null' || b.t.k === 'null') return nul({ k: 'bool' });
        return { t: { k: 'bool' }, code: [...as(a, t).code, ...as(b, t).code, { op: OP.CMP, a: CMP[v.op] }] };
      }
      case 'pred':
        return predicate(v.arg);
      case 'case': {
        const branches = [...v.whens.map((w) => C(w.then)), ...(v.else !== undefined ? [C(v.else)] : [])];
        const t = common(branches.map((b) => b.t));
        let acc: Frag = v.else !== undefined ? as(branches[branches.length - 1]!, t) : nul(t);
        for (let k = v.whens.length - 1; k >= 0; k--) {
          const cond = predicate(v.whens[k]!.when);
          acc = { t, code: [...cond.code, ...as(branches[k]!, t).code, ...acc.code, { op: OP.IFELSE }] };
        }
        return acc;
      }
      case 'cast':
        return cast(v, C(v.arg));
      case 'call':
        return call(v);
    }
  };

  const cast = (v: Extract<Value, { kind: 'cast' }>, a: Frag): Frag => {
    const to = v.to;
    if (a.t.k === 'null') return nul(to === 'date' ? { k: 'date', unit: 'day' } : to === 'timestamp' ? { k: 'timestamp', unit: 'us' } : { k: to });
    if (to === 'string') {
      if (a.t.k === 'string') return a;
      if (a.t.k === 'date' || a.t.k === 'timestamp') {
        const u = a.t.unit!;
        const dateOnly = a.t.k === 'date';
        return { t: { k: 'string' }, code: [...a.code, { op: OP.TOSTR, b: 1, i: PER_DAY[u].toString(), f: dateOnly ? 0 : PER_SEC[u] }] };
      }
      return { t: { k: 'string' }, code: [...a.code, { op: OP.TOSTR }] };
    }
    if (a.t.k === 'string') {
      if (to === 'int') return { t: { k: 'int' }, code: [...a.code, { op: OP.STR2I }] };
      if (to === 'float') return { t: { k: 'float' }, code: [...a.code, { op: OP.STR2F }] };
      if (to === 'bool') return { t: { k: 'bool' }, code: [...a.code, { op: OP.STR2B }] };
      if (to === 'date') return { t: { k: 'date', unit: 'day' }, code: [...a.code, { op: OP.STR2DATE, i: '1' }] };
      return { t: { k: 'timestamp', unit: 'us' }, code: [...a.code, { op: OP.STR2TS, i: '1000000' }] };
    }
    switch (to) {
      case 'int':
        if (a.t.k === 'int') return a;
        if (a.t.k === 'bool') return { t: { k: 'int' }, code: [...a.code, { op: OP.B2I }] };
        return { t: { k: 'int' }, code: [...a.code, { op: OP.F2I }] };
      case 'float':
        return as(a, { k: 'float' }, v);
      case 'bool':
        if (a.t.k === 'bool') return a;
        return { t: { k: 'bool' }, code: [...a.code, { op: a.t.k === 'int' ? OP.I2B : OP.F2B }] };
      case 'date':
        if (a.t.k === 'date') return a;
        return as({ t: { k: 'date', unit: a.t.unit! }, code: a.code }, { k: 'date', unit: 'day' });
      case 'timestamp':
        if (a.t.k === 'timestamp') return a;
        return as({ t: { k: 'timestamp', unit: a.t.unit! }, code: a.code }, { k: 'timestamp', unit: a.t.unit === 'day' ? 'us' : a.t.unit! });
    }
  };

  const call = (v: Extract<Value, { kind: 'call' }>): Frag => {
    const fn = v.fn;
    if (fn === 'date_trunc') {
      const unit = String((v.args[0] as { value: string }).value).toLowerCase();
      const a = C(v.args[1]!);
      if (a.t.k === 'null') return a;
      const u = a.t.unit!;
      return { t: a.t, code: [...a.code, { op: OP.TRUNC, a: TRUNC_UNITS.indexOf(unit as never), i: PER_DAY[u].toString(), f: a.t.k === 'date' && u === 'day' ? 0 : PER_SEC[u] }] };
    }
    const args = v.args.map(C);
    if (args.some((x) => x.t.k === 'null') && fn !== 'coalesce' && fn !== 'concat') {
      const out: TT = ['lower', 'upper', 'substr', '||'].includes(fn) ? { k: 'string' } : ['length'].includes(fn) || (DATE_PARTS as readonly string[]).includes(fn) ? { k: 'int' } : ['contains', 'starts_with', 'ends_with'].includes(fn) ? { k: 'bool' } : { k: 'float' };
      return nul(['abs', 'floor', 'ceil', 'round'].includes(fn) && args[0]!.t.k === 'int' ? { k: 'int' } : out);
    }
    const [a, b] = args as [Frag, Frag];
    const f1 = (op: number): Frag => ({ t: { k: 'float' }, code: [...as(a, { k: 'float' }).code, { op }] });
    switch (fn) {
      case 'abs': return a.t.k === 'int' ? { t: a.t, code: [...a.code, { op: OP.ABS_I }] } : f1(OP.ABS_F);
      case 'floor': return a.t.k === 'int' ? a : f1(OP.FLOOR);
      case 'ceil': return a.t.k === 'int' ? a : f1(OP.CEIL);
      case 'round': {
        if (a.t.k === 'int') return a;
        const x = as(a, { k: 'float' });
        if (args.length === 1) return { t: { k: 'float' }, code: [...x.code, { op: OP.ROUND, a: 0, i: '0' }] };
        return { t: { k: 'float' }, code: [...x.code, ...as(b, { k: 'int' }).code, { op: OP.ROUND, a: 1 }] };
      }
      case 'sqrt': return f1(OP.SQRT);
      case 'ln': return f1(OP.LN);
      case 'log10': return f1(OP.LOG10);
      case 'log2': return f1(OP.LOG2);
      case 'exp': return f1(OP.EXP);
      case 'pow': return { t: { k: 'float' }, code: [...as(a, { k: 'float' }).code, ...as(b, { k: 'float' }).code, { op: OP.POW }] };
      case 'lower': needLower = true; return { t: a.t, code: [...a.code, { op: OP.LOWER }] };
      case 'upper': needUpper = true; return { t: a.t, code: [...a.code, { op: OP.UPPER }] };
      case 'length': return { t: { k: 'int' }, code: [...a.code, { op: OP.LENGTH }] };
      case 'substr': return { t: { k: 'string' }, code: [...args.flatMap((x) => x.code), { op: OP.SUBSTR, a: args.length }] };
      case 'contains': return { t: { k: 'bool' }, code: [...a.code, ...b.code, { op: OP.CONTAINS }] };
      case 'starts_with': return { t: { k: 'bool' }, code: [...a.code, ...b.code, { op: OP.STARTS }] };
      case 'ends_with': return { t: { k: 'bool' }, code: [...a.code, ...b.code, { op: OP.ENDS }] };
      case 'concat':
      case '||': {
        const texts = args.map((x, i) => (x.t.k === 'null' ? nul({ k: 'string' }) : cast({ kind: 'cast', arg: v.args[i]!, to: 'string' }, x)));
        return { t: { k: 'string' }, code: [...texts.flatMap((x) => x.code), { op: OP.CONCAT, a: texts.length, b: fn === 'concat' ? 1 : 0 }] };
      }
      case 'coalesce': {
        const t = common(args.map((x) => x.t));
        return { t, code: [...args.flatMap((x, i) => as(x, t, v.args[i]).code), { op: OP.COALESCE, a: args.length }] };
      }
    }
    if ((DATE_PARTS as readonly string[]).includes(fn)) {
      const u = a.t.unit!;
      return { t: { k: 'int' }, code: [...a.code, { op: OP.PART, a: DATE_PARTS.indexOf(fn as never), i: PER_DAY[u].toString(), f: PER_SEC[u] }] };
    }
    fail(v, `${fn}() is not available in computed columns`);
  };

  const frag = C(value);
  const t = frag.t.k === 'null' ? { k: 'float' as const } : frag.t;
  const code = frag.t.k === 'null' ? nul({ k: 'float' }).code : frag.code;
  // every column read, the nested conditions' too: the row count and the chunk boundaries
  const read = [...valueColumns(value)].map((n) => resolve(n));
  const rows = rowsHint ?? (read.length ? columnRows(read[0]!) : 0);
  const chunks = computedChunks(read, rows);
  const out: ComputedDesc['out'] = t.k === 'float' ? 'f64' : t.k === 'bool' ? 'bool' : t.k === 'string' ? 'str' : t.k === 'date' && t.unit === 'day' ? 'i32' : 'i64';
  const logical: LogicalType | undefined =
    t.k === 'date' ? { type: 'date', unit: t.unit === 'day' ? 'day' : 'ms' } : t.k === 'timestamp' ? { type: 'timestamp', unit: t.unit as 's' | 'ms' | 'us' | 'ns', timezone: t.tz ?? null } : undefined;
  const computed: ComputedDesc = {
    out, inputs, code, preds, text: formatValue(value),
    ...(needLower ? { lower: tablePairs(lowerTable()) } : {}),
    ...(needUpper ? { upper: tablePairs(upperTable()) } : {}),
  };
  return {
    name,
    file: inputs[0]?.file ?? '',
    kind: out === 'str' ? 'utf8' : out === 'bool' ? 'bool' : 'numeric',
    ...(out === 'f64' ? { dtype: 'float64' as const } : out === 'i64' ? { dtype: 'int64' as const } : out === 'i32' ? { dtype: 'int32' as const } : {}),
    chunks,
    ...(logical ? { logical } : {}),
    computed,
  };
}
