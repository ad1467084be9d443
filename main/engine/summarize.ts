/**
 * Column summaries as the UI and the CLI show them: the native summary kernel's result turned into
 * wire values — exact int64 extremes as bigint, dates and timestamps as ISO text, histograms as
 * plain arrays — with the DataShape type of each column.
 */
import { summary as nativeSummary, summaryColumns as nativeSummaryColumns, type ColumnDesc, type ColumnSummary, type LogicalType } from '../../native/index';
import type { CompiledFilter } from './filter';
import type { ColumnSummaryInfo, SummaryValue } from '../../shared/api';
import type { Field } from '../../shared/datashape';

const MS_PER: Record<string, number> = { s: 1000, ms: 1, us: 1e-3, ns: 1e-6, day: 86_400_000 };

function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function isoTimestamp(v: number, unit: string): string {
  const ms = v * MS_PER[unit]!;
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) return String(v);
  const iso = new Date(Math.floor(ms)).toISOString(); // 2024-01-02T03:04:05.678Z
  if (unit === 'us' || unit === 'ns') {
    const digits = unit === 'us' ? 6 : 9;
    const frac = Math.round((((v % (unit === 'us' ? 1e6 : 1e9)) + (unit === 'us' ? 1e6 : 1e9)) % (unit === 'us' ? 1e6 : 1e9)));
    return iso.slice(0, 19) + '.' + String(frac).padStart(digits, '0') + 'Z';
  }
  return iso;
}

/** A stored number as the user reads it: ISO text for dates and timestamps. */
export function displayValue(v: number | bigint | string | undefined | null, logical?: LogicalType): SummaryValue {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v;
  if (logical?.type === 'date') return Number.isFinite(Number(v)) ? isoDate(Number(v) * MS_PER[logical.unit]!) : Number(v);
  if (logical?.type === 'timestamp') return Number.isFinite(Number(v)) ? isoTimestamp(Number(v), logical.unit) : Number(v);
  if (logical?.type === 'bool8') return Number(v) !== 0;
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v;
  return v;
}

function numericOrNull(v: number | undefined): number | null {
  return v === undefined || Number.isNaN(v) ? null : v;
}

export function toSummaryInfo(field: Field, col: ColumnDesc, s: ColumnSummary): ColumnSummaryInfo {
  const lg = col.logical;
  const out: ColumnSummaryInfo = {
    name: field.name,
    type: field.type,
    nullable: field.nullable,
    rows: s.rows,
    count: s.count,
    nulls: s.nulls,
    distinct: s.distinct,
    distinctExact: s.distinctExact === true,
  };
  if (s.nanCount !== undefined && (field.type === 'float32' || field.type === 'float64' || field.type === 'float16')) out.nanCount = s.nanCount;
  if (col.kind === 'numeric' || col.kind === 'bool') {
    const exact = (x: bigint | undefined, f: number | undefined) => (x !== undefined ? x : numericOrNull(f));
    out.min = displayValue(exact(s.minExact, s.min), lg);
    out.max = displayValue(exact(s.maxExact, s.max), lg);
    if (col.kind === 'bool') {
      out.min = s.min === undefined || Number.isNaN(s.min) ? null : s.min !== 0;
      out.max = s.max === undefined || Number.isNaN(s.max) ? null : s.max !== 0;
    }
    if (lg?.type === 'date' || lg?.type === 'timestamp') {
      const msPer = MS_PER[lg.unit]!;
      out.msPerUnit = msPer;
      if (s.mean !== undefined && !Number.isNaN(s.mean)) out.mean = displayValue(s.mean, lg) as string;
      // the spread of times is a duration: in milliseconds whatever the stored unit
      const std = numericOrNull(s.std);
      if (std !== null) out.std = std * msPer;
    } else if (col.kind === 'numeric') {
      out.mean = numericOrNull(s.mean) ?? undefined;
      out.std = numericOrNull(s.std) ?? undefined;
    }
    if (s.quantiles && col.kind === 'numeric') {
      const q = s.quantiles;
      const m = (v: number) => (Number.isNaN(v) ? null : displayValue(v, lg));
      out.quantiles = { p1: m(q.p1), p5: m(q.p5), p25: m(q.p25), p50: m(q.p50), p75: m(q.p75), p95: m(q.p95), p99: m(q.p99) };
      out.quantilesExact = s.quantilesExact === true;
    }
    if (s.histogram) out.histogram = { lo: s.histogram.lo, hi: s.histogram.hi, counts: Array.from(s.histogram.counts) };
  } else {
    if (s.minString !== undefined) out.min = s.minString;
    if (s.maxString !== undefined) out.max = s.maxString;
    out.minLength = numericOrNull(s.minLength) ?? undefined;
    out.maxLength = numericOrNull(s.maxLength) ?? undefined;
  }
  if (s.topk) {
    out.top = s.topk.map((t) => [col.kind === 'bool' ? Number(t.value) !== 0 : displayValue(t.value, lg), t.count]);
  }
  return out;
}

export async function summarizeColumn(
  field: Field,
  col: ColumnDesc,
  opts: { filter?: CompiledFilter; signal?: AbortSignal; bins?: number; topk?: number; onProgress?: (f: number) => void },
): Promise<ColumnSummaryInfo> {
  const s = await nativeSummary(col, {
    filter: opts.filter,
    signal: opts.signal,
    bins: opts.bins,
    topk: opts.topk,
    onProgress: opts.onProgress ? (p) => opts.onProgress!(p.fraction) : undefined,
  });
  return toSummaryInfo(field, col, s);
}

/**
 * Summaries of several columns of one dataset in one scan (plus one for all their histograms):
 * what summarizeColumn gives each, in the same order.
 */
export async function summarizeColumns(
  columns: readonly { field: Field; col: ColumnDesc }[],
  opts: { filter?: CompiledFilter; signal?: AbortSignal; bins?: number; topk?: number; onProgress?: (f: number) => void },
): Promise<ColumnSummaryInfo[]> {
  const s = await nativeSummaryColumns(
    columns.map((c) => c.col),
    {
      filter: opts.filter,
      signal: opts.signal,
      bins: opts.bins,
      topk: opts.topk,
      onProgress: opts.onProgress ? (p) => opts.onProgress!(p.fraction) : undefined,
    },
  );
  return s.map((x, i) => toSummaryInfo(columns[i]!.field, columns[i]!.col, x));
}
