/**
 * `convert()`: any readable dataset to any writable format, whole or filtered, streamed batch by
 * batch (Odo's `odo(source, target)`). The pipeline:
 *   1. open the source through the format registry and choose the columns;
 *   2. check the output: never the input (also through symlinks and hard links), no existing
 *      file unless `force` (containers — SQLite, HDF5 — may gain a table / group);
 *   3. the writer's fidelity report (what happens to each column), returned alone for a dry run;
 *   4. scan → filter → project → write into a temporary file beside the output, renamed over it
 *      when complete; a failure or a cancel removes the temporary file and leaves nothing. A CSV
 *      is first staged in columnar form (stageColumnar: the native ingest into a temporary Arrow
 *      file beside the output, removed at the end) when the folder has room for it.
 *
 * Filters (`where`) are evaluated per batch with the shared reference evaluator (evalExprOnRow)
 * over the filter's columns only, and the passing rows are copied buffer by buffer (take.ts).
 * Why not the native filter: it needs the columns mapped, i.e. the source ingested into the
 * columnar cache first — for a one-pass export of a CSV or Parquet file that is a full extra copy
 * written and read back. The evaluator is the oracle the native masks are tested against, so both
 * give the same rows (SQL three-valued logic: unknown drops the row).
 */
import { lstat, realpath, rename, stat, statfs, unlink } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Field as ArrowField, RecordBatch, Schema as ArrowSchema, Struct, Type, makeData, makeVector } from 'apache-arrow';
import { cellReader } from './values';
import type { Field } from '../../../shared/datashape';
import { checkExpr, columnsOf, evalExprOnRow, parseExpr, type Expr } from '../../../shared/expr/index';
import { openSource, splitLocation } from '../sources/registry';
import { arrowSchemaOf } from '../sources/common';
import type { IngestWarning, Source } from '../sources/types';
import { splitOutput, writerByName, writerForPath } from './registry';
import { takeRows } from './take';
import { ConvertError, type FidelityReport, type WriteOptions, type Writer } from './types';

export interface ConvertOptions {
  /** a file, or PATH::INNER */
  input: string;
  /** a file, or OUT::INNER for a table / group in a container (SQLite, HDF5) */
  output: string;
  /** output format name; taken from OUT's extension when absent */
  format?: string;
  /** filter expression (shared/expr text form) */
  where?: string;
  /** only these columns, in this order */
  columns?: string[];
  /** writer options (`--option k=v`) */
  options?: WriteOptions;
  /** replace an existing output (file, table or group) */
  force?: boolean;
  /** only plan: the fidelity report, nothing written */
  dryRun?: boolean;
  batchRows?: number;
  /**
   * 'auto' (default): a source with a native one-pass ingest (CSV) is first ingested into a
   * temporary uncompressed Arrow file beside the output, when that folder has room for it, and the
   * output is written from that mapping; 'off': always stream batches from the source's scan.
   */
  staging?: 'auto' | 'off';
  signal?: AbortSignal;
  /** fraction done 0..1 and rows written so far */
  onProgress?: (done: number, rowsWritten: number) => void;
  /** called with the report before anything is written (the CLI prints it) */
  onReport?: (report: FidelityReport) => void;
}

export interface ConvertResult {
  input: string;
  output: string;
  inner?: string;
  format: string;
  /** rows written (0 for a dry run) */
  rows: number;
  /** rows read from the source */
  rowsRead: number;
  report: FidelityReport;
  dryRun: boolean;
  warnings: IngestWarning[];
}

async function exists(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch {
    return false;
  }
}

