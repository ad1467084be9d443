/**
 * Many objects in a bucket as one dataset: `s3://bucket/prefix/` (every data object under it),
 * `s3://bucket/parts/*.parquet` (a glob over the keys, `**` for any depth) or a Hive tree
 * (`s3://bucket/tree/year=2024/month=1/part-0.parquet`, partition keys as columns). The objects are
 * listed (ListObjectsV2), then read by the local many-files machinery (sources/multi.ts): each one
 * is downloaded (s3.ts s3File.download: streamed, resumed, nothing half-written) into a staging
 * folder in the cache that mirrors the keys, only when the dataset is read and only the objects
 * left after a partition-key filter's `prune`; the staging folder goes when the source is closed
 * (after the ingest). The catalog keeps the location without key id, its freshness the listing's
 * fingerprint (every key's size, time and ETag): a reopen while the prefix is unchanged is one
 * listing and no download. Errors name `s3://bucket/key`, never a staging path.
 */
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import os from 'node:os';
import type { RecordBatch } from 'apache-arrow';
import type { ColumnDesc } from '../../../native/index';
import type { Field } from '../../../shared/datashape';
import { CdxError } from '../../../shared/errors';
import type { Catalog, CatalogEntry } from '../catalog';
import type { OpenedDataset, OpenOptions } from '../datasets';
import { ingestToArrow } from '../cache';
import { checkPartitionKeys, dataExtension, fingerprint, globRegex, MultiSource, partitionsOf, type ListedFile, type Listing } from '../sources/multi';
import type { NativeIngestOptions, ScanOptions, Source, SourceCapabilities, SourceInfo } from '../sources/types';
import { listS3Objects, parseS3, s3Display, s3File, s3StoredLocation, type S3Location, type S3Options } from './s3';

/** objects downloaded at once */
const FETCH_CONCURRENCY = 8;

/** What datasets.ts lends this module (the same steps it lends remote/open.ts). */
export interface S3Host {
  catalog: Catalog;
  cacheDir: string;
  opened(id: string): OpenedDataset | undefined;
  mapColumns(storage: OpenedDataset['storage'], kind: 'arrow' | 'npy', fields: Field[]): { columns: Map<string, ColumnDesc>; unsupported: Map<string, string>; rows: number };
  remember(
    entry: CatalogEntry, loc: string, format: string, size: number, rows: number, schema: OpenedDataset['schema'], metadata: Record<string, string>,
    warnings: OpenedDataset['warnings'], storage: OpenedDataset['storage'], columns: Map<string, ColumnDesc>, unsupported: Map<string, string>,
  ): OpenedDataset;
}

/** Test hook: the retry policy of the downloads (tries, back-off). */
export const s3Policy: Pick<S3Options, 'tries' | 'backoffMs'> = {};

