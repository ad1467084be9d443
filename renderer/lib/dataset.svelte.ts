/**
 * One open dataset in the window, as a Svelte 5 rune class: its overview, the summary streamed
 * column by column as the engine finishes each, the active filters and the filtered row count.
 * Filters are held as expressions (shared/expr's AST): a chip keeps the expression's canonical
 * text (what its editor starts from and what parses back) and shows a shorter reading of it
 * (lib/filters.ts); a chip can be switched off without losing it, edited and removed. `where` is
 * the conjunction of the chips that are on, in canonical text, as the engine's calls take it;
 * `whereWithout(column)` leaves out the clauses on that column alone (its facets). Large data (summaries) lives in `$state.raw`; every engine call goes through a
 * `Request` (a new summary cancels the stale one).
 *
 * A chip may be linked across datasets (issue 18, lib/linked.svelte.ts): it carries its link, and
 * switching, editing or removing it goes through the link to every dataset holding it. A dataset
 * not shown only takes its new chips (its pane's load summarises when it is shown again).
 */
import type { ColumnSummaryInfo, DatasetOverview, DatasetSummary } from '../../shared/api';
import type { Field } from '../../shared/datashape';
import type { Expr, Literal } from '../../shared/expr/ast';
import { andAll } from '../../shared/expr/bind';
import { formatExpr } from '../../shared/expr/format';
import { clausesOf, pickedValues, withoutColumn } from './filters';
import { hasCode } from '../../shared/errors';
import type { EngineConnection } from './engine.svelte';
import { Request } from './request.svelte';
import { parseExpr } from '../../shared/expr/parse';
import { workspace } from './workspace.svelte';
import { linked, type ChipLink } from './linked.svelte';

export interface FilterChip {
  id: number;
  expr: Expr;
  /** the expression's canonical text (shared/expr/format.ts) */
  text: string;
  /** off: kept in the bar, not filtering */
  enabled: boolean;
  /** linked across the open datasets that have its columns (lib/linked.svelte.ts) */
  link?: ChipLink;
}

export class DatasetView {
  overview = $state.raw<DatasetOverview | null>(null);
  /** streamed: entries fill in as the engine finishes each column */
  columns = $state.raw<(ColumnSummaryInfo | null)[]>([]);
  summary = $state.raw<DatasetSummary | null>(null);
  progress = $state(0);
  filters = $state.raw<FilterChip[]>([]);
  filteredRows = $state<number | null>(null);
  /** set instead of re-running a summary that crashed the engine twice with this filter */
  private crashNote = $state<string | null>(null);
  private nextChip = 1;
  /**
   * How often the engine died while summarising with a given filter: re-run once by itself after a
   * restart (the engine may have died of something else), then only when the user asks (no crash loop).
   */
  private crashes = new Map<string, number>();
  private overviewReq = new Request<DatasetOverview>();
  private summaryReq = new Request<DatasetSummary>();
  /** shown in a pane (loaded, not cancelled since): a change of the chips summarises again at once */
  private shown = false;

  constructor(
    readonly engine: EngineConnection,
    readonly id: string,
  ) {
    linked.register(this);
  }

  /** the columns the kernels can read (the overview's unsupported ones left out), in schema order */
  get readableFields(): Field[] {
    const ov = this.overview;
    return ov ? ov.schema.fields.filter((f) => !ov.unsupported.some((u) => u.name === f.name)) : [];
  }

  /** the chips that are on */
  get activeFilters(): FilterChip[] {
    return this.filters.filter((f) => f.enabled);
  }

  /** the active filters as one expression (null: no filter) */
  get filter(): Expr | null {
    const on = this.activeFilters;
    return on.length ? andAll(on.map((f) => f.expr)) : null;
  }

  /**
   * The active filters without the clauses on `column` alone, as `where` text: a column's facets
   * (top values) are counted this way, so that after "only ORD" the other values stay in view.
   */
  whereWithout(column: string): string {
    const e = withoutColumn(this.activeFilters.map((f) => f.expr), column);
    return e ? formatExpr(e) : '';
  }

  /** the chip that picks values of `column` (`c = v` or `c in (…)`, on), and those values */
  picked(column: string): { id: number; values: Literal[] } | null {
    for (const f of this.activeFilters) {
      const cs = clausesOf(f.expr);
      const v = cs.length === 1 ? pickedValues(cs[0]!, column) : null;
      if (v) return { id: f.id, values: v };
    }
    return null;
  }

