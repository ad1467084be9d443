/**
 * ClickHouse as a dataset's home: a SqlConnection over ClickHouse's HTTP interface with node:http
 * (no client library: @clickhouse/client does not speak to the 18.16 server Debian ships). Every
 * query is a POST whose body is the SQL, with a fresh `query_id` (so that it can be killed), the
 * connection's `database`, and `default_format=TabSeparatedWithNamesAndTypes`: the answer is the
 * names, the types and the rows as the server's own text, parsed here (TSV escapes, `\N` = NULL),
 * all at once (query) or batch by batch in bounded memory (stream).
 *
 * Cancel: the request's socket is destroyed and `KILL QUERY WHERE query_id = …` goes to the server
 * on a separate request (closing the socket alone does not stop a query that has not yet written
 * anything). A time limit is the `max_execution_time` setting (whole seconds, rounded up).
 *
 * Errors: the server's `Code: N` becomes a CdxError code (auth, missing table, syntax with its
 * position, read-only, time-out …) whose message names the connection (never the password) and the
 * table. ClickHouse may answer 200 and then, when the query fails mid-way, end the body with the
 * exception text after the rows sent so far; the parser holds back a line that starts like one and
 * raises it when the body ends there.
 *
 * Passwords come from an async function (secrets.ts's passwordFor by default, which falls back to
 * CLICKHOUSE_PASSWORD) and travel as HTTP Basic auth, which 18.16 and current servers accept.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { StringDecoder } from 'node:string_decoder';
import { CdxError, type ErrorCode } from '../../../shared/errors';
import { chStringLiteral, quoteIdent } from '../../../shared/expr/sql';
import type { InnerDataset } from '../sources/types';
import type { DbLocation, QueryOptions, QueryResult, Relation, ResultColumn, SqlConnection } from './types';
import { connectionLabel } from './url';
import { passwordFor } from './secrets';

/** A ClickHouse identifier in backquotes (backslash and backquote escaped, as ClickHouse reads them). */
export function quoteChIdent(name: string): string {
  return quoteIdent(name, 'clickhouse');
}

/** A ClickHouse string literal: backslash and quote escaped, NUL as \0. */
export function quoteChString(s: string): string {
  return chStringLiteral(s);
}

export interface ClickHouseOptions {
  /** the password (an async function: looked up at each request, so a password given later is used) */
  password?: string | (() => Promise<string | undefined> | string | undefined);
  /** ms to wait for the TCP (and TLS) connection; default the URL's connect_timeout (s) or 10 s */
  connectTimeoutMs?: number;
  /** concurrent HTTP connections kept; default 8 */
  maxSockets?: number;
}

export interface InsertOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
  /** extra settings sent as URL parameters (e.g. input_format_* settings) */
  settings?: Record<string, string | number>;
  /** the table named in error messages */
  table?: string;
}

interface ErrorContext {
  table?: string;
  /** the SQL as the user wrote it (for a syntax error's position) */
  sql?: string;
  /** characters put before the user's SQL in what was sent */
  sqlOffset?: number;
}

/** The server's exception text: `Code: 60, e.displayText() = DB::Exception: …` (18.16) or `Code: 60. DB::Exception: …` (current). */
const EXCEPTION_RE = /^Code: (\d+)[.,] (?:e\.displayText\(\) = )?(?:DB::)?Exception: ?/;

