/**
 * SQLite reader through better-sqlite3, read-only: every table and view is a dataset
 * (`file.sqlite::name`). Identifiers are always double-quoted with embedded quotes doubled, and a
 * requested name must exist in sqlite_schema exactly, so names with quotes, spaces, semicolons or
 * non-ASCII letters work and nothing but a name ever reaches the SQL text.
 *
 * Column types: SQLite stores a type per value, so the declared type (its affinity) is only a
 * hint. info() runs one aggregate pass in SQLite (typeof() per column) and maps what is actually
 * stored: only integers → int64 (bool when declared BOOL and all 0/1), integers and reals →
 * float64, text → string (date or timestamp when declared DATE/TIME and every value is ISO text),
 * blobs → binary, text mixed with numbers → string. Integers are read exactly (safeIntegers).
 * Rows stream with `.iterate()` in batches.
 *
 * better-sqlite3 is synchronous, and a query can run forever (an aggregate over a hostile
 * recursive view): every call into it runs in a killable worker process (../blocking.ts), never
 * on the engine's thread. The first half of this module runs there (`sqliteTasks`: open, plan,
 * iterate, build Arrow batches); the second half is the Source the engine uses, which only sends
 * calls and decodes the batches. Cancelling kills the worker, so a cancel takes effect at once.
 */
import Database from 'better-sqlite3';
import type { RecordBatch } from 'apache-arrow';
import type { Field } from '../../../shared/datashape';
import { CdxError } from '../../../shared/errors';
import { BlockingTasks, decodeBatch, encodeBatch, type WorkerSession } from '../blocking';
import { DEFAULT_BATCH_ROWS, buildBatch, checkAbort, schemaOf, selectFields, wrapError } from './common';
import type { InnerDataset, IngestWarning, ScanOptions, Source, SourceInfo, SourceProvider } from './types';
import { sqliteOptions } from '../sqlite-binding';

/** SQLite identifier quoting: double quotes, embedded quotes doubled. */
export function quoteIdent(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}

/** Type affinity of a declared column type (SQLite's rules, section 3.1 of datatype3.html). */
export function affinity(declared: string | null | undefined): 'INTEGER' | 'TEXT' | 'BLOB' | 'REAL' | 'NUMERIC' {
  const t = (declared ?? '').toUpperCase();
  if (t.includes('INT')) return 'INTEGER';
  if (t.includes('CHAR') || t.includes('CLOB') || t.includes('TEXT')) return 'TEXT';
  if (t.includes('BLOB') || t === '') return 'BLOB';
  if (t.includes('REAL') || t.includes('FLOA') || t.includes('DOUB')) return 'REAL';
  return 'NUMERIC';
}

// ---------------------------------------------------------------------------------------------
// In the worker: the synchronous library calls

type Db = InstanceType<typeof Database>;

interface ColumnPlan {
  field: Field;
  kind: 'int' | 'float' | 'text' | 'blob' | 'bool' | 'date' | 'timestamp';
}

interface TablePlan {
  plans: ColumnPlan[];
  rows: number;
  warnings: IngestWarning[];
  /** the table's or view's SQL, for the metadata */
  sql: string;
}

function openDb(path: string): Db {
  try {
    const db = new Database(path, sqliteOptions({ readonly: true, fileMustExist: true }));
    db.pragma('trusted_schema = OFF'); // schema SQL (views, triggers) may not call app functions
    db.pragma('cell_size_check = ON'); // detect more corruption instead of misreading it
    db.pragma('query_only = ON');
    // touch the schema now so a non-database or corrupt header fails here, clearly
    db.prepare('SELECT count(*) FROM sqlite_schema').get();
    return db;
  } catch (e) {
    throw sqliteError(e, path);
  }
}

/** Open, run `fn`, close: one call's use of the database. */
function withDb<T>(path: string, fn: (db: Db) => T): T {
  const db = openDb(path);
  try {
    return fn(db);
  } catch (e) {
    throw sqliteError(e, path);
  } finally {
    db.close();
  }
}

