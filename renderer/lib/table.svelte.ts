/**
 * The table's window onto a dataset's rows, as a Svelte 5 rune class. Rows come in blocks of
 * `BLOCK`, fetched for the rows on screen (plus a margin) in one engine call, the previous call
 * cancelled when the window moves on (the `Request` helper); at most `MAX_BLOCKS` are kept (least
 * recently fetched go first). With filters the window is onto the filtered view, whose size is
 * known once its first rows arrive; a new filter starts the window over. With a sort (`TableSort`,
 * kept per dataset like the column order) the window is onto the view in that order: the engine
 * computes the order once (its progress is shown, and the run can be cancelled), then every block
 * reads through it; a new sort also starts the window over. Also: copying a range of rows as TSV,
 * and fitting each column's width to its text.
 */
import { tableFromIPC } from 'apache-arrow';
import type { Field } from '../../shared/datashape';
import type { DatasetView } from './dataset.svelte';
import { cellText } from './format';
import { Request } from './request.svelte';
import { workspace } from './workspace.svelte';

export const BLOCK = 1024;
export const MAX_BLOCKS = 24;
/** rows fetched beyond the last one on screen */
const MARGIN = 32;

export interface TableRow {
  /** the row's number in the dataset (with filters: not its position in the filtered view) */
  id: number;
  /** cell values, in the order of `TableWindow.fields` */
  values: unknown[];
}

interface Blocks {
  /** the filter and sort the rows were fetched with (`viewKey`) */
  key: string;
  where: string;
  map: Map<number, TableRow[]>;
  /** the columns the rows hold (`columnsKey`): values are by position, so another schema drops them */
  cols: string;
  /** rows passing the filter (null until the first answer; the dataset's rows without a filter) */
  total: number | null;
}

interface Fetched {
  first: number;
  rows: TableRow[];
  total: number;
}

export class TableWindow {
  private blocks = $state.raw<Blocks>({ key: '', where: '', cols: '', map: new Map(), total: null });
  private fetchReq = new Request<Fetched>();
  private copyReq = new Request<{ tsv: string; rows: number }>();
  /** the block range of the fetch in flight */
  private inflight: { key: string; lo: number; hi: number } | null = null;
  /** the sort's progress (0..1) while the engine orders the rows for a fetch in flight; null otherwise */
  sortProgress = $state<number | null>(null);
  /** the sort (as the status line says it) whose computation the user cancelled: it was taken off */
  sortCancelled = $state<string | null>(null);
  readonly sort: TableSort;

  constructor(
    readonly view: DatasetView,
    sort?: TableSort,
  ) {
    this.sort = sort ?? tableSortOf(view);
  }

  /** the columns the table can show, in schema order (the kernels' unsupported ones left out) */
  get fields(): Field[] {
    return this.view.readableFields;
  }

  get where(): string {
    return this.view.where;
  }

  /**
   * the columns and their definitions: a computed column added, removed or redefined changes it, and
   * the rows held are fetched again (in place: not a new view, the window stays where it is)
   */
  readonly columnsKey = $derived(this.fields.map((f) => `${f.name}\u0001${f.expr ?? ''}`).join('\u0000'));

  /** the view the rows are of: the filter and the sort */
  get viewKey(): string {
    return `${this.where}\u0000${this.sort.text}`;
  }

  /**
   * the engine is ordering the rows for the fetch in flight: the first window of a sort (none of
   * its rows here yet), or a far window that needs the whole order (its progress reported)
   */
  get sorting(): boolean {
    if (!this.fetchReq.busy || !this.sort.keys.length) return false;
    return this.sortProgress !== null || this.blocks.key !== this.viewKey || this.blocks.map.size === 0;
  }

  /** rows passing the filters, or null while they are being counted (the first window is on its way) */
  get filteredTotal(): number | null {
    const b = this.blocks;
    return b.key === this.viewKey ? b.total : null;
  }

