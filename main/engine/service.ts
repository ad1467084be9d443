/**
 * The engine's implementation of the contract (shared/api.ts). Pure Node: runs in the engine
 * process (utilityProcess or forked child); the CLI talks to it through a forked engine too.
 */
import type {
  ColumnStats, DatasetEntry, DatasetOverview, DatasetSummary, EngineApi, EngineInfo, NativeInfo, ColumnSummaryInfo, SetColumnTypeResult,
} from '../../shared/api';
import { COLUMN_TYPE_CHOICES } from '../../shared/api';
import type { Handlers } from '../../shared/rpc';
import { formatDataShape } from '../../shared/datashape';
import { nativeInfo, readRowsIPC, regionStats } from '../../native/index';
import { compileFor, whereExpr, type CompiledFilter } from './filter';
import { takeRowsIPC } from '../../native/select';
import { Selections } from './selection';
import { appVersion, dataHome } from './paths';
import { Datasets, type OpenedDataset } from './datasets';
import type { CatalogEntry } from './catalog';
import { summarizeColumn } from './summarize';
import { browse } from './browse';
import { exportHandlers } from './writers/handlers';
import { density, histogram, plotRanges, points } from './plot';
import { CdxError } from '../../shared/errors';

function loadNativeInfo(): NativeInfo {
  try {
    return { loaded: true, ...nativeInfo() };
  } catch (e) {
    return { loaded: false, error: (e as Error).message };
  }
}

export interface EngineServiceOptions {
  home?: string;
  samplePath?: string | null;
}

function entryOf(e: CatalogEntry): DatasetEntry {
  const i = e.location.lastIndexOf('::');
  return {
    id: e.id,
    name: e.name,
    path: e.location,
    format: e.format,
    size: e.size,
    rows: e.rows,
    sample: e.tags.includes('sample'),
    tags: e.tags,
    addedAt: e.addedAt,
    openedAt: e.openedAt,
    ...(i > 0 ? {} : {}),
  };
}

function overviewOf(ds: OpenedDataset): DatasetOverview {
  return {
    entry: { id: ds.id, name: ds.name, path: ds.location, format: ds.format, size: ds.size, rows: ds.rows, sample: ds.sample },
    rows: ds.rows,
    schema: ds.schema,
    dataShape: formatDataShape(ds.rows, ds.schema),
    metadata: ds.metadata,
    warnings: ds.warnings,
    storage: ds.storage,
    unsupported: [...ds.unsupported].map(([name, reason]) => ({ name, reason })),
    ...(ds.typeOverrides && Object.keys(ds.typeOverrides).length ? { typeOverrides: ds.typeOverrides as DatasetOverview['typeOverrides'] } : {}),
  };
}

