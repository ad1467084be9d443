/**
 * The engine's implementation of the contract (shared/api.ts). Pure Node: runs in the engine
 * process (utilityProcess or forked child); the CLI talks to it through a forked engine too.
 */
import { applyComputedSql, redefine } from './computed';
import type {
  ColumnStats, DatasetEntry, GroupByResult, DatasetOverview, DatasetSummary, EngineApi, EngineInfo, NativeInfo, ColumnSummaryInfo, SetColumnTypeResult,
} from '../../shared/api';
import { COLUMN_TYPE_CHOICES } from '../../shared/api';
import path from 'node:path';
import type { Handlers } from '../../shared/rpc';
import { formatDataShape, type Field } from '../../shared/datashape';
import { nativeInfo, readRowsIPC, regionStats } from '../../native/index';
import { compileFor, whereExpr, type CompiledFilter } from './filter';
import { takeRowsIPC } from '../../native/select';
import { Selections } from './selection';
import { Sorts, parseSort } from './sort';
import { appVersion, dataHome } from './paths';
import { Datasets, needColumns, type OpenedDataset } from './datasets';
import { columnsOf } from '../../shared/expr/bind';
import type { CatalogEntry } from './catalog';
import { summarizeColumns } from './summarize';
import { groupDataset, parseMeasures } from './group';
import { saveGroups } from './group-save';
import { pivotGroups } from './pivot';
import { joinRequest } from './join-request';
import { browse } from './browse';
import { readWorkspace, saveWorkspace } from './workspace-file';
import { providers } from './sources/registry';
// Export and the database clients load at their first use (lazy.ts)
import { exportHandlers } from './lazy';
import { density, histogram, plotRanges, points } from './plot';
import { line } from './line';
import { stopBackgroundWork } from './spatial';
import { setTempJournal, sweepTemps } from './durable';
import { CdxError } from '../../shared/errors';
import { LazyRemoteDatasets as RemoteDatasets, sqlSource } from './lazy';
import { sortedSqlSource } from './sql/sorted-source';
import type { SqlDataset } from './sql/dataset';
import { isDbLocation } from './sql/url';
import { FileConnections, isFileConnectionUrl } from './remote/connections';
import { RecordBatchStreamWriter, Table, type RecordBatch } from 'apache-arrow';

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
    // a dataset of many files (sources/multi.ts's metadata): the catalog list shows it as a folder
    ...(e.metadata?.fileCount ? { files: Number(e.metadata.fileCount) } : {}),
  };
}

function remoteOverview(entry: CatalogEntry, ds: SqlDataset): DatasetOverview {
  const schema = ds.schema;
  return {
    entry: { id: entry.id, name: entry.name, path: entry.location, format: entry.format, size: 0, rows: ds.rows, sample: false },
    rows: ds.rows,
    schema,
    dataShape: formatDataShape(ds.rows, schema),
    metadata: entry.metadata,
    warnings: [],
    storage: { kind: 'remote', path: ds.conn.label },
    remote: ds.remote(),
    unsupported: [],
  };
}

/** The columns a filter reads (a lazily read dataset reads them with the request's own); none when it does not parse (the request reports that). */
function whereColumns(where: string | undefined): string[] {
  if (!where?.trim()) return [];
  try {
    const e = whereExpr(where);
    return e ? columnsOf(e) : [];
  } catch {
    return [];
  }
}

/** The columns a plot request reads. */
function plotColumns(p: { x?: string; y?: string; color?: string; column?: string; where?: string }): string[] {
  return [p.x, p.y, p.color, p.column].filter((c): c is string => typeof c === 'string' && c.length > 0).concat(whereColumns(p.where));
}

