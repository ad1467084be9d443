/**
 * Datasets as the engine serves them: a location (a file, or `PATH::INNER` inside a container) is
 * opened through the format registry; what can be mapped as it stands (uncompressed Arrow IPC,
 * plain NPY) is used in place; everything else is ingested once into the columnar cache and the
 * cache file is mapped. The catalog remembers each dataset and its cache, and a dataset is
 * ingested again only when its source's size or modification time changes.
 */
import { applyComputed, redefine, storedColumnsOf, type ComputedDef } from './computed';
import { existsSync, statSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { ColumnDesc } from '../../native/index';
import type { Field, Schema } from '../../shared/datashape';
import { Catalog, type CatalogEntry } from './catalog';
import { ingestToArrow } from './cache';
import { readArrowColumns, isSupported } from './columns/arrow';
import { readNpyHeader, npyColumns } from './columns/npy';
import { changedSince, fileIdentity, pinFile, pinnedFiles, pinnedIdentity, type FileIdentity } from './columns/pin';
import { openSource, splitLocation, listInner } from './sources/registry';
import { fingerprint, isMultiLocation, listFiles, openMulti } from './sources/multi';
import type { IngestWarning, InnerDataset } from './sources/types';
import { fieldFromArrow } from './sources/common';
import { sampleDatasetPath } from './paths';
import { removeDerived } from './spatial';
import { bytesText, ensureRoom, ingestRoom } from './durable';
import { CdxError, errorCode } from '../../shared/errors';
import { isRemoteFileLocation, openHttp } from './remote/open';
import { isS3MultiLocation } from './remote/s3';
import { openS3Multi } from './remote/s3open';

export interface OpenedDataset {
  id: string;
  name: string;
  location: string;
  format: string;
  size: number;
  rows: number;
  schema: Schema;
  metadata: Record<string, string>;
  warnings: IngestWarning[];
  /** the file the kernels map: the source itself, or its cache copy */
  storage: { kind: 'in-place' | 'cache'; path: string };
  /**
   * a local source read through the cache, as it was before it was read: a source replaced or
   * rewritten since is noticed and read again (the mapped files themselves are pinned in `columns`:
   * columns/pin.ts)
   */
  source?: FileIdentity;
  /** where its columns' zone maps are kept (main/engine/zones.ts) */
  zoneDir?: string;
  columns: Map<string, ColumnDesc>;
  /** columns the native kernels skip (nested values, unsupported types), with the reason */
  unsupported: Map<string, string>;
  sample: boolean;
  /** column -> the type the user chose (catalog; applied when the dataset is read) */
  typeOverrides?: Record<string, string>;
  /** the computed columns defined on it (catalog; main/engine/computed.ts), applied in `columns` and `schema` */
  computedDefs?: ComputedDef[];
  /**
   * a dataset whose columns are read when first needed (a remote Parquet file read by ranges,
   * main/engine/remote/columns.ts): `ensure` reads the named ones into the cache and maps them
   * into `columns`; Datasets.open/get call it with the columns a request names
   */
  lazy?: {
    ensure(names: string[], opts?: { signal?: AbortSignal; onProgress?: (done: number, stage: string) => void }): Promise<void>;
    close(): Promise<void>;
  };
}

export interface OpenOptions {
  signal?: AbortSignal;
  onProgress?: (done: number, stage: string) => void;
  /** read the source again even when its cache is fresh (the user changed a column's type) */
  reingest?: boolean;
  /**
   * the columns the caller will read (a dataset read lazily reads only these now); absent: every
   * column; [] the schema only
   */
  columns?: string[];
}

/** Makes sure the columns a request reads are in the dataset (a lazily read remote file reads them now). */
export async function needColumns(ds: OpenedDataset, names: string[] | undefined, opts: OpenOptions = {}): Promise<OpenedDataset> {
  if (!ds.lazy) return ds;
  const defs = ds.computedDefs ?? [];
  const want = storedColumnsOf(names ?? ds.schema.fields.filter((f) => f.expr === undefined).map((f) => f.name), defs);
  await ds.lazy.ensure(want, { signal: opts.signal, onProgress: opts.onProgress });
  // computed columns over columns just read: built now that their inputs are mapped
  if (defs.length && defs.some((d) => !ds.columns.has(d.name))) applyComputed(ds, defs);
  return ds;
}

/** The cache file of a location (and of the column types the user chose: a change writes a new file beside the old). */
function cacheName(location: string, types: Record<string, string> = {}): string {
  const keys = Object.keys(types).sort();
  const key = keys.length ? location + '\u0000' + JSON.stringify(keys.map((k) => [k, types[k]])) : location;
  return createHash('sha256').update(key).digest('hex').slice(0, 24) + '.arrow';
}

export class Datasets {
  readonly catalog: Catalog;
  readonly cacheDir: string;
  private open_ = new Map<string, OpenedDataset>();
  private opening = new Map<string, Promise<OpenedDataset>>();
  private sampleId: string | null = null;

  constructor(home: string, private samplePath: string | null = sampleDatasetPath()) {
    this.catalog = new Catalog(home);
    this.cacheDir = path.join(home, 'cache');
  }

  /** The bundled sample is always in the catalog, so the app is never empty. */
  ensureSample(): string | null {
    if (this.sampleId) return this.sampleId;
    const p = this.samplePath;
    if (!p || !existsSync(p)) return null;
    const st = statSync(p);
    let rows: number | null = null;
    try {
      rows = readArrowColumns(p).rows; // the footer only: cheap
    } catch {
      /* listed anyway; opening it will say what is wrong */
    }
    const e = this.catalog.byLocation(p) ?? this.catalog.upsert({ location: p, format: 'arrow', size: st.size, mtimeMs: st.mtimeMs, rows });
    if (!e.tags.includes('sample')) this.catalog.setTags(e.id, [...e.tags, 'sample']);
    this.sampleId = e.id;
    return e.id;
  }

  list(search?: string): CatalogEntry[] {
    this.ensureSample();
    return this.catalog.list(search);
  }

  listInner(p: string): Promise<InnerDataset[]> {
    return listInner(path.resolve(p));
  }

  /** Opens (ingesting if needed) and remembers a dataset; returns it with its catalog id. */
  async open(location: string, opts: OpenOptions = {}): Promise<OpenedDataset> {
    // http(s): downloaded into the cache folder (kept while the remote's ETag / Last-Modified / size hold) and read from there under its URL (main/engine/remote)
    if (isRemoteFileLocation(location)) {
      return needColumns(await openHttp({
        catalog: this.catalog, cacheDir: this.cacheDir, opened: (id) => this.open_.get(id),
        mapColumns: (s, k, f) => this.mapColumns(s, k, f), remember: (...a) => this.remember(...a),
      }, location, opts), opts.columns, opts);
    }
    // an S3 prefix, glob or Hive tree: its objects listed, downloaded into a staging folder and read as one dataset (remote/s3open.ts)
    if (isS3MultiLocation(location)) {
      return openS3Multi({
        catalog: this.catalog, cacheDir: this.cacheDir, opened: (id) => this.open_.get(id),
        mapColumns: (s, k, f) => this.mapColumns(s, k, f), remember: (...a) => this.remember(...a),
      }, location, opts);
    }
    const { path: file, inner } = await splitLocation(absolute(location));
    const loc = inner !== undefined ? `${file}::${inner}` : file;
    const existing = this.opening.get(loc);
    if (existing) return existing;
    const source = fileIdentity(file);
    const p = this.doOpen(loc, opts).then((ds) => withSource(ds, source)).finally(() => this.opening.delete(loc));
    this.opening.set(loc, p);
    return p;
  }

  private async doOpen(loc: string, opts: OpenOptions): Promise<OpenedDataset> {
    // a folder, a glob or a Hive tree: its files as one dataset, fresh while the listing's fingerprint (every file's size and time) holds (sources/multi.ts)
    const listing = (await isMultiLocation(loc)) ? await listFiles(loc, opts.signal) : null;
    const { path: file } = await splitLocation(loc);
    let st;
    try {
      st = listing ? fingerprint(listing) : statSync(file);
    } catch (e) {
      throw CdxError.file(errorCode(e) === 'EACCES' ? 'EACCES' : 'ENOENT', file, errorCode(e) === 'EACCES' ? 'permission denied' : 'no such file');
    }
    const known = this.catalog.byLocation(loc);
    const memo = known && !opts.reingest ? this.open_.get(known.id) : undefined;
    if (memo && known && this.catalog.isFresh(known, st.size, st.mtimeMs) && existsSync(memo.storage.path) && !this.changed(memo)) {
      this.catalog.touch(known.id);
      return memo;
    }
    opts.onProgress?.(0, 'reading');
    const direct = listing ? null : this.tryArrowInPlace(loc, file, st, known);
    if (direct) return direct;
    // a cache made from the source as it is now: open it without reading the source again
    if (!opts.reingest && known && known.schema && known.cachePath && this.catalog.isFresh(known, st.size, st.mtimeMs) && existsSync(known.cachePath)) {
      const storage = { kind: 'cache' as const, path: known.cachePath };
      const mapped = this.mapCache(storage, known);
      if (mapped) return this.remember(known, loc, known.format, st.size, mapped.rows, known.schema, known.metadata, known.warnings, storage, mapped.columns, mapped.unsupported);
      // torn (cut short, a bad footer) or not the copy the catalog describes: read the source again
      await this.dropCache(known.cachePath);
    }
    const source = listing ? await openMulti(loc, listing) : await openSource(loc);
    const types = known?.typeOverrides ?? {};
    // the column types the user chose: the reader forces them (values that do not convert: null, counted)
    if (Object.keys(types).length) source.capabilities?.forceTypes?.(types);
    try {
      let storage: OpenedDataset['storage'];
      let info = await source.info({ signal: opts.signal });
      if (info.inPlace) {
        storage = { kind: 'in-place', path: info.inPlace.path };
      } else {
        const out = path.join(this.cacheDir, cacheName(loc, types));
        // fail before reading anything when the cache's disk cannot hold the copy
        await ensureRoom(this.cacheDir, ingestRoom(st.size), `the columnar copy of ${loc} (${bytesText(st.size)})`);
        opts.onProgress?.(0, 'ingesting');
        const onProgress = (d: number) => opts.onProgress?.(d, 'ingesting');
        const nativeIngest = source.capabilities?.nativeIngest;
        if (nativeIngest) {
          // readers that declare their own direct path into the cache (the native CSV parser)
          await mkdir(this.cacheDir, { recursive: true });
          await nativeIngest(out, { signal: opts.signal, onProgress });
          info = await source.info();
        } else {
          await ingestToArrow(source, out, { signal: opts.signal, onProgress });
          info = await source.info(); // readers that learn while scanning (bad rows, widening) report it now
        }
        storage = { kind: 'cache', path: out };
      }
      const { columns, unsupported, rows } = this.mapColumns(storage, info.inPlace?.kind ?? 'arrow', info.schema.fields);
      const entry = this.catalog.upsert({
        location: loc,
        format: info.format,
        size: st.size,
        mtimeMs: st.mtimeMs,
        schema: info.schema,
        rows,
        cachePath: storage.kind === 'cache' ? storage.path : null,
        warnings: info.warnings,
        metadata: info.metadata,
      });
      const ds = this.remember(entry, loc, info.format, st.size, rows, info.schema, info.metadata, info.warnings, storage, columns, unsupported);
      opts.onProgress?.(1, 'ready');
      return ds;
    } finally {
      await source.close();
    }
  }

  private remember(
    entry: CatalogEntry, loc: string, format: string, size: number, rows: number, schema: Schema, metadata: Record<string, string>,
    warnings: IngestWarning[], storage: OpenedDataset['storage'], columns: Map<string, ColumnDesc>, unsupported: Map<string, string>,
  ): OpenedDataset {
    this.catalog.touch(entry.id);
    const ds: OpenedDataset = {
      id: entry.id, name: entry.name, location: loc, format, size, rows, schema, metadata, warnings, storage, columns, unsupported,
      zoneDir: path.join(this.cacheDir, 'zones'),
      sample: entry.tags.includes('sample'),
      typeOverrides: entry.typeOverrides ?? {},
    };
    if (entry.computed?.length) applyComputed(ds, entry.computed);
    this.open_.set(entry.id, ds);
    return ds;
  }

  /**
   * The fast path for an uncompressed Arrow IPC file: the footer says everything (schema, rows,
   * buffers), so the file is mapped as it stands without going through a reader.
   */
  private tryArrowInPlace(loc: string, file: string, st: { size: number; mtimeMs: number }, known: CatalogEntry | null): OpenedDataset | null {
    if (loc !== file) return null;
    let a;
    try {
      a = pinFile(file, (f) => readArrowColumns(file, f));
    } catch {
      return null; // not an Arrow file, compressed, or damaged: the reader decides and explains
    }
    const schema: Schema = { fields: a.schema.fields.map(fieldFromArrow) };
    const columns = new Map<string, ColumnDesc>();
    const unsupported = new Map<string, string>();
    for (const c of a.columns) {
      if (isSupported(c)) columns.set(c.name, c);
      else unsupported.set(c.name, c.reason);
    }
    const metadata = Object.fromEntries(a.schema.metadata ?? new Map());
    void known;
    const entry = this.catalog.upsert({ location: loc, format: 'arrow', size: st.size, mtimeMs: st.mtimeMs, schema, rows: a.rows, cachePath: null });
    return this.remember(entry, loc, 'arrow', st.size, a.rows, schema, metadata, [], { kind: 'in-place', path: file }, columns, unsupported);
  }

  /**
   * A catalogued cache file mapped, when it is whole and the copy the catalog describes (every
   * field, the row count); null otherwise: a file torn by a crash or a full disk is read again
   * from the source instead of failing the open.
   */
  private mapCache(storage: { kind: 'cache'; path: string }, known: CatalogEntry): ReturnType<Datasets['mapColumns']> | null {
    let m;
    try {
      m = this.mapColumns(storage, 'arrow', known.schema!.fields);
    } catch {
      return null;
    }
    if (known.rows !== null && m.rows !== known.rows) return null;
    if (known.schema!.fields.some((f) => !m.stored.has(f.name))) return null;
    return m;
  }

  /** Removes a cache file of ours (and what was derived from it: zones, spatial copies). */
  private async dropCache(file: string): Promise<void> {
    if (!file.startsWith(this.cacheDir + path.sep)) return;
    await rm(file, { force: true, recursive: true }).catch(() => undefined);
    removeDerived(this.cacheDir, file);
  }

  private mapColumns(storage: OpenedDataset['storage'], kind: 'arrow' | 'npy', fields: Field[]) {
    const columns = new Map<string, ColumnDesc>();
    const unsupported = new Map<string, string>();
    // the columns the file holds (before the fields it lacks are listed as unsupported)
    const stored = new Set<string>();
    let rows: number;
    if (kind === 'npy') {
      const { h, descs } = pinFile(storage.path, (f) => {
        const h = readNpyHeader(storage.path);
        return { h, descs: npyColumns(h, f, h.shape.length >= 2 ? 'c' : fields[0]?.name ?? 'value') };
      });
      // the source's field names win (1-D: the array's name; 2-D: c0, c1, …)
      descs.forEach((d, i) => columns.set(fields[i]?.name ?? d.name, { ...d, name: fields[i]?.name ?? d.name }));
      rows = h.shape[0] ?? 1;
    } else {
      const a = pinFile(storage.path, (f) => readArrowColumns(storage.path, f));
      for (const c of a.columns) {
        if (isSupported(c)) columns.set(c.name, c);
        else unsupported.set(c.name, c.reason);
      }
      rows = a.rows;
    }
    for (const n of [...columns.keys(), ...unsupported.keys()]) stored.add(n);
    for (const f of fields) if (!columns.has(f.name) && !unsupported.has(f.name)) unsupported.set(f.name, `${f.type} values are not read by the native kernels`);
    return { columns, unsupported, rows, stored };
  }

  /** An open dataset by catalog id, reopening it from its location when needed. */
  async get(id: string, opts: OpenOptions = {}): Promise<OpenedDataset> {
    const memo = this.open_.get(id);
    const changed = memo && this.changed(memo);
    // a file replaced or rewritten since: opened again (an unstamped change, read again whatever the catalog says)
    if (memo && changed) return this.open(memo.location, { ...opts, reingest: opts.reingest || changed === 'unstamped' });
    if (memo) return needColumns(memo, opts.columns, opts);
    if (id === 'sample') {
      const sid = this.ensureSample();
      if (sid) return this.get(sid, opts);
    }
    const e = this.catalog.get(id);
    if (!e) throw new CdxError('E_NO_DATASET', `No dataset with id "${id}" in the catalog.`);
    return this.open(e.location, opts);
  }

  /**
   * The dataset at `location` when the catalog has it up to date (its cache made from the file as
   * it is now, or the file mapped in place), opened from there — never ingested, never added: null
   * otherwise. An export of a file (`cdx convert IN`) reads a catalogued IN through its mapping and
   * streams any other from the file, so converting does not fill the catalog.
   */
  async openIfCatalogued(location: string, opts: OpenOptions = {}): Promise<OpenedDataset | null> {
    // a remote file or S3 prefix is read through the cache in any case (downloaded, or a Parquet's columns by ranges)
    if (isRemoteFileLocation(location) || isS3MultiLocation(location)) return this.open(location, opts);
    const { path: file, inner } = await splitLocation(absolute(location));
    const loc = inner !== undefined ? `${file}::${inner}` : file;
    const known = this.catalog.byLocation(loc);
    if (!known) return null;
    let st;
    try {
      st = (await isMultiLocation(loc)) ? fingerprint(await listFiles(loc, opts.signal)) : statSync(file);
    } catch {
      return null; // the caller's read of the file says what is wrong
    }
    if (!this.catalog.isFresh(known, st.size, st.mtimeMs) || (known.cachePath && !existsSync(known.cachePath))) return null;
    return this.open(loc, opts);
  }

  /**
   * Gives a column of a dataset another type (null: back to the reader's) and keeps the choice in
   * the catalog. The dataset is read again from its source with the types forced (a CSV: the
   * native ingest, values that do not convert null and counted in W_UNCONVERTED) into a new cache
   * file; the old one is removed once the new one is in place. On failure or cancel the dataset
   * stays as it was. Sources that cannot force types are refused (E_UNSUPPORTED).
   */
  async setColumnType(id: string, column: string, type: string | null, opts: OpenOptions = {}): Promise<OpenedDataset> {
    const ds = await this.get(id, opts);
    if (!ds.schema.fields.some((f) => f.name === column)) {
      throw new CdxError('E_UNKNOWN_COLUMN', `${ds.location}: no column "${column}"`, { file: ds.location, column });
    }
    const entry = this.catalog.get(ds.id);
    if (!entry) throw new CdxError('E_NO_DATASET', `No dataset with id "${id}" in the catalog.`);
    if (ds.format !== 'csv') {
      throw new CdxError('E_UNSUPPORTED', `${ds.location}: changing a column's type is done for CSV files (read again with the type forced); ${ds.format} columns keep their stored types`, { file: ds.location, column });
    }
    const before = entry.typeOverrides;
    const next = { ...before };
    if (type) next[column] = type;
    else delete next[column];
    this.catalog.setTypeOverrides(ds.id, next);
    let fresh: OpenedDataset;
    try {
      fresh = await this.open(ds.location, { ...opts, reingest: true });
    } catch (e) {
      this.catalog.setTypeOverrides(ds.id, before);
      throw e;
    }
    const old = ds.storage;
    if (old.kind === 'cache' && old.path !== fresh.storage.path && old.path.startsWith(this.cacheDir + path.sep)) {
      // (a reader still mapping it keeps its pages; where the system refuses, the file stays until the dataset is removed)
      await rm(old.path, { force: true }).catch(() => undefined);
      removeDerived(this.cacheDir, old.path);
    }
    return fresh;
  }

  /**
   * Defines (or with `expr` null removes) a computed column of a local dataset, kept in the
   * catalog: the dataset's columns and schema have it at once (nothing is read or written).
   */
  async defineColumn(id: string, name: string, expr: string | null, opts: OpenOptions = {}): Promise<OpenedDataset> {
    const ds = await this.get(id, opts);
    const entry = this.catalog.get(ds.id);
    if (!entry) throw new CdxError('E_NO_DATASET', `No dataset with id "${id}" in the catalog.`);
    const defs = redefine(ds, entry.computed ?? [], name, expr);
    if (ds.lazy) await needColumns(ds, storedColumnsOf(defs.map((d) => d.name), defs), opts);
    // compiled before it is kept: a mistake is refused with its reason, the dataset unchanged
    const trial = { ...ds, schema: { ...ds.schema, fields: [...ds.schema.fields] }, columns: new Map(ds.columns), unsupported: new Map(ds.unsupported) };
    applyComputed(trial, defs, true);
    this.catalog.setComputed(ds.id, defs);
    applyComputed(ds, defs);
    return ds;
  }

  async remove(id: string): Promise<CatalogEntry | null> {
    const e = this.catalog.remove(id);
    const storage = this.open_.get(id)?.storage.path;
    unpin(this.open_.get(id));
    this.open_.delete(id);
    // (a remote file read by ranges keeps its columns in a folder: remote/columns.ts)
    if (e?.cachePath && e.cachePath.startsWith(this.cacheDir + path.sep)) await rm(e.cachePath, { force: true, recursive: true });
    // its zone maps and spatial copies (main/engine/zones.ts, spatial.ts)
    if (e) removeDerived(this.cacheDir, storage ?? e.cachePath ?? e.location);
    if (id === this.sampleId) this.sampleId = null;
    return e;
  }

  /**
   * Why an open local dataset no longer reads what its files hold, or null: its source (read through
   * the cache) or a file its columns map was replaced, rewritten or truncated since it was opened.
   * 'unstamped': the source changed but kept its size and modification time, which the catalog's
   * freshness cannot see, so it must be read again whatever the catalog says.
   */
  private changed(ds: OpenedDataset): 'changed' | 'unstamped' | null {
    if (isRemoteFileLocation(ds.location) || isS3MultiLocation(ds.location)) return null; // (their caches are ours; the remote says when they change)
    if (ds.source && changedSince(ds.source)) {
      let now;
      try {
        now = statSync(ds.source.path);
      } catch {
        return 'changed'; // removed: opening it again says so
      }
      return now.size === ds.source.size && now.mtimeMs === ds.source.mtimeMs ? 'unstamped' : 'changed';
    }
    for (const f of pinnedFiles(ds.columns.values())) if (changedSince(pinnedIdentity(f)!)) return 'changed';
    return null;
  }

  close(): void {
    for (const ds of this.open_.values()) unpin(ds);
    this.catalog.close();
  }
}

/** A dataset newly read through the cache keeps its source's identity from before the read. */
function withSource(ds: OpenedDataset, source: FileIdentity | undefined): OpenedDataset {
  if (source && ds.storage.kind === 'cache' && ds.source === undefined) ds.source = source;
  return ds;
}

/**
 * Drops a dataset's mappings now (a removed dataset's cache file is freed at once). A dataset that
 * was only replaced keeps them until it is collected: a request still running on it reads on.
 */
function unpin(ds: OpenedDataset | undefined): void {
  if (ds) for (const f of pinnedFiles(ds.columns.values())) f.close();
}

function absolute(location: string): string {
  const i = location.lastIndexOf('::');
  // a relative path is taken from the current folder (the CLI's); `PATH::INNER` keeps its inner part
  if (i > 0 && !existsSync(location)) return path.resolve(location.slice(0, i)) + location.slice(i);
  return path.resolve(location);
}
