/**
 * The workspace (`.cdx`): the steps of an analysis — open, filter, computed column, sort, group-by,
 * join, plot settings, the view shown — as a versioned JSON file that the app saves and opens
 * (restoring its views) and `cdx run` replays without the app (main/cli/run.ts), writing the final
 * dataset. This module is the format: its types, the validator (`parseWorkspace`: every problem
 * named with the file, the step and what is wrong; a newer version refused as such), the text
 * form (`serializeWorkspace`), a one-line reading of each step (`describeStep`: the app's step
 * list, `cdx run --dry-run`), and how locations are kept (`storeLocation` / `resolveLocation`: a
 * file inside the workspace's folder relative to it, so that a folder of data and its workspace
 * can move together; never a password).
 *
 * Datasets are named inside the workspace: `open`, `group` and `join` give the dataset they make a
 * name (`as`), and the other steps refer to it by that name — catalog ids belong to one machine's
 * catalog, names read well and survive a move. The "current dataset" is that of the last step.
 *
 * Pure TypeScript (no Node): the renderer, the engine and the CLI all use it.
 */
import { CdxError } from './errors';

/**
 * The format's version: a file with a larger one is refused (E_WORKSPACE_NEWER), not half read.
 * Additions that an older reader may ignore keep the version (a plot step's `settings.line`, issue
 * 18: an older CDX opens the file with the line plot's defaults; a file without it opens here too).
 */
export const WORKSPACE_VERSION = 1;
export const WORKSPACE_EXTENSION = '.cdx';

/** The app's views (the dataset pane's tabs). */
export const VIEW_TABS = ['summary', 'table', 'info', 'plot', 'group'] as const;
export type ViewTab = (typeof VIEW_TABS)[number];

/** The plot view's settings (renderer/lib/plot.svelte.ts's PlotState, the Plot tab's kind). */
/** the kinds of the Plot tab's first plot */
export type PlotKind = 'scatter' | 'histogram' | 'line';

export interface PlotSettings {
  kind?: PlotKind;
  x?: string;
  y?: string;
  /** '' or absent: no colour */
  color?: string;
  /** tone mapping: 'eq_hist', 'log', 'linear', … */
  how?: string;
  /** colour map name */
  cmap?: string;
  budget?: number;
  pointSize?: number;
  opacity?: number;
  autoStyle?: boolean;
  /** the axes' limits (data units); absent: the columns' home view */
  viewport?: { x0: number; x1: number; y0: number; y1: number };
  /** the line plot's settings (kind 'line'); absent: as they were (a kind 'line' step: the line plot's defaults) */
  line?: LineSettings;
}

/** the line plot's settings (renderer/lib/line.svelte.ts's LineState) */
export interface LineSettings {
  /** the x column (time or any ordered column) */
  x: string;
  /** the y columns, a line each (one when split) */
  y: string[];
  /** a category column: a line per value of it */
  split?: string;
  /** areas filled under the lines */
  area?: boolean;
  /** the user's y limits [min, max]; absent: fitted to the visible data */
  yLimits?: [number, number];
  /** the visible x range [x0, x1) in stored units; absent: x's whole range */
  xRange?: [number, number];
}

/** a file, `PATH::INNER`, a glob or folder, an http(s)/S3 URL, or a database `URL::TABLE` (never with its password) */
export interface OpenStep {
  kind: 'open';
  /** the dataset's name in the workspace */
  as: string;
  location: string;
}

/** the dataset's whole active filter set (`where` text, the conjunction of the chips that are on); '' clears it */
export interface FilterStep {
  kind: 'filter';
  dataset: string;
  where: string;
  /**
   * the app's chips, each its expression's text and whether it is on (their conjunction is `where`);
   * a chip linked across datasets (issue 18) carries its link: an id the same in every dataset
   * holding it, and the dataset where it was made
   */
  chips?: { text: string; enabled: boolean; link?: { id: string; from: string } }[];
}