/** ClickHouse error codes that mean something to the user; every other code is E_SQL. */
const CH_CODES: Record<number, ErrorCode> = {
  192: 'E_AUTH', // UNKNOWN_USER
  193: 'E_AUTH', // WRONG_PASSWORD
  194: 'E_AUTH', // REQUIRED_PASSWORD
  195: 'E_AUTH', // IP_ADDRESS_NOT_ALLOWED
  516: 'E_AUTH', // AUTHENTICATION_FAILED (current servers)
  60: 'E_NO_TABLE', // UNKNOWN_TABLE
  81: 'E_NO_TABLE', // UNKNOWN_DATABASE
  164: 'E_PERMISSION', // READONLY
  497: 'E_PERMISSION', // ACCESS_DENIED (current servers)
  291: 'E_PERMISSION', // DATABASE_ACCESS_DENIED
  159: 'E_TIMEOUT', // TIMEOUT_EXCEEDED
  394: 'E_CANCELLED', // QUERY_WAS_CANCELLED
  57: 'E_EXISTS', // TABLE_ALREADY_EXISTS
  279: 'E_CONNECT', // ALL_CONNECTION_TRIES_FAILED (a shard of a Distributed table)
  210: 'E_CONNECTION_LOST', // NETWORK_ERROR
  209: 'E_CONNECTION_LOST', // SOCKET_TIMEOUT
};

const CONNECT_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNECT_TIMEOUT', 'EADDRNOTAVAIL']);
const LOST_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE']);

/** A server exception (status and body) as a CdxError naming the connection and table. */
export function chServerError(body: string, label: string, what: ErrorContext = {}, status?: number): CdxError {
  const text = body.trim();
  const m = EXCEPTION_RE.exec(text);
  const num = m ? Number(m[1]) : undefined;
  // the message without the 18.16 trailer and without the stack trace
  let msg = (m ? text.slice(m[0].length) : text).replace(/,? ?e\.what\(\) = DB::Exception\s*$/, '').replace(/\s*\(version [^)]*\)\s*$/, '').trim();
  if (msg.length > 2000) msg = msg.slice(0, 2000) + '…';
  const file = what.table ? `${label}::${what.table}` : label;
  const where = what.table ? `${label} (${what.table})` : label;
  const code: ErrorCode = num !== undefined ? (CH_CODES[num] ?? 'E_SQL') : status === 401 || status === 403 ? 'E_AUTH' : 'E_SQL';
  if (code === 'E_CANCELLED') return CdxError.cancelled('the query');
  if (code === 'E_AUTH') return new CdxError('E_AUTH', `${label}: the server refused the user or password (${msg})`, { file: label });
  if (code === 'E_TIMEOUT') return new CdxError('E_TIMEOUT', `${where}: the server stopped the query at its time limit (max_execution_time): ${msg}`, { file });
  if (num === 62) {
    // "Syntax error: failed at position N" — 1-based, in the text the server received
    const p = /failed at position (\d+)/.exec(msg);
    let position: number | undefined;
    if (p && what.sql !== undefined) {
      const pos = Number(p[1]) - 1 - (what.sqlOffset ?? 0);
      // past the end of the user's text (the wrapper's closing parenthesis): the query ended too soon
      if (pos >= 0) position = Math.min(pos, what.sql.length);
    }
    // the server counts in the text it received (the query wrapped): say it in the user's own text
    let text = shortSyntax(msg);
    if (position !== undefined) {
      const user = what.sql!;
      const before = user.slice(0, position);
      const line = before.split('\n').length, col = position - before.lastIndexOf('\n');
      text = text.replace(/failed at position \d+( \(line \d+, col \d+\))?/, `failed at position ${position + 1} (line ${line} column ${col})`);
      if (position >= user.length) text = text.replace(/: \)\. Expected/, ': the end of the query. Expected');
    }
    return new CdxError('E_SQL', `${where}: ${text}`, { file, ...(position !== undefined ? { position } : {}) });
  }
  return new CdxError(code, `${where}: ${msg || `HTTP ${status ?? '?'}`}`, { file });
}

/** 18.16 lists every token it would have accepted after a syntax error: keep the first few. */
function shortSyntax(msg: string): string {
  return msg.replace(/(Expected one of: )([^]*)$/, (_, head: string, list: string) => {
    const items = list.split(', ');
    return items.length > 8 ? `${head}${items.slice(0, 8).join(', ')}, …` : `${head}${list}`;
  });
}