/** Refuses an output that is the input itself (same path, a symlink to it, or a hard link). */
async function checkNotInput(inPath: string, outPath: string): Promise<void> {
  let inReal: string;
  try {
    inReal = await realpath(inPath);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConvertError(code === 'ENOENT' ? 'ENOENT' : 'E_IO', inPath, code === 'ENOENT' ? 'no such file' : (e as Error).message);
  }
  const inSt = await stat(inReal);
  let outReal: string;
  try {
    outReal = await realpath(outPath);
  } catch {
    // does not exist yet: resolve its folder (which must exist)
    let dirReal: string;
    try {
      dirReal = await realpath(dirname(resolve(outPath)));
    } catch {
      throw new ConvertError('ENOENT', outPath, `the output folder ${dirname(resolve(outPath))} does not exist`);
    }
    outReal = join(dirReal, basename(outPath));
  }
  if (outReal === inReal) throw new ConvertError('E_SAME_FILE', outPath, 'is the input file; CDX never writes over its input');
  try {
    const outSt = await stat(outReal);
    if (outSt.dev === inSt.dev && outSt.ino === inSt.ino) throw new ConvertError('E_SAME_FILE', outPath, 'is the input file (a link to it); CDX never writes over its input');
    if (outSt.isDirectory()) throw new ConvertError('E_IS_DIR', outPath, 'is a directory; give a file name');
  } catch (e) {
    if (e instanceof ConvertError) throw e;
  }
}

function pickFields(all: Field[], columns: string[] | undefined, path: string): Field[] {
  if (!columns || !columns.length) return all;
  const byName = new Map(all.map((f) => [f.name, f]));
  const seen = new Set<string>();
  return columns.map((c) => {
    const f = byName.get(c);
    if (!f) throw new ConvertError('E_UNKNOWN_COLUMN', path, `no column "${c}" (columns: ${all.map((x) => x.name).join(', ')})`);
    if (seen.has(c)) throw new ConvertError('E_BAD_COLUMNS', path, `column "${c}" is listed twice`);
    seen.add(c);
    return f;
  });
}

function stemOf(location: string, inner?: string): string {
  if (inner) return inner.split('/').filter(Boolean).pop() ?? 'data';
  let b = basename(location);
  while (extname(b)) b = b.slice(0, -extname(b).length);
  return b || 'data';
}