/** a computed column defined (`expr`) or removed (`expr: null`) */
export interface ColumnStep {
  kind: 'column';
  dataset: string;
  name: string;
  expr: string | null;
}

/** the rows' order (`['-fare', 'borough']`: a leading `-` descending; nulls last); [] back to file order */
export interface SortStep {
  kind: 'sort';
  dataset: string;
  keys: string[];
}

/** a group-by whose groups are a new dataset `as` (the engine's groupBy parameters) */
export interface GroupStep {
  kind: 'group';
  dataset: string;
  as: string;
  by: string[];
  agg: string;
  where?: string;
  sort?: string[];
  limit?: number;
  /** a key spread across columns (the Group view's pivot) */
  pivot?: string;
}

/** two datasets joined on key columns, the result a new dataset `as` */
export interface JoinStep {
  kind: 'join';
  as: string;
  left: string;
  right: string;
  /** key columns, the same name on both sides, or `left=right` */
  on: string[];
  how: 'inner' | 'left';
  /** columns of the right side kept (all when absent) */
  columns?: string[];
}

/** a join step's keys as [left column, right column] pairs (`k`: the same name on both sides; `l=r`) */
export function joinPairs(on: readonly string[]): [string, string][] {
  return on.map((k) => {
    const i = k.indexOf('=');
    return i < 0 ? [k.trim(), k.trim()] : [k.slice(0, i).trim(), k.slice(i + 1).trim()];
  });
}

/** the plot view's settings for a dataset */
export interface PlotStep {
  kind: 'plot';
  dataset: string;
  settings: PlotSettings;
}

/** the view shown (and the dataset it shows, when given) */
export interface ViewStep {
  kind: 'view';
  tab: ViewTab;
  dataset?: string;
}

export type Step = OpenStep | FilterStep | ColumnStep | SortStep | GroupStep | JoinStep | PlotStep | ViewStep;
export type StepKind = Step['kind'];
export const STEP_KINDS: readonly StepKind[] = ['open', 'filter', 'column', 'sort', 'group', 'join', 'plot', 'view'];

export interface Workspace {
  cdx: 'workspace';
  version: number;
  /** when it was saved (ISO text), for people reading the file */
  saved?: string;
  steps: Step[];
  /** the app's views when saved: the dataset shown and its tab (the steps' last `view` says the same) */
  views?: { dataset?: string; tab?: ViewTab };
}

export function emptyWorkspace(): Workspace {
  return { cdx: 'workspace', version: WORKSPACE_VERSION, steps: [] };
}

// ------------------------------------------------------------------------------ datasets

/** the dataset a step makes (open, group, join), or null */
export function madeBy(s: Step): string | null {
  return s.kind === 'open' || s.kind === 'group' || s.kind === 'join' ? s.as : null;
}

/** the datasets a step reads */
export function usedBy(s: Step): string[] {
  switch (s.kind) {
    case 'open':
      return [];
    case 'join':
      return [s.left, s.right];
    case 'view':
      return s.dataset ? [s.dataset] : [];
    default:
      return [s.dataset];
  }
}

/** the dataset a step is about: the one it makes, else the one it reads (a join: its result) */
export function datasetOf(s: Step): string | null {
  return madeBy(s) ?? usedBy(s)[0] ?? null;
}

/** the current dataset after these steps: that of the last step naming one */
export function currentDataset(steps: readonly Step[]): string | null {
  for (let i = steps.length - 1; i >= 0; i--) {
    const d = datasetOf(steps[i]!);
    if (d) return d;
  }
  return null;
}

/** `text` as a dataset name (letters, digits and _; `trips by borough` -> `trips_by_borough`), not one of `taken` */
export function uniqueName(text: string, taken: Iterable<string>): string {
  const used = new Set(taken);
  let base = text.replace(/[^\p{L}\p{N}_]+/gu, '_').replace(/^_+|_+$/g, '') || 'data';
  if (/^\d/.test(base)) base = `d${base}`;
  let name = base;
  for (let k = 2; used.has(name); k++) name = `${base}_${k}`;
  return name;
}