export function createEngineHandlers(opts: EngineServiceOptions = {}): Handlers<EngineApi> & { close(): void } {
  const startedAt = Date.now();
  let datasets: Datasets | null = null;
  // filtered views of the table: block counts per (dataset, filter), computed once (LRU of 8)
  const selections = new Selections();
  const store = (): Datasets => {
    if (!datasets) datasets = new Datasets(opts.home ?? dataHome(), opts.samplePath === undefined ? undefined : opts.samplePath);
    return datasets;
  };

  // the user's `where`, parsed and compiled once for this request (main/engine/filter.ts)
  const filterFor = (ds: OpenedDataset, where: string | undefined): CompiledFilter | undefined => compileFor(ds, whereExpr(where));

  return {
    // exports read a mapped dataset natively, through the same filtered windows as the table
    ...exportHandlers(store, { selections, compile: (ds, where) => filterFor(ds, where)! }),

    close() {
      selections.clear();
      datasets?.close();
      datasets = null;
    },

    info(): EngineInfo {
      return { pid: process.pid, version: appVersion(), startedAt, node: process.version, native: loadNativeInfo() };
    },

    async ping({ ms = 0 }, ctx) {
      const start = Date.now();
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(resolve, Math.max(0, Math.min(ms, 600_000)));
        ctx.signal.addEventListener('abort', () => {
          clearTimeout(t);
          reject(CdxError.cancelled('ping'));
        });
      });
      return { pid: process.pid, waited: Date.now() - start };
    },

    listDatasets({ search } = {}) {
      return store().list(search).map(entryOf);
    },

    async open({ location }, ctx) {
      const ds = await store().open(location, { signal: ctx.signal, onProgress: (done, stage) => ctx.progress({ done, detail: stage }) });
      return overviewOf(ds);
    },

    browse({ dir, showHidden }) {
      return browse(dir, showHidden);
    },

    async listInner({ path }) {
      return store().listInner(path);
    },

    // a column's type changed by the user (datasets.ts setColumnType: the CSV read again with it forced)
    async setColumnType({ dataset, column, type }, ctx): Promise<SetColumnTypeResult> {
      if (type !== null && !COLUMN_TYPE_CHOICES.includes(type)) {
        throw new CdxError('E_BAD_TYPE', `unknown column type "${String(type)}" (${COLUMN_TYPE_CHOICES.join(', ')})`, { column });
      }
      const t0 = performance.now();
      const ds = await store().setColumnType(dataset, column, type, {
        signal: ctx.signal,
        onProgress: (done, stage) => ctx.progress({ done, detail: stage }),
      });
      selections.forget(ds.id);
      const warning = ds.warnings.find((w) => w.code === 'W_UNCONVERTED' && w.column === column);
      const f = ds.schema.fields.find((x) => x.name === column)!;
      return {
        overview: overviewOf(ds), column, type: f.type,
        unconverted: warning?.count ?? 0, ...(warning ? { warning } : {}), via: 'reingest', ms: Math.round(performance.now() - t0),
      };
    },

    async removeDataset({ dataset }) {
      selections.forget(dataset);
      return { removed: (await store().remove(dataset)) !== null };
    },

    async overview({ dataset }, ctx) {
      return overviewOf(await store().get(dataset, { signal: ctx.signal }));
    },

    async columnStats({ dataset, column }, ctx): Promise<ColumnStats> {
      const ds = await store().get(dataset, { signal: ctx.signal });
      const c = ds.columns.get(column);
      if (!c) throw new CdxError('E_UNKNOWN_COLUMN', `${ds.location}: no readable column "${column}"`, { file: ds.location, column });
      if (c.kind !== 'numeric' || c.logical) throw new CdxError('E_BAD_TYPE', `${ds.location}: column "${column}" is not a plain number`, { file: ds.location, column });
      let count = 0, nanCount = 0, sum = 0, min = Infinity, max = -Infinity;
      for (const k of c.chunks) {
        const s = await regionStats(c.file, { offset: k.data.offset, count: k.rows, dtype: c.dtype!, littleEndian: c.littleEndian }, { signal: ctx.signal });
        count += s.count;
        nanCount += s.nanCount;
        sum += s.sum;
        if (s.min < min) min = s.min;
        if (s.max > max) max = s.max;
      }
      const ni = loadNativeInfo();
      const valid = count - nanCount;
      return {
        dataset,
        column,
        count,
        nanCount,
        min: valid ? min : NaN,
        max: valid ? max : NaN,
        sum,
        mean: valid ? sum / valid : NaN,
        computedBy: `native kernel, ${ni.threads ?? 1} thread${ni.threads === 1 ? '' : 's'}${ni.openmp ? ' (OpenMP)' : ''}`,
      };
    },

    async summary({ dataset, columns, where, bins, topk }, ctx): Promise<DatasetSummary> {
      const ds = await store().get(dataset, { signal: ctx.signal });
      const fields = columns?.length
        ? columns.map((n) => {
            const f = ds.schema.fields.find((x) => x.name === n);
            if (!f) throw new CdxError('E_UNKNOWN_COLUMN', `${ds.location}: no column "${n}"`, { file: ds.location, column: n });
            return f;
          })
        : ds.schema.fields;
      const filter = filterFor(ds, where);
      const out: ColumnSummaryInfo[] = [];
      let filteredRows: number | undefined;
      for (let i = 0; i < fields.length; i++) {
        const f = fields[i]!;
        const col = ds.columns.get(f.name);
        let info: ColumnSummaryInfo;
        if (!col) {
          info = { name: f.name, type: f.type, nullable: f.nullable, rows: filteredRows ?? ds.rows, count: 0, nulls: 0, skipped: ds.unsupported.get(f.name) ?? 'not readable' };
        } else {
          info = await summarizeColumn(f, col, {
            filter,
            signal: ctx.signal,
            bins,
            topk,
            onProgress: (p) => ctx.progress({ done: (i + p) / fields.length }),
          });
          if (filter) filteredRows = info.rows;
        }
        out.push(info);
        ctx.progress({ done: (i + 1) / fields.length, detail: { column: info } });
      }
      const result: DatasetSummary = { dataset: ds.id, rows: ds.rows, columns: out, ...(filter ? { filteredRows, where } : {}) };
      if (!filter && !columns?.length) store().catalog.setSummary(ds.id, result);
      return result;
    },

    async rows({ dataset, offset, limit, columns, where }, ctx) {
      const ds = await store().get(dataset, { signal: ctx.signal });
      if (!Number.isInteger(offset) || offset < 0) throw new CdxError('E_OUT_OF_RANGE', `row offset ${offset} is not a row number`);
      if (!Number.isInteger(limit) || limit < 0) throw new CdxError('E_OUT_OF_RANGE', `row limit ${limit} is not a row count`);
      const names = columns?.length ? columns : ds.schema.fields.map((f) => f.name).filter((n2) => ds.columns.has(n2));
      const descs = names.map((n2) => {
        const c = ds.columns.get(n2);
        if (!c) throw new CdxError('E_UNKNOWN_COLUMN', `${ds.location}: no readable column "${n2}"`, { file: ds.location, column: n2 });
        return c;
      });
      const filter = filterFor(ds, where);
      if (!filter) {
        const start = Math.min(offset, ds.rows);
        const n = Math.max(0, Math.min(limit, ds.rows - start, 1_000_000));
        const ipc = await readRowsIPC(descs, start, n, { signal: ctx.signal });
        return { offset: start, rows: n, total: ds.rows, ipc };
      }
      // filtered view: the first call for this filter counts passing rows per block (one parallel
      // pass, with progress); every window then scans only the blocks it spans
      const w = await selections.windowOf(ds, where, filter, offset, Math.min(limit, 1_000_000), {
        signal: ctx.signal,
        onProgress: (p) => ctx.progress({ done: p.fraction, detail: 'counting the rows that pass the filter' }),
      });
      const ipc = await takeRowsIPC(descs, w.rowIds, { signal: ctx.signal });
      return { offset: Math.min(offset, w.total), rows: w.rowIds.length, total: w.total, rowIds: w.rowIds, ipc };
    },

    // plots (main/engine/plot.ts)
    plotRanges: async (p, ctx) => plotRanges(await store().get(p.dataset, { signal: ctx.signal }), p, ctx.signal),
    density: async (p, ctx) => { const ds = await store().get(p.dataset, { signal: ctx.signal }); return density(ds, p, whereExpr(p.where), ctx); },
    points: async (p, ctx) => { const ds = await store().get(p.dataset, { signal: ctx.signal }); return points(ds, p, whereExpr(p.where), ctx); },
    histogram: async (p, ctx) => { const ds = await store().get(p.dataset, { signal: ctx.signal }); return histogram(ds, p, whereExpr(p.where), ctx.signal); },
  };
}
