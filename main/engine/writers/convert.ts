/**
 * `convert()`: any readable dataset to any writable format, whole or filtered (Odo's
 * `odo(source, target)`). The pipeline:
 *   1. the output: never the input (also through symlinks and hard links), no existing file unless
 *      `force` (containers — SQLite, HDF5 — may gain a table / group);
 *   2. the columns and the filter (checked against the schema: E_BAD_FILTER names the problem);
 *   3. the writer's fidelity report (what happens to each column), returned alone for a dry run;
 *   4. the rows, batch by batch, into a temporary file beside the output, renamed over it when
 *      complete; a failure or a cancel removes the temporary file and leaves nothing (also when the
 *      process exits meanwhile: see `trackTemp`).
 * The rows come one of two ways:
 *   - `mapped` (a dataset the engine has mapped: its columnar cache, or the file in place;
 *     mapped.ts): the native filter and gather kernels over the mapped columns, as the table
 *     view's filtered windows are read; a sorted conversion (`sort`) reads them through the sort's
 *     permutation, as the table's sorted view does, and needs this way;
 *   - otherwise streamed from the source's scan, the filter evaluated per batch with the shared
 *     reference evaluator (evalExprOnRow — the oracle the native masks are tested against, so both
 *     give the same rows: SQL three-valued logic, unknown drops the row) and the passing rows copied
 *     buffer by buffer (take.ts). Why not the native filter here: it needs the columns mapped, i.e.
 *     the source ingested into the columnar cache first — a full extra copy for a one-pass export.
 *     A source with a native one-pass ingest (CSV) is first staged in columnar form
 *     (stageColumnar) when the output folder has room: that ingest is faster than typing and
 *     parsing the text in chunks.
 */
import { lstat, realpath, stat, unlink } from 'node:fs/promises';
import { freeBytes, ingestRoom, noteTemp, renameDurable } from '../durable';
import { existsSync, readdirSync, unlinkSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Field as ArrowField, RecordBatch, Schema as ArrowSchema, Struct, Type, makeData, makeVector } from 'apache-arrow';
import { cellReader } from './values';
import type { Field, Schema } from '../../../shared/datashape';
import { checkExpr, columnsOf, evalExprOnRow, parseExpr, type Expr } from '../../../shared/expr/index';
import { CdxError, isCancelled } from '../../../shared/errors';
import { openSource, splitLocation } from '../sources/registry';
import { isGlobPattern } from '../sources/multi';
import { arrowSchemaOf } from '../sources/common';
import type { IngestWarning, Source } from '../sources/types';
import { splitOutput, writerByName, writerForPath, writers } from './registry';
import { tmpdir } from 'node:os';
import { connectionLabel, formatDbLocation, isDbLocation, parseDbLocation } from '../sql/url';
import { setSessionSecret } from '../sql/secrets';
import { dbTarget, isDbWriter, type DbWriterProvider } from './dbtarget';
import { takeRows } from './take';
import { mappedRows, type MappedInput, type RowChunk } from './mapped';
import type { SortKey } from '../sort';
import type { FidelityReport, WriteOptions, Writer } from './types';

