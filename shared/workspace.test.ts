/**
 * The workspace format (shared/workspace.ts): what a saved file reads back as, the errors a bad
 * file gets (the file, the step and the problem), a newer version refused, locations kept relative
 * to the workspace's folder, and the one-line reading of each step.
 */
import { describe, expect, it } from 'vitest';
import { CdxError } from './errors';
import {
  currentDataset, datasetName, describeStep, parseWorkspace, resolveLocation, resolveLocations, serializeWorkspace, storeLocation, storeLocations,
  WORKSPACE_VERSION, type Step, type Workspace,
} from './workspace';

const steps: Step[] = [
  { kind: 'open', as: 'trips', location: '/data/trips.csv' },
  { kind: 'filter', dataset: 'trips', where: 'fare > 10 and borough = "Queens"', chips: [{ text: 'fare > 10', enabled: true }, { text: 'borough = "Queens"', enabled: true }] },
  { kind: 'column', dataset: 'trips', name: 'tip_pct', expr: 'tip / fare * 100' },
  { kind: 'sort', dataset: 'trips', keys: ['-fare', 'borough'] },
  { kind: 'group', dataset: 'trips', as: 'by_borough', by: ['borough'], agg: 'count(), mean(fare)', where: 'fare > 10', sort: ['-count'], limit: 100 },
  { kind: 'open', as: 'zones', location: 'postgresql://ana@db:5432/geo::public.zones' },
  { kind: 'join', as: 'trips_zones', left: 'trips', right: 'zones', on: ['zone_id'], how: 'left' },
  { kind: 'plot', dataset: 'trips', settings: { kind: 'scatter', x: 'lon', y: 'lat', color: 'fare', how: 'eq_hist', cmap: 'fire', viewport: { x0: -74, x1: -73, y0: 40, y1: 41 } } },
  { kind: 'view', tab: 'plot', dataset: 'trips' },
];
const ws: Workspace = { cdx: 'workspace', version: WORKSPACE_VERSION, steps, views: { dataset: 'trips', tab: 'plot' } };

function errorOf(text: string, file = '/w/a.cdx'): CdxError {
  try {
    parseWorkspace(text, file);
  } catch (e) {
    return e as CdxError;
  }
  throw new Error('no error');
}

const withSteps = (s: unknown[], version = 1) => JSON.stringify({ cdx: 'workspace', version, steps: s });

describe('the workspace file', () => {
  it('reads back as the workspace it was written from (every kind of step)', () => {
    const text = serializeWorkspace(ws);
    expect(parseWorkspace(text, '/w/a.cdx')).toEqual(ws);
    // the same workspace gives the same bytes
    expect(serializeWorkspace(parseWorkspace(text, '/w/a.cdx'))).toBe(text);
    expect(text.startsWith('{\n  "cdx": "workspace",\n  "version": 1,')).toBe(true);
  });

  it('keeps out fields it does not know', () => {
    const w = parseWorkspace(withSteps([{ kind: 'open', as: 'a', location: 'a.csv', colour: 'red' }]), 'x.cdx');
    expect(w.steps).toEqual([{ kind: 'open', as: 'a', location: 'a.csv' }]);
  });

  it('names the file, the step and the problem', () => {
    const e1 = errorOf(withSteps([{ kind: 'open', as: 'a', location: 'a.csv' }, { kind: 'filter', dataset: 'b', where: 'x > 1' }]));
    expect(e1.code).toBe('E_BAD_WORKSPACE');
    expect(e1.message).toBe('/w/a.cdx: step 2 (filter): dataset "b" is made by no earlier step (known: a)');
    expect(e1.file).toBe('/w/a.cdx');
    expect(errorOf(withSteps([{ kind: 'explode' }])).message).toBe('/w/a.cdx: step 1 (explode): unknown kind "explode" (one of open, filter, column, sort, group, join, plot, view)');
    expect(errorOf(withSteps([{ kind: 'open', as: 'a' }])).message).toBe('/w/a.cdx: step 1 (open): "location" must be text (it is missing)');
    expect(errorOf(withSteps([{ kind: 'open', as: 'a', location: 'a' }, { kind: 'open', as: 'a', location: 'b' }])).message).toContain('step 2 (open): dataset "a" is already made by an earlier step');
    expect(errorOf(withSteps([{ kind: 'open', as: 'a', location: 'a' }, { kind: 'group', dataset: 'a', as: 'g', by: [], agg: 'count()' }])).message).toContain('step 2 (group): "by" must be a list of one or more key columns');
    expect(errorOf(withSteps([{ kind: 'open', as: 'a', location: 'a' }, { kind: 'sort', dataset: 'a', keys: 'x' }])).message).toContain('step 2 (sort): "keys" must be a list');
    expect(errorOf(withSteps([{ kind: 'open', as: 'a', location: 'a' }, { kind: 'plot', dataset: 'a', settings: { viewport: { x0: 1, x1: 0, y0: 0, y1: 1 } } }])).message).toContain('step 2 (plot): settings.viewport must have x0 < x1');
    expect(errorOf(withSteps([{ kind: 'view', tab: 'map' }])).message).toContain('step 1 (view): "tab" must be one of summary, table, info, plot, group');
    expect(errorOf(withSteps(['open a.csv'])).message).toBe('/w/a.cdx: step 1: must be an object');
    expect(errorOf('{"cdx": "workspace", "version": 1').message).toMatch(/^\/w\/a\.cdx: not a CDX workspace: the file is not JSON/);
    expect(errorOf('{"steps": []}').message).toBe('/w/a.cdx: not a CDX workspace (it has no "cdx": "workspace")');
    expect(errorOf('{"cdx": "workspace", "version": "1", "steps": []}').message).toContain('"version" must be a whole number');
    expect(errorOf('{"cdx": "workspace", "version": 1}').message).toBe('/w/a.cdx: "steps" must be a list');
  });

  it('refuses a newer version as such', () => {
    const e = errorOf(withSteps([], WORKSPACE_VERSION + 1));
    expect(e.code).toBe('E_WORKSPACE_NEWER');
    expect(e.message).toBe(`/w/a.cdx: written by a newer CDX (workspace version ${WORKSPACE_VERSION + 1}; this CDX reads version ${WORKSPACE_VERSION} and older): update CDX to open it`);
  });
});