  /** rows in the view: the dataset's, or those passing the filters (0 while counting) */
  get total(): number {
    return this.where ? (this.filteredTotal ?? 0) : (this.view.overview?.rows ?? 0);
  }

  get counting(): boolean {
    return !!this.where && this.filteredTotal === null;
  }

  get error(): string | null {
    return (this.fetchReq.error ?? this.copyReq.error)?.message ?? null;
  }

  /** row `r` of the view, when its block is here */
  row(r: number): TableRow | undefined {
    const b = this.blocks;
    if (b.key !== this.viewKey || b.cols !== this.columnsKey) return undefined;
    return b.map.get(Math.floor(r / BLOCK))?.[r % BLOCK];
  }

  /**
   * Stops the sort the engine is computing and takes the sort off (the table goes back to the
   * dataset's order; `sortCancelled` says which sort it was).
   */
  cancelSort(): void {
    if (!this.sort.keys.length) return;
    const text = sortLabel(this.sort.keys);
    this.fetchReq.cancel();
    this.sort.clear();
    this.sortCancelled = text;
  }

  /** Rows [top, top + count) are on screen: fetch the blocks missing there (one call). */
  show(top: number, count: number): void {
    const where = this.where, key = this.viewKey, cols = this.columnsKey;
    if (this.blocks.key !== key || this.blocks.cols !== cols) {
      const same = this.blocks.key === key; // only the columns changed: the count stands
      this.fetchReq.reset();
      this.inflight = null;
      this.sortProgress = null;
      if (this.sort.keys.length && !same) this.sortCancelled = null;
      this.blocks = { key, where, cols, map: new Map(), total: same ? this.blocks.total : null };
    }
    const first = Math.max(0, Math.floor(top / BLOCK));
    // a filtered view's size is unknown until its first rows come: ask for the block at the top
    let last = first;
    if (!this.counting) {
      const total = this.total;
      if (total <= 0) return;
      last = Math.floor(Math.min(total - 1, top + count + MARGIN) / BLOCK);
    }
    let lo = -1, hi = -1;
    for (let b = first; b <= last; b++)
      if (!this.blocks.map.has(b)) {
        if (lo < 0) lo = b;
        hi = b;
      }
    if (lo < 0) return;
    const f = this.inflight;
    if (f && f.key === key && f.lo <= lo && f.hi >= hi && this.fetchReq.busy) return;
    void this.fetch(where, lo, hi);
  }

  private async fetch(where: string, lo: number, hi: number): Promise<void> {
    const key = this.viewKey, cols = this.columnsKey, sort = this.sort.param;
    this.inflight = { key, lo, hi };
    this.sortProgress = null;
    const names = this.fields.map((f) => f.name);
    const got = await this.fetchReq.run(async ({ signal, current }) => {
      const r = await this.view.engine.api.rows(
        { dataset: this.view.id, offset: lo * BLOCK, limit: (hi - lo + 1) * BLOCK, columns: names, where: where || undefined, ...(sort ? { sort } : {}) },
        {
          signal,
          // the engine reports the sort's progress while it orders the rows (not a filter's count)
          onProgress: (p) => {
            if (current() && sort && p.detail === 'sorting') this.sortProgress = p.done;
          },
        },
      );
      const t = tableFromIPC(r.ipc);
      const vecs = names.map((n) => t.getChild(n));
      const rows: TableRow[] = [];
      for (let i = 0; i < t.numRows; i++) rows.push({ id: r.rowIds ? r.rowIds[i]! : r.offset + i, values: vecs.map((v) => v?.get(i)) });
      return { first: lo, rows, total: r.total };
    });
    if (this.blocks.key === key) this.sortProgress = null;
    if (!got || this.blocks.key !== key || this.blocks.cols !== cols) return;
    this.inflight = null;
    const map = new Map(this.blocks.map);
    for (let k = 0; k * BLOCK < got.rows.length || k === 0; k++) {
      const b = got.first + k;
      map.delete(b); // re-inserted last: the most recently fetched
      map.set(b, got.rows.slice(k * BLOCK, (k + 1) * BLOCK));
    }
    while (map.size > MAX_BLOCKS) map.delete(map.keys().next().value!);
    this.blocks = { key, where, cols, map, total: where ? got.total : null };
  }