function sqliteError(e: unknown, path: string, prefix = ''): CdxError {
  if (e instanceof CdxError && e.file) return e;
  const code = (e as { code?: unknown } | null)?.code;
  const sqlite = typeof code === 'string' ? code : '';
  const msg = (e as Error)?.message;
  if (sqlite === 'SQLITE_NOTADB') return CdxError.file('E_CORRUPT', path, `${prefix}not a SQLite database (or it is encrypted)`);
  if (sqlite.startsWith('SQLITE_CORRUPT')) return CdxError.file('E_CORRUPT', path, `${prefix}the database is corrupt (${msg})`);
  if (sqlite.startsWith('SQLITE_IOERR')) return CdxError.file('E_CORRUPT', path, `${prefix}read error, the file may be truncated (${msg})`);
  if (sqlite === 'SQLITE_CANTOPEN') return CdxError.file('E_IO', path, `${prefix}cannot open the database`);
  return wrapError(e, path, 'E_READ', prefix);
}

function datasets(db: Db): { name: string; type: string }[] {
  return db.prepare(`SELECT name, type FROM sqlite_schema WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name`).all() as { name: string; type: string }[];
}

const DATE_GLOB = "'[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]'";
const TS_GLOB = "'[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9][ T][0-2][0-9]:[0-5][0-9]*'";

interface TypeCounts { i: number; r: number; t: number; b: number; z: number; d: number; s: number }

function planColumns(db: Db, table: string, path: string): TablePlan {
  const warnings: IngestWarning[] = [];
  const q = quoteIdent(table);
  let cols: { name: string; type: string | null }[];
  try {
    cols = db.prepare(`SELECT * FROM ${q} LIMIT 0`).columns().map((c) => ({ name: c.name, type: c.type }));
  } catch (e) {
    throw sqliteError(e, path, `cannot read ${table}: `);
  }
  const notNull = new Map<string, boolean>();
  try {
    const info = db.prepare(`SELECT name, type, "notnull" AS nn, pk FROM pragma_table_info(?)`).all(table) as { name: string; type: string; nn: number; pk: number }[];
    for (const r of info) {
      // an INTEGER PRIMARY KEY is the rowid: never null although not declared NOT NULL
      notNull.set(r.name, r.nn === 1 || (r.pk === 1 && String(r.type).toUpperCase() === 'INTEGER'));
    }
  } catch { /* views and virtual tables: unknown */ }
  let rows = 0;
  const stats: TypeCounts[] = [];
  const CHUNK = 150; // stay under SQLITE_MAX_COLUMN (2000) result columns
  for (let s = 0; s < Math.max(cols.length, 1); s += CHUNK) {
    const part = cols.slice(s, s + CHUNK);
    const exprs = ['count(*) AS n'];
    part.forEach((c, i) => {
      const x = quoteIdent(c.name);
      exprs.push(
        `sum(typeof(${x}) = 'integer') AS i${i}`, `sum(typeof(${x}) = 'real') AS r${i}`,
        `sum(typeof(${x}) = 'text') AS t${i}`, `sum(typeof(${x}) = 'blob') AS b${i}`,
        `sum(typeof(${x}) = 'integer' AND ${x} IN (0, 1)) AS z${i}`,
        `sum(typeof(${x}) = 'text' AND ${x} GLOB ${DATE_GLOB}) AS d${i}`,
        `sum(typeof(${x}) = 'text' AND ${x} GLOB ${TS_GLOB}) AS s${i}`,
      );
    });
    let r: Record<string, number | null>;
    try {
      r = db.prepare(`SELECT ${exprs.join(', ')} FROM ${q}`).safeIntegers(false).get() as Record<string, number | null>;
    } catch (e) {
      throw sqliteError(e, path, `cannot scan ${table}: `);
    }
    rows = Number(r.n);
    part.forEach((_, i) => stats.push({ i: r[`i${i}`] ?? 0, r: r[`r${i}`] ?? 0, t: r[`t${i}`] ?? 0, b: r[`b${i}`] ?? 0, z: r[`z${i}`] ?? 0, d: r[`d${i}`] ?? 0, s: r[`s${i}`] ?? 0 }));
  }
  const plans = cols.map((c, k): ColumnPlan => {
    const st = stats[k];
    const nonNull = st.i + st.r + st.t + st.b;
    const nullable = !notNull.get(c.name) || nonNull < rows;
    const decl = (c.type ?? '').toUpperCase();
    const aff = affinity(c.type);
    const f = (type: Field['type'], extra: Partial<Field> = {}): Field => ({ name: c.name, type, nullable, ...(c.type ? { original: c.type } : {}), ...extra });
    if (nonNull === 0) {
      if (aff === 'INTEGER') return { field: f('int64'), kind: 'int' };
      if (aff === 'REAL') return { field: f('float64'), kind: 'float' };
      if (aff === 'BLOB' && c.type) return { field: f('binary'), kind: 'blob' };
      return { field: f('string'), kind: 'text' };
    }
    if (st.b > 0) {
      if (st.b < nonNull) warnings.push({ code: 'W_WIDENED', column: c.name, message: 'blobs mixed with other values: all shown as bytes' });
      return { field: f('binary'), kind: 'blob' };
    }
    if (st.t > 0) {
      if (st.t === nonNull && /DATE|TIME/.test(decl)) {
        if (st.d === nonNull && !/TIME/.test(decl.replace('DATETIME', ''))) return { field: f('date'), kind: 'date' };
        if (st.d + st.s === nonNull) return { field: f('timestamp', { unit: 'us' }), kind: 'timestamp' };
      }
      if (st.t < nonNull) warnings.push({ code: 'W_WIDENED', column: c.name, message: 'text mixed with numbers: all shown as text' });
      return { field: f('string'), kind: 'text' };
    }
    if (st.r > 0) return { field: f('float64'), kind: 'float' };
    if (/BOOL/.test(decl) && st.z === st.i) return { field: f('bool'), kind: 'bool' };
    return { field: f('int64'), kind: 'int' };
  });
  const sql = (db.prepare('SELECT sql FROM sqlite_schema WHERE name = ?').get(table) as { sql?: string } | undefined)?.sql ?? '';
  return { plans, rows, warnings, sql };
}

