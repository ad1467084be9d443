/**
 * The window's workspace (issue 17): the steps the user takes — open, filter, computed column,
 * sort, group-by, join, plot settings — as a list with undo and redo, saved as a `.cdx` file
 * (shared/workspace.ts) and opened again to restore the views. One recorder per window
 * (`workspace`); the stores call it where their state changes (one call per change: DatasetView's
 * chips and computed columns, TableSort, GroupState's Open as dataset, the Join dialog's join, the plot's settings). The
 * tab and the dataset shown are no step of the list (Ctrl+Z undoes what changed data or a plot, not
 * a look at another tab): the view shown when saving is the file's last step.
 *
 * Each entry of the list holds its steps (a step on a dataset the workspace has not opened yet
 * brings its `open` step with it) and how to go back and forth: undo puts the app's state back as
 * it was before the entry (the chips, the sort, the plot's settings, a computed column; a dataset
 * the step made is forgotten), redo as it was after. Entries find their dataset by its name in the
 * workspace, so a dataset made again by a redo (under a new catalog id) still takes the steps after
 * it. While an entry is undone or redone the recorder ignores what the stores tell it (`muted`), so
 * undo records nothing. A new step after an undo drops the entries undone (as editors do).
 *
 * Plot settings are recorded when they have rested a moment (`PLOT_REST_MS`): a drag that pans
 * or zooms is one step, not one per frame. A brush (box, lasso) adds its filter on release: one step.
 * A dataset's plot is its kind, the scatter plot's settings and the line plot's (issue 18), each
 * kept while another is shown; a step's undo and redo put all three back (`PlotFull`).
 */
import type { DatasetView } from './dataset.svelte';
import type { PlotState } from './plot.svelte';
import { defaultX, defaultY, type LineState } from './line.svelte';
import type { Catalog } from './catalog.svelte';
import { tableSortOf, type SortKey } from './table.svelte';
import { vpEqual } from '../../shared/plot/viewport';
import {
  datasetName, describeStep, joinPairs, madeBy, uniqueName, WORKSPACE_VERSION,
  type LineSettings, type PlotKind, type PlotSettings, type Step, type ViewTab, type Workspace,
} from '../../shared/workspace';

/** a plot's settings before the user changes any (PlotState's own defaults) */
class PlotStateDefaults {
  how = 'eq_hist' as PlotState['how'];
  cmap = 'fire' as PlotState['cmap'];
  budget = 1_000_000;
  pointSize = 3;
  opacity = 0.8;
  autoStyle = true;
}

/** how long the plot's settings must rest before they are a step (a pan or zoom is one step) */
export const PLOT_REST_MS = 700;

export interface ChipState {
  text: string;
  enabled: boolean;
  /** linked across datasets (lib/linked.svelte.ts): `from` a catalog id here, the dataset's workspace name in a step */
  link?: { id: string; from: string; name?: string };
}

interface Entry {
  steps: Step[];
  undo(): void | Promise<void>;
  redo(): void | Promise<void>;
}

/** a plot's settings as the workspace keeps them: its columns, what differs from a fresh plot's, the viewport when not the home view */
export function plotSettingsOf(st: PlotState): PlotSettings {
  const d = new PlotStateDefaults();
  const s: PlotSettings = { x: st.x, y: st.y };
  if (st.color) s.color = st.color;
  if (st.how !== d.how) s.how = st.how;
  if (st.cmap !== d.cmap) s.cmap = st.cmap;
  if (st.budget !== d.budget) s.budget = st.budget;
  if (st.pointSize !== d.pointSize) s.pointSize = st.pointSize;
  if (st.opacity !== d.opacity) s.opacity = st.opacity;
  if (st.autoStyle !== d.autoStyle) s.autoStyle = st.autoStyle;
  if (!vpEqual(st.vp, st.home)) s.viewport = { ...st.vp };
  return s;
}

