/**
 * Linked filters across datasets (issue 18): a filter chip on columns that several open datasets
 * share (a time range on `date`, a value of `station_id`) applied to all of them at once, each
 * dataset's engine call pushing it down to its own source (native kernels for a file, SQL for a
 * database table) — the expression travels as text, so a date literal is compared as a date by
 * each engine whatever the column's storage (Parquet `date`, PostgreSQL `timestamp`).
 *
 * The link lives in the chips themselves (`FilterChip.link`: an id and the dataset where it was
 * made): the datasets holding a link are those whose chips carry its id, so the workspace's undo,
 * redo and files, which restore chips, restore links with them. This store knows the window's
 * datasets (each `DatasetView` registers itself) and keeps them in step: linking puts the chip in
 * every open dataset it fits; switching, editing or removing a linked chip anywhere does the same
 * everywhere; unlinking keeps it only where it was made; a dataset loaded later takes the links it
 * fits. Each such change is one step of the workspace (`workspace.batch`).
 *
 * "Fits": the dataset has every column the expression reads, of the same kind (numbers, times,
 * text, booleans), and the expression checks against its schema without error. A bare number
 * against a time column (a `range` on stored units) means the unit of the column it was made on,
 * so it links only to a column of the same type and unit.
 */
import type { Expr, Literal } from '../../shared/expr/ast';
import type { Field } from '../../shared/datashape';
import { checkExpr, columnsOf } from '../../shared/expr/bind';
import type { DatasetView, FilterChip } from './dataset.svelte';
import { workspace } from './workspace.svelte';

/** a chip's link: its id (the same in every dataset holding it) and where it was made */
export interface ChipLink {
  id: string;
  /** the dataset (catalog id) where it was made: unlinking keeps it there */
  from: string;
  /** that dataset's name when it was linked (shown as the chip's source) */
  name: string;
}

type Kind = 'number' | 'time' | 'text' | 'bool';

/** what kind of values a column type holds, for linking (another type: itself, linked only to the same type) */
export function linkKind(type: string): Kind | string {
  const t = type.toLowerCase();
  if (/^(u?int(8|16|32|64)|float(16|32|64)|decimal)/.test(t)) return 'number';
  if (t === 'date' || t.startsWith('timestamp')) return 'time';
  if (t === 'string' || t === 'large_string' || t === 'utf8' || t === 'large_utf8') return 'text';
  if (t === 'bool' || t === 'boolean') return 'bool';
  return t;
}

const isNumberLit = (l: Literal) => ('value' in l && typeof l.value === 'number') || 'int' in l;

/** whether the expression compares column `name` itself (not a value computed from it) with bare numbers */
export function numbersOn(e: Expr, name: string): boolean {
  switch (e.kind) {
    case 'and':
    case 'or':
      return e.args.some((a) => numbersOn(a, name));
    case 'not':
      return numbersOn(e.arg, name);
    case 'cmp':
      return !e.left.expr && e.left.name === name && isNumberLit(e.right);
    case 'in':
      return !e.col.expr && e.col.name === name && e.values.some(isNumberLit);
    case 'between':
      return !e.col.expr && e.col.name === name && (isNumberLit(e.lo) || isNumberLit(e.hi));
    case 'range':
      return !e.col.expr && e.col.name === name;
    case 'inpolygon':
      return (!e.x.expr && e.x.name === name) || (!e.y.expr && e.y.name === name);
    default:
      return false;
  }
}

/**
 * Whether a filter made on a dataset with fields `from` applies as it stands to one with fields
 * `to`: every column it reads is in both, of the same kind (a bare number on a time column: the
 * same type and unit), and it checks against `to` without error.
 */
export function fits(e: Expr, from: readonly Field[], to: readonly Field[]): boolean {
  const names = columnsOf(e);
  if (!names.length) return false;
  for (const n of names) {
    const a = from.find((f) => f.name === n), b = to.find((f) => f.name === n);
    if (!a || !b) return false;
    const k = linkKind(a.type);
    if (k !== linkKind(b.type)) return false;
    if (k === 'time' && (a.type !== b.type || (a.unit ?? '') !== (b.unit ?? '')) && numbersOn(e, n)) return false;
  }
  return !checkExpr(e, { fields: to }).some((p) => p.severity === 'error');
}

/** A link as the bar shows it: where it was made and every dataset holding it. */
export interface LinkInfo {
  link: ChipLink;
  /** the source's name (its view's, else the one kept in the link) */
  from: string;
  /** whether the view asked about is where it was made */
  here: boolean;
  /** the names of the datasets holding it, the source first */
  members: string[];
}

const nameOf = (v: DatasetView) => v.overview?.entry.name ?? v.id;

export class LinkedFilters {
  /** the window's datasets by catalog id (plain: views register while the catalog's template reads them) */
  private views = new Map<string, DatasetView>();
  /** bumped when a dataset is loaded or forgotten: the bar's "applies to" lists follow */
  private version = $state(0);
  private next = 1;

  register(v: DatasetView): void {
    this.views.set(v.id, v);
  }

