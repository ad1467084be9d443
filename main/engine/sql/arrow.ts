/**
 * Database rows (each cell the server's text, or null) as Arrow record batches of the dataset's
 * schema: the table's windows (Arrow IPC to the renderer) and exports (batches to the writers) use
 * the same types a local file of the same data gets. Times arrive as epoch numbers in the field's
 * unit (the pushdown selects them so: see timeSelect in dataset.ts), int64 as exact decimal text.
 */
import {
  Bool, DateDay, RecordBatch, Schema as ArrowSchema, Field as ArrowField, Struct,
  TimestampMicrosecond, TimestampMillisecond, TimestampNanosecond, TimestampSecond, Utf8,
  makeData, vectorFromArray, type DataType,
} from 'apache-arrow';
import type { Field } from '../../../shared/datashape';
import { arrowNumericType } from '../../../native/index';

export function arrowType(f: Field): DataType {
  switch (f.type) {
    case 'bool': return new Bool();
    case 'int8': case 'int16': case 'int32': case 'int64': case 'uint8': case 'uint16': case 'uint32': case 'uint64':
    case 'float32': case 'float64':
      return arrowNumericType(f.type);
    case 'date': return new DateDay();
    case 'timestamp': {
      const tz = f.tz ?? null;
      switch (f.unit) {
        case 's': return new TimestampSecond(tz);
        case 'ms': return new TimestampMillisecond(tz);
        case 'ns': return new TimestampNanosecond(tz);
        default: return new TimestampMicrosecond(tz);
      }
    }
    default: return new Utf8();
  }
}

export function arrowSchema(fields: Field[]): ArrowSchema {
  return new ArrowSchema(fields.map((f) => new ArrowField(f.name, arrowType(f), true)));
}

/** A float from a server's text: PostgreSQL's NaN/Infinity, ClickHouse's nan/inf. */
export function parseFloatText(s: string): number {
  switch (s) {
    case 'NaN': case 'nan': case '-nan': return NaN;
    case 'Infinity': case 'inf': case '+inf': return Infinity;
    case '-Infinity': case '-inf': return -Infinity;
    default: return Number(s);
  }
}

function bitmap(cells: (string | null)[], rows: number): { bits: Uint8Array; nulls: number } {
  const bits = new Uint8Array(Math.ceil(rows / 8));
  let nulls = 0;
  for (let i = 0; i < rows; i++) {
    if (cells[i] === null) nulls++;
    else bits[i >> 3]! |= 1 << (i & 7);
  }
  return { bits, nulls };
}

/** One column of cells as Arrow data of field `f`'s type. */
function columnData(f: Field, cells: (string | null)[]) {
  const type = arrowType(f);
  const n = cells.length;
  const { bits, nulls } = bitmap(cells, n);
  const nullBitmap = nulls ? bits : undefined;
  const base = { type, length: n, nullCount: nulls, nullBitmap } as const;
  switch (f.type) {
    case 'int64': case 'uint64': case 'timestamp': {
      const a = f.type === 'uint64' ? new BigUint64Array(n) : new BigInt64Array(n);
      for (let i = 0; i < n; i++) {
        const c = cells[i];
        if (c === null || c === undefined) continue;
        // timestamps come as epoch numbers in the unit (PostgreSQL's EXTRACT may add ".000000")
        const t = c.includes('.') || c.includes('e') ? BigInt(Math.round(Number(c))) : BigInt(c);
        (a as BigInt64Array)[i] = t as bigint;
      }
      return makeData({ ...base, data: a } as never);
    }
    case 'int8': case 'int16': case 'int32': case 'uint8': case 'uint16': case 'uint32': case 'date': {
      const C = f.type === 'int8' ? Int8Array : f.type === 'int16' ? Int16Array : f.type === 'int32' || f.type === 'date' ? Int32Array
        : f.type === 'uint8' ? Uint8Array : f.type === 'uint16' ? Uint16Array : Uint32Array;
      const a = new C(n);
      for (let i = 0; i < n; i++) {
        const c = cells[i];
        if (c !== null && c !== undefined) a[i] = Number(c);
      }
      return makeData({ ...base, data: a } as never);
    }
    case 'float32': case 'float64': {
      const a = f.type === 'float32' ? new Float32Array(n) : new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const c = cells[i];
        if (c !== null && c !== undefined) a[i] = parseFloatText(c);
      }
      return makeData({ ...base, data: a } as never);
    }
    case 'bool': {
      const a = new Uint8Array(Math.ceil(n / 8));
      for (let i = 0; i < n; i++) {
        const c = cells[i];
        if (c === 't' || c === 'true' || c === '1') a[i >> 3]! |= 1 << (i & 7);
      }
      return makeData({ ...base, data: a } as never);
    }
    default:
      return vectorFromArray(cells, new Utf8()).data[0]!;
  }
}

/** Rows of cells (columns in `fields` order) as one record batch. */
export function batchFromCells(fields: Field[], rows: (string | null)[][]): RecordBatch {
  const children = fields.map((f, j) => columnData(f, rows.map((r) => r[j] ?? null)));
  const schema = arrowSchema(fields);
  const data = makeData({ type: new Struct(schema.fields), length: rows.length, nullCount: 0, children });
  return new RecordBatch(schema, data);
}