const sameSettings = (a: PlotSettings | undefined, b: PlotSettings | undefined) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** applies settings to a plot (what they leave out: a fresh plot's): its columns (the home view follows, or the viewport given), its tone and style */
export function applyPlotSettings(st: PlotState, s: PlotSettings): void {
  const d = new PlotStateDefaults();
  const sameColumns = (s.x ?? st.x) === st.x && (s.y ?? st.y) === st.y && (s.color ?? '') === st.color;
  st.how = (s.how ?? d.how) as PlotState['how'];
  st.cmap = (s.cmap ?? d.cmap) as PlotState['cmap'];
  st.budget = s.budget ?? d.budget;
  st.pointSize = s.pointSize ?? d.pointSize;
  st.opacity = s.opacity ?? d.opacity;
  st.autoStyle = s.autoStyle ?? d.autoStyle;
  if (sameColumns && st.xInfo) {
    st.vp = s.viewport ? { ...s.viewport } : st.home;
  } else {
    // new columns: their set-up computes the home view, then takes this viewport instead
    st.pendingViewport = s.viewport ? { ...s.viewport } : null;
    if (s.x) st.x = s.x;
    if (s.y) st.y = s.y;
    st.color = s.color ?? '';
  }
}

/** a line plot's settings as the workspace keeps them: its columns and style, the y limits when fixed, the x range when not the whole */
export function lineSettingsOf(ls: LineState): LineSettings {
  const s: LineSettings = { x: ls.x, y: ls.ys.slice() };
  if (ls.split) s.split = ls.split;
  if (ls.area) s.area = true;
  if (ls.yFixed) s.yLimits = [ls.yFixed[0], ls.yFixed[1]];
  if (ls.range[0] !== ls.home[0] || ls.range[1] !== ls.home[1]) s.xRange = [ls.range[0], ls.range[1]];
  return s;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/**
 * applies settings to a line plot: its columns (x's range follows: the range given once x's range
 * is known, else the whole), style and y limits. Only what differs is set (each set asks the engine again).
 */
export function applyLineSettings(ls: LineState, s: LineSettings): void {
  if (!same(ls.ys, s.y)) ls.ys = s.y.slice();
  if (ls.split !== (s.split ?? '')) ls.split = s.split ?? '';
  ls.area = !!s.area;
  const y: [number, number] | null = s.yLimits ? [s.yLimits[0], s.yLimits[1]] : null;
  if (!same(ls.yFixed, y)) ls.yFixed = y;
  if (s.x === ls.x && ls.xInfo?.name === s.x) {
    const r: [number, number] = s.xRange ? [s.xRange[0], s.xRange[1]] : ls.home;
    if (!same(ls.range, r)) ls.range = r;
    ls.pendingRange = null;
  } else {
    // new x: its set-up finds its whole range, then takes this one instead
    ls.pendingRange = s.xRange ? [s.xRange[0], s.xRange[1]] : null;
    ls.x = s.x;
  }
}

/** a fresh line plot's settings (lib/line.svelte.ts's default columns; '' while the columns are not known: the view picks them) */
function lineDefaults(ls: LineState): LineSettings {
  const fields = ls.view.readableFields;
  const x = defaultX(fields);
  const y = x ? defaultY(fields, x) : '';
  return { x, y: y ? [y] : [] };
}

/** a dataset's plot: the kind shown, the scatter plot's settings and the line plot's (null: a fresh plot's) */
interface PlotFull {
  kind: PlotKind;
  scatter: PlotSettings | null;
  line: LineSettings | null;
}

export class WorkspaceRecorder {
  /** every entry: those before `cursor` are applied, the rest undone (redo takes them again) */
  entries = $state.raw<Entry[]>([]);
  cursor = $state(0);
  /** a problem of the last open, undo or redo (steps not restored), for the Steps panel */
  note = $state<string | null>(null);
  /** busy opening a workspace, or undoing / redoing a step that asks the engine (a group-by) */
  restoring = $state(false);
  /** the workspace file last saved or opened on the engine's host */
  file = $state<string | null>(null);
  private catalog: Catalog | null = null;
  private setTab: ((tab: ViewTab) => void) | null = null;
  /**
   * catalog id -> the dataset's name in the workspace, and back. Entries find their dataset by
   * name when undone or redone: a group-by's dataset undone is forgotten, and redone it is made
   * again under another id.
   */
  private nameOf = new Map<string, string>();
  private idOf = new Map<string, string>();
  private locationOf = new Map<string, string>();
  private muted = 0;
  /** the settings each dataset's plot had when last recorded (restored when its plot is shown again) */
  private plotKept = new Map<string, PlotSettings>();
  private plots = new Map<string, PlotState>();
  /** the settings each dataset's line plot had when last recorded, and the line plot shown */
  private lineKept = new Map<string, LineSettings>();
  private lines = new Map<string, LineState>();
  /** each dataset's (first) plot kind: the Plot tab's Scatter / density or Histogram */
  private kinds = $state<Record<string, PlotKind>>({});
  private lastView: { tab: ViewTab; id: string | null } | null = null;

  /** the App's catalog and how to show a tab */
  attach(catalog: Catalog, setTab: (tab: ViewTab) => void): void {
    this.catalog = catalog;
    this.setTab = setTab;
  }

  /** the steps applied, in order */
  get steps(): Step[] {
    return this.entries.slice(0, this.cursor).flatMap((e) => e.steps);
  }

  /** every step with whether it is applied (the panel shows undone ones greyed, for redo) */
  get listed(): { step: Step; text: string; short: string; applied: boolean; entry: number }[] {
    return this.entries.flatMap((e, i) => e.steps.map((step) => ({ step, text: describeStep(step), short: describeStep(step, { short: true }), applied: i < this.cursor, entry: i })));
  }

  get canUndo(): boolean {
    return this.cursor > 0 && !this.restoring;
  }

  get canRedo(): boolean {
    return this.cursor < this.entries.length && !this.restoring;
  }

  async undo(): Promise<void> {
    if (!this.canUndo) return;
    const e = this.entries[this.cursor - 1]!;
    this.cursor--;
    await this.quietly(() => e.undo());
  }

  async redo(): Promise<void> {
    if (!this.canRedo) return;
    const e = this.entries[this.cursor]!;
    this.cursor++;
    await this.quietly(() => e.redo());
  }

  /** runs an undo or redo: nothing it changes is recorded; its failure is said in `note` */
  private async quietly(fn: () => void | Promise<void>): Promise<void> {
    this.muted++;
    this.note = null;
    try {
      const r = fn();
      if (r instanceof Promise) {
        this.restoring = true;
        await r;
      }
    } catch (e) {
      this.note = (e as Error).message;
    } finally {
      this.muted--;
      this.restoring = false;
    }
  }

  /**
   * Runs `fn`, whose changes (one dataset's chips after another's: a linked filter) are one entry:
   * one undo puts every dataset back.
   */
  batch(fn: () => void): void {
    if (this.gathered) return fn();
    const got: Entry[] = (this.gathered = []);
    try {
      fn();
    } finally {
      this.gathered = null;
    }
    if (got.length <= 1) {
      if (got[0]) this.push(got[0]);
      return;
    }
    this.push({
      steps: got.flatMap((e) => e.steps),
      undo: async () => {
        for (const e of got.slice().reverse()) await e.undo();
      },
      redo: async () => {
        for (const e of got) await e.redo();
      },
    });
  }

  private gathered: Entry[] | null = null;

  private push(e: Entry): void {
    if (this.muted) return;
    if (this.gathered) {
      this.gathered.push(e);
      return;
    }
    this.entries = [...this.entries.slice(0, this.cursor), e];
    this.cursor = this.entries.length;
  }

  private setName(id: string, name: string): void {
    this.nameOf.set(id, name);
    this.idOf.set(name, id);
  }

  /** the dataset's workspace name, and an `open` step to go before the step on it when no applied step made it */
  private named(id: string): { name: string; open: Step[] } {
    let name = this.nameOf.get(id);
    if (!name) {
      name = datasetName(this.locationFor(id), this.nameOf.values());
      this.setName(id, name);
    }
    // (and the steps of a batch not pushed yet: a dataset is opened once in it)
    const made = [...this.steps, ...(this.gathered ?? []).flatMap((e) => e.steps)].some((s) => madeBy(s) === name);
    return { name, open: made ? [] : [{ kind: 'open', as: name, location: this.locationFor(id) }] };
  }

  private locationFor(id: string): string {
    return this.locationOf.get(id) ?? this.catalog?.datasets.find((d) => d.id === id)?.path ?? id;
  }

  /** the view of the dataset named `name` now (null: not in the catalog now) */
  private viewNamed(name: string): DatasetView | null {
    const id = this.idOf.get(name);
    return id && this.catalog ? this.catalog.viewOf(id) : null;
  }

  private show(v: { tab: ViewTab; name: string | null }): void {
    const id = v.name ? (this.idOf.get(v.name) ?? null) : null;
    this.lastView = { tab: v.tab, id };
    if (this.catalog && id) this.catalog.selected = id;
    this.setTab?.(v.tab);
  }

  /** the user opened a dataset (File › Open, a path, a drop): an `open` step (a dataset already in the workspace: none) */
  opened(id: string, location: string, as?: string): void {
    if (this.muted) return;
    this.locationOf.set(id, location);
    if (as) this.setName(id, as);
    const { open } = this.named(id);
    if (!open.length) return;
    const cat = this.catalog;
    const before = this.lastView?.id ?? null;
    this.push({
      steps: open,
      undo: () => {
        if (cat && cat.selected === id) cat.selected = before;
      },
      redo: () => {
        if (cat) cat.selected = id;
      },
    });
  }

  /** DatasetView's chips changed (one call per change) */
  filtersChanged(view: DatasetView, before: ChipState[], after: ChipState[]): void {
    if (this.muted) return;
    if (JSON.stringify(before) === JSON.stringify(after)) return;
    const { name, open } = this.named(view.id);
    // a link's source by its workspace name (its catalog id means nothing in another session)
    const chips = after.map(({ link, ...c }) => (link ? { ...c, link: { id: link.id, from: this.nameOf.get(link.from) ?? link.name ?? link.from } } : c));
    const step: Step = { kind: 'filter', dataset: name, where: view.where, chips };
    this.push({
      steps: [...open, step],
      undo: () => this.viewNamed(name)?.restoreFilters(before),
      redo: () => this.viewNamed(name)?.restoreFilters(after),
    });
  }

  /** the Table view's sort changed (a header clicked, Unsort) */
  sortChanged(view: DatasetView, before: readonly SortKey[], after: readonly SortKey[]): void {
    if (this.muted) return;
    const keys = (ks: readonly SortKey[]) => ks.map((k) => (k.desc ? '-' : '') + k.name);
    if (JSON.stringify(keys(before)) === JSON.stringify(keys(after))) return;
    const { name, open } = this.named(view.id);
    const was = before.map((k) => ({ ...k })), now = after.map((k) => ({ ...k }));
    const step: Step = { kind: 'sort', dataset: name, keys: keys(after) };
    const last = this.cursor === this.entries.length ? this.entries[this.cursor - 1] : undefined;
    const lastStep = last?.steps.at(-1);
    if (last && lastStep?.kind === 'sort' && lastStep.dataset === name) {
      // sorts of one dataset in a row (a header clicked through ascending, descending) are one step
      this.entries = [...this.entries.slice(0, -1), { steps: [...last.steps.slice(0, -1), step], undo: last.undo, redo: () => this.setSort(name, now) }];
      return;
    }
    this.push({ steps: [...open, step], undo: () => this.setSort(name, was), redo: () => this.setSort(name, now) });
  }

  /**
   * A computed column was defined (`after`: its expression) or removed (`after` null) on the
   * dataset; `before`: its expression until then (null: it was not there). Undo defines it back.
   */
  columnChanged(view: DatasetView, name: string, before: string | null, after: string | null): void {
    if (this.muted || before === after) return;
    const { name: ds, open } = this.named(view.id);
    this.push({
      steps: [...open, { kind: 'column', dataset: ds, name, expr: after }],
      undo: () => this.defineColumn(ds, name, before),
      redo: () => this.defineColumn(ds, name, after),
    });
  }

  private async defineColumn(ds: string, name: string, expr: string | null): Promise<void> {
    const id = this.idOf.get(ds);
    if (!id || !this.catalog) return;
    await this.catalog.engine.api.defineColumn({ dataset: id, name, expr });
    const v = this.catalog.viewOf(id);
    if (v.overview) await v.load();
  }

  private setSort(name: string, keys: SortKey[]): void {
    const v = this.viewNamed(name);
    if (v) tableSortOf(v).keys = keys.map((k) => ({ ...k }));
  }

  /**
   * The Group view's groups were saved as a dataset (its "Open as dataset"): a `group` step making
   * it. Undone, the dataset is forgotten (its file deleted) and its source shown; redone, the
   * engine makes it again.
   */
  grouped(view: DatasetView, q: { by: string[]; agg: string; where?: string; sort?: string[]; pivot?: string | null }, saved: { id: string; name: string }): void {
    if (this.muted) return;
    const { name: source, open } = this.named(view.id);
    const as = uniqueName(`${source} by ${q.by.join(" ")}`, this.nameOf.values());
    this.setName(saved.id, as);
    this.locationOf.set(saved.id, saved.name);
    const step: Step = { kind: 'group', dataset: source, as, by: q.by.slice(), agg: q.agg, ...(q.where ? { where: q.where } : {}), ...(q.sort?.length ? { sort: q.sort.slice() } : {}), ...(q.pivot ? { pivot: q.pivot } : {}) };
    this.push({ steps: [...open, step], undo: () => this.forgetMade(as, source), redo: () => this.regroup(step).then(() => undefined) });
  }

  /** a dataset a step made (a group-by, a join) forgotten (its file deleted), the dataset it came from shown */
  private async forgetMade(as: string, source: string): Promise<void> {
    const cat = this.catalog;
    const id = this.idOf.get(as);
    const entry = id ? cat?.datasets.find((d) => d.id === id) : undefined;
    this.show({ tab: this.lastView?.tab ?? 'summary', name: source });
    if (cat && entry) await cat.remove(entry);
  }

  /** the group step's dataset made (again) by the engine (named by it as the Group view's Open as dataset is), known by the step's name */
  private async regroup(s: Extract<Step, { kind: 'group' }>): Promise<string> {
    const cat = this.catalog!;
    const src = this.idOf.get(s.dataset);
    if (!src) throw new Error(`${describeStep(s)}: ${s.dataset} is not open`);
    const r = await cat.engine.api.groupBy({ dataset: src, by: s.by, agg: s.agg, ...(s.where ? { where: s.where } : {}), ...(s.sort ? { sort: s.sort } : {}), ...(s.pivot ? { pivot: s.pivot } : {}), limit: 1, save: {} });
    const id = r.saved!.id;
    this.setName(id, s.as);
    this.locationOf.set(id, r.saved!.name);
    await cat.refresh();
    this.show({ tab: 'summary', name: s.as });
    return id;
  }

  /**
   * A join made in the app (the Join dialog): a `join` step making its dataset (`made`), the left
   * and right datasets by catalog id, each side under the filter it was joined with ('' none).
   * Undone, the joined dataset is forgotten (its file deleted) and the left side shown; redone, the
   * engine joins again under those same filters.
   */
  joined(leftId: string, rightId: string, q: { on: [string, string][]; how: 'inner' | 'left'; whereLeft?: string; whereRight?: string }, made: { id: string; path: string }): void {
    if (this.muted) return;
    const l = this.named(leftId);
    const r = rightId === leftId ? { name: l.name, open: [] } : this.named(rightId);
    // (the name of a join undone and dropped is free again: only datasets there now, or made by an applied step, hold theirs)
    const cat = this.catalog;
    const taken = [...this.nameOf].filter(([id, n]) => !cat || cat.datasets.some((d) => d.id === id) || this.steps.some((s) => madeBy(s) === n)).map(([, n]) => n);
    const as = uniqueName(`${l.name} ${r.name}`, taken);
    this.setName(made.id, as);
    this.locationOf.set(made.id, made.path);
    const step: Step = { kind: 'join', as, left: l.name, right: r.name, on: q.on.map(([a, b]) => (a === b ? a : `${a}=${b}`)), how: q.how };
    const wheres = { left: q.whereLeft ?? '', right: q.whereRight ?? '' };
    this.push({ steps: [...l.open, ...r.open, step], undo: () => this.forgetMade(as, l.name), redo: () => this.rejoin(step, wheres) });
  }

  /**
   * a join step's dataset made (again) by the engine, known by the step's name: each side under
   * the filters given (a join made in the app, redone), else under its filter now
   */
  private async rejoin(s: Extract<Step, { kind: 'join' }>, wheres?: { left: string; right: string }): Promise<void> {
    const cat = this.catalog!;
    const l = this.idOf.get(s.left), r = this.idOf.get(s.right);
    if (!l || !r) throw new Error(`${describeStep(s)}: ${!l ? s.left : s.right} is not open`);
    const wl = wheres ? wheres.left : cat.viewOf(l).where, wr = wheres ? wheres.right : cat.viewOf(r).where;
    const j = await cat.engine.api.join({ left: l, right: r, on: joinPairs(s.on), how: s.how, ...(wl ? { whereLeft: wl } : {}), ...(wr ? { whereRight: wr } : {}), ...(s.columns ? { columns: s.columns } : {}) });
    this.setName(j.overview.entry.id, s.as);
    this.locationOf.set(j.overview.entry.id, j.overview.entry.path);
    await cat.refresh();
    this.show({ tab: 'summary', name: s.as });
  }

  // ------------------------------------------------------------------------------ plots

  /**
   * A plot view was made for `st` (PlotView's set-up; call during the component's initialisation):
   * it takes the settings its dataset's plot last had, and its changes become steps once they rest.
   */
  trackPlot(st: PlotState): void {
    const id = st.view.id;
    const kept = this.plotKept.get(id);
    if (kept) applyPlotSettings(st, kept);
    this.plots.set(id, st);
    let timer: ReturnType<typeof setTimeout> | undefined;
    $effect(() => {
      const now = plotSettingsOf(st);
      const ready = !!st.xInfo && !st.busy;
      clearTimeout(timer);
      if (!ready) return;
      // the plot's first settings (its default columns, or those kept) are where it starts, at once
      if (!this.plotKept.has(id)) this.plotKept.set(id, now);
      else timer = setTimeout(() => this.plotRested(st, now), PLOT_REST_MS);
    });
    $effect(() => () => {
      clearTimeout(timer);
      if (this.plots.get(id) === st) this.plots.delete(id);
    });
  }

  private plotRested(st: PlotState, now: PlotSettings): void {
    const id = st.view.id;
    const before = this.plotKept.get(id);
    if (sameSettings(before, now)) return;
    const was = this.plotFull(id);
    this.plotKept.set(id, now);
    if (!before || this.muted) return;
    const { name, open } = this.named(id);
    const after: PlotFull = { ...was, kind: 'scatter', scatter: now };
    this.push({
      steps: [...open, { kind: 'plot', dataset: name, settings: now }],
      undo: () => this.setPlot(name, was),
      redo: () => this.setPlot(name, after),
    });
  }

  /**
   * A line plot view was made for `ls` (LineView's set-up, the Plot tab's first plot; call during
   * the component's initialisation): it takes the settings its dataset's line plot last had, and its
   * changes — columns, split, line or area, y limits, the x range a zoom or pan leaves — become
   * steps once they rest (a zoom or a pan: one step, once the plot has drawn and rested).
   */
  trackLine(ls: LineState): void {
    const kept = this.lineKept.get(ls.view.id);
    if (kept) applyLineSettings(ls, kept);
    this.lines.set(ls.view.id, ls);
    $effect(() => this.lineChanged(ls));
    $effect(() => () => this.untrackLine(ls));
  }

  private lineTimers = new Map<LineState, ReturnType<typeof setTimeout>>();

  /**
   * What the line plot's effect does when anything it reads changes (called by it; a test calls it
   * after a change, where effects do not run): once the plot shows its settings (x's range known
   * for this x, no request in flight) they become a step after a rest, unless changed before.
   */
  lineChanged(ls: LineState): void {
    const id = ls.view.id;
    const now = lineSettingsOf(ls);
    const ready = !!ls.x && ls.xInfo?.name === ls.x && !ls.busy;
    clearTimeout(this.lineTimers.get(ls));
    this.lineTimers.delete(ls);
    if (!ready) return;
    // the line plot's first settings (its default columns, or those kept) are where it starts, at once
    if (!this.lineKept.has(id)) this.lineKept.set(id, now);
    else this.lineTimers.set(ls, setTimeout(() => this.lineRested(ls, now), PLOT_REST_MS));
  }

  /** the line plot view is gone (its rest not waited for) */
  untrackLine(ls: LineState): void {
    clearTimeout(this.lineTimers.get(ls));
    this.lineTimers.delete(ls);
    if (this.lines.get(ls.view.id) === ls) this.lines.delete(ls.view.id);
  }

  private lineRested(ls: LineState, now: LineSettings): void {
    const id = ls.view.id;
    const before = this.lineKept.get(id);
    if (same(before, now)) return;
    const was = this.plotFull(id);
    this.lineKept.set(id, now);
    if (!before || this.muted) return;
    const { name, open } = this.named(id);
    const after: PlotFull = { ...was, kind: 'line', line: now };
    this.push({
      steps: [...open, { kind: 'plot', dataset: name, settings: { kind: 'line', line: now } }],
      undo: () => this.setPlot(name, was),
      redo: () => this.setPlot(name, after),
    });
  }

  /** the dataset's plot now: its kind, the scatter plot's and the line plot's settings as last recorded */
  private plotFull(id: string): PlotFull {
    return { kind: this.plotKind(id), scatter: this.plotKept.get(id) ?? null, line: this.lineKept.get(id) ?? null };
  }

  /**
   * A plot step's settings (a file's) as the dataset's whole plot: what the step leaves out is as it
   * is now — the scatter plot's settings when the step has no columns, the line plot's when the
   * step has none and is no line plot (a line step without them, a file older than them: a fresh
   * line plot's).
   */
  private plotFullOf(id: string, s: PlotSettings): PlotFull {
    const { kind = 'scatter', line, ...scatter } = s;
    const now = this.plotFull(id);
    return {
      kind,
      scatter: scatter.x || scatter.y ? scatter : now.scatter,
      line: line ?? (kind === 'line' ? null : now.line),
    };
  }

  /** the dataset's plot kind (the first plot of its Plot tab) */
  plotKind(id: string): PlotKind {
    return this.kinds[id] ?? 'scatter';
  }

  /** the user chose the plot's kind: a plot step (its settings, with the kind) */
  setPlotKind(view: DatasetView, kind: PlotKind): void {
    const was = this.plotFull(view.id);
    if (was.kind === kind) return;
    this.kinds = { ...this.kinds, [view.id]: kind };
    if (this.muted) return;
    const { name, open } = this.named(view.id);
    // (the kind with the settings kept: a line plot's, when known, read in the step list)
    const settings: PlotSettings = { ...was.scatter, kind, ...(was.line ? { line: was.line } : {}) };
    const after: PlotFull = { ...was, kind };
    this.push({
      steps: [...open, { kind: 'plot', dataset: name, settings }],
      undo: () => this.setPlot(name, was),
      redo: () => this.setPlot(name, after),
    });
  }

  /**
   * The named dataset's plot set as `f` says: its kind, the scatter plot's settings and the line
   * plot's (each null: a fresh plot's — the default columns, the whole range). The settings are
   * kept before they are applied, so that the plots coming to rest in them record nothing.
   */
  private setPlot(name: string, f: PlotFull): void {
    const id = this.idOf.get(name);
    if (!id) return;
    this.kinds = { ...this.kinds, [id]: f.kind };
    const st = this.plots.get(id);
    if (f.scatter) {
      this.plotKept.set(id, f.scatter);
      if (st) applyPlotSettings(st, f.scatter);
    } else {
      this.plotKept.delete(id);
      if (st) {
        // a fresh plot's settings; no x: the plot view picks its default columns again
        applyPlotSettings(st, {});
        st.pendingViewport = null;
        st.color = '';
        st.x = '';
      }
    }
    const ls = this.lines.get(id);
    if (f.line) {
      this.lineKept.set(id, f.line);
      if (ls) applyLineSettings(ls, f.line);
    } else {
      // (a fresh line plot's settings are where it starts: recorded, without a step, once it rests)
      this.lineKept.delete(id);
      if (ls) applyLineSettings(ls, lineDefaults(ls));
    }
  }

  // ------------------------------------------------------------------------------ the view shown

  /**
   * The tab or the selected dataset changed (App's effect). Not a step of the list: Ctrl+Z undoes
   * what changed the data or a plot, not a look at another tab. The view shown when the workspace
   * is saved is its last step (`view`), so that opening it shows the same and `cdx run` writes the
   * dataset that was shown.
   */
  viewChanged(tab: ViewTab, id: string | null): void {
    this.lastView = { tab, id };
  }

  // ------------------------------------------------------------------------------ files

  /** the workspace as saved: the steps applied, then the view shown (a dataset of the workspace, its tab) */
  toWorkspace(view: { tab: ViewTab; id: string | null }): Workspace {
    const steps = this.steps;
    const name = view.id ? this.nameOf.get(view.id) : undefined;
    const known = !!name && steps.some((s) => madeBy(s) === name);
    if (steps.length) steps.push({ kind: 'view', tab: view.tab, ...(known ? { dataset: name } : {}) });
    return { cdx: 'workspace', version: WORKSPACE_VERSION, saved: new Date().toISOString(), steps, views: { ...(known ? { dataset: name } : {}), tab: view.tab } };
  }

  /** saves the workspace to a file on the engine's host (locations beside it kept relative) */
  async saveTo(path: string, view: { tab: ViewTab; id: string | null }, force = false): Promise<string> {
    const r = await this.catalog!.engine.api.saveWorkspace({ path, workspace: this.toWorkspace(view), force });
    this.file = r.path;
    return r.path;
  }

  /** opens a workspace file on the engine's host */
  async openFrom(path: string): Promise<boolean> {
    const r = await this.catalog!.engine.api.readWorkspace({ path });
    const ok = await this.open(r.workspace);
    this.file = r.path;
    return ok;
  }

  /** forgets every step (a new workspace) */
  clear(): void {
    this.entries = [];
    this.cursor = 0;
    this.nameOf.clear();
    this.idOf.clear();
    this.locationOf.clear();
    this.note = null;
    this.file = null;
  }

  /**
   * Opens a workspace: its steps are taken again, in order, as the user would (the datasets opened,
   * the chips set, the sorts, the group-bys made, the plots' settings, the view), and become this
   * window's step list. A step the app cannot take yet is left out and named in `note`; a step
   * that fails stops there.
   */
  async open(ws: Workspace): Promise<boolean> {
    const cat = this.catalog;
    if (!cat) return false;
    this.clear();
    this.restoring = true;
    const skipped: string[] = [];
    const id = (name: string) => this.idOf.get(name)!;
    try {
      for (const [i, s] of ws.steps.entries()) {
        try {
          switch (s.kind) {
            case 'open': {
              if (!(await cat.open(s.location)) || !cat.selected) throw new Error(cat.openError ?? 'it did not open');
              const opened = cat.selected;
              // (a dataset opened twice under two names in the file: its first name)
              if (this.nameOf.has(opened)) {
                this.idOf.set(s.as, opened);
                skipped.push(`${i + 1} (the same dataset as ${this.nameOf.get(opened)})`);
                continue;
              }
              this.opened(opened, s.location, s.as);
              break;
            }
            case 'filter':
              // (recorded by the view's own hook)
              // (a link's source named as in the file: its catalog id now)
              cat.viewOf(id(s.dataset)).restoreFilters(
                (s.chips ?? (s.where ? [{ text: s.where, enabled: true }] : [])).map(({ link, ...c }) =>
                  link ? { ...c, link: { id: link.id, from: this.idOf.get(link.from) ?? link.from, name: link.from } } : c,
                ),
              );
              break;
            case 'sort': {
              const v = cat.viewOf(id(s.dataset));
              const before = tableSortOf(v).keys;
              tableSortOf(v).keys = s.keys.map((k) => (k.startsWith('-') ? { name: k.slice(1), desc: true } : { name: k, desc: false }));
              this.sortChanged(v, before, tableSortOf(v).keys);
              break;
            }
            case 'column': {
              // (the catalog keeps computed columns: the dataset may have this one already, perhaps otherwise defined)
              const ov = await cat.engine.api.overview({ dataset: id(s.dataset) });
              const before = ov.schema.fields.find((f) => f.name === s.name)?.expr ?? null;
              await this.defineColumn(s.dataset, s.name, s.expr);
              this.push({ steps: [s], undo: () => this.defineColumn(s.dataset, s.name, before), redo: () => this.defineColumn(s.dataset, s.name, s.expr) });
              break;
            }
            case 'group': {
              if (s.limit !== undefined) {
                skipped.push(`${i + 1} (${describeStep(s)})`);
                continue;
              }
              await this.regroup(s);
              this.push({ steps: [s], undo: () => this.forgetMade(s.as, s.dataset), redo: () => this.regroup(s).then(() => undefined) });
              break;
            }
            case 'join': {
              await this.rejoin(s);
              this.push({ steps: [s], undo: () => this.forgetMade(s.as, s.left), redo: () => this.rejoin(s) });
              break;
            }
            case 'plot': {
              const before = this.plotFull(id(s.dataset));
              const after = this.plotFullOf(id(s.dataset), s.settings);
              this.setPlot(s.dataset, after);
              this.push({ steps: [s], undo: () => this.setPlot(s.dataset, before), redo: () => this.setPlot(s.dataset, after) });
              break;
            }
            case 'view':
              // shown, not listed (a view is no step of the list; saving writes the one shown then)
              this.show({ tab: s.tab, name: s.dataset ?? null });
              break;
            default:
              skipped.push(`${i + 1} (${describeStep(s)})`);
          }
        } catch (e) {
          this.note = `Step ${i + 1} (${describeStep(s)}): ${(e as Error).message}. The steps after it were not taken.`;
          return false;
        }
      }
      const v = ws.views;
      if (v?.dataset && this.idOf.has(v.dataset)) cat.selected = id(v.dataset);
      if (v?.tab) this.setTab?.(v.tab);
      this.lastView = { tab: v?.tab ?? this.lastView?.tab ?? 'summary', id: cat.selected };
      if (skipped.length) this.note = `Not restored in the app yet (cdx run replays them): step${skipped.length === 1 ? '' : 's'} ${skipped.join(', ')}.`;
      return true;
    } finally {
      this.restoring = false;
    }
  }
}

/** the window's workspace */
export const workspace = new WorkspaceRecorder();
