/**
 * PostgreSQL as a dataset's home: a SqlConnection over `pg` (the wire protocol, bound parameters).
 * Every value comes back as PostgreSQL's own text (type parsers off), sessions run in UTC with ISO
 * dates, and the pushdown's SQL picks representations it can parse exactly. A small pool lets the
 * app's views (summary, table, plot) query at once. Cancel is PostgreSQL's cancel request for the
 * backend running the query; a time limit is `statement_timeout`.
 *
 * Passwords: secrets.ts (session, keychain, PGPASSWORD, ~/.pgpass); PGSSLMODE or `?sslmode=` in the
 * URL choose TLS. Errors become CdxErrors naming the connection (never its secret) and the table.
 */
import pg from 'pg';
import Cursor from 'pg-cursor';
import { CdxError } from '../../../shared/errors';
import type { InnerDataset } from '../sources/types';
import type { DbLocation, QueryOptions, QueryResult, Relation, SqlConnection } from './types';
import { connectionLabel } from './url';
import { passwordFor } from './secrets';

const TEXT = { getTypeParser: () => (v: string) => v };

export function quotePgIdent(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}

function sslFor(mode: string | undefined): pg.ClientConfig['ssl'] | undefined {
  switch (mode) {
    case undefined: case '': return undefined; // pg reads PGSSLMODE itself
    case 'disable': return false;
    case 'allow': case 'prefer': case 'require': return { rejectUnauthorized: false };
    case 'verify-ca': case 'verify-full': return { rejectUnauthorized: true };
    default: throw new CdxError('E_BAD_ARG', `sslmode "${mode}" is not one of disable, allow, prefer, require, verify-ca, verify-full`);
  }
}

