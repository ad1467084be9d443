/**
 * HDF5 reader through h5wasm (libhdf5 compiled to WebAssembly; the node build reads the host file
 * system directly). list() walks the group/dataset tree; each dataset is addressed as
 * `file.h5::/group/name`.
 *
 * Columns: a 1-D dataset is one column named after the dataset; a 2-D dataset's columns are
 * `c0`, `c1`, …; higher dimensions keep the first axis as rows and flatten the rest; a compound
 * dataset is a table (one column per member, nested members dotted, array members `name_0`…);
 * a scalar is one row. Integers keep their width (int64 exact), floats 16/32/64, strings (fixed
 * or variable), enums as their labels (h5py's FALSE/TRUE enum as bool), arrays / vlen /
 * references as JSON text. h5wasm converts big-endian data to little-endian on read.
 *
 * Rows are read slice by slice (h5wasm `slice()`, i.e. H5Dread of a hyperslab), in batches aligned
 * to the chunk size along the first axis so a compressed chunk is decompressed once. Attributes of
 * the dataset (and of the file root) become metadata. Datasets whose filter is not built into
 * h5wasm are refused with E_UNSUPPORTED naming the filter.
 *
 * h5wasm is synchronous, and libhdf5 on a pathological file can loop for as long as it likes:
 * every call into it runs in a killable worker thread (../blocking.ts), never on the engine's
 * thread. The first half of this module runs there (`hdf5Tasks`: open, plan, read, build Arrow
 * batches); the Source at the end only sends calls and decodes the batches. Cancelling terminates
 * the worker (WebAssembly is interrupted), so a cancel takes effect at once.
 */
import { open, stat } from 'node:fs/promises';
import type { RecordBatch } from 'apache-arrow';
import type { Field } from '../../../shared/datashape';
import { CdxError } from '../../../shared/errors';
import { BlockingTasks, decodeBatch, encodeBatch, type WorkerSession } from '../blocking';
import { DEFAULT_BATCH_ROWS, buildBatch, checkAbort, schemaOf, selectFields, toJsonText } from './common';
import type { InnerDataset, IngestWarning, ScanOptions, Source, SourceInfo, SourceProvider } from './types';

type H5 = typeof import('h5wasm/node').default;
let h5ready: Promise<H5> | undefined;

/** The h5wasm module, loaded once (WebAssembly instantiation takes a moment). */
async function h5(): Promise<H5> {
  if (!h5ready) {
    h5ready = (async () => {
      const mod = (await import('h5wasm/node')).default;
      await mod.ready;
      return mod;
    })();
  }
  return h5ready;
}

const MAGIC = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
const MAX_OBJECTS = 20_000;
/**
 * The largest chunk (product of the chunk dimensions x element size) read. libhdf5 holds a whole
 * chunk in (WebAssembly) memory to read any element of it, and reads are batched to whole chunks
 * along the first axis; HDF5 allows chunks up to 4 GiB, and a hostile file can declare one over a
 * few bytes of data. h5py's automatic chunks are at most 1 MiB.
 */
export const HDF5_MAX_CHUNK_BYTES = 256 << 20;

// HDF5 datatype classes (H5T_class_t)
const T_INTEGER = 0, T_FLOAT = 1, T_STRING = 3, T_BITFIELD = 4, T_OPAQUE = 5, T_COMPOUND = 6, T_ENUM = 8;

function h5error(e: unknown, path: string, prefix = ''): CdxError {
  if (e instanceof CdxError && e.file) return e;
  const msg = e instanceof Error ? e.message : String(e);
  if (/filter|H5Z/i.test(msg) && /not available|can't|unable|required/i.test(msg)) {
    return CdxError.file('E_UNSUPPORTED', path, `${prefix}the dataset uses a compression filter h5wasm does not include (${msg.split('\n')[0]})`);
  }
  if (/abort|RuntimeError|memory access out of bounds|unreachable/i.test(msg)) {
    return CdxError.file('E_CORRUPT', path, `${prefix}libhdf5 failed on this file (${msg.split('\n')[0]})`);
  }
  return CdxError.file('E_CORRUPT', path, `${prefix}${msg.split('\n')[0] || 'unreadable HDF5 data'}`);
}

