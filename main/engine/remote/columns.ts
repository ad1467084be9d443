/**
 * A remote Parquet file read column by column, as requests need them. Opening reads only the footer
 * (schema, row count); a summary of three columns then reads the column chunks of those three
 * columns and nothing else (each chunk by a range request, never the whole file), and ingests them
 * into an Arrow IPC file of their own in the dataset's cache folder, which the native kernels map
 * like any cached column. The folder holds one file per set of columns read together and a
 * manifest naming which file holds which column, for the version (ETag / Last-Modified / size) it
 * was read from: reopening the same version maps what is there and reads only what is missing; a
 * new version gets a new folder. Every range read asks for that version (If-Match): a file that
 * changes between two reads fails with E_STALE instead of mixing two versions.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ColumnDesc } from '../../../native/index';
import type { Field, Schema } from '../../../shared/datashape';
import { CdxError } from '../../../shared/errors';
import { ingestToArrow } from '../cache';
import { nameHash } from '../zones';
import { writeFileDurable } from '../durable';
import { openParquetBytes, type ParquetBytes } from '../sources/parquet';
import type { Source } from '../sources/types';
import type { RemoteFile } from './file';
import type { RemoteStamp } from './http';

/** Selected column chunks closer than this are read in one request (hyparquet itself merges gaps under 8 KiB). */
export const REMOTE_GAP = 16 * 1024;
/** The footer's request reads at least this much from the end (the footer's exact length is known first from the last 8 bytes). */
export const REMOTE_TAIL = 0;

interface Manifest {
  version: { size: number | null; etag: string | null; lastModified: string | null };
  /** column name -> file (in the folder) that holds it */
  files: Record<string, string>;
}

/** What the lazy columns need from the dataset they fill. */
export interface LazyTarget {
  location: string;
  schema: Schema;
  columns: Map<string, ColumnDesc>;
  unsupported: Map<string, string>;
}

export type MapColumns = (storage: { kind: 'cache'; path: string }, kind: 'arrow', fields: Field[]) => {
  columns: Map<string, ColumnDesc>; unsupported: Map<string, string>; rows: number;
};

/** A remote file's bytes for the Parquet reader: every read asks for one version; bytes counted. */
export function remoteBytes(file: RemoteFile, version: RemoteStamp, state: { signal?: AbortSignal; onBytes?: (n: number) => void } = {}): ParquetBytes & { state: typeof state } {
  return {
    name: file.display,
    size: version.size ?? 0,
    gap: REMOTE_GAP,
    tailFetch: REMOTE_TAIL,
    state,
    read: (start, end) => file.read(start, end, { version, signal: state.signal, onBytes: state.onBytes }),
    close: async () => undefined,
  };
}

export class RemoteColumns {
  private source: Promise<Source> | null = null;
  private bytes: ReturnType<typeof remoteBytes>;
  /** one ingest at a time (they share the reader and the manifest) */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly dir: string,
    private file: RemoteFile,
    private version: RemoteStamp,
    private mapColumns: MapColumns,
  ) {
    this.bytes = remoteBytes(file, version);
  }

  /** The bytes open.ts reads the footer through (`state.signal` cancels its reads). */
  get reader(): ReturnType<typeof remoteBytes> {
    return this.bytes;
  }

  /** Keeps the reader open.ts opened (its footer read once) for the column reads. */
  adopt(source: Source): void {
    this.source = Promise.resolve(source);
  }

  private manifestPath(): string {
    return path.join(this.dir, 'manifest.json');
  }

  private manifest(): Manifest {
    try {
      const m = JSON.parse(readFileSync(this.manifestPath(), 'utf8')) as Manifest;
      const v = m.version;
      if (v.size === this.version.size && v.etag === this.version.etag && v.lastModified === this.version.lastModified && m.files && typeof m.files === 'object') return m;
    } catch {
      // none yet, or torn: the columns are read again
    }
    return { version: { size: this.version.size, etag: this.version.etag, lastModified: this.version.lastModified }, files: {} };
  }

  /** Maps the columns already in the folder (a reopen of the same version) into `ds`. */
  mapCached(ds: LazyTarget): void {
    const m = this.manifest();
    const byFile = new Map<string, Field[]>();
    for (const [col, f] of Object.entries(m.files)) {
      const field = ds.schema.fields.find((x) => x.name === col);
      if (!field || !existsSync(path.join(this.dir, f))) continue;
      byFile.set(f, [...(byFile.get(f) ?? []), field]);
    }
    for (const [f, fields] of byFile) {
      try {
        this.merge(ds, path.join(this.dir, f), fields);
      } catch {
        // a damaged column file: those columns are read again when needed
      }
    }
  }

  private merge(ds: LazyTarget, file: string, fields: Field[]): void {
    const { columns, unsupported } = this.mapColumns({ kind: 'cache', path: file }, 'arrow', fields);
    for (const f of fields) {
      const c = columns.get(f.name);
      if (c) ds.columns.set(f.name, c);
      else ds.unsupported.set(f.name, unsupported.get(f.name) ?? 'not readable');
    }
  }

  /** Reads the named columns that are not in the cache yet (one pass over the row groups for all of them). */
  ensure(ds: LazyTarget, names: string[], opts: { signal?: AbortSignal; onProgress?: (done: number, stage: string) => void } = {}): Promise<void> {
    const missing = () => [...new Set(names)].filter((n) => !ds.columns.has(n) && !ds.unsupported.has(n) && ds.schema.fields.some((f) => f.name === n));
    if (!missing().length) return Promise.resolve();
    const run = this.queue.then(async () => {
      const want = missing();
      if (!want.length) return;
      const fields = want.map((n) => ds.schema.fields.find((f) => f.name === n)!);
      await mkdir(this.dir, { recursive: true });
      const name = `c-${nameHash(want.join('\u0000'))}-${randomBytes(3).toString('hex')}.arrow`;
      const out = path.join(this.dir, name);
      this.bytes.state.signal = opts.signal;
      try {
        this.source ??= openParquetBytes(this.bytes);
        const source = await this.source.catch((e) => {
          this.source = null;
          throw e;
        });
        opts.onProgress?.(0, `reading ${want.length} column${want.length === 1 ? '' : 's'}`);
        await ingestToArrow(source, out, { columns: want, signal: opts.signal, onProgress: (d) => opts.onProgress?.(d, 'reading columns') });
      } catch (e) {
        await rm(out, { force: true }).catch(() => undefined);
        if (e instanceof CdxError && e.code === 'E_STALE') this.source = null;
        throw e;
      } finally {
        this.bytes.state.signal = undefined;
      }
      this.merge(ds, out, fields);
      const m = this.manifest();
      for (const n of want) m.files[n] = name;
      // the column file is whole on disk (ingestToArrow flushed it) before the manifest names it
      await writeFileDurable(this.manifestPath(), JSON.stringify(m));
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    const s = await this.source?.catch(() => null);
    this.source = null;
    await s?.close();
  }
}