/** A key as a path below the staging folder: each segment kept where the file system allows it. */
function stagedPath(dir: string, key: string): string {
  const segs = key.split('/').map((s) => {
    // `..`, `.` and empty segments must not climb out or collapse; characters Windows refuses are %-escaped
    if (s === '' || s === '.' || s === '..') return `%${s.length}`;
    return s.replace(/[<>:"|?*\\\u0000-\u001f]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  });
  return path.join(dir, ...segs);
}

/**
 * The objects of a prefix or pattern as a Listing (multi.ts) whose files are fetched into
 * `stagingDir` when first read. Data objects only (an extension CDX reads; a pattern decides for
 * itself); names starting with `.` or `_` below the prefix (Spark's `_SUCCESS`, `.crc`) left out.
 */
export async function listS3Files(location: string, o: S3Options & { signal?: AbortSignal; stagingDir: string }): Promise<Listing> {
  const loc = parseS3(location);
  const display = s3Display(loc);
  let prefix = loc.key;
  let re: RegExp | null = null;
  if (prefix && !prefix.endsWith('/')) {
    const segs = prefix.split('/');
    const first = segs.findIndex((s) => /[*?[]/.test(s));
    if (first < 0) throw CdxError.file('E_BAD_ARG', display, 'an object, not a prefix or pattern (a prefix ends with /)');
    prefix = segs.slice(0, first).map((s) => s + '/').join('');
    re = globRegex(segs.slice(first).join('/'));
  }
  const entries = (await listS3Objects(loc, prefix, { ...o })).filter((e) => !e.dir && !e.key.endsWith('/'));
  if (!entries.length) {
    if (re) throw CdxError.file('ENOENT', display, `no object matches this pattern (no objects under ${s3Display(loc, prefix)})`);
    throw CdxError.file('E_EMPTY', display, `no objects under ${display}`);
  }
  const files: ListedFile[] = [];
  for (const e of entries) {
    const rel = e.key.slice(prefix.length);
    if (rel.split('/').some((s) => s.startsWith('.') || s.startsWith('_'))) continue;
    if (re ? !re.test(rel) : !dataExtension(rel.split('/').pop()!)) continue;
    files.push({
      path: stagedPath(o.stagingDir, e.key), rel, size: e.size, mtimeMs: e.mtimeMs,
      // every `key=value` segment of the key counts, the prefix's own included (as for a local tree)
      partitions: partitionsOf(e.key),
      ...(e.etag ? { etag: e.etag } : {}),
    });
  }
  if (!files.length) {
    if (re) throw CdxError.file('ENOENT', display, `no object matches this pattern (${entries.length} object${entries.length === 1 ? '' : 's'} under ${s3Display(loc, prefix)}, none matching)`);
    throw CdxError.file('E_EMPTY', display, `no data objects under ${display} (${entries.length} object${entries.length === 1 ? '' : 's'}, none with an extension CDX reads: .parquet, .csv, .arrow, .json, …)`);
  }
  checkPartitionKeys(display, files);
  const byPath = new Map(files.map((f) => [f.path, f]));
  const keyOf = (f: ListedFile) => prefix + f.rel;
  return {
    location: display,
    base: s3Display(loc, prefix),
    files,
    remote: {
      async fetch(todo, opts) {
        const total = todo.reduce((a, f) => a + f.size, 0);
        const done = new Map<ListedFile, number>();
        let sum = 0;
        let next = 0;
        let failed = false;
        const one = async (f: ListedFile) => {
          const stamp = await s3File({ ...loc, key: keyOf(f) }, { ...o, ...s3Policy }).download(f.path, {
            signal: opts.signal,
            onBytes: (d) => {
              sum += d - (done.get(f) ?? 0);
              done.set(f, d);
              opts.onBytes?.(sum, total);
            },
          });
          // the object as listed (the fingerprint the catalog keeps) must be the one read
          const listed = byPath.get(f.path)!;
          if (listed.etag && stamp.etag && listed.etag !== stamp.etag) {
            throw CdxError.file('E_STALE', s3Display(loc, keyOf(f)), `the object changed in the store since the prefix was listed (ETag ${listed.etag} → ${stamp.etag}); open it again`);
          }
        };
        const settled = await Promise.allSettled(Array.from({ length: Math.min(FETCH_CONCURRENCY, todo.length) }, async () => {
          while (!failed && next < todo.length) await one(todo[next++]!).catch((e) => { failed = true; throw e; });
        }));
        const err = settled.find((r) => r.status === 'rejected');
        if (err) throw (err as PromiseRejectedResult).reason;
      },
      async dispose() {
        await rm(o.stagingDir, { recursive: true, force: true });
      },
    },
  };
}

/** A reader's error about a staged copy, told about its object instead. */
function asObjects(e: unknown, stagingDir: string, loc: S3Location): unknown {
  if (!(e instanceof CdxError)) return e;
  const bases = [stagingDir + path.sep, stagingDir + '/'];
  const fix = (s: string) => {
    for (const b of bases) {
      let i: number;
      while ((i = s.indexOf(b)) >= 0) {
        // the staged path's rest, up to the end of the path in the message
        const m = /^[^\s"'`,;()]*/.exec(s.slice(i + b.length))![0];
        s = s.slice(0, i) + s3Display(loc, m.split(path.sep).join('/').replace(/%(\d+)(?=\/|$)/g, (_x, n) => '.'.repeat(Number(n)))) + s.slice(i + b.length + m.length);
      }
    }
    return s;
  };
  const msg = fix(e.message);
  const file = e.file !== undefined ? fix(e.file) : undefined;
  if (msg === e.message && file === e.file) return e;
  return new CdxError(e.code, msg, { ...(file !== undefined ? { file } : {}), ...(e.column !== undefined ? { column: e.column } : {}), cause: e });
}

export interface S3MultiSource extends Source {
  /** the objects (after pruning) downloaded now, with progress in bytes (else the first read does it) */
  fetch(opts?: { signal?: AbortSignal; onBytes?: (done: number, total: number) => void }): Promise<void>;
  readonly listing: Listing;
}

/**
 * A prefix, glob or Hive tree in a bucket as one Source (multi.ts over the staged objects); its
 * errors name the objects. `stagingDir` defaults to a new folder in the system's temporary folder.
 */
export async function openS3MultiSource(location: string, o: S3Options & { signal?: AbortSignal; stagingDir?: string; listing?: Listing } = {}): Promise<S3MultiSource> {
  const loc = parseS3(location);
  const stagingDir = o.stagingDir ?? path.join(os.tmpdir(), `cdx-s3-${process.pid}-${randomBytes(6).toString('hex')}`);
  const listing = o.listing ?? await listS3Files(location, { ...o, stagingDir });
  const wrap = <T>(p: Promise<T>): Promise<T> => p.catch((e) => { throw asObjects(e, stagingDir, loc); });
  let multi: MultiSource;
  try {
    multi = new MultiSource(listing);
  } catch (e) {
    throw asObjects(e, stagingDir, loc);
  }
  const inner = multi.capabilities;
  const capabilities: SourceCapabilities = {
    ...(inner.prune ? { prune: inner.prune } : {}),
    ...(inner.forceTypes ? { forceTypes: inner.forceTypes } : {}),
    ...(inner.nativeIngest ? { nativeIngest: (out: string, io?: NativeIngestOptions) => wrap(inner.nativeIngest!(out, io)) } : {}),
  };
  return {
    listing,
    capabilities,
    fetch: (fo = {}) => wrap(multi.fetchRemote(fo)),
    info: (io?: { signal?: AbortSignal }): Promise<SourceInfo> => wrap(multi.info(io)),
    async *scan(so?: ScanOptions): AsyncIterable<RecordBatch> {
      try {
        yield* multi.scan(so);
      } catch (e) {
        throw asObjects(e, stagingDir, loc);
      }
    },
    close: () => multi.close(),
  };
}

/** The cache file of a location (and of the column types the user chose), as datasets.ts names its own. */
function cacheName(location: string, types: Record<string, string> = {}): string {
  const keys = Object.keys(types).sort();
  const key = keys.length ? location + '\u0000' + JSON.stringify(keys.map((k) => [k, types[k]])) : location;
  return createHash('sha256').update(key).digest('hex').slice(0, 24) + '.arrow';
}

/** the name the catalog shows: the prefix's last folder, or the pattern with the folder it is in */
function datasetName(loc: S3Location): string {
  const segs = loc.key.replace(/\/$/, '').split('/').filter(Boolean);
  if (!segs.length) return loc.bucket;
  const first = segs.findIndex((s) => /[*?[]/.test(s));
  if (first < 0) return segs[segs.length - 1]!;
  return segs.slice(Math.max(0, first - 1)).join('/');
}

const inFlight = new Map<string, Promise<OpenedDataset>>();

/** Opens a prefix, glob or Hive tree in a bucket as one dataset (datasets.ts hands such locations here). */
export function openS3Multi(host: S3Host, location: string, opts: OpenOptions = {}): Promise<OpenedDataset> {
  const key = s3StoredLocation(parseS3(location));
  const running = inFlight.get(key);
  if (running) return running;
  const p = doOpen(host, location, key, opts).finally(() => inFlight.delete(key));
  inFlight.set(key, p);
  return p;
}

async function doOpen(host: S3Host, location: string, key: string, opts: OpenOptions): Promise<OpenedDataset> {
  const loc = parseS3(location);
  const s3: S3Options = { connections: host.catalog };
  opts.onProgress?.(0, 'listing');
  const stagingDir = path.join(host.cacheDir, 'remote', `s3-${createHash('sha256').update(key).digest('hex').slice(0, 16)}-${process.pid}-${randomBytes(4).toString('hex')}`);
  const listing = await listS3Files(location, { ...s3, signal: opts.signal, stagingDir });
  const st = fingerprint(listing);
  const known = host.catalog.byLocation(key);
  if (known && !opts.reingest && host.catalog.isFresh(known, st.size, st.mtimeMs)) {
    const memo = host.opened(known.id);
    if (memo && existsSync(memo.storage.path)) {
      host.catalog.touch(known.id);
      return memo;
    }
    if (known.schema && known.cachePath && existsSync(known.cachePath)) {
      const storage = { kind: 'cache' as const, path: known.cachePath };
      const { columns, unsupported, rows } = host.mapColumns(storage, 'arrow', known.schema.fields);
      return host.remember(known, key, known.format, st.size, rows, known.schema, known.metadata, known.warnings, storage, columns, unsupported);
    }
  }
  const source = await openS3MultiSource(location, { ...s3, stagingDir, listing });
  const types = known?.typeOverrides ?? {};
  if (Object.keys(types).length) source.capabilities?.forceTypes?.(types);
  try {
    // the transfer first, counted in bytes; then the ingest of the staged copies
    opts.onProgress?.(0, 'downloading');
    await source.fetch({ signal: opts.signal, onBytes: (done, total) => opts.onProgress?.(total ? done / total : 1, `downloading ${done} of ${total} bytes`) });
    const out = path.join(host.cacheDir, cacheName(key, types));
    await mkdir(host.cacheDir, { recursive: true });
    opts.onProgress?.(0, 'ingesting');
    const onProgress = (d: number) => opts.onProgress?.(d, 'ingesting');
    const nativeIngest = source.capabilities?.nativeIngest;
    if (nativeIngest) await nativeIngest(out, { signal: opts.signal, onProgress });
    else await ingestToArrow(source, out, { signal: opts.signal, onProgress });
    const info = await source.info();
    const storage = { kind: 'cache' as const, path: out };
    const { columns, unsupported, rows } = host.mapColumns(storage, 'arrow', info.schema.fields);
    const metadata: Record<string, string> = { ...info.metadata, bucket: loc.bucket };
    const entry = host.catalog.upsert({
      location: key, name: datasetName(loc), format: info.format, size: st.size, mtimeMs: st.mtimeMs, schema: info.schema, rows,
      cachePath: out, warnings: info.warnings, metadata,
    });
    const ds = host.remember(entry, key, info.format, st.size, rows, info.schema, metadata, info.warnings, storage, columns, unsupported);
    opts.onProgress?.(1, 'ready');
    return ds;
  } finally {
    // the staged objects go whatever happened (multi.ts close → Listing.remote.dispose)
    await source.close();
  }
}