async function openFile(path: string): Promise<any> {
  const st = await stat(path);
  if (!st.isFile()) throw CdxError.file('E_NOT_FILE', path, 'not a regular file');
  const fh = await open(path, 'r');
  const head = new Uint8Array(4);
  try { await fh.read(head, 0, 4, 0); } finally { await fh.close(); }
  if (head[0] === 0x43 && head[1] === 0x44 && head[2] === 0x46 && (head[3] === 1 || head[3] === 2 || head[3] === 5)) {
    throw CdxError.file('E_UNSUPPORTED', path, 'NetCDF-3 (classic) files are not HDF5; only NetCDF-4 (HDF5-based) files can be read');
  }
  const mod = await h5();
  try {
    const f = new mod.File(path, 'r');
    if (!f || (f as any).file_id === undefined || (f as any).file_id < 0n) throw new Error('cannot open');
    return f;
  } catch (e) {
    throw h5error(e, path, 'not a readable HDF5 file: ');
  }
}

interface Column {
  field: Field;
  /** for compound tables: path of member indices into each row array */
  member?: number[];
  /** for plain arrays: index of the flattened element within a row */
  element?: number;
  kind: 'num' | 'f16' | 'str' | 'enum' | 'bool' | 'json';
  labels?: Map<number | bigint, string>;
}

function leafField(name: string, md: any, warnings: IngestWarning[]): Pick<Column, 'field' | 'kind' | 'labels'> {
  const f = (type: Field['type'], extra: Partial<Field> = {}): Field => ({ name, type, nullable: false, ...extra });
  switch (md.type) {
    case T_INTEGER:
      if (![1, 2, 4, 8].includes(md.size)) break;
      return { field: f(`${md.signed ? 'int' : 'uint'}${md.size * 8}` as Field['type']), kind: 'num' };
    case T_FLOAT:
      if (md.size === 2) return { field: f('float16'), kind: 'f16' };
      if (md.size === 4) return { field: f('float32'), kind: 'num' };
      if (md.size === 8) return { field: f('float64'), kind: 'num' };
      break;
    case T_STRING:
      return { field: f('string'), kind: 'str' };
    case T_ENUM: {
      const members: Record<string, number> = md.enum_type?.members ?? {};
      const names = Object.keys(members);
      if (names.length === 2 && names.map((n) => n.toUpperCase()).sort().join() === 'FALSE,TRUE') {
        return { field: f('bool', { original: 'enum(FALSE, TRUE)' }), kind: 'bool' };
      }
      const labels = new Map<number | bigint, string>();
      for (const [k, v] of Object.entries(members)) labels.set(v, k);
      return { field: f('string', { nullable: true, original: `enum(${names.slice(0, 8).join(', ')})` }), kind: 'enum', labels };
    }
    case T_BITFIELD: case T_OPAQUE:
      break;
    default:
      break;
  }
  warnings.push({ code: 'W_NESTED_AS_JSON', column: name, message: `HDF5 type class ${md.type} shown as JSON text` });
  return { field: f('json', { nullable: true, original: `hdf5 class ${md.type}` }), kind: 'json' };
}

function compoundColumns(md: any, prefix: string, path: number[], out: Column[], warnings: IngestWarning[], depth = 0): void {
  for (const [i, m] of (md.compound_type?.members ?? []).entries()) {
    const name = prefix ? `${prefix}.${m.name}` : m.name;
    if (m.type === T_COMPOUND && depth < 8) {
      compoundColumns(m, name, [...path, i], out, warnings, depth + 1);
    } else {
      out.push({ ...leafField(name, m, warnings), member: [...path, i] });
    }
  }
}

interface Plan {
  columns: Column[];
  rows: number;
  perRow: number;
  compound: boolean;
  shape: number[];
  chunkRows: number;
}