  /** Rows [a, b] of the view (filtered and sorted as shown), the given columns, as TSV with a header line (at most 100,000 rows). */
  async copyRows(a: number, b: number, columns: Field[]): Promise<{ tsv: string; rows: number } | undefined> {
    const where = this.where, sort = this.sort.param;
    return this.copyReq.run(async ({ signal }) => {
      const names = columns.map((c) => c.name);
      const n = Math.min(b - a + 1, 100_000);
      const r = await this.view.engine.api.rows({ dataset: this.view.id, offset: a, limit: n, columns: names, where: where || undefined, ...(sort ? { sort } : {}) }, { signal });
      const t = tableFromIPC(r.ipc);
      const esc = (s: string) => s.replace(/[\t\n\r]/g, ' ');
      const lines = [names.join('\t')];
      for (let i = 0; i < t.numRows; i++) lines.push(columns.map((c, j) => esc(cellText(t.getChildAt(j)?.get(i), c.type))).join('\t'));
      return { tsv: lines.join('\n'), rows: t.numRows };
    });
  }
}

/**
 * Widths (CSS px) that show each column's name, type and the given rows' text in full, between
 * `min` and `max`. `measure(text, kind)` is the text's width in the font of a header name, a
 * header type, a number cell or a text cell.
 */
export function fitColumnWidths(
  fields: Field[],
  rows: readonly TableRow[],
  measure: (text: string, kind: 'name' | 'type' | 'num' | 'text') => number,
  opts: { pad?: number; min?: number; max?: number; sample?: number } = {},
): Record<string, number> {
  const { pad = 18, min = 56, max = 420, sample = 200 } = opts;
  const out: Record<string, number> = {};
  fields.forEach((f, i) => {
    const kind = isNumericType(f.type) ? 'num' : 'text';
    let w = Math.max(measure(f.name, 'name'), measure(f.type, 'type'));
    for (let r = 0; r < Math.min(rows.length, sample); r++) {
      const v = rows[r]!.values[i];
      if (v !== null && v !== undefined) w = Math.max(w, measure(cellText(v, f.type), kind));
    }
    out[f.name] = Math.round(Math.min(max, Math.max(min, w + pad)));
  });
  return out;
}

export const isNumericType = (t: string): boolean => /int|float|decimal/.test(t);

/**
 * What the user typed in "Go to row", as a row number of a view of `total` rows (counted from 1,
 * thousands separators allowed), or the message that says why it is not one.
 */
export function parseRowNumber(text: string, total: number): number | string {
  const t = text.trim();
  const last = total.toLocaleString('en-US');
  const range = total > 0 ? `a whole number from 1 to ${last}` : 'no row: the view is empty';
  if (!t) return `Type a row number: ${range}.`;
  const plain = t.replace(/(?<=\d)[,_\s](?=\d{3}(\D|$))/g, '');
  if (!/^[+-]?\d+$/.test(plain)) return `"${t.length > 30 ? t.slice(0, 30) + '…' : t}" is not a row number: ${range}.`;
  const n = Number(plain);
  if (total <= 0) return 'There are no rows to go to.';
  if (n < 1) return `Rows are numbered from 1: ${range}.`;
  if (n > total) return `There ${total === 1 ? 'is only 1 row' : `are only ${last} rows`}: ${range}.`;
  return n;
}

/**
 * A dataset's column order as the table shows it (columns dragged to another place), kept per
 * `DatasetView` while the window lives, so that the table keeps it across tabs and the Export
 * dialog lists (and writes) the columns in the same order.
 */
export class ColumnOrder {
  names = $state<string[]>([]);
}

const orders = new WeakMap<DatasetView, ColumnOrder>();

