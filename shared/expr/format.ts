/**
 * Canonical text form of an expression: `parseExpr(formatExpr(e))` gives back `e` (deep-equal),
 * except that a one-argument and/or prints as its argument alone, and an { int } literal within
 * ±(2^53 − 1) comes back as a plain number.
 *
 * Canonical choices: lower-case keywords; `=` and `!=`; strings in double quotes with backslash
 * escapes; columns bare when they are plain identifiers that are not keywords, else in backquotes
 * (a backquote doubled); numbers in the shortest form that reads back to the same double, with
 * integral floats beyond 2^53 in exponent form (so they stay floats); -0 as `-0`; `inf`, `-inf`,
 * `nan`; `date '…'` for a date-only literal, else `timestamp '…'`; `s ~ "re"` for a regular
 * expression (also when typed as matches(s, 're')).
 */
import type { ColumnRef, Expr, Literal, Value } from './ast';
import { CONTEXTUAL, RESERVED } from './parse';

export function formatColumn(c: Pick<ColumnRef, 'name' | 'expr'> | string): string {
  if (typeof c !== 'string' && c.expr) return formatOperand(c.expr);
  const name = typeof c === 'string' ? c : c.name;
  const lower = name.toLowerCase();
  if (/^[\p{L}_][\p{L}\p{N}_$]*$/u.test(name) && !RESERVED.has(lower) && !CONTEXTUAL.has(lower)) return name;
  return '`' + name.replace(/`/g, '``') + '`';
}

export function formatString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ch = s[i]!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || c === 0x7f || (c >= 0x80 && c < 0xa0) || c === 0x2028 || c === 0x2029) out += '\\u' + c.toString(16).padStart(4, '0');
    else if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        out += ch + s[i + 1];
        i++;
      } else out += '\\u' + c.toString(16);
    } else if (c >= 0xdc00 && c <= 0xdfff) out += '\\u' + c.toString(16);
    else out += ch;
  }
  return out + '"';
}

export function formatNumber(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  if (Object.is(v, -0)) return '-0';
  if (Number.isInteger(v) && !Number.isSafeInteger(v)) return v.toExponential();
  return String(v);
}

export function formatLiteral(l: Literal): string {
  if ('int' in l) return l.int;
  if ('date' in l) return (/^[+-]?\d{4,6}-\d{2}-\d{2}$/.test(l.date) ? 'date ' : 'timestamp ') + "'" + l.date.replace(/'/g, "''") + "'";
  const v = l.value;
  if (v === null) return 'null';
  if (typeof v === 'number') return formatNumber(v);
  if (typeof v === 'string') return formatString(v);
  return v ? 'true' : 'false';
}

/** 1 = or, 2 = and, 3 = not, 4 = atom */
function prec(e: Expr): number {
  if (e.kind === 'or' || e.kind === 'and') {
    if (e.args.length === 0) return 4;
    if (e.args.length === 1) return prec(e.args[0]!);
    return e.kind === 'or' ? 1 : 2;
  }
  return e.kind === 'not' ? 3 : 4;
}

function fmt(e: Expr, min: number): string {
  const s = fmtNode(e);
  return prec(e) < min ? `(${s})` : s;
}

function fmtNode(e: Expr): string {
  switch (e.kind) {
    case 'or':
    case 'and': {
      if (e.args.length === 0) return e.kind === 'and' ? 'true' : 'false';
      if (e.args.length === 1) return fmtNode(e.args[0]!);
      // a nested and/or of the same kind keeps its parentheses so the tree round-trips
      const min = e.kind === 'or' ? 2 : 3;
      return e.args.map((a) => fmt(a, min)).join(e.kind === 'or' ? ' or ' : ' and ');
    }
    case 'not':
      return 'not ' + fmt(e.arg, 3);
    case 'cmp':
      return `${formatColumn(e.left)} ${e.op} ${formatLiteral(e.right)}`;
    case 'in':
      return `${formatColumn(e.col)} ${e.negated ? 'not in' : 'in'} (${e.values.map(formatLiteral).join(', ')})`;
    case 'isnull':
      return `${formatColumn(e.col)} is ${e.negated ? 'not null' : 'null'}`;
    case 'between':
      return `${formatColumn(e.col)} ${e.negated ? 'not between' : 'between'} ${formatLiteral(e.lo)} and ${formatLiteral(e.hi)}`;
    case 'range':
      return `${formatColumn(e.col)} in [${formatNumber(e.lo)}, ${formatNumber(e.hi)})`;
    case 'match':
      if (e.op === 'like') return `${formatColumn(e.col)} ${e.negated ? 'not ' : ''}${e.icase ? 'ilike' : 'like'} ${formatString(e.pattern)}`;
      if (e.op === 'regex') return `${formatColumn(e.col)} ${e.negated ? '!' : ''}~${e.icase ? '*' : ''} ${formatString(e.pattern)}`;
      return `${e.op}(${formatColumn(e.col)}, ${formatString(e.pattern)})`;
    case 'test':
      return formatOperand(e.arg, true);
    case 'inpolygon':
      return `(${formatColumn(e.x)}, ${formatColumn(e.y)}) in polygon [${e.polygon
        .map(([x, y]) => `(${formatNumber(x)}, ${formatNumber(y)})`)
        .join(', ')}]`;
  }
}

/** The canonical text form (see the module comment). */
export function formatExpr(e: Expr): string {
  return fmtNode(e);
}

// ───────────────────────────── values ─────────────────────────────

/** Binding strength of a value node: 1 = || (concat), 2 = + -, 3 = * / %, 4 = unary minus, 5 = atom. */
function vprec(v: Value): number {
  switch (v.kind) {
    case 'call': return v.fn === '||' ? 1 : 5;
    case 'arith': return v.op === '+' || v.op === '-' ? 2 : 3;
    case 'neg': return 4;
    case 'cmpv':
    case 'pred': return 0;
    default: return 5;
  }
}

function vfmt(v: Value, min: number): string {
  const s = formatValue(v);
  return vprec(v) < min ? `(${s})` : s;
}

/** A value where a predicate's subject stands: comparisons and predicates in parentheses. */
function formatOperand(v: Value, asPredicate = false): string {
  if (asPredicate && v.kind === 'cmpv') return formatValue(v);
  return vfmt(v, 1);
}

/** The canonical text of a value expression (parseValue reads it back to the same tree). */
export function formatValue(v: Value): string {
  switch (v.kind) {
    case 'col':
      return formatColumn(v);
    case 'lit':
      return formatLiteral(v);
    case 'arith': {
      const p = vprec(v);
      // left-associative: the right operand of the same strength keeps its parentheses
      return `${vfmt(v.left, p)} ${v.op} ${vfmt(v.right, p + 1)}`;
    }
    case 'neg':
      return v.arg.kind === 'lit' ? `-(${formatValue(v.arg)})` : `-${vfmt(v.arg, 4)}`;
    case 'call':
      if (v.fn === '||') return `${vfmt(v.args[0]!, 1)} || ${vfmt(v.args[1]!, 2)}`;
      return `${v.fn}(${v.args.map((a) => formatValue(a)).join(', ')})`;
    case 'case':
      return `case ${v.whens.map((w) => `when ${formatExpr(w.when)} then ${formatValue(w.then)}`).join(' ')}${v.else !== undefined ? ` else ${formatValue(v.else)}` : ''} end`;
    case 'cast':
      return `cast(${formatValue(v.arg)} as ${v.to})`;
    case 'cmpv':
      return `${vfmt(v.left, 1)} ${v.op} ${vfmt(v.right, 1)}`;
    case 'pred':
      return formatExpr(v.arg);
  }
}
