/**
 * The table's window onto a dataset's rows, as a Svelte 5 rune class. Rows come in blocks of
 * `BLOCK`, fetched for the rows on screen (plus a margin) in one engine call, the previous call
 * cancelled when the window moves on (the `Request` helper); at most `MAX_BLOCKS` are kept (least
 * recently fetched go first). With filters the window is onto the filtered view, whose size is
 * known once its first rows arrive; a new filter starts the window over. Also: copying a range
 * of rows as TSV, and fitting each column's width to its text.
 */
import { tableFromIPC } from 'apache-arrow';
import type { Field } from '../../shared/datashape';
import type { DatasetView } from './dataset.svelte';
import { cellText } from './format';
import { Request } from './request.svelte';

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
  /** the filter the rows were fetched with */
  where: string;
  map: Map<number, TableRow[]>;
  /** rows passing the filter (null until the first answer; the dataset's rows without a filter) */
  total: number | null;
}

interface Fetched {
  first: number;
  rows: TableRow[];
  total: number;
}

export class TableWindow {
  private blocks = $state.raw<Blocks>({ where: '', map: new Map(), total: null });
  private fetchReq = new Request<Fetched>();
  private copyReq = new Request<{ tsv: string; rows: number }>();
  /** the block range of the fetch in flight */
  private inflight: { where: string; lo: number; hi: number } | null = null;

  constructor(readonly view: DatasetView) {}

  /** the columns the table can show, in schema order (the kernels' unsupported ones left out) */
  get fields(): Field[] {
    return this.view.readableFields;
  }

  get where(): string {
    return this.view.where;
  }

  /** rows passing the filters, or null while they are being counted (the first window is on its way) */
  get filteredTotal(): number | null {
    const b = this.blocks;
    return b.where === this.where ? b.total : null;
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
    if (b.where !== this.where) return undefined;
    return b.map.get(Math.floor(r / BLOCK))?.[r % BLOCK];
  }

  /** Rows [top, top + count) are on screen: fetch the blocks missing there (one call). */
  show(top: number, count: number): void {
    const where = this.where;
    if (this.blocks.where !== where) {
      this.fetchReq.reset();
      this.inflight = null;
      this.blocks = { where, map: new Map(), total: null };
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
    if (f && f.where === where && f.lo <= lo && f.hi >= hi && this.fetchReq.busy) return;
    void this.fetch(where, lo, hi);
  }

  private async fetch(where: string, lo: number, hi: number): Promise<void> {
    this.inflight = { where, lo, hi };
    const names = this.fields.map((f) => f.name);
    const got = await this.fetchReq.run(async ({ signal }) => {
      const r = await this.view.engine.api.rows(
        { dataset: this.view.id, offset: lo * BLOCK, limit: (hi - lo + 1) * BLOCK, columns: names, where: where || undefined },
        { signal },
      );
      const t = tableFromIPC(r.ipc);
      const vecs = names.map((n) => t.getChild(n));
      const rows: TableRow[] = [];
      for (let i = 0; i < t.numRows; i++) rows.push({ id: r.rowIds ? r.rowIds[i]! : r.offset + i, values: vecs.map((v) => v?.get(i)) });
      return { first: lo, rows, total: r.total };
    });
    if (!got || this.blocks.where !== where) return;
    this.inflight = null;
    const map = new Map(this.blocks.map);
    for (let k = 0; k * BLOCK < got.rows.length || k === 0; k++) {
      const b = got.first + k;
      map.delete(b); // re-inserted last: the most recently fetched
      map.set(b, got.rows.slice(k * BLOCK, (k + 1) * BLOCK));
    }
    while (map.size > MAX_BLOCKS) map.delete(map.keys().next().value!);
    this.blocks = { where, map, total: where ? got.total : null };
  }

  /** Rows [a, b] of the view, the given columns, as TSV with a header line (at most 100,000 rows). */
  async copyRows(a: number, b: number, columns: Field[]): Promise<{ tsv: string; rows: number } | undefined> {
    const where = this.where;
    return this.copyReq.run(async ({ signal }) => {
      const names = columns.map((c) => c.name);
      const n = Math.min(b - a + 1, 100_000);
      const r = await this.view.engine.api.rows({ dataset: this.view.id, offset: a, limit: n, columns: names, where: where || undefined }, { signal });
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