export function tempPathFor(out: string): string {
  return join(dirname(resolve(out)), `.${basename(out)}.cdx-${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
}

function cancelled(path: string): ConvertError {
  return new ConvertError('E_CANCELLED', path, 'conversion cancelled; nothing was written');
}

/** Indices of the rows of `batch` where `expr` is true. */
function filterIndices(batch: RecordBatch, expr: Expr, names: string[]): Uint32Array {
  // the evaluator's cell forms: numbers/bigints, strings, booleans, temporal values as epoch ms
  // (what apache-arrow's get() returns), decimals as numbers
  const getters = names.map((n): ((i: number) => unknown) => {
    const c = batch.getChild(n);
    if (!c) return () => null;
    const d = c.data[0];
    if (d.type.typeId === Type.Decimal) {
      const r = cellReader(d.type);
      return (i) => {
        const v = r.get(d, i);
        return v === null ? null : Number(v);
      };
    }
    const v = makeVector(d);
    return (i) => v.get(i) ?? null;
  });
  const row: Record<string, unknown> = {};
  const out = new Uint32Array(batch.numRows);
  let k = 0;
  for (let i = 0; i < batch.numRows; i++) {
    for (let j = 0; j < names.length; j++) row[names[j]] = getters[j](i);
    if (evalExprOnRow(expr, row)) out[k++] = i;
  }
  return out.subarray(0, k);
}

/** Plan (and unless dryRun, run) one conversion. Throws ConvertError / SourceError naming the file. */
export async function convert(o: ConvertOptions): Promise<ConvertResult> {
  const { path: outPath, inner } = splitOutput(o.output);
  const writer = o.format ? writerByName(o.format, outPath) : writerForPath(outPath);
  if (!writer) {
    throw new ConvertError('E_UNKNOWN_FORMAT', outPath, 'cannot tell the output format from the extension; give --format (csv, tsv, parquet, arrow, feather, sqlite, hdf5, npy, npz, ndjson)');
  }
  if (inner !== undefined && !writer.container) throw new ConvertError('E_NO_INNER', outPath, `a ${writer.format} file holds one dataset; "::${inner}" does not apply`);
  const opts = o.options ?? {};

  const { path: inPath, inner: inInner } = await splitLocation(o.input);
  await checkNotInput(inPath, outPath);
  const outExists = await exists(outPath);
  if (outExists && !o.force && !writer.container) {
    throw new ConvertError('E_EXISTS', outPath, 'already exists; give --force to replace it');
  }

  const source = await openSource(o.input);
  try {
    const info = await source.info();
    const fields = pickFields(info.schema.fields, o.columns, o.input);
    let expr: Expr | undefined;
    let filterCols: string[] = [];
    if (o.where && o.where.trim()) {
      try {
        expr = parseExpr(o.where);
      } catch (e) {
        throw new ConvertError('E_BAD_FILTER', o.input, `bad filter: ${(e as Error).message}`);
      }
      const problems = checkExpr(expr, info.schema).filter((p) => p.severity === 'error');
      if (problems.length) throw new ConvertError('E_BAD_FILTER', o.input, `bad filter: ${problems[0].message}`);
      filterCols = columnsOf(expr);
    }
    const datasetName = stemOf(inPath, inInner);
    const report = writer.plan(fields, opts, { out: outPath, inner, datasetName });
    const base: Omit<ConvertResult, 'rows' | 'rowsRead' | 'dryRun'> = {
      input: o.input, output: outPath, ...(inner ? { inner } : {}), format: writer.format, report, warnings: info.warnings,
    };
    if (o.dryRun) return { ...base, rows: 0, rowsRead: 0, dryRun: true };
    o.onReport?.(report);

    const names = fields.map((f) => f.name);
    const scanCols = [...names, ...filterCols.filter((c) => !names.includes(c))];
    const tmp = tempPathFor(outPath);
    const inputBytes = (await stat(inPath)).size;
    const staged = await stageColumnar(source, inputBytes, outPath, o);
    const ctx = { out: outPath, tmp, inner, outExists, force: !!o.force, datasetName, rowsHint: info.rows, inputBytes, signal: o.signal };
    let w: Writer | undefined;
    let rows = 0;
    let rowsRead = 0;
    let lastFrac = 0;
    try {
      if (o.signal?.aborted) throw cancelled(outPath);
      const it = (staged ?? source).scan({
        columns: scanCols, batchRows: o.batchRows, signal: o.signal,
        onProgress: (d) => {
          lastFrac = staged ? 0.5 + d / 2 : d;
        },
      })[Symbol.asyncIterator]();
      let first = await it.next();
      const schema = first.done ? arrowSchemaOf(fields) : first.value.select(names).schema;
      w = await writer.open(fields, schema, opts, ctx);
      for (let r = first; !r.done; r = await it.next()) {
        if (o.signal?.aborted) throw cancelled(outPath);
        const batch = r.value;
        rowsRead += batch.numRows;
        const parts = expr ? takeRows(batch, filterIndices(batch, expr, filterCols)) : [batch];
        for (const p of parts) {
          if (!p.numRows) continue;
          await w.write(p.select(names));
          rows += p.numRows;
        }
        o.onProgress?.(info.rows ? Math.min(1, rowsRead / info.rows) : lastFrac, rows);
      }
      if (o.signal?.aborted) throw cancelled(outPath);
      const how = await w.finish();
      w = undefined;
      if (how === 'rename') await rename(tmp, outPath);
    } catch (e) {
      if (w) await w.abort().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
      if (o.signal?.aborted || (e as any)?.code === 'E_CANCELLED' || (e as Error)?.name === 'AbortError') throw cancelled(outPath);
      throw e;
    } finally {
      await staged?.drop();
    }
    o.onProgress?.(1, rows);
    // a staged ingest knows the whole file now: its warnings (bad rows with line numbers, widened columns)
    return { ...base, ...(staged ? { warnings: (await source.info()).warnings } : {}), rows, rowsRead, dryRun: false };
  } finally {
    await source.close().catch(() => undefined);
  }
}

/**
 * Stages a CSV in columnar form for the conversion: the native ingest (one parallel pass, types
 * widened as needed — what opening the file in the app does) into a temporary Arrow file beside
 * the output, then the Arrow reader over that mapping. Why: the streamed path must first type the
 * whole file in a separate pass (no batch may widen after it was written) and parses in JS-fed
 * chunks; the ingest is about twice as fast. The staged file's schema had to be written before the
 * data, so it calls every column nullable; the batches are handed on with the nullability the
 * ingest found, as the streamed path's are. Skipped (streaming instead) when the output folder
 * lacks room for a copy of the input and a margin, or when asked (`staging: 'off'`). The caller
 * drops the staged file whatever happens.
 */
async function stageColumnar(source: Source, inputBytes: number, outPath: string, o: ConvertOptions): Promise<{ scan: Source['scan']; drop: () => Promise<void> } | null> {
  const nativeIngest = source.capabilities?.nativeIngest;
  if (o.staging === 'off' || !nativeIngest) return null;
  try {
    const fs = await statfs(dirname(resolve(outPath)));
    if (fs.bavail * fs.bsize < inputBytes * 1.5 + (256 << 20)) return null;
  } catch {
    return null;
  }
  const staged = tempPathFor(outPath) + '.arrow';
  let reader: Source | undefined;
  const drop = async () => {
    await reader?.close().catch(() => undefined);
    await unlink(staged).catch(() => undefined);
  };
  try {
    const r = await nativeIngest(staged, { signal: o.signal, onProgress: (d) => o.onProgress?.(d / 2, 0) });
    const nullable = new Map(r.columns.map((c) => [c.name, c.nullable]));
    const from = (reader = await openSource(staged));
    async function* scan(opts?: Parameters<Source['scan']>[0]): AsyncIterable<RecordBatch> {
      let seen: ArrowSchema | undefined, exact: ArrowSchema | undefined; // one schema for every batch
      for await (const b of from.scan(opts)) {
        if (b.schema !== seen) [seen, exact] = [b.schema, exactNullability(b.schema, nullable)];
        yield exact === seen ? b : new RecordBatch(exact!, makeData({ type: new Struct(exact!.fields), length: b.numRows, nullCount: 0, children: b.data.children }));
      }
    }
    return { scan, drop };
  } catch (e) {
    await drop();
    if (o.signal?.aborted) throw cancelled(outPath);
    throw e;
  }
}

/** `schema` with its fields marked non-nullable where `nullable` says so (itself when nothing changes). */
function exactNullability(schema: ArrowSchema, nullable: Map<string, boolean>): ArrowSchema {
  const fields = schema.fields.map((f) => (f.nullable && nullable.get(f.name) === false ? new ArrowField(f.name, f.type, false, f.metadata) : f));
  return fields.every((f, i) => f === schema.fields[i]) ? schema : new ArrowSchema(fields, schema.metadata);
}

/** The report as aligned text lines (CLI, logs). */
export function formatReport(r: FidelityReport, out?: string): string {
  const rows = r.columns.map((c) => [c.column, c.from, c.to, c.status, c.note ?? '']);
  const head = ['column', 'from', 'to', 'status', 'note'];
  const width = head.map((h, j) => Math.max(h.length, ...rows.map((x) => [...x[j]].length)));
  const line = (x: string[]) => x.map((v, j) => (j < 4 ? v.padEnd(width[j]) : v)).join('  ').trimEnd();
  return [
    `fidelity report: ${out ? out + ' ' : ''}(${r.format})`,
    line(head),
    ...rows.map(line),
    ...r.notes.map((n) => `note: ${n}`),
  ].join('\n');
}
