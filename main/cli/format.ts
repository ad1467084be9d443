/** Text and JSON output for the CLI: aligned tables for people, exact JSON for scripts. */
import type { ColumnSummaryInfo, DatasetSummary, FidelityReport, InnerDatasetInfo, SummaryValue } from '../../shared/api';
import { formatDuration } from '../../shared/timefmt';
import { caretExcerpt } from '../../shared/expr/errors';
import { CdxError } from '../../shared/errors';
import type { Vector } from 'apache-arrow';

/** JSON with bigint written as exact integer literals (int64 beyond 2^53 stays exact). */
export function exactJson(value: unknown, indent?: number): string {
  // a marker no real string contains (a fresh nonce), replaced by the bare digits afterwards
  const marker = `@cdx-bigint-${Math.random().toString(36).slice(2)}:`;
  const text = JSON.stringify(
    value,
    (_k, v) => (typeof v === 'bigint' ? marker + v.toString() : typeof v === 'number' && !Number.isFinite(v) ? String(v) : v),
    indent,
  );
  return text.replace(new RegExp(`"${marker}(-?\\d+)"`, 'g'), '$1');
}

/**
 * A whole number with thousands separators, as `n.toLocaleString('en-US')` writes it ("200,000,000")
 * without ICU: the first toLocaleString of a process sets up number formatting (about 14 ms).
 */
export function grouped(n: number): string {
  if (!Number.isSafeInteger(n)) return n.toLocaleString('en-US');
  const s = String(Math.abs(n)).replace(/\B(?=(\d{3})+$)/g, ',');
  return n < 0 ? `-${s}` : s;
}

export function cell(v: unknown, max = 40): string {
  let s: string;
  if (v === null || v === undefined) s = '∅';
  else if (typeof v === 'number') s = numberText(v);
  else if (typeof v === 'bigint') s = v.toString();
  else if (v instanceof Date) s = v.toISOString();
  else if (typeof v === 'object') s = exactJson(v);
  else s = String(v);
  s = s.replace(/[\r\n\t]/g, (c) => (c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
  return s.length > max ? s.slice(0, max - 1) + '…' : s;
}

/**
 * A float for people: integers below 2^53 whole, others to 8 significant digits; beyond 1e15 in
 * exponent form (a mean of int64 values near 2^63 written out in digits would look exact, and cut
 * to a column's width would read as another number).
 */
function numberText(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v) && Math.abs(v) <= Number.MAX_SAFE_INTEGER) return String(v);
  if (Math.abs(v) >= 1e15) return v.toPrecision(8).replace(/\.?0+e/, 'e').replace('e+', 'e');
  return String(Number(v.toPrecision(8)));
}

