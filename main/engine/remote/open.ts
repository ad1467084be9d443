/**
 * An http(s) URL opened as a dataset (datasets.ts hands these locations here). The catalog entry is
 * the URL without credentials; its size and modification time are the remote's (Content-Length,
 * Last-Modified) and its ETag is kept in the entry's metadata (`http.etag`), so the next open asks
 * the server once (a HEAD) and keeps the columnar cache while the version is the same. A new
 * version (or no cache yet) is downloaded into `cache/remote/` (http.ts: streamed, resumed, retried,
 * nothing half-written left) and read by the ordinary readers as a local file: an uncompressed
 * Arrow IPC or NPY file is then mapped where it lies, every other format is ingested into the
 * columnar cache and its downloaded copy removed.
 */
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { ColumnDesc } from '../../../native/index';
import type { Field } from '../../../shared/datashape';
import { CdxError } from '../../../shared/errors';
import type { Catalog, CatalogEntry } from '../catalog';
import type { OpenedDataset, OpenOptions } from '../datasets';
import { ingestToArrow } from '../cache';
import { openSource } from '../sources/registry';
import { removeDerived } from '../spatial';
import { openParquetBytes } from '../sources/parquet';
import { displayUrl, httpFile, isHttpLocation, sameVersion, type HttpOptions, type RemoteStamp } from './http';
import { isS3Location, isS3MultiLocation, parseS3, s3File, s3StoredLocation } from './s3';
import type { RemoteFile } from './file';
import { RemoteColumns } from './columns';
import { bytesText, ensureRoom, ingestRoom } from '../durable';

/** What datasets.ts lends this module: its catalog, cache folder and the steps it shares with local files. */
export interface RemoteHost {
  catalog: Catalog;
  cacheDir: string;
  opened(id: string): OpenedDataset | undefined;
  mapColumns(storage: OpenedDataset['storage'], kind: 'arrow' | 'npy', fields: Field[]): { columns: Map<string, ColumnDesc>; unsupported: Map<string, string>; rows: number };
  remember(
    entry: CatalogEntry, loc: string, format: string, size: number, rows: number, schema: OpenedDataset['schema'], metadata: Record<string, string>,
    warnings: OpenedDataset['warnings'], storage: OpenedDataset['storage'], columns: Map<string, ColumnDesc>, unsupported: Map<string, string>,
  ): OpenedDataset;
}

const inFlight = new Map<string, Promise<OpenedDataset>>();

/** Test hook: the retry policy (tries, back-off) for every request of this module. */
export const httpPolicy: Pick<HttpOptions, 'tries' | 'backoffMs'> = {};

const ETAG = 'http.etag';
const LAST_MODIFIED = 'http.last-modified';
/** set on a Parquet file read column by column through range requests (columns.ts) */
const LAZY = 'remote.columns';

/** A location of one remote file: an http(s) URL or an S3 object (an S3 prefix or pattern is many files: s3open.ts). */
export function isRemoteFileLocation(location: string): boolean {
  return isHttpLocation(location) || (isS3Location(location) && !isS3MultiLocation(location));
}

/** The transport of a remote location (http.ts, s3.ts; an S3 bucket's saved connection gives its endpoint and key). */
export function remoteFileOf(location: string, host?: Pick<RemoteHost, 'catalog'>): RemoteFile {
  if (isS3Location(location)) return s3File(location, { ...httpPolicy, ...(host ? { connections: host.catalog } : {}) });
  return httpFile(location, httpPolicy);
}

/** The location as the catalog keeps it: never with credentials (an S3 object with the endpoint it was given). */
export function remoteKey(location: string): string {
  return isS3Location(location) ? s3StoredLocation(parseS3(location)) : displayUrl(location);
}

function isParquetName(key: string): boolean {
  return /\.(parquet|parq|pq)$/i.test(new URL(key).pathname);
}

function mtimeOf(s: RemoteStamp): number {
  const t = s.lastModified ? Date.parse(s.lastModified) : NaN;
  return Number.isFinite(t) ? t : 0;
}

function fresh(e: CatalogEntry, s: RemoteStamp): boolean {
  const was: RemoteStamp = { size: e.size, etag: e.metadata?.[ETAG] ?? null, lastModified: e.metadata?.[LAST_MODIFIED] ?? null, ranges: false };
  return sameVersion(was, s);
}

/** The downloaded copy's name: the URL's hash and its file name (readers that go by extension need it). */
function copyName(key: string): string {
  const base = decodeURIComponent(new URL(key).pathname.split('/').pop() || 'download').replace(/[^\w.-]+/g, '_').slice(-80);
  return `${createHash('sha256').update(key).digest('hex').slice(0, 24)}-${base}`;
}

