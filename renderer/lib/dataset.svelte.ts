/**
 * One open dataset in the window, as a Svelte 5 rune class: its overview, the summary streamed
 * column by column as the engine finishes each, the active filters (chips) and the filtered row
 * count. Large data (summaries, row windows) lives in `$state.raw`. Every new request cancels the
 * stale one.
 */
import type { ColumnSummaryInfo, DatasetOverview, DatasetSummary } from '../../shared/api';
import type { EngineConnection } from './engine.svelte';

export interface FilterChip {
  id: number;
  text: string;
}

export class DatasetView {
  overview = $state.raw<DatasetOverview | null>(null);
  error = $state<string | null>(null);
  /** streamed: entries fill in as the engine finishes each column */
  columns = $state.raw<(ColumnSummaryInfo | null)[]>([]);
  summary = $state.raw<DatasetSummary | null>(null);
  progress = $state(0);
  summarizing = $state(false);
  summaryError = $state<string | null>(null);
  filters = $state<FilterChip[]>([]);
  filteredRows = $state<number | null>(null);
  private nextChip = 1;
  /**
   * How often the engine died while summarising with a given filter: re-run once by itself after a
   * restart (the engine may have died of something else), then only when the user asks (no crash loop).
   */
  private crashes = new Map<string, number>();
  private summaryAbort: AbortController | null = null;

  constructor(
    readonly engine: EngineConnection,
    readonly id: string,
  ) {}

  get where(): string {
    return this.filters.map((f) => (this.filters.length > 1 ? `(${f.text})` : f.text)).join(' and ');
  }

  async load(): Promise<void> {
    this.error = null;
    try {
      this.overview = await this.engine.api.overview({ dataset: this.id });
      this.error = null;
      if ((this.crashes.get(this.where) ?? 0) >= 2) {
        this.summarizing = false;
        this.summaryError = `The engine stopped while summarising${this.where ? ` with the filter ${this.where}` : ''}; it was restarted. Retry, or change the filter.`;
        return;
      }
      await this.runSummary();
    } catch (e) {
      this.error = (e as Error).message;
    }
  }

  cancelSummary(): void {
    this.summaryAbort?.abort();
  }

  async runSummary(): Promise<void> {
    const ov = this.overview;
    if (!ov) return;
    this.summaryAbort?.abort();
    const ac = new AbortController();
    this.summaryAbort = ac;
    const names = ov.schema.fields.map((f) => f.name);
    this.columns = names.map(() => null);
    this.summary = null;
    this.progress = 0;
    this.summarizing = true;
    this.summaryError = null;
    const where = this.where || undefined;
    try {
      const s = await this.engine.api.summary(
        { dataset: this.id, where },
        {
          signal: ac.signal,
          onProgress: (p) => {
            if (this.summaryAbort !== ac) return;
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
      );
      if (this.summaryAbort !== ac) return;
      this.summary = s;
      this.columns = s.columns;
      this.filteredRows = s.filteredRows ?? null;
      this.progress = 1;
    } catch (e) {
      if (this.summaryAbort !== ac) return;
      const err = e as { code?: string; message: string };
      if (err.code === 'E_ENGINE_DIED') this.crashes.set(where ?? '', (this.crashes.get(where ?? '') ?? 0) + 1);
      this.summaryError = err.code === 'E_CANCELLED' ? 'Summary cancelled.' : err.message;
    } finally {
      if (this.summaryAbort === ac) this.summarizing = false;
    }
  }

  /** the user asks again: forget past crashes */
  retrySummary(): void {
    this.crashes.delete(this.where);
    void this.runSummary();
  }

  addFilter(text: string): void {
    const t = text.trim();
    if (!t || this.filters.some((f) => f.text === t)) return;
    this.filters = [...this.filters, { id: this.nextChip++, text: t }];
    this.filteredRows = null;
    void this.runSummary();
  }

  removeFilter(id: number): void {
    this.filters = this.filters.filter((f) => f.id !== id);
    this.filteredRows = null;
    void this.runSummary();
  }

  clearFilters(): void {
    if (!this.filters.length) return;
    this.filters = [];
    this.filteredRows = null;
    void this.runSummary();
  }
}
