/**
 * The rows of a mapped dataset (its columnar cache, or the file itself in place) for an export,
 * read by the native kernels as the table view reads them: the filter's passing rows window by
 * window (Selections: the filter's block counts, counted once and shared with the table's filtered
 * view), then a gather of the exported columns (takeRows; readRows without a filter). The batches
 * carry the stored Arrow types: a dictionary column keeps its dictionary (its indices are gathered),
 * and time / duration / large_utf8 columns, which the kernels hand back as their storage type, are
 * given their type again. A column the kernels do not read (nested, decimal, float16, binary) or
 * a filter they cannot evaluate makes `mappedRows` answer null: the caller then streams the source.
 * A sorted export reads the rows through the sort's permutation (Sorts: computed once per
 * dataset, sort and filter, and shared with the table's sorted view), window by window.
 */
import {
  Field as ArrowField, LargeUtf8, RecordBatch, Schema as ArrowSchema, Struct, Type, makeData, util,
  type Data, type DataType, type Dictionary, type Table, type Vector,
} from 'apache-arrow';
import { columnRows, readRows, type ColumnDesc } from '../../../native/index';
import { takeRows as gatherRows } from '../../../native/select';
import { isCancelled, throwIfCancelled } from '../../../shared/errors';
import type { Field } from '../../../shared/datashape';
import { readArrowColumns } from '../columns/arrow';
import { arrowTypeOf, DEFAULT_BATCH_ROWS } from '../sources/common';
import type { OpenedDataset } from '../datasets';
import type { Selections } from '../selection';
import type { SortKey, Sorts } from '../sort';
import type { IngestWarning } from '../sources/types';

/** The compiled filter Selections works with (whatever form the filter compiler gives it). */
type SelectionFilter = NonNullable<Parameters<Selections['windowOf']>[2]>;

/** A catalogued dataset as the export reads it natively. */
export interface MappedInput {
  dataset: Pick<OpenedDataset, 'id' | 'location' | 'rows' | 'schema' | 'columns' | 'storage'> & { warnings: IngestWarning[] };
  /** the filtered windows of the engine (the table view's, so that their block counts are shared) */
  selections: Selections;
  /** the native form of `where` over the dataset's columns; throws when the kernels cannot evaluate it */
  compile(where: string): SelectionFilter;
  /** the sorted views of the engine (the table's, so that a permutation is computed once) */
  sorts?: Sorts;
}

/** One step of an export's read: the passing rows of the exported columns, and how far it got. */
export interface RowChunk {
  /** the passing rows, exported columns only (possibly none) */
  parts: RecordBatch[];
  /** the batches' schema (before the first chunk a writer has none) */
  schema: ArrowSchema;
  /** rows considered so far (before the filter) */
  rowsRead: number;
  /** fraction done, 0..1 */
  done: number;
}

export interface MappedRows {
  schema: ArrowSchema;
  /** rows considered: every row of the dataset */
  rowsRead: number;
  chunks: AsyncIterable<RowChunk>;
}

export interface MappedOptions {
  batchRows?: number;
  signal?: AbortSignal;
  /** progress of the filter's counting pass (when it is not counted yet): the first tenth of the export */
  onCounting?: (p: { fraction: number }) => void;
  /** the rows in this order (needs `MappedInput.sorts`) */
  sort?: readonly SortKey[];
}

interface ColumnPlan {
  /** the descriptor the kernels gather (a dictionary column's indices) */
  gather: ColumnDesc;
  field: ArrowField;
  /** the kernels' output for this column as the stored type */
  build(d: Data): Data;
}

/** Types whose values are one fixed-width buffer (plus validity): re-typed when the storage matches. */
const FIXED = new Set<Type>([Type.Int, Type.Float, Type.Date, Type.Time, Type.Timestamp, Type.Duration, Type.Bool]);

