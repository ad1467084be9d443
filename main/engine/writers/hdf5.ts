/**
 * HDF5 writer (h5wasm: libhdf5 in WebAssembly; its node build writes the host file directly).
 * A group per dataset (OUT::/GROUP, else /<input name>), a 1-D dataset per column, chunked,
 * resizable and gzip-compressed (variable-length strings cannot be compressed by h5wasm), grown and
 * written batch by batch. Each dataset carries `cdx_type` (the DataShape type) and, for temporal
 * columns, `units`, so a reader can restore what HDF5 itself cannot say. HDF5 has no missing
 * values: a column that holds a null gets a companion uint8 dataset `<name>__null` (1 = null),
 * created at the first null; the value slot holds NaN / 0 / "".
 * New files are written to a temporary file and renamed; an existing HDF5 file is copied to the
 * temporary file, given the new group, and renamed over the original when complete.
 */
import { copyFile } from 'node:fs/promises';
import type { RecordBatch } from 'apache-arrow';
import type { Field } from '../../../shared/datashape';
import {
  isOutputError, checkOptions, choiceOption, intOption,
  type ColumnFidelity, type FidelityReport, type Writer, type WriterProvider,
} from './types';
import { CdxError } from '../../../shared/errors';
import { base64, cellReader, decimalText, typeLabel } from './values';

type H5 = typeof import('h5wasm/node').default;
let h5ready: Promise<H5> | undefined;
async function h5(): Promise<H5> {
  return (h5ready ??= (async () => {
    const mod = (await import('h5wasm/node')).default;
    await mod.ready;
    return mod;
  })());
}
void decimalText;

interface Plan {
  field: Field;
  name: string;
  /** h5wasm dtype (struct-module letters): q int64, Q uint64, d float64, S vlen UTF-8 … */
  dtype: string;
  ctor: any;
  kind: 'num' | 'big' | 'bool' | 'half' | 'str' | 'date' | 'temporal';
  fill: number | bigint | string;
}

const intCodes: Record<string, [string, any]> = {
  int8: ['b', Int8Array], int16: ['<h', Int16Array], int32: ['<i', Int32Array], int64: ['<q', BigInt64Array],
  uint8: ['B', Uint8Array], uint16: ['<H', Uint16Array], uint32: ['<I', Uint32Array], uint64: ['<Q', BigUint64Array],
};

