/**
 * The engine's `join` request (shared/api.ts EngineApi.join): picks where the join runs and makes
 * its result a catalogued dataset.
 *  - two local datasets: the native hash join (join.ts), written to the cache folder's `joins/`
 *    and opened like any Arrow file ('native');
 *  - two tables (or queries) of one database connection: one query dataset on that connection
 *    joining there (sql/join-sql.ts), nothing fetched ('pushdown');
 *  - a database table with a local file: the database side, its filter pushed down, fetched into
 *    a temporary Arrow file when it is small enough (`maxFetchRows`, else E_TOO_LARGE saying so),
 *    then the native join ('cross-source').
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { RecordBatchFileWriter, type RecordBatch } from 'apache-arrow';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { DatasetOverview, JoinResult } from '../../shared/api';
import type { HandlerContext } from '../../shared/rpc';
import { CdxError } from '../../shared/errors';
import type { CatalogEntry } from './catalog';
import { needColumns, type Datasets, type OpenedDataset } from './datasets';
import { compileFor, whereExpr } from './filter';
import { fileStamp, joinColumns, joinPairs, joinPath, keyPlan, writeJoined, type JoinHow, type JoinSide, type JoinSpec } from './join';
import type { SqlDataset } from './sql/dataset';
import { joinQuery } from './sql/join-sql';
import { formatDbLocation } from './sql/url';
import { fsyncFile, renameDurable, tempBeside } from './durable';

export interface JoinParams {
  left: string;
  right: string;
  on: [string, string][];
  how?: JoinHow;
  whereLeft?: string;
  whereRight?: string;
  columns?: string[];
  name?: string;
}

export interface JoinDeps {
  store: Datasets;
  /** the database dataset of a catalog id, or null for a local one */
  db(id: string, signal: AbortSignal): Promise<{ entry: CatalogEntry; ds: SqlDataset } | null>;
  /** opens a database location (a query dataset) and catalogs it */
  openDb(location: string, signal: AbortSignal): Promise<{ entry: CatalogEntry; ds: SqlDataset }>;
  overviewOf(ds: OpenedDataset): DatasetOverview;
  remoteOverview(entry: CatalogEntry, ds: SqlDataset): DatasetOverview;
  /** a database side fetched for a cross-source join: at most this many rows (default 10M) */
  maxFetchRows?: number;
  /** result rows limit for the native join (default: from the machine's memory) */
  maxPairs?: number;
}

function sideOfSql(entry: CatalogEntry, ds: SqlDataset): JoinSide {
  return { location: ds.what, name: entry.name, rows: ds.rows, schema: ds.schema, columns: new Map(), unsupported: new Map() };
}

