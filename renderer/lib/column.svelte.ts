/**
 * One column's detail, as a Svelte 5 rune class: its statistics with a histogram of a chosen
 * number of bins and the top 50 values, and a few distinct example values. They are counted
 * under the dataset's filters less the column's own clauses (as crossfilter UIs count a
 * dimension's groups), so that after "only ORD" the other values are still there to add. Each is
 * one `Request` (a new bin count or filter cancels the call in flight). Also the filters built
 * from the column ("only this value", "add it" to the values picked, "exclude it", a range of
 * bins at the histogram's resolution) as expressions.
 */
import { tableFromIPC } from 'apache-arrow';
import type { ColumnSummaryInfo, SummaryValue } from '../../shared/api';
import type { Expr, Literal } from '../../shared/expr/ast';
import { col, lit } from '../../shared/expr/literal';
import type { DatasetView } from './dataset.svelte';
import { pickExpr, rangeColumn, rangeFilter, sameLiteral } from './filters';
import { Request } from './request.svelte';

export class ColumnStats {
  info = $state.raw<ColumnSummaryInfo | null>(null);
  examples = $state.raw<unknown[]>([]);
  private stats = new Request<ColumnSummaryInfo | null>();
  private sample = new Request<unknown[]>();

  constructor(
    readonly view: DatasetView,
    readonly name: string,
  ) {}

  get error(): string | null {
    return this.stats.error?.message ?? null;
  }

  /** the filter the detail is counted under: the active filters less this column's own clauses */
  get where(): string {
    return this.view.whereWithout(this.name);
  }

  /** statistics with `bins` histogram bins under the current filters (less the column's own) */
  async load(bins: number): Promise<void> {
    const where = this.where || undefined;
    const info = await this.stats.run(async ({ signal }) => {
      const s = await this.view.engine.api.summary({ dataset: this.view.id, columns: [this.name], bins, topk: 50, where }, { signal });
      return s.columns[0] ?? null;
    });
    if (info !== undefined) this.info = info;
  }

  /** up to 12 distinct values, in the order they first come among the first rows that pass the filters */
  async loadExamples(): Promise<void> {
    const where = this.where || undefined;
    const ex = await this.sample.run(async ({ signal }) => {
      const r = await this.view.engine.api.rows({ dataset: this.view.id, offset: 0, limit: 1000, columns: [this.name], where }, { signal });
      const t = tableFromIPC(r.ipc);
      const c = t.getChildAt(0);
      const seen = new Set<string>();
      const out: unknown[] = [];
      for (let i = 0; c && i < t.numRows && out.length < 12; i++) {
        const v = c.get(i);
        const k = typeof v === 'object' && v !== null ? JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x)) : `${typeof v}:${String(v)}`;
        if (seen.has(k)) continue;
        seen.add(k);
        out.push(v);
      }
      return out;
    });
    this.examples = ex ?? (this.sample.error ? [] : this.examples);
  }

  cancel(): void {
    this.stats.cancel();
    this.sample.cancel();
  }

  private literal(v: Exclude<SummaryValue, null>): Literal {
    const type = this.view.overview?.schema.fields.find((f) => f.name === this.name)?.type;
    // date and timestamp statistics travel as ISO text: compare them as times, not strings
    if (typeof v === 'string' && (type === 'date' || type === 'timestamp')) return { kind: 'lit', date: v };
    return lit(v);
  }

  /** rows where the column is `v` */
  only(v: SummaryValue): Expr {
    return v === null ? { kind: 'isnull', col: col(this.name) } : { kind: 'cmp', op: '=', left: col(this.name), right: this.literal(v) };
  }

  /** the values of this column an active chip picks (`c = v`, `c in (…)`), and that chip */
  get picked(): { id: number; values: Literal[] } | null {
    return this.view.picked(this.name);
  }

  isPicked(v: SummaryValue): boolean {
    const p = this.picked;
    return !!p && v !== null && p.values.some((x) => sameLiteral(x, this.literal(v)));
  }

  /**
   * "add": `v` joins the values picked (`c = a` becomes `c in (a, v)`); "remove": it leaves them
   * (the chip goes with the last one). Null cannot join an `in` list (it would compare unknown).
   */
  togglePicked(v: Exclude<SummaryValue, null>): void {
    const p = this.picked;
    if (!p) {
      this.view.addFilter(this.only(v));
      return;
    }
    const l = this.literal(v);
    const values = p.values.some((x) => sameLiteral(x, l)) ? p.values.filter((x) => !sameLiteral(x, l)) : [...p.values, l];
    const e = pickExpr(this.name, values);
    if (e) this.view.replaceFilter(p.id, e);
    else this.view.removeFilter(p.id);
  }

  /** rows where the column is not `v` (nulls are unknown for `!=`, as in SQL: they do not pass) */
  exclude(v: SummaryValue): Expr {
    return v === null ? { kind: 'isnull', col: col(this.name), negated: true } : { kind: 'cmp', op: '!=', left: col(this.name), right: this.literal(v) };
  }

  /**
   * Rows in the histogram bins lo..hi (inclusive), with bounds at the histogram's resolution
   * (`pixels` across it): integers for an integer column (exactly the integers in those bins),
   * dates and timestamps as ISO literals. The last bin is closed, so a range reaching it
   * includes the maximum.
   */
  binRange(lo: number, hi: number, pixels = 560): Expr | null {
    const h = this.info?.histogram;
    if (!h) return null;
    const w = (h.hi - h.lo) / h.counts.length;
    const x0 = h.lo + lo * w;
    const last = hi === h.counts.length - 1;
    const x1 = last ? h.hi : h.lo + (hi + 1) * w;
    const c = rangeColumn(this.view.overview?.schema.fields, this.name, this.info?.msPerUnit);
    return rangeFilter(c, x0, x1, (h.hi - h.lo) / pixels, last);
  }
}