const encoder = new TextEncoder();

function convert(kind: ColumnPlan['kind'], v: unknown): unknown {
  if (v === null || v === undefined) return null;
  switch (kind) {
    case 'int': return typeof v === 'bigint' ? v : BigInt(Math.trunc(Number(v)));
    case 'float': return typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : Number(v);
    case 'bool': return v === 1n || v === 1 || v === true;
    case 'text': return typeof v === 'string' ? v : typeof v === 'bigint' ? v.toString() : String(v);
    case 'blob': return v instanceof Uint8Array ? v : encoder.encode(String(v));
    case 'date': {
      const ms = Date.parse(`${String(v).slice(0, 10)}T00:00:00Z`);
      return Number.isNaN(ms) ? null : Math.floor(ms / 86400000);
    }
    case 'timestamp': {
      const s = String(v);
      const iso = s.length === 10 ? `${s}T00:00:00Z` : s.replace(' ', 'T') + (/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? '' : 'Z');
      const ms = Date.parse(iso);
      if (Number.isNaN(ms)) return null;
      const frac = /\.(\d+)/.exec(s)?.[1] ?? '';
      const us = frac.length > 3 ? Number(frac.slice(3, 6).padEnd(3, '0')) : 0;
      return BigInt(ms) * 1000n + BigInt(us);
    }
  }
}

interface ScanState {
  path: string;
  table: string;
  chosen: ColumnPlan[];
  it: IterableIterator<unknown[]>;
  done: number;
}