  /** the active filters as the engine's `where` text ('' when none) */
  get where(): string {
    const f = this.filter;
    return f ? formatExpr(f) : '';
  }

  get error(): string | null {
    return this.overviewReq.error?.message ?? null;
  }

  get summarizing(): boolean {
    return this.summaryReq.busy;
  }

  get summaryError(): string | null {
    if (this.crashNote) return this.crashNote;
    if (this.summaryReq.cancelled) return 'Summary cancelled.';
    return this.summaryReq.error?.message ?? null;
  }

  async load(): Promise<void> {
    const ov = await this.overviewReq.run(({ signal }) => this.engine.api.overview({ dataset: this.id }, { signal }));
    if (!ov) return;
    this.overview = ov;
    this.shown = true;
    // the linked filters of the other open datasets that fit this one (before its summary, which takes them)
    linked.adopt(this);
    const where = this.where;
    if ((this.crashes.get(where) ?? 0) >= 2) {
      this.summaryReq.reset();
      this.crashNote = `The engine stopped while summarising${where ? ` with the filter ${where}` : ''}; it was restarted. Retry, or change the filter.`;
      return;
    }
    await this.runSummary();
  }

  /** stop what is loading (the pane is closed) */
  cancel(): void {
    this.shown = false;
    this.overviewReq.cancel();
    this.summaryReq.cancel();
  }

  cancelSummary(): void {
    this.summaryReq.cancel();
  }

  async runSummary(): Promise<void> {
    const ov = this.overview;
    if (!ov) return;
    const names = ov.schema.fields.map((f) => f.name);
    this.columns = names.map(() => null);
    this.summary = null;
    this.progress = 0;
    this.crashNote = null;
    const where = this.where || undefined;
    const s = await this.summaryReq.run(({ signal, current }) =>
      this.engine.api.summary(
        { dataset: this.id, where },
        {
          signal,
          onProgress: (p) => {
            if (!current()) return;
            this.progress = p.done;
            const c = (p.detail as { column?: ColumnSummaryInfo } | undefined)?.column;
            if (c) {
              const i = names.indexOf(c.name);
              if (i >= 0) {
                const next = this.columns.slice();
                next[i] = c;
                this.columns = next;
              }
              if (where && this.filteredRows === null && !c.skipped) this.filteredRows = c.rows;
            }
          },
        },
      ),
    );
    if (s) {
      this.summary = s;
      this.columns = s.columns;
      this.filteredRows = s.filteredRows ?? null;
      this.progress = 1;
    } else if (hasCode(this.summaryReq.error, 'E_ENGINE_DIED') || hasCode(this.summaryReq.error, 'E_ENGINE_HUNG')) {
      this.crashes.set(where ?? '', (this.crashes.get(where ?? '') ?? 0) + 1);
    }
  }

  /** the user asks again: forget past crashes */
  retrySummary(): void {
    this.crashes.delete(this.where);
    void this.runSummary();
  }

  /**
   * Defines the computed column `name` as `expr` (null: removes it) in the engine, which keeps it in
   * the catalog; the overview and summary follow. Throws what the engine refuses (its position).
   */
  async defineColumn(name: string, expr: string | null): Promise<void> {
    const before = this.overview?.schema.fields.find((f) => f.name === name)?.expr ?? null;
    const ov = await this.engine.api.defineColumn({ dataset: this.id, name, expr });
    this.overview = ov;
    workspace.columnChanged(this, name, before, ov.schema.fields.find((f) => f.name === name)?.expr ?? null);
    this.columns = ov.schema.fields.map(() => null);
    void this.runSummary();
  }

  /** adds a filter (an expression equal to one in the bar is not added twice; one switched off is switched on) */
  addFilter(expr: Expr): void {
    const text = formatExpr(expr);
    const same = this.filters.find((f) => f.text === text);
    if (same) {
      if (!same.enabled) this.setEnabled(same.id, true);
      return;
    }
    this.setFilters([...this.filters, { id: this.nextChip++, expr, text, enabled: true }]);
  }

  /** the chip's expression replaced (edited); an expression already in another chip just drops this one */
  replaceFilter(id: number, expr: Expr): void {
    const text = formatExpr(expr);
    const old = this.filters.find((f) => f.id === id);
    if (!old || (old.text === text && old.enabled)) return;
    if (old.link) return linked.replace(this, old.link, expr);
    if (this.filters.some((f) => f.id !== id && f.text === text)) {
      this.removeFilter(id);
      return;
    }
    this.setFilters(this.filters.map((f) => (f.id === id ? { id, expr, text, enabled: true } : f)));
  }