describe('line plot settings (issue 18)', () => {
  const line: Step = {
    kind: 'plot', dataset: 'trips',
    settings: { kind: 'line', line: { x: 'pickup_at', y: ['fare', 'tip'], area: true, yLimits: [-5, 120.5], xRange: [1735689600000, 1735776000000] } },
  };
  const open: Step = { kind: 'open', as: 'trips', location: 'trips.csv' };

  it('read back as written, and read as a line of their own', () => {
    const w: Workspace = { cdx: 'workspace', version: WORKSPACE_VERSION, steps: [open, line] };
    expect(parseWorkspace(serializeWorkspace(w), 'w.cdx')).toEqual(w);
    expect(describeStep(line)).toBe('Plot trips: area of fare, tip by pickup_at (y -5 to 120.5, zoomed)');
    expect(describeStep({ kind: 'plot', dataset: 'trips', settings: { kind: 'line', line: { x: 'pickup_at', y: ['fare', 'tip'], xRange: [0, 1] } } })).toBe('Plot trips: line of fare, tip by pickup_at (zoomed)');
    expect(describeStep({ kind: 'plot', dataset: 'trips', settings: { kind: 'line', line: { x: 't', y: ['c'], split: 'region' } } })).toBe('Plot trips: line of c by t (split by region)');
    // a line step says nothing of the scatter plot's tone or zoom kept beside it
    expect(describeStep({ kind: 'plot', dataset: 'trips', settings: { kind: 'line', x: 'a', y: 'b', how: 'log', viewport: { x0: 0, x1: 1, y0: 0, y1: 1 } } })).toBe('Plot trips: line plot');
  });

  it('a version-1 file without them (kind "line" alone, or a scatter step) still opens', () => {
    const w = parseWorkspace(withSteps([open, { kind: 'plot', dataset: 'trips', settings: { kind: 'line' } }, { kind: 'plot', dataset: 'trips', settings: { x: 'a', y: 'b' } }]), 'old.cdx');
    expect(w.steps.slice(1).map((s) => describeStep(s))).toEqual(['Plot trips: line plot', 'Plot trips: a × b']);
    expect(w.version).toBe(1);
  });

  it('keeps out settings it does not know, in the line settings too', () => {
    const w = parseWorkspace(withSteps([open, { kind: 'plot', dataset: 'trips', settings: { kind: 'line', glow: 3, line: { x: 't', y: ['a'], split: '', smooth: true } } }]), 'w.cdx');
    expect(w.steps[1]).toEqual({ kind: 'plot', dataset: 'trips', settings: { kind: 'line', line: { x: 't', y: ['a'] } } });
  });

  it('a bad line setting is named', () => {
    const bad = (l: unknown) => errorOf(withSteps([open, { kind: 'plot', dataset: 'trips', settings: { kind: 'line', line: l } }])).message;
    expect(bad('t')).toBe('/w/a.cdx: step 2 (plot): settings.line must be an object');
    expect(bad({ y: ['a'] })).toContain('step 2 (plot): settings.line.x must name the x column');
    expect(bad({ x: 't', y: 'a' })).toContain('settings.line.y must be a list of y column names');
    expect(bad({ x: 't', y: ['a'], area: 'yes' })).toContain('settings.line.area must be true or false');
    expect(bad({ x: 't', y: ['a'], yLimits: [3, 1] })).toContain('settings.line.yLimits must be [min, max], two numbers with min < max');
    expect(bad({ x: 't', y: ['a'], xRange: [0, null] })).toContain('settings.line.xRange must be [x0, x1], two numbers with x0 < x1');
  });
});

