/**
 * Filtered row windows for the table view: "rows k .. k+n of the rows that pass `where`". The
 * first request for a (dataset, filter) pays one parallel pass (native filterBlockCounts: passing
 * rows per block of 4Ki+ rows, see blockRowsFor); the counts and their prefix sums are kept in a small LRU. Every
 * window after that finds its first and last block by binary search in the prefix sums and scans
 * only those blocks (native filteredRowIds, which also jumps over blocks without passing rows),
 * so a window costs about the same at any depth of a billion-row view.
 *
 * Callers waiting on the same pass share it; the pass is cancelled only when every waiter has
 * gone (a scroll that cancels its stale request must not throw away the count another needs).
 */
import type { ColumnDesc, KernelOptions, Progress } from '../../native/index';
import { filterBlockCounts, filteredRowIds } from '../../native/select';
import { CdxError } from '../../shared/errors';
import type { CompiledFilter } from './filter';
import { joinShared, type SharedJob } from './shared-job';

/** What Selections needs of an opened dataset (main/engine/datasets.ts OpenedDataset). */
export interface SelectionDataset {
  id: string;
  rows: number;
  columns: Map<string, ColumnDesc>;
}

export interface FilteredWindow {
  /** rows that pass the filter (all rows without one) */
  total: number;
  /** global row numbers of filtered rows [offset, offset + limit) (fewer at the end; none past it) */
  rowIds: Float64Array;
}

/** Block counts of one (dataset, filter) and their prefix sums. */
export interface BlockIndex {
  blockRows: number;
  rows: number;
  counts: Uint32Array;
  /** prefix[b] = passing rows before block b; prefix[counts.length] = total */
  prefix: Float64Array;
  total: number;
}

interface Entry extends SharedJob<BlockIndex> {
  /** the dataset's column map when computed: a reopened (changed) dataset gets a new one */
  columns: Map<string, ColumnDesc>;
  index?: BlockIndex;
}

/** Index of the block holding passing row `k` (0-based rank): prefix[b] <= k < prefix[b + 1]. */
export function blockOfRank(prefix: Float64Array, k: number): number {
  let lo = 0, hi = prefix.length - 1; // answer in [0, nBlocks)
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (prefix[mid]! <= k) lo = mid;
    else hi = mid;
  }
  return lo;
}

export function buildIndex(counts: Uint32Array, blockRows: number, rows: number): BlockIndex {
  const prefix = new Float64Array(counts.length + 1);
  let s = 0;
  for (let b = 0; b < counts.length; b++) {
    prefix[b] = s;
    s += counts[b]!;
  }
  prefix[counts.length] = s;
  return { blockRows, rows, counts, prefix, total: s };
}

export interface SelectionsOptions {
  /** (dataset, filter) pairs kept (default 8) */
  capacity?: number;
  /** rows per block (default: blockRowsFor(rows)) */
  blockRows?: number;
}

/**
 * Rows per block for a dataset of `rows` rows: 4096 (so that a sparse filter's window scans few
 * rows) up to ~256Ki blocks (1 MiB of counts + 2 MiB of prefix sums; a billion rows = 244k blocks),
 * then larger powers of two.
 */
export function blockRowsFor(rows: number): number {
  let b = 4096;
  while (rows / b > 262_144) b *= 2;
  return b;
}

export class Selections {
  private entries = new Map<string, Entry>();
  readonly capacity: number;
  readonly blockRows: number | undefined;

  constructor(opts: SelectionsOptions = {}) {
    this.capacity = Math.max(1, opts.capacity ?? 8);
    this.blockRows = opts.blockRows;
  }

  private static key(dsId: string, where: string): string {
    return `${dsId}\u0000${where.trim()}`;
  }

  /** Cached entries (most recent last), for tests and diagnostics. */
  keys(): string[] {
    return [...this.entries.keys()];
  }

  /** Forgets a dataset's selections (call when it is closed or changes). */
  forget(dsId: string): void {
    for (const [k, e] of this.entries) {
      if (k.startsWith(`${dsId}\u0000`)) {
        if (!e.index) e.controller.abort();
        this.entries.delete(k);
      }
    }
  }

  clear(): void {
    for (const e of this.entries.values()) if (!e.index) e.controller.abort();
    this.entries.clear();
  }

