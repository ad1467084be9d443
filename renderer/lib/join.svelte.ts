/**
 * The Join dialog's state (issue 17), as Svelte 5 runes: whether the window's dialog is open (one
 * for the window, like the computed-column editor: the dataset pane's Join… button and the View ›
 * Join… command, Ctrl+J, open it over the dataset shown), the choices it holds (the other dataset,
 * the key pairs, inner or left, each side's filter), and the engine's `join` call with its progress
 * and cancel. The result is a new catalogued dataset: a one-line note of what happened (rows,
 * matched, where it ran, time) is kept by its id for the dataset pane to show, and the join is a
 * step of the window's workspace (`workspace.joined`). Engine errors (key types that differ, a
 * database side too large to fetch) are kept as the engine words them, never thrown.
 */
import type { DatasetEntry, DatasetOverview, JoinResult } from '../../shared/api';
import type { Field } from '../../shared/datashape';
import type { DatasetView } from './dataset.svelte';
import { formatNumber } from './format';
import { Request } from './request.svelte';
import { workspace } from './workspace.svelte';

export const joinDialog = $state<{ open: boolean }>({ open: false });

export function openJoin(): void {
  joinDialog.open = true;
}

export function closeJoin(): void {
  joinDialog.open = false;
}

/** what each joined dataset's pane says about how it was made, by catalog id (this window's joins) */
export const joinNotes = $state<Record<string, string>>({});

/** the most key pairs the engine takes (main/engine/join.ts) */
export const MAX_PAIRS = 8;

type KeyKind = 'text' | 'number' | 'bool' | 'date' | 'timestamp' | 'time' | 'duration';

/** how a column compares as a join key, as the engine sees it (main/engine/join.ts keyKind); null: it cannot be a key */
export function keyKind(f: Field): KeyKind | null {
  if (f.type === 'string') return 'text';
  if (/^(u?int(8|16|32|64)|float(32|64))$/.test(f.type)) return 'number';
  if (f.type === 'bool' || f.type === 'date' || f.type === 'timestamp' || f.type === 'time' || f.type === 'duration') return f.type;
  return null;
}

/** two columns can be joined on (numbers with numbers, text with text, …) */
export function comparable(a: Field, b: Field): boolean {
  const ka = keyKind(a);
  return ka !== null && ka === keyKind(b);
}

/**
 * The key pair to start from: the first column of the left side (in its order) that the right side
 * has under the same name with a comparable type; none: an empty pair to fill in.
 */
export function prefillPairs(left: readonly Field[], right: readonly Field[]): [string, string][] {
  for (const l of left) {
    const r = right.find((f) => f.name === l.name);
    if (r && comparable(l, r)) return [[l.name, r.name]];
  }
  return [['', '']];
}

const VIA: Record<JoinResult['via'], string> = {
  native: 'native hash join',
  pushdown: 'pushed down to the database',
  'cross-source': 'cross-source: the database side fetched, then the native join',
};

/** the one-line note of what a join made: rows, matched left rows, where it ran, time */
export function joinNote(r: JoinResult, q: { left: string; right: string; on: [string, string][]; how: 'inner' | 'left'; filtered: boolean }): string {
  const keys = q.on.map(([a, b]) => (a === b ? a : `${a} = ${b}`)).join(', ');
  const matched = r.matched !== undefined ? `; ${formatNumber(r.matched)} of ${formatNumber(r.leftRows)} ${q.left} rows matched` : '';
  const rows = `${formatNumber(r.rows)} row${r.rows === 1 ? '' : 's'}`;
  return `${q.how === 'left' ? 'Left join' : 'Inner join'} of ${q.left} with ${q.right} on ${keys}${q.filtered ? ' (filtered)' : ''}: ${rows}${matched} · ${VIA[r.via]} · ${formatNumber(r.ms)} ms`;
}

/** The dialog's choices and the join in flight, for the dataset `view` (the left side). */
export class JoinState {
  /** the catalog as the dialog lists it (its search) */
  datasets = $state.raw<DatasetEntry[]>([]);
  search = $state('');
  /** the right side: its catalog id and its overview once known */
  rightId = $state<string | null>(null);
  right = $state.raw<DatasetOverview | null>(null);
  pairs = $state<[string, string][]>([['', '']]);
  how = $state<'inner' | 'left'>('inner');
  /** join only the rows each side's active filters keep */
  filterLeft = $state(true);
  filterRight = $state(true);
  progress = $state(0);
  stage = $state<string | null>(null);
  private list = new Request<DatasetEntry[]>();
  private rightReq = new Request<DatasetOverview>();
  private req = new Request<JoinResult>();

