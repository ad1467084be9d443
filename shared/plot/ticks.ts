/**
 * Axis ticks and labels from d3-scale: numbers (scaleLinear's nice 1-2-5 steps and formats) and
 * time (scaleUtc's calendar-aware steps) for date/timestamp columns, whose stored values are
 * converted with `msPerUnit` (days: 86,400,000; ms: 1; us: 0.001; ns: 1e-6; s: 1000). A time
 * tick's label is in the step's own unit (`14:30`, `Mar 08`, `March`, `2025`); the larger unit
 * the label leaves out (the date under hour ticks, the year under day and month ticks) is its
 * `context`, given on the first tick and wherever it changes, so the axis always says the year.
 */
import { scaleLinear, scaleUtc } from 'd3-scale';
import { MS, formatDuration, formatTime } from '../timefmt';

export interface AxisKind {
  kind: 'number' | 'time';
  /** time: milliseconds per stored unit */
  msPerUnit?: number;
}

export interface Tick {
  /** in the column's stored units */
  value: number;
  label: string;
  /** position in [0, 1] along the axis from its low end */
  pos: number;
  /** time axes: the larger unit the label leaves out (a year, a date), on the first tick and where it changes */
  context?: string;
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const p2 = (n: number) => String(n).padStart(2, '0');

/** a time tick's label and context for ticks `stepMs` apart */
function timeLabel(d: Date, stepMs: number): { label: string; context: string } {
  const y = String(d.getUTCFullYear()), mo = d.getUTCMonth(), day = p2(d.getUTCDate());
  const date = d.toISOString().slice(0, 10), hm = `${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}`;
  if (stepMs >= 360 * MS.day) return { label: y, context: '' };
  if (stepMs >= 28 * MS.day) return { label: MONTHS[mo]!, context: y };
  if (stepMs >= MS.day) return { label: `${MONTHS[mo]!.slice(0, 3)} ${day}`, context: y };
  if (stepMs >= MS.minute) return { label: hm, context: date };
  if (stepMs >= MS.second) return { label: `${hm}:${p2(d.getUTCSeconds())}`, context: date };
  // below a second: seconds and the fraction the step needs; the context down to the minute
  const digits = Math.min(3, Math.max(1, Math.ceil(-Math.log10(stepMs / 1000) - 1e-9)));
  return { label: `${p2(d.getUTCSeconds())}.${String(d.getUTCMilliseconds()).padStart(3, '0').slice(0, digits)}`, context: `${date} ${hm}` };
}

/** about one tick per `spacing` pixels */
export function axisTicks(lo: number, hi: number, pixels: number, axis: AxisKind = { kind: 'number' }, spacing = 80): Tick[] {
  if (!(hi > lo) || !Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  const count = Math.max(2, Math.round(pixels / spacing));
  if (axis.kind === 'time') {
    const k = axis.msPerUnit ?? 1;
    const s = scaleUtc().domain([new Date(lo * k), new Date(hi * k)]).range([0, 1]);
    const ds = s.ticks(count);
    // the smallest gap between ticks is the step (months and years vary in length)
    let step = Infinity;
    for (let i = 1; i < ds.length; i++) step = Math.min(step, ds[i]!.getTime() - ds[i - 1]!.getTime());
    if (!Number.isFinite(step)) step = (hi - lo) * k;
    let prev = '';
    return ds.map((d, i) => {
      const { label, context } = timeLabel(d, step);
      const t: Tick = { value: d.getTime() / k, label, pos: s(d) };
      if (context && (i === 0 || context !== prev)) t.context = context;
      prev = context;
      return t;
    });
  }
  const s = scaleLinear().domain([lo, hi]).range([0, 1]);
  const fmt = s.tickFormat(count);
  return s.ticks(count).map((v) => ({ value: v, label: fmt(v).replace('−', '-'), pos: s(v) }));
}

/**
 * Short label of a value on an axis (hover, legend). `resolution` (stored units, e.g. one pixel)
 * cuts a time to what the view can tell apart and a number to the digits that step needs.
 */
export function formatAxisValue(v: number, axis: AxisKind = { kind: 'number' }, resolution?: number): string {
  if (axis.kind === 'time') {
    const k = axis.msPerUnit ?? 1;
    return formatTime(v * k, resolution !== undefined ? resolution * k : undefined);
  }
  if (resolution !== undefined && resolution > 0 && Number.isFinite(resolution) && Math.abs(v) < 1e15) {
    const digits = Math.max(0, -Math.floor(Math.log10(resolution)));
    if (digits <= 12) return v.toFixed(digits);
  }
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 1e6 || (Math.abs(v) < 1e-4 && v !== 0) ? v.toExponential(4) : String(Number(v.toPrecision(6)));
}

/** A width along an axis (a histogram's bin): a duration on a time axis ("11.7 h"), else a number. */
export function formatAxisSpan(w: number, axis: AxisKind = { kind: 'number' }): string {
  if (axis.kind === 'time') return formatDuration(w * (axis.msPerUnit ?? 1));
  return formatAxisValue(w, axis);
}
