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
