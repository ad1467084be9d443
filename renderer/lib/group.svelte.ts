/**
 * The Group view's state, as a Svelte 5 rune class: the key columns (1–3) and measures the user
 * picks, the sort and the limit, and the engine's answer (`groupBy`, under the dataset's current
 * filter; on PostgreSQL/ClickHouse datasets the engine pushes it down as one GROUP BY). Sorting
 * asks the engine again with `sort` (its order: nulls last, NaN above numbers), so a limited result
 * is the true top N, not a re-sort of the rows held. A group (a result row) becomes filters
 * `key = value` / `key is null` on the dataset (drill-down). Engine errors (an unknown column, text
 * summed, more groups than memory holds) are kept as values in `error`, never thrown. One state per
 * open dataset (`groupOf`), so the choices survive switching tabs. "Open as dataset" asks the engine
 * to save every group (not only the limit shown) as a catalogued dataset (`groupBy`'s `save`).
 * "Pivot by" turns one more column's values into columns (`groupBy`'s `pivot`): a row per
 * combination of the keys, a column per value and measure.
 */
import { tableFromIPC } from 'apache-arrow';
import type { GroupByResult } from '../../shared/api';
import type { Field } from '../../shared/datashape';
import type { Expr } from '../../shared/expr/ast';
import { col, lit } from '../../shared/expr/literal';
import type { DatasetView } from './dataset.svelte';
import { Request } from './request.svelte';
import { workspace } from './workspace.svelte';

/** the functions offered, as the measure text writes them (main/engine/measures.ts parses them) */
export const GROUP_FNS = ['count', 'sum', 'mean', 'min', 'max', 'std', 'distinct', 'median', 'p90', 'p99'] as const;
export type GroupFn = (typeof GROUP_FNS)[number];

export interface MeasureChoice {
  fn: GroupFn;
  /** null: count() — the group's rows */
  column: string | null;
}

export const MAX_KEYS = 3;
export const LIMITS = [100, 1000, 10000] as const;

const NUMERIC = /^(u?int(8|16|32|64)|float(16|32|64)|bool|decimal.*)$/;
const TIME = /^(date|timestamp|time)/;

/** the columns a function applies to: count and distinct any; min and max numbers and times; the rest numbers */
export function columnsFor(fn: GroupFn, fields: readonly Field[]): Field[] {
  if (fn === 'count' || fn === 'distinct') return fields.slice();
  if (fn === 'min' || fn === 'max') return fields.filter((f) => NUMERIC.test(f.type) || TIME.test(f.type));
  return fields.filter((f) => NUMERIC.test(f.type));
}

