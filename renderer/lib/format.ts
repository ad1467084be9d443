/** Number, size and cell formatting for the UI. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

export function formatNumber(v: number | null | undefined, digits = 6): string {
  if (v === null || v === undefined) return '—';
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+∞' : '−∞';
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return v.toLocaleString('en-US');
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-4 || a >= 1e15)) return v.toExponential(digits - 1);
  return Number(v.toPrecision(digits)).toLocaleString('en-US', { maximumFractionDigits: 10 });
}

/** A table cell's text: dates as YYYY-MM-DD, timestamps in full (UTC, no zone letter), float32 to its 7 digits. */
export function cellText(v: unknown, type: string): string {
  if (v === null || v === undefined) return '';
  if (type === 'date' && typeof v === 'number') return new Date(v).toISOString().slice(0, 10);
  if (type === 'timestamp' && typeof v === 'number') return new Date(v).toISOString().replace('T', ' ').replace('Z', '');
  if (type === 'float32' && typeof v === 'number') return String(Number(v.toPrecision(7)));
  if (typeof v === 'bigint') return v.toString();
  return String(v);
}

const ISO_TIME = /^[+-]?\d{4,6}-\d\d-\d\dT/;

/** A statistic's value as text: numbers grouped, timestamps (ISO text on the wire) without the zone letter and zero fractions. */
export function valueText(v: unknown): string {
  if (v === null || v === undefined) return '∅';
  if (typeof v === 'number') return formatNumber(v);
  if (typeof v === 'bigint') return v.toString();
  // 2025-01-01T00:21:33.130Z -> 2025-01-01 00:21:33.13
  if (typeof v === 'string' && ISO_TIME.test(v)) return v.replace('T', ' ').replace(/\.?0*Z$/, '');
  return String(v);
}

/** decimal places a number is written with (its shortest form; float32 at its 7 digits) */
function decimalsOf(v: number, type: string): number {
  if (!Number.isFinite(v)) return 0;
  const s = type === 'float32' ? String(Number(v.toPrecision(7))) : String(v);
  const m = /\.(\d+)(?:e([+-]\d+))?$/.exec(s) ?? /e([+-]\d+)$/.exec(s);
  if (!m) return 0;
  if (m.length === 2) return Math.max(0, -Number(m[1]));
  return Math.max(0, m[1]!.length - Number(m[2] ?? 0));
}

/**
 * A mean or std to the precision the numbers carry: one decimal more than the values it was
 * computed from are written with (integers: one decimal), at least 6 significant digits for
 * values written with many decimals, and the integer part always whole (a mean of ids near 1e10
 * is never rounded to 10,000,200,000). `samples`: values of the column (min, max, quantiles).
 */
export function formatStat(v: number | null | undefined, type: string, samples: readonly unknown[] = []): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return formatNumber(v);
  const intDigits = Math.max(1, Math.floor(Math.log10(Math.abs(v) || 1)) + 1);
  let data = 0;
  if (!/^u?int/.test(type)) for (const s of samples) if (typeof s === 'number') data = Math.max(data, decimalsOf(s, type));
  const digits = Math.min(data + 1, Math.max(0, 6 - intDigits), 10);
  // tiny values (std of 1e-7) keep their significant digits instead of rounding to 0
  if (Math.abs(v) < 10 ** -digits) return formatNumber(v, 3);
  return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export { formatDuration, formatTime } from '../../shared/timefmt';