/** The Arrow fields the dataset's storage holds: the Arrow file's own schema, or (NPY) the readers' types. */
function storedFields(ds: MappedInput['dataset']): Map<string, ArrowField> {
  let fields: ArrowField[];
  try {
    // the storage file, or the column files of a lazily read dataset (remote/columns.ts)
    // (a descriptor holds a path or the file it was read from, pinned: columns/pin.ts)
    const files = new Set([...ds.columns.values()].filter((c) => !c.computed).map((c) => (typeof c.file === 'string' ? c.file : c.file.path)).filter((f) => f !== ds.storage.path));
    fields = files.size ? [...files].flatMap((f) => readArrowColumns(f).schema.fields) : readArrowColumns(ds.storage.path).schema.fields;
  } catch {
    // not an Arrow file (a mapped NPY array): the types its reader gives the same columns
    fields = ds.schema.fields.map((f: Field) => new ArrowField(f.name, arrowTypeOf(f), f.nullable));
  }
  return new Map(fields.map((f) => [f.name, f]));
}

/** Equal Arrow types (a plain boolean: apache-arrow's compareTypes is a type guard that narrows to never). */
function sameType(a: DataType, b: DataType): boolean {
  return util.compareTypes(a, b);
}

function sameStorage(a: DataType, b: DataType): boolean {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- ArrayType is on every concrete type, not on DataType's declaration
  return FIXED.has(a.typeId) && FIXED.has(b.typeId) && (a as any).ArrayType === (b as any).ArrayType;
}

/**
 * How each column is read natively, or null when one cannot be read with its stored type (the
 * kernels' types are those of a zero-row read).
 */
async function planColumns(ds: MappedInput['dataset'], fields: Field[], signal?: AbortSignal): Promise<ColumnPlan[] | null> {
  const stored = storedFields(ds);
  const descs: ColumnDesc[] = [];
  for (const f of fields) {
    const d = ds.columns.get(f.name);
    if (!d || (!stored.has(f.name) && !d.computed)) return null;
    // a dictionary column: gather its indices, share its dictionary
    descs.push(d.kind === 'dict' ? { name: d.name, file: d.file, kind: 'numeric', dtype: d.dtype, littleEndian: d.littleEndian, chunks: d.chunks } : d);
  }
  const zero = await readRows(descs, 0, 0, { signal });
  const plans: ColumnPlan[] = [];
  for (let i = 0; i < fields.length; i++) {
    const got = zero.schema.fields[i]!.type as DataType;
    if (ds.columns.get(fields[i]!.name)!.computed) {
      // a computed column: written with the type the kernels evaluate it to
      plans.push({ gather: descs[i]!, field: new ArrowField(fields[i]!.name, got, true), build: (d) => d });
      continue;
    }
    const want = stored.get(fields[i]!.name)!;
    const desc = ds.columns.get(want.name)!;
    const field = new ArrowField(want.name, want.type, want.nullable, want.metadata);
    const t = want.type as DataType;
    if (t.typeId === Type.Dictionary) {
      const dt = t as Dictionary;
      if (desc.kind !== 'dict' || !desc.dictionary || dt.dictionary.typeId !== Type.Utf8 || !sameType(dt.indices, got)) return null;
      const dict = (await readRows([desc.dictionary], 0, columnRows(desc.dictionary), { signal })).getChildAt(0) as Vector;
      plans.push({ gather: descs[i]!, field, build: (d) => makeData({ type: dt, length: d.length, nullCount: d.nullCount, nullBitmap: d.nullBitmap, data: d.values, dictionary: dict }) });
    } else if (sameType(t, got)) {
      plans.push({ gather: descs[i]!, field, build: (d) => d });
    } else if (sameStorage(t, got)) {
      // time / duration columns come back as their integers: the same buffer under the stored type
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the buffer matches `t`'s ArrayType (sameStorage)
      plans.push({ gather: descs[i]!, field, build: (d) => makeData({ type: t as any, length: d.length, nullCount: d.nullCount, nullBitmap: d.nullBitmap, data: d.values }) });
    } else if (t.typeId === Type.LargeUtf8 && got.typeId === Type.Utf8) {
      plans.push({
        gather: descs[i]!, field,
        build: (d) => makeData({ type: t as LargeUtf8, length: d.length, nullCount: d.nullCount, nullBitmap: d.nullBitmap, valueOffsets: BigInt64Array.from(d.valueOffsets as Int32Array, BigInt), data: d.values }),
      });
    } else {
      return null;
    }
  }
  return plans;
}