  /** a dataset forgotten (removed from the catalog) */
  forget(id: string): void {
    if (this.views.delete(id)) this.version++;
  }

  /** the datasets loaded in this window (an overview: their schema is known) */
  private loaded(): DatasetView[] {
    void this.version;
    return [...this.views.values()].filter((v) => v.overview);
  }

  /** the other loaded datasets the chip would apply to if linked (names, for the Link control's tooltip) */
  candidates(view: DatasetView, chip: FilterChip): string[] {
    const from = view.readableFields;
    return this.loaded().filter((v) => v !== view && fits(chip.expr, from, v.readableFields)).map(nameOf);
  }

  /** the link of a chip as the bar shows it */
  info(view: DatasetView, link: ChipLink): LinkInfo {
    const holding = this.loaded().filter((v) => v.linkedChip(link.id));
    const src = this.views.get(link.from);
    const members = holding.sort((a, b) => Number(b.id === link.from) - Number(a.id === link.from)).map(nameOf);
    return { link, from: src?.overview ? nameOf(src) : link.name, here: view.id === link.from, members };
  }

  /** a fresh link id (ids restored from a workspace file are kept clear of) */
  private newId(): string {
    const used = new Set([...this.views.values()].flatMap((v) => v.filters.flatMap((f) => (f.link ? [f.link.id] : []))));
    let id: string;
    do id = `L${this.next++}`;
    while (used.has(id));
    return id;
  }

  /** Links the chip: it goes to every other loaded dataset it fits (and to those loaded later). */
  link(view: DatasetView, chipId: number): ChipLink | null {
    const chip = view.filters.find((f) => f.id === chipId);
    if (!chip || !view.overview) return null;
    if (chip.link) return chip.link;
    const link: ChipLink = { id: this.newId(), from: view.id, name: nameOf(view) };
    workspace.batch(() => {
      view.markLinked(chipId, link);
      this.spread(view, link, chip.expr, chip.enabled);
    });
    return link;
  }

  /** the link's chip set to `expr` in `origin` and in every loaded dataset it fits; dropped where it no longer fits */
  private spread(origin: DatasetView, link: ChipLink, expr: Expr, enabled: boolean): void {
    const from = origin.readableFields;
    for (const v of this.loaded()) {
      if (v === origin || fits(expr, from, v.readableFields)) v.putLinked(link, expr, enabled);
      else v.dropLinked(link.id);
    }
  }

  /** a linked chip edited in `view`: the new expression wherever it fits */
  replace(view: DatasetView, link: ChipLink, expr: Expr): void {
    workspace.batch(() => this.spread(view, link, expr, true));
  }

  /** a linked chip switched on or off: everywhere */
  setEnabled(link: ChipLink, enabled: boolean): void {
    workspace.batch(() => {
      for (const v of this.holding(link.id)) {
        const c = v.linkedChip(link.id)!;
        v.putLinked(c.link!, c.expr, enabled);
      }
    });
  }

  /** a linked chip removed: everywhere */
  remove(link: ChipLink): void {
    workspace.batch(() => {
      for (const v of this.holding(link.id)) v.dropLinked(link.id);
    });
  }

  /**
   * Unlinked: kept (as a plain chip) only in the dataset where it was made; when that one is not
   * open any more, in `view`, where the user unlinked it.
   */
  unlink(view: DatasetView, link: ChipLink): void {
    const holding = this.holding(link.id);
    const keep = holding.some((v) => v.id === link.from) ? link.from : view.id;
    workspace.batch(() => {
      for (const v of holding) v.dropLinked(link.id, v.id === keep);
    });
  }

  /**
   * A dataset just loaded (its overview known, its summary not yet asked): it takes the links of
   * the other datasets that it fits, without a summary of its own (its load runs one next).
   */
  adopt(view: DatasetView): void {
    this.version++;
    const to = view.readableFields;
    const seen = new Set(view.filters.flatMap((f) => (f.link ? [f.link.id] : [])));
    const take: { link: ChipLink; expr: Expr; enabled: boolean }[] = [];
    for (const v of this.views.values()) {
      if (v === view || !v.overview) continue;
      for (const c of v.filters) {
        if (!c.link || seen.has(c.link.id)) continue;
        // (the source's chip when it is open: the one the link was made from)
        const src = this.views.get(c.link.from);
        const chip = src?.overview ? (src.linkedChip(c.link.id) ?? c) : c;
        const fromFields = chip === c ? v.readableFields : src!.readableFields;
        seen.add(c.link.id);
        if (fits(chip.expr, fromFields, to)) take.push({ link: chip.link!, expr: chip.expr, enabled: chip.enabled });
      }
    }
    if (!take.length) return;
    workspace.batch(() => {
      for (const t of take) view.putLinked(t.link, t.expr, t.enabled, false);
    });
  }

  /** the registered datasets holding the link */
  private holding(id: string): DatasetView[] {
    return [...this.views.values()].filter((v) => v.linkedChip(id));
  }
}

/** the window's linked filters */
export const linked = new LinkedFilters();
