/**
 * The engine's database side: connections (one client per connection label, shared by its
 * tables and queries), database datasets in the catalog (their location without secret, format
 * `postgresql` / `clickhouse`, no cache: the database computes), saved connections (the catalog's
 * `connections` table: url, name, kind, and where the password is kept — never the password) and
 * the secrets (secrets.ts: session, OS keychain, conventions; 'app' when Electron keeps it).
 */
import { applyComputedSql } from '../computed';
import type { ConnectionInfo, ConnectionTest, InnerDatasetInfo } from '../../../shared/api';
import { CdxError } from '../../../shared/errors';
import type { Catalog, CatalogEntry } from '../catalog';
import type { RecordBatch } from 'apache-arrow';
import type { Source, SourceInfo, ScanOptions } from '../sources/types';
import type { Expr } from '../../../shared/expr/ast';
import { ClickHouseConnection } from './clickhouse';
import { PostgresConnection } from './postgres';
import { SqlDataset } from './dataset';
import { forgetSessionSecret, keychainDelete, keychainSet, secretSource, setSessionSecret } from './secrets';
import { connectionLabel, dbDatasetName, formatDbLocation, isDbLocation, parseDbLocation } from './url';
import type { DbLocation, SqlConnection } from './types';

export function makeConnection(loc: DbLocation, password?: string): SqlConnection {
  return loc.kind === 'postgresql'
    ? new PostgresConnection(loc, password !== undefined ? { password } : {})
    : new ClickHouseConnection(loc, password !== undefined ? { password } : {});
}

export class RemoteDatasets {
  private conns = new Map<string, SqlConnection>();
  private open_ = new Map<string, SqlDataset>();
  private opening = new Map<string, Promise<{ entry: CatalogEntry; ds: SqlDataset }>>();

  constructor(private readonly catalog: Catalog) {}

  /** the shared client of a connection (the location's table or query aside) */
  connection(loc: DbLocation): SqlConnection {
    const label = connectionLabel(loc);
    let c = this.conns.get(label);
    if (!c) {
      c = makeConnection(loc);
      this.conns.set(label, c);
    }
    return c;
  }

  /** a password written in a URL is kept for the session (never stored); the location without it */
  private parse(url: string): DbLocation {
    const p = parseDbLocation(url);
    if (p.password !== undefined) setSessionSecret(connectionLabel(p.location), p.password);
    return p.location;
  }

  /** Opens a table, view or query (describes it and counts its rows) and keeps it in the catalog. */
  async open(location: string, opts: { signal?: AbortSignal } = {}): Promise<{ entry: CatalogEntry; ds: SqlDataset }> {
    const loc = this.parse(location);
    if (loc.sql === undefined && !loc.table) {
      throw new CdxError('E_BAD_ARG', `${connectionLabel(loc)} is a connection: open one of its tables (URL::TABLE) or a query (URL::(SELECT …)); \`cdx schema URL\` lists them`);
    }
    const key = formatDbLocation(loc);
    const running = this.opening.get(key);
    if (running) return running;
    const p = this.doOpen(loc, key, opts).finally(() => this.opening.delete(key));
    this.opening.set(key, p);
    return p;
  }

  private async doOpen(loc: DbLocation, key: string, opts: { signal?: AbortSignal }) {
    const conn = this.connection(loc);
    const serverVersion = await conn.serverVersion();
    const relation = await conn.describe(loc.sql !== undefined ? { sql: loc.sql } : { table: loc.table! });
    const ds = new SqlDataset({ conn, location: loc, relation, serverVersion });
    await ds.count({ signal: opts.signal });
    const entry = this.catalog.upsert({
      location: key, name: dbDatasetName(loc), format: loc.kind, size: 0, mtimeMs: 0, schema: ds.schema, rows: ds.rows,
      cachePath: null, warnings: [], metadata: { server: serverVersion, connection: conn.label },
    });
    this.catalog.touch(entry.id);
    // the computed columns defined on it (defineColumn), computed by the database
    if (entry.computed?.length) applyComputedSql(ds, entry.computed);
    this.open_.set(entry.id, ds);
    return { entry, ds };
  }

  /** the open database dataset of a catalog id (opened again from its location), or null for a local one */
  async lookup(id: string, opts: { signal?: AbortSignal } = {}): Promise<{ entry: CatalogEntry; ds: SqlDataset } | null> {
    const e = this.catalog.get(id);
    if (!e || !isDbLocation(e.location)) return null;
    const ds = this.open_.get(id);
    if (ds) return { entry: e, ds };
    return this.open(e.location, opts);
  }

  forget(id: string): void {
    this.open_.delete(id);
  }

