/**
 * The line plot's settings as workspace steps (issue 18 on issue 17's workspace), over a real
 * engine (in process, over the RPC memory ports) and the window's real Catalog: the line plot
 * starts at its default columns without a step; its changes — y columns, area, a zoom, fixed y
 * limits — are a step each once the plot rests, read as "Plot series: area of a, b by t (zoomed)";
 * undo and redo put the plot back (the zoom's range exactly); the saved workspace, opened in a
 * fresh window (a new recorder and catalog), gives the line plot the same settings and range, and
 * its steps undo like any others. A file from before line settings (kind "line" alone) opens
 * with the line plot's defaults. Effects do not run here (Svelte's server build under Node):
 * what LineView's effects do on a change — ask for x's range on a new x, for M4, and tell the
 * recorder (`lineChanged`) — is done by hand in `settle`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { EngineApi } from '../../shared/api';
import { RpcClient, createMemoryPortPair, serveRpc } from '../../shared/rpc';
import { createEngineHandlers } from '../../main/engine/service';
import { duckQuery } from '../../main/engine/sources/testing/oracle';
import { parseWorkspace, serializeWorkspace, type LineSettings } from '../../shared/workspace';
import { Catalog } from './catalog.svelte';
import type { EngineConnection } from './engine.svelte';
import { defaultX, defaultY, LineState, zoomX } from './line.svelte';
import { lineSettingsOf, PLOT_REST_MS, WorkspaceRecorder } from './workspace.svelte';

const root = mkdtempSync(path.join(os.tmpdir(), 'cdx-wsline-'));
const file = path.join(root, 'series.parquet');
const handlers = createEngineHandlers({ home: path.join(root, 'home'), samplePath: null });
const [pa, pb] = createMemoryPortPair();
serveRpc<EngineApi>(handlers, pa);
const client = new RpcClient<EngineApi>(pb);
const engine = { api: client.api, mode: 'web', generation: 1 } as unknown as EngineConnection;
const lit = (p: string) => `'${p.replace(/'/g, "''")}'`;

beforeAll(async () => {
  await duckQuery(`COPY (SELECT TIMESTAMP '2025-01-01 00:00:00' + to_seconds(i * 10) AS t, sin(i / 50.0) * 10 AS a, (i % 97) / 3.0 AS b,
      ['north', 'south'][i % 2 + 1] AS region FROM range(5000) r(i)) TO ${lit(file)} (FORMAT parquet)`);
}, 60_000);

afterAll(() => {
  pb.close();
  handlers.close();
  rmSync(root, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** a window: its catalog, its recorder, and (mount) a line plot as LineView makes one */
function windowOf() {
  const catalog = new Catalog(engine);
  const ws = new WorkspaceRecorder();
  ws.attach(catalog, () => {});
  let ls: LineState | null = null;
  return {
    catalog,
    ws,
    get ls() {
      return ls!;
    },
    /** the line plot view made (the recorder tracks it), its default columns when it has none */
    async mount() {
      const view = catalog.viewOf(catalog.selected!);
      await view.load();
      ls = new LineState(view);
      ws.trackLine(ls);
      if (!ls!.x) {
        ls!.x = defaultX(view.readableFields);
        ls!.ys = [defaultY(view.readableFields, ls!.x)];
      }
      await this.settle();
    },
    /** what LineView's effects do after a change (x's range for a new x, M4 at 400 columns), then a rest */
    async settle() {
      ws.lineChanged(ls!);
      if (ls!.xInfo?.name !== ls!.x) await ls!.setup();
      ws.lineChanged(ls!);
      const asked = ls!.refresh(400);
      ws.lineChanged(ls!);
      await asked;
      ws.lineChanged(ls!);
      await sleep(PLOT_REST_MS + 150);
    },
    texts: () => ws.listed.map((s) => `${s.applied ? '' : '~'}${s.text}`),
    unmount: () => ws.untrackLine(ls!),
  };
}