function planDataset(ds: any, inner: string, warnings: IngestWarning[], path: string): Plan {
  let md: any;
  try {
    md = ds.metadata;
  } catch (e) {
    throw h5error(e, path, `${inner}: `);
  }
  const shape: number[] = md.shape ?? [];
  if (md.shape === null) throw CdxError.file('E_UNSUPPORTED', path, `${inner} has a null dataspace (no data)`);
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw CdxError.file('E_CORRUPT', path, `${inner} has an invalid shape`);
  const base = inner.split('/').filter(Boolean).pop() ?? 'value';
  const chunks: unknown = md.chunks;
  if (chunks != null) {
    if (!Array.isArray(chunks) || chunks.length !== shape.length || chunks.some((d) => !Number.isSafeInteger(d) || d < 1))
      throw CdxError.file('E_CORRUPT', path, `${inner} has invalid chunk dimensions ${JSON.stringify(chunks)}`);
    let bytes = Math.max(1, Number(md.size) || 1);
    for (const d of chunks as number[]) bytes *= d;
    if (!(bytes <= HDF5_MAX_CHUNK_BYTES))
      throw CdxError.file('E_TOO_LARGE', path, `${inner}: chunk dimensions [${(chunks as number[]).join(', ')}] make chunks of ${bytes} bytes; at most ${HDF5_MAX_CHUNK_BYTES} are read`);
  }
  const chunkRows = Math.max(1, md.chunks?.[0] ?? 1);
  if (md.type === T_COMPOUND) {
    const columns: Column[] = [];
    compoundColumns(md, '', [], columns, warnings);
    const rows = shape.reduce((a, b) => a * b, 1);
    return { columns, rows, perRow: 1, compound: true, shape, chunkRows };
  }
  const rows = shape.length === 0 ? 1 : shape[0];
  const perRow = shape.length <= 1 ? 1 : shape.slice(1).reduce((a, b) => a * b, 1);
  if (perRow > 100_000) throw CdxError.file('E_UNSUPPORTED', path, `${inner}: ${perRow} columns is too wide to show as a table`);
  if (shape.length > 2) warnings.push({ code: 'W_RESHAPED', message: `${inner}: a ${shape.length}-D dataset is shown as ${rows} rows of ${perRow} columns` });
  const leaf = leafField(base, md, warnings);
  const columns: Column[] = [];
  for (let j = 0; j < perRow; j++) {
    columns.push({ ...leaf, field: { ...leaf.field, name: shape.length <= 1 ? base : `c${j}` }, element: j });
  }
  return { columns, rows, perRow, compound: false, shape, chunkRows };
}

function attrsOf(obj: any, prefix: string, out: Record<string, string>): void {
  let attrs: Record<string, any> = {};
  try {
    attrs = obj.attrs ?? {};
  } catch {
    return;
  }
  for (const name of Object.keys(attrs).slice(0, 200)) {
    try {
      const v = attrs[name].json_value;
      out[`${prefix}${name}`] = typeof v === 'string' ? v : (toJsonText(v) ?? 'null');
    } catch {
      out[`${prefix}${name}`] = '(unreadable)';
    }
  }
}

/** Walk groups breadth-first; `visit` is called for every group and dataset. */
function walk(file: any, visit: (p: string, obj: any, kind: 'group' | 'dataset' | 'other') => void): void {
  const queue: { p: string; g: any; depth: number }[] = [{ p: '/', g: file, depth: 0 }];
  let seen = 0;
  while (queue.length) {
    const { p, g, depth } = queue.shift()!;
    let keys: string[] = [];
    try {
      keys = g.keys();
    } catch {
      continue;
    }
    for (const k of keys) {
      if (++seen > MAX_OBJECTS) return;
      const full = p === '/' ? `/${k}` : `${p}/${k}`;
      let obj: any;
      try {
        obj = g.get(k);
      } catch {
        continue;
      }
      const name = obj?.constructor?.name;
      if (name === 'Group') {
        visit(full, obj, 'group');
        if (depth < 32) queue.push({ p: full, g: obj, depth: depth + 1 });
      } else if (name === 'Dataset') {
        visit(full, obj, 'dataset');
      } else if (obj) {
        visit(full, obj, 'other');
      }
    }
  }
}

function listTree(f: any): InnerDataset[] {
  const out: InnerDataset[] = [];
  walk(f, (p, obj, kind) => {
    if (kind === 'group') out.push({ inner: p, kind: 'group' });
    else if (kind === 'dataset') {
      try {
        const md = obj.metadata;
        const shape: number[] = md.shape ?? [];
        out.push({ inner: p, kind: 'dataset', shape, rows: md.type === T_COMPOUND ? shape.reduce((a, b) => a * b, 1) : (shape[0] ?? 1), dtype: JSON.stringify(obj.dtype) });
      } catch {
        out.push({ inner: p, kind: 'dataset', dtype: 'unreadable' });
      }
    }
  });
  return out;
}

/** The dataset `inner` names (or the only one), as the open file's object and its full path. */
function findDataset(f: any, path: string, inner: string | undefined): { ds: any; key: string } {
  let target = inner;
  if (target === undefined) {
    const dsets: string[] = [];
    walk(f, (p, _o, kind) => { if (kind === 'dataset') dsets.push(p); });
    if (dsets.length === 1) target = dsets[0];
    else if (dsets.length === 0) throw CdxError.file('E_EMPTY', path, 'the HDF5 file holds no datasets');
    else throw CdxError.file('E_NEED_INNER', path, `the file holds ${dsets.length} datasets; open one as ${path}::/PATH (${dsets.slice(0, 5).join(', ')}${dsets.length > 5 ? ', …' : ''})`);
  }
  const key = target.startsWith('/') ? target : `/${target}`;
  let obj: any;
  try {
    obj = f.get(key);
  } catch (e) {
    throw h5error(e, path, `${key}: `);
  }
  if (!obj) throw CdxError.file('E_NO_INNER', path, `no dataset at ${key}`);
  if (obj.constructor?.name !== 'Dataset') throw CdxError.file('E_NO_INNER', path, `${key} is a ${obj.constructor?.name ?? 'link'}, not a dataset`);
  return { ds: obj, key };
}