function assemble(schema: ArrowSchema, plans: ColumnPlan[], t: Table): RecordBatch {
  const children = plans.map((p, i) => p.build(t.getChildAt(i)!.data[0]!));
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: t.numRows, nullCount: 0, children }));
}

/**
 * The rows of `fields` of the mapped dataset that pass `where`, natively; null when a column or
 * the filter cannot be read so (then the source is streamed instead).
 */
export async function mappedRows(m: MappedInput, fields: Field[], where: string | undefined, o: MappedOptions = {}): Promise<MappedRows | null> {
  const ds = m.dataset;
  let filter: SelectionFilter | undefined;
  if (where?.trim()) {
    try {
      filter = m.compile(where);
    } catch (e) {
      if (isCancelled(e)) throw e;
      return null; // a filter the kernels do not evaluate (e.g. on a decimal column): the source's evaluator does
    }
  }
  const plans = await planColumns(ds, fields, o.signal);
  if (!plans) return null;
  const schema = new ArrowSchema(plans.map((p) => p.field));
  const gathers = plans.map((p) => p.gather);
  const step = Math.max(1, o.batchRows ?? DEFAULT_BATCH_ROWS);
  const { signal } = o;

  async function* whole(): AsyncIterable<RowChunk> {
    for (let off = 0; off < ds.rows; off += step) {
      throwIfCancelled(signal, 'the export');
      const n = Math.min(step, ds.rows - off);
      const t = await readRows(gathers, off, n, { signal });
      yield { parts: [assemble(schema, plans!, t)], schema, rowsRead: off + n, done: (off + n) / ds.rows };
    }
  }

  async function* filtered(f: SelectionFilter, w: string): AsyncIterable<RowChunk> {
    // the first window counts the passing rows per block (one parallel pass; free when the table
    // view has counted this filter already); the writing is the rest of the progress
    for (let off = 0; ; off += step) {
      throwIfCancelled(signal, 'the export');
      const win = await m.selections.windowOf(ds, w, f, off, step, { signal, onProgress: o.onCounting });
      const n = win.rowIds.length;
      if (!n) {
        yield { parts: [], schema, rowsRead: ds.rows, done: 1 };
        return;
      }
      const t = await gatherRows(gathers, win.rowIds, { signal });
      const end = off + n >= win.total;
      yield { parts: [assemble(schema, plans!, t)], schema, rowsRead: end ? ds.rows : win.rowIds[n - 1]! + 1, done: 0.1 + (0.9 * (off + n)) / win.total };
      if (end) return;
    }
  }

  async function* sorted(keys: readonly SortKey[], sorts: Sorts): AsyncIterable<RowChunk> {
    // the permutation first (one parallel sort, its progress the first tenth; free when the table
    // shows this sort already), then the rows gathered through it, window by window
    const perm = await sorts.permutation(ds, keys, where, filter, { signal, onProgress: o.onCounting });
    const total = perm.total;
    if (!total) {
      yield { parts: [], schema, rowsRead: ds.rows, done: 1 };
      return;
    }
    for (let off = 0; off < total; off += step) {
      throwIfCancelled(signal, 'the export');
      const ids = perm.rowIds.subarray(off, Math.min(total, off + step));
      const t = await gatherRows(gathers, ids, { signal });
      // (the sort has read every row)
      yield { parts: [assemble(schema, plans!, t)], schema, rowsRead: ds.rows, done: 0.1 + (0.9 * (off + ids.length)) / total };
    }
  }

  if (o.sort?.length) {
    if (!m.sorts) return null;
    return { schema, rowsRead: ds.rows, chunks: sorted(o.sort, m.sorts) };
  }
  return { schema, rowsRead: ds.rows, chunks: filter ? filtered(filter, where!) : whole() };
}
