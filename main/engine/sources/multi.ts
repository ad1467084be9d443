/**
 * Many files as one dataset: a folder (every data file under it, hidden and `_`-prefixed names
 * left out), a glob (`logs/2024-*.csv`, `parts/*.parquet`, `**` for any depth) or a Hive-partitioned
 * tree (`year=2024/month=01/part-0.parquet`). Each file is read by its own format's Source; this
 * Source concatenates them batch by batch, in path order, under one schema:
 *  - partition keys (`key=value` folders anywhere on the path, the location's own included, as
 *    DuckDB reads them: `tree/year=2024/` keeps its year column) become columns, their types inferred from every value
 *    (integer → int64, number → float64, `YYYY-MM-DD` → date, otherwise string;
 *    `__HIVE_DEFAULT_PARTITION__` is null). A value that does not parse for the type the other
 *    values share is an error naming the file (a typo must not turn a year column into text);
 *  - the files' schemas are unified by name, in order of first appearance: integer widths widen,
 *    integers and floats meet at float64, a column missing from a file is null there; types that
 *    do not meet (text against numbers, different time units) are an error naming both files;
 *  - `prune(filter)` (a declared capability) drops, before anything of them is read, the files
 *    whose partition values the filter's partition-key conditions rule out;
 *  - info()'s metadata lists the files with their partition values and, after a scan, each one's
 *    row count.
 * CSV files are typed over the whole file first (as a single CSV's scan does), so no batch must
 * widen after the schema was given; a folder of CSVs only goes into the cache through each file's
 * native ingest (the `nativeIngest` capability: staged Arrow files, then concatenated). The freshness of a catalog entry is `fingerprint()` of the
 * listing: a file added, removed or changed changes it.
 */