describe('locations', () => {
  it('a file inside the workspace folder is kept relative to it, others absolute, URLs without a password', () => {
    expect(storeLocation('/home/ana/proj/data/trips.csv', '/home/ana/proj/w.cdx')).toBe('data/trips.csv');
    expect(storeLocation('/home/ana/proj/trips.h5::/group/x', '/home/ana/proj/w.cdx')).toBe('trips.h5::/group/x');
    expect(storeLocation('/home/ana/other/trips.csv', '/home/ana/proj/w.cdx')).toBe('/home/ana/other/trips.csv');
    // a folder whose name starts like the workspace's is not inside it
    expect(storeLocation('/home/ana/project2/t.csv', '/home/ana/proj/w.cdx')).toBe('/home/ana/project2/t.csv');
    expect(storeLocation('/home/ana/proj/./data/../t.csv', '/home/ana/proj/w.cdx')).toBe('t.csv');
    expect(storeLocation('C:\\Users\\ana\\proj\\data\\t.csv', 'C:\\Users\\ana\\proj\\w.cdx')).toBe('data/t.csv');
    expect(storeLocation('postgresql://ana:s3cret@db:5432/geo::public.zones', '/w/a.cdx')).toBe('postgresql://ana@db:5432/geo::public.zones');
    expect(storeLocation('https://example.org/data/t.parquet', '/w/a.cdx')).toBe('https://example.org/data/t.parquet');
  });

  it('a relative location is read from the workspace folder', () => {
    expect(resolveLocation('data/trips.csv', '/home/ana/proj/w.cdx')).toBe('/home/ana/proj/data/trips.csv');
    expect(resolveLocation('../shared/t.parquet', '/home/ana/proj/w.cdx')).toBe('/home/ana/shared/t.parquet');
    expect(resolveLocation('trips.h5::/group/x', '/home/ana/proj/w.cdx')).toBe('/home/ana/proj/trips.h5::/group/x');
    expect(resolveLocation('/abs/t.csv', '/home/ana/proj/w.cdx')).toBe('/abs/t.csv');
    expect(resolveLocation('data\\t.csv', 'C:\\Users\\ana\\proj\\w.cdx')).toBe('C:\\Users\\ana\\proj\\data\\t.csv');
    expect(resolveLocation('clickhouse://u@h:8123/db::t', '/w/a.cdx')).toBe('clickhouse://u@h:8123/db::t');
  });

  it('a workspace moved with its data folder opens the data at the new place', () => {
    const saved = storeLocations(ws, '/data/w.cdx');
    expect(saved.steps[0]).toEqual({ kind: 'open', as: 'trips', location: 'trips.csv' });
    const moved = resolveLocations(parseWorkspace(serializeWorkspace(saved), '/mnt/usb/w.cdx'), '/mnt/usb/w.cdx');
    expect(moved.steps[0]).toEqual({ kind: 'open', as: 'trips', location: '/mnt/usb/trips.csv' });
  });
});

describe('reading the steps', () => {
  it('one line per step', () => {
    expect(steps.map((s) => describeStep(s))).toEqual([
      'Open /data/trips.csv as trips',
      'Filter trips: fare > 10 and borough = "Queens"',
      'Column tip_pct of trips = tip / fare * 100',
      'Sort trips by fare descending, borough',
      'Group trips by borough: count(), mean(fare) (where fare > 10, sorted by count descending, first 100) → by_borough',
      'Open postgresql://ana@db:5432/geo::public.zones as zones',
      'Join trips with zones on zone_id (left) → trips_zones',
      'Plot trips: lon × lat coloured by fare (tone eq_hist, colours fire, zoomed)',
      'Show Plot of trips',
    ]);
    expect(describeStep(steps[0]!, { short: true })).toBe('Open trips.csv as trips');
    expect(describeStep(steps[5]!, { short: true })).toBe('Open geo (db:5432)::public.zones as zones');
    expect(describeStep({ kind: 'open', as: 'h', location: 'C:\\data\\f.h5::/g/x' }, { short: true })).toBe('Open f.h5::/g/x as h');
    expect(describeStep({ kind: 'filter', dataset: 'a', where: '' })).toBe('Clear the filters of a');
    expect(describeStep({ kind: 'sort', dataset: 'a', keys: [] })).toBe('Unsort a (file order)');
    expect(describeStep({ kind: 'column', dataset: 'a', name: 'c', expr: null })).toBe('Remove column c of a');
  });

  it('the current dataset is that of the last step naming one', () => {
    expect(currentDataset(steps)).toBe('trips');
    expect(currentDataset(steps.slice(0, 7))).toBe('trips_zones');
    expect(currentDataset([])).toBeNull();
  });

  it('a new dataset is named after its file, not clashing with others', () => {
    expect(datasetName('/data/yellow-trips 2024.csv.gz', [])).toBe('yellow_trips_2024');
    expect(datasetName('/data/trips.csv', ['trips'])).toBe('trips_2');
    expect(datasetName('/data/f.h5::/grp/temps', [])).toBe('temps');
    expect(datasetName('postgresql://u@h/db::public.zones', [])).toBe('zones');
    expect(datasetName('s3://bucket/trips/', [])).toBe('trips');
    expect(datasetName('/data/2024.parquet', [])).toBe('d2024');
  });
});