  constructor(
    readonly view: DatasetView,
    /** a dataset's view in the window (its filters), when it has one */
    readonly viewOf: (id: string) => DatasetView | null,
  ) {}

  get leftFields(): Field[] {
    return this.view.readableFields;
  }

  get rightFields(): Field[] {
    const ov = this.right;
    return ov ? ov.schema.fields.filter((f) => !ov.unsupported.some((u) => u.name === f.name)) : [];
  }

  /** the right side's filter (its view's active chips), '' when none */
  get rightWhere(): string {
    return this.rightId ? (this.viewOf(this.rightId)?.where ?? '') : '';
  }

  get busy(): boolean {
    return this.req.busy;
  }

  get cancelled(): boolean {
    return this.req.cancelled;
  }

  /** the engine's error (as it words it), or of listing the catalog or reading the other side */
  get error(): string | null {
    return (this.req.error ?? this.rightReq.error ?? this.list.error)?.message ?? null;
  }

  get loadingRight(): boolean {
    return this.rightReq.busy;
  }

  /** what is missing before the join can run (null: ready) */
  get incomplete(): string | null {
    if (!this.rightId) return 'Choose the dataset to join with.';
    if (!this.right) return this.loadingRight ? 'Reading its columns…' : 'Its columns could not be read.';
    if (this.pairs.some(([a, b]) => !a || !b)) return 'Choose a column on each side of every key pair.';
    return null;
  }

  async refreshList(): Promise<void> {
    const search = this.search.trim() || undefined;
    const r = await this.list.run(({ signal }) => this.view.engine.api.listDatasets({ search }, { signal }), { delay: search ? 120 : 0 });
    if (r) this.datasets = r;
  }

  /** the right side chosen: its columns read, the key pairs started from the columns both sides name alike */
  async choose(id: string): Promise<void> {
    if (id === this.rightId && this.right) return;
    this.rightId = id;
    this.right = null;
    this.req.reset();
    const ov = await this.rightReq.run(({ signal }) => this.view.engine.api.overview({ dataset: id }, { signal }));
    if (!ov || this.rightId !== id) return;
    this.right = ov;
    this.pairs = prefillPairs(this.leftFields, this.rightFields);
  }

  setPair(i: number, side: 0 | 1, name: string): void {
    const p = this.pairs.map((x) => [...x] as [string, string]);
    p[i]![side] = name;
    // a column picked on one side of an empty pair: the other side's column of that name, when it has one
    const other = side === 0 ? this.rightFields : this.leftFields;
    if (name && !p[i]![1 - side] && other.some((f) => f.name === name)) p[i]![1 - side] = name;
    this.pairs = p;
  }

  addPair(): void {
    if (this.pairs.length < MAX_PAIRS) this.pairs = [...this.pairs, ['', '']];
  }

  removePair(i: number): void {
    if (this.pairs.length > 1) this.pairs = this.pairs.filter((_, j) => j !== i);
  }

  /**
   * Runs the join; resolves to the result (the new dataset's overview), or undefined when it failed
   * (`error`) or was cancelled. A result is a workspace step and gets its note.
   */
  async run(): Promise<JoinResult | undefined> {
    const ov = this.view.overview, right = this.right;
    if (this.incomplete || !ov || !right) return undefined;
    const on = this.pairs.map(([a, b]) => [a, b] as [string, string]);
    const how = this.how;
    const whereLeft = this.filterLeft ? this.view.where : '';
    const whereRight = this.filterRight ? this.rightWhere : '';
    this.progress = 0;
    this.stage = null;
    const r = await this.req.run(({ signal, current }) =>
      this.view.engine.api.join(
        { left: this.view.id, right: right.entry.id, on, how, ...(whereLeft ? { whereLeft } : {}), ...(whereRight ? { whereRight } : {}) },
        {
          signal,
          onProgress: (p) => {
            if (!current()) return;
            if (typeof p.done === 'number' && p.done >= 0) this.progress = p.done;
            if (typeof p.detail === 'string') this.stage = p.detail;
          },
        },
      ),
    );
    if (!r) return undefined;
    joinNotes[r.overview.entry.id] = joinNote(r, { left: ov.entry.name, right: right.entry.name, on, how, filtered: !!(whereLeft || whereRight) });
    workspace.joined(this.view.id, right.entry.id, { on, how, whereLeft, whereRight }, r.overview.entry);
    return r;
  }

  cancel(): void {
    this.req.cancel();
  }

  /** stops everything in flight (the dialog closed) */
  dispose(): void {
    this.req.cancel();
    this.rightReq.reset();
    this.list.reset();
  }
}
