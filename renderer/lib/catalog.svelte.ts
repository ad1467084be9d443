/**
 * The window's catalog as a Svelte 5 rune class: the dataset list (searchable), the selected
 * dataset and its `DatasetView` (one per dataset, kept while the window lives so that filters
 * survive switching and engine restarts), and opening a path — a container file first lists the
 * datasets inside it to choose from. Engine calls go through `Request`s: a newer search replaces
 * a slower earlier one, a new open cancels the one in flight.
 */
import type { DatasetEntry, DatasetOverview, InnerDatasetInfo } from '../../shared/api';
import type { CdxError } from '../../shared/errors';
import { isDbLocation } from './dburl';
import { isRemoteFileUrl, lastName } from './remoteurl';
import { DatasetView } from './dataset.svelte';
import { linked } from './linked.svelte';
import type { EngineConnection } from './engine.svelte';
import { Request } from './request.svelte';

export class Catalog {
  datasets = $state.raw<DatasetEntry[]>([]);
  selected = $state<string | null>(null);
  search = $state('');
  /** a container file with several datasets inside: the user picks one */
  inner = $state.raw<{ path: string; items: InnerDatasetInfo[] } | null>(null);
  openProgress = $state<number | null>(null);
  /** what the open in flight is doing, as the engine reports it ('reading', 'ingesting', …) */
  openStage = $state<string | null>(null);
  /** the location being opened */
  openLocation = $state<string | null>(null);
  private list = new Request<DatasetEntry[]>();
  private opening = new Request<DatasetOverview | InnerDatasetInfo[]>();
  private removing = new Request<boolean>();
  /** a failure outside the engine (an upload), shown where open errors are */
  private outsideError = $state<string | null>(null);
  private views = new Map<string, DatasetView>();

  constructor(readonly engine: EngineConnection) {}

  get listError(): string | null {
    return (this.list.error ?? this.removing.error)?.message ?? null;
  }

  get busyOpening(): boolean {
    return this.opening.busy;
  }

  get openError(): string | null {
    if (this.outsideError) return this.outsideError;
    if (this.opening.cancelled) return 'Cancelled.';
    return this.opening.error?.message ?? null;
  }

  /** the last open's failure with its code and details (an SQL error's position), null when none */
  get openFailure(): CdxError | null {
    return this.opening.error;
  }

  /** the open in flight in words: "Reading flights.parquet — 45%" */
  get openText(): string {
    const loc = this.openLocation ?? '';
    if (isDbLocation(loc)) {
      const inner = loc.includes('::') ? loc.slice(loc.indexOf('::') + 2) : '';
      const what = inner.startsWith('(') ? 'Running the query' : inner ? `Opening ${inner}` : 'Listing the tables';
      return this.openStage === 'ready' ? `Opened ${inner || 'the connection'}` : `${what}…`;
    }
    // an http(s) or S3 location: its file's (or folder's) name, without the query and the slash a folder ends in
    const name = isRemoteFileUrl(loc) ? lastName(loc) : loc.replace(/::.*$/, '').split(/[/\\]/).pop() + (loc.includes('::') ? `::${loc.split('::')[1]}` : '');
    const p = this.openProgress;
    const pct = p !== null && p >= 0 && this.openStage === 'ingesting' ? ` — ${Math.floor(p * 100)}%` : '…';
    if (this.openStage === 'ingesting' || this.openStage === 'reading') return `Reading ${name}${pct}`;
    if (this.openStage === 'ready') return `Opened ${name}`;
    return `Opening ${name}…`;
  }

  viewOf(id: string): DatasetView {
    let v = this.views.get(id);
    if (!v) this.views.set(id, (v = new DatasetView(this.engine, id)));
    return v;
  }

  /** (re)load the list; keeps the selection, or picks the sample (else the first) when it is gone */
  async refresh(): Promise<void> {
    const search = this.search || undefined;
    const list = await this.list.run(({ signal }) => this.engine.api.listDatasets({ search }, { signal }));
    if (!list) return;
    this.datasets = list;
    const sel = this.selected;
    if (!sel || (!search && !list.some((d) => d.id === sel))) this.selected = list.find((d) => d.sample)?.id ?? list[0]?.id ?? null;
  }

  /**
   * Opens `location` (a path, or PATH::INNER) and selects it. A container with several datasets
   * inside is not opened: `inner` lists them instead. Resolves to true when a dataset was opened.
   */
  async open(location: string): Promise<boolean> {
    const path = location.trim();
    this.outsideError = null;
    this.openProgress = 0;
    this.openStage = null;
    this.openLocation = path;
    const r = await this.opening.run(async ({ signal, current }) => {
      // (an http(s) or S3 file is not listed first: that would read it; it opens as one dataset)
      if (!path.includes('::') && !isRemoteFileUrl(path)) {
        const items = await this.engine.api.listInner({ path }, { signal });
        // a database connection always lists its tables and views to choose from (even one, or none)
        if (items.length > 1 || isDbLocation(path)) return items;
      }
      return this.engine.api.open(
        { location: path },
        {
          signal,
          onProgress: (p) => {
            if (!current()) return;
            this.openProgress = p.done;
            if (typeof p.detail === 'string') this.openStage = p.detail;
          },
        },
      );
    });
    if (!this.opening.busy) {
      this.openProgress = null;
      this.openStage = null;
    }
    if (!r) return false;
    if (Array.isArray(r)) {
      this.inner = { path, items: r };
      return false;
    }
    this.inner = null;
    this.selected = r.entry.id;
    await this.refresh();
    return true;
  }

  cancelOpen(): void {
    this.opening.cancel();
  }

  /** a failure before the engine was asked (an upload), shown where open errors are */
  failOpen(message: string): void {
    this.outsideError = message;
  }

  /** forgets a dataset (the file is not touched) */
  async remove(d: DatasetEntry): Promise<void> {
    const ok = await this.removing.run(({ signal }) => this.engine.api.removeDataset({ dataset: d.id }, { signal }).then(() => true));
    if (!ok) return;
    this.views.delete(d.id);
    linked.forget(d.id);
    if (this.selected === d.id) this.selected = null;
    await this.refresh();
  }
}