/** A socket / HTTP client error as a CdxError. `connected`: did the TCP connection open? */
function chNetError(e: unknown, label: string, what: ErrorContext, connected: boolean): CdxError {
  if (e instanceof CdxError) return e;
  const code = (e as { code?: string }).code ?? '';
  const msg = (e as Error)?.message ?? String(e);
  const where = what.table ? `${label} (${what.table})` : label;
  if (!connected || CONNECT_CODES.has(code)) {
    return new CdxError('E_CONNECT', `${label}: cannot reach the server (${code || msg})`, { file: label, cause: e });
  }
  if (LOST_CODES.has(code) || /aborted|socket hang up|premature/i.test(msg)) {
    return new CdxError('E_CONNECTION_LOST', `${where}: the connection to the server was lost (${code || msg})`, { file: what.table ? `${label}::${what.table}` : label, cause: e });
  }
  return new CdxError('E_READ', `${where}: ${msg}`, { file: what.table ? `${label}::${what.table}` : label, cause: e });
}

// ---- TabSeparated ---------------------------------------------------------------------------------

/** One TSV field as text: ClickHouse's escapes undone (`\N` alone is NULL). */
export function unescapeTsv(s: string): string | null {
  if (s === '\\N') return null;
  if (!s.includes('\\')) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '\\' || i === s.length - 1) {
      out += c;
      continue;
    }
    const n = s[++i]!;
    switch (n) {
      case 't': out += '\t'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case '0': out += '\0'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'a': out += '\x07'; break;
      case 'v': out += '\v'; break;
      case 'e': out += '\x1b'; break;
      case 'x': {
        const h = s.slice(i + 1, i + 3);
        if (/^[0-9a-fA-F]{2}$/.test(h)) {
          out += String.fromCharCode(parseInt(h, 16));
          i += 2;
        } else out += 'x';
        break;
      }
      default: out += n; // \\ \' \" \/ …
    }
  }
  return out;
}

function splitTsvLine(line: string): (string | null)[] {
  return line.split('\t').map(unescapeTsv);
}

/**
 * An incremental TabSeparatedWithNamesAndTypes reader: feed it chunks, take rows as they complete.
 * A line that looks like a server exception is held back until the body ends (an exception ends the
 * body) or until more than HOLD_LIMIT bytes follow it (then it was data after all).
 */
export class TsvReader {
  private static readonly HOLD_LIMIT = 64 * 1024;
  private decoder = new StringDecoder('utf8');
  private rest = '';
  private names: string[] | null = null;
  columns: ResultColumn[] | null = null;
  rows: (string | null)[][] = [];
  /** lines held back from a line that may be the server's exception */
  private held: string[] | null = null;
  private heldBytes = 0;

  push(chunk: Buffer): void {
    this.lines(this.rest + this.decoder.write(chunk), false);
  }

  /** The body ended: returns the server's exception text when the body ended with one. */
  end(): string | null {
    this.lines(this.rest + this.decoder.end(), true);
    if (this.held) {
      const text = this.held.join('\n');
      this.held = null;
      return text;
    }
    return null;
  }

  private lines(text: string, final: boolean): void {
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      this.line(text.slice(start, nl));
      start = nl + 1;
    }
    this.rest = text.slice(start);
    if (final && this.rest !== '') {
      this.line(this.rest);
      this.rest = '';
    }
  }

  private line(line: string): void {
    if (this.held) {
      this.held.push(line);
      this.heldBytes += line.length + 1;
      if (this.heldBytes > TsvReader.HOLD_LIMIT) {
        const lines = this.held;
        this.held = null;
        for (const l of lines) this.dataLine(l);
      }
      return;
    }
    if (line.startsWith('Code: ') && EXCEPTION_RE.test(line)) {
      this.held = [line];
      this.heldBytes = line.length + 1;
      return;
    }
    this.dataLine(line);
  }

  private dataLine(line: string): void {
    if (this.names === null) {
      this.names = splitTsvLine(line).map((n) => n ?? '');
      return;
    }
    if (this.columns === null) {
      const types = splitTsvLine(line).map((t) => t ?? '');
      this.columns = this.names.map((name, i) => ({ name, type: types[i] ?? '' }));
      return;
    }
    this.rows.push(splitTsvLine(line));
  }

  take(): (string | null)[][] {
    const r = this.rows;
    this.rows = [];
    return r;
  }
}

