/**
 * Exact cell access for the writers: reads one Arrow cell in a canonical, lossless JS form
 * (int64/uint64 and temporal counts as bigint in the column's own unit, decimals as exact decimal
 * text, text as the decoded string, nested values as JSON text) and renders the text forms the
 * text writers share (ISO dates and timestamps at the unit's precision, floats that keep -0.0,
 * NaN and ±Inf). Nothing here rounds through a double unless the column is a float.
 */
import { Type, makeVector, util, type Data, type DataType, type Vector } from 'apache-arrow';
import type { Field, TimeUnit } from '../../../shared/datashape';
import { toJsonText } from '../sources/common';

export type CellKind =
  | 'bool' | 'int' | 'bigint' | 'float' | 'string' | 'binary' | 'date' | 'timestamp' | 'time' | 'duration'
  | 'decimal' | 'json';

/** How a column's cells are read: `kind` says what `get` returns (bigint for int64/uint64/temporal). */
export interface CellReader {
  kind: CellKind;
  /** the canonical value, or null */
  get(data: Data, i: number): unknown;
}

const unitOf: Record<number, TimeUnit> = { 0: 's', 1: 'ms', 2: 'us', 3: 'ns' };

export function decimalText(unscaled: bigint, scale: number): string {
  const neg = unscaled < 0n;
  let s = (neg ? -unscaled : unscaled).toString();
  if (scale > 0) {
    s = s.padStart(scale + 1, '0');
    s = s.slice(0, -scale) + '.' + s.slice(-scale);
  } else if (scale < 0) {
    s = s + '0'.repeat(-scale);
  }
  return (neg ? '-' : '') + s;
}

function vectorCache(): (data: Data) => Vector {
  let last: Data | undefined;
  let vec: Vector | undefined;
  return (data) => {
    if (data !== last) {
      last = data;
      vec = makeVector(data);
    }
    return vec!;
  };
}

/** A reader for one Arrow column type. */
export function cellReader(type: DataType): CellReader {
  const vec = vectorCache();
  switch (type.typeId) {
    case Type.Bool:
      return { kind: 'bool', get: (d, i) => (d.getValid(i) ? (vec(d).get(i) as boolean) : null) };
    case Type.Int: {
      const bw = (type as any).bitWidth as number;
      if (bw === 64) return { kind: 'bigint', get: (d, i) => (d.getValid(i) ? BigInt((d.values as BigInt64Array)[i]) : null) };
      return { kind: 'int', get: (d, i) => (d.getValid(i) ? Number((d.values as Int32Array)[i]) : null) };
    }
    case Type.Float: {
      const half = (type as any).precision === 0;
      return { kind: 'float', get: (d, i) => (d.getValid(i) ? (half ? util.uint16ToFloat64((d.values as Uint16Array)[i]) : (d.values as Float64Array)[i]) : null) };
    }
    case Type.Utf8: case Type.LargeUtf8: case Type.Utf8View:
      return { kind: 'string', get: (d, i) => (d.getValid(i) ? (vec(d).get(i) as string) : null) };
    case Type.Binary: case Type.LargeBinary: case Type.BinaryView: case Type.FixedSizeBinary:
      return { kind: 'binary', get: (d, i) => (d.getValid(i) ? (vec(d).get(i) as Uint8Array) : null) };
    case Type.Date: {
      const day = (type as any).unit === 0; // DateUnit.DAY
      return {
        kind: 'date',
        // days since the epoch, exact
        get: (d, i) => (d.getValid(i) ? (day ? (d.values as Int32Array)[i] : Math.floor(Number((d.values as BigInt64Array)[i]) / 86_400_000)) : null),
      };
    }
    case Type.Timestamp:
      return { kind: 'timestamp', get: (d, i) => (d.getValid(i) ? BigInt((d.values as BigInt64Array)[i]) : null) };
    case Type.Time:
      return { kind: 'time', get: (d, i) => (d.getValid(i) ? BigInt((d.values as any)[i]) : null) };
    case Type.Duration:
      return { kind: 'duration', get: (d, i) => (d.getValid(i) ? BigInt((d.values as BigInt64Array)[i]) : null) };
    case Type.Decimal: {
      const scale = (type as any).scale as number;
      const bw = (type as any).bitWidth as number;
      const words = bw / 32;
      return {
        kind: 'decimal',
        get: (d, i) => {
          if (!d.getValid(i)) return null;
          const v = d.values as Uint32Array;
          let x = 0n;
          for (let w = words - 1; w >= 0; w--) x = (x << 32n) | BigInt(v[i * words + w] >>> 0);
          return decimalText(BigInt.asIntN(bw, x), scale);
        },
      };
    }
    case Type.Dictionary: {
      const inner = cellReader((type as any).dictionary as DataType);
      return {
        kind: inner.kind,
        get: (d, i) => {
          if (!d.getValid(i)) return null;
          const key = Number((d.values as any)[i]);
          const dict = d.dictionary!;
          // the dictionary may be chunked; find the chunk holding `key`
          let k = key;
          for (const c of dict.data) {
            if (k < c.length) return inner.get(c, k);
            k -= c.length;
          }
          return null;
        },
      };
    }
    case Type.Null:
      return { kind: 'json', get: () => null };
    default:
      // nested, interval, union, map: JSON text
      return { kind: 'json', get: (d, i) => (d.getValid(i) ? toJsonText(vec(d).get(i)) : null) };
  }
}