/** A display name for a table: `schema.name` with quotes where needed. */
function quotePgLiteral(v: string): string {
  return "'" + v.replace(/'/g, "''") + "'";
}

export function qualifiedName(schema: string | undefined, name: string): string {
  const q = (p: string) => (/^[a-z_][a-z0-9_$]*$/.test(p) ? p : quotePgIdent(p));
  return schema !== undefined ? `${q(schema)}.${q(name)}` : q(name);
}

export class PostgresConnection implements SqlConnection {
  readonly kind = 'postgresql' as const;
  readonly dialect = 'postgres' as const;
  readonly label: string;
  private pool: pg.Pool;
  private version: string | undefined;

  constructor(private readonly loc: DbLocation, opts: { password?: string; max?: number } = {}) {
    this.label = connectionLabel(loc);
    const where = { host: loc.host, port: loc.port, database: loc.database, user: loc.user };
    const cfg: pg.PoolConfig = {
      host: loc.host, port: loc.port, user: loc.user, database: loc.database,
      // looked up at each new connection: a password given later (the CLI's prompt) is used
      password: async () => opts.password ?? passwordFor(this.label, 'postgresql', where) ?? '',
      max: opts.max ?? 4,
      idleTimeoutMillis: 30_000,
      connectionTimeoutMillis: Number(loc.options.connect_timeout ?? 10) * 1000,
      application_name: loc.options.application_name ?? 'cdx',
      types: TEXT,
    };
    const ssl = sslFor(loc.options.sslmode);
    if (ssl !== undefined) cfg.ssl = ssl;
    this.pool = new pg.Pool(cfg);
    this.pool.on('connect', (c) => {
      // dates and times as ISO text in UTC, floats to the last digit; scans that always start at the
      // first page (a key-less table's windows are its physical order); and room for the pushdown's
      // hash aggregates and sorts (a 1024² density has ~10^6 groups: at the default 4 MB the
      // HashAggregate spills to disk and takes several times longer — bench sql_pushdown)
      void c.query("SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'iso_8601'; SET extra_float_digits = 3; SET synchronize_seqscans = off; SET work_mem = '128MB'").catch(() => undefined);
    });
    this.pool.on('error', () => undefined); // an idle client's error (server restart): the next query reconnects
  }

  private fail(e: unknown, what: { table?: string; sql?: string; sqlOffset?: number } = {}): CdxError {
    return pgError(e, this.label, what);
  }

  async serverVersion(): Promise<string> {
    if (!this.version) {
      const r = await this.query('SHOW server_version');
      this.version = `PostgreSQL ${r.rows[0]?.[0] ?? '?'}`;
    }
    return this.version;
  }

  private async client(signal?: AbortSignal): Promise<pg.PoolClient> {
    if (signal?.aborted) throw CdxError.cancelled('the query');
    try {
      const c = await this.pool.connect();
      // a connection that dies while checked out (server restart, pg_terminate_backend) emits
      // 'error': the running query or read reports it, so nothing may go unhandled here
      if (!(c as unknown as { __cdxErr?: boolean }).__cdxErr) {
        (c as unknown as { __cdxErr?: boolean }).__cdxErr = true;
        c.on('error', () => undefined);
      }
      return c;
    } catch (e) {
      throw this.fail(e);
    }
  }

  /** rejects when the client's connection ends or fails (a cursor's read may otherwise wait forever) */
  private lost(c: pg.PoolClient): { promise: Promise<never>; off: () => void } {
    let off = () => {};
    const promise = new Promise<never>((_, reject) => {
      const onErr = (e: Error) => reject(e);
      const onEnd = () => reject(Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET' }));
      c.on('error', onErr);
      c.on('end', onEnd);
      off = () => {
        c.off('error', onErr);
        c.off('end', onEnd);
      };
    });
    promise.catch(() => undefined);
    return { promise, off: () => off() };
  }

  /** Sends PostgreSQL's cancel request for the query the client is running. */
  private cancelOn(c: pg.PoolClient): void {
    const active = (c as unknown as { activeQuery?: unknown }).activeQuery;
    if (!active) return;
    const canceller = new pg.Client({ host: this.loc.host, port: this.loc.port, user: this.loc.user, database: this.loc.database });
    (canceller as unknown as { cancel(c: unknown, q: unknown): void }).cancel(c, active);
    // the cancel connection closes itself once the server has the request
    (canceller as unknown as { connection: { on(ev: string, f: () => void): void; end(): void } }).connection.on('error', () => undefined);
  }

  async query(sql: string, params: unknown[] = [], opts: QueryOptions = {}): Promise<QueryResult> {
    const c = await this.client(opts.signal);
    let broken = false;
    const onAbort = () => this.cancelOn(c);
    opts.signal?.addEventListener('abort', onAbort);
    try {
      if (opts.timeoutMs) await c.query(`SET statement_timeout = ${Math.max(1, Math.round(opts.timeoutMs))}`);
      for (const [k, v] of Object.entries(opts.settings ?? {})) await c.query(`SET ${quotePgIdent(k)} = ${quotePgLiteral(v)}`);
      const r = await c.query({ text: sql, values: params, rowMode: 'array', types: TEXT });
      const fields = r.fields ?? [];
      return { columns: fields.map((f) => ({ name: f.name, type: String(f.dataTypeID) })), rows: r.rows as (string | null)[][] };
    } catch (e) {
      if (opts.signal?.aborted) throw CdxError.cancelled('the query');
      broken = isConnectionError(e);
      throw this.fail(e, { sql });
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
      if (opts.timeoutMs && !broken) await c.query('RESET statement_timeout').catch(() => { broken = true; });
      for (const k of Object.keys(opts.settings ?? {})) if (!broken) await c.query(`RESET ${quotePgIdent(k)}`).catch(() => { broken = true; });
      c.release(broken);
    }
  }

  async *stream(sql: string, opts: QueryOptions & { batchRows?: number } = {}): AsyncIterable<QueryResult> {
    const c = await this.client(opts.signal);
    let broken = false;
    const cursor = c.query(new Cursor(sql, [], { rowMode: 'array', types: TEXT }));
    const onAbort = () => this.cancelOn(c);
    opts.signal?.addEventListener('abort', onAbort);
    const lost = this.lost(c);
    try {
      for (;;) {
        let rows: (string | null)[][];
        try {
          rows = (await Promise.race([cursor.read(opts.batchRows ?? 65_536), lost.promise])) as (string | null)[][];
        } catch (e) {
          if (opts.signal?.aborted) throw CdxError.cancelled('the query');
          broken = isConnectionError(e);
          throw this.fail(e, { sql });
        }
        if (!rows.length) break;
        const fields = (cursor as unknown as { _result?: { fields: { name: string; dataTypeID: number }[] } })._result?.fields ?? [];
        yield { columns: fields.map((f) => ({ name: f.name, type: String(f.dataTypeID) })), rows };
        if (opts.signal?.aborted) throw CdxError.cancelled('the query');
      }
    } finally {
      lost.off();
      opts.signal?.removeEventListener('abort', onAbort);
      if (broken) c.release(true);
      else {
        await Promise.race([cursor.close(), new Promise((r) => setTimeout(r, 2000))]).catch(() => { broken = true; });
        c.release(broken);
      }
    }
  }

  async listRelations(): Promise<InnerDataset[]> {
    const r = await this.query(
      `SELECT n.nspname, c.relname, c.relkind, c.reltuples::bigint
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'v', 'm', 'p', 'f')
          AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
          AND has_table_privilege(c.oid, 'SELECT')
        ORDER BY n.nspname, c.relname`,
    );
    return r.rows.map(([schema, name, kind, tuples]) => {
      const t = Number(tuples);
      return {
        inner: qualifiedName(schema!, name!),
        kind: kind === 'v' ? 'view' : kind === 'm' ? 'materialized view' : 'table',
        ...(t >= 0 && kind !== 'v' ? { rows: t } : {}),
      };
    });
  }

  fromClause(target: { table?: { schema?: string; name: string }; sql?: string }): string {
    if (target.sql !== undefined) return `(\n${target.sql}\n) AS q`;
    const t = target.table!;
    return t.schema !== undefined ? `${quotePgIdent(t.schema)}.${quotePgIdent(t.name)}` : quotePgIdent(t.name);
  }

  async describe(target: { table?: { schema?: string; name: string }; sql?: string }): Promise<Relation> {
    if (target.sql !== undefined) {
      const prefix = 'SELECT * FROM (\n';
      let r: pg.QueryResult;
      const c = await this.client();
      try {
        r = await c.query({ text: `${prefix}${target.sql}\n) AS q LIMIT 0`, rowMode: 'array', types: TEXT });
      } catch (e) {
        throw this.fail(e, { sql: target.sql, sqlOffset: prefix.length });
      } finally {
        c.release();
      }
      const names = r.fields.map((f) => f.name);
      const dup = names.find((n, i) => names.indexOf(n) !== i);
      if (dup !== undefined) throw new CdxError('E_BAD_COLUMNS', `${this.label}: the query gives two columns named "${dup}": name them apart with AS`);
      const t = await this.query(
        'SELECT format_type(o, m) FROM unnest($1::oid[], $2::int[]) WITH ORDINALITY AS u(o, m, i) ORDER BY i',
        [r.fields.map((f) => f.dataTypeID), r.fields.map((f) => f.dataTypeModifier)],
      );
      return { columns: r.fields.map((f, i) => ({ name: f.name, type: t.rows[i]![0]!, nullable: true })), key: [], kind: 'query' };
    }
    const t = target.table!;
    const shown = qualifiedName(t.schema, t.name);
    const rel = await this.query(
      `SELECT c.oid, c.relkind, c.reltuples::bigint FROM pg_class c WHERE c.oid = to_regclass($1)`,
      [this.fromClause(target)],
    );
    const row = rel.rows[0];
    if (!row) throw new CdxError('E_NO_TABLE', `${this.label}: no table or view ${shown}`, { file: `${this.label}::${shown}` });
    const [oid, relkind, tuples] = row as [string, string, string];
    const cols = await this.query(
      `SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull
         FROM pg_attribute a WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
      [oid],
    );
    const key = await this.query(
      `SELECT a.attname FROM pg_index i JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) ON TRUE
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
        WHERE i.indrelid = $1::oid AND i.indisprimary ORDER BY k.ord`,
      [oid],
    );
    const est = Number(tuples);
    return {
      columns: cols.rows.map(([name, type, notnull]) => ({ name: name!, type: type!, nullable: notnull !== 't' })),
      key: key.rows.map((k) => k[0]!),
      kind: relkind === 'v' || relkind === 'm' ? 'view' : 'table',
      ...(est >= 0 ? { estimatedRows: est } : {}),
    };
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }
}

function isConnectionError(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  const msg = String((e as Error)?.message ?? '');
  return code === 'ECONNRESET' || code === 'EPIPE' || code === '57P01' || code === '57P02' || code === '57P03' || /Connection terminated|connection.*(closed|ended)/i.test(msg);
}

/** A pg / socket error as a CdxError naming the connection (and table), with the query's position for syntax errors. */
export function pgError(e: unknown, label: string, what: { table?: string; sql?: string; sqlOffset?: number } = {}): CdxError {
  if (e instanceof CdxError) return e;
  const err = e as { code?: string; message?: string; position?: string; detail?: string; hint?: string };
  const code = err.code ?? '';
  const msg = err.message ?? String(e);
  const file = what.table ? `${label}::${what.table}` : label;
  const where = what.table ? `${label} (${what.table})` : label;
  if (['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EAI_AGAIN'].includes(code) || /timeout expired|Connection terminated due to connection timeout/i.test(msg)) {
    return new CdxError('E_CONNECT', `${label}: cannot reach the server (${code || msg})`, { file: label, cause: e });
  }
  if (code === '28P01' || code === '28000') return new CdxError('E_AUTH', `${label}: ${msg}`, { file: label, cause: e });
  if (/client password must be a string|password authentication|SASL/i.test(msg)) {
    return new CdxError('E_AUTH', `${label}: the server asks for a password and none was given (PGPASSWORD, ~/.pgpass, the connection dialog, or the prompt)`, { file: label, cause: e });
  }
  if (code === '3D000') return new CdxError('E_CONNECT', `${label}: ${msg}`, { file: label, cause: e });
  if (code === '42P01') return new CdxError('E_NO_TABLE', `${where}: ${msg}`, { file, cause: e });
  if (code === '42501') return new CdxError('E_PERMISSION', `${where}: ${msg}`, { file, cause: e });
  if (code === '57014') {
    if (/statement timeout/i.test(msg)) return new CdxError('E_TIMEOUT', `${where}: the server stopped the query at its time limit (statement_timeout)`, { file, cause: e });
    return CdxError.cancelled('the query');
  }
  if (isConnectionError(e)) return new CdxError('E_CONNECTION_LOST', `${where}: the connection to the server was lost (${msg})`, { file, cause: e });
  if (/^(42|22|23|0A|21|2B|34|3F|54)/.test(code)) {
    // the server's position is 1-based in the text it received; in terms of the user's query when it was wrapped
    let position: number | undefined;
    if (err.position && what.sql !== undefined) {
      const p = Number(err.position) - 1 - (what.sqlOffset ?? 0);
      // past the end of the user's text (the wrapper after it): the query ended too soon
      if (p >= 0) position = Math.min(p, what.sql.length);
    }
    const at = position !== undefined ? ` (at character ${position + 1}${lineCol(what.sql!, position)})` : '';
    return new CdxError('E_SQL', `${where}: ${msg}${at}${err.hint ? `. Hint: ${err.hint}` : ''}`, { file, cause: e, ...(position !== undefined ? { position } : {}) });
  }
  return new CdxError('E_READ', `${where}: ${msg}`, { file, cause: e });
}

function lineCol(sql: string, pos: number): string {
  const before = sql.slice(0, pos);
  const line = before.split('\n').length;
  return line > 1 ? `, line ${line} column ${pos - before.lastIndexOf('\n')}` : '';
}