export interface ConvertOptions {
  /** a file, or PATH::INNER (with `source`: the dataset's name as the user knows it, e.g. a database URL) */
  input: string;
  /** an input already open (a database table or query): its rows are streamed from it, no file is read */
  source?: Source;
  /** the output table's default name when `source` is given */
  sourceName?: string;
  /** a file, or OUT::INNER for a table / group in a container (SQLite, HDF5) */
  output: string;
  /** output format name; taken from OUT's extension when absent */
  format?: string;
  /** filter expression (shared/expr text form) */
  where?: string;
  /** only these columns, in this order */
  columns?: string[];
  /**
   * the rows in this order (nulls last, ties by row number): read through the sort's permutation
   * of the `mapped` dataset, which it needs (a `source` given is expected in order already)
   */
  sort?: readonly SortKey[];
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
  /**
   * The input as the engine has it mapped (a catalogued dataset): its schema and warnings are
   * taken from it and its rows read by the native kernels; the source is opened and streamed only
   * when a column or the filter is beyond the kernels.
   */
  mapped?: MappedInput;
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
  /** 'mapped': the native kernels over the mapped columns; 'source': streamed from the source */
  via: 'mapped' | 'source';
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
    throw CdxError.file(code === 'ENOENT' ? 'ENOENT' : 'E_IO', inPath, code === 'ENOENT' ? 'no such file' : (e as Error).message);
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
      throw CdxError.file('ENOENT', outPath, `the output folder ${dirname(resolve(outPath))} does not exist`);
    }
    outReal = join(dirReal, basename(outPath));
  }
  if (outReal === inReal) throw CdxError.file('E_SAME_FILE', outPath, 'is the input file; CDX never writes over its input');
  let outSt;
  try {
    outSt = await stat(outReal);
  } catch {
    return; // no output yet
  }
  if (outSt.dev === inSt.dev && outSt.ino === inSt.ino) throw CdxError.file('E_SAME_FILE', outPath, 'is the input file (a link to it); CDX never writes over its input');
  if (outSt.isDirectory()) throw CdxError.file('E_IS_DIR', outPath, 'is a directory; give a file name');
}

/** Only that the input exists (a database output cannot be the input file). */
async function checkInput(inPath: string): Promise<void> {
  try {
    await stat(inPath);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw CdxError.file(code === 'ENOENT' ? 'ENOENT' : 'E_IO', inPath, code === 'ENOENT' ? 'no such file' : (e as Error).message);
  }
}

/**
 * A database URL as the output: the writer for its kind, the connection's canonical text (never a
 * secret) as `path` and the table as `inner`. A password written in the URL is kept as this
 * engine's session secret for the connection (secrets.ts), as when opening a database.
 */
function dbOutput(o: ConvertOptions): { writer: DbWriterProvider; path: string; inner?: string } {
  const { location, password } = parseDbLocation(o.output);
  if (o.format && o.format.toLowerCase() !== location.kind && !(o.format.toLowerCase() === 'postgres' && location.kind === 'postgresql')) {
    throw CdxError.file('E_BAD_ARG', connectionLabel(location), `--format ${o.format} does not apply to a ${location.kind} URL`);
  }
  if (location.sql !== undefined) throw CdxError.file('E_BAD_ARG', connectionLabel(location), 'a query cannot be written to: name a table after "::"');
  const writer = writers.find((w): w is DbWriterProvider => isDbWriter(w) && w.kind === location.kind);
  if (!writer) throw CdxError.file('E_UNKNOWN_FORMAT', connectionLabel(location), `no writer for ${location.kind} databases`);
  if (password !== undefined) setSessionSecret(connectionLabel(location), password);
  const t = location.table;
  const { table: _t, ...conn } = location;
  const inner = t ? (t.schema !== undefined ? quoteDbPart(t.schema) + '.' : '') + quoteDbPart(t.name) : undefined;
  return { writer, path: formatDbLocation(conn), ...(inner !== undefined ? { inner } : {}) };
}