// ---- the connection ---------------------------------------------------------------------------------

interface Open {
  res: http.IncomingMessage;
  req: http.ClientRequest;
  queryId: string;
  /** stop the request: destroy the socket and KILL QUERY on the server (idempotent) */
  stop(): void;
  /** the caller is done with the request */
  done(): void;
  cancelled(): boolean;
}

function stripSemicolons(sql: string): string {
  return sql.replace(/[\s;]+$/, '');
}

/** Top-level comma-separated parts of a ClickHouse expression list (quotes and parentheses respected). */
export function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === "'" || c === '`' || c === '"') {
      let j = i + 1;
      for (; j < s.length && s[j] !== c; j++) if (s[j] === '\\') j++;
      cur += s.slice(i, j + 1);
      i = j;
      continue;
    }
    if (c === '(' || c === '[') depth++;
    else if (c === ')' || c === ']') depth--;
    if (c === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
    } else cur += c;
  }
  if (cur.trim() !== '') out.push(cur.trim());
  return out;
}

/** `name`, `` `a b` ``, `"a"` → the identifier it spells, or undefined for an expression. */
function identOf(part: string): string | undefined {
  const p = part.trim();
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(p)) return p;
  const m = /^([`"])((?:[^\\`"]|\\.)*)\1$/.exec(p);
  if (m) return m[2]!.replace(/\\(.)/g, '$1');
  return undefined;
}

/** The key's leading plain columns: `(a, b)`, `a, b`, `tuple()`; stops at the first expression. */
export function keyColumns(sortingKey: string, columns: readonly string[]): string[] {
  let k = sortingKey.trim();
  if (k === '' || /^tuple\(\s*\)$/.test(k)) return [];
  if (k.startsWith('(') && k.endsWith(')') && splitTopLevel(k).length === 1) k = k.slice(1, -1);
  else if (/^tuple\(/.test(k) && k.endsWith(')')) k = k.slice(6, -1);
  const out: string[] = [];
  for (const part of splitTopLevel(k)) {
    const id = identOf(part);
    if (id === undefined || !columns.includes(id)) break;
    out.push(id);
  }
  return out;
}

/** Unquote a ClickHouse string literal `'a\'b'` (as found in engine_full). */
function unquoteChString(s: string): string {
  const t = s.trim();
  if (t.startsWith("'") && t.endsWith("'")) return unescapeTsv(t.slice(1, -1)) ?? '';
  return identOf(t) ?? t;
}

export class ClickHouseConnection implements SqlConnection {
  readonly kind = 'clickhouse' as const;
  readonly dialect = 'clickhouse' as const;
  readonly label: string;
  private readonly agent: http.Agent;
  private readonly mod: typeof http | typeof https;
  private readonly connectTimeoutMs: number;
  private readonly defaultTimeoutMs: number | undefined;
  private version: string | undefined;
  private closed = false;

  constructor(
    private readonly loc: DbLocation,
    private readonly opts: ClickHouseOptions = {},
  ) {
    this.label = connectionLabel(loc);
    const secure = /^(1|true|yes)$/i.test(loc.options.secure ?? '');
    this.mod = secure ? https : http;
    this.agent = new this.mod.Agent({ keepAlive: true, maxSockets: opts.maxSockets ?? 8, keepAliveMsecs: 1000 });
    this.connectTimeoutMs = opts.connectTimeoutMs ?? Number(loc.options.connect_timeout ?? 10) * 1000;
    const t = Number(loc.options.timeout_s);
    this.defaultTimeoutMs = Number.isFinite(t) && t > 0 ? t * 1000 : undefined;
  }

  private async password(): Promise<string> {
    const p = this.opts.password;
    if (typeof p === 'string') return p;
    if (typeof p === 'function') return (await p()) ?? '';
    return passwordFor(this.label, 'clickhouse', { host: this.loc.host, port: this.loc.port, database: this.loc.database, user: this.loc.user }) ?? '';
  }

  private async headers(): Promise<Record<string, string>> {
    const auth = Buffer.from(`${this.loc.user}:${await this.password()}`, 'utf8').toString('base64');
    return { Authorization: `Basic ${auth}` };
  }

  /**
   * Sends one request and resolves once the server's status is in: a 200 response to read, or a
   * CdxError (the server's exception, or a network error). `body`: the SQL, or a stream (insert).
   */
  private async open(
    params: Record<string, string>,
    body: string | AsyncIterable<Uint8Array>,
    opts: { signal?: AbortSignal; timeoutMs?: number; settings?: Record<string, string | number>; fresh?: boolean },
    what: ErrorContext,
  ): Promise<Open> {
    if (this.closed) throw new CdxError('E_CLOSED', `${this.label}: the connection is closed`);
    if (opts.signal?.aborted) throw CdxError.cancelled('the query');
    const queryId = randomUUID();
    const q = new URLSearchParams({ ...params, query_id: queryId, database: this.loc.database });
    const timeoutMs = opts.timeoutMs ?? this.defaultTimeoutMs;
    if (timeoutMs && timeoutMs > 0) q.set('max_execution_time', String(Math.max(1, Math.ceil(timeoutMs / 1000))));
    for (const [k, v] of Object.entries(opts.settings ?? {})) q.set(k, String(v));
    const headers = { ...(await this.headers()), 'Content-Type': 'text/plain; charset=utf-8' };
    // a streamed body cannot be sent twice, and a KILL must not wait behind busy kept-alive
    // sockets: both go on a connection of their own
    const streaming = typeof body !== 'string';
    const fresh = streaming || !!opts.fresh;
    let attempt = 0;
    for (;;) {
      attempt++;
      let connected = false;
      let killed = false;
      let finished = false;
      const req = this.mod.request({
        host: this.loc.host,
        port: this.loc.port,
        method: 'POST',
        path: `/?${q.toString()}`,
        headers,
        agent: fresh ? false : this.agent,
      });
      const stop = () => {
        if (finished || killed) return;
        killed = true;
        req.destroy();
        void this.kill(queryId);
      };
      const onAbort = () => stop();
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => {
        finished = true;
        opts.signal?.removeEventListener('abort', onAbort);
      };
      try {
        const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
          let timer: NodeJS.Timeout | undefined;
          req.on('socket', (s) => {
            const onConnect = () => {
              connected = true;
              if (timer) clearTimeout(timer);
            };
            if ((s as { connecting?: boolean }).connecting) {
              timer = setTimeout(() => {
                const e = Object.assign(new Error(`no connection in ${this.connectTimeoutMs} ms`), { code: 'ECONNECT_TIMEOUT' });
                req.destroy(e);
              }, this.connectTimeoutMs);
              s.once(this.mod === https ? 'secureConnect' : 'connect', onConnect);
            } else onConnect();
          });
          req.on('response', resolve);
          req.on('error', (e) => {
            if (timer) clearTimeout(timer);
            reject(e);
          });
          if (typeof body === 'string') req.end(body);
          else void pump(body, req).catch((e) => req.destroy(e as Error));
        });
        if (res.statusCode !== 200) {
          const text = await readAll(res, 1 << 20).catch(() => '');
          done();
          throw chServerError(text, this.label, what, res.statusCode);
        }
        return { res, req, queryId, stop, done, cancelled: () => killed || !!opts.signal?.aborted };
      } catch (e) {
        done();
        if (killed || opts.signal?.aborted) throw CdxError.cancelled('the query');
        if (e instanceof CdxError) throw e;
        // a kept-alive socket that the server closed while idle: once more on a fresh one
        const code = (e as { code?: string }).code;
        if (attempt === 1 && !fresh && req.reusedSocket && (code === 'ECONNRESET' || code === 'EPIPE')) continue;
        throw chNetError(e, this.label, what, connected);
      }
    }
  }

  /** KILL QUERY for a query id, on its own request (ASYNC: the server stops it between blocks). */
  private async kill(queryId: string): Promise<void> {
    try {
      const o = await this.open({}, `KILL QUERY WHERE query_id = ${quoteChString(queryId)} ASYNC`, { fresh: true }, {});
      o.res.resume();
      o.res.on('end', o.done);
    } catch {
      /* the query may be over already; nothing to do */
    }
  }

  async serverVersion(): Promise<string> {
    if (!this.version) {
      const r = await this.query('SELECT version()');
      this.version = `ClickHouse ${r.rows[0]?.[0] ?? '?'}`;
    }
    return this.version;
  }

  async query(sql: string, params: unknown[] = [], opts: QueryOptions = {}): Promise<QueryResult> {
    return this.run(sql, opts, { sql }, params);
  }

  private async run(sql: string, opts: QueryOptions, what: ErrorContext, params: unknown[] = []): Promise<QueryResult> {
    if (params.length) throw new CdxError('E_BAD_ARG', `${this.label}: ClickHouse 18.16 has no bound parameters: write the values into the SQL (toSQL(…, { inline: true }))`);
    let columns: ResultColumn[] = [];
    const rows: (string | null)[][] = [];
    for await (const b of this.batches(sql, { ...opts, batchRows: 1 << 30 }, what)) {
      columns = b.columns;
      for (const r of b.rows) rows.push(r);
    }
    return { columns, rows };
  }

  stream(sql: string, opts: QueryOptions & { batchRows?: number } = {}): AsyncIterable<QueryResult> {
    return this.batches(sql, opts, { sql });
  }

  private async *batches(sql: string, opts: QueryOptions & { batchRows?: number }, what: ErrorContext): AsyncGenerator<QueryResult> {
    const batchRows = Math.max(1, opts.batchRows ?? 65_536);
    const o = await this.open({ default_format: 'TabSeparatedWithNamesAndTypes' }, sql, opts, what);
    const reader = new TsvReader();
    let complete = false;
    let yielded = false;
    try {
      try {
        for await (const chunk of o.res) {
          reader.push(chunk as Buffer);
          while (reader.rows.length >= batchRows) {
            const rows = reader.rows.splice(0, batchRows);
            yielded = true;
            yield { columns: reader.columns ?? [], rows };
            if (o.cancelled()) throw CdxError.cancelled('the query');
          }
        }
      } catch (e) {
        if (o.cancelled()) throw CdxError.cancelled('the query');
        if (e instanceof CdxError) throw e;
        throw chNetError(e, this.label, what, true);
      }
      if (o.cancelled()) throw CdxError.cancelled('the query');
      const exception = reader.end();
      if (exception !== null) throw chServerError(exception, this.label, what, 200);
      complete = true;
      const rows = reader.take();
      if (rows.length || !yielded) yield { columns: reader.columns ?? [], rows };
    } finally {
      // stopped early (break, an error, cancel): the server must not go on computing
      if (!complete) o.stop();
      o.done();
    }
  }

  /**
   * Streams `body` as the data of an INSERT (e.g. `INSERT INTO db.t FORMAT TabSeparated`): the SQL
   * travels in the URL, the rows in a chunked request body, so neither side holds the whole load.
   */
  async insertStream(sql: string, body: AsyncIterable<Uint8Array>, opts: InsertOptions = {}): Promise<void> {
    const o = await this.open({ query: sql }, body, opts, { sql, ...(opts.table !== undefined ? { table: opts.table } : {}) });
    try {
      const text = await readAll(o.res, 1 << 20);
      const exc = text.trim();
      if (EXCEPTION_RE.test(exc)) throw chServerError(exc, this.label, opts.table !== undefined ? { table: opts.table } : {}, 200);
    } catch (e) {
      if (o.cancelled()) throw CdxError.cancelled('the insert');
      if (e instanceof CdxError) throw e;
      throw chNetError(e, this.label, opts.table !== undefined ? { table: opts.table } : {}, true);
    } finally {
      o.done();
    }
  }

  async listRelations(): Promise<InnerDataset[]> {
    const rels = await this.query(
      `SELECT database, name, engine FROM system.tables
        WHERE is_temporary = 0 AND database NOT IN ('system', 'INFORMATION_SCHEMA', 'information_schema')
        ORDER BY database != currentDatabase(), database, name`,
    );
    const rows = new Map<string, number>();
    try {
      const parts = await this.query(`SELECT database, table, sum(rows) FROM system.parts WHERE active GROUP BY database, table`);
      for (const [db, t, n] of parts.rows) rows.set(`${db}\0${t}`, Number(n));
    } catch {
      /* no access to system.parts: no counts */
    }
    return rels.rows.map(([db, name, engine]) => {
      const kind = relationKind(engine!);
      const inner = db === this.loc.database ? quoteUrlPart(name!) : `${quoteUrlPart(db!)}.${quoteUrlPart(name!)}`;
      const n = rows.get(`${db}\0${name}`);
      return { inner, kind, ...(n !== undefined && kind === 'table' ? { rows: n } : {}) };
    });
  }

  fromClause(target: { table?: { schema?: string; name: string }; sql?: string }): string {
    if (target.sql !== undefined) return `(\n${stripSemicolons(target.sql)}\n) AS q`;
    const t = target.table!;
    return t.schema !== undefined ? `${quoteChIdent(t.schema)}.${quoteChIdent(t.name)}` : quoteChIdent(t.name);
  }

  async describe(target: { table?: { schema?: string; name: string }; sql?: string }): Promise<Relation> {
    if (target.sql !== undefined) {
      const prefix = 'DESCRIBE TABLE (\n';
      const r = await this.run(`${prefix}${stripSemicolons(target.sql)}\n)`, {}, { sql: target.sql, sqlOffset: prefix.length });
      const columns = r.rows.map((row) => ({ name: row[0]!, type: row[1]!, nullable: isNullableType(row[1]!) }));
      const names = columns.map((c) => c.name);
      const dup = names.find((n, i) => names.indexOf(n) !== i);
      if (dup !== undefined) throw new CdxError('E_BAD_COLUMNS', `${this.label}: the query gives two columns named "${dup}": name them apart with AS`);
      return { columns, key: [], kind: 'query' };
    }
    const t = target.table!;
    const db = t.schema ?? this.loc.database;
    const shown = `${db}.${t.name}`;
    const meta = await this.run(
      `SELECT engine, engine_full, sorting_key FROM system.tables WHERE database = ${quoteChString(db)} AND name = ${quoteChString(t.name)}`,
      {},
      { table: shown },
    );
    const row = meta.rows[0];
    if (!row) throw new CdxError('E_NO_TABLE', `${this.label}: no table or view ${shown}`, { file: `${this.label}::${shown}` });
    const [engine, engineFull, sortingKey] = row as [string, string, string];
    const desc = await this.run(`DESCRIBE TABLE ${quoteChIdent(db)}.${quoteChIdent(t.name)}`, {}, { table: shown });
    // MATERIALIZED and ALIAS columns are not part of SELECT *
    const columns = desc.rows
      .filter((r) => r[2] !== 'MATERIALIZED' && r[2] !== 'ALIAS')
      .map((r) => ({ name: r[0]!, type: r[1]!, nullable: isNullableType(r[1]!) }));
    const names = columns.map((c) => c.name);
    const kind = relationKind(engine) as Relation['kind'];
    let key: string[] = [];
    let estimatedRows: number | undefined;
    if (kind === 'distributed') {
      const under = distributedTarget(engineFull);
      if (under) {
        const local = await this.run(
          `SELECT sorting_key FROM system.tables WHERE database = ${quoteChString(under.database || db)} AND name = ${quoteChString(under.table)}`,
          {},
          { table: shown },
        ).catch(() => undefined);
        key = keyColumns(local?.rows[0]?.[0] ?? '', names);
        try {
          const r = await this.run(
            `SELECT sum(rows) FROM cluster(${quoteChString(under.cluster)}, system.parts) WHERE active AND database = ${quoteChString(under.database || db)} AND table = ${quoteChString(under.table)}`,
            {},
            { table: shown },
          );
          const n = Number(r.rows[0]?.[0]);
          if (Number.isFinite(n)) estimatedRows = n;
        } catch {
          /* a shard unreachable or system.parts not readable: no estimate */
        }
      }
    } else if (kind === 'table') {
      key = keyColumns(sortingKey ?? '', names);
      if (/MergeTree/.test(engine)) {
        const r = await this.run(
          `SELECT sum(rows) FROM system.parts WHERE active AND database = ${quoteChString(db)} AND table = ${quoteChString(t.name)}`,
          {},
          { table: shown },
        ).catch(() => undefined);
        const n = Number(r?.rows[0]?.[0]);
        if (r && Number.isFinite(n)) estimatedRows = n;
      }
    }
    return { columns, key, kind, ...(estimatedRows !== undefined ? { estimatedRows } : {}) };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.agent.destroy();
  }
}