export function timeUnitOf(type: DataType): TimeUnit {
  return unitOf[(type as any).unit as number] ?? 'us';
}

const perSecond: Record<TimeUnit, bigint> = { s: 1n, ms: 1000n, us: 1_000_000n, ns: 1_000_000_000n };
const digits: Record<TimeUnit, number> = { s: 0, ms: 3, us: 6, ns: 9 };

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/** Civil date (proleptic Gregorian) from days since 1970-01-01 (H. Hinnant's algorithm). */
export function dateText(days: number): string {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  let y = yoe + era * 400;
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) y += 1;
  const ys = y < 0 ? '-' + pad(-y, 4) : y > 9999 ? '+' + String(y) : pad(y, 4);
  return `${ys}-${pad(m)}-${pad(d)}`;
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && (a < 0n) !== (b < 0n) ? q - 1n : q;
}

/** `HH:MM:SS[.fff…]` for a count of `unit` since midnight (or within a day). */
function clockText(secOfDay: number, frac: bigint, unit: TimeUnit): string {
  const h = Math.floor(secOfDay / 3600);
  const mi = Math.floor((secOfDay % 3600) / 60);
  const s = secOfDay % 60;
  const fd = digits[unit];
  return `${pad(h)}:${pad(mi)}:${pad(s)}${fd ? '.' + frac.toString().padStart(fd, '0') : ''}`;
}

/** ISO 8601 text of a timestamp count: `2024-01-02T03:04:05.123456` plus `Z` when it has a zone (UTC instant). */
export function timestampText(count: bigint, unit: TimeUnit, utc: boolean, sep = 'T'): string {
  const ps = perSecond[unit];
  const secs = floorDiv(count, ps);
  const frac = count - secs * ps;
  const days = Number(floorDiv(secs, 86400n));
  const sod = Number(secs - BigInt(days) * 86400n);
  return `${dateText(days)}${sep}${clockText(sod, frac, unit)}${utc ? 'Z' : ''}`;
}

export function timeText(count: bigint, unit: TimeUnit): string {
  const ps = perSecond[unit];
  const secs = floorDiv(count, ps);
  return clockText(Number(secs), count - secs * ps, unit);
}

/** Float text that keeps -0.0, NaN and ±Inf (`nan`, `inf`, `-inf`: read by DuckDB, numpy and CDX). */
export function floatText(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  if (v === 0 && Object.is(v, -0)) return '-0.0';
  return String(v);
}

export function base64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
}

/** The field's type as DataShape text (for reports). */
export function typeLabel(f: Field): string {
  switch (f.type) {
    case 'timestamp': return f.tz ? `timestamp[${f.unit ?? 'us'}, tz='${f.tz}']` : `timestamp[${f.unit ?? 'us'}]`;
    case 'decimal': return `decimal[${f.precision ?? 38}, ${f.scale ?? 0}]`;
    case 'time': case 'duration': return `${f.type}[${f.unit ?? 'us'}]`;
    default: return f.type;
  }
}

/** A zone that ISO text with a `Z` suffix states completely. */
export function isUtcZone(tz: string | undefined): boolean {
  return !!tz && /^(utc|z|gmt|etc\/utc|etc\/gmt|[+-]00:?00)$/i.test(tz);
}