function dsName(name: string): string {
  const n = name.replace(/\//g, '_');
  return n === '' || n === '.' ? '_' + n : n;
}

function planOf(f: Field): Plan {
  const name = dsName(f.name);
  if (f.type in intCodes) {
    const [dtype, ctor] = intCodes[f.type];
    const big = ctor === BigInt64Array || ctor === BigUint64Array;
    return { field: f, name, dtype, ctor, kind: big ? 'big' : 'num', fill: big ? 0n : 0 };
  }
  switch (f.type) {
    case 'float16': return { field: f, name, dtype: '<f', ctor: Float32Array, kind: 'half', fill: NaN };
    case 'float32': return { field: f, name, dtype: '<f', ctor: Float32Array, kind: 'num', fill: NaN };
    case 'float64': return { field: f, name, dtype: '<d', ctor: Float64Array, kind: 'num', fill: NaN };
    case 'bool': return { field: f, name, dtype: 'B', ctor: Uint8Array, kind: 'bool', fill: 0 };
    case 'date': return { field: f, name, dtype: '<i', ctor: Int32Array, kind: 'date', fill: 0 };
    case 'timestamp': case 'time': case 'duration': return { field: f, name, dtype: '<q', ctor: BigInt64Array, kind: 'temporal', fill: 0n };
    default: return { field: f, name, dtype: 'S', ctor: Array, kind: 'str', fill: '' };
  }
}

function unitsAttr(f: Field): string | undefined {
  const u: Record<string, string> = { s: 'seconds', ms: 'milliseconds', us: 'microseconds', ns: 'nanoseconds' };
  switch (f.type) {
    case 'date': return 'days since 1970-01-01';
    case 'timestamp': return `${u[f.unit ?? 'us']} since 1970-01-01T00:00:00${f.tz ? 'Z' : ''}`;
    case 'time': return `${u[f.unit ?? 'us']} since midnight`;
    case 'duration': return u[f.unit ?? 'us'];
    default: return undefined;
  }
}

function fidelity(p: Plan): ColumnFidelity {
  const f = p.field;
  const from = typeLabel(f);
  const to = p.kind === 'str' ? 'variable-length UTF-8 string' : ({ b: 'int8', '<h': 'int16', '<i': 'int32', '<q': 'int64', B: 'uint8', '<H': 'uint16', '<I': 'uint32', '<Q': 'uint64', '<f': 'float32', '<d': 'float64' } as Record<string, string>)[p.dtype] ?? p.dtype;
  const notes: string[] = [];
  let status: ColumnFidelity['status'] = 'kept';
  switch (f.type) {
    case 'float16': status = 'converted'; notes.push('float16 widened to float32 (exact)'); break;
    case 'bool': status = 'converted'; notes.push('0/1 uint8 (cdx_type attribute says bool)'); break;
    case 'date': case 'timestamp': case 'time': case 'duration':
      status = 'converted';
      notes.push(`integer count, units attribute "${unitsAttr(f)}"${f.tz ? `, tz attribute "${f.tz}"` : ''}`);
      break;
    case 'decimal': status = 'converted'; notes.push('exact decimal text'); break;
    case 'binary': status = 'converted'; notes.push('base64 text'); break;
    case 'json': status = 'converted'; notes.push('JSON text'); break;
    case 'string': notes.push('UTF-8 bytes as given; not compressed (h5wasm cannot compress variable-length data)'); break;
  }
  if (p.name !== f.name) notes.push(`dataset named "${p.name}" ("/" is the HDF5 path separator)`);
  if (f.nullable) notes.push(`nulls: a uint8 dataset "${p.name}__null" (1 = null) is added when a null occurs`);
  return { column: f.name, from, to, status, ...(notes.length ? { note: notes.join('; ') } : {}) };
}

function groupPath(inner: string | undefined, opts: Record<string, string>, datasetName: string): string {
  let g = inner ?? opts.group ?? '/' + datasetName;
  if (!g.startsWith('/')) g = '/' + g;
  return g.replace(/\/+$/, '') || '/';
}

export const hdf5Writer: WriterProvider = {
  format: 'hdf5',
  extensions: ['h5', 'hdf5', 'hdf', 'he5'],
  container: true,
  options: {
    group: 'group for the dataset (default: OUT::/GROUP, else /<input name>)',
    chunkRows: 'rows per chunk (default 65536)',
    gzip: 'gzip level 0-9 for numeric datasets (default 4; 0 = none)',
    layout: 'columns (default: a group with a dataset per column) or compound (one compound dataset: a table for CDX, h5py and pandas)',
    stringBytes: 'compound layout: bytes per text value (fixed-length UTF-8; default 256; a longer value stops the conversion)',
    maxTextBytes: 'most bytes of text held in memory for string columns (default 268435456)',
  },
  plan(fields, opts, ctx): FidelityReport {
    checkOptions(this, opts, ctx.out);
    intOption(opts, 'chunkRows', 65536, 1, 1 << 24, ctx.out);
    intOption(opts, 'gzip', 4, 0, 9, ctx.out);
    intOption(opts, 'maxTextBytes', 256 << 20, 0, 2 ** 31 - 1, ctx.out);
    const layout = choiceOption(opts, 'layout', ['columns', 'compound'] as const, 'columns', ctx.out);
    const sb = intOption(opts, 'stringBytes', 256, 1, 1 << 20, ctx.out);
    const plans = fields.map(planOf);
    if (layout === 'compound') {
      const names = new Set<string>();
      for (const f of fields) {
        for (const n of [f.name, ...(f.nullable ? [`${f.name}__null`] : [])]) {
          if (names.has(n)) throw CdxError.file('E_BAD_COLUMNS', ctx.out, `two members of the compound type would be named "${n}"`);
          names.add(n);
        }
      }
      return {
        format: 'hdf5',
        columns: plans.map((p) => {
          const c = fidelity(p);
          const keep = (c.note ?? '').split('; ').filter((x) => x && !/^(nulls:|dataset named|UTF-8 bytes|not compressed)/.test(x));
          if (p.kind === 'str') {
            c.to = `fixed-length UTF-8 (${sb} bytes)`;
            c.status = 'converted';
            keep.push(`a fixed ${sb}-byte field (stringBytes): a longer value stops the conversion (nothing is truncated); trailing NUL characters are not kept`);
          }
          if (p.field.nullable) keep.push(`nulls: a uint8 member "${p.field.name}__null" (1 = null)`);
          return { ...c, note: keep.join('; ') || undefined };
        }),
        notes: [`one compound dataset ${groupPath(ctx.inner, opts, ctx.datasetName)} (chunked, resizable, gzip), written batch by batch (streamed); its cdx_schema attribute holds each member's type, units and zone`],
      };
    }
    const names = new Set<string>();
    for (const p of plans) {
      if (names.has(p.name) || names.has(p.name.replace(/__null$/, ''))) throw CdxError.file('E_BAD_COLUMNS', ctx.out, `two columns map to the HDF5 dataset name "${p.name}"`);
      names.add(p.name);
    }
    return {
      format: 'hdf5',
      columns: plans.map(fidelity),
      notes: [
        `group ${groupPath(ctx.inner, opts, ctx.datasetName)}: one chunked, resizable 1-D dataset per column; numeric and temporal columns are written batch by batch (streamed)`,
        ...(plans.some((p) => p.kind === 'str') ? [`text columns (${plans.filter((p) => p.kind === 'str').map((p) => p.field.name).join(', ')}) are held in memory and written at the end (h5wasm cannot write slices of variable-length strings); refused above maxTextBytes (default 256 MiB)`] : []),
      ],
    };
  },
  async open(fields, schema, opts, ctx): Promise<Writer> {
    const mod = await h5();
    const chunk = intOption(opts, 'chunkRows', 65536, 1, 1 << 24, ctx.out);
    const level = intOption(opts, 'gzip', 4, 0, 9, ctx.out);
    const gpath = groupPath(ctx.inner, opts, ctx.datasetName);
    let file: any;
    if (ctx.outExists && !ctx.force) {
      await copyFile(ctx.out, ctx.tmp);
      try {
        file = new mod.File(ctx.tmp, 'a');
      } catch (e) {
        throw CdxError.file('E_EXISTS', ctx.out, 'exists and is not an HDF5 file CDX can add to; give --force to replace it');
      }
      if (file.get(gpath)) {
        file.close();
        throw CdxError.file('E_EXISTS', ctx.out, `already has "${gpath}"; choose another group (OUT::/GROUP), or --force to replace the whole file`);
      }
    } else {
      file = new mod.File(ctx.tmp, 'w');
    }
    let closed = false;
    const close = () => {
      if (!closed) {
        closed = true;
        try {
          file.close();
        } catch { /* already closed */ }
      }
    };
    if (choiceOption(opts, 'layout', ['columns', 'compound'] as const, 'columns', ctx.out) === 'compound') {
      try {
        return openCompound(file, gpath, fields, schema, opts, ctx.out, chunk, level, close);
      } catch (e) {
        close();
        throw isOutputError(e, ctx.out) ? e : CdxError.file('E_WRITE', ctx.out, `HDF5 writer failed: ${(e as Error).message ?? e}`);
      }
    }
    try {
      let g = file;
      for (const part of gpath.split('/').filter(Boolean)) g = g.get(part) ?? g.create_group(part);
      const plans = fields.map(planOf);
      const makeAttrs = (ds: any, p: Plan) => {
        ds.create_attribute('cdx_type', typeLabel(p.field));
        const u = unitsAttr(p.field);
        if (u) ds.create_attribute('units', u);
        if (p.field.tz) ds.create_attribute('tz', p.field.tz);
      };
      // h5wasm cannot write a slice of variable-length strings: text columns are collected and
      // written as one dataset at the end (bounded by maxTextBytes).
      const texts = new Map<number, string[]>();
      let textBytes = 0;
      const maxText = intOption(opts, 'maxTextBytes', 256 << 20, 0, 2 ** 31 - 1, ctx.out);
      const sets = plans.map((p, j) => {
        if (p.kind === 'str') {
          texts.set(j, []);
          return undefined;
        }
        const ds = g.create_dataset({
          name: p.name, data: new p.ctor(0), shape: [0], maxshape: [null], chunks: [chunk], dtype: p.dtype,
          ...(level > 0 ? { compression: 'gzip', compression_opts: level } : {}),
        } as any);
        makeAttrs(ds, p);
        return ds;
      });
      g.create_attribute('cdx_columns', JSON.stringify(fields.map((f) => f.name)));
      const masks = new Map<number, any>();
      const readers = schema.fields.map((af) => cellReader(af.type));
      let rows = 0;
      return {
        async write(batch: RecordBatch) {
          const n = batch.numRows;
          for (let j = 0; j < plans.length; j++) {
            const p = plans[j];
            const d = batch.data.children[j];
            const r = readers[j];
            const out = p.kind === 'str' ? new Array<string>(n) : new p.ctor(n);
            let mask: Uint8Array | undefined;
            const raw = d.values as any;
            for (let i = 0; i < n; i++) {
              if (!d.getValid(i)) {
                (mask ??= new Uint8Array(n))[i] = 1;
                out[i] = p.fill;
                continue;
              }
              switch (p.kind) {
                case 'num': case 'big': out[i] = raw[i]; break;
                case 'half': out[i] = r.get(d, i); break;
                case 'bool': out[i] = r.get(d, i) ? 1 : 0; break;
                case 'date': out[i] = r.get(d, i); break;
                case 'temporal': out[i] = r.get(d, i); break;
                default: {
                  const v = r.get(d, i);
                  out[i] = v instanceof Uint8Array ? base64(v) : String(v);
                }
              }
            }
            const t = texts.get(j);
            if (t) {
              for (let i = 0; i < n; i++) {
                t.push(out[i]);
                textBytes += (out[i] as string).length * 3 + 16;
              }
              if (textBytes > maxText) {
                throw CdxError.file('E_TOO_LARGE', ctx.out,
                  `text columns exceed ${maxText} bytes; h5wasm must hold HDF5 string columns in memory (raise --option maxTextBytes=N, leave text out with --columns, or write Parquet)`);
              }
            } else {
              sets[j]!.resize([rows + n]);
              if (n) sets[j]!.write_slice([[rows, rows + n]], out);
            }
            let m = masks.get(j);
            if (mask && !m) {
              m = g.create_dataset({ name: `${p.name}__null`, data: new Uint8Array(0), shape: [0], maxshape: [null], chunks: [chunk], dtype: 'B', compression: 'gzip', compression_opts: Math.max(level, 1) } as any);
              m.create_attribute('cdx_null_mask_of', p.name);
              if (rows) {
                m.resize([rows]);
                m.write_slice([[0, rows]], new Uint8Array(rows));
              }
              masks.set(j, m);
            }
            if (m) {
              m.resize([rows + n]);
              if (n) m.write_slice([[rows, rows + n]], mask ?? new Uint8Array(n));
            }
          }
          rows += n;
        },
        async finish() {
          for (const [j, t] of texts) {
            const p = plans[j];
            const ds = g.create_dataset({ name: p.name, data: t, shape: [t.length], dtype: 'S', ...(t.length ? { chunks: [Math.min(chunk, t.length)] } : {}) } as any);
            makeAttrs(ds, p);
            texts.set(j, []);
          }
          file.flush();
          close();
          return 'rename';
        },
        async abort() {
          close();
        },
      };
    } catch (e) {
      close();
      throw isOutputError(e, ctx.out) ? e : CdxError.file('E_WRITE', ctx.out, `HDF5 writer failed: ${(e as Error).message ?? e}`);
    }
  },
};

/** One compound dataset (a table): fixed-length UTF-8 text, a uint8 null-mask member per nullable column. */
function openCompound(file: any, dpath: string, fields: Field[], schema: import('apache-arrow').Schema, opts: Record<string, string>, out: string,
  chunk: number, level: number, close: () => void): Writer {
  const sb = intOption(opts, 'stringBytes', 256, 1, 1 << 20, out);
  const parts = dpath.split('/').filter(Boolean);
  const leaf = parts.pop() ?? 'table';
  let g = file;
  for (const part of parts) g = g.get(part) ?? g.create_group(part);
  const plans = fields.map(planOf);
  const dtype: [string, string][] = [];
  for (const p of plans) {
    dtype.push([p.field.name, p.kind === 'str' ? `S${sb}` : p.dtype]);
    if (p.field.nullable) dtype.push([`${p.field.name}__null`, 'B']);
  }
  const empty = new Map<string, any>();
  for (const p of plans) {
    empty.set(p.field.name, p.kind === 'str' ? [] : new p.ctor(0));
    if (p.field.nullable) empty.set(`${p.field.name}__null`, new Uint8Array(0));
  }
  const ds = g.create_dataset({
    name: leaf, data: empty, shape: [0], maxshape: [null], chunks: [chunk], dtype,
    ...(level > 0 ? { compression: 'gzip', compression_opts: level } : {}),
  } as any);
  ds.create_attribute('cdx_schema', JSON.stringify(fields.map((f) => ({ name: f.name, type: typeLabel(f), ...(unitsAttr(f) ? { units: unitsAttr(f) } : {}), ...(f.tz ? { tz: f.tz } : {}) }))));
  const readers = schema.fields.map((af) => cellReader(af.type));
  const enc = new TextEncoder();
  let rows = 0;
  return {
    async write(batch: RecordBatch) {
      const n = batch.numRows;
      if (!n) return;
      const data = new Map<string, any>();
      for (let j = 0; j < plans.length; j++) {
        const p = plans[j];
        const d = batch.data.children[j];
        const r = readers[j];
        const col = p.kind === 'str' ? new Array<string>(n) : new p.ctor(n);
        const mask = p.field.nullable ? new Uint8Array(n) : undefined;
        const raw = d.values as any;
        for (let i = 0; i < n; i++) {
          if (!d.getValid(i)) {
            mask![i] = 1;
            col[i] = p.fill;
            continue;
          }
          switch (p.kind) {
            case 'num': case 'big': col[i] = raw[i]; break;
            case 'bool': col[i] = r.get(d, i) ? 1 : 0; break;
            case 'half': case 'date': case 'temporal': col[i] = r.get(d, i); break;
            default: {
              const v = r.get(d, i);
              const t = v instanceof Uint8Array ? base64(v) : String(v);
              if (t.length * 3 > sb && enc.encode(t).length > sb) {
                throw CdxError.file('E_TOO_LONG', out, `column "${p.field.name}", row ${rows + i + 1}: a ${enc.encode(t).length}-byte value does not fit the ${sb}-byte text field; give --option stringBytes=N (nothing is truncated)`);
              }
              col[i] = t;
            }
          }
        }
        data.set(p.field.name, col);
        if (mask) data.set(`${p.field.name}__null`, mask);
      }
      ds.resize([rows + n]);
      ds.write_slice([[rows, rows + n]], data);
      rows += n;
    },
    async finish() {
      file.flush();
      close();
      return 'rename';
    },
    async abort() {
      close();
    },
  };
}