  /** a connection's tables and views (the container listing) */
  async listInner(url: string): Promise<InnerDatasetInfo[]> {
    const loc = this.parse(url);
    return this.connection(loc).listRelations();
  }

  // ------------------------------------------------------------------------------------------
  // saved connections

  private info(r: { url: string; name: string; kind: string; keep: string; addedAt: number }): ConnectionInfo {
    const loc = parseDbLocation(r.url).location;
    const label = connectionLabel(loc);
    const src = r.keep === 'app' ? 'app' : secretSource(label, loc.kind, loc);
    return { url: r.url, name: r.name, kind: loc.kind, secret: src, addedAt: r.addedAt };
  }

  /** the saved database connections (the table holds http(s) and S3 ones too: remote/connections.ts) */
  private dbRows() {
    return this.catalog.connections().filter((r) => isDbLocation(r.url));
  }

  listConnections(): ConnectionInfo[] {
    return this.dbRows().map((r) => this.info(r));
  }

  saveConnection(p: { url: string; name?: string; password?: string; remember?: boolean; keep?: 'app' }): ConnectionInfo {
    const parsed = parseDbLocation(p.url);
    const loc = { ...parsed.location, table: undefined, sql: undefined };
    delete loc.table;
    delete loc.sql;
    const label = connectionLabel(loc);
    const url = formatDbLocation(loc);
    const password = p.password ?? parsed.password;
    let keep = 'convention';
    if (password !== undefined && password !== '') {
      setSessionSecret(label, password);
      if (p.keep === 'app') keep = 'app';
      else if (p.remember && keychainSet(label, password)) keep = 'keychain';
      else keep = 'session';
    } else if (p.keep === 'app') keep = 'app';
    // a client opened with an older password reconnects with the new one
    const old = this.conns.get(label);
    if (old && password !== undefined) {
      this.conns.delete(label);
      void old.close();
    }
    const row = this.catalog.saveConnection({ url, name: p.name?.trim() || `${loc.database} on ${loc.host}`, kind: loc.kind, keep });
    return this.info(row);
  }

  async testConnection(p: { url: string; password?: string }, signal?: AbortSignal): Promise<ConnectionTest> {
    const parsed = parseDbLocation(p.url);
    const t0 = performance.now();
    const pw = p.password ?? parsed.password;
    const conn = makeConnection(parsed.location, pw !== undefined && pw !== '' ? pw : undefined);
    try {
      if (signal?.aborted) throw CdxError.cancelled('the test');
      const serverVersion = await conn.serverVersion();
      const tables = (await conn.listRelations()).length;
      return { url: formatDbLocation({ ...parsed.location, table: undefined, sql: undefined }), serverVersion, tables, ms: Math.round(performance.now() - t0) };
    } finally {
      await conn.close();
    }
  }

  removeConnection(url: string): { removed: boolean } {
    const loc = parseDbLocation(url).location;
    const label = connectionLabel(loc);
    const rows = this.dbRows().filter((r) => connectionLabel(parseDbLocation(r.url).location) === label);
    let removed = false;
    for (const r of rows) removed = this.catalog.removeConnection(r.url) || removed;
    keychainDelete(label);
    forgetSessionSecret(label);
    const c = this.conns.get(label);
    if (c) {
      this.conns.delete(label);
      void c.close();
    }
    return { removed };
  }

  setSecret(url: string, password: string): { kept: 'session' } {
    const loc = parseDbLocation(url).location;
    const label = connectionLabel(loc);
    setSessionSecret(label, password);
    const c = this.conns.get(label);
    if (c) {
      // a pool holding connections made without the password: new ones use it
      this.conns.delete(label);
      void c.close();
      for (const [id, ds] of this.open_) if (ds.conn === c) this.open_.delete(id);
    }
    return { kept: 'session' };
  }

  async close(): Promise<void> {
    const all = [...this.conns.values()];
    this.conns.clear();
    this.open_.clear();
    await Promise.all(all.map((c) => c.close().catch(() => undefined)));
  }
}

/** A database dataset as a Source (exports): its rows streamed from the server, the filter pushed down. */
export function sqlSource(ds: SqlDataset, location: string, where: Expr | undefined): Source {
  return {
    async info(): Promise<SourceInfo> {
      return { format: ds.conn.kind, path: location, rows: where ? null : ds.rows, schema: ds.schema, metadata: {}, warnings: [] };
    },
    scan(opts: ScanOptions = {}): AsyncIterable<RecordBatch> {
      const names = opts.columns?.length ? opts.columns : ds.columns.map((c) => c.field.name);
      return ds.batches(names, where, { signal: opts.signal, batchRows: opts.batchRows });
    },
    async close() {
      /* the connection stays with the engine */
    },
  };
}