export function columnOrderOf(view: DatasetView): ColumnOrder {
  let o = orders.get(view);
  if (!o) orders.set(view, (o = new ColumnOrder()));
  return o;
}

/** `fields` in `order` (names not in `order` follow, in their own order; unknown names are skipped) */
export function orderedFields<F extends { name: string }>(fields: readonly F[], order: readonly string[]): F[] {
  const byName = new Map(fields.map((f) => [f.name, f]));
  const out: F[] = [];
  for (const n of order) {
    const f = byName.get(n);
    if (f) {
      out.push(f);
      byName.delete(n);
    }
  }
  return [...out, ...fields.filter((f) => byName.has(f.name))];
}

/** One key of the table's sort: a column, ascending or descending (nulls last either way). */
export interface SortKey {
  name: string;
  desc: boolean;
}

/**
 * The table's sort of a dataset, kept per `DatasetView` while the window lives (like the column
 * order), so that it survives switching tabs and the Export dialog writes the rows in the order
 * shown. A click on a header sorts by that column alone: ascending, again descending, again off.
 * A shift-click adds the column as the next key, or, when it is a key already, turns it
 * descending and then takes it off, keeping the others. The engine takes it as `rows`' `sort`
 * (`['-fare', 'borough']`: nulls last, NaN the greatest number, ties by row number).
 */
export class TableSort {
  keys = $state<SortKey[]>([]);
  /** told of each change the user makes (the workspace's steps), with the keys before it */
  onchange: ((before: SortKey[]) => void) | null = null;

  /** the engine's `sort` parameter (undefined: the dataset's order) */
  get param(): string[] | undefined {
    return this.keys.length ? this.keys.map((k) => (k.desc ? '-' : '') + k.name) : undefined;
  }

  /** the sort as text, `-fare,borough` ('' when none) */
  get text(): string {
    return this.param?.join(',') ?? '';
  }

  /** a header clicked (`add`: with Shift, the column added as a further key) */
  click(name: string, add = false): void {
    const i = this.keys.findIndex((k) => k.name === name);
    const cur = this.keys[i];
    // none -> ascending -> descending -> none
    const next: SortKey | null = !cur ? { name, desc: false } : !cur.desc ? { name, desc: true } : null;
    const before = this.keys;
    if (!add) this.keys = next ? [next] : [];
    else if (i < 0) this.keys = [...this.keys, next!];
    else this.keys = next ? this.keys.map((k, j) => (j === i ? next : k)) : this.keys.filter((_, j) => j !== i);
    this.onchange?.(before);
  }

  /** the column's place among the keys (1 the first), 0 when it is not one */
  rank(name: string): number {
    return this.keys.findIndex((k) => k.name === name) + 1;
  }

  direction(name: string): 'ascending' | 'descending' | 'none' {
    const k = this.keys.find((x) => x.name === name);
    return !k ? 'none' : k.desc ? 'descending' : 'ascending';
  }

  /** keys on columns no longer in the dataset are dropped (a column's type changed, a schema change) */
  keepOnly(names: readonly string[]): void {
    if (this.keys.some((k) => !names.includes(k.name))) this.keys = this.keys.filter((k) => names.includes(k.name));
  }

  clear(): void {
    if (!this.keys.length) return;
    const before = this.keys;
    this.keys = [];
    this.onchange?.(before);
  }
}

/** The sort as the status line says it: `fare ↓, borough ↑`. */
export function sortLabel(keys: readonly SortKey[]): string {
  return keys.map((k) => `${k.name} ${k.desc ? '↓' : '↑'}`).join(', ');
}

const tableSorts = new WeakMap<DatasetView, TableSort>();

export function tableSortOf(view: DatasetView): TableSort {
  let s = tableSorts.get(view);
  if (!s) {
    tableSorts.set(view, (s = new TableSort()));
    // each sort the user picks is a step of the window's workspace
    const sort = s;
    sort.onchange = (before) => workspace.sortChanged(view, before, sort.keys);
  }
  return s;
}