function ipcOf(batch: RecordBatch): Uint8Array {
  return RecordBatchStreamWriter.writeAll(new Table(batch)).toUint8Array(true);
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
  // what engines killed mid-write left (temporary cache files, exports in progress) goes before
  // anything is written; exports in progress are noted in the cache's journal (durable.ts)
  const home = opts.home ?? dataHome();
  setTempJournal(path.join(home, 'cache', 'inflight'));
  sweepTemps(path.join(home, 'cache'));
  let datasets: Datasets | null = null;
  // filtered views of the table: block counts per (dataset, filter), computed once (LRU of 8)
  const selections = new Selections();
  // sorted views of the table: row permutations per (dataset, sort, filter), computed once (LRU of 4)
  const sorts = new Sorts();
  const store = (): Datasets => {
    if (!datasets) datasets = new Datasets(home, opts.samplePath === undefined ? undefined : opts.samplePath);
    return datasets;
  };
  // databases: tables and queries computed where they live (main/engine/sql)
  let remoteStore: RemoteDatasets | null = null;
  const remote = (): RemoteDatasets => (remoteStore ??= new RemoteDatasets(store().catalog));
  const db = (id: string, signal: AbortSignal) => (id === 'sample' ? Promise.resolve(null) : remote().lookup(id, { signal }));
  // http(s) bases and S3 buckets saved as connections (remote/connections.ts), in the same catalog table
  let fileConnsStore: FileConnections | null = null;
  const fileConns = (): FileConnections => (fileConnsStore ??= new FileConnections(store().catalog));

  // the user's `where`, parsed and compiled once for this request (main/engine/filter.ts)
  const filterFor = (ds: OpenedDataset, where: string | undefined): CompiledFilter | undefined => compileFor(ds, whereExpr(where));

  return {
    // exports read a mapped dataset natively, through the same filtered (and sorted) windows as the table
    ...exportHandlers(store, { selections, sorts, compile: (ds, where) => filterFor(ds, where)! }, async (p, signal) => {
      let r: { entry: CatalogEntry; ds: SqlDataset } | null = null;
      if (p.dataset !== undefined) r = await db(p.dataset, signal);
      else if (p.location !== undefined && isDbLocation(p.location)) r = await remote().open(p.location, { signal });
      if (!r) return null;
      // a sorted export of a database: its ORDER BY, window after window
      const source = p.sort?.length
        ? sortedSqlSource(r.ds, r.entry.location, whereExpr(p.where), p.where ?? '', parseSort(p.sort))
        : sqlSource(r.ds, r.entry.location, whereExpr(p.where));
      return { input: r.entry.location, name: r.entry.name.replace(/[^\w.-]+/g, '_').replace(/^.*\./, ''), source };
    }, async (location, signal) => (isDbLocation(location) ? (await remote().open(location, { signal })).entry.id : null)),

    close() {
      // spatial copies being built in the background: cancelled, their partial files removed
      stopBackgroundWork();
      void remoteStore?.close();
      remoteStore = null;
      selections.clear();
      sorts.clear();
      datasets?.close();
      datasets = null;
    },

    readerFormats() {
      return providers.map((p) => ({ format: p.format, extensions: [...p.extensions] }));
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
      if (isDbLocation(location)) {
        const r = await remote().open(location, { signal: ctx.signal });
        return remoteOverview(r.entry, r.ds);
      }
      // (a remote Parquet file read by ranges reads its footer now, its columns when a view needs them)
      const ds = await store().open(location, { signal: ctx.signal, columns: [], onProgress: (done, stage) => ctx.progress({ done, detail: stage }) });
      return overviewOf(ds);
    },

    browse({ dir, showHidden }) {
      return browse(dir, showHidden);
    },

    async listInner({ path }) {
      if (isDbLocation(path)) return remote().listInner(path);
      return store().listInner(path);
    },

    readWorkspace({ path: file }) {
      return readWorkspace(file);
    },

    saveWorkspace({ path: file, workspace, force }) {
      return saveWorkspace(file, workspace, force);
    },

    // saved connections, never a secret in the catalog: databases (main/engine/sql/remote.ts), and
    // http(s) bases and S3 buckets (main/engine/remote/connections.ts), told apart by the URL's scheme
    listConnections: async () => {
      const dbs = store().catalog.connections().some((r) => isDbLocation(r.url)) ? await remote().listConnections() : [];
      return [...dbs, ...fileConns().list()].sort((a, b) => a.addedAt - b.addedAt || (a.url < b.url ? -1 : 1));
    },
    saveConnection: async (p) => (isFileConnectionUrl(p.url) ? fileConns().save(p) : remote().saveConnection(p)),
    testConnection: async (p, ctx) => (isFileConnectionUrl(p.url) ? fileConns().test(p, ctx.signal) : remote().testConnection(p, ctx.signal)),
    removeConnection: async ({ url }) => (isFileConnectionUrl(url) ? fileConns().remove(url) : remote().removeConnection(url)),
    setSecret: async ({ url, password }) => (isFileConnectionUrl(url) ? fileConns().setSecret(url, password) : remote().setSecret(url, password)),
    async browseRemote({ url }, ctx) {
      if (isFileConnectionUrl(url)) return fileConns().browse(url, ctx.signal);
      if (!isDbLocation(url)) throw new CdxError('E_BAD_ARG', `"${url}" is not a connection (a database URL, https://host/folder/ or s3://bucket/prefix/)`);
      // a database's tables and views, each opened as URL::TABLE
      const conn = url.trim();
      return (await remote().listInner(conn)).map((t) => ({
        name: t.inner, path: `${conn}::${t.inner}`, kind: 'file' as const, format: conn.slice(0, conn.indexOf(':')).replace(/^postgres$/, 'postgresql'),
        relation: t.kind, ...(t.rows !== undefined ? { rows: t.rows } : {}),
      }));
    },

    // a column's type changed by the user (datasets.ts setColumnType: the CSV read again with it forced)
    async setColumnType({ dataset, column, type }, ctx): Promise<SetColumnTypeResult> {
      if (type !== null && !COLUMN_TYPE_CHOICES.includes(type)) {
        throw new CdxError('E_BAD_TYPE', `unknown column type "${String(type)}" (${COLUMN_TYPE_CHOICES.join(', ')})`, { column });
      }
      const r = await db(dataset, ctx.signal);
      if (r) {
        throw new CdxError('E_UNSUPPORTED', `${r.ds.what}: a database column keeps the type the database gives it; cast it in a query instead (the SQL editor, or --sql): SELECT CAST("${column}" AS …) …`, { file: r.ds.what, column });
      }
      const t0 = performance.now();
      const ds = await store().setColumnType(dataset, column, type, {
        signal: ctx.signal,
        onProgress: (done, stage) => ctx.progress({ done, detail: stage }),
      });
      selections.forget(ds.id);
      sorts.forget(ds.id);
      const warning = ds.warnings.find((w) => w.code === 'W_UNCONVERTED' && w.column === column);
      const f = ds.schema.fields.find((x) => x.name === column)!;
      return {
        overview: overviewOf(ds), column, type: f.type,
        unconverted: warning?.count ?? 0, ...(warning ? { warning } : {}), via: 'reingest', ms: Math.round(performance.now() - t0),
      };
    },

    // a computed column defined or removed (computed.ts): the dataset's filtered and sorted views start again
    async defineColumn({ dataset, name, expr }, ctx) {
      const r = await db(dataset, ctx.signal);
      if (r) {
        // a database's table or query: the database computes it (its SELECTs name the value)
        const entry = store().catalog.get(r.entry.id) ?? r.entry;
        const defs = redefine({ location: r.ds.what, rows: r.ds.rows, schema: r.ds.schema, columns: new Map(), unsupported: new Map() }, entry.computed ?? [], name, expr);
        applyComputedSql(r.ds, defs, true);
        store().catalog.setComputed(r.entry.id, defs);
        return remoteOverview(store().catalog.get(r.entry.id) ?? r.entry, r.ds);
      }
      const ds = await store().defineColumn(dataset, name, expr, { signal: ctx.signal });
      selections.forget(ds.id);
      sorts.forget(ds.id);
      return overviewOf(ds);
    },

    async removeDataset({ dataset }) {
      selections.forget(dataset);
      sorts.forget(dataset);
      remoteStore?.forget(dataset);
      return { removed: (await store().remove(dataset)) !== null };
    },

    async overview({ dataset }, ctx) {
      const r = await db(dataset, ctx.signal);
      if (r) return remoteOverview(r.entry, r.ds);
      return overviewOf(await store().get(dataset, { signal: ctx.signal, columns: [] }));
    },

    async columnStats({ dataset, column }, ctx): Promise<ColumnStats> {
      const r = await db(dataset, ctx.signal);
      if (r) {
        // computed by the database: one aggregate query
        const st = await r.ds.stats(column, { signal: ctx.signal });
        return {
          dataset, column, ...st,
          computedBy: `the database (${r.ds.serverVersion})`,
        };
      }
      const ds = await store().get(dataset, { signal: ctx.signal, columns: [column] });
      const c = ds.columns.get(column);
      if (!c) throw new CdxError('E_UNKNOWN_COLUMN', `${ds.location}: no readable column "${column}"`, { file: ds.location, column });
      if (c.kind !== 'numeric' || c.logical || c.computed) throw new CdxError('E_BAD_TYPE', `${ds.location}: column "${column}" is not a plain stored number (the summary has its statistics)`, { file: ds.location, column });
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

    async groupBy({ dataset, by, agg, where, sort, limit, save, pivot }, ctx): Promise<GroupByResult> {
      const measures = parseMeasures(agg);
      if (pivot !== undefined && by.includes(pivot)) throw new CdxError('E_BAD_ARG', `pivot by ${pivot}: it is a key already; pivot by another column`, { column: pivot });
      // a pivot (pivot.ts) reshapes the group-by of the keys and the pivot key, in key order; saved as a
      // dataset (group-save.ts) every group is computed and written; either way `limit` cuts only what is sent
      const whole = !!save || pivot !== undefined;
      const spec = pivot !== undefined ? { by: [...by, pivot], measures, sort: [...by, pivot] } : { by, measures, sort, limit: whole ? undefined : limit };
      const counts = new Set(measures.filter((m) => m.fn === 'rows' || m.fn === 'count' || m.fn === 'distinct').map((m) => m.name));
      const finish = async (id: string, name: string, grouped: Table, fields: Field[], groups: number): Promise<GroupByResult> => {
        let table = grouped, schema = fields, n = groups;
        if (pivot !== undefined) ({ table, schema, groups: n } = pivotGroups(grouped, fields, by, pivot, { sort, counts }));
        const saved = save
          ? await saveGroups(store(), table, { dataset: name, by, agg, ...(where ? { where } : {}), ...(sort ? { sort } : {}), ...(pivot !== undefined ? { pivot } : {}) }, { name: save.name, signal: ctx.signal })
          : undefined;
        const sent = whole && limit !== undefined ? table.slice(0, limit) : table;
        return {
          dataset: id, groups: n, rows: sent.numRows, schema,
          ipc: RecordBatchStreamWriter.writeAll(sent).toUint8Array(true), ...(where ? { where } : {}), ...(saved ? { saved: { id: saved.id, name: saved.name, rows: saved.rows } } : {}),
        };
      };
      const r = await db(dataset, ctx.signal);
      if (r) {
        // computed by the database: only the groups travel
        const g = await r.ds.groupBy(spec, whereExpr(where), { signal: ctx.signal });
        return finish(r.entry.id, r.entry.name, new Table(g.batch), g.fields, g.groups);
      }
      const ds = await store().get(dataset, { signal: ctx.signal, columns: [] });
      await needColumns(ds, [...spec.by, ...measures.flatMap((m) => (m.column ? [m.column] : [])), ...whereColumns(where)], { signal: ctx.signal, onProgress: (done, stage) => ctx.progress({ done, detail: stage }) });
      const res = await groupDataset(ds, spec, { filter: filterFor(ds, where), signal: ctx.signal, onProgress: (f) => ctx.progress({ done: f }) });
      return finish(ds.id, ds.name, res.table, res.schema, res.groups);
    },

    // joins (main/engine/join-request.ts): native, pushed down to one database, or across sources
    join: (p, ctx) => joinRequest({
      store: store(), db, openDb: (location, signal) => remote().open(location, { signal }), overviewOf, remoteOverview,
    }, p, ctx),

    async summary({ dataset, columns, where, bins, topk }, ctx): Promise<DatasetSummary> {
      const r = await db(dataset, ctx.signal);
      if (r) {
        const s = await r.ds.summary(columns, whereExpr(where), {
          bins, topk, signal: ctx.signal,
          onColumn: (info, i, n) => ctx.progress({ done: (i + 1) / n, detail: { column: info } }),
        });
        const result: DatasetSummary = { dataset: r.entry.id, rows: s.rows, columns: s.columns, ...(where ? { filteredRows: s.filteredRows, where } : {}) };
        if (!where && !columns?.length) store().catalog.setSummary(r.entry.id, result);
        return result;
      }
      const ds = await store().get(dataset, { signal: ctx.signal, columns: [] });
      await needColumns(ds, columns?.length ? [...columns, ...whereColumns(where)] : undefined, { signal: ctx.signal, onProgress: (done, stage) => ctx.progress({ done, detail: stage }) });
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
      // every readable column in one scan
      const readable = fields.flatMap((f) => (ds.columns.has(f.name) ? [{ field: f, col: ds.columns.get(f.name)! }] : []));
      const infos = await summarizeColumns(readable, { filter, signal: ctx.signal, bins, topk, onProgress: (p) => ctx.progress({ done: p }) });
      if (filter && infos.length) filteredRows = infos[0]!.rows;
      for (let i = 0, j = 0; i < fields.length; i++) {
        const f = fields[i]!;
        const info: ColumnSummaryInfo = ds.columns.has(f.name)
          ? infos[j++]!
          : { name: f.name, type: f.type, nullable: f.nullable, rows: filteredRows ?? ds.rows, count: 0, nulls: 0, skipped: ds.unsupported.get(f.name) ?? 'not readable' };
        out.push(info);
        ctx.progress({ done: (i + 1) / fields.length, detail: { column: info } });
      }
      const result: DatasetSummary = { dataset: ds.id, rows: ds.rows, columns: out, ...(filter ? { filteredRows, where } : {}) };
      if (!filter && !columns?.length) store().catalog.setSummary(ds.id, result);
      return result;
    },

    async rows({ dataset, offset, limit, columns, where, sort }, ctx) {
      if (!Number.isInteger(offset) || offset < 0) throw new CdxError('E_OUT_OF_RANGE', `row offset ${offset} is not a row number`);
      if (!Number.isInteger(limit) || limit < 0) throw new CdxError('E_OUT_OF_RANGE', `row limit ${limit} is not a row count`);
      const sortKeys = sort?.length ? parseSort(sort) : [];
      const r = await db(dataset, ctx.signal);
      if (r) {
        const names = columns?.length ? columns : r.ds.columns.map((c) => c.field.name);
        const w = await r.ds.window(names, offset, Math.min(limit, 1_000_000), whereExpr(where), where ?? '', { signal: ctx.signal }, sortKeys.length ? sortKeys : undefined);
        const n = w.batch.numRows;
        // (a filtered or sorted window's rows are numbered in the view: the database keeps no row numbers)
        return { offset: w.offset, rows: n, total: w.total, ...(where || sortKeys.length ? { rowIds: Float64Array.from({ length: n }, (_, i) => w.offset + i) } : {}), ipc: ipcOf(w.batch) };
      }
      const ds = await store().get(dataset, { signal: ctx.signal, columns: columns?.length ? [...columns, ...whereColumns(where), ...sortKeys.map((k) => k.name)] : undefined });
      if (!Number.isInteger(offset) || offset < 0) throw new CdxError('E_OUT_OF_RANGE', `row offset ${offset} is not a row number`);
      if (!Number.isInteger(limit) || limit < 0) throw new CdxError('E_OUT_OF_RANGE', `row limit ${limit} is not a row count`);
      const names = columns?.length ? columns : ds.schema.fields.map((f) => f.name).filter((n2) => ds.columns.has(n2));
      const descs = names.map((n2) => {
        const c = ds.columns.get(n2);
        if (!c) throw new CdxError('E_UNKNOWN_COLUMN', `${ds.location}: no readable column "${n2}"`, { file: ds.location, column: n2 });
        return c;
      });
      const filter = filterFor(ds, where);
      if (sortKeys.length) {
        // sorted view: the first call for this (sort, filter) computes the permutation (progress
        // reported); every window then gathers its rows through it
        const w = await sorts.windowOf(ds, sortKeys, where, filter, offset, Math.min(limit, 1_000_000), {
          signal: ctx.signal,
          onProgress: (p) => ctx.progress({ done: p.fraction, detail: 'sorting' }),
        });
        const ipc = await takeRowsIPC(descs, w.rowIds, { signal: ctx.signal });
        return { offset: Math.min(offset, w.total), rows: w.rowIds.length, total: w.total, rowIds: w.rowIds, ipc };
      }
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
    plotRanges: async (p, ctx) => {
      const r = await db(p.dataset, ctx.signal);
      if (r) return r.ds.plotRanges(p.columns, { signal: ctx.signal }, p.noRange);
      return plotRanges(await store().get(p.dataset, { signal: ctx.signal, columns: p.columns }), p, ctx.signal);
    },
    density: async (p, ctx) => {
      const r = await db(p.dataset, ctx.signal);
      if (r) return r.ds.density(p, whereExpr(p.where), { signal: ctx.signal });
      const ds = await store().get(p.dataset, { signal: ctx.signal, columns: plotColumns(p) });
      return density(ds, p, whereExpr(p.where), ctx);
    },
    points: async (p, ctx) => {
      const r = await db(p.dataset, ctx.signal);
      if (r) return r.ds.points(p, whereExpr(p.where), { signal: ctx.signal });
      const ds = await store().get(p.dataset, { signal: ctx.signal, columns: plotColumns(p) });
      return points(ds, p, whereExpr(p.where), ctx);
    },
    histogram: async (p, ctx) => {
      const r = await db(p.dataset, ctx.signal);
      if (r) return r.ds.histogram(p, whereExpr(p.where), { signal: ctx.signal });
      const ds = await store().get(p.dataset, { signal: ctx.signal, columns: plotColumns(p) });
      return histogram(ds, p, whereExpr(p.where), ctx.signal);
    },
    line: async (p, ctx) => {
      const r = await db(p.dataset, ctx.signal);
      if (r) return r.ds.line(p, whereExpr(p.where), { signal: ctx.signal });
      const cols = [p.x, ...(Array.isArray(p.y) ? p.y : []), ...(p.split ? [p.split] : [])].concat(whereColumns(p.where));
      const ds = await store().get(p.dataset, { signal: ctx.signal, columns: cols });
      return line(ds, p, whereExpr(p.where), ctx);
    },
  };
}