import { mkdir, readFile, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { Schema as ArrowSchema, Field as ArrowField, Dictionary, RecordBatch, RecordBatchReader, type DataType, type Data, type Vector } from 'apache-arrow';
import type { Field } from '../../../shared/datashape';
import { CdxError, throwIfCancelled } from '../../../shared/errors';
import { columnsOf, evalExpr3, type Expr } from '../../../shared/expr/index';
import { arrowTypeOf, batchFromData, buildColumn, fieldFromArrow } from './common';
import { CsvSource } from './csv';
import type { IngestWarning, NativeIngestOptions, NativeIngestResult, ScanOptions, Source, SourceCapabilities, SourceInfo } from './types';
import { ingestToArrow } from '../cache';
import { detectProvider, openSource, providers } from './registry';

export const HIVE_NULL = '__HIVE_DEFAULT_PARTITION__';
/** files opened at once while their schemas are read */
const CONCURRENCY = 8;
/** reader warnings kept over all the files */
const MAX_WARNINGS = 1000;
/** files ingested at once into the staging folder */
const STAGE_CONCURRENCY = 4;
/** staged Arrow files up to this size are read whole into memory */
const STAGED_IN_MEMORY = 64 * 1024 * 1024;

export interface ListedFile {
  path: string;
  /** relative to the listing's base folder, with `/` */
  rel: string;
  size: number;
  mtimeMs: number;
  /** Hive partition values in path order (raw text, null for the default partition) */
  partitions: [string, string | null][];
  /** a remote object's ETag (S3): part of the listing's fingerprint */
  etag?: string;
}

export interface Listing {
  /** the location as given (a folder or a pattern) */
  location: string;
  base: string;
  files: ListedFile[];
  /**
   * files that are not on this disk yet (objects under an S3 prefix, remote/s3open.ts): `fetch`
   * brings the named ones to their `path`s before any of them is read — only those left after
   * `prune`, so a filter on partition keys skips objects before any byte of them is fetched — and
   * `dispose` removes what it brought
   */
  remote?: RemoteFiles;
}

export interface RemoteFiles {
  fetch(files: ListedFile[], opts: { signal?: AbortSignal; onBytes?: (done: number, total: number) => void }): Promise<void>;
  dispose(): Promise<void>;
}

const GLOB_CHARS = /[*?[]/;

/** Does the location hold glob characters (`*`, `?`, `[`)? */
export function isGlobPattern(location: string): boolean {
  return GLOB_CHARS.test(location);
}

/** A folder, or a pattern that is not itself an existing file: read as many files. */
export async function isMultiLocation(location: string): Promise<boolean> {
  // a URL (http, s3, a database) is not a local pattern, whatever its query string holds
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) return false;
  try {
    return (await stat(location)).isDirectory();
  } catch {
    if (!isGlobPattern(location)) return false;
  }
  // PATH::INNER with a pattern-like inner name (an HDF5 dataset called `a*`): a file's dataset
  for (let i = location.indexOf('::'); i > 0; i = location.indexOf('::', i + 2)) {
    if (await stat(location.slice(0, i)).then((st) => st.isFile(), () => false)) return false;
  }
  return true;
}

/** The glob as a regular expression over `/`-separated paths relative to its base folder. */
export function globRegex(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        // `**/` any folders (none included); a trailing `**` anything
        if (pattern[i + 2] === '/') { re += '(?:[^/]*/)*'; i += 2; } else { re += '.*'; i += 1; }
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        let cls = pattern.slice(i + 1, end).replace(/\\/g, '\\\\');
        if (cls.startsWith('!')) cls = '^' + cls.slice(1);
        re += `[${cls}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

export function dataExtension(name: string): boolean {
  const n = name.toLowerCase();
  return providers.some((p) => p.extensions.some((e) => n.endsWith('.' + e)));
}

/**
 * Which folders (as path segments below the pattern's base) can hold a match of the pattern, so
 * that a listing does not walk the rest of a large tree: each segment must match the pattern's
 * segment at its depth, until a `**`.
 */
export function folderFilter(pattern: string): (rel: string[]) => boolean {
  const segs = pattern.split('/');
  const res = segs.map((s) => (s.includes('**') ? null : globRegex(s)));
  return (rel) => {
    for (let i = 0; i < rel.length; i++) {
      if (i < segs.length && res[i] === null) return true;
      if (i >= segs.length - 1) return false; // deeper than the pattern's folders
      if (!res[i]!.test(rel[i]!)) return false;
    }
    return true;
  };
}

async function walk(dir: string, out: string[], signal?: AbortSignal, descend?: (rel: string[]) => boolean, rel: string[] = []): Promise<void> {
  throwIfCancelled(signal, 'the listing');
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw CdxError.file(code === 'EACCES' || code === 'EPERM' ? 'EACCES' : 'E_IO', dir, code === 'EACCES' || code === 'EPERM' ? 'permission denied (listing the folder)' : (e as Error).message);
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    // hidden files and Spark/Hive markers (_SUCCESS, _metadata, .crc) are not data
    if (e.name.startsWith('.') || e.name.startsWith('_')) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      const below = [...rel, e.name];
      if (!descend || descend(below)) await walk(p, out, signal, descend, below);
    }
    else if (e.isFile() || e.isSymbolicLink()) out.push(p);
  }
}

export function partitionsOf(rel: string): [string, string | null][] {
  const parts = rel.split('/');
  parts.pop();
  const out: [string, string | null][] = [];
  for (const seg of parts) {
    const i = seg.indexOf('=');
    if (i <= 0) continue;
    let v = seg.slice(i + 1);
    try {
      v = decodeURIComponent(v);
    } catch {
      /* kept as written */
    }
    out.push([seg.slice(0, i), v === HIVE_NULL ? null : v]);
  }
  return out;
}

/** The files of a folder or a glob, sorted by path, with their sizes and Hive partition values. */
export async function listFiles(location: string, signal?: AbortSignal): Promise<Listing> {
  let base: string;
  let paths: string[] = [];
  let isDir = false;
  try {
    isDir = (await stat(location)).isDirectory();
  } catch {
    /* a pattern */
  }
  if (isDir) {
    base = location;
    await walk(base, paths, signal);
    paths = paths.filter((p) => dataExtension(path.basename(p)));
    if (!paths.length) throw CdxError.file('E_EMPTY', location, 'the folder holds no data files (none with an extension CDX reads: .parquet, .csv, .arrow, .json, …)');
  } else {
    const segs = location.split(/[\\/]/);
    const firstGlob = segs.findIndex((s) => isGlobPattern(s));
    if (firstGlob < 0) throw CdxError.file('ENOENT', location, 'no such file or folder');
    base = segs.slice(0, firstGlob).join('/') || '/';
    const re = globRegex(segs.slice(firstGlob).join('/'));
    try {
      if (!(await stat(base)).isDirectory()) throw new Error('not a folder');
    } catch {
      throw CdxError.file('ENOENT', location, `no file matches this pattern (the folder ${base} does not exist)`);
    }
    const all: string[] = [];
    await walk(base, all, signal, folderFilter(segs.slice(firstGlob).join('/')));
    paths = all.filter((p) => re.test(path.relative(base, p).split(path.sep).join('/')));
    if (!paths.length) throw CdxError.file('ENOENT', location, 'no file matches this pattern');
  }
  paths.sort();
  const files: ListedFile[] = [];
  for (const p of paths) {
    const st = await stat(p).catch(() => null);
    if (!st || !st.isFile()) continue;
    const rel = path.relative(base, p).split(path.sep).join('/');
    // every `key=value` folder on the path counts, the location's own included (as DuckDB reads them):
    // `tree/year=2024/` is that year's files with their year column
    files.push({ path: p, rel, size: st.size, mtimeMs: st.mtimeMs, partitions: partitionsOf(p.split(path.sep).join('/')) });
  }
  if (!files.length) throw CdxError.file('ENOENT', location, 'no file matches this pattern');
  checkPartitionKeys(location, files);
  return { location, base, files };
}

/** Every file must sit under the same partition keys, in the same order (local and S3 listings). */
export function checkPartitionKeys(location: string, files: ListedFile[]): void {
  const keys0 = files[0]!.partitions.map(([k]) => k).join('/');
  for (const f of files) {
    const keys = f.partitions.map(([k]) => k).join('/');
    if (keys !== keys0) {
      throw CdxError.file('E_BAD_FORMAT', location,
        `the files are not partitioned alike: ${files[0]!.rel} has partition keys (${keys0 || 'none'}) but ${f.rel} has (${keys || 'none'})`);
    }
  }
}

/**
 * The listing's identity for the catalog's freshness check: the total size, and a number made
 * from every file's path, size and modification time, and ETag where the listing has one (S3)
 * (a file added, removed or changed changes it).
 */
export function fingerprint(l: Listing): { size: number; mtimeMs: number } {
  const h = createHash('sha256');
  let size = 0;
  for (const f of l.files) {
    size += f.size;
    h.update(`${f.rel}\u0000${f.size}\u0000${f.mtimeMs}${f.etag ? `\u0000${f.etag}` : ''}\n`);
  }
  // 48 bits: an exact double
  return { size, mtimeMs: parseInt(h.digest('hex').slice(0, 12), 16) };
}

// ---------------------------------------------------------------------------------------------
// Partition keys

type KeyType = 'int64' | 'float64' | 'date' | 'string';

function kindOf(v: string): KeyType {
  if (/^[+-]?\d+$/.test(v) && Number.isSafeInteger(Number(v))) return 'int64';
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v)) return 'float64';
  if (/^\d{4}-\d{2}-\d{2}$/.test(v) && !Number.isNaN(Date.parse(v + 'T00:00:00Z')) && new Date(v + 'T00:00:00Z').toISOString().startsWith(v)) return 'date';
  return 'string';
}

interface PartitionKey {
  name: string;
  type: KeyType;
  nullable: boolean;
}

/** Each key's type from all its values; a minority of values that do not parse as the rest do is an error naming the file. */
function inferKeys(l: Listing): PartitionKey[] {
  const keys = l.files[0]?.partitions.map(([k]) => k) ?? [];
  return keys.map((name, j) => {
    const counts: Record<KeyType, number> = { int64: 0, float64: 0, date: 0, string: 0 };
    let nullable = false;
    for (const f of l.files) {
      const v = f.partitions[j]![1];
      if (v === null) nullable = true;
      else counts[kindOf(v)]++;
    }
    const typed = counts.int64 + counts.float64 + counts.date;
    let type: KeyType;
    if (!typed) type = 'string';
    else if (counts.date && counts.date === typed) type = 'date';
    else if (!counts.date) type = counts.float64 ? 'float64' : 'int64';
    else type = 'string';
    const odd = (v: string) => {
      const k = kindOf(v);
      return type === 'float64' ? k !== 'int64' && k !== 'float64' : k !== type;
    };
    if (type === 'string' && typed && counts.string < typed) {
      // mostly typed values with a few that are not: report the first that is not like the others
      const major: KeyType = counts.date >= counts.int64 + counts.float64 ? 'date' : 'int64';
      const bad = l.files.find((f) => { const v = f.partitions[j]![1]; return v !== null && (major === 'date' ? kindOf(v) !== 'date' : !['int64', 'float64'].includes(kindOf(v))); })!;
      throw CdxError.file('E_BAD_VALUE', bad.path,
        `partition value ${name}=${JSON.stringify(bad.partitions[j]![1])} is not ${major === 'date' ? 'a date (YYYY-MM-DD)' : 'a number'} like the other values of ${name} under ${l.location}`);
    }
    if (type !== 'string') {
      const bad = l.files.find((f) => { const v = f.partitions[j]![1]; return v !== null && odd(v); });
      if (bad) throw CdxError.file('E_BAD_VALUE', bad.path, `partition value ${name}=${JSON.stringify(bad.partitions[j]![1])} does not parse as ${type}`);
    }
    return { name, type, nullable };
  });
}

/** A partition value as the expression evaluator and the column builder take it. */
function keyValue(k: PartitionKey, raw: string | null): { cell: unknown; value: unknown } {
  if (raw === null) return { cell: null, value: null };
  switch (k.type) {
    case 'int64': case 'float64': return { cell: Number(raw), value: Number(raw) };
    case 'date': {
      const ms = Date.parse(raw + 'T00:00:00Z');
      return { cell: new Date(ms), value: ms / 86_400_000 };
    }
    default: return { cell: raw, value: raw };
  }
}

/** The conditions of `e` (its top-level `and` terms) that name partition keys only. */
function keyConditions(e: Expr, keys: Set<string>): Expr[] {
  const terms = e.kind === 'and' ? e.args.flatMap((a) => keyConditions(a, keys)) : [e];
  return terms.filter((t) => {
    const cols = columnsOf(t);
    return cols.length > 0 && cols.every((c) => keys.has(c));
  });
}

// ---------------------------------------------------------------------------------------------
// Schema unification

const INT = /^(u?)int(\d+)$/;
/** Types that meet only when their Arrow types are the same */
const EXACT = new Set(['date', 'time', 'timestamp', 'duration', 'interval', 'decimal', 'binary', 'json', 'bool', 'float16']);

/** The type two files' columns meet at, or null when they do not. */
export function widen(a: Field, b: Field): Field | null {
  const nullable = a.nullable || b.nullable;
  if (a.type === b.type && !EXACT.has(a.type)) return { ...a, nullable };
  const ia = INT.exec(a.type), ib = INT.exec(b.type);
  if (ia && ib) {
    const sa = !ia[1], sb = !ib[1], wa = Number(ia[2]), wb = Number(ib[2]);
    if (sa === sb) return { name: a.name, type: `${sa ? '' : 'u'}int${Math.max(wa, wb)}` as Field['type'], nullable };
    const w = Math.max(sa ? wa : wa * 2, sb ? wb : wb * 2);
    return w <= 64 ? { name: a.name, type: `int${w}` as Field['type'], nullable } : { name: a.name, type: 'float64', nullable };
  }
  const num = (t: string) => INT.test(t) || t === 'float32' || t === 'float64';
  if (num(a.type) && num(b.type)) return { name: a.name, type: 'float64', nullable };
  return null;
}

interface Column {
  field: Field;
  /** the Arrow type written */
  type: DataType;
  /** the file where the column was first seen */
  from: string;
  /** seen only in files without rows so far: its type is a guess the first file with rows replaces */
  weak?: boolean;
}

function plainType(t: DataType): DataType {
  return t instanceof Dictionary ? (t.dictionary as DataType) : t;
}

/**
 * The files' schemas as one (columns in order of first appearance). A file known to hold no rows
 * (a header-only CSV, an empty part) gives its columns' names but no evidence of their types: a
 * file with rows decides them.
 */
function unify(infos: { file: ListedFile; schema: ArrowSchema; rows: number | null }[], keys: PartitionKey[], location: string): Column[] {
  const cols = new Map<string, Column>();
  const keyNames = new Set(keys.map((k) => k.name));
  for (const { file, schema, rows } of infos) {
    const empty = rows === 0;
    for (const af of schema.fields) {
      if (keyNames.has(af.name)) {
        throw CdxError.file('E_BAD_COLUMNS', file.path, `has a column "${af.name}" that is also a partition key of ${location}`, { column: af.name });
      }
      const f = fieldFromArrow(af);
      const t = plainType(af.type as DataType);
      const c = cols.get(af.name);
      if (!c || (c.weak && !empty)) {
        cols.set(af.name, { field: { ...f, dictionary: undefined, nullable: f.nullable }, type: t, from: file.rel, weak: empty });
        continue;
      }
      if (empty) continue;
      const same = String(c.type) === String(t);
      const w = same ? { ...c.field, nullable: c.field.nullable || f.nullable } : EXACT.has(f.type) || EXACT.has(c.field.type) ? null : widen(c.field, f);
      if (!w) {
        throw CdxError.file('E_TYPE_MISMATCH', location,
          `column "${af.name}" is ${String(c.type).toLowerCase()} in ${c.from} but ${String(t).toLowerCase()} in ${file.rel}: the files cannot be read as one dataset`, { column: af.name });
      }
      const wt = same ? c.type : arrowTypeOf(w);
      cols.set(af.name, { field: { ...w, dictionary: undefined }, type: wt, from: c.from });
    }
  }
  // a column some files lack is null there
  for (const c of cols.values()) {
    if (!infos.every(({ schema }) => schema.fields.some((f) => f.name === c.field.name))) c.field = { ...c.field, nullable: true };
  }
  const keyCols: Column[] = keys.map((k) => {
    const field: Field = { name: k.name, type: k.type, nullable: k.nullable };
    return { field, type: arrowTypeOf(field), from: '' };
  });
  return [...cols.values(), ...keyCols];
}

/** One column of a file's batch as the unified column: the data itself when the types agree. */
function conform(v: Vector, c: Column, n: number, file: string): Data {
  const t = v.type as DataType;
  if (String(t) === String(c.type) && v.data.length === 1) return v.data[0]!;
  const values = new Array<unknown>(n);
  for (let i = 0; i < n; i++) values[i] = v.get(i);
  if (c.field.type === 'date') {
    // Arrow's get() gives a date as epoch milliseconds, whatever its storage
    for (let i = 0; i < n; i++) if (typeof values[i] === 'number') values[i] = Math.floor((values[i] as number) / 86_400_000);
  } else if (EXACT.has(c.field.type) && c.field.type !== 'bool' && c.field.type !== 'json' && c.field.type !== 'binary') {
    // same layout (a time zone named or not): the data as it is; anything else would need a conversion not made here
    if (t.typeId === c.type.typeId && v.data.length === 1 && (t as { unit?: number }).unit === (c.type as { unit?: number }).unit && (t as { bitWidth?: number }).bitWidth === (c.type as { bitWidth?: number }).bitWidth) return v.data[0]!;
    throw CdxError.file('E_TYPE_MISMATCH', file, `column "${c.field.name}" is read as ${String(t).toLowerCase()}, not the ${String(c.type).toLowerCase()} its schema gave`, { column: c.field.name });
  }
  return buildColumn(c.field, values, n);
}

// ---------------------------------------------------------------------------------------------

interface Part {
  file: ListedFile;
  /** the file's schema (exact: a CSV typed over the whole file) */
  schema?: ArrowSchema;
  format?: string;
  rows: number | null;
  /** a CSV source kept from describe() to scan() (it holds no file open; its whole-file typing is reused) */
  src?: Source;
  /** the file as an Arrow file written by its reader's native ingest (nativeIngest below), read in its place */
  staged?: string;
  /** the reader's warnings from its native ingest, naming the file */
  notes?: IngestWarning[];
}

export class MultiSource implements Source {
  private parts: Part[];
  private keys: PartitionKey[];
  private columns: Column[] | null = null;
  private exact = false;
  private formats = new Set<string>();

  private forced: Record<string, string> | undefined;
  private warnings: IngestWarning[] = [];

  readonly capabilities: SourceCapabilities;

  private caps(): SourceCapabilities {
    return {
      prune: (filter) => this.prune(filter),
      // CSV files only: each file's own native ingest, then the Arrow files concatenated (see stage)
      ...(this.allCsv() ? { nativeIngest: (out: string, o?: NativeIngestOptions) => this.stage(out, o) } : {}),
      // the user's column types, handed to every file's reader that can force them (CSV)
      forceTypes: (types) => {
        this.forced = { ...types };
        this.columns = null;
        this.exact = false;
        for (const p of this.parts) {
          p.schema = undefined;
          void p.src?.close().catch(() => undefined);
          p.src = undefined;
        }
      },
    };
  }

  constructor(readonly listing: Listing) {
    this.keys = inferKeys(listing);
    this.parts = listing.files.map((file) => ({ file, rows: null }));
    this.capabilities = this.caps();
  }

  /** The files left after `prune` (all of them unless pruned). */
  get files(): ListedFile[] {
    return this.parts.map((p) => p.file);
  }

  /** Drops the files whose partition values the filter's partition-key conditions rule out. */
  prune(filter: Expr): void {
    const conds = keyConditions(filter, new Set(this.keys.map((k) => k.name)));
    if (!conds.length) return;
    const kept = this.parts.filter(({ file }) => {
      const row: Record<string, unknown> = {};
      this.keys.forEach((k, j) => { row[k.name] = keyValue(k, file.partitions[j]![1]).cell; });
      try {
        // unknown (a null key) is not true: the row would not pass either
        return conds.every((c) => evalExpr3(c, row) === true);
      } catch {
        return true; // a condition the evaluator cannot decide here: the rows decide
      }
    });
    if (kept.length !== this.parts.length) {
      // none left: the schema still comes from the first file (its header or footer only)
      this.schemaFrom = kept.length ? undefined : this.parts[0];
      this.parts = kept;
      this.columns = null;
    }
  }

  private schemaFrom: Part | undefined;
  private fetched = new Set<ListedFile>();

  /**
   * A remote listing's files (the parts left after pruning, or the one the schema comes from)
   * brought to this disk before anything reads them (Listing.remote); progress in bytes. Called by
   * every read; a caller that wants the transfer's progress calls it first.
   */
  async fetchRemote(opts: { signal?: AbortSignal; onBytes?: (done: number, total: number) => void } = {}): Promise<void> {
    const remote = this.listing.remote;
    if (!remote) return;
    const parts = this.parts.length ? this.parts : this.schemaFrom ? [this.schemaFrom] : [];
    const todo = parts.map((p) => p.file).filter((f) => !this.fetched.has(f));
    if (!todo.length) return;
    await remote.fetch(todo, opts);
    for (const f of todo) this.fetched.add(f);
  }

  private allCsv(): boolean {
    const csv = providers.find((x) => x.format === 'csv')!;
    return this.listing.files.every((f) => csv.extensions.some((e) => f.path.toLowerCase().endsWith('.' + e)));
  }

  /**
   * The fast path into the columnar cache for a folder of CSVs: every file through the native CSV
   * ingest (one parallel pass each, types exact) into an Arrow file in a staging folder beside
   * `outPath`, the schemas unified from those exact types, then the staged files concatenated
   * into `outPath` by the cache writer (temporary name, renamed when complete); the staging folder
   * is removed whatever happens.
   */
  private async stage(outPath: string, o: NativeIngestOptions = {}): Promise<NativeIngestResult> {
    await this.fetchRemote({ signal: o.signal });
    const dir = `${outPath}.parts-${process.pid}-${randomBytes(4).toString('hex')}`;
    await mkdir(dir, { recursive: true });
    try {
      this.warnings = [];
      const total = this.parts.reduce((a, p) => a + p.file.size, 0) || 1;
      let done = 0;
      // a few files at once: on small files the time goes to opening and waiting, not to parsing
      let next = 0;
      const one = async (i: number) => {
        const p = this.parts[i]!;
        throwIfCancelled(o.signal, 'the ingest');
        const src = p.src ?? await this.openPart(p);
        p.src = undefined;
        try {
          const out = path.join(dir, `${i}.arrow`);
          const r = await src.capabilities!.nativeIngest!(out, { signal: o.signal, onProgress: (d) => o.onProgress?.((0.9 * (done + d * p.file.size)) / total) });
          const info = await src.info();
          p.staged = out;
          p.rows = r.rows;
          p.format = info.format;
          p.schema = new ArrowSchema(info.schema.fields.map((f) => new ArrowField(f.name, arrowTypeOf(f), f.nullable)));
          p.notes = info.warnings.map((w) => ({ ...w, message: `${p.file.rel}: ${w.message}` }));
        } finally {
          await src.close().catch(() => undefined);
        }
        done += p.file.size;
      };
      // the first failure stops the others; all have stopped before the staging folder goes
      let failed = false;
      const settled = await Promise.allSettled(Array.from({ length: Math.min(STAGE_CONCURRENCY, this.parts.length) }, async () => {
        while (!failed && next < this.parts.length) await one(next++).catch((e) => { failed = true; throw e; });
      }));
      const err = settled.find((r) => r.status === 'rejected');
      if (err) throw (err as PromiseRejectedResult).reason;
      this.warnings = this.parts.flatMap((p) => p.notes ?? []).slice(0, MAX_WARNINGS);
      this.formats = new Set(this.parts.map((p) => p.format!));
      this.columns = unify(this.parts.map((p) => ({ file: p.file, schema: p.schema!, rows: p.rows })), this.keys, this.listing.location);
      this.exact = true;
      const warnings = this.warnings;
      const r = await ingestToArrow({ info: () => this.info(), scan: (so) => this.scan(so), close: async () => undefined }, outPath, {
        signal: o.signal, onProgress: (d) => o.onProgress?.(0.9 + 0.1 * d),
      });
      this.warnings = warnings; // scan() over the staged files found none of its own
      return { rows: r.rows, columns: this.columns.map((c) => ({ name: c.field.name, nullable: c.field.nullable })) };
    } finally {
      for (const p of this.parts) p.staged = undefined;
      await rm(dir, { recursive: true, force: true });
    }
  }

  private async openPart(p: Part): Promise<Source> {
    if (p.staged) {
      // a small staged file is read whole and decoded in memory (the Arrow reader's mapping costs more per file); a large one through it
      const staged = p.staged;
      if ((await stat(staged)).size > STAGED_IN_MEMORY) return openSource(staged);
      return {
        info: async () => ({ format: 'arrow', path: staged, rows: p.rows, schema: { fields: [] }, metadata: {}, warnings: [] }),
        async *scan(o: ScanOptions = {}) {
          for (const b of RecordBatchReader.from(await readFile(staged))) yield o.columns ? b.select(o.columns) : b;
        },
        close: async () => undefined,
      };
    }
    const provider = await detectProvider(p.file.path);
    let src: Source;
    if (provider.format === 'csv') {
      // a small file read in a chunk its size (the default 8 MiB chunks, three of them per open, made a folder of small files mostly garbage collection)
      const c = new CsvSource(p.file.path, { chunkBytes: Math.min(8 * 1024 * 1024, Math.max(65536, p.file.size + 1)) });
      await c.csvInfo('sample');
      src = c;
    } else src = await provider.open(p.file.path);
    const force = this.forced && src.capabilities?.forceTypes;
    if (force) {
      // each file is given the chosen types of the columns it has (a reader refuses a name it lacks)
      const names = new Set((await src.info()).schema.fields.map((f) => f.name));
      const mine = Object.fromEntries(Object.entries(this.forced!).filter(([k]) => names.has(k)));
      if (Object.keys(mine).length) force(mine);
    }
    return src;
  }

  /** Reads every file's schema (exact: a CSV is typed over the whole file) and unifies them. */
  private async describe(exact: boolean, signal?: AbortSignal): Promise<Column[]> {
    if (this.columns && (this.exact || !exact)) return this.columns;
    await this.fetchRemote({ signal });
    const parts = this.parts.length ? this.parts : this.schemaFrom ? [this.schemaFrom] : [];
    let next = 0;
    const work = async () => {
      while (next < parts.length) {
        const p = parts[next++]!;
        throwIfCancelled(signal, 'reading the files');
        if (p.schema && (this.exact || !exact)) continue;
        const src = await this.openPart(p);
        let keep = false;
        try {
          if (exact && src instanceof CsvSource) {
            await src.csvInfo('full', signal);
            keep = true;
          }
          const info = await src.info({ signal });
          p.format = info.format;
          if (p.rows === null) p.rows = info.rows;
          // the Arrow types the file's scan yields: the reader's own when it builds them from the DataShape
          p.schema = new ArrowSchema(info.schema.fields.map((f) => new ArrowField(f.name, arrowTypeOf(f), f.nullable)));
        } finally {
          if (keep) p.src = src;
          else await src.close().catch(() => undefined);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, parts.length) }, work));
    this.formats = new Set(parts.map((p) => p.format!));
    this.columns = unify(parts.map((p) => ({ file: p.file, schema: p.schema!, rows: p.rows })), this.keys, this.listing.location);
    this.exact = exact;
    return this.columns;
  }

  async info(opts: { signal?: AbortSignal } = {}): Promise<SourceInfo> {
    const cols = await this.describe(this.exact, opts.signal);
    const rows = this.parts.every((p) => p.rows !== null) ? this.parts.reduce((s, p) => s + p.rows!, 0) : null;
    const formats = [...this.formats];
    return {
      format: formats.length === 1 ? formats[0]! : 'mixed',
      path: this.listing.location,
      rows,
      schema: { fields: cols.map((c) => c.field) },
      metadata: {
        // each file with its rows (known after a scan, or from a footer) and its partition values (the Info view's file list)
        files: JSON.stringify(this.parts.map((p) => ({
          path: p.file.rel, rows: p.rows, size: p.file.size,
          ...(this.keys.length ? { partitions: Object.fromEntries(p.file.partitions) } : {}),
        }))),
        fileCount: String(this.parts.length),
        folder: this.listing.base,
        ...(this.keys.length ? { partitioning: 'hive', partitionKeys: this.keys.map((k) => k.name).join(',') } : {}),
      },
      warnings: [...this.warnings],
    };
  }

  async *scan(opts: ScanOptions = {}): AsyncIterable<RecordBatch> {
    const cols = await this.describe(true, opts.signal);
    await this.fetchRemote({ signal: opts.signal });
    const byName = new Map(cols.map((c) => [c.field.name, c]));
    for (const n of opts.columns ?? []) {
      if (!byName.has(n)) throw CdxError.file('E_UNKNOWN_COLUMN', this.listing.location, `no column named ${JSON.stringify(n)}`, { column: n });
    }
    const out = (opts.columns ?? cols.map((c) => c.field.name)).map((n) => byName.get(n)!);
    const schema = new ArrowSchema(out.map((c) => new ArrowField(c.field.name, c.type, c.field.nullable)));
    const keyIndex = new Map(this.keys.map((k, j) => [k.name, j]));
    const total = this.parts.reduce((s, p) => s + p.file.size, 0) || 1;
    let doneBytes = 0;
    if (!this.parts.some((p) => p.staged)) this.warnings = [];
    for (const p of this.parts) {
      throwIfCancelled(opts.signal, 'the read');
      const have = new Set(p.schema!.fields.map((f) => f.name));
      const wanted = out.filter((c) => have.has(c.field.name)).map((c) => c.field.name);
      // only partition keys asked: one column of the file is read for its row count
      if (!wanted.length && p.schema!.fields.length) wanted.push(p.schema!.fields[0]!.name);
      const src = p.src ?? await this.openPart(p);
      p.src = undefined;
      let rows = 0;
      try {
        if (src instanceof CsvSource) await src.csvInfo('full', opts.signal);
        const batches = src.scan({
          columns: wanted, batchRows: opts.batchRows, signal: opts.signal,
          onProgress: opts.onProgress ? (d) => opts.onProgress!((doneBytes + d * p.file.size) / total) : undefined,
        });
        for await (const b of batches) {
          const n = b.numRows;
          rows += n;
          if (!n) continue;
          const data = out.map((c) => {
            const j = keyIndex.get(c.field.name);
            if (j !== undefined) return buildColumn(c.field, new Array(n).fill(keyValue(this.keys[j]!, p.file.partitions[j]![1]).value), n);
            const v = b.getChild(c.field.name);
            return v ? conform(v as Vector, c, n, p.file.path) : buildColumn(c.field, new Array(n).fill(null), n);
          });
          yield batchFromData(schema, data, n);
        }
        const after = await src.info();
        // a file with no selected column of its own (only partition keys asked): its rows still count
        if (!wanted.length && rows === 0) rows = after.rows ?? 0;
        // the file's reader notes (bad rows, values that did not convert), naming the file
        if (!p.staged) for (const w of after.warnings) if (this.warnings.length < MAX_WARNINGS) this.warnings.push({ ...w, message: `${p.file.rel}: ${w.message}` });
      } finally {
        await src.close().catch(() => undefined);
      }
      p.rows = rows;
      doneBytes += p.file.size;
    }
  }

  async close(): Promise<void> {
    // each file's source is closed after its read; CSV sources kept from describe() are let go
    for (const p of this.parts) {
      await p.src?.close().catch(() => undefined);
      p.src = undefined;
    }
    // a remote listing's fetched files go
    if (this.listing.remote) {
      this.fetched.clear();
      await this.listing.remote.dispose();
    }
  }
}

/** Opens a folder or glob as one dataset (a listing made already can be given: the one the caller fingerprinted). */
export async function openMulti(location: string, listing?: Listing): Promise<MultiSource> {
  return new MultiSource(listing ?? await listFiles(location));
}