export function openHttp(host: RemoteHost, location: string, opts: OpenOptions = {}): Promise<OpenedDataset> {
  const key = remoteKey(location);
  const existing = inFlight.get(key);
  if (existing) return existing;
  const p = doOpen(host, location, key, opts).finally(() => inFlight.delete(key));
  inFlight.set(key, p);
  return p;
}

async function doOpen(host: RemoteHost, location: string, key: string, opts: OpenOptions): Promise<OpenedDataset> {
  const http: HttpOptions = { ...httpPolicy, signal: opts.signal };
  const file = remoteFileOf(location, host);
  const known = host.catalog.byLocation(key);
  opts.onProgress?.(0, 'reading');
  let stamp: RemoteStamp | null = null;
  if (known && !opts.reingest) {
    stamp = await file.stat(http);
    if (fresh(known, stamp)) {
      const memo = host.opened(known.id);
      if (memo && existsSync(memo.storage.path)) {
        host.catalog.touch(known.id);
        return memo;
      }
      if (known.metadata?.[LAZY] && known.schema && known.cachePath) {
        return lazyDataset(host, file, key, stamp, known, known.cachePath, known.schema, known.warnings, known.metadata, known.rows ?? 0);
      }
      if (known.schema && known.cachePath && existsSync(known.cachePath)) {
        const kind = known.metadata?.['http.mapped'] === 'npy' ? 'npy' : 'arrow';
        const storage = { kind: (known.metadata?.['http.mapped'] ? 'in-place' : 'cache') as 'in-place' | 'cache', path: known.cachePath };
        let mapped: ReturnType<RemoteHost['mapColumns']> | null = null;
        try {
          mapped = host.mapColumns(storage, kind, known.schema.fields);
          if (known.rows !== null && mapped.rows !== known.rows) mapped = null;
        } catch {
          // torn (cut short, a bad footer): downloaded and read again below
        }
        if (mapped) return host.remember(known, key, known.format, known.size, mapped.rows, known.schema, known.metadata, known.warnings, storage, mapped.columns, mapped.unsupported);
      }
    }
  }
  // a Parquet file on a server that answers ranges: its footer now, its columns when they are needed
  if (isParquetName(key)) {
    stamp ??= await file.stat(http);
    if (stamp.ranges && stamp.size !== null) {
      const lazy = await openLazyParquet(host, file, key, stamp, known, opts);
      if (lazy) return lazy;
    }
  }
  const dir = path.join(host.cacheDir, 'remote');
  await mkdir(dir, { recursive: true });
  const copy = path.join(dir, copyName(key));
  opts.onProgress?.(0, 'downloading');
  stamp = await file.download(copy, {
    ...http,
    onBytes: (done, total) => opts.onProgress?.(total ? done / total : 0, `downloading ${done} bytes`),
  });
  let keepCopy = false;
  try {
    let source;
    try {
      source = await openSource(copy);
    } catch (e) {
      throw asRemote(e, copy, key);
    }
    const types = known?.typeOverrides ?? {};
    if (Object.keys(types).length) source.capabilities?.forceTypes?.(types);
    try {
      let info = await source.info({ signal: opts.signal });
      let storage: OpenedDataset['storage'];
      if (info.inPlace) {
        storage = { kind: 'in-place', path: copy };
        keepCopy = true;
      } else {
        const out = path.join(host.cacheDir, copyName(key + '\u0000' + JSON.stringify(Object.entries(types).sort())) + '.arrow');
        const size = stamp.size ?? 0;
        await ensureRoom(host.cacheDir, ingestRoom(size), `the columnar copy of ${key} (${bytesText(size)})`);
        const onProgress = (d: number) => opts.onProgress?.(d, 'ingesting');
        opts.onProgress?.(0, 'ingesting');
        const nativeIngest = source.capabilities?.nativeIngest;
        if (nativeIngest) await nativeIngest(out, { signal: opts.signal, onProgress });
        else await ingestToArrow(source, out, { signal: opts.signal, onProgress });
        info = await source.info();
        storage = { kind: 'cache', path: out };
      }
      const { columns, unsupported, rows } = host.mapColumns(storage, info.inPlace?.kind ?? 'arrow', info.schema.fields);
      const metadata: Record<string, string> = { ...info.metadata };
      if (stamp.etag) metadata[ETAG] = stamp.etag;
      if (stamp.lastModified) metadata[LAST_MODIFIED] = stamp.lastModified;
      if (info.inPlace) metadata['http.mapped'] = info.inPlace.kind;
      const size = stamp.size ?? 0;
      await dropOld(host, known, storage.path);
      const entry = host.catalog.upsert({
        location: key, format: info.format, size, mtimeMs: mtimeOf(stamp), schema: info.schema, rows,
        cachePath: storage.path, warnings: info.warnings, metadata,
      });
      // a new version of the same size and Last-Modified second (only its ETag differs): the catalog's
      // own test (size, time) keeps the old summary, so it is dropped here
      if (known && !fresh(known, stamp)) host.catalog.setSummary(entry.id, null);
      const ds = host.remember(entry, key, info.format, size, rows, info.schema, metadata, info.warnings, storage, columns, unsupported);
      opts.onProgress?.(1, 'ready');
      return ds;
    } catch (e) {
      throw asRemote(e, copy, key);
    } finally {
      await source.close();
    }
  } finally {
    if (!keepCopy) await rm(copy, { force: true }).catch(() => undefined);
  }
}

