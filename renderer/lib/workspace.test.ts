/**
 * The window's workspace recorder (lib/workspace.svelte.ts) over a DatasetView: a filter change is
 * one step (with the dataset's open step before it the first time), undo puts the chips back and
 * redo takes them again, a new step after an undo drops what was undone, sorts in a row are one
 * step, a change of tab is none, and what is saved reads back as the same steps.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { DatasetOverview, DatasetSummary } from '../../shared/api';
import { parseExpr } from '../../shared/expr/parse';
import { parseWorkspace, serializeWorkspace, type ViewTab } from '../../shared/workspace';
import type { Catalog } from './catalog.svelte';
import { DatasetView } from './dataset.svelte';
import type { EngineConnection } from './engine.svelte';
import { workspace } from './workspace.svelte';

const overview = {
  entry: { id: 'd1', name: 'trips.arrow', path: '/data/trips.arrow', format: 'arrow', size: 1 },
  rows: 100,
  schema: { fields: [{ name: 'fare', type: 'float64', nullable: false }, { name: 'payment', type: 'string', nullable: true }] },
  unsupported: [],
  warnings: [],
} as unknown as DatasetOverview;

// the engine's answers do not matter here: the recorder follows the chips
const conn = { api: { overview: async () => overview, summary: async () => ({ columns: [] }) as unknown as DatasetSummary } } as unknown as EngineConnection;

let view: DatasetView;
let tab: ViewTab = 'summary';
const catalog = {
  datasets: [{ id: 'd1', name: 'trips.arrow', path: '/data/trips.arrow', format: 'arrow', size: 1 }],
  selected: 'd1' as string | null,
  viewOf: () => view,
} as unknown as Catalog;

const chips = () => view.filters.map((f) => `${f.text}${f.enabled ? '' : ' (off)'}`);
const texts = () => workspace.listed.map((s) => `${s.applied ? '' : '~'}${s.text}`);

beforeEach(() => {
  workspace.clear();
  view = new DatasetView(conn, 'd1');
  tab = 'summary';
  workspace.attach(catalog, (t) => (tab = t));
});

describe('the workspace recorder', () => {
  it('a filter change is one step; undo and redo put the chips back and forth', async () => {
    view.addFilter(parseExpr('fare > 10'));
    expect(texts()).toEqual(['Open /data/trips.arrow as trips', 'Filter trips: fare > 10']);
    view.addFilter(parseExpr('payment = "cash"'));
    view.setEnabled(view.filters[0]!.id, false);
    expect(texts().slice(2)).toEqual(['Filter trips: fare > 10 and payment = "cash"', 'Filter trips: payment = "cash"']);
    expect(workspace.steps.at(-1)).toEqual({ kind: 'filter', dataset: 'trips', where: 'payment = "cash"', chips: [{ text: 'fare > 10', enabled: false }, { text: 'payment = "cash"', enabled: true }] });

    await workspace.undo();
    expect(chips()).toEqual(['fare > 10', 'payment = "cash"']);
    expect(view.where).toBe('fare > 10 and payment = "cash"');
    await workspace.undo();
    expect(chips()).toEqual(['fare > 10']);
    // undoing records nothing: the list keeps the undone steps for redo
    expect(texts()).toEqual(['Open /data/trips.arrow as trips', 'Filter trips: fare > 10', '~Filter trips: fare > 10 and payment = "cash"', '~Filter trips: payment = "cash"']);
    await workspace.redo();
    expect(chips()).toEqual(['fare > 10', 'payment = "cash"']);
    // a new step drops the one still undone
    view.removeFilter(view.filters[1]!.id);
    expect(texts()).toEqual(['Open /data/trips.arrow as trips', 'Filter trips: fare > 10', 'Filter trips: fare > 10 and payment = "cash"', 'Filter trips: fare > 10']);
    expect(workspace.canRedo).toBe(false);
    // undo back to the start: the open went with the first filter
    for (let i = 0; i < 3; i++) await workspace.undo();
    expect(chips()).toEqual([]);
    expect(workspace.steps).toEqual([]);
    expect(workspace.canUndo).toBe(false);
  });

  it('a change of tab or dataset is no step; the view shown when saving is the file\'s last step', () => {
    workspace.viewChanged('summary', 'd1');
    view.addFilter(parseExpr('fare > 10'));
    workspace.viewChanged('table', 'd1');
    workspace.viewChanged('plot', 'd1');
    expect(texts()).toEqual(['Open /data/trips.arrow as trips', 'Filter trips: fare > 10']);
    const ws = workspace.toWorkspace({ tab: 'plot', id: 'd1' });
    expect(ws.steps.at(-1)).toEqual({ kind: 'view', tab: 'plot', dataset: 'trips' });
    expect(workspace.steps).toHaveLength(2);
  });

  it('sorts of a dataset in a row are one step, undone to the order before them', async () => {
    const { tableSortOf } = await import('./table.svelte');
    const sort = tableSortOf(view);
    sort.click('fare');
    sort.click('fare');
    sort.click('payment', true);
    expect(texts()).toEqual(['Open /data/trips.arrow as trips', 'Sort trips by fare descending, payment']);
    await workspace.undo();
    expect(sort.keys).toEqual([]);
    await workspace.redo();
    expect(sort.keys).toEqual([{ name: 'fare', desc: true }, { name: 'payment', desc: false }]);
    view.addFilter(parseExpr('fare > 1'));
    sort.clear();
    expect(texts().slice(2)).toEqual(['Filter trips: fare > 1', 'Unsort trips (file order)']);
  });

  it('saves the applied steps and the view shown; the file reads back as the same steps', () => {
    view.addFilter(parseExpr('fare > 10'));
    view.addFilter(parseExpr('payment in ("cash", "card")'));
    const ws = workspace.toWorkspace({ tab: 'table', id: 'd1' });
    const back = parseWorkspace(serializeWorkspace(ws), 'w.cdx');
    expect(back.steps).toEqual([...workspace.steps, { kind: 'view', tab: 'table', dataset: 'trips' }]);
    expect(back.views).toEqual({ dataset: 'trips', tab: 'table' });
    expect(back.steps.at(-2)).toMatchObject({ where: 'fare > 10 and payment in ("cash", "card")' });
  });
});