/** a column name as the measure text takes it (quoted unless a plain identifier) */
function quoteName(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

/** the measures as the engine's `agg` text, e.g. `count(), mean(fare)` */
export function aggText(measures: readonly MeasureChoice[]): string {
  return measures.map((m) => `${m.fn}(${m.column === null ? '' : quoteName(m.column)})`).join(', ');
}

export interface GroupRows {
  /** groups found under the filter (before the limit) */
  groups: number;
  /** the result's columns: keys, then measures */
  fields: Field[];
  keys: number;
  /** one array of cell values per group, in `fields` order */
  rows: unknown[][];
  /**
   * per key: the exact values of a timestamp key finer than ms (us, ns), as integers of its unit
   * (Arrow JS gives them as float ms, which cannot say every microsecond); null for other keys
   */
  exact: ((bigint | null)[] | null)[];
  /** what it was asked with */
  where: string;
  limit: number;
  /** the key whose values are columns (null: none) */
  pivot: string | null;
}

export class GroupState {
  keys = $state<string[]>([]);
  measures = $state<MeasureChoice[]>([{ fn: 'count', column: null }]);
  /** a result column and direction; null: the engine's default (keys ascending) */
  sort = $state<{ name: string; desc: boolean } | null>(null);
  limit = $state<number>(1000);
  /** a column whose values become columns (a pivot: `v_m`, or `v` with one measure); null: none */
  pivot = $state<string | null>(null);
  /** the measure the bar chart shows (a result column name; null: the first measure) */
  chartMeasure = $state<string | null>(null);
  result = $state.raw<GroupRows | null>(null);
  private req = new Request<GroupByResult>();
  private saveReq = new Request<GroupByResult>();
  /** the query the result (or the run in flight) answers */
  private asked = '';

  constructor(readonly view: DatasetView) {}

  get fields(): Field[] {
    return this.view.readableFields;
  }

  get busy(): boolean {
    return this.req.busy;
  }

  /** the engine's error, or why nothing can be asked yet */
  get error(): string | null {
    return this.req.error?.message ?? null;
  }

  /** the latest run was cancelled (by the user, or the view was closed) */
  get cancelled(): boolean {
    return this.req.cancelled;
  }

  /** stops the group-by in flight (the engine stops working on it); asking again is allowed */
  cancel(): void {
    this.req.cancel();
  }

  /** the groups are being saved as a dataset */
  get saving(): boolean {
    return this.saveReq.busy;
  }

  get saveError(): string | null {
    return this.saveReq.error?.message ?? null;
  }

  cancelSave(): void {
    this.saveReq.cancel();
  }

  /**
   * Every group of the current choices (in the table's order, whatever the limit), under the
   * dataset's filter, saved by the engine as a dataset in the catalog (named `name`, or after the
   * dataset and keys: `trips by borough`); its catalog entry, or undefined (failed or cancelled:
   * `saveError`).
   */
  async saveAsDataset(name?: string): Promise<{ id: string; name: string; rows: number } | undefined> {
    if (this.incomplete || !this.view.overview) return undefined;
    const by = this.keys.slice(), where = this.view.where, sort = this.sortParam, agg = this.agg, pivot = this.pivot;
    const r = await this.saveReq.run(({ signal }) =>
      // (limit 1: the groups themselves go to the file, not over the wire)
      this.view.engine.api.groupBy({ dataset: this.view.id, by, agg, ...(where ? { where } : {}), ...(sort ? { sort } : {}), limit: 1, save: name ? { name } : {}, ...(pivot ? { pivot } : {}) }, { signal }),
    );
    // a step of the window's workspace: the groups as a dataset of their own
    if (r?.saved) workspace.grouped(this.view, { by, agg, where, sort, pivot }, r.saved);
    return r?.saved;
  }

  /** what is missing before the engine can be asked (null: ready) */
  get incomplete(): string | null {
    if (!this.keys.length) return 'Pick a key column to group by.';
    if (!this.measures.length) return 'Add a measure.';
    const m = this.measures.find((x) => x.column === null && x.fn !== 'count');
    if (m) return `Pick a column for ${m.fn}.`;
    return null;
  }

  get agg(): string {
    return aggText(this.measures);
  }

  /** the `sort` the engine is asked with: the chosen column, then the keys (a stable order under the limit) */
  get sortParam(): string[] | undefined {
    const s = this.sort;
    if (!s) return undefined;
    return [`${s.desc ? '-' : ''}${s.name}`, ...this.keys.filter((k) => k !== s.name)];
  }

  private query(): string {
    return JSON.stringify([this.view.id, this.keys, this.agg, this.view.where, this.sortParam ?? null, this.limit, this.pivot]);
  }

  /** asks the engine unless the result (or the run in flight) already answers the current choices */
  async refresh(force = false): Promise<void> {
    if (this.incomplete || !this.view.overview) return;
    const q = this.query();
    if (!force && q === this.asked) return;
    this.asked = q;
    const by = this.keys.slice(), where = this.view.where, limit = this.limit, sort = this.sortParam, pivot = this.pivot;
    const r = await this.req.run(({ signal }) =>
      this.view.engine.api.groupBy({ dataset: this.view.id, by, agg: this.agg, ...(where ? { where } : {}), ...(sort ? { sort } : {}), limit, ...(pivot ? { pivot } : {}) }, { signal }),
    );
    if (!r) {
      // failed or cancelled: asking the same again is allowed
      if (this.asked === q && !this.req.busy) this.asked = '';
      return;
    }
    const t = tableFromIPC(r.ipc);
    const cols = r.schema.map((f) => t.getChild(f.name));
    const rows: unknown[][] = [];
    for (let i = 0; i < t.numRows; i++) rows.push(cols.map((c) => c?.get(i) ?? null));
    const exact = r.schema.slice(0, by.length).map((f) => (f.type === 'timestamp' && (f.unit === 'us' || f.unit === 'ns') ? exactInts(t.getChild(f.name)) : null));
    this.result = { groups: r.groups, fields: r.schema, keys: by.length, rows, exact, where, limit, pivot };
    if (this.chartMeasure && !r.schema.slice(by.length).some((f) => f.name === this.chartMeasure)) this.chartMeasure = null;
  }

  setKey(i: number, name: string | null): void {
    const next = this.keys.slice();
    if (name === null || name === '') next.splice(i, 1);
    else if (i < next.length) next[i] = name;
    else next.push(name);
    this.keys = [...new Set(next)].slice(0, MAX_KEYS);
    if (this.pivot !== null && this.keys.includes(this.pivot)) this.pivot = null;
    if (this.sort && !this.resultNames().includes(this.sort.name)) this.sort = null;
  }

  /** the pivot key (a column not among the keys; null: no pivot); a sort on a former pivot column goes */
  setPivot(name: string | null): void {
    this.pivot = name && !this.keys.includes(name) ? name : null;
    if (this.sort && !this.keys.includes(this.sort.name)) this.sort = null;
  }

  /** a new measure: `fn`, by default a mean when the dataset has a numeric column (else a count) */
  addMeasure(fn?: GroupFn): void {
    fn ??= columnsFor('mean', this.fields).length ? 'mean' : 'count';
    const cols = columnsFor(fn, this.fields);
    this.measures = [...this.measures, { fn, column: fn === 'count' ? null : (cols[0]?.name ?? null) }];
  }

  /** a new function keeps the column when it applies, else takes the first that does */
  setMeasureFn(i: number, fn: GroupFn): void {
    const m = this.measures[i];
    if (!m) return;
    const cols = columnsFor(fn, this.fields);
    const column = fn === 'count' ? m.column : m.column !== null && cols.some((f) => f.name === m.column) ? m.column : (cols[0]?.name ?? null);
    this.measures = this.measures.map((x, j) => (j === i ? { fn, column } : x));
    this.dropStaleSort();
  }

  setMeasureColumn(i: number, column: string | null): void {
    this.measures = this.measures.map((x, j) => (j === i ? { ...x, column } : x));
    this.dropStaleSort();
  }

  removeMeasure(i: number): void {
    this.measures = this.measures.filter((_, j) => j !== i);
    this.dropStaleSort();
  }

  /** a header clicked: that column, keys ascending first and measures descending first; again: the other way */
  toggleSort(name: string): void {
    const s = this.sort;
    if (s && s.name === name) this.sort = { name, desc: !s.desc };
    else this.sort = { name, desc: !this.keys.includes(name) };
  }

  /** the direction a result column is sorted in ('none' when it is not the sort column) */
  sortOf(name: string): 'ascending' | 'descending' | 'none' {
    const s = this.sort ?? (this.keys[0] !== undefined ? { name: this.keys[0], desc: false } : null);
    return s && s.name === name ? (s.desc ? 'descending' : 'ascending') : 'none';
  }

  /** the filters that select group `i`'s rows: `key = value` for each key, `key is null` for a null key */
  drillFilters(i: number): Expr[] {
    const res = this.result;
    const row = res?.rows[i];
    if (!res || !row) return [];
    return res.fields.slice(0, res.keys).map((f, k) => {
      const v = row[k];
      if (v === null || v === undefined) return { kind: 'isnull', col: col(f.name) };
      const x = res.exact[k]?.[i];
      if (x !== undefined && x !== null) return { kind: 'cmp', op: '=', left: col(f.name), right: { kind: 'lit', date: isoOf(x, f.unit === 'ns' ? 9 : 6) } };
      let value: Parameters<typeof lit>[0];
      if (typeof v === 'number' && (f.type === 'date' || f.type.startsWith('timestamp'))) value = new Date(v);
      else if (v instanceof Date || typeof v === 'bigint' || typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') value = v;
      else value = String(v);
      return { kind: 'cmp', op: '=', left: col(f.name), right: lit(value) };
    });
  }

  /** group `i`'s rows: its key filters added to the dataset's filter bar */
  drill(i: number): boolean {
    const fs = this.drillFilters(i);
    for (const f of fs) this.view.addFilter(f);
    return fs.length > 0;
  }

  private resultNames(): string[] {
    // the names the engine gives measures (measures.ts): count, mean_fare, p99_fare, median_fare…
    const used = new Set<string>();
    const names = this.measures.map((m) => {
      const base = m.column === null ? 'count' : `${m.fn}_${m.column}`;
      let n = base;
      for (let i = 2; used.has(n); i++) n = `${base}_${i}`;
      used.add(n);
      return n;
    });
    return [...this.keys, ...names];
  }

  private dropStaleSort(): void {
    // a pivot's columns are named after its values: a sort on one goes when the measures change
    if (this.pivot !== null && this.sort && !this.keys.includes(this.sort.name)) this.sort = null;
    if (this.sort && !this.resultNames().includes(this.sort.name)) this.sort = null;
  }
}

/** a column's values as the integers stored (a timestamp in its unit), nulls as null */
function exactInts(v: { data: readonly { values: unknown; offset: number; length: number; getValid(i: number): boolean }[] } | null): (bigint | null)[] | null {
  if (!v) return null;
  const out: (bigint | null)[] = [];
  for (const d of v.data) {
    if (!(d.values instanceof BigInt64Array)) return null;
    for (let i = 0; i < d.length; i++) out.push(d.getValid(i) ? d.values[d.offset + i]! : null);
  }
  return out;
}

/** integer time `x` with `digits` fraction digits (6: us, 9: ns) as ISO text in UTC, every digit kept */
export function isoOf(x: bigint, digits: number): string {
  const per = 10n ** BigInt(digits);
  let s = x / per, f = x % per;
  if (f < 0n) {
    f += per;
    s -= 1n;
  }
  const base = new Date(Number(s) * 1000).toISOString().slice(0, 19);
  return `${base}.${f.toString().padStart(digits, '0')}Z`;
}

const states = new WeakMap<DatasetView, GroupState>();

/** the Group view's state of an open dataset (kept while the dataset is open) */
export function groupOf(view: DatasetView): GroupState {
  let s = states.get(view);
  if (!s) states.set(view, (s = new GroupState(view)));
  return s;
}
