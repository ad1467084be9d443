/**
 * Group-by of a mapped dataset (Blaze's `by`): the keys and measures a user names, aggregated by
 * the native hash kernel (native/src/group.cc) over the dataset's mapped columns, under the
 * dataset's filter; the result is an Arrow table (keys with the dataset's own types, then one
 * column per measure) sorted as asked (by default by the keys, nulls last), optionally cut to the
 * first `limit` groups.
 *
 * Measures are written as in SQL: `count()` (rows), `count(x)` (non-null values), `sum(x)`,
 * `mean(x)` / `avg(x)`, `min(x)`, `max(x)`, `std(x)` / `stddev(x)` (sample), `var(x)`,
 * `distinct(x)` / `count_distinct(x)` / `approx_distinct(x)`, `median(x)`, `pNN(x)` (p99, p99.9)
 * and `quantile(x, 0.9)`; `… as NAME` names the result column, else it is `count`, `mean_x`, `p99_y`.
 */
import { Bool, Data, DataType, type Vector, DateDay, Field as ArrowField, Float64, Int64, LargeUtf8, RecordBatch, Schema as ArrowSchema, Struct, Table, Type, Utf8, makeData } from 'apache-arrow';
import type { Field, Schema } from '../../shared/datashape';
import { CdxError } from '../../shared/errors';
import { measureField, type GroupSpec, type Measure } from './measures';
import { groupByColumns, type GroupMeasureSpec } from '../../native/group';
import { columnRows, type ColumnDesc } from '../../native/index';
import type { RawGroupColumn } from '../../native/binding';
import { arrowTypeOf } from './sources/common';
import { computedColumn } from './expr-native';
import { computedField } from './computed';
import { datasetColumns } from './filter';
import { parseValue } from '../../shared/expr/parse';
import { formatValue } from '../../shared/expr/format';
import { gatherRows } from './writers/take';
import type { CompiledFilter } from './filter';

export { parseMeasures, measureField, type Measure, type MeasureFn, type GroupSpec } from './measures';

/** What the group-by needs of an opened dataset (datasets.ts OpenedDataset). */
export interface GroupDataset {
  location: string;
  schema: Schema;
  columns: Map<string, ColumnDesc>;
  unsupported?: Map<string, string>;
}

function fieldOf(ds: GroupDataset, name: string): Field {
  const f = ds.schema.fields.find((x) => x.name === name);
  if (!f) throw new CdxError('E_UNKNOWN_COLUMN', `${ds.location}: no column "${name}"`, { file: ds.location, column: name });
  return f;
}

function descOf(ds: GroupDataset, f: Field): ColumnDesc {
  const d = ds.columns.get(f.name);
  if (!d) throw new CdxError('E_UNSUPPORTED', `${ds.location}: column "${f.name}" (${f.type}) cannot be grouped or aggregated${ds.unsupported?.get(f.name) ? `: ${ds.unsupported.get(f.name)}` : ''}`, { file: ds.location, column: f.name });
  return d;
}

