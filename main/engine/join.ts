/**
 * Joins of two datasets (Blaze's `join`): an equi-join on one or more key pairs, inner or left,
 * each side under its own filter; the result is written as an Arrow IPC file in the engine's cache
 * folder and opened as an ordinary catalogued dataset (summary, table, plots, export), named
 * `join(a, b)`, tagged `join`, with how it was made in its schema metadata (`cdx.join`).
 *
 * Local datasets (mapped files) are joined by the native hash join (native/src/join.cc): it gives
 * the (left row, right row) pairs in left-row order, and the chosen columns of each side are
 * gathered through them in batches (a left join's unmatched rows get nulls on the right) and
 * written batch by batch, durably (temporary name, fsync, rename).
 *
 * Columns of the result, as DuckDB names them for `SELECT * … JOIN … USING`: the left's columns,
 * then the right's; a key pair with one name appears once (the left's); a right column whose name
 * is taken gets `_1` (`_2`, … while that is taken too). `columns` picks among those names.
 *
 * Key types: text with text (by bytes; dictionary text by value), numbers with numbers (integers
 * of any widths exactly; an integer with a float as doubles — DuckDB's cast), bool with bool, dates
 * with dates and timestamps with timestamps (of any units: brought to one). Anything else is
 * E_BAD_ARG naming both columns and types. Null keys never match; NaN matches NaN and -0 matches 0.
 */
import { createWriteStream, mkdirSync, statSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Field as ArrowField, RecordBatch, RecordBatchFileWriter, Schema as ArrowSchema, Struct, makeData, type Data, type Table } from 'apache-arrow';
import type { Field, Schema } from '../../shared/datashape';
import { CdxError } from '../../shared/errors';
import { closestName } from '../../shared/expr/bind';
import type { ColumnDesc, KernelOptions } from '../../native/index';
import { hashJoin, joinTakeRows, type JoinKeySpec, type JoinPairs } from '../../native/join';
import type { CompiledFilter } from './filter';
import { fsyncFile, noteTemp, renameDurable, tempBeside } from './durable';

export type JoinHow = 'inner' | 'left';

export interface JoinSpec {
  /** key pairs [left column, right column] */
  on: [string, string][];
  how?: JoinHow;
  /** result columns to keep (names as the result has them); default all */
  columns?: string[];
}

/** What a join needs of an opened dataset (datasets.ts OpenedDataset). */
export interface JoinSide {
  location: string;
  name: string;
  rows: number;
  schema: Schema;
  columns: Map<string, ColumnDesc>;
  unsupported: Map<string, string>;
}

export { parseJoinOn as parseOn } from '../../shared/join';

/** The field of column `name` of a side, or E_UNKNOWN_COLUMN naming the dataset (and the close name). */
export function fieldOf(side: Pick<JoinSide, 'location' | 'schema'>, name: string, which: string): Field {
  const f = side.schema.fields.find((x) => x.name === name);
  if (f) return f;
  const names = side.schema.fields.map((x) => x.name);
  const near = closestName(name, names);
  throw new CdxError('E_UNKNOWN_COLUMN', `${side.location} (the join's ${which} side): no column "${name}"${near !== undefined ? ` — did you mean '${near}'?` : ` (columns: ${names.join(', ')})`}`, { file: side.location, column: name });
}

type KeyKind = 'text' | 'int' | 'float' | 'bool' | 'date' | 'timestamp' | 'time' | 'duration';

function keyKind(f: Field): KeyKind | null {
  switch (f.type) {
    case 'string': return 'text';
    case 'int8': case 'int16': case 'int32': case 'int64': case 'uint8': case 'uint16': case 'uint32': case 'uint64': return 'int';
    case 'float32': case 'float64': return 'float';
    case 'bool': return 'bool';
    case 'date': return 'date';
    case 'timestamp': return 'timestamp';
    case 'time': return 'time';
    case 'duration': return 'duration';
    default: return null;
  }
}

const PER_SECOND: Record<string, number> = { s: 1, ms: 1e3, us: 1e6, ns: 1e9 };

/**
 * How each key pair compares (checked: both sides' types must be comparable), for the native
 * kernel and for SQL: the key kinds. Throws E_BAD_ARG for a text/number (or other) mismatch.
 */