/** a name for a new dataset from its location (the file's name without its extension), not one of `taken` */
export function datasetName(location: string, taken: Iterable<string>): string {
  const inner = location.includes('::') ? location.slice(location.lastIndexOf('::') + 2) : '';
  const path = location.replace(/::.*$/, '').replace(/[?#].*$/, '').replace(/[/\\]+$/, '');
  const last = (inner && !inner.startsWith('(') ? inner.split(/[/.]/).pop()! : path.split(/[/\\]/).pop() ?? '') || 'data';
  return uniqueName(last.replace(/\.(gz|zst|bz2|xz|lz4)$/i, '').replace(/\.[A-Za-z0-9]+$/, '') || last, taken);
}

// ------------------------------------------------------------------------------ locations

/** a URL (`scheme://…`: http(s), s3, a database), not a path */
export function isUrlLocation(location: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(location);
}

function isAbsolutePath(p: string): boolean {
  return p.startsWith('/') || p.startsWith('\\\\') || /^[A-Za-z]:[\\/]/.test(p);
}

/** the path with `.` and `..` segments collapsed, its separators as the path had them ('/' when mixed) */
function normalizePath(p: string): string {
  const sep = p.includes('\\') && !p.includes('/') ? '\\' : '/';
  const lead = p.match(/^(\\\\|\/|[A-Za-z]:[\\/])/)?.[0] ?? '';
  const out: string[] = [];
  for (const seg of p.slice(lead.length).split(/[\\/]+/)) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..' && out.length && out[out.length - 1] !== '..') out.pop();
    else if (seg !== '..' || !lead) out.push(seg);
  }
  return lead.replace(/\\$/, sep) + out.join(sep);
}

function folderOf(file: string): string {
  const n = normalizePath(file);
  const i = Math.max(n.lastIndexOf('/'), n.lastIndexOf('\\'));
  return i < 0 ? '' : i === 0 ? n.slice(0, 1) : /^[A-Za-z]:[\\/]$/.test(n.slice(0, i + 1)) ? n.slice(0, i + 1) : n.slice(0, i);
}

/** a URL without the password of its user (a database's, an S3 secret): a workspace never holds one */
export function withoutSecret(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:?#]*):[^@/?#]*@/i, '$1@');
}

/** splits `PATH::INNER` (a Windows drive's `C:` is no `::`) */
function splitInner(location: string): [string, string] {
  const i = location.indexOf('::');
  return i > 0 ? [location.slice(0, i), location.slice(i)] : [location, ''];
}

/**
 * The location as the workspace at `workspaceFile` keeps it: a path inside the workspace's folder
 * relative to it (with `/`), any other path absolute, a URL without its password.
 */
export function storeLocation(location: string, workspaceFile: string): string {
  if (isUrlLocation(location)) return withoutSecret(location);
  const [path, inner] = splitInner(location);
  if (!isAbsolutePath(path) || !isAbsolutePath(workspaceFile)) return location;
  const dir = folderOf(workspaceFile);
  const p = normalizePath(path);
  const norm = (s: string) => s.replace(/\\/g, '/');
  const d = norm(dir).replace(/\/$/, '');
  const q = norm(p);
  if (q.startsWith(d + '/') && q.length > d.length + 1) return q.slice(d.length + 1) + inner;
  return location;
}

/** A stored location as a full one: a relative path is taken from the workspace's folder. */
export function resolveLocation(location: string, workspaceFile: string): string {
  if (isUrlLocation(location)) return location;
  const [path, inner] = splitInner(location);
  if (isAbsolutePath(path)) return location;
  const dir = folderOf(workspaceFile);
  if (!dir) return location;
  const sep = dir.includes('\\') && !dir.includes('/') ? '\\' : '/';
  return normalizePath(dir.replace(/[\\/]$/, '') + sep + path) + inner;
}

/** every `open` location of the workspace kept as `storeLocation` says (a copy) */
export function storeLocations(ws: Workspace, workspaceFile: string): Workspace {
  return { ...ws, steps: ws.steps.map((s) => (s.kind === 'open' ? { ...s, location: storeLocation(s.location, workspaceFile) } : s)) };
}

/** every `open` location of the workspace made full (a copy) */
export function resolveLocations(ws: Workspace, workspaceFile: string): Workspace {
  return { ...ws, steps: ws.steps.map((s) => (s.kind === 'open' ? { ...s, location: resolveLocation(s.location, workspaceFile) } : s)) };
}

// ------------------------------------------------------------------------------ text

/** the workspace as its file holds it: JSON, two-space indented, the keys in a fixed order */
export function serializeWorkspace(ws: Workspace): string {
  const out: Workspace = { cdx: 'workspace', version: ws.version ?? WORKSPACE_VERSION, ...(ws.saved ? { saved: ws.saved } : {}), steps: ws.steps.map(orderedStep) };
  if (ws.views && (ws.views.dataset || ws.views.tab)) out.views = { ...(ws.views.dataset ? { dataset: ws.views.dataset } : {}), ...(ws.views.tab ? { tab: ws.views.tab } : {}) };
  return JSON.stringify(out, null, 2) + '\n';
}

const KEY_ORDER = ['kind', 'as', 'dataset', 'left', 'right', 'location', 'name', 'expr', 'where', 'chips', 'keys', 'by', 'agg', 'sort', 'limit', 'pivot', 'on', 'how', 'columns', 'tab', 'settings'];

function orderedStep(s: Step): Step {
  const src = s as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of KEY_ORDER) if (src[k] !== undefined) out[k] = src[k];
  return out as unknown as Step;
}