function metadataOf(f: any, ds: any, plan: Plan): Record<string, string> {
  const metadata: Record<string, string> = {};
  attrsOf(f, 'file.', metadata);
  attrsOf(ds, '', metadata);
  try {
    metadata['hdf5.dtype'] = JSON.stringify(ds.dtype);
    metadata['hdf5.shape'] = JSON.stringify(plan.shape);
    const md = ds.metadata;
    if (md.chunks) metadata['hdf5.chunks'] = JSON.stringify(md.chunks);
    const filters = ds.filters;
    if (filters?.length) metadata['hdf5.filters'] = filters.map((x: any) => x.name || `filter ${x.id}`).join(', ');
  } catch { /* metadata is best effort */ }
  return metadata;
}

function readRows(ds: any, p: Plan, s: number, e: number): any {
  if (p.shape.length === 0) return ds.value;
  const ranges: [number, number][] | [][] = p.compound
    ? (p.shape.length === 1 ? [[s, e]] : [])
    : [[s, e], ...p.shape.slice(1).map(() => [] as [])] as any;
  if (p.compound && p.shape.length > 1) {
    // multi-dimensional compound: rows are all elements; read the whole first-axis span covering [s, e)
    const inner = p.shape.slice(1).reduce((a, b) => a * b, 1);
    const r0 = Math.floor(s / inner);
    const r1 = Math.ceil(e / inner);
    const vals = ds.slice([[r0, r1], ...p.shape.slice(1).map(() => [])]);
    return (vals as any[]).slice(s - r0 * inner, e - r0 * inner);
  }
  return ds.slice(ranges);
}

function columnValues(p: Plan, c: Column, raw: any, n: number): ArrayLike<unknown> {
  let vals: ArrayLike<unknown>;
  if (p.compound) {
    const a = new Array(n);
    for (let i = 0; i < n; i++) {
      let v = raw[i];
      for (const k of c.member!) v = v?.[k];
      a[i] = v;
    }
    vals = a;
  } else if (p.shape.length === 0) {
    vals = [Array.isArray(raw) || ArrayBuffer.isView(raw) ? (raw as any)[0] ?? raw : raw];
  } else if (p.perRow === 1) {
    vals = raw;
  } else {
    const a = new Array(n);
    const src = raw as ArrayLike<unknown>;
    for (let i = 0; i < n; i++) a[i] = src[i * p.perRow + c.element!];
    vals = ArrayBuffer.isView(raw) ? typedLike(raw as any, a) : a;
  }
  switch (c.kind) {
    case 'f16': {
      // h5wasm hands float16 as raw bytes
      if (vals instanceof Uint8Array) return new Uint16Array(vals.buffer, vals.byteOffset, Math.floor(vals.length / 2)).slice();
      return vals;
    }
    case 'bool':
      return Array.from(vals as ArrayLike<unknown>, (v) => (v === null || v === undefined ? null : Number(v) !== 0));
    case 'enum':
      return Array.from(vals as ArrayLike<unknown>, (v) => (v === null || v === undefined ? null : c.labels!.get(v as number) ?? String(v)));
    case 'str':
      return Array.from(vals as ArrayLike<unknown>, (v) => (v instanceof Uint8Array ? new TextDecoder().decode(v) : v));
    default:
      return vals;
  }
}

function typedLike(src: ArrayLike<unknown> & { constructor: any }, vals: unknown[]): ArrayLike<unknown> {
  try {
    return new src.constructor(vals);
  } catch {
    return vals;
  }
}

function closeQuietly(f: any): void {
  try { f.close(); } catch { /* already closed */ }
}

/** What `open` finds out: everything info() reports. */
interface OpenedHdf5 {
  key: string;
  rows: number;
  fields: Field[];
  metadata: Record<string, string>;
  warnings: IngestWarning[];
}

interface ScanState {
  f: any;
  ds: any;
  plan: Plan;
  cols: Column[];
  fields: Field[];
  next: number;
  batch: number;
  path: string;
  key: string;
}