export function keyPlan(l: JoinSide, r: JoinSide, on: readonly [string, string][]): { keys: JoinKeySpec[]; kinds: [KeyKind, KeyKind][] } {
  if (!on.length) throw new CdxError('E_BAD_ARG', 'join: name at least one key column');
  if (on.length > 8) throw new CdxError('E_BAD_ARG', 'join: at most 8 key columns');
  const keys: JoinKeySpec[] = [];
  const kinds: [KeyKind, KeyKind][] = [];
  for (const [ln, rn] of on) {
    const lf = fieldOf(l, ln, 'left'), rf = fieldOf(r, rn, 'right');
    const lk = keyKind(lf), rk = keyKind(rf);
    const what = `${l.name}.${ln} (${lf.type}) with ${r.name}.${rn} (${rf.type})`;
    if (!lk || !rk) throw new CdxError('E_BAD_ARG', `join: cannot join on ${what}: a key is text, a number, a bool, a date or a timestamp`, { column: !lk ? ln : rn });
    const numeric = (k: KeyKind) => k === 'int' || k === 'float';
    if (lk !== rk && !(numeric(lk) && numeric(rk))) {
      const hint = lk === 'text' || rk === 'text' ? ': text never equals a number or a date here — convert one side first (a column type, or a computed column)' : '';
      throw new CdxError('E_BAD_ARG', `join: cannot join ${what}: the key types differ${hint}`, { column: ln });
    }
    kinds.push([lk, rk]);
    if (lk === 'text') { keys.push({ cls: 'text' }); continue; }
    if (lk !== rk || lk === 'float') { keys.push({ cls: 'float' }); continue; }
    const ld = l.columns.get(ln), rd = r.columns.get(rn);
    const spec: JoinKeySpec = { cls: 'int' };
    if (lk === 'date') {
      // dates stored as days or as milliseconds (Date64): days on both sides
      if (ld?.logical?.type === 'date' && ld.logical.unit === 'ms') spec.ldiv = 86_400_000;
      if (rd?.logical?.type === 'date' && rd.logical.unit === 'ms') spec.rdiv = 86_400_000;
    } else if (lk === 'timestamp' || lk === 'time' || lk === 'duration') {
      const lu = (ld?.logical?.type === 'timestamp' ? ld.logical.unit : lf.unit) ?? 'us';
      const ru = (rd?.logical?.type === 'timestamp' ? rd.logical.unit : rf.unit) ?? 'us';
      const a = PER_SECOND[lu]!, b = PER_SECOND[ru]!;
      if (a < b) spec.lmul = b / a;
      if (b < a) spec.rmul = a / b;
    }
    keys.push(spec);
  }
  return { keys, kinds };
}

/** A column of the result: its name there and where it comes from. */
export interface JoinColumn {
  name: string;
  side: 'left' | 'right';
  column: string;
  field: Field;
}

/** The result's columns (DuckDB's naming for SELECT * … USING: keys of one name once, clashes `_1`). */
export function joinColumns(l: Pick<JoinSide, 'schema' | 'location'>, r: Pick<JoinSide, 'schema' | 'location'>, spec: JoinSpec): JoinColumn[] {
  const out: JoinColumn[] = [];
  const taken = new Set<string>();
  for (const f of l.schema.fields) {
    out.push({ name: f.name, side: 'left', column: f.name, field: f });
    taken.add(f.name);
  }
  const sameNameKeys = new Set(spec.on.filter(([a, b]) => a === b).map(([, b]) => b));
  for (const f of r.schema.fields) {
    if (sameNameKeys.has(f.name)) continue;
    let name = f.name;
    for (let i = 1; taken.has(name); i++) name = `${f.name}_${i}`;
    taken.add(name);
    out.push({ name, side: 'right', column: f.name, field: { ...f, name, nullable: true } });
  }
  if (!spec.columns?.length) return out;
  return spec.columns.map((c) => {
    const hit = out.find((x) => x.name === c);
    if (hit) return hit;
    const near = closestName(c, out.map((x) => x.name));
    throw new CdxError('E_UNKNOWN_COLUMN', `join: the result has no column "${c}"${near !== undefined ? ` — did you mean '${near}'?` : ` (columns: ${out.map((x) => x.name).join(', ')})`}`, { column: c });
  });
}

export interface JoinPairOptions extends KernelOptions {
  leftFilter?: CompiledFilter;
  rightFilter?: CompiledFilter;
  maxPairs?: number;
}

function descOf(side: JoinSide, name: string, which: string): ColumnDesc {
  const d = side.columns.get(name);
  if (d) return d;
  fieldOf(side, name, which);
  throw new CdxError('E_UNSUPPORTED', `${side.location}: column "${name}" cannot be read by the join${side.unsupported.get(name) ? `: ${side.unsupported.get(name)}` : ''}`, { file: side.location, column: name });
}

/** The native hash join's row-id pairs of two mapped datasets. */
export function joinPairs(l: JoinSide, r: JoinSide, spec: JoinSpec, opts: JoinPairOptions = {}): Promise<JoinPairs> {
  const { keys } = keyPlan(l, r, spec.on);
  const lk = spec.on.map(([a]) => descOf(l, a, 'left'));
  const rk = spec.on.map(([, b]) => descOf(r, b, 'right'));
  return hashJoin(lk, rk, keys, { how: spec.how ?? 'inner', leftFilter: opts.leftFilter, rightFilter: opts.rightFilter, maxPairs: opts.maxPairs, signal: opts.signal, onProgress: opts.onProgress });
}