  /**
   * Block counts of `filter` (whose text is `where`) over `ds`: computed once, then from the
   * cache. A cancelled caller stops waiting at once; the pass itself stops when no one waits.
   */
  async index(ds: SelectionDataset, where: string, filter: CompiledFilter, opts: KernelOptions = {}): Promise<BlockIndex> {
    if (opts.signal?.aborted) throw CdxError.cancelled('filter count');
    const key = Selections.key(ds.id, where);
    let e = this.entries.get(key);
    if (e && e.columns !== ds.columns) {
      if (!e.index) e.controller.abort();
      this.entries.delete(key);
      e = undefined;
    }
    if (e) {
      // most recently used goes last
      this.entries.delete(key);
      this.entries.set(key, e);
      if (e.index) return e.index;
    } else {
      const controller = new AbortController();
      const listeners = new Set<(p: Progress) => void>();
      const blockRows = this.blockRows ?? blockRowsFor(ds.rows);
      const entry: Entry = { columns: ds.columns, controller, waiters: 0, listeners, promise: undefined as unknown as Promise<BlockIndex> };
      entry.promise = filterBlockCounts(filter, {
        blockRows,
        rows: ds.rows,
        signal: controller.signal,
        onProgress: (p) => { for (const l of listeners) l(p); },
      }).then(
        (counts) => {
          entry.index = buildIndex(counts, blockRows, ds.rows);
          return entry.index;
        },
        (err) => {
          if (this.entries.get(key) === entry) this.entries.delete(key);
          throw err;
        },
      );
      entry.promise.catch(() => {}); // rejections reach the waiters; none is left unhandled
      this.entries.set(key, entry);
      this.evict();
      e = entry;
    }
    return this.wait(e, opts);
  }

  private wait(e: Entry, opts: KernelOptions): Promise<BlockIndex> {
    if (opts.signal?.aborted) throw CdxError.cancelled('filter count');
    return joinShared(e, opts, 'filter count', () => !!e.index, () => {
      for (const [k, v] of this.entries) if (v === e) this.entries.delete(k);
    });
  }

  private evict(): void {
    while (this.entries.size > this.capacity) {
      // oldest first; one still being computed is only dropped from the cache (its waiters keep it)
      const k = this.entries.keys().next().value as string;
      this.entries.delete(k);
    }
  }

  /**
   * Rows [offset, offset + limit) of the rows of `ds` that pass `filter` (the compiled form of
   * `where`; undefined = no filter): their global row numbers and the filtered total.
   */
  async windowOf(
    ds: SelectionDataset,
    where: string | undefined,
    filter: CompiledFilter | undefined,
    offset: number,
    limit: number,
    opts: KernelOptions = {},
  ): Promise<FilteredWindow> {
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(limit) || limit < 0) {
      throw new CdxError('E_OUT_OF_RANGE', `bad row window: offset ${offset}, limit ${limit}`);
    }
    if (!filter || !where?.trim()) {
      const start = Math.min(offset, ds.rows);
      const n = Math.max(0, Math.min(limit, ds.rows - start));
      return { total: ds.rows, rowIds: Float64Array.from({ length: n }, (_, i) => start + i) };
    }
    const idx = await this.index(ds, where, filter, opts);
    const start = Math.min(offset, idx.total);
    const end = Math.min(idx.total, offset + limit);
    if (start >= end) return { total: idx.total, rowIds: new Float64Array(0) };
    const b0 = blockOfRank(idx.prefix, start);
    const b1 = blockOfRank(idx.prefix, end - 1);
    const rowIds = await filteredRowIds(filter, {
      fromRow: b0 * idx.blockRows,
      toRow: Math.min(idx.rows, (b1 + 1) * idx.blockRows),
      skip: start - idx.prefix[b0]!,
      limit: end - start,
      rows: idx.rows,
      blocks: { blockRows: idx.blockRows, counts: idx.counts.subarray(b0, b1 + 1), first: b0 },
      signal: opts.signal,
    });
    if (rowIds.length !== end - start) {
      // the counts no longer describe the file (changed under us): drop them so the next call recounts
      this.entries.delete(Selections.key(ds.id, where));
      throw new CdxError('E_STALE', `${ds.id}: the filtered view changed while being read; try again`);
    }
    return { total: idx.total, rowIds };
  }
}
