/**
 * One column's detail, as a Svelte 5 rune class: its statistics with a histogram of a chosen
 * number of bins and the top 50 values, and a few example values, all under the dataset's
 * filters. Each is one `Request` (a new bin count or filter cancels the call in flight). Also
 * the filters built from the column ("only this value", "exclude it", a range of bins) as
 * expressions.
 */
import { tableFromIPC } from 'apache-arrow';
import type { ColumnSummaryInfo, SummaryValue } from '../../shared/api';
import type { Expr, Literal } from '../../shared/expr/ast';
import { col, lit } from '../../shared/expr/literal';
import type { DatasetView } from './dataset.svelte';
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

  /** statistics with `bins` histogram bins under the current filters */
  async load(bins: number): Promise<void> {
    const where = this.view.where || undefined;
    const info = await this.stats.run(async ({ signal }) => {
      const s = await this.view.engine.api.summary({ dataset: this.view.id, columns: [this.name], bins, topk: 50, where }, { signal });
      return s.columns[0] ?? null;
    });
    if (info !== undefined) this.info = info;
  }

  /** the first values that pass the filters */
  async loadExamples(): Promise<void> {
    const where = this.view.where || undefined;
    const ex = await this.sample.run(async ({ signal }) => {
      const r = await this.view.engine.api.rows({ dataset: this.view.id, offset: 0, limit: 12, columns: [this.name], where }, { signal });
      const t = tableFromIPC(r.ipc);
      const c = t.getChildAt(0);
      return c ? Array.from({ length: t.numRows }, (_, i) => c.get(i)) : [];
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

  /** rows where the column is not `v` (nulls are unknown for `!=`, as in SQL: they do not pass) */
  exclude(v: SummaryValue): Expr {
    return v === null ? { kind: 'isnull', col: col(this.name), negated: true } : { kind: 'cmp', op: '!=', left: col(this.name), right: this.literal(v) };
  }

  /** rows in the histogram bins lo..hi (inclusive); the last bin is closed, so a range reaching it includes the maximum */
  binRange(lo: number, hi: number): Expr | null {
    const h = this.info?.histogram;
    if (!h) return null;
    const w = (h.hi - h.lo) / h.counts.length;
    const x0 = h.lo + lo * w;
    const x1 = hi === h.counts.length - 1 ? h.hi + Math.max(Math.abs(h.hi) * 1e-9, 1e-300) : h.lo + (hi + 1) * w;
    // 12 significant digits: readable, and still far finer than any bin edge
    const r = (x: number) => Number(x.toPrecision(12));
    return { kind: 'range', col: col(this.name), lo: r(x0), hi: r(x1) > r(x0) ? r(x1) : x1 };
  }
}