/** Rows per record batch of a written join (as the ingest lays files out). */
export const JOIN_BATCH_ROWS = 262_144;

/**
 * Writes the joined rows (the pairs' rows of the chosen columns) to `dest` as an Arrow IPC file
 * of JOIN_BATCH_ROWS-row batches, durably. `onProgress` gets the fraction written.
 */
export async function writeJoined(
  l: JoinSide, r: JoinSide, cols: readonly JoinColumn[], pairs: Pick<JoinPairs, 'left' | 'right'>, dest: string,
  opts: { metadata?: Record<string, string>; signal?: AbortSignal; onProgress?: (fraction: number) => void; batchRows?: number } = {},
): Promise<void> {
  const lcols = cols.filter((c) => c.side === 'left');
  const rcols = cols.filter((c) => c.side === 'right');
  const ldescs = lcols.map((c) => descOf(l, c.column, 'left'));
  const rdescs = rcols.map((c) => descOf(r, c.column, 'right'));
  const n = pairs.left.length;
  const batchRows = opts.batchRows ?? JOIN_BATCH_ROWS;
  mkdirSync(path.dirname(dest), { recursive: true });
  const tmp = tempBeside(dest);
  const unnote = noteTemp(tmp);
  const sink = createWriteStream(tmp);
  const w = new RecordBatchFileWriter();
  w.toNodeStream().pipe(sink);
  let schema: ArrowSchema | null = null;
  try {
    // the gather of batch i + 1 (native, on worker threads) runs while batch i is written (JS)
    const gather = (at: number) => {
      const m = Math.min(batchRows, n - at);
      const p = Promise.all([
        ldescs.length ? joinTakeRows(ldescs, pairs.left.subarray(at, at + m), { signal: opts.signal }) : null,
        rdescs.length ? joinTakeRows(rdescs, pairs.right.subarray(at, at + m), { signal: opts.signal }) : null,
      ]);
      p.catch(() => {}); // (a gather begun ahead and then not awaited — the write failed — must not be an unhandled rejection)
      return p;
    };
    let next: ReturnType<typeof gather> | null = gather(0);
    for (let at = 0; at < n || (at === 0 && !schema); at += batchRows) {
      if (opts.signal?.aborted) throw CdxError.cancelled('join');
      const m = Math.min(batchRows, n - at);
      const [lt, rt] = await next!;
      next = at + batchRows < n ? gather(at + batchRows) : null;
      const kids: Data[] = [];
      const fields: ArrowField[] = [];
      const take = (t: Table | null, list: JoinColumn[]) => list.forEach((c, i) => {
        const d = t!.getChildAt(i)!.data[0]!;
        kids.push(d);
        fields.push(new ArrowField(c.name, d.type, c.side === 'right' || c.field.nullable));
      });
      // (keep the result's column order: lefts and rights interleave only as `cols` says)
      const byName = new Map<string, { d: Data; f: ArrowField }>();
      take(lt, lcols);
      take(rt, rcols);
      [...lcols, ...rcols].forEach((c, i) => byName.set(c.name, { d: kids[i]!, f: fields[i]! }));
      const ordered = cols.map((c) => byName.get(c.name)!);
      if (!schema) {
        schema = new ArrowSchema(ordered.map((o) => o.f), new Map(Object.entries(opts.metadata ?? {})));
        w.reset(undefined, schema);
      }
      if (m > 0) w.write(new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: m, nullCount: 0, children: ordered.map((o) => o.d) })));
      if (sink.writableNeedDrain) await once(sink, 'drain');
      opts.onProgress?.(n ? Math.min(1, (at + m) / n) : 1);
      if (n === 0) break;
    }
    w.finish();
    if (!sink.writableFinished) await once(sink, 'finish');
    const t = performance.now();
    await fsyncFile(tmp);
    await renameDurable(tmp, dest);
    if (process.env.CDX_JOIN_TRACE) console.error(`join fsync + rename: ${(performance.now() - t).toFixed(1)} ms`);
  } catch (e) {
    sink.destroy();
    rmSync(tmp, { force: true });
    throw e;
  } finally {
    unnote();
  }
}

/** Where joined datasets are written: the engine's cache folder. */
export function joinPath(cacheDir: string): string {
  return path.join(cacheDir, 'joins', `${randomUUID()}.arrow`);
}

/** The file's size and time for the catalog. */
export function fileStamp(file: string): { size: number; mtimeMs: number } {
  const st = statSync(file);
  return { size: st.size, mtimeMs: st.mtimeMs };
}
