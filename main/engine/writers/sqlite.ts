/**
 * SQLite writer (better-sqlite3): a new table in a new database file, or in an existing one.
 * - New file: built in a temporary file beside OUT (journal off) and renamed when complete.
 * - Existing database: everything (DROP of a replaced table with --force, CREATE, INSERTs,
 *   indexes) runs in one IMMEDIATE transaction on the file itself, so a failure or a cancel rolls
 *   back and leaves the database as it was. An existing table is refused unless --force.
 * Types: integers as INTEGER (int64 exact via BigInt), floats as REAL, text as TEXT, bytes as
 * BLOB, bool as BOOLEAN (0/1), date/timestamp/time as ISO 8601 TEXT under DATE / TIMESTAMP / TIME
 * declared types (readers — CDX, DuckDB — turn them back into dates), decimals as exact TEXT.
 */
import { open as openFile } from 'node:fs/promises';
import Database from 'better-sqlite3';
import type { Field } from '../../../shared/datashape';
import {
  checkOptions, choiceOption,
  type ColumnFidelity, type FidelityReport, type Writer, type WriterProvider,
} from './types';
import { CdxError } from '../../../shared/errors';
import { cellReader, dateText, isUtcZone, timeText, timestampText, timeUnitOf, typeLabel, type CellReader } from './values';
import { sqliteOptions } from '../sqlite-binding';

export function quoteIdent(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}

const INT64_MAX = (1n << 63n) - 1n;

function declared(f: Field): string {
  switch (f.type) {
    case 'bool': return 'BOOLEAN';
    case 'int8': case 'int16': case 'int32': case 'int64': case 'uint8': case 'uint16': case 'uint32': case 'duration': return 'INTEGER';
    case 'float16': case 'float32': case 'float64': return 'REAL';
    case 'binary': return 'BLOB';
    case 'date': return 'DATE';
    case 'timestamp': return 'TIMESTAMP';
    case 'time': return 'TIME';
    default: return 'TEXT';
  }
}

function sqliteFidelity(f: Field): ColumnFidelity {
  const from = typeLabel(f);
  const to = declared(f);
  const c = (status: ColumnFidelity['status'], note?: string): ColumnFidelity => ({ column: f.name, from, to, status, ...(note ? { note } : {}) });
  switch (f.type) {
    case 'int8': case 'int16': case 'int32': case 'int64': case 'uint8': case 'uint16': case 'uint32': return c(f.type === 'int64' ? 'kept' : 'converted', f.type === 'int64' ? 'exact 64-bit integers' : 'read back as int64');
    case 'uint64': return c('converted', 'exact decimal TEXT: SQLite integers are signed 64-bit, and an INTEGER or NUMERIC column would turn values above 2^63-1 into doubles');
    case 'float64': case 'float32': case 'float16': return c('lost', 'NaN is stored as NULL (SQLite has no NaN); -0.0 may read back as 0.0; ±Inf kept' + (f.type !== 'float64' ? `; read back as float64` : ''));
    case 'bool': return c('converted', 'stored as 0/1 under a BOOLEAN declared type');
    case 'string': return c('kept', 'UTF-8 bytes as given');
    case 'binary': return c('kept');
    case 'date': return c('converted', 'ISO text YYYY-MM-DD (SQLite has no date type)');
    case 'timestamp': return c(f.tz && !isUtcZone(f.tz) ? 'lost' : 'converted',
      `ISO text 'YYYY-MM-DD HH:MM:SS.fraction' at ${f.unit ?? 'us'} precision (SQLite has no timestamp type)${f.tz ? (isUtcZone(f.tz) ? '; UTC, suffix Z' : `; as UTC with Z: the zone name "${f.tz}" is lost`) : ''}`);
    case 'time': return c('converted', 'ISO text HH:MM:SS.fraction');
    case 'duration': return c('converted', `an INTEGER count of ${f.unit ?? 'us'} (the unit is not stored)`);
    case 'decimal': return c('converted', `exact decimal TEXT (SQLite's NUMERIC would round to a double); precision ${f.precision ?? 38}, scale ${f.scale ?? 0} not stored`);
    case 'json': return c('converted', 'JSON text');
    default: return c('converted', 'text');
  }
}

type Bind = (d: any, i: number) => unknown;

function binder(r: CellReader, type: any, f: Field): Bind {
  switch (r.kind) {
    case 'bool': return (d, i) => { const v = r.get(d, i); return v === null ? null : v ? 1 : 0; };
    case 'float': return (d, i) => { const v = r.get(d, i) as number | null; return v === null || Number.isNaN(v) ? null : v; };
    case 'bigint': return f.type === 'uint64'
      ? (d, i) => { const v = r.get(d, i) as bigint | null; return v === null ? null : v.toString(); }
      : (d, i) => { const v = r.get(d, i) as bigint | null; return v === null ? null : v > INT64_MAX ? v.toString() : v; };
    case 'binary': return (d, i) => { const v = r.get(d, i) as Uint8Array | null; return v === null ? null : Buffer.from(v.buffer, v.byteOffset, v.byteLength); };
    case 'date': return (d, i) => { const v = r.get(d, i) as number | null; return v === null ? null : dateText(v); };
    case 'timestamp': {
      const unit = timeUnitOf(type);
      return (d, i) => { const v = r.get(d, i) as bigint | null; return v === null ? null : timestampText(v, unit, !!f.tz, ' '); };
    }
    case 'time': {
      const unit = timeUnitOf(type);
      return (d, i) => { const v = r.get(d, i) as bigint | null; return v === null ? null : timeText(v, unit); };
    }
    default: return (d, i) => r.get(d, i);
  }
}

