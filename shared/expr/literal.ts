/** Literal helpers shared by the parser, formatter, SQL compiler and evaluator. */
import type { ColumnRef, Literal } from './ast';

export const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
export const INT64_MIN = -(1n << 63n);
export const INT64_MAX = (1n << 63n) - 1n;
export const UINT64_MAX = (1n << 64n) - 1n;

/** Column reference. */
export function col(name: string): ColumnRef {
  return { kind: 'col', name };
}

/**
 * A literal from a JS value: bigint → a number when safe, else { int }; Date → { date } (ISO,
 * UTC; date-only when the time is midnight).
 */
export function lit(v: number | string | boolean | null | bigint | Date): Literal {
  if (typeof v === 'bigint') {
    if (v >= -MAX_SAFE && v <= MAX_SAFE) return { kind: 'lit', value: Number(v) };
    return { kind: 'lit', int: v.toString() };
  }
  if (v instanceof Date) {
    const iso = v.toISOString();
    return { kind: 'lit', date: iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso };
  }
  return { kind: 'lit', value: v } as Literal;
}

export type LiteralClass = 'null' | 'number' | 'int' | 'string' | 'bool' | 'date' | 'timestamp';

export function literalClass(l: Literal): LiteralClass {
  if ('int' in l) return 'int';
  if ('date' in l) return isDateOnly(l.date) ? 'date' : 'timestamp';
  const v = l.value;
  if (v === null) return 'null';
  if (typeof v === 'number') return 'number';
  if (typeof v === 'string') return 'string';
  return 'bool';
}

export function isDateOnly(s: string): boolean {
  return /^[+-]?\d{4,6}-\d{2}-\d{2}$/.test(s);
}

/** A parsed ISO date or timestamp: whole seconds since the epoch (UTC) and the fraction digits. */
export interface ParsedTime {
  /** whole seconds since 1970-01-01T00:00:00Z, offset applied */
  seconds: number;
  /** fractional-second digits as typed ('' when none), up to 9 */
  fraction: string;
  dateOnly: boolean;
  /** true when the text carried an explicit offset (Z or ±hh:mm) */
  zoned: boolean;
}

const DATE_RE = /^([+-]?\d{4,6})-(\d{2})-(\d{2})$/;
const TS_RE =
  /^([+-]?\d{4,6})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * Parse an ISO 8601 date (`2024-01-31`) or timestamp (`2024-01-31T10:00:00.5Z`, `… 10:00`,
 * `…+02:00`). A timestamp without an offset is taken as UTC. Returns null when not valid.
 */
export function parseTime(s: string): ParsedTime | null {
  let m = DATE_RE.exec(s);
  if (m) {
    const y = +m[1]!, mo = +m[2]!, d = +m[3]!;
    if (!validYMD(y, mo, d)) return null;
    return { seconds: utcSeconds(y, mo, d, 0, 0, 0), fraction: '', dateOnly: true, zoned: false };
  }
  m = TS_RE.exec(s);
  if (!m) return null;
  const y = +m[1]!, mo = +m[2]!, d = +m[3]!, h = +m[4]!, mi = +m[5]!, se = m[6] ? +m[6] : 0;
  if (!validYMD(y, mo, d) || h > 23 || mi > 59 || se > 59) return null;
  let seconds = utcSeconds(y, mo, d, h, mi, se);
  const z = m[8];
  if (z && z.toUpperCase() !== 'Z') {
    const sign = z[0] === '-' ? -1 : 1;
    const digits = z.slice(1).replace(':', '');
    const oh = +digits.slice(0, 2), om = digits.length > 2 ? +digits.slice(2, 4) : 0;
    if (oh > 23 || om > 59) return null;
    seconds -= sign * (oh * 3600 + om * 60);
  }
  return { seconds, fraction: m[7] ?? '', dateOnly: false, zoned: !!z };
}

function validYMD(y: number, mo: number, d: number): boolean {
  if (mo < 1 || mo > 12 || d < 1) return false;
  const dim = [31, (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  return d <= dim[mo - 1]!;
}

function utcSeconds(y: number, mo: number, d: number, h: number, mi: number, s: number): number {
  const dt = new Date(0);
  dt.setUTCFullYear(y, mo - 1, d);
  dt.setUTCHours(h, mi, s, 0);
  return dt.getTime() / 1000;
}

/** Milliseconds since the epoch, with the sub-millisecond part as a fraction (µs resolution). */
export function timeToMs(t: ParsedTime): number {
  return t.seconds * 1000 + (t.fraction ? +('0.' + t.fraction) * 1000 : 0);
}

/** `YYYY-MM-DD HH:MM:SS[.ffffff]` in UTC (no offset), as SQL engines read a plain timestamp. */
export function timeToUtcText(t: ParsedTime, sep = ' '): string {
  const dt = new Date(t.seconds * 1000);
  const iso = dt.toISOString(); // YYYY-MM-DDTHH:MM:SS.000Z (or ±YYYYYY-…)
  const base = iso.slice(0, iso.indexOf('.')).replace('T', sep);
  return t.fraction ? `${base}.${t.fraction}` : base;
}

/** Exact integer text within the 64-bit range (int64 ∪ uint64). */
export function isInt64Text(s: string): boolean {
  if (!/^-?\d+$/.test(s)) return false;
  const b = BigInt(s);
  return b >= INT64_MIN && b <= UINT64_MAX;
}

/** Numeric value of a number-ish literal as a JS number or bigint; undefined when not numeric. */
export function numericValue(l: Literal): number | bigint | undefined {
  if ('int' in l) return BigInt(l.int);
  if ('date' in l) return undefined;
  return typeof l.value === 'number' ? l.value : undefined;
}