function relationKind(engine: string): 'table' | 'view' | 'distributed' {
  if (engine === 'View' || engine === 'MaterializedView' || engine === 'LiveView') return 'view';
  if (engine === 'Distributed') return 'distributed';
  return 'table';
}

/** Nullable(T), also inside LowCardinality(Nullable(T)). */
export function isNullableType(type: string): boolean {
  return /^(LowCardinality\()?Nullable\(/.test(type);
}

/** `Distributed('cdx', 'default', 'local', rand())` → its cluster, database and table. */
export function distributedTarget(engineFull: string): { cluster: string; database: string; table: string } | undefined {
  const m = /^Distributed\((.*)\)\s*(SETTINGS .*)?$/s.exec(engineFull.trim());
  if (!m) return undefined;
  const args = splitTopLevel(m[1]!);
  if (args.length < 3) return undefined;
  return { cluster: unquoteChString(args[0]!), database: unquoteChString(args[1]!), table: unquoteChString(args[2]!) };
}

/** A name as url.ts writes a part after `::` (double quotes where it is not a plain word). */
function quoteUrlPart(p: string): string {
  return /^[A-Za-z_][A-Za-z0-9_$]*$/.test(p) ? p : '"' + p.replace(/"/g, '""') + '"';
}

async function pump(body: AsyncIterable<Uint8Array>, req: http.ClientRequest): Promise<void> {
  for await (const chunk of body) {
    if (req.destroyed) return;
    if (!req.write(chunk)) {
      await new Promise<void>((resolve, reject) => {
        const ok = () => { req.off('error', bad); resolve(); };
        const bad = (e: Error) => { req.off('drain', ok); reject(e); };
        req.once('drain', ok);
        req.once('error', bad);
      });
    }
  }
  req.end();
}

function readAll(res: http.IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    res.on('data', (c: Buffer) => {
      if (n < limit) chunks.push(c);
      n += c.length;
    });
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
    res.on('aborted', () => reject(Object.assign(new Error('aborted'), { code: 'ECONNRESET' })));
  });
}