  /** switch a chip off (kept, not filtering) or on again */
  setEnabled(id: number, enabled: boolean): void {
    const f = this.filters.find((x) => x.id === id);
    if (!f || f.enabled === enabled) return;
    if (f.link) return linked.setEnabled(f.link, enabled);
    this.setFilters(this.filters.map((x) => (x.id === id ? { ...x, enabled } : x)));
  }

  removeFilter(id: number): void {
    const f = this.filters.find((x) => x.id === id);
    if (!f) return;
    if (f.link) return linked.remove(f.link);
    const rest = this.filters.filter((x) => x.id !== id);
    // removing a chip that was off changes no rows: nothing to recount
    if (!f.enabled) {
      workspace.filtersChanged(this, this.filters.map(chipState), rest.map(chipState));
      this.filters = rest;
    } else this.setFilters(rest);
  }

  clearFilters(): void {
    if (this.filters.length) this.setFilters([]);
  }

  /** the chips set to these (each its expression's text, its link; the workspace's undo, redo and restore) */
  restoreFilters(chips: readonly { text: string; enabled: boolean; link?: { id: string; from: string; name?: string } }[]): void {
    this.setFilters(chips.map((c) => {
      const expr = parseExpr(c.text);
      const link = c.link ? { link: { id: c.link.id, from: c.link.from, name: c.link.name ?? c.link.from } } : {};
      return { id: this.nextChip++, expr, text: formatExpr(expr), enabled: c.enabled, ...link };
    }));
  }

  // ── the link's side (lib/linked.svelte.ts calls these; the chip's own switch, edit and × go through the link) ──

  /** the chip linked by `id` */
  linkedChip(id: string): FilterChip | undefined {
    return this.filters.find((f) => f.link?.id === id);
  }

  /**
   * The linked chip set to `expr` (on or off), added when this dataset has none; an unlinked chip
   * with the same expression takes the link instead of a second chip. `summarise` false: the
   * caller summarises (a dataset's load).
   */
  putLinked(link: ChipLink, expr: Expr, enabled: boolean, summarise = true): void {
    const text = formatExpr(expr);
    const mine = this.linkedChip(link.id);
    const same = this.filters.find((f) => f.text === text && f !== mine);
    if (mine && !same && mine.text === text && mine.enabled === enabled && mine.link!.from === link.from) return;
    let next: FilterChip[];
    if (same) {
      // one chip per expression: the one already there joins the link
      next = this.filters.filter((f) => f !== mine).map((f) => (f === same ? { ...f, enabled, link: { ...link } } : f));
    } else if (mine) {
      next = this.filters.map((f) => (f === mine ? { id: f.id, expr, text, enabled, link: { ...link } } : f));
    } else next = [...this.filters, { id: this.nextChip++, expr, text, enabled, link: { ...link } }];
    this.setFilters(next, summarise);
  }

  /** the linked chip removed; `keep`: kept here, unlinked (unlinking where it was made) */
  dropLinked(id: string, keep = false): void {
    const mine = this.linkedChip(id);
    if (!mine) return;
    if (keep) {
      const { link: _link, ...plain } = mine;
      // (its rows do not change: no summary)
      const next = this.filters.map((f) => (f === mine ? plain : f));
      workspace.filtersChanged(this, this.filters.map(chipState), next.map(chipState));
      this.filters = next;
    } else if (!mine.enabled) {
      const rest = this.filters.filter((f) => f !== mine);
      workspace.filtersChanged(this, this.filters.map(chipState), rest.map(chipState));
      this.filters = rest;
    } else this.setFilters(this.filters.filter((f) => f !== mine));
  }

  /** a chip of this dataset linked as `link` (the Link control: linked.link does the rest) */
  markLinked(chipId: number, link: ChipLink): void {
    const next = this.filters.map((f) => (f.id === chipId ? { ...f, link: { ...link } } : f));
    workspace.filtersChanged(this, this.filters.map(chipState), next.map(chipState));
    this.filters = next;
  }

  private setFilters(next: FilterChip[], summarise = true): void {
    const before = this.filters;
    this.filters = next;
    // one step of the window's workspace per change of the chips
    workspace.filtersChanged(this, before.map(chipState), next.map(chipState));
    this.filteredRows = null;
    // (a dataset not shown is summarised when its pane loads it)
    if (summarise && this.shown) void this.runSummary();
  }
}

const chipState = (f: FilterChip) => ({ text: f.text, enabled: f.enabled, ...(f.link ? { link: { ...f.link } } : {}) });
