/**
 * DataShape: the readable type vocabulary of a dataset, shared by engine, renderer and CLI.
 * A dataset's shape prints as one line, e.g.
 *   `1000000 * {id: int64, name: ?string, price: float64, day: date}`
 * where `?` marks a nullable column (Blaze's DataShape, trimmed to what CDX reads).
 * Imports nothing: both sides of the process line use it.
 */

export type PrimitiveType =
  | 'bool'
  | 'int8' | 'int16' | 'int32' | 'int64'
  | 'uint8' | 'uint16' | 'uint32' | 'uint64'
  | 'float16' | 'float32' | 'float64'
  | 'string'
  | 'binary'
  | 'date'        // days since the epoch (Arrow Date32) or ms (Date64)
  | 'time'        // time of day
  | 'timestamp'   // see Field.unit / Field.tz
  | 'duration'
  | 'interval'
  | 'decimal'     // see Field.precision / Field.scale
  | 'json';       // nested list/struct/map/union values shown as JSON text; skipped by numeric kernels

export type TimeUnit = 's' | 'ms' | 'us' | 'ns';

export interface Field {
  name: string;
  type: PrimitiveType;
  nullable: boolean;
  /** timestamp/time/duration unit */
  unit?: TimeUnit;
  /** timestamp time zone, e.g. "UTC" or "Europe/Paris" */
  tz?: string;
  precision?: number;
  scale?: number;
  /** dictionary-encoded in the source (strings with few distinct values) */
  dictionary?: boolean;
  /** the original type's description where it was mapped (e.g. "list<int32>" shown as json) */
  original?: string;
  /** a computed column: its expression (not stored in the source; evaluated when read) */
  expr?: string;
}

export interface Schema {
  fields: Field[];
  metadata?: Record<string, string>;
}

export function isNumericType(t: PrimitiveType): boolean {
  return /^(u?int\d+|float\d+|decimal)$/.test(t);
}

export function isTemporalType(t: PrimitiveType): boolean {
  return t === 'date' || t === 'timestamp' || t === 'time' || t === 'duration';
}

function typeText(f: Field): string {
  switch (f.type) {
    case 'timestamp':
      return f.tz ? `timestamp[${f.unit ?? 'ms'}, tz='${f.tz}']` : `timestamp[${f.unit ?? 'ms'}]`;
    case 'decimal':
      return `decimal[${f.precision ?? 38}, ${f.scale ?? 0}]`;
    default:
      return f.type;
  }
}

/** Quote a field name when it is not a plain identifier (DataShape allows backquoted names). */
function nameText(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name : '`' + name.replace(/`/g, '``') + '`';
}

/** `N * {a: int64, b: ?string}`; rows may be unknown (`var`). */
export function formatDataShape(rows: number | bigint | null, schema: Schema): string {
  const cols = schema.fields.map((f) => `${nameText(f.name)}: ${f.nullable ? '?' : ''}${typeText(f)}`);
  return `${rows === null ? 'var' : String(rows)} * {${cols.join(', ')}}`;
}