export function table(headers: string[], rows: string[][], rightAlign: boolean[] = []): string {
  const widths = headers.map((h, i) => Math.max([...h].length, ...rows.map((r) => [...(r[i] ?? '')].length)));
  const pad = (s: string, i: number) => (rightAlign[i] ? s.padStart(widths[i]!) : s.padEnd(widths[i]!));
  const line = (r: string[]) => r.map((c, i) => pad(c, i)).join('  ').trimEnd();
  return [line(headers), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Column types whose values are ISO text (dates, times, timestamps): shown whole, never cut. */
const TEMPORAL = /^(date|time|timestamp)\b/;

/**
 * A statistic as a table cell: a date or timestamp whole (a full ISO timestamp with nanoseconds
 * is 30 characters; cut, two extremes a second apart would read the same), anything else cut to
 * `max` characters (long strings, e.g. a text column's min and max).
 */
function sv(v: SummaryValue | undefined, type: string, max = 24): string {
  if (v === undefined) return '';
  return typeof v === 'string' && TEMPORAL.test(type) ? cell(v, Infinity) : cell(v, max);
}

export function summaryText(s: DatasetSummary, shape: string): string {
  const head = `${shape}\n${grouped(s.rows)} rows` + (s.filteredRows !== undefined ? `, ${grouped(s.filteredRows)} where ${s.where}` : '');
  const rows = s.columns.map((c) => [
    c.name,
    c.type,
    c.skipped ? '' : String(c.count),
    c.skipped ? '' : c.rows ? `${((100 * c.nulls) / c.rows).toFixed(1)}%` : '0.0%',
    c.distinct === undefined ? '' : c.distinctExact ? String(c.distinct) : `~${c.distinct}`,
    sv(c.min, c.type),
    sv(c.max, c.type),
    c.mean === undefined ? '' : sv(c.mean, c.type),
    // a date's or timestamp's std is a duration (ms on the wire): "105 d", "11.7 h"
    c.std === undefined ? '' : TEMPORAL.test(c.type) ? formatDuration(c.std) : cell(c.std, 12),
    c.quantiles ? (c.quantilesExact === false ? '≈' : '') + sv(c.quantiles.p50, c.type) : '',
    c.skipped ? `(${c.skipped})` : c.top ? c.top.slice(0, 3).map(([v, n]) => `${cell(v, 16)}:${n}`).join(' ') : '',
  ]);
  return head + '\n\n' + table(['column', 'type', 'count', 'nulls', 'distinct', 'min', 'max', 'mean', 'std', 'median', 'top'], rows, [false, false, true, true, true, true, true, true, true, true, false]);
}

/** `cdx summary --json`: the documented object shape. */
export function summaryJson(s: DatasetSummary): unknown {
  return {
    rows: s.rows,
    ...(s.filteredRows !== undefined ? { filteredRows: s.filteredRows, where: s.where } : {}),
    columns: s.columns.map((c: ColumnSummaryInfo) => ({
      name: c.name,
      type: c.type,
      count: c.count,
      nulls: c.nulls,
      ...(c.nanCount !== undefined ? { nan: c.nanCount } : {}),
      min: c.min ?? null,
      max: c.max ?? null,
      mean: c.mean ?? null,
      std: c.std ?? null,
      // a date's or timestamp's std is a duration in milliseconds
      ...(c.std !== undefined && TEMPORAL.test(c.type) ? { stdUnit: 'ms' } : {}),
      distinct: c.distinct ?? null,
      ...(c.distinct !== undefined ? { distinctApproximate: !c.distinctExact } : {}),
      quantiles: c.quantiles ? { ...c.quantiles, approximate: c.quantilesExact === false } : null,
      top: c.top ?? [],
      ...(c.minLength !== undefined ? { minLength: c.minLength, maxLength: c.maxLength } : {}),
      ...(c.skipped ? { skipped: c.skipped } : {}),
    })),
  };
}

/** A value read from Arrow as the user reads it: dates and timestamps as ISO text, float32 without float noise. */
export function displayCell(v: unknown, type?: string, unit?: string): unknown {
  if (v === null || v === undefined) return null;
  if (type === 'date' && (typeof v === 'number' || typeof v === 'bigint')) return new Date(Number(v)).toISOString().slice(0, 10);
  if (type === 'timestamp' && (typeof v === 'number' || typeof v === 'bigint')) {
    // apache-arrow returns epoch milliseconds for every timestamp unit
    const ms = Number(v);
    return Number.isFinite(ms) && Math.abs(ms) < 8.64e15 ? new Date(ms).toISOString() : String(v);
  }
  if (type === 'float32' && typeof v === 'number' && Number.isFinite(v)) return Number(v.toPrecision(7));
  void unit;
  return v;
}

const UNIT_DIGITS = [0, 3, 6, 9]; // arrow's TimeUnit: SECOND, MILLISECOND, MICROSECOND, NANOSECOND

/**
 * A timestamp from its raw int64 in `unit` (arrow's TimeUnit) as ISO text with the unit's digits
 * (µs: `.123456`, as the summary shows them), exact at any magnitude; outside the years JavaScript
 * dates reach, the raw number with its unit.
 */
export function timestampText(raw: bigint, unit: number): string {
  const digits = UNIT_DIGITS[unit] ?? 3;
  const scale = 10n ** BigInt(digits);
  let secs = raw / scale;
  let frac = raw % scale;
  if (frac < 0n) {
    frac += scale;
    secs -= 1n;
  }
  const ms = Number(secs) * 1000;
  if (!(Math.abs(ms) < 8.64e15)) return `${raw}${['s', 'ms', 'us', 'ns'][unit] ?? ''}`;
  const whole = new Date(ms).toISOString().slice(0, -5); // without ".000Z"
  return digits ? `${whole}.${frac.toString().padStart(digits, '0')}Z` : `${whole}Z`;
}

/**
 * The values of an Arrow column as the user reads them (`displayCell`), timestamps read from
 * their raw int64 so that micro- and nanoseconds survive (apache-arrow's `get` gives milliseconds).
 */
export function columnCells(v: Vector, type?: string, unit?: string): unknown[] {
  const out: unknown[] = [];
  const t = v.type as { typeId?: number; unit?: number };
  // arrow's Type.Timestamp is 10
  if (t.typeId === 10 && typeof t.unit === 'number') {
    let base = 0;
    for (const d of v.data) {
      const values = d.values as unknown as ArrayLike<bigint | number>;
      for (let i = 0; i < d.length; i++) {
        out.push(v.isValid(base + i) ? timestampText(BigInt(values[d.offset + i]!), t.unit) : null);
      }
      base += d.length;
    }
    return out;
  }
  for (let i = 0; i < v.length; i++) out.push(displayCell(v.get(i), type, unit));
  return out;
}

/**
 * A database's SQL error with the query line and a caret under the server's position (like a
 * compiler): the message's first line, then, for a query of several lines, `line N:`, then the
 * line and the caret. Returned as an error whose whole message the CLI prints.
 */
export class SqlErrorWithCaret extends CdxError {}

export function sqlErrorWithCaret(err: unknown, sql: string | undefined): unknown {
  const e = err as CdxError;
  if (!(e instanceof CdxError) || e.code !== 'E_SQL' || sql === undefined || typeof e.position !== 'number' || e.position < 0 || e.position > sql.length) return err;
  const first = e.message.split('\n')[0]!;
  const line = sql.slice(0, e.position).split('\n').length;
  const where = sql.includes('\n') ? `\n  line ${line}:` : '';
  return new SqlErrorWithCaret('E_SQL', `${first}${where}\n${caretExcerpt(sql, e.position)}`, {
    position: e.position, ...(e.file !== undefined ? { file: e.file } : {}),
  });
}

/** A connection's tables and views (`cdx schema URL`): name, kind, and the server's row estimate. */
export function relationsText(connection: string, items: InnerDatasetInfo[]): string {
  const n = items.length;
  const head = `${connection}: ${n} table${n === 1 ? '' : 's'} and view${n === 1 ? '' : 's'}`;
  if (!n) return head;
  const rows = items.map((r) => [r.inner, r.kind, r.rows === undefined ? '' : grouped(r.rows)]);
  return `${head}\n\n${table(['name', 'kind', 'rows (estimate)'], rows, [false, false, true])}\n\nopen one as ${connection}::NAME, or run a query with --sql "SELECT …"`;
}

/** An export's fidelity report as aligned text lines (`cdx convert`, before writing and for --dry-run). */
export function formatReport(r: FidelityReport, out?: string): string {
  const rows = r.columns.map((c) => [c.column, c.from, c.to, c.status, c.note ?? '']);
  const head = ['column', 'from', 'to', 'status', 'note'];
  const width = head.map((h, j) => Math.max(h.length, ...rows.map((x) => [...x[j]!].length)));
  const line = (x: string[]) => x.map((v, j) => (j < 4 ? v.padEnd(width[j]!) : v)).join('  ').trimEnd();
  return [
    `fidelity report: ${out ? out + ' ' : ''}(${r.format})`,
    line(head),
    ...rows.map(line),
    ...r.notes.map((n) => `note: ${n}`),
  ].join('\n');
}
