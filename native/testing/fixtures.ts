/**
 * Test support (only tests and benchmarks import a testing/ folder): writes small Arrow IPC files
 * with apache-arrow from plain JS columns (nulls as null, int64 as bigint), split into several
 * record batches, so that tests can compare native kernels with independent JS computations over
 * the same values.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Bool, DateDay, Dictionary, Float32, Float64, Int16, Int32, Int64, Int8, LargeUtf8, makeData, RecordBatch, Table,
  TimestampMillisecond, Uint16, Uint64, Uint8, Utf8, vectorFromArray, type DataType, type Vector, tableToIPC, Schema, Field,
  Struct,
} from 'apache-arrow';

export type Cell = number | bigint | string | boolean | null;

export const ARROW_TYPES = {
  int8: () => new Int8(), int16: () => new Int16(), int32: () => new Int32(), int64: () => new Int64(),
  uint8: () => new Uint8(), uint16: () => new Uint16(), uint64: () => new Uint64(),
  float32: () => new Float32(), float64: () => new Float64(), bool: () => new Bool(), utf8: () => new Utf8(),
  large_utf8: () => new LargeUtf8(), timestamp_ms: () => new TimestampMillisecond(), date_day: () => new DateDay(),
  dict: () => new Dictionary(new Utf8(), new Int32()),
} as const;
export type FixtureType = keyof typeof ARROW_TYPES;

export function tempDir(prefix = 'cdx-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * Writes an Arrow IPC file with the given columns split into `batches` record batches. Dictionary
 * columns share one dictionary across batches (the file format forbids replacements).
 */
export function writeArrowFile(path: string, cols: Record<string, { type: FixtureType; values: Cell[] }>, batches = 3): void {
  const names = Object.keys(cols);
  const n = names.length ? cols[names[0]!]!.values.length : 0;
  const dicts = new Map<string, { vec: Vector; index: Map<string, number> }>();
  for (const name of names) {
    const c = cols[name]!;
    if (c.type !== 'dict') continue;
    const uniq = [...new Set(c.values.filter((v): v is string => typeof v === 'string'))];
    dicts.set(name, { vec: vectorFromArray(uniq, new Utf8()), index: new Map(uniq.map((s, i) => [s, i])) });
  }
  const fields = names.map((name) => new Field(name, ARROW_TYPES[cols[name]!.type]() as DataType, true));
  const schema = new Schema(fields);
  const rbs: RecordBatch[] = [];
  const step = Math.max(1, Math.ceil(n / batches));
  for (let s = 0; s < n || (s === 0 && n === 0); s += step) {
    const e = Math.min(n, s + step);
    const children = names.map((name, k) => {
      const c = cols[name]!;
      const slice = c.values.slice(s, e);
      if (c.type === 'dict') {
        const d = dicts.get(name)!;
        const idx = new Int32Array(slice.length);
        const valid = new Uint8Array((slice.length + 7) >> 3);
        let nulls = 0;
        slice.forEach((v, i) => {
          if (v === null) nulls++;
          else { idx[i] = d.index.get(v as string)!; valid[i >> 3]! |= 1 << (i & 7); }
        });
        return makeData({ type: fields[k]!.type as Dictionary<Utf8, Int32>, length: slice.length, nullCount: nulls, nullBitmap: valid, data: idx, dictionary: d.vec });
      }
      let vals: unknown[] = slice;
      if (c.type === 'timestamp_ms' || c.type === 'date_day') vals = slice.map((v) => (v === null ? null : c.type === 'date_day' ? new Date(Number(v) * 86400000) : Number(v)));
      return vectorFromArray(vals as never, fields[k]!.type as never).data[0]!;
    });
    const len = e - s;
    rbs.push(new RecordBatch(schema, makeData({ type: new Struct(fields), length: len, nullCount: 0, children })));
    if (n === 0) break;
  }
  writeFileSync(path, tableToIPC(new Table(schema, rbs), 'file'));
}

/** Deterministic PRNG (mulberry32), the one the expression tests use. */
export { seeded as rng } from '../../shared/expr/testing/testgen';
