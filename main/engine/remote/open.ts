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
import { displayUrl, download, readTail, sameVersion, statRemote, type HttpOptions, type RemoteStamp } from './http';

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
  const key = displayUrl(location);
  const existing = inFlight.get(key);
  if (existing) return existing;
  const p = doOpen(host, location, key, opts).finally(() => inFlight.delete(key));
  inFlight.set(key, p);
  return p;
}

async function doOpen(host: RemoteHost, location: string, key: string, opts: OpenOptions): Promise<OpenedDataset> {
  const http: HttpOptions = { ...httpPolicy, signal: opts.signal };
  const known = host.catalog.byLocation(key);
  opts.onProgress?.(0, 'reading');
  if (known && !opts.reingest) {
    const stamp = await statRemote(location, http);
    if (fresh(known, stamp)) {
      const memo = host.opened(known.id);
      if (memo && existsSync(memo.storage.path)) {
        host.catalog.touch(known.id);
        return memo;
      }
      if (known.schema && known.cachePath && existsSync(known.cachePath)) {
        const kind = known.metadata?.['http.mapped'] === 'npy' ? 'npy' : 'arrow';
        const storage = { kind: (known.metadata?.['http.mapped'] ? 'in-place' : 'cache') as 'in-place' | 'cache', path: known.cachePath };
        const { columns, unsupported, rows } = host.mapColumns(storage, kind, known.schema.fields);
        return host.remember(known, key, known.format, known.size, rows, known.schema, known.metadata, known.warnings, storage, columns, unsupported);
      }
    }
  }
  // a Parquet file is read from its footer: its last bytes tell a truncated file before any download
  if (/\.(parquet|parq|pq)$/i.test(new URL(key).pathname)) {
    const tail = await readTail(location, 8, http);
    const magic = tail ? String.fromCharCode(...tail.bytes.subarray(-4)) : 'PAR1';
    if (magic !== 'PAR1' && magic !== 'PARE') {
      throw CdxError.file('E_TRUNCATED', key, 'does not end with the Parquet magic PAR1 (its last 8 bytes read): the file is truncated or incomplete, or not Parquet');
    }
  }
  const dir = path.join(host.cacheDir, 'remote');
  await mkdir(dir, { recursive: true });
  const copy = path.join(dir, copyName(key));
  opts.onProgress?.(0, 'downloading');
  const stamp = await download(location, copy, {
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

/** A reader's error about the downloaded copy, told about the URL instead. */
function asRemote(e: unknown, copy: string, key: string): unknown {
  if (!(e instanceof CdxError)) return e;
  const msg = e.message.split(copy).join(key);
  if (msg === e.message && e.file !== copy) return e;
  return new CdxError(e.code, msg, { file: key, ...(e.column !== undefined ? { column: e.column } : {}), cause: e });
}
