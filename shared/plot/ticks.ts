/**
 * Axis ticks and labels from d3-scale: numbers (scaleLinear's nice 1-2-5 steps and formats) and
 * time (scaleUtc's calendar-aware steps) for date/timestamp columns, whose stored values are
 * converted with `msPerUnit` (days: 86,400,000; ms: 1; us: 0.001; ns: 1e-6; s: 1000).
 */
import { scaleLinear, scaleUtc } from 'd3-scale';

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
}

/** about one tick per `spacing` pixels */
export function axisTicks(lo: number, hi: number, pixels: number, axis: AxisKind = { kind: 'number' }, spacing = 80): Tick[] {
  if (!(hi > lo) || !Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  const count = Math.max(2, Math.round(pixels / spacing));
  if (axis.kind === 'time') {
    const k = axis.msPerUnit ?? 1;
    const s = scaleUtc().domain([new Date(lo * k), new Date(hi * k)]).range([0, 1]);
    const fmt = s.tickFormat(count);
    return s.ticks(count).map((d) => ({ value: d.getTime() / k, label: fmt(d), pos: s(d) }));
  }
  const s = scaleLinear().domain([lo, hi]).range([0, 1]);
  const fmt = s.tickFormat(count);
  return s.ticks(count).map((v) => ({ value: v, label: fmt(v).replace('−', '-'), pos: s(v) }));
}

/** short label of a value on an axis (hover, legend) */
export function formatAxisValue(v: number, axis: AxisKind = { kind: 'number' }): string {
  if (axis.kind === 'time') {
    const d = new Date(v * (axis.msPerUnit ?? 1));
    return Number.isNaN(d.getTime()) ? String(v) : d.toISOString().replace('T', ' ').replace(/\.000Z$|Z$/, '');
  }
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 1e6 || (Math.abs(v) < 1e-4 && v !== 0) ? v.toExponential(4) : String(Number(v.toPrecision(6)));
}