/** What the engine asks the worker to do (run by blocking-worker.ts). */
export const hdf5Tasks = {
  async list(_s: WorkerSession, path: string): Promise<InnerDataset[]> {
    const f = await openFile(path);
    try {
      return listTree(f);
    } finally {
      closeQuietly(f);
    }
  },

  async open(_s: WorkerSession, path: string, inner: string | undefined): Promise<OpenedHdf5> {
    const f = await openFile(path);
    try {
      const { ds, key } = findDataset(f, path, inner);
      const warnings: IngestWarning[] = [];
      const plan = planDataset(ds, key, warnings, path);
      return { key, rows: plan.rows, fields: plan.columns.map((c) => c.field), metadata: metadataOf(f, ds, plan), warnings };
    } catch (e) {
      throw h5error(e, path);
    } finally {
      closeQuietly(f);
    }
  },

  /** Start reading the chosen columns; the session keeps the file open. */
  async scanStart(s: WorkerSession, path: string, key: string, columns: string[] | undefined, batchRows: number | undefined): Promise<void> {
    const f = await openFile(path);
    s.onEnd(() => closeQuietly(f));
    const { ds } = findDataset(f, path, key);
    const plan = planDataset(ds, key, [], path);
    const fields = selectFields(plan.columns.map((c) => c.field), columns, path);
    const cols = fields.map((fl) => plan.columns.find((c) => c.field === fl)!);
    const bytesPerRow = Math.max(1, plan.perRow * 8 * (plan.compound ? plan.columns.length : 1));
    let batch = Math.max(1, Math.min(batchRows ?? DEFAULT_BATCH_ROWS, Math.floor((16 << 20) / bytesPerRow)));
    if (plan.chunkRows > 1 && !plan.compound) batch = Math.max(plan.chunkRows, Math.floor(batch / plan.chunkRows) * plan.chunkRows);
    s.state.scan = { f, ds, plan, cols, fields, next: 0, batch, path, key } satisfies ScanState;
  },

  /** The next batch as Arrow IPC bytes, with the fraction read so far; null at the end. */
  scanNext(s: WorkerSession): { ipc: Uint8Array; rows: number; done: number } | null {
    const st = s.state.scan as ScanState | undefined;
    if (!st) throw new CdxError('E_INTERNAL', 'scanNext without scanStart');
    const p = st.plan;
    if (st.next >= p.rows) return null;
    const from = st.next;
    const to = Math.min(p.rows, from + st.batch);
    const n = to - from;
    let raw: any;
    try {
      raw = readRows(st.ds, p, from, to);
    } catch (err) {
      throw h5error(err, st.path, `${st.key}, rows ${from}..${to}: `);
    }
    const out = st.cols.map((c) => columnValues(p, c, raw, n));
    st.next = to;
    return { ipc: encodeBatch(buildBatch(st.fields, out, n)), rows: n, done: to / Math.max(1, p.rows) };
  },
};

// ---------------------------------------------------------------------------------------------
// In the engine: the Source, which sends calls to the worker

const worker = new BlockingTasks<typeof hdf5Tasks>('hdf5', 'thread');

class Hdf5Source implements Source {
  constructor(private path: string, private opened: OpenedHdf5) {}

  async info(): Promise<SourceInfo> {
    const o = this.opened;
    return { format: 'hdf5', path: this.path, inner: o.key, rows: o.rows, schema: schemaOf(o.fields), metadata: { ...o.metadata }, warnings: [...o.warnings] };
  }

  async *scan(opts: ScanOptions = {}): AsyncIterable<RecordBatch> {
    const session = worker.session({ signal: opts.signal, file: this.path });
    try {
      await session.call('scanStart', this.path, this.opened.key, opts.columns, opts.batchRows);
      for (;;) {
        checkAbort(opts.signal, this.path);
        const b = await session.call('scanNext');
        if (!b) break;
        yield decodeBatch(b.ipc);
        opts.onProgress?.(b.done);
      }
    } finally {
      session.end();
    }
  }

  async close(): Promise<void> {
    /* nothing held open here: the worker opens the file per call or per scan */
  }
}

export async function listHdf5(path: string): Promise<InnerDataset[]> {
  return worker.call('list', [path], { file: path });
}

export async function openHdf5(path: string, inner?: string): Promise<Source> {
  return new Hdf5Source(path, await worker.call('open', [path, inner], { file: path }));
}

export const hdf5Provider: SourceProvider = {
  format: 'hdf5',
  extensions: ['h5', 'hdf5', 'he5', 'hdf', 'nc', 'nc4', 'nxs'],
  sniff: (head: Uint8Array) => MAGIC.every((b, i) => head[i] === b),
  list: listHdf5,
  open: openHdf5,
};