export async function joinRequest(deps: JoinDeps, p: JoinParams, ctx: HandlerContext): Promise<JoinResult> {
  const t0 = performance.now();
  // CDX_JOIN_TRACE=1: each step's time on stderr
  let tl = t0;
  const lap = (what: string) => {
    if (!process.env.CDX_JOIN_TRACE) return;
    const t = performance.now();
    console.error(`join ${what}: ${(t - tl).toFixed(1)} ms`);
    tl = t;
  };
  const how: JoinHow = p.how ?? 'inner';
  if (how !== 'inner' && how !== 'left') throw new CdxError('E_BAD_ARG', `join: how is "inner" or "left", not "${String(how)}"`);
  if (!Array.isArray(p.on) || !p.on.length || p.on.some((k) => !Array.isArray(k) || k.length !== 2 || typeof k[0] !== 'string' || typeof k[1] !== 'string')) {
    throw new CdxError('E_BAD_ARG', 'join: `on` is a list of [left column, right column] pairs');
  }
  const spec: JoinSpec = { on: p.on, how, ...(p.columns?.length ? { columns: p.columns } : {}) };
  const signal = ctx.signal;
  const [ldb, rdb] = await Promise.all([deps.db(p.left, signal), deps.db(p.right, signal)]);

  // both on one database: one query there
  if (ldb && rdb) {
    if (ldb.ds.conn.label !== rdb.ds.conn.label) {
      throw new CdxError('E_UNSUPPORTED', `join: ${ldb.ds.what} and ${rdb.ds.what} are on different database connections; export one side to a file first, or join it with a local file`);
    }
    const ls = sideOfSql(ldb.entry, ldb.ds), rs = sideOfSql(rdb.entry, rdb.ds);
    keyPlan(ls, rs, spec.on);
    const cols = joinColumns(ls, rs, spec);
    const sql = joinQuery(ldb.ds, rdb.ds, spec, cols, whereExpr(p.whereLeft), whereExpr(p.whereRight));
    const { table: _t, ...conn } = ldb.ds.location;
    void _t;
    const opened = await deps.openDb(formatDbLocation({ ...conn, sql }), signal);
    const name = p.name ?? `join(${ldb.entry.name}, ${rdb.entry.name})`;
    deps.store.catalog.rename(opened.entry.id, name);
    deps.store.catalog.setTags(opened.entry.id, [...new Set([...opened.entry.tags, 'join'])]);
    const ov = deps.remoteOverview({ ...opened.entry, name }, opened.ds);
    const counts = await pushdownCounts(ldb.ds, rdb.ds, p, signal);
    return { overview: ov, ...counts, rows: opened.ds.rows, via: 'pushdown', ms: Math.round(performance.now() - t0) };
  }

  // a database side with a local file: fetch the database side (filtered there), then join natively
  const fetched: string[] = [];
  const temps: string[] = [];
  try {
    const local = async (id: string, db: { entry: CatalogEntry; ds: SqlDataset } | null, where: string | undefined, which: 'left' | 'right', keys: string[]) => {
      if (!db) {
        const ds = await deps.store.get(id, { signal, columns: [] });
        await needColumns(ds, undefined, { signal, onProgress: (done, stage) => ctx.progress({ done, detail: stage }) });
        return { ds, where, name: ds.name };
      }
      const max = deps.maxFetchRows ?? 10_000_000;
      const filter = whereExpr(where);
      const n = filter ? await db.ds.total(filter, JSON.stringify(filter), { signal }) : db.ds.rows;
      if (n > max) {
        throw new CdxError('E_TOO_LARGE', `join: ${db.ds.what} (the ${which} side) has ${n.toLocaleString('en-US')} rows${filter ? ' passing its filter' : ''}, more than ${max.toLocaleString('en-US')} (the most fetched from a database to join with a local file); filter it (--where-${which}) or put both sides on one database`);
      }
      void keys;
      const file = path.join(deps.store.cacheDir, 'joins', `fetch-${process.pid}-${Date.now()}-${which}.arrow`);
      temps.push(file);
      await fetchTo(db.ds, filter, file, signal);
      const ds = await deps.store.open(file, { signal });
      fetched.push(ds.id);
      return { ds, where: undefined, name: db.entry.name };
    };
    const L = await local(p.left, ldb, p.whereLeft, 'left', spec.on.map(([a]) => a));
    const R = await local(p.right, rdb, p.whereRight, 'right', spec.on.map(([, b]) => b));
    const lside: JoinSide = { ...L.ds, name: L.name }, rside: JoinSide = { ...R.ds, name: R.name };
    // (columns the kernels cannot read — nested values — are left out unless asked for by name, which then says why not)
    lap('open sides');
    const cols = joinColumns(lside, rside, spec).filter((c) => spec.columns?.includes(c.name) || (c.side === 'left' ? lside : rside).columns.has(c.column));
    const pairs = await joinPairs(lside, rside, spec, {
      leftFilter: compileFor(L.ds, whereExpr(L.where)), rightFilter: compileFor(R.ds, whereExpr(R.where)), maxPairs: deps.maxPairs,
      signal, onProgress: (f) => ctx.progress({ done: f.fraction * 0.5, detail: 'joining' }),
    });
    lap('pairs');
    const dest = joinPath(deps.store.cacheDir);
    const made = { left: L.name, right: R.name, on: spec.on, how, ...(p.whereLeft ? { whereLeft: p.whereLeft } : {}), ...(p.whereRight ? { whereRight: p.whereRight } : {}) };
    await writeJoined(lside, rside, cols, pairs, dest, {
      metadata: { 'cdx.join': JSON.stringify(made) }, signal, onProgress: (f) => ctx.progress({ done: 0.5 + f * 0.5, detail: 'writing the joined rows' }),
    });
    lap('write');
    const name = p.name ?? `join(${L.name}, ${R.name})`;
    // (its own cache file: removing the dataset deletes it)
    deps.store.catalog.upsert({ location: dest, name, format: 'arrow', ...fileStamp(dest), cachePath: dest });
    const ds = await deps.store.open(dest, { signal });
    const entry = deps.store.catalog.get(ds.id);
    deps.store.catalog.setTags(ds.id, [...new Set([...(entry?.tags ?? []), 'join'])]);
    lap('catalog');
    return {
      overview: deps.overviewOf(ds), leftRows: pairs.leftRows, rightRows: pairs.rightRows, rows: pairs.left.length, matched: pairs.matched,
      via: ldb || rdb ? 'cross-source' : 'native', ms: Math.round(performance.now() - t0),
    };
  } finally {
    for (const id of fetched) await deps.store.remove(id).catch(() => null);
    for (const f of temps) rmSync(f, { force: true });
  }
}

/** Rows of the database side (filtered there) written to an Arrow IPC file, durably. */
async function fetchTo(ds: SqlDataset, where: ReturnType<typeof whereExpr>, file: string, signal: AbortSignal): Promise<void> {
  const { mkdirSync } = await import('node:fs');
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = tempBeside(file);
  const sink = createWriteStream(tmp);
  const w = new RecordBatchFileWriter();
  w.toNodeStream().pipe(sink);
  let wrote = false;
  try {
    for await (const b of ds.batches(ds.columns.map((c) => c.field.name), where, { signal }) as AsyncIterable<RecordBatch>) {
      if (!wrote) { w.reset(undefined, b.schema); wrote = true; }
      w.write(b);
      if (sink.writableNeedDrain) await once(sink, 'drain');
    }
    if (!wrote) {
      const { Schema, Field } = await import('apache-arrow');
      const { arrowTypeOf } = await import('./sources/common');
      w.reset(undefined, new Schema(ds.schema.fields.map((f) => new Field(f.name, arrowTypeOf(f), true))));
    }
    w.finish();
    if (!sink.writableFinished) await once(sink, 'finish');
    await fsyncFile(tmp);
    await renameDurable(tmp, file);
  } catch (e) {
    sink.destroy();
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** The counts of a pushed-down join: each side's rows passing its filter (counted there). */
async function pushdownCounts(l: SqlDataset, r: SqlDataset, p: JoinParams, signal: AbortSignal): Promise<{ leftRows: number; rightRows: number }> {
  const lw = whereExpr(p.whereLeft), rw = whereExpr(p.whereRight);
  const [leftRows, rightRows] = await Promise.all([
    lw ? l.total(lw, JSON.stringify(lw), { signal }) : Promise.resolve(l.rows),
    rw ? r.total(rw, JSON.stringify(rw), { signal }) : Promise.resolve(r.rows),
  ]);
  return { leftRows, rightRows };
}