function quoteDbPart(p: string): string {
  return '"' + p.replace(/"/g, '""') + '"';
}

function pickFields(all: Field[], columns: string[] | undefined, path: string): Field[] {
  if (!columns || !columns.length) return all;
  const byName = new Map(all.map((f) => [f.name, f]));
  const seen = new Set<string>();
  return columns.map((c) => {
    const f = byName.get(c);
    if (!f) throw CdxError.file('E_UNKNOWN_COLUMN', path, `no column "${c}" (columns: ${all.map((x) => x.name).join(', ')})`, { column: c });
    if (seen.has(c)) throw CdxError.file('E_BAD_COLUMNS', path, `column "${c}" is listed twice`, { column: c });
    seen.add(c);
    return f;
  });
}

/** The filter parsed and checked against the schema (E_BAD_FILTER naming the input and the problem). */
function checkFilter(where: string | undefined, schema: Schema, input: string): Expr | undefined {
  if (!where || !where.trim()) return undefined;
  let expr: Expr;
  try {
    expr = parseExpr(where);
  } catch (e) {
    throw CdxError.file('E_BAD_FILTER', input, `bad filter: ${(e as Error).message}`, { cause: e });
  }
  const problems = checkExpr(expr, schema).filter((p) => p.severity === 'error');
  if (problems.length) throw CdxError.file('E_BAD_FILTER', input, `bad filter: ${problems[0]!.message}`);
  return expr;
}

/** An http(s) URL or an S3 location: no file on this disk, read through the engine's cache (the mapped dataset). */
function isRemoteInput(location: string): boolean {
  return /^(https?|s3):\/\//i.test(location);
}

function stemOf(location: string, inner?: string): string {
  if (inner) return inner.split('/').filter(Boolean).pop() ?? 'data';
  // a URL's name is its path's last part, without the query or a folder's trailing slash
  let b = basename(isRemoteInput(location) ? location.replace(/[?#].*$/, '').replace(/[/*]+$/, '') : location);
  while (extname(b)) b = b.slice(0, -extname(b).length);
  return b || 'data';
}

export function tempPathFor(out: string): string {
  return join(dirname(resolve(out)), `.${basename(out)}.cdx-${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * Temporary files of the conversions in flight, removed also when the process exits while one
 * is still unwinding (the engine is stopped with SIGTERM, which its entry turns into an exit, right
 * after a CLI cancels its export): a conversion never leaves a temporary file behind — nor one
 * named after it (`TMP.*`: the CSV ingest stages through its own `STAGED.tmp-…`). Returns the
 * file's removal.
 */
const tempFiles = new Set<string>();
function trackTemp(p: string): () => Promise<void> {
  if (tempFiles.size === 0) process.on('exit', removeTempFiles);
  tempFiles.add(p);
  // a process killed outright runs no 'exit' handler: the note lets the next start sweep it (durable.ts)
  const unnote = noteTemp(p);
  return async () => {
    await unlink(p).catch(() => undefined);
    unnote();
    tempFiles.delete(p);
    if (tempFiles.size === 0) process.off('exit', removeTempFiles);
  };
}

function removeTempFiles(): void {
  for (const f of tempFiles) {
    try {
      // the names are unique (process id and random bytes): whatever starts with one is its own
      const dir = dirname(f);
      for (const n of readdirSync(dir)) if (n === basename(f) || n.startsWith(basename(f) + '.')) unlinkSync(join(dir, n));
    } catch {
      /* gone already, or the folder with it */
    }
  }
}

function cancelled(path: string): CdxError {
  return CdxError.file('E_CANCELLED', path, 'conversion cancelled; nothing was written');
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

/** The source's (or its staged copy's) batches filtered by the evaluator, the exported columns only. */
async function* streamed(from: Pick<Source, 'scan'>, fields: Field[], expr: Expr | undefined, total: number | null, staged: boolean, o: ConvertOptions): AsyncIterable<RowChunk> {
  const names = fields.map((f) => f.name);
  const filterCols = expr ? columnsOf(expr) : [];
  const scanCols = [...names, ...filterCols.filter((c) => !names.includes(c))];
  let frac = 0;
  let rowsRead = 0;
  const batches = from.scan({
    columns: scanCols, batchRows: o.batchRows, signal: o.signal,
    onProgress: (d) => {
      frac = staged ? 0.5 + d / 2 : d;
    },
  });
  for await (const batch of batches) {
    rowsRead += batch.numRows;
    const parts = expr ? takeRows(batch, filterIndices(batch, expr, filterCols)) : [batch];
    yield { parts: parts.map((p) => p.select(names)), schema: batch.select(names).schema, rowsRead, done: total ? Math.min(1, rowsRead / total) : frac };
  }
}

/** Plan (and unless dryRun, run) one conversion. Throws CdxError naming the file. */
export async function convert(o: ConvertOptions): Promise<ConvertResult> {
  // a database URL as the output: a table written by the database's writer (no temporary file, no folder)
  const db = isDbLocation(o.output) ? dbOutput(o) : undefined;
  const { path: outPath, inner } = db ?? splitOutput(o.output);
  const writer = db ? db.writer : o.format ? writerByName(o.format, outPath) : writerForPath(outPath);
  if (!writer) {
    throw CdxError.file('E_UNKNOWN_FORMAT', outPath, 'cannot tell the output format from the extension; give --format (csv, tsv, parquet, arrow, feather, sqlite, hdf5, npy, npz, ndjson)');
  }
  if (inner !== undefined && !writer.container) throw CdxError.file('E_NO_INNER', outPath, `a ${writer.format} file holds one dataset; "::${inner}" does not apply`);
  if (!db && isDbWriter(writer)) throw CdxError.file('E_BAD_ARG', outPath, `${writer.format} is written to a database URL (${writer.kind}://USER@HOST:PORT/DB::TABLE), not to a file`);
  const opts = o.options ?? {};

  const { path: inPath, inner: inInner } = o.source ? { path: o.sourceName ?? 'data', inner: undefined } : await splitLocation(o.input);
  const remoteIn = !o.source && isRemoteInput(o.input);
  if (remoteIn && !o.mapped) {
    throw CdxError.file('E_UNSUPPORTED', o.input, 'a remote file or prefix is converted from the engine\'s cache (open it first); it is not read here directly');
  }
  if (o.source || remoteIn) { /* nothing on this disk to check: the source, or the remote dataset's cache */ }
  else if (db) await checkInput(inPath);
  else if (!isGlobPattern(inPath) || existsSync(inPath)) await checkNotInput(inPath, outPath); // a glob names no one file
  const outExists = db ? await db.writer.tableExists(outPath, inner ?? opts.table, stemOf(inPath, inInner)) : await exists(outPath);
  if (outExists && !o.force && (db || !writer.container)) {
    throw db
      ? CdxError.file('E_EXISTS', dbTarget(outPath, inner, opts.table, stemOf(inPath, inInner)).display, 'the table already exists; give --force to replace it')
      : CdxError.file('E_EXISTS', outPath, 'already exists; give --force to replace it');
  }

  // a mapped dataset knows its schema: the source is opened only when its rows must be streamed
  let source: Source | undefined;
  try {
    const m = o.mapped?.dataset;
    if (!m) {
      source = o.source ?? await openSource(o.input);
      // many files as one dataset: those the filter's partition-key conditions rule out are not read at all
      let pre: Expr | undefined;
      try {
        pre = o.where?.trim() && source.capabilities?.prune ? parseExpr(o.where) : undefined;
      } catch {
        /* checkFilter below says what is wrong */
      }
      if (pre) source.capabilities!.prune!(pre);
    }
    const info = m ? { schema: m.schema, rows: m.rows as number | null, warnings: m.warnings } : await source!.info({ signal: o.signal });
    const fields = pickFields(info.schema.fields, o.columns, o.input);
    const expr = checkFilter(o.where, info.schema, o.input);
    const sort = o.source ? undefined : o.sort?.length ? o.sort : undefined;
    if (sort) {
      for (const k of sort) {
        if (!info.schema.fields.some((f) => f.name === k.name)) throw CdxError.file('E_UNKNOWN_COLUMN', o.input, `no column "${k.name}" to sort by`, { column: k.name });
      }
      if (!o.mapped) throw CdxError.file('E_UNSUPPORTED', o.input, 'a sorted conversion reads the dataset\'s mapped columns: open it first');
    }
    const datasetName = stemOf(inPath, inInner);
    const report = writer.plan(fields, opts, { out: outPath, inner, datasetName });
    const base = { input: o.input, output: outPath, ...(inner ? { inner } : {}), format: writer.format, report, warnings: info.warnings };
    if (o.dryRun) return { ...base, rows: 0, rowsRead: 0, dryRun: true, via: m ? 'mapped' : 'source' };
    o.onReport?.(report);

    // a database target writes no file: no temporary path to track
    const tmp = db ? '' : tempPathFor(outPath);
    const dropTmp = db ? async () => undefined : trackTemp(tmp);
    const inputBytes = o.source || remoteIn || isGlobPattern(inPath) ? 0 : (await stat(inPath)).size;
    const ctx = { out: outPath, tmp, inner, outExists, force: !!o.force, datasetName, rowsHint: info.rows, inputBytes, signal: o.signal };
    let w: Writer | undefined;
    let rows = 0;
    let rowsRead = 0;
    let staged: Awaited<ReturnType<typeof stageColumnar>> = null;
    let via: ConvertResult['via'] = 'mapped';
    try {
      if (o.signal?.aborted) throw cancelled(outPath);
      const native = o.mapped
        ? await mappedRows(o.mapped, fields, o.where, { batchRows: o.batchRows, signal: o.signal, onCounting: (p) => o.onProgress?.(0.1 * p.fraction, 0), ...(sort ? { sort } : {}) })
        : null;
      let chunks: AsyncIterable<RowChunk>;
      if (native) {
        chunks = native.chunks;
      } else if (sort) {
        throw CdxError.file('E_UNSUPPORTED', o.input, 'a sorted export reads the columns natively; a column chosen (nested, decimal, binary) or the filter is beyond the kernels: export without the sort, or without that column');
      } else {
        via = 'source';
        if (remoteIn) {
          throw CdxError.file('E_UNSUPPORTED', o.input, 'this filter or column type is not converted from a remote dataset\'s cache; open the dataset and export it without the filter, or convert a local copy');
        }
        source ??= o.source ?? await openSource(o.input);
        staged = await stageColumnar(source, inputBytes, db ? join(tmpdir(), 'cdx-convert') : outPath, o);
        chunks = streamed(staged ?? source, fields, expr, info.rows, !!staged, o);
      }
      for await (const c of chunks) {
        if (o.signal?.aborted) throw cancelled(outPath);
        // the writer takes the schema of the first batch read (no batch at all: the fields' types)
        w ??= await writer.open(fields, c.schema, opts, ctx);
        for (const p of c.parts) {
          if (!p.numRows) continue;
          await w.write(p);
          rows += p.numRows;
        }
        rowsRead = c.rowsRead;
        o.onProgress?.(c.done, rows);
      }
      w ??= await writer.open(fields, native?.schema ?? arrowSchemaOf(fields), opts, ctx);
      if (native) rowsRead = native.rowsRead;
      if (o.signal?.aborted) throw cancelled(outPath);
      const how = await w.finish();
      w = undefined;
      // flushed before the rename, the folder after: the output is whole after a crash or power cut
      if (how === 'rename' && !db) await renameDurable(tmp, outPath);
    } catch (e) {
      if (w) await w.abort().catch(() => undefined);
      if (o.signal?.aborted || isCancelled(e)) throw cancelled(outPath);
      throw e;
    } finally {
      await dropTmp();
      await staged?.drop();
    }
    o.onProgress?.(1, rows);
    // a staged ingest knows the whole file now: its warnings (bad rows with line numbers, widened columns)
    return { ...base, ...(staged && source ? { warnings: (await source.info()).warnings } : {}), rows, rowsRead, dryRun: false, via };
  } finally {
    await source?.close().catch(() => undefined);
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
  const free = await freeBytes(dirname(resolve(outPath)));
  if (free === null || free < ingestRoom(inputBytes)) return null;
  const staged = tempPathFor(outPath) + '.arrow';
  const dropStaged = trackTemp(staged);
  let reader: Source | undefined;
  const drop = async () => {
    await reader?.close().catch(() => undefined);
    await dropStaged();
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
