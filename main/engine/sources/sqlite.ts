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
 */
import Database from 'better-sqlite3';
import type { RecordBatch } from 'apache-arrow';
import type { Field } from '../../../shared/datashape';
import { DEFAULT_BATCH_ROWS, buildBatch, checkAbort, schemaOf, selectFields, wrapError } from './common';
import { CdxError } from '../../../shared/errors';
import { SourceError, type InnerDataset, type IngestWarning, type ScanOptions, type Source, type SourceInfo, type SourceProvider } from './types';

/** SQLite identifier quoting: double quotes, embedded quotes doubled. */
export function quoteIdent(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}

type Db = InstanceType<typeof Database>;

function openDb(path: string): Db {
  try {
    const db = new Database(path, { readonly: true, fileMustExist: true });
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

function sqliteError(e: unknown, path: string, prefix = ''): CdxError {
  if (e instanceof SourceError) return e;
  const code = (e as any)?.code as string | undefined;
  if (code === 'SQLITE_NOTADB') return new SourceError('E_CORRUPT', path, `${prefix}not a SQLite database (or it is encrypted)`);
  if (code === 'SQLITE_CORRUPT' || code?.startsWith('SQLITE_CORRUPT')) return new SourceError('E_CORRUPT', path, `${prefix}the database is corrupt (${(e as Error).message})`);
  if (code?.startsWith('SQLITE_IOERR')) return new SourceError('E_CORRUPT', path, `${prefix}read error, the file may be truncated (${(e as Error).message})`);
  if (code === 'SQLITE_CANTOPEN') return new SourceError('E_IO', path, `${prefix}cannot open the database`);
  return wrapError(e, path, 'E_READ', prefix);
}

function datasets(db: Db): { name: string; type: string }[] {
  return db.prepare(`SELECT name, type FROM sqlite_schema WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name`).all() as any[];
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

interface ColumnPlan {
  field: Field;
  kind: 'int' | 'float' | 'text' | 'blob' | 'bool' | 'date' | 'timestamp';
}

const DATE_GLOB = "'[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]'";
const TS_GLOB = "'[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9][ T][0-2][0-9]:[0-5][0-9]*'";

function planColumns(db: Db, table: string, path: string, warnings: IngestWarning[]): { plans: ColumnPlan[]; rows: number } {
  const q = quoteIdent(table);
  let cols: { name: string; type: string | null }[];
  try {
    cols = db.prepare(`SELECT * FROM ${q} LIMIT 0`).columns().map((c) => ({ name: c.name, type: c.type }));
  } catch (e) {
    throw sqliteError(e, path, `cannot read ${table}: `);
  }
  const notNull = new Map<string, boolean>();
  try {
    for (const r of db.prepare(`SELECT name, type, "notnull" AS nn, pk FROM pragma_table_info(?)`).all(table) as any[]) {
      // an INTEGER PRIMARY KEY is the rowid: never null although not declared NOT NULL
      notNull.set(r.name, r.nn === 1 || (r.pk === 1 && String(r.type).toUpperCase() === 'INTEGER'));
    }
  } catch { /* views and virtual tables: unknown */ }
  let rows = 0;
  const stats: any[] = [];
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
    let r: any;
    try {
      r = db.prepare(`SELECT ${exprs.join(', ')} FROM ${q}`).safeIntegers(false).get();
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
  return { plans, rows };
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

class SqliteSource implements Source {
  private cached?: { plans: ColumnPlan[]; rows: number; warnings: IngestWarning[] };
  constructor(private db: Db, private path: string, private table: string, private kind: string) {}

  private plan() {
    if (!this.cached) {
      const warnings: IngestWarning[] = [];
      const { plans, rows } = planColumns(this.db, this.table, this.path, warnings);
      this.cached = { plans, rows, warnings };
    }
    return this.cached;
  }

  async info(): Promise<SourceInfo> {
    const { plans, rows, warnings } = this.plan();
    const sql = (this.db.prepare('SELECT sql FROM sqlite_schema WHERE name = ?').get(this.table) as any)?.sql ?? '';
    const metadata: Record<string, string> = { 'sqlite.kind': this.kind, 'sqlite.sql': sql };
    return { format: 'sqlite', path: this.path, inner: this.table, rows, schema: schemaOf(plans.map((p) => p.field)), metadata, warnings: [...warnings] };
  }

  async *scan(opts: ScanOptions = {}): AsyncIterable<RecordBatch> {
    const { plans, rows } = this.plan();
    const fields = selectFields(plans.map((p) => p.field), opts.columns, this.path);
    const chosen = fields.map((f) => plans.find((p) => p.field === f)!);
    const batchRows = opts.batchRows ?? DEFAULT_BATCH_ROWS;
    const sql = `SELECT ${chosen.length ? chosen.map((p) => quoteIdent(p.field.name)).join(', ') : '1'} FROM ${quoteIdent(this.table)}`;
    let it: IterableIterator<unknown[]>;
    try {
      it = this.db.prepare(sql).safeIntegers(true).raw(true).iterate() as IterableIterator<unknown[]>;
    } catch (e) {
      throw sqliteError(e, this.path, `cannot read ${this.table}: `);
    }
    let done = 0;
    try {
      for (;;) {
        checkAbort(opts.signal, this.path);
        const cols: unknown[][] = chosen.map(() => []);
        let n = 0;
        try {
          for (; n < batchRows; n++) {
            const r = it.next();
            if (r.done) break;
            const row = r.value;
            for (let c = 0; c < chosen.length; c++) cols[c].push(convert(chosen[c].kind, row[c]));
          }
        } catch (e) {
          throw sqliteError(e, this.path, `cannot read ${this.table} at row ${done + n}: `);
        }
        if (n === 0) break;
        done += n;
        yield buildBatch(fields, cols, n);
        opts.onProgress?.(rows ? Math.min(1, done / rows) : 1);
        await new Promise((r) => setImmediate(r)); // keep the event loop responsive between batches
        if (n < batchRows) break;
      }
    } finally {
      it.return?.();
    }
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

export async function listSqlite(path: string): Promise<InnerDataset[]> {
  const db = openDb(path);
  try {
    return datasets(db).map((d) => ({ inner: d.name, kind: d.type }));
  } catch (e) {
    throw sqliteError(e, path);
  } finally {
    db.close();
  }
}

export async function openSqlite(path: string, inner?: string): Promise<Source> {
  const db = openDb(path);
  try {
    const all = datasets(db);
    let d: { name: string; type: string } | undefined;
    if (inner === undefined) {
      const tables = all.filter((x) => x.type === 'table');
      if (tables.length === 1) d = tables[0];
      else if (all.length === 0) throw new SourceError('E_EMPTY', path, 'the database has no tables or views');
      else throw new SourceError('E_NEED_INNER', path, `the database holds ${all.length} tables and views; open one as ${path}::NAME (${all.slice(0, 5).map((x) => x.name).join(', ')}${all.length > 5 ? ', …' : ''})`);
    } else {
      d = all.find((x) => x.name === inner);
      if (!d) throw new SourceError('E_NO_INNER', path, `no table or view named ${JSON.stringify(inner)}`);
    }
    return new SqliteSource(db, path, d.name, d.type);
  } catch (e) {
    db.close();
    throw sqliteError(e, path);
  }
}

export const sqliteProvider: SourceProvider = {
  format: 'sqlite',
  extensions: ['sqlite', 'sqlite3', 'db', 'db3', 's3db', 'sl3'],
  sniff: (head: Uint8Array) => head.length >= 16 && new TextDecoder('latin1').decode(head.subarray(0, 16)) === 'SQLite format 3\0',
  list: listSqlite,
  open: openSqlite,
};