describe('the line plot in the workspace', () => {
  let saved = '';
  let zoomed: [number, number] = [0, 0];
  let home: [number, number] = [0, 0];

  it('its changes are steps once the plot rests; undo and redo put them back', async () => {
    const w = windowOf();
    expect(await w.catalog.open(file)).toBe(true);
    w.ws.opened(w.catalog.selected!, file);
    // the kind first (the Plot tab's Line button), before the line plot is made
    w.ws.setPlotKind(w.catalog.viewOf(w.catalog.selected!), 'line');
    await w.mount();
    // its default columns are where it starts: no step
    expect(w.texts()).toEqual(['Open ' + file + ' as series', 'Plot series: line plot']);
    expect(w.ls.x).toBe('t');
    expect(w.ls.ys).toEqual(['a']);
    home = w.ls.home;

    w.ls.ys = ['a', 'b'];
    w.ls.area = true;
    await w.settle();
    // a zoom: many range changes in a row (wheel ticks), one step once the plot rests
    for (let i = 0; i < 5; i++) {
      w.ls.range = zoomX(w.ls.range, 0.3, 1.3);
      w.ws.lineChanged(w.ls);
      await sleep(20);
    }
    await w.settle();
    zoomed = w.ls.range;
    w.ls.yFixed = [-12, 40];
    await w.settle();
    expect(w.texts().slice(2)).toEqual([
      'Plot series: area of a, b by t',
      'Plot series: area of a, b by t (zoomed)',
      'Plot series: area of a, b by t (y -12 to 40, zoomed)',
    ]);
    expect(w.ws.steps.at(-1)).toEqual({ kind: 'plot', dataset: 'series', settings: { kind: 'line', line: { x: 't', y: ['a', 'b'], area: true, yLimits: [-12, 40], xRange: zoomed } } });

    // undo: the y limits, then the zoom go back; redo takes the zoom again, exactly
    await w.ws.undo();
    expect(w.ls.yFixed).toBeNull();
    expect(w.ls.range).toEqual(zoomed);
    await w.ws.undo();
    expect(w.ls.range).toEqual(home);
    expect(w.ls.ys).toEqual(['a', 'b']);
    await w.settle();
    // (the plot resting in the settings undone to records nothing)
    expect(w.texts().filter((t) => t.startsWith('~'))).toHaveLength(2);
    await w.ws.redo();
    expect(w.ls.range).toEqual(zoomed);
    await w.ws.redo();
    expect(w.ls.yFixed).toEqual([-12, 40]);
    await w.settle();
    expect(w.texts()).toHaveLength(5);
    expect(w.ws.canRedo).toBe(false);
    // undone to the kind step: the line plot's defaults
    for (let i = 0; i < 3; i++) await w.ws.undo();
    expect(lineSettingsOf(w.ls)).toEqual({ x: 't', y: ['a'] });
    for (let i = 0; i < 3; i++) await w.ws.redo();
    await w.settle();
    expect(lineSettingsOf(w.ls)).toEqual({ x: 't', y: ['a', 'b'], area: true, yLimits: [-12, 40], xRange: zoomed });

    saved = serializeWorkspace(w.ws.toWorkspace({ tab: 'plot', id: w.catalog.selected }));
    w.unmount();
  });

  it('a saved workspace opened in a fresh window gives the line plot the same settings and range; its steps undo', async () => {
    const w = windowOf();
    expect(await w.ws.open(parseWorkspace(saved, path.join(root, 'w.cdx')))).toBe(true);
    expect(w.ws.note).toBeNull();
    expect(w.texts()).toEqual(['Open ' + file + ' as series', 'Plot series: line plot', 'Plot series: area of a, b by t', 'Plot series: area of a, b by t (zoomed)', 'Plot series: area of a, b by t (y -12 to 40, zoomed)']);
    await w.mount();
    const want: LineSettings = { x: 't', y: ['a', 'b'], area: true, yLimits: [-12, 40], xRange: zoomed };
    expect(lineSettingsOf(w.ls)).toEqual(want);
    expect(w.ls.range).toEqual(zoomed);
    expect(w.ls.answer!.res.x0).toBe(zoomed[0]);
    expect(w.ls.answer!.res.series).toHaveLength(2);
    // the plot resting in them records nothing
    expect(w.texts()).toHaveLength(5);
    await w.ws.undo();
    await w.ws.undo();
    expect(w.ls.yFixed).toBeNull();
    expect(w.ls.range).toEqual(home);
    await w.ws.undo();
    await w.ws.undo();
    // back to the kind alone: a fresh line plot
    expect(lineSettingsOf(w.ls)).toEqual({ x: 't', y: ['a'] });
    w.unmount();
  });

  it('a file from before line settings (kind "line" alone) opens with the line plot\'s defaults', async () => {
    const w = windowOf();
    const old = JSON.stringify({ cdx: 'workspace', version: 1, steps: [{ kind: 'open', as: 's', location: file }, { kind: 'plot', dataset: 's', settings: { kind: 'line', x: 'a', y: 'b' } }] });
    expect(await w.ws.open(parseWorkspace(old, path.join(root, 'old.cdx')))).toBe(true);
    expect(w.texts()).toEqual(['Open ' + file + ' as s', 'Plot s: line plot']);
    expect(w.ws.plotKind(w.catalog.selected!)).toBe('line');
    await w.mount();
    expect(lineSettingsOf(w.ls)).toEqual({ x: 't', y: ['a'] });
    expect(w.texts()).toHaveLength(2);
    w.unmount();
  });
});