/** a short quote of user text for one line (long text cut with an ellipsis) */
function short(s: string, n = 80): string {
  return s.length > n ? s.slice(0, n - 1) + '…' : s;
}

/** a location for reading: whole, or (`short`) its last part — a file's name, a URL's host and last part — with its ::INNER */
function shownLocation(location: string, short: boolean): string {
  const loc = isUrlLocation(location) ? withoutSecret(location) : location;
  if (!short) return loc;
  const [path, inner] = splitInner(loc);
  const host = isUrlLocation(path) ? (path.match(/^[a-z][a-z0-9+.-]*:\/\/(?:[^@/]*@)?([^/?#]+)/i)?.[1] ?? '') : '';
  const last = path.replace(/[?#].*$/, '').replace(/[/\\]+$/, '').split(/[/\\]/).pop() ?? path;
  return (host && host !== last ? `${last} (${host})` : last) + inner;
}

function sortText(keys: readonly string[]): string {
  return keys.map((k) => (k.startsWith('-') ? `${k.slice(1)} descending` : k)).join(', ');
}

/**
 * One line saying what the step does, e.g. `Filter trips: fare > 10`, `Group trips by borough:
 * count() → trips_by_borough`. `short`: a location by its last part (the app's narrow step list).
 */
export function describeStep(s: Step, opts: { short?: boolean } = {}): string {
  switch (s.kind) {
    case 'open':
      return `Open ${shownLocation(s.location, !!opts.short)} as ${s.as}`;
    case 'filter': {
      // chips linked across datasets (issue 18) say so, and where they were made when elsewhere
      const from = [...new Set((s.chips ?? []).flatMap((c) => (c.link ? [c.link.from] : [])))];
      const elsewhere = from.filter((f) => f !== s.dataset);
      const linked = from.length ? ` (linked${elsewhere.length ? ` from ${elsewhere.join(', ')}` : ''})` : '';
      return s.where ? `Filter ${s.dataset}${linked}: ${short(s.where)}` : `Clear the filters of ${s.dataset}${linked}`;
    }
    case 'column':
      return s.expr === null ? `Remove column ${s.name} of ${s.dataset}` : `Column ${s.name} of ${s.dataset} = ${short(s.expr)}`;
    case 'sort':
      return s.keys.length ? `Sort ${s.dataset} by ${sortText(s.keys)}` : `Unsort ${s.dataset} (file order)`;
    case 'group': {
      const extra = [s.where ? `where ${short(s.where, 50)}` : '', s.sort?.length ? `sorted by ${sortText(s.sort)}` : '', s.limit !== undefined ? `first ${s.limit}` : '', s.pivot ? `pivot ${s.pivot}` : '']
        .filter(Boolean)
        .join(', ');
      return `Group ${s.dataset} by ${s.by.join(', ')}: ${short(s.agg, 60)}${extra ? ` (${extra})` : ''} → ${s.as}`;
    }
    case 'join':
      return `Join ${s.left} with ${s.right} on ${s.on.join(', ')} (${s.how}) → ${s.as}`;
    case 'plot': {
      const p = s.settings;
      if (p.kind === 'histogram') return `Plot ${s.dataset}: histogram`;
      if (p.kind === 'line') return `Plot ${s.dataset}: ${lineText(p.line)}`;
      const what = `${p.x ?? '?'} × ${p.y ?? '?'}${p.color ? ` coloured by ${p.color}` : ''}`;
      const more = [p.how ? `tone ${p.how}` : '', p.cmap ? `colours ${p.cmap}` : '', p.viewport ? 'zoomed' : ''].filter(Boolean).join(', ');
      return `Plot ${s.dataset}: ${what}${more ? ` (${more})` : ''}`;
    }
    case 'view':
      return `Show ${s.tab[0]!.toUpperCase()}${s.tab.slice(1)}${s.dataset ? ` of ${s.dataset}` : ''}`;
  }
}

/** a line plot's settings for reading: `area of fare, tip by pickup_at (split by borough, y 0 to 100, zoomed)` */
function lineText(l: LineSettings | undefined): string {
  if (!l) return 'line plot';
  const ys = l.y.length ? short(l.y.join(', '), 60) : '?';
  const more = [l.split ? `split by ${l.split}` : '', l.yLimits ? `y ${l.yLimits[0]} to ${l.yLimits[1]}` : '', l.xRange ? 'zoomed' : ''].filter(Boolean).join(', ');
  return `${l.area ? 'area' : 'line'} of ${ys} by ${l.x}${more ? ` (${more})` : ''}`;
}

// ------------------------------------------------------------------------------ validation

class Problem extends Error {}

function need(ok: unknown, what: string): asserts ok {
  if (!ok) throw new Problem(what);
}

const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const isName = (v: unknown): v is string => typeof v === 'string' && v.trim().length > 0 && v.length <= 200;
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string' && x.length > 0);

function str(o: Record<string, unknown>, k: string, opts: { optional?: boolean; empty?: boolean } = {}): void {
  const v = o[k];
  if (v === undefined && opts.optional) return;
  need(typeof v === 'string', `"${k}" must be text${v === undefined ? ' (it is missing)' : ''}`);
  need(opts.empty || v.trim().length > 0, `"${k}" must not be empty`);
}

function checkSettings(v: unknown): void {
  need(isObj(v), '"settings" must be an object');
  for (const k of ['x', 'y', 'color', 'how', 'cmap']) need(v[k] === undefined || typeof v[k] === 'string', `settings.${k} must be text`);
  for (const k of ['budget', 'pointSize', 'opacity']) need(v[k] === undefined || (typeof v[k] === 'number' && Number.isFinite(v[k]) && v[k] >= 0), `settings.${k} must be a number of at least 0`);
  need(v.kind === undefined || v.kind === 'scatter' || v.kind === 'histogram' || v.kind === 'line', 'settings.kind must be "scatter", "histogram" or "line"');
  need(v.autoStyle === undefined || typeof v.autoStyle === 'boolean', 'settings.autoStyle must be true or false');
  if (v.viewport !== undefined) {
    const vp = v.viewport;
    need(isObj(vp) && ['x0', 'x1', 'y0', 'y1'].every((k) => typeof vp[k] === 'number' && Number.isFinite(vp[k])), 'settings.viewport must have the numbers x0, x1, y0, y1');
    need((vp.x0 as number) < (vp.x1 as number) && (vp.y0 as number) < (vp.y1 as number), 'settings.viewport must have x0 < x1 and y0 < y1');
  }
  if (v.line !== undefined) checkLine(v.line);
}

/** [a, b] of finite numbers with a < b */
const isLimits = (v: unknown): v is [number, number] => Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number' && Number.isFinite(x)) && v[0] < v[1];

function checkLine(l: unknown): void {
  need(isObj(l), 'settings.line must be an object');
  need(isName(l.x), 'settings.line.x must name the x column');
  need(isStrings(l.y), 'settings.line.y must be a list of y column names');
  need(l.split === undefined || typeof l.split === 'string', 'settings.line.split must be text');
  need(l.area === undefined || typeof l.area === 'boolean', 'settings.line.area must be true or false');
  need(l.yLimits === undefined || isLimits(l.yLimits), 'settings.line.yLimits must be [min, max], two numbers with min < max');
  need(l.xRange === undefined || isLimits(l.xRange), 'settings.line.xRange must be [x0, x1], two numbers with x0 < x1');
}

/** a plot step's settings with only the fields this version knows (a later addition left out, as a step's own) */
function pickSettings(v: Record<string, unknown>): PlotSettings {
  const out: Record<string, unknown> = {};
  for (const k of ['kind', 'x', 'y', 'color', 'how', 'cmap', 'budget', 'pointSize', 'opacity', 'autoStyle', 'viewport']) if (v[k] !== undefined) out[k] = v[k];
  if (isObj(v.line)) {
    const l = v.line;
    const line: Record<string, unknown> = { x: l.x, y: (l.y as string[]).slice() };
    for (const k of ['split', 'area', 'yLimits', 'xRange']) if (l[k] !== undefined && l[k] !== '') line[k] = Array.isArray(l[k]) ? (l[k] as number[]).slice() : l[k];
    out.line = line;
  }
  return out as PlotSettings;
}

function checkStep(s: Record<string, unknown>, known: Set<string>): void {
  const kind = s.kind;
  need(typeof kind === 'string', '"kind" is missing');
  need((STEP_KINDS as readonly string[]).includes(kind), `unknown kind "${kind}" (one of ${STEP_KINDS.join(', ')})`);
  const ref = (k: string, optional = false) => {
    if (optional && s[k] === undefined) return;
    need(isName(s[k]), `"${k}" must name a dataset`);
    need(known.has(s[k] as string), `dataset "${s[k]}" is made by no earlier step (${known.size ? `known: ${[...known].join(', ')}` : 'open one first'})`);
  };
  const makes = () => {
    need(isName(s.as), '"as" must name the dataset it makes');
    need(!known.has(s.as as string), `dataset "${s.as}" is already made by an earlier step`);
  };
  switch (kind) {
    case 'open':
      makes();
      str(s, 'location');
      break;
    case 'filter':
      ref('dataset');
      str(s, 'where', { empty: true });
      if (s.chips !== undefined) need(Array.isArray(s.chips) && s.chips.every((c) => isObj(c) && typeof c.text === 'string' && typeof c.enabled === 'boolean'), '"chips" must be a list of { text, enabled }');
      if (Array.isArray(s.chips))
        need(s.chips.every((c) => !isObj(c) || c.link === undefined || (isObj(c.link) && typeof c.link.id === 'string' && typeof c.link.from === 'string')), 'a chip\'s "link" must be { id, from }');
      break;
    case 'column':
      ref('dataset');
      str(s, 'name');
      need(s.expr === null || (typeof s.expr === 'string' && s.expr.trim().length > 0), '"expr" must be the expression text, or null to remove the column');
      break;
    case 'sort':
      ref('dataset');
      need(isStrings(s.keys), '"keys" must be a list of column names (-name descending)');
      break;
    case 'group':
      ref('dataset');
      makes();
      need(isStrings(s.by) && s.by.length > 0, '"by" must be a list of one or more key columns');
      str(s, 'agg');
      str(s, 'where', { optional: true, empty: true });
      need(s.sort === undefined || isStrings(s.sort), '"sort" must be a list of result columns (-name descending)');
      need(s.limit === undefined || (Number.isInteger(s.limit) && (s.limit as number) >= 0), '"limit" must be a whole number');
      str(s, 'pivot', { optional: true });
      break;
    case 'join':
      ref('left');
      ref('right');
      makes();
      need(isStrings(s.on) && s.on.length > 0, '"on" must be a list of one or more key columns (name, or left=right)');
      need(s.how === 'inner' || s.how === 'left', '"how" must be "inner" or "left"');
      need(s.columns === undefined || isStrings(s.columns), '"columns" must be a list of column names');
      break;
    case 'plot':
      ref('dataset');
      checkSettings(s.settings);
      break;
    case 'view':
      need((VIEW_TABS as readonly string[]).includes(s.tab as string), `"tab" must be one of ${VIEW_TABS.join(', ')}`);
      ref('dataset', true);
      break;
  }
}

/**
 * The workspace in `text` (the file `file`, named in errors), checked step by step: E_BAD_WORKSPACE
 * naming the file, the step (counted from 1, with its kind) and the problem; a file of a newer
 * version, E_WORKSPACE_NEWER. Fields it does not know are kept out (a later minor addition reads as
 * the same steps).
 */
export function parseWorkspace(text: string, file: string): Workspace {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw CdxError.file('E_BAD_WORKSPACE', file, `not a CDX workspace: the file is not JSON (${(e as Error).message})`);
  }
  if (!isObj(doc) || doc.cdx !== 'workspace') throw CdxError.file('E_BAD_WORKSPACE', file, 'not a CDX workspace (it has no "cdx": "workspace")');
  const v = doc.version;
  if (!Number.isInteger(v) || (v as number) < 1) throw CdxError.file('E_BAD_WORKSPACE', file, `"version" must be a whole number from 1 (it is ${JSON.stringify(v)})`);
  if ((v as number) > WORKSPACE_VERSION) throw CdxError.file('E_WORKSPACE_NEWER', file, `written by a newer CDX (workspace version ${v}; this CDX reads version ${WORKSPACE_VERSION} and older): update CDX to open it`);
  if (!Array.isArray(doc.steps)) throw CdxError.file('E_BAD_WORKSPACE', file, '"steps" must be a list');
  const known = new Set<string>();
  const steps: Step[] = [];
  doc.steps.forEach((raw, i) => {
    const where = `step ${i + 1}${isObj(raw) && typeof raw.kind === 'string' ? ` (${raw.kind})` : ''}`;
    try {
      need(isObj(raw), 'must be an object');
      checkStep(raw, known);
    } catch (e) {
      if (e instanceof Problem) throw CdxError.file('E_BAD_WORKSPACE', file, `${where}: ${e.message}`);
      throw e;
    }
    const s = pick(raw as Record<string, unknown>);
    const made = madeBy(s);
    if (made) known.add(made);
    steps.push(s);
  });
  const ws: Workspace = { cdx: 'workspace', version: v as number, steps };
  if (typeof doc.saved === 'string') ws.saved = doc.saved;
  if (isObj(doc.views)) {
    const views: Workspace['views'] = {};
    if (typeof doc.views.dataset === 'string' && known.has(doc.views.dataset)) views.dataset = doc.views.dataset;
    if ((VIEW_TABS as readonly string[]).includes(doc.views.tab as string)) views.tab = doc.views.tab as ViewTab;
    ws.views = views;
  }
  return ws;
}

/** the step's own fields (anything else in the file left out) */
function pick(raw: Record<string, unknown>): Step {
  const out: Record<string, unknown> = {};
  for (const k of KEY_ORDER) if (raw[k] !== undefined) out[k] = raw[k];
  if (out.kind === 'plot') out.settings = pickSettings(out.settings as Record<string, unknown>);
  return out as unknown as Step;
}
