/**
 * Sorted views of a mapped dataset: the table sorted by one or more columns (`['-fare',
 * 'borough']`: fare descending, then borough ascending), nulls last whatever the direction, NaN the
 * greatest number, text by bytes (code points), ties by row number. The native kernel
 * (native/src/sort.cc) computes the permutation — the global row numbers in sorted order — once
 * per (dataset, sort, filter); it is kept in a small LRU and every table window reads its rows
 * through it (takeRows), so scrolling a sorted view costs what scrolling a filtered one does.
 * `sortedRows` with a limit asks the kernel for the top N only (no full sort): the first window of
 * a new sort near the top is answered that way (the first screen at once), as is `cdx sort --limit`.
 *
 * Callers waiting on the same permutation share it; its computation stops only when every waiter
 * has gone (as in selection.ts).
 */
import type { ColumnDesc, KernelOptions, Progress } from '../../native/index';
import { sortRows, type SortedRows } from '../../native/sort';
import { CdxError } from '../../shared/errors';
import type { CompiledFilter } from './filter';
import { joinShared, type SharedJob } from './shared-job';

export interface SortKey {
  name: string;
  desc: boolean;
}

/** What a sort needs of an opened dataset (datasets.ts OpenedDataset). */
export interface SortDataset {
  id: string;
  location: string;
  rows: number;
  columns: Map<string, ColumnDesc>;
  unsupported?: Map<string, string>;
}

/** `['-fare', 'borough', '+x']` → keys (a leading `-` sorts descending, `+` or none ascending). */
export function parseSort(spec: readonly string[] | string): SortKey[] {
  const parts = typeof spec === 'string' ? spec.split(',') : spec;
  const keys: SortKey[] = [];
  for (const raw of parts) {
    const s = raw.trim();
    if (!s) continue;
    const desc = s.startsWith('-');
    const name = s.startsWith('-') || s.startsWith('+') ? s.slice(1).trim() : s;
    if (!name) throw new CdxError('E_BAD_ARG', `sort: "${raw}" names no column`);
    keys.push({ name, desc });
  }
  return keys;
}

/** The sort's canonical text (cache key, display): `-fare,borough`. */
export function sortText(keys: readonly SortKey[]): string {
  return keys.map((k) => (k.desc ? '-' : '') + k.name).join(',');
}

function descsOf(ds: SortDataset, keys: readonly SortKey[]): ColumnDesc[] {
  if (!keys.length) throw new CdxError('E_BAD_ARG', 'sort: name at least one column');
  if (keys.length > 16) throw new CdxError('E_BAD_ARG', 'sort: at most 16 columns');
  return keys.map((k) => {
    const d = ds.columns.get(k.name);
    if (!d) {
      const why = ds.unsupported?.get(k.name);
      if (why) throw new CdxError('E_UNSUPPORTED', `${ds.location}: column "${k.name}" cannot be sorted by: ${why}`, { file: ds.location, column: k.name });
      throw new CdxError('E_UNKNOWN_COLUMN', `${ds.location}: no column "${k.name}"`, { file: ds.location, column: k.name });
    }
    return d;
  });
}

/** Rows of `ds` passing `filter` in the order of `keys`: all of them, or the first `limit` (top-N). */
export function sortedRows(ds: SortDataset, keys: readonly SortKey[], filter: CompiledFilter | undefined, opts: KernelOptions & { limit?: number } = {}): Promise<SortedRows> {
  return sortRows(descsOf(ds, keys), { desc: keys.map((k) => k.desc), filter, signal: opts.signal, onProgress: opts.onProgress, ...(opts.limit !== undefined ? { limit: opts.limit } : {}) });
}

interface Entry extends SharedJob<SortedRows> {
  columns: Map<string, ColumnDesc>;
  done?: SortedRows;
}

export interface SortedWindow {
  /** rows of the (filtered) view */
  total: number;
  /** global row numbers of sorted rows [offset, offset + limit) */
  rowIds: Float64Array;
}

/** Permutations of (dataset, sort, filter), computed once and kept (LRU; a permutation is 8 bytes a row). */
/** a first window ending within this many rows is answered by top-N (see windowOf) */
const TOP_N_WINDOW = 10_000;

export class Sorts {
  private entries = new Map<string, Entry>();
  /** sorts whose first window was answered by top-N */
  private firstSeen = new Set<string>();
  readonly capacity: number;

  readonly maxBytes: number;

  constructor(opts: { capacity?: number; maxBytes?: number } = {}) {
    this.capacity = Math.max(1, opts.capacity ?? 4);
    // (a permutation is 8 bytes a row: a billion-row sort alone is 8 GB)
    this.maxBytes = opts.maxBytes ?? 2 ** 31;
  }