/** The column folder of one version of a remote Parquet file. */
function columnDir(host: RemoteHost, key: string, stamp: RemoteStamp): string {
  return path.join(host.cacheDir, 'remote', copyName(`${key}\u0000${stamp.size}\u0000${stamp.etag ?? ''}\u0000${stamp.lastModified ?? ''}`) + '.cols');
}

/** An older version's cache (a column folder or a cache file) once a new one replaces it. */
async function dropOld(host: RemoteHost, known: CatalogEntry | null, now: string): Promise<void> {
  const old = known?.cachePath;
  if (!old || old === now || !old.startsWith(host.cacheDir + path.sep)) return;
  await rm(old, { recursive: true, force: true }).catch(() => undefined);
  removeDerived(host.cacheDir, old);
}

/**
 * A Parquet file read by ranges: the footer now (schema, rows), the columns when a request needs
 * them (columns.ts). Null when the server turns out not to answer ranges after all (the caller
 * downloads the file as a stream).
 */
async function openLazyParquet(host: RemoteHost, file: RemoteFile, key: string, stamp: RemoteStamp, known: CatalogEntry | null, opts: OpenOptions): Promise<OpenedDataset | null> {
  const dir = columnDir(host, key, stamp);
  const cols = new RemoteColumns(dir, file, stamp, (s, k, f) => host.mapColumns(s, k, f));
  const reader = cols.reader;
  reader.state.signal = opts.signal;
  let source;
  try {
    opts.onProgress?.(0, 'reading the footer');
    source = await openParquetBytes(cols.reader);
  } catch (e) {
    if (e instanceof CdxError && e.code === 'E_UNSUPPORTED' && /byte ranges/.test(e.message)) return null;
    throw e;
  } finally {
    reader.state.signal = undefined;
  }
  const info = await source.info();
  cols.adopt(source);
  const metadata: Record<string, string> = { ...info.metadata, [LAZY]: 'parquet' };
  if (stamp.etag) metadata[ETAG] = stamp.etag;
  if (stamp.lastModified) metadata[LAST_MODIFIED] = stamp.lastModified;
  await dropOld(host, known, dir);
  const rows = info.rows ?? 0;
  const entry = host.catalog.upsert({
    location: key, format: 'parquet', size: stamp.size ?? 0, mtimeMs: mtimeOf(stamp), schema: info.schema, rows,
    cachePath: dir, warnings: info.warnings, metadata,
  });
  if (known && !fresh(known, stamp)) host.catalog.setSummary(entry.id, null);
  opts.onProgress?.(1, 'ready');
  return lazyDataset(host, file, key, stamp, entry, dir, info.schema, info.warnings, metadata, rows, cols);
}

function lazyDataset(
  host: RemoteHost, file: RemoteFile, key: string, stamp: RemoteStamp, entry: CatalogEntry, dir: string, schema: NonNullable<CatalogEntry['schema']>,
  warnings: OpenedDataset['warnings'], metadata: Record<string, string>, rows: number, cols?: RemoteColumns,
): OpenedDataset {
  const lazy = cols ?? new RemoteColumns(dir, file, stamp, (s, k, f) => host.mapColumns(s, k, f));
  const ds = host.remember(entry, key, 'parquet', stamp.size ?? entry.size, rows, schema, metadata, warnings, { kind: 'cache', path: dir }, new Map(), new Map());
  lazy.mapCached(ds);
  ds.lazy = {
    ensure: (names, o) => lazy.ensure(ds, names, o),
    close: () => lazy.close(),
  };
  return ds;
}

/** A reader's error about the downloaded copy, told about the URL instead. */
function asRemote(e: unknown, copy: string, key: string): unknown {
  if (!(e instanceof CdxError)) return e;
  const msg = e.message.split(copy).join(key);
  if (msg === e.message && e.file !== copy) return e;
  return new CdxError(e.code, msg, { file: key, ...(e.column !== undefined ? { column: e.column } : {}), cause: e });
}
