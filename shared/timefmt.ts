/**
 * Time and duration as people read them, for the app and the CLI alike: a timestamp as ISO text
 * (UTC, `YYYY-MM-DD HH:MM[:SS[.fff]]`) cut to a resolution (a plot's pixel, a histogram's bin),
 * a duration with its unit ("11.7 h", "250 ms"), the nice calendar step at or below a resolution,
 * and a stored date/timestamp value written exactly as ISO text (for filter literals that must
 * select the same rows as the number they replace). Imports nothing: shared by every layer.
 */

export const MS = { second: 1000, minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;

/** steps a rounded time may take, in ms (sub-millisecond steps are powers of ten) */
const STEPS_MS = [
  1, 2, 5, 10, 20, 50, 100, 200, 500,
  1000, 2000, 5000, 15_000, 30_000,
  60_000, 120_000, 300_000, 900_000, 1_800_000,
  3_600_000, 10_800_000, 21_600_000, 43_200_000,
  86_400_000,
];

/** The largest nice calendar step (ms) not above `ms` (1 day at most: coarser rounding would move a bound by days). */
export function timeStep(ms: number): number {
  if (!(ms > 0) || !Number.isFinite(ms)) return 1;
  if (ms < 1) return 10 ** Math.floor(Math.log10(ms));
  let best = 1;
  for (const s of STEPS_MS) if (s <= ms) best = s;
  return best;
}

/** how many fraction-of-second digits a step needs (0 for whole seconds and above) */
function fractionDigits(stepMs: number): number {
  if (stepMs >= 1000) return 0;
  return Math.min(9, Math.max(1, Math.ceil(-Math.log10(stepMs / 1000) - 1e-9)));
}

/**
 * Epoch milliseconds as `YYYY-MM-DD HH:MM:SS.fff` (UTC, no zone letter). With a resolution (ms):
 * a day or more shows the date alone, a minute or more `HH:MM`, a second or more `HH:MM:SS`,
 * finer steps as many fraction digits as they need. Without one: the whole value, with zero
 * seconds and fractions left off. Non-finite or out-of-range input comes back as the number.
 */
export function formatTime(ms: number, resolutionMs?: number): string {
  const d = new Date(Math.floor(ms));
  if (!Number.isFinite(ms) || Number.isNaN(d.getTime())) return String(ms);
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ (or ±YYYYYY-…)
  const t = iso.indexOf('T');
  const date = iso.slice(0, t), hm = iso.slice(t + 1, t + 6), sec = iso.slice(t + 7, t + 9);
  if (resolutionMs === undefined) {
    const sub = ms - Math.floor(ms / 1000) * 1000; // ms within the second, with any sub-ms part
    if (sub === 0) return sec === '00' ? (hm === '00:00' ? date : `${date} ${hm}`) : `${date} ${hm}:${sec}`;
    const frac = (sub / 1000).toFixed(Number.isInteger(sub) ? 3 : 6).slice(2).replace(/0+$/, '');
    return `${date} ${hm}:${sec}.${frac}`;
  }
  if (resolutionMs >= MS.day) return date;
  if (resolutionMs >= MS.minute) return `${date} ${hm}`;
  if (resolutionMs >= MS.second) return `${date} ${hm}:${sec}`;
  const digits = fractionDigits(resolutionMs);
  const sub = ms - Math.floor(ms / 1000) * 1000;
  return `${date} ${hm}:${sec}.${(sub / 1000).toFixed(digits).slice(2)}`;
}

const UNITS: [number, string][] = [
  [MS.day, 'd'],
  [MS.hour, 'h'],
  [MS.minute, 'min'],
  [MS.second, 's'],
  [1, 'ms'],
  [1e-3, 'µs'],
  [1e-6, 'ns'],
];

/** A duration in ms with its unit and three significant digits: "11.7 h", "42 d", "250 ms", "0 s". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms === 0) return '0 s';
  const a = Math.abs(ms);
  const [per, unit] = UNITS.find(([p]) => a >= p) ?? UNITS[UNITS.length - 1]!;
  const v = ms / per;
  const text = Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en-US') : String(Number(v.toPrecision(3)));
  return `${text} ${unit}`;
}

/** storage units per second for a time unit name (as in the engine's logical types and Field.unit) */
export const UNITS_PER_SECOND: Record<string, number> = { s: 1, ms: 1000, us: 1e6, ns: 1e9 };

/**
 * An integral stored value of a timestamp column as exact ISO text (`2001-04-13 22:30`,
 * `… 22:30:15.000123`), the unit's fraction digits kept where they are not zero; `dateOnly`
 * gives `YYYY-MM-DD` (the value must then be a UTC midnight). Exact for any safe integer, and for
 * larger ns values as far as the double holds them.
 */
export function storedTimeText(v: number, unitsPerSecond: number): string {
  const ups = BigInt(unitsPerSecond);
  const b = BigInt(Math.round(v));
  let s = b / ups, f = b % ups;
  if (f < 0n) {
    f += ups;
    s -= 1n;
  }
  const base = formatTime(Number(s) * 1000);
  if (f === 0n) return base;
  const digits = String(unitsPerSecond).length - 1;
  const frac = f.toString().padStart(digits, '0').replace(/0+$/, '');
  // base lacks seconds when they are zero: put them back before the fraction
  return (/ \d\d:\d\d$/.test(base) ? base + ':00' : / \d\d:\d\d:\d\d$/.test(base) ? base : base + ' 00:00:00') + '.' + frac;
}