/** Measure types whose kernel values convert to doubles exactly as order()'s numericKey reads them (the native top-N's). */
const TOP_TYPES = new Set(['int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'float64']);

const NUMERIC = new Set(['int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'float32', 'float64', 'bool']);

function validityOf(valid: Uint8Array): { bitmap: Uint8Array | undefined; nulls: number } {
  const n = valid.length;
  let nulls = 0;
  for (let i = 0; i < n; i++) nulls += 1 - valid[i]!;
  if (!nulls) return { bitmap: undefined, nulls: 0 };
  const bm = new Uint8Array((n + 7) >> 3);
  for (let i = 0; i < n; i++) if (valid[i]) bm[i >> 3]! |= 1 << (i & 7);
  return { bitmap: bm, nulls };
}

/** One result column as Arrow Data of the field's type, from the kernel's raw column. */
function columnData(f: Field, raw: RawGroupColumn, desc: ColumnDesc | undefined, n: number): Data {
  const { bitmap, nulls } = validityOf(raw.valid);
  const type = arrowTypeOf(f);
  const base = { length: n, nullCount: nulls, nullBitmap: bitmap };
  if (raw.bytes && raw.offsets) {
    const total = raw.offsets[n] ?? 0;
    if (total < 2 ** 31) return makeData({ ...base, type: new Utf8(), valueOffsets: new Int32Array(raw.offsets), data: raw.bytes });
    return makeData({ ...base, type: new LargeUtf8(), valueOffsets: BigInt64Array.from(raw.offsets, (x) => BigInt(x)), data: raw.bytes });
  }
  if (raw.float) {
    if (f.type === 'float32') return makeData({ ...base, type, data: new Float32Array(raw.float) } as never);
    return makeData({ ...base, type: new Float64(), data: raw.float });
  }
  const i64 = new BigInt64Array(raw.int!);
  switch (f.type) {
    case 'int64': return makeData({ ...base, type: new Int64(), data: i64 });
    case 'uint64': return makeData({ ...base, type, data: new BigUint64Array(raw.int!) } as never);
    case 'bool': {
      const bits = new Uint8Array((n + 7) >> 3);
      for (let i = 0; i < n; i++) if (i64[i]) bits[i >> 3]! |= 1 << (i & 7);
      return makeData({ ...base, type: new Bool(), data: bits });
    }
    case 'date': {
      const ms = desc?.logical?.type === 'date' && desc.logical.unit === 'ms';
      const days = new Int32Array(n);
      for (let i = 0; i < n; i++) days[i] = ms ? Math.floor(Number(i64[i]) / 86_400_000) : Number(i64[i]);
      return makeData({ ...base, type: new DateDay(), data: days });
    }
    case 'timestamp': case 'time': case 'duration':
      if ((type as DataType & { bitWidth?: number }).bitWidth === 32) return makeData({ ...base, type, data: Int32Array.from(i64, Number) } as never);
      return makeData({ ...base, type, data: i64 } as never);
    default: {
      const Arr = (type as DataType & { ArrayType: { new (n: number): ArrayLike<number> & { [i: number]: number } } }).ArrayType;
      const out = new Arr(n);
      for (let i = 0; i < n; i++) out[i] = Number(i64[i]);
      return makeData({ ...base, type, data: out } as never);
    }
  }
}

/** Group order: a permutation of [0, n) by the sort columns (nulls last, NaN above numbers). */
function order(table: Table, sort: { name: string; desc: boolean }[], limit: number | undefined): Uint32Array | null {
  const n = table.numRows;
  if (!sort.length || n <= 1) return null;
  const cols = sort.map((s) => {
    const v = table.getChild(s.name)!;
    const vals: unknown[] = v.toArray() as unknown as unknown[];
    const isNull = new Uint8Array(n);
    if (v.nullCount) for (let i = 0; i < n; i++) isNull[i] = v.isValid(i) ? 0 : 1;
    const str = v.type.typeId === Type.Utf8 || v.type.typeId === Type.LargeUtf8;
    return { vals: str ? Array.from({ length: n }, (_, i) => v.get(i) as string | null) : vals, isNull, sign: s.desc ? -1 : 1, str };
  });
  const cmp = (a: number, b: number): number => {
    for (const c of cols) {
      const na = c.isNull[a]!, nb = c.isNull[b]!;
      if (na || nb) {
        if (na !== nb) return na - nb; // nulls last, whichever the direction
        continue;
      }
      const x = c.vals[a] as number | bigint | string, y = c.vals[b] as number | bigint | string;
      if (x === y) continue;
      if (typeof x === 'number' && typeof y === 'number') {
        const xn = x !== x, yn = y !== y;
        if (xn || yn) {
          if (xn && yn) continue;
          return (xn ? 1 : -1) * c.sign;
        }
      }
      if (typeof x === 'string' && typeof y === 'string') return cmpCodePoints(x, y) * c.sign;
      return (x < y ? -1 : 1) * c.sign;
    }
    return a - b;
  };
  // top-N of many groups: candidates by a threshold on the first sort column, then only they are sorted
  const k = limit ?? n;
  const first = cols[0]!;
  const key = k < n / 8 && !first.str && n > 4096 ? numericKey(table.getChild(sort[0]!.name)!, first.sign) : null;
  if (key) {
    let numbers = 0;
    for (let i = 0; i < n; i++) if (key[i] === key[i]) numbers++;
    if (numbers >= k) {
      // the numbers only (a plain loop: TypedArray filter/from cost seconds on millions)
      const nums = new Float64Array(numbers);
      for (let i = 0, o = 0; i < n; i++) if (key[i] === key[i]) nums[o++] = key[i]!;
      const t = kth(nums, k - 1);
      const cand: number[] = [];
      for (let i = 0; i < n; i++) if (key[i]! <= t) cand.push(i); // every number at or better than the k-th (ties included)
      cand.sort(cmp);
      return Uint32Array.from(cand.slice(0, k));
    }
  }
  const idx = Array.from({ length: n }, (_, i) => i);
  idx.sort(cmp);
  return Uint32Array.from(limit !== undefined ? idx.slice(0, limit) : idx);
}

/** `table` (one record batch) in the order of `sort` (nulls last, NaN above numbers, text by code point, ties by row), cut to `limit`. */
export function orderTable(table: Table, sort: { name: string; desc: boolean }[], limit?: number): Table {
  const perm = order(table, sort, limit);
  if (perm) return new Table(gatherRows(table.batches[0]!, perm));
  return limit !== undefined && limit < table.numRows ? table.slice(0, limit) : table;
}

/**
 * A numeric or temporal column's values as doubles times `sign` (null: NaN), read from its buffer:
 * 64-bit integers from their two 32-bit halves (no BigInt per value; rounding keeps their order),
 * so a threshold over millions of groups costs one pass. null for columns of other kinds.
 */
function numericKey(v: Vector, sign: number): Float64Array | null {
  if (v.data.length !== 1) return null;
  const d = v.data[0]!;
  const id = d.type.typeId;
  if (![Type.Int, Type.Float, Type.Date, Type.Timestamp, Type.Time, Type.Duration].includes(id)) return null;
  const n = d.length;
  const out = new Float64Array(n);
  const vals = d.values as unknown as ArrayLike<number> & ArrayBufferView;
  const big = vals instanceof BigInt64Array || vals instanceof BigUint64Array;
  // one value per element only (a 64-bit type kept as pairs of 32-bit words is left to the full sort)
  if (d.offset !== 0 || vals.length !== n || (!big && (id === Type.Timestamp || id === Type.Duration || (id === Type.Int && (d.type as DataType & { bitWidth: number }).bitWidth === 64)))) return null;
  if (big) {
    const w = new Int32Array(vals.buffer, vals.byteOffset, vals.length * 2);
    const uns = vals instanceof BigUint64Array;
    for (let i = 0; i < n; i++) {
      const lo = w[2 * i]! >>> 0, hi = w[2 * i + 1]!;
      out[i] = ((uns ? hi >>> 0 : hi) * 4294967296 + lo) * sign;
    }
  } else {
    for (let i = 0; i < n; i++) out[i] = vals[i]! * sign;
  }
  if (d.nullCount) for (let i = 0; i < n; i++) if (!v.isValid(i)) out[i] = NaN;
  return out;
}

/** Text in code point order (= UTF-8 byte order, as the native kernels and SQL's "C" collation sort), not UTF-16's. */
function cmpCodePoints(x: string, y: string): number {
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const a = x.charCodeAt(i), b = y.charCodeAt(i);
    if (a === b) continue;
    // a surrogate (a code point above U+FFFF) sorts above every BMP unit from U+E000 up
    const ka = a >= 0xd800 && a <= 0xdfff ? a + 0x2000 : a >= 0xe000 ? a - 0x800 : a;
    const kb = b >= 0xd800 && b <= 0xdfff ? b + 0x2000 : b >= 0xe000 ? b - 0x800 : b;
    return ka < kb ? -1 : 1;
  }
  return x.length - y.length;
}

/** The k-th smallest value (0-based) of `a` (reordered in place): quickselect. */
function kth(a: Float64Array, k: number): number {
  let lo = 0, hi = a.length - 1;
  while (lo < hi) {
    const p = a[(lo + hi) >> 1]!;
    let i = lo, j = hi;
    while (i <= j) {
      while (a[i]! < p) i++;
      while (a[j]! > p) j--;
      if (i <= j) {
        const x = a[i]!;
        a[i] = a[j]!;
        a[j] = x;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k]!;
  }
  return a[k]!;
}

export interface GroupResult {
  table: Table;
  /** groups before the limit */
  groups: number;
  schema: Field[];
}

/**
 * `by` with its expressions made computed columns (main/engine/expr-native.ts): an entry that is
 * not a column is a value expression, optionally `… as name` (its name otherwise its text).
 */
export function withKeyExpressions(ds: GroupDataset, by: readonly string[]): { ds: GroupDataset; by: string[] } {
  const columns = new Map(ds.columns);
  const fields = [...ds.schema.fields];
  const resolve = datasetColumns({ location: ds.location, columns, unsupported: ds.unsupported ?? new Map() });
  const names = by.map((b) => {
    if (fields.some((f) => f.name === b)) return b;
    const m = /^([\s\S]*?)\s+as\s+(`(?:[^`]|``)+`|[\p{L}_][\p{L}\p{N}_$]*)\s*$/iu.exec(b);
    const text = m ? m[1]! : b;
    const value = parseValue(text);
    const name = m ? (m[2]!.startsWith('`') ? m[2]!.slice(1, -1).replace(/``/g, '`') : m[2]!) : formatValue(value);
    if (value.kind === 'col' && !value.expr) return value.name; // a plain column, perhaps backquoted
    const rows = ds.columns.size ? columnRows([...ds.columns.values()][0]!) : 0;
    const c = computedColumn(name, value, resolve, rows);
    columns.set(name, c);
    fields.push(computedField(name, c, formatValue(value)));
    return name;
  });
  return { ds: { ...ds, columns, schema: { ...ds.schema, fields } }, by: names };
}

/** Runs the group-by over a dataset's mapped columns. */
export async function groupDataset(
  ds: GroupDataset,
  spec: GroupSpec,
  opts: { filter?: CompiledFilter; signal?: AbortSignal; onProgress?: (fraction: number) => void; maxGroups?: number; maxGatherRows?: number } = {},
): Promise<GroupResult> {
  if (!spec.by.length) throw new CdxError('E_BAD_ARG', 'group by at least one column (--by a,b)');
  // keys that are expressions (`date_trunc('month', t) as month`, `floor(fare / 10) * 10`): computed columns of this request
  if (spec.by.some((b) => !ds.schema.fields.some((f) => f.name === b))) {
    const keyed = withKeyExpressions(ds, spec.by);
    ds = keyed.ds;
    spec = { ...spec, by: keyed.by };
  }
  // measures of expressions (`mean(fare / distance) as speed`): their values computed the same way
  const exprMeasures = spec.measures.filter((m) => m.column !== undefined && !ds.schema.fields.some((f) => f.name === m.column));
  if (exprMeasures.length) {
    const texts = [...new Set(exprMeasures.map((m) => m.column!))];
    const valued = withKeyExpressions(ds, texts);
    ds = valued.ds;
    const byText = new Map(texts.map((t, i) => [t, valued.by[i]!]));
    spec = { ...spec, measures: spec.measures.map((m) => (m.column !== undefined && byText.has(m.column) ? { ...m, column: byText.get(m.column)! } : m)) };
  }
  if (spec.by.length > 8) throw new CdxError('E_BAD_ARG', 'group by at most 8 columns');
  if (!spec.measures.length) throw new CdxError('E_BAD_ARG', 'no measure given; e.g. count()');
  const keyFields = spec.by.map((n) => fieldOf(ds, n));
  if (new Set(spec.by).size !== spec.by.length) throw new CdxError('E_BAD_ARG', 'a key column is named twice');
  const keyDescs = keyFields.map((f) => descOf(ds, f));
  const values: ColumnDesc[] = [];
  const valueIndex = new Map<string, number>();
  const measureFields: Field[] = [];
  const specs: GroupMeasureSpec[] = spec.measures.map((m) => {
    if (m.fn === 'rows') {
      measureFields.push(measureField(m, undefined));
      return { fn: 'rows' };
    }
    const f = fieldOf(ds, m.column!);
    const text = f.type === 'string' || f.type === 'json';
    if (text && m.fn !== 'count' && m.fn !== 'distinct') {
      throw new CdxError('E_BAD_TYPE', `${ds.location}: ${m.name}: column "${f.name}" is text; only count and distinct apply to it`, { column: f.name });
    }
    if (!text && !NUMERIC.has(f.type) && !['date', 'timestamp', 'time', 'duration'].includes(f.type)) {
      throw new CdxError('E_BAD_TYPE', `${ds.location}: ${m.name}: column "${f.name}" is ${f.type}; it cannot be aggregated`, { column: f.name });
    }
    if (['date', 'timestamp', 'time'].includes(f.type) && !['count', 'distinct', 'min', 'max'].includes(m.fn)) {
      throw new CdxError('E_BAD_TYPE', `${ds.location}: ${m.name}: column "${f.name}" is ${f.type}; only count, distinct, min and max apply to it`, { column: f.name });
    }
    if (!valueIndex.has(f.name)) {
      valueIndex.set(f.name, values.length);
      values.push(descOf(ds, f));
    }
    measureFields.push(measureField(m, f));
    return { fn: m.fn, value: valueIndex.get(f.name)!, ...(m.q !== undefined ? { q: m.q } : {}) };
  });
  const names = [...spec.by, ...spec.measures.map((m) => m.name)];
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new CdxError('E_BAD_ARG', `the result would have two columns named ${dup}; name a measure with "as"`);
  // no sort given: by the keys; an empty list: the kernel's (hash) order
  const sort = (spec.sort ?? spec.by).map((s) => {
    const desc = s.startsWith('-');
    const name = s.replace(/^[-+]/, '');
    if (!names.includes(name)) throw new CdxError('E_UNKNOWN_COLUMN', `cannot sort by ${name}: the result's columns are ${names.join(', ')}`, { column: name });
    return { name, desc };
  });
  // top-N by a measure whose values are exact as doubles: the kernel returns only the candidates
  // that order() below would pick by its threshold (the same ones, so the same first N)
  const topAt = spec.limit !== undefined && sort.length ? spec.measures.findIndex((m) => m.name === sort[0]!.name) : -1;
  const top = topAt >= 0 && TOP_TYPES.has(measureFields[topAt]!.type) ? { measure: topAt, desc: sort[0]!.desc, limit: spec.limit! } : undefined;
  const raw = await groupByColumns(keyDescs, values, specs, {
    filter: opts.filter, signal: opts.signal, maxGroups: opts.maxGroups, maxGatherRows: opts.maxGatherRows, ...(top ? { top } : {}),
    ...(opts.onProgress ? { onProgress: (p: { fraction: number }) => opts.onProgress!(p.fraction) } : {}),
  });
  const n = raw.rows ?? raw.groups;
  const fields = [...keyFields.map((f) => ({ ...f, nullable: true })), ...measureFields];
  const data = [
    ...keyFields.map((f, k) => columnData(f, raw.keys[k]!, keyDescs[k], n)),
    ...measureFields.map((f, m) => columnData(f, raw.measures[m]!, spec.measures[m]!.column ? ds.columns.get(spec.measures[m]!.column!) : undefined, n)),
  ];
  const schema = new ArrowSchema(fields.map((f, i) => new ArrowField(f.name, data[i]!.type, true)));
  let table = new Table(schema, new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: n, nullCount: 0, children: data })));
  const perm = order(table, sort, spec.limit);
  if (perm) {
    // gather through the permutation, column by column (each column keeps its type and bits)
    table = new Table(gatherRows(table.batches[0]!, perm));
  } else if (spec.limit !== undefined && spec.limit < n) {
    table = table.slice(0, spec.limit);
  }
  return { table, groups: raw.groups, schema: fields };
}
