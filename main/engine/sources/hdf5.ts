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
 */
import { open, stat } from 'node:fs/promises';
import type { RecordBatch } from 'apache-arrow';
import type { Field } from '../../../shared/datashape';
import { DEFAULT_BATCH_ROWS, buildBatch, checkAbort, schemaOf, selectFields, toJsonText } from './common';
import { SourceError, type InnerDataset, type IngestWarning, type ScanOptions, type Source, type SourceInfo, type SourceProvider } from './types';

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

// HDF5 datatype classes (H5T_class_t)
const T_INTEGER = 0, T_FLOAT = 1, T_STRING = 3, T_BITFIELD = 4, T_OPAQUE = 5, T_COMPOUND = 6, T_ENUM = 8;

function h5error(e: unknown, path: string, prefix = ''): SourceError {
  if (e instanceof SourceError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  if (/filter|H5Z/i.test(msg) && /not available|can't|unable|required/i.test(msg)) {
    return new SourceError('E_UNSUPPORTED', path, `${prefix}the dataset uses a compression filter h5wasm does not include (${msg.split('\n')[0]})`);
  }
  if (/abort|RuntimeError|memory access out of bounds|unreachable/i.test(msg)) {
    return new SourceError('E_CORRUPT', path, `${prefix}libhdf5 failed on this file (${msg.split('\n')[0]})`);
  }
  return new SourceError('E_CORRUPT', path, `${prefix}${msg.split('\n')[0] || 'unreadable HDF5 data'}`);
}

async function openFile(path: string): Promise<any> {
  const st = await stat(path);
  if (!st.isFile()) throw new SourceError('E_NOT_FILE', path, 'not a regular file');
  const fh = await open(path, 'r');
  const head = new Uint8Array(4);
  try { await fh.read(head, 0, 4, 0); } finally { await fh.close(); }
  if (head[0] === 0x43 && head[1] === 0x44 && head[2] === 0x46 && (head[3] === 1 || head[3] === 2 || head[3] === 5)) {
    throw new SourceError('E_UNSUPPORTED', path, 'NetCDF-3 (classic) files are not HDF5; only NetCDF-4 (HDF5-based) files can be read');
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
  if (md.shape === null) throw new SourceError('E_UNSUPPORTED', path, `${inner} has a null dataspace (no data)`);
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new SourceError('E_CORRUPT', path, `${inner} has an invalid shape`);
  const base = inner.split('/').filter(Boolean).pop() ?? 'value';
  const chunkRows = Math.max(1, md.chunks?.[0] ?? 1);
  if (md.type === T_COMPOUND) {
    const columns: Column[] = [];
    compoundColumns(md, '', [], columns, warnings);
    const rows = shape.reduce((a, b) => a * b, 1);
    return { columns, rows, perRow: 1, compound: true, shape, chunkRows };
  }
  const rows = shape.length === 0 ? 1 : shape[0];
  const perRow = shape.length <= 1 ? 1 : shape.slice(1).reduce((a, b) => a * b, 1);
  if (perRow > 100_000) throw new SourceError('E_UNSUPPORTED', path, `${inner}: ${perRow} columns is too wide to show as a table`);
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

export async function listHdf5(path: string): Promise<InnerDataset[]> {
  const f = await openFile(path);
  try {
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
  } finally {
    try { f.close(); } catch { /* already closed */ }
  }
}

class Hdf5Source implements Source {
  private plan: Plan;
  private warnings: IngestWarning[] = [];
  constructor(private file: any, private ds: any, private path: string, private inner: string) {
    this.plan = planDataset(ds, inner, this.warnings, path);
  }

  async info(): Promise<SourceInfo> {
    const metadata: Record<string, string> = {};
    attrsOf(this.file, 'file.', metadata);
    attrsOf(this.ds, '', metadata);
    try {
      metadata['hdf5.dtype'] = JSON.stringify(this.ds.dtype);
      metadata['hdf5.shape'] = JSON.stringify(this.plan.shape);
      const md = this.ds.metadata;
      if (md.chunks) metadata['hdf5.chunks'] = JSON.stringify(md.chunks);
      const filters = this.ds.filters;
      if (filters?.length) metadata['hdf5.filters'] = filters.map((x: any) => x.name || `filter ${x.id}`).join(', ');
    } catch { /* metadata is best effort */ }
    return {
      format: 'hdf5', path: this.path, inner: this.inner, rows: this.plan.rows,
      schema: schemaOf(this.plan.columns.map((c) => c.field)), metadata, warnings: [...this.warnings],
    };
  }

  private readRows(s: number, e: number): any {
    const p = this.plan;
    if (p.shape.length === 0) return this.ds.value;
    const ranges: [number, number][] | [][] = p.compound
      ? (p.shape.length === 1 ? [[s, e]] : [])
      : [[s, e], ...p.shape.slice(1).map(() => [] as [])] as any;
    if (p.compound && p.shape.length > 1) {
      // multi-dimensional compound: rows are all elements; read the whole first-axis span covering [s, e)
      const inner = p.shape.slice(1).reduce((a, b) => a * b, 1);
      const r0 = Math.floor(s / inner);
      const r1 = Math.ceil(e / inner);
      const vals = this.ds.slice([[r0, r1], ...p.shape.slice(1).map(() => [])]);
      return (vals as any[]).slice(s - r0 * inner, e - r0 * inner);
    }
    return this.ds.slice(ranges);
  }

  async *scan(opts: ScanOptions = {}): AsyncIterable<RecordBatch> {
    const p = this.plan;
    const fields = selectFields(p.columns.map((c) => c.field), opts.columns, this.path);
    const cols = fields.map((f) => p.columns.find((c) => c.field === f)!);
    const bytesPerRow = Math.max(1, p.perRow * 8 * (p.compound ? p.columns.length : 1));
    let batch = Math.max(1, Math.min(opts.batchRows ?? DEFAULT_BATCH_ROWS, Math.floor((16 << 20) / bytesPerRow)));
    if (p.chunkRows > 1 && !p.compound) batch = Math.max(p.chunkRows, Math.floor(batch / p.chunkRows) * p.chunkRows);
    for (let s = 0; s < p.rows; s += batch) {
      checkAbort(opts.signal, this.path);
      const e = Math.min(p.rows, s + batch);
      const n = e - s;
      let raw: any;
      try {
        raw = this.readRows(s, e);
      } catch (err) {
        throw h5error(err, this.path, `${this.inner}, rows ${s}..${e}: `);
      }
      const out = cols.map((c) => this.columnValues(c, raw, n));
      yield buildBatch(fields, out, n);
      opts.onProgress?.(e / Math.max(1, p.rows));
    }
  }

  private columnValues(c: Column, raw: any, n: number): ArrayLike<unknown> {
    const p = this.plan;
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

  async close(): Promise<void> {
    try { this.file.close(); } catch { /* already closed */ }
  }
}

function typedLike(src: ArrayLike<unknown> & { constructor: any }, vals: unknown[]): ArrayLike<unknown> {
  try {
    return new src.constructor(vals);
  } catch {
    return vals;
  }
}

export async function openHdf5(path: string, inner?: string): Promise<Source> {
  const f = await openFile(path);
  try {
    let target = inner;
    if (target === undefined) {
      const dsets: string[] = [];
      walk(f, (p, _o, kind) => { if (kind === 'dataset') dsets.push(p); });
      if (dsets.length === 1) target = dsets[0];
      else if (dsets.length === 0) throw new SourceError('E_EMPTY', path, 'the HDF5 file holds no datasets');
      else throw new SourceError('E_NEED_INNER', path, `the file holds ${dsets.length} datasets; open one as ${path}::/PATH (${dsets.slice(0, 5).join(', ')}${dsets.length > 5 ? ', …' : ''})`);
    }
    const key = target.startsWith('/') ? target : `/${target}`;
    let obj: any;
    try {
      obj = f.get(key);
    } catch (e) {
      throw h5error(e, path, `${key}: `);
    }
    if (!obj) throw new SourceError('E_NO_INNER', path, `no dataset at ${key}`);
    if (obj.constructor?.name !== 'Dataset') throw new SourceError('E_NO_INNER', path, `${key} is a ${obj.constructor?.name ?? 'link'}, not a dataset`);
    return new Hdf5Source(f, obj, path, key);
  } catch (e) {
    try { f.close(); } catch { /* ignore */ }
    throw h5error(e, path);
  }
}

export const hdf5Provider: SourceProvider = {
  format: 'hdf5',
  extensions: ['h5', 'hdf5', 'he5', 'hdf', 'nc', 'nc4', 'nxs'],
  sniff: (head: Uint8Array) => MAGIC.every((b, i) => head[i] === b),
  list: listHdf5,
  open: openHdf5,
};