async function isSqliteFile(path: string): Promise<boolean> {
  const fh = await openFile(path, 'r');
  try {
    const b = Buffer.alloc(16);
    const { bytesRead } = await fh.read(b, 0, 16, 0);
    return bytesRead === 16 && b.toString('latin1') === 'SQLite format 3\0';
  } finally {
    await fh.close();
  }
}

export const sqliteWriter: WriterProvider = {
  format: 'sqlite',
  extensions: ['sqlite', 'sqlite3', 'db'],
  container: true,
  options: {
    table: 'table name (default: OUT::TABLE, else the input file name)',
    index: 'columns to index, comma-separated (one index each)',
    timestamps: 'text (default, ISO 8601) or int (a count of the column\'s unit since the epoch)',
  },
  plan(fields, opts, ctx): FidelityReport {
    checkOptions(this, opts, ctx.out);
    choiceOption(opts, 'timestamps', ['text', 'int'] as const, 'text', ctx.out);
    for (const c of (opts.index ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
      if (!fields.some((f) => f.name === c)) throw CdxError.file('E_UNKNOWN_COLUMN', ctx.out, `option index: no column "${c}" in the output`);
    }
    const table = ctx.inner ?? opts.table ?? ctx.datasetName;
    const columns = fields.map(sqliteFidelity);
    if (opts.timestamps === 'int') {
      for (const c of columns) {
        const f = fields.find((x) => x.name === c.column)!;
        if (f.type === 'timestamp') Object.assign(c, { to: 'INTEGER', status: 'converted', note: `a count of ${f.unit ?? 'us'} since 1970-01-01 UTC${f.tz ? ` (zone "${f.tz}" not stored)` : ''}` });
      }
    }
    return { format: 'sqlite', columns, notes: [`table ${quoteIdent(table)}; rows inserted in one transaction, batch by batch (streamed)`] };
  },
  async open(fields, schema, opts, ctx): Promise<Writer> {
    const table = ctx.inner ?? opts.table ?? ctx.datasetName;
    const tsInt = opts.timestamps === 'int';
    const inPlace = ctx.outExists && (await isSqliteFile(ctx.out));
    if (ctx.outExists && !inPlace && !ctx.force) throw CdxError.file('E_EXISTS', ctx.out, 'exists and is not a SQLite database; give --force to replace it');
    let db: Database.Database;
    try {
      db = new Database(inPlace ? ctx.out : ctx.tmp, sqliteOptions({ fileMustExist: inPlace }));
    } catch (e) {
      throw CdxError.file('E_WRITE', ctx.out, `cannot open the database: ${(e as Error).message}`);
    }
    if (!inPlace) {
      db.pragma('journal_mode = OFF');
      db.pragma('synchronous = OFF');
    }
    const exists = db.prepare(`SELECT type FROM sqlite_master WHERE name = ? AND type IN ('table', 'view')`).get(table) as { type: string } | undefined;
    if (exists && !ctx.force) {
      db.close();
      throw CdxError.file('E_EXISTS', ctx.out, `already has a ${exists.type} "${table}"; give --force to replace it`);
    }
    db.exec('BEGIN IMMEDIATE');
    let open = true;
    const rollback = () => {
      if (!open) return;
      open = false;
      try {
        if (db.inTransaction) db.exec('ROLLBACK');
      } catch { /* already rolled back */ }
      db.close();
    };
    try {
      if (exists) db.exec(`DROP ${exists.type === 'view' ? 'VIEW' : 'TABLE'} ${quoteIdent(table)}`);
      const cols = fields.map((f) => `${quoteIdent(f.name)} ${tsInt && f.type === 'timestamp' ? 'INTEGER' : declared(f)}`);
      db.exec(`CREATE TABLE ${quoteIdent(table)} (${cols.join(', ')})`);
    } catch (e) {
      rollback();
      throw CdxError.file('E_WRITE', ctx.out, `cannot create table "${table}": ${(e as Error).message}`);
    }
    const ins = db.prepare(`INSERT INTO ${quoteIdent(table)} VALUES (${fields.map(() => '?').join(', ')})`);
    const binds = schema.fields.map((af, j) => {
      const r = cellReader(af.type);
      if (tsInt && r.kind === 'timestamp') return (d: any, i: number) => r.get(d, i);
      return binder(r, af.type, fields[j]);
    });
    const row = new Array(fields.length);
    return {
      async write(batch) {
        const data = schema.fields.map((_, j) => batch.data.children[j]);
        try {
          for (let i = 0; i < batch.numRows; i++) {
            for (let j = 0; j < data.length; j++) row[j] = binds[j](data[j], i);
            ins.run(row);
          }
        } catch (e) {
          throw CdxError.file('E_WRITE', ctx.out, `insert into "${table}" failed: ${(e as Error).message}`);
        }
      },
      async finish() {
        try {
          for (const c of (opts.index ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
            db.exec(`CREATE INDEX ${quoteIdent(`${table}_${c}_idx`)} ON ${quoteIdent(table)} (${quoteIdent(c)})`);
          }
          db.exec('COMMIT');
          open = false;
          db.close();
        } catch (e) {
          rollback();
          throw CdxError.file('E_WRITE', ctx.out, `cannot finish table "${table}": ${(e as Error).message}`);
        }
        return inPlace ? 'done' : 'rename';
      },
      async abort() {
        rollback();
      },
    };
  },
};