/** What the engine asks the worker to do (run by blocking-worker.ts). */
export const sqliteTasks = {
  list(_s: WorkerSession, path: string): InnerDataset[] {
    return withDb(path, (db) => datasets(db).map((d) => ({ inner: d.name, kind: d.type })));
  },

  /** The table or view `inner` names (or the only table), with its kind. */
  find(_s: WorkerSession, path: string, inner: string | undefined): { name: string; type: string } {
    return withDb(path, (db) => {
      const all = datasets(db);
      if (inner !== undefined) {
        const d = all.find((x) => x.name === inner);
        if (!d) throw CdxError.file('E_NO_INNER', path, `no table or view named ${JSON.stringify(inner)}`);
        return d;
      }
      const tables = all.filter((x) => x.type === 'table');
      if (tables.length === 1) return tables[0];
      if (all.length === 0) throw CdxError.file('E_EMPTY', path, 'the database has no tables or views');
      throw CdxError.file('E_NEED_INNER', path, `the database holds ${all.length} tables and views; open one as ${path}::NAME (${all.slice(0, 5).map((x) => x.name).join(', ')}${all.length > 5 ? ', …' : ''})`);
    });
  },

  /** Column types from what is stored (one aggregate pass: the call a hostile view never ends). */
  plan(_s: WorkerSession, path: string, table: string): TablePlan {
    return withDb(path, (db) => planColumns(db, table, path));
  },

  /** Start streaming the chosen columns; the session keeps the database and the iterator. */
  scanStart(s: WorkerSession, path: string, table: string, chosen: ColumnPlan[]): void {
    const db = openDb(path);
    s.onEnd(() => db.close());
    const sql = `SELECT ${chosen.length ? chosen.map((p) => quoteIdent(p.field.name)).join(', ') : '1'} FROM ${quoteIdent(table)}`;
    let it: IterableIterator<unknown[]>;
    try {
      it = db.prepare(sql).safeIntegers(true).raw(true).iterate() as IterableIterator<unknown[]>;
    } catch (e) {
      throw sqliteError(e, path, `cannot read ${table}: `);
    }
    s.onEnd(() => it.return?.());
    s.state.scan = { path, table, chosen, it, done: 0 } satisfies ScanState;
  },

  /** The next batch of up to `batchRows` rows as Arrow IPC bytes; null at the end. */
  scanNext(s: WorkerSession, batchRows: number): { ipc: Uint8Array; rows: number } | null {
    const st = s.state.scan as ScanState | undefined;
    if (!st) throw new CdxError('E_INTERNAL', 'scanNext without scanStart');
    const { chosen } = st;
    const cols: unknown[][] = chosen.map(() => []);
    let n = 0;
    try {
      for (; n < batchRows; n++) {
        const r = st.it.next();
        if (r.done) break;
        const row = r.value;
        for (let c = 0; c < chosen.length; c++) cols[c].push(convert(chosen[c].kind, row[c]));
      }
    } catch (e) {
      throw sqliteError(e, st.path, `cannot read ${st.table} at row ${st.done + n}: `);
    }
    if (n === 0) return null;
    st.done += n;
    return { ipc: encodeBatch(buildBatch(chosen.map((p) => p.field), cols, n)), rows: n };
  },
};

// ---------------------------------------------------------------------------------------------
// In the engine: the Source, which sends calls to the worker

const worker = new BlockingTasks<typeof sqliteTasks>('sqlite', 'process');

class SqliteSource implements Source {
  private planned?: TablePlan;
  constructor(private path: string, private table: string, private kind: string) {}

  private async plan(signal?: AbortSignal): Promise<TablePlan> {
    this.planned ??= await worker.call('plan', [this.path, this.table], { signal, file: this.path });
    return this.planned;
  }

  async info(opts: { signal?: AbortSignal } = {}): Promise<SourceInfo> {
    const { plans, rows, warnings, sql } = await this.plan(opts.signal);
    const metadata: Record<string, string> = { 'sqlite.kind': this.kind, 'sqlite.sql': sql };
    return { format: 'sqlite', path: this.path, inner: this.table, rows, schema: schemaOf(plans.map((p) => p.field)), metadata, warnings: [...warnings] };
  }

  async *scan(opts: ScanOptions = {}): AsyncIterable<RecordBatch> {
    const { plans, rows } = await this.plan(opts.signal);
    const fields = selectFields(plans.map((p) => p.field), opts.columns, this.path);
    const chosen = fields.map((f) => plans.find((p) => p.field === f)!);
    const batchRows = opts.batchRows ?? DEFAULT_BATCH_ROWS;
    const session = worker.session({ signal: opts.signal, file: this.path });
    try {
      await session.call('scanStart', this.path, this.table, chosen);
      let done = 0;
      for (;;) {
        checkAbort(opts.signal, this.path);
        const b = await session.call('scanNext', batchRows);
        if (!b) break;
        done += b.rows;
        yield decodeBatch(b.ipc);
        opts.onProgress?.(rows ? Math.min(1, done / rows) : 1);
        if (b.rows < batchRows) break;
      }
    } finally {
      session.end();
    }
  }

  async close(): Promise<void> {
    /* nothing held open here: each call's worker opens and closes the database */
  }
}

export async function listSqlite(path: string): Promise<InnerDataset[]> {
  return worker.call('list', [path], { file: path });
}

export async function openSqlite(path: string, inner?: string): Promise<Source> {
  const d = await worker.call('find', [path, inner], { file: path });
  return new SqliteSource(path, d.name, d.type);
}

export const sqliteProvider: SourceProvider = {
  format: 'sqlite',
  extensions: ['sqlite', 'sqlite3', 'db', 'db3', 's3db', 'sl3'],
  sniff: (head: Uint8Array) => head.length >= 16 && new TextDecoder('latin1').decode(head.subarray(0, 16)) === 'SQLite format 3\0',
  list: listSqlite,
  open: openSqlite,
};