  private static key(dsId: string, sort: string, where: string): string {
    return `${dsId}\u0000${sort}\u0000${where.trim()}`;
  }

  keys(): string[] {
    return [...this.entries.keys()];
  }

  forget(dsId: string): void {
    for (const k of this.firstSeen) if (k.startsWith(`${dsId}\u0000`)) this.firstSeen.delete(k);
    for (const [k, e] of this.entries) {
      if (k.startsWith(`${dsId}\u0000`)) {
        if (!e.done) e.controller.abort();
        this.entries.delete(k);
      }
    }
  }

  clear(): void {
    for (const e of this.entries.values()) if (!e.done) e.controller.abort();
    this.entries.clear();
    this.firstSeen.clear();
  }

  /** The full permutation of `ds` by `keys` under `filter` (`where` its text). */
  async permutation(ds: SortDataset, keys: readonly SortKey[], where: string | undefined, filter: CompiledFilter | undefined, opts: KernelOptions = {}): Promise<SortedRows> {
    if (opts.signal?.aborted) throw CdxError.cancelled('sort');
    const descs = descsOf(ds, keys);
    const key = Sorts.key(ds.id, sortText(keys), filter ? where ?? '' : '');
    let e = this.entries.get(key);
    if (e && e.columns !== ds.columns) {
      if (!e.done) e.controller.abort();
      this.entries.delete(key);
      e = undefined;
    }
    if (e) {
      this.entries.delete(key);
      this.entries.set(key, e);
      if (e.done) return e.done;
    } else {
      const controller = new AbortController();
      const listeners = new Set<(p: Progress) => void>();
      const entry: Entry = { columns: ds.columns, controller, waiters: 0, listeners, promise: undefined as unknown as Promise<SortedRows> };
      entry.promise = sortRows(descs, {
        desc: keys.map((k) => k.desc),
        filter,
        signal: controller.signal,
        onProgress: (p) => { for (const l of listeners) l(p); },
      }).then(
        (r) => {
          entry.done = r;
          this.evict();
          return r;
        },
        (err) => {
          if (this.entries.get(key) === entry) this.entries.delete(key);
          throw err;
        },
      );
      entry.promise.catch(() => {}); // rejections reach the waiters
      this.entries.set(key, entry);
      this.evict();
      e = entry;
    }
    return this.wait(e, opts);
  }

  /** Drops the oldest entries past `capacity`, and past `maxBytes` of finished permutations (the newest is kept). */
  private evict(): void {
    while (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
    let bytes = 0;
    for (const e of this.entries.values()) bytes += e.done?.rowIds.byteLength ?? 0;
    for (const [k, e] of this.entries) {
      if (bytes <= this.maxBytes || this.entries.size <= 1) break;
      if (!e.done) continue;
      bytes -= e.done.rowIds.byteLength;
      this.entries.delete(k);
    }
  }

  private wait(e: Entry, opts: KernelOptions): Promise<SortedRows> {
    return joinShared(e, opts, 'sort', () => !!e.done, () => {
      for (const [k, v] of this.entries) if (v === e) this.entries.delete(k);
    });
  }

  /** Sorted rows [offset, offset + limit) of the view: their global row numbers and the view's total. */
  async windowOf(ds: SortDataset, keys: readonly SortKey[], where: string | undefined, filter: CompiledFilter | undefined, offset: number, limit: number, opts: KernelOptions = {}): Promise<SortedWindow> {
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(limit) || limit < 0) {
      throw new CdxError('E_OUT_OF_RANGE', `bad row window: offset ${offset}, limit ${limit}`);
    }
    // the first window of a sort not computed yet, near the top: top-N only (one pass, no full
    // sort), so the first screen comes at once; the next window of that sort computes the permutation
    const key = Sorts.key(ds.id, sortText(keys), filter ? where ?? '' : '');
    if (offset + limit <= TOP_N_WINDOW && !this.entries.has(key) && !this.firstSeen.has(key)) {
      this.firstSeen.add(key);
      if (this.firstSeen.size > 64) this.firstSeen.delete(this.firstSeen.values().next().value as string);
      const top = await sortedRows(ds, keys, filter, { ...opts, limit: offset + limit });
      return { total: top.total, rowIds: top.rowIds.slice(Math.min(offset, top.rowIds.length)) };
    }
    const p = await this.permutation(ds, keys, where, filter, opts);
    const start = Math.min(offset, p.total);
    const end = Math.min(p.total, offset + limit);
    return { total: p.total, rowIds: p.rowIds.slice(start, Math.max(start, end)) };
  }
}
