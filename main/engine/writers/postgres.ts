/**
 * PostgreSQL as a conversion target (`cdx convert FILE postgresql://USER@HOST:PORT/DB::SCHEMA.TABLE`):
 * one transaction on one connection — (DROP of a replaced table with --force,) CREATE TABLE with the
 * columns' types mapped, the rows streamed with `COPY … FROM STDIN` in the text format
 * (pg-copy-streams, bounded memory), COMMIT in finish(). Any failure or a cancel sends CopyFail and
 * ROLLBACK (or drops the connection, which rolls back too), so no table is left and a replaced table
 * is still there. An existing table is refused (E_EXISTS naming it) unless force.
 *
 * Values cross as COPY text, written exactly: int64/uint64/decimals as decimal text, floats in their
 * shortest round-trip form (NaN, ±Infinity as PostgreSQL spells them), timestamps as ISO text with
 * `+00` for an instant (timestamptz), dates BC as PostgreSQL writes them, bytes as `\x` hex. Text
 * with a NUL character cannot be stored in PostgreSQL text: the load stops naming the column and row.
 */
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Field } from '../../../shared/datashape';
import { CdxError } from '../../../shared/errors';
import { pgError, quotePgIdent } from '../sql/postgres';
import { dbTarget, rowText, targetPassword, type DbTarget, type DbWriterProvider } from './dbtarget';
import { checkOptions, choiceOption, type ColumnFidelity, type FidelityReport, type Writer } from './types';
import { cellReader, dateText, timeText, timestampText, timeUnitOf, typeLabel } from './values';

type JsonMode = 'jsonb' | 'text';

function pgType(f: Field, json: JsonMode): string {
  switch (f.type) {
    case 'bool': return 'boolean';
    case 'int8': case 'int16': case 'uint8': return 'smallint';
    case 'int32': case 'uint16': return 'integer';
    case 'int64': case 'uint32': case 'duration': return 'bigint';
    case 'uint64': return 'numeric(20)';
    case 'float16': case 'float32': return 'real';
    case 'float64': return 'double precision';
    case 'string': return 'text';
    case 'binary': return 'bytea';
    case 'date': return 'date';
    case 'timestamp': return f.tz ? 'timestamptz' : 'timestamp';
    case 'time': return 'time';
    case 'decimal': return f.precision !== undefined && f.precision <= 1000 ? `numeric(${f.precision}, ${f.scale ?? 0})` : 'numeric';
    case 'json': return json;
    default: return 'text';
  }
}

function fidelity(f: Field, json: JsonMode): ColumnFidelity {
  const from = typeLabel(f);
  const to = pgType(f, json);
  const c = (status: ColumnFidelity['status'], note?: string): ColumnFidelity => ({ column: f.name, from, to, status, ...(note ? { note } : {}) });
  const sub = f.unit === 'ns' ? '; nanoseconds rounded to microseconds (PostgreSQL keeps µs)' : '';
  switch (f.type) {
    case 'int16': case 'int32': case 'int64': case 'bool': case 'float64': case 'date': return c('kept');
    case 'int8': return c('converted', 'smallint (PostgreSQL has no 1-byte integer)');
    case 'uint8': case 'uint16': case 'uint32': return c('converted', `${to}: the next signed type that holds every value`);
    case 'uint64': return c('converted', 'numeric(20): exact, but read back as a decimal (PostgreSQL has no unsigned 64-bit integer)');
    case 'float16': return c('converted', 'real (float32)');
    case 'float32': return c('kept', 'real; NaN and ±Infinity kept');
    case 'string': return c('kept', 'UTF-8; a value holding a NUL character cannot be stored in PostgreSQL text and stops the load (column and row named)');
    case 'binary': return c('kept');
    case 'timestamp': return f.tz
      ? c(/^(utc|z|etc\/utc|gmt)$/i.test(f.tz) && !sub ? 'kept' : sub ? 'lost' : 'converted', `timestamptz: the same instants${/^(utc|z|etc\/utc|gmt)$/i.test(f.tz) ? '' : `; the zone name "${f.tz}" is not stored (timestamptz keeps the instant, shown in the session's zone)`}${sub}`)
      : c(sub ? 'lost' : 'kept', sub ? sub.slice(2) : undefined);
    case 'time': return c(sub ? 'lost' : 'kept', sub ? sub.slice(2) : undefined);
    case 'duration': return c('converted', `bigint: a count of ${f.unit ?? 'us'} (the unit is not stored)`);
    case 'decimal': return c(f.precision !== undefined && f.precision <= 1000 ? 'kept' : 'converted', 'exact');
    case 'json': return c('converted', json === 'jsonb' ? 'jsonb: the same JSON values (key order and duplicate keys normalised by PostgreSQL)' : 'JSON text');
    default: return c('converted', 'text');
  }
}

/** COPY text format: backslash, tab, newline and carriage return escaped; NULL is \N. */
export function copyEscape(s: string): string {
  return /[\\\t\n\r]/.test(s) ? s.replace(/[\\\t\n\r]/g, (ch) => (ch === '\\' ? '\\\\' : ch === '\t' ? '\\t' : ch === '\n' ? '\\n' : '\\r')) : s;
}

/** A date's text as PostgreSQL reads it: years ≤ 0 as `YYYY-MM-DD BC`, beyond 9999 without the `+`. */
function pgDateParts(iso: string): { date: string; bc: boolean } {
  if (iso.startsWith('+')) return { date: iso.slice(1), bc: false };
  if (iso.startsWith('-') || iso.startsWith('0000')) {
    const m = /^(-?)(\d+)(-.*)$/.exec(iso)!;
    const astronomical = Number(m[2]) * (m[1] ? -1 : 1);
    return { date: String(1 - astronomical).padStart(4, '0') + m[3], bc: true };
  }
  return { date: iso, bc: false };
}

type Cell = (d: any, i: number) => string | null;

function cellText(f: Field, type: any, column: string, nulError: (i: number) => Error): Cell {
  const r = cellReader(type);
  switch (r.kind) {
    case 'bool': return (d, i) => { const v = r.get(d, i); return v === null ? null : v ? 't' : 'f'; };
    case 'int': case 'bigint': case 'duration': case 'decimal': return (d, i) => { const v = r.get(d, i); return v === null ? null : String(v); };
    case 'float': return (d, i) => {
      const v = r.get(d, i) as number | null;
      if (v === null) return null;
      if (Number.isNaN(v)) return 'NaN';
      if (v === Infinity) return 'Infinity';
      if (v === -Infinity) return '-Infinity';
      return Object.is(v, -0) ? '-0' : String(v);
    };
    case 'binary': return (d, i) => { const v = r.get(d, i) as Uint8Array | null; return v === null ? null : '\\\\x' + Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex'); };
    case 'date': return (d, i) => {
      const v = r.get(d, i) as number | null;
      if (v === null) return null;
      const p = pgDateParts(dateText(v));
      return p.bc ? p.date + ' BC' : p.date;
    };
    case 'timestamp': {
      const unit = timeUnitOf(type);
      return (d, i) => {
        const v = r.get(d, i) as bigint | null;
        if (v === null) return null;
        const t = timestampText(v, unit, false, ' ');
        const sp = t.indexOf(' ', 1);
        const p = pgDateParts(t.slice(0, sp));
        return p.date + t.slice(sp) + (f.tz ? '+00' : '') + (p.bc ? ' BC' : '');
      };
    }
    case 'time': {
      const unit = timeUnitOf(type);
      return (d, i) => { const v = r.get(d, i) as bigint | null; return v === null ? null : timeText(v, unit); };
    }
    default: return (d, i) => {
      const v = r.get(d, i);
      if (v === null) return null;
      const s = String(v);
      if (s.includes('\0')) throw nulError(i);
      return copyEscape(s);
    };
  }
}

function sslFor(mode: string | undefined): pg.ClientConfig['ssl'] | undefined {
  switch (mode) {
    case undefined: case '': return undefined; // pg reads PGSSLMODE itself
    case 'disable': return false;
    case 'verify-ca': case 'verify-full': return { rejectUnauthorized: true };
    default: return { rejectUnauthorized: false };
  }
}

async function connect(t: DbTarget): Promise<pg.Client> {
  const l = t.location;
  const password = targetPassword(t);
  const cfg: pg.ClientConfig = {
    host: l.host, port: l.port, user: l.user, database: l.database,
    connectionTimeoutMillis: Number(l.options.connect_timeout ?? 10) * 1000,
    application_name: l.options.application_name ?? 'cdx convert',
    ...(password !== undefined ? { password } : {}),
  };
  const ssl = sslFor(l.options.sslmode);
  if (ssl !== undefined) cfg.ssl = ssl;
  const c = new pg.Client(cfg);
  c.on('error', () => undefined); // a dropped connection surfaces in the query that meets it
  try {
    await c.connect();
  } catch (e) {
    await c.end().catch(() => undefined);
    throw pgError(e, t.label);
  }
  return c;
}

function tableSql(t: DbTarget): string {
  return (t.table.schema !== undefined ? quotePgIdent(t.table.schema) + '.' : '') + quotePgIdent(t.table.name);
}

/** 'r' table, 'v' view, … or undefined when nothing of that name is on the search path / in the schema. */
async function relkind(c: pg.Client, t: DbTarget): Promise<string | undefined> {
  const r = await c.query<{ relkind: string }>('SELECT c.relkind FROM pg_class c WHERE c.oid = to_regclass($1)', [tableSql(t)]);
  return r.rows[0]?.relkind;
}

const KIND_WORD: Record<string, string> = { r: 'table', p: 'table', v: 'view', m: 'materialized view', f: 'foreign table' };
const DROP_WORD: Record<string, string> = { r: 'TABLE', p: 'TABLE', v: 'VIEW', m: 'MATERIALIZED VIEW', f: 'FOREIGN TABLE' };

function checkNames(fields: Field[], t: DbTarget): void {
  const seen = new Map<string, string>();
  for (const f of fields) {
    if (f.name === '') throw CdxError.file('E_BAD_COLUMNS', t.display, 'a column has an empty name, which PostgreSQL does not allow (pick columns with --columns)');
    if (f.name.includes('\0')) throw CdxError.file('E_BAD_COLUMNS', t.display, `column "${f.name.replace(/\0/g, '\\0')}": PostgreSQL names cannot hold a NUL character`, { column: f.name });
    // PostgreSQL cuts names to 63 bytes (NAMEDATALEN - 1): two that agree on those would clash
    const cut = Buffer.from(f.name).subarray(0, 63).toString('utf8').replace(/\uFFFD$/, '');
    const other = seen.get(cut);
    if (other !== undefined) throw CdxError.file('E_BAD_COLUMNS', t.display, `columns "${other}" and "${f.name}" are the same name once PostgreSQL cuts names to 63 bytes`, { column: f.name });
    seen.set(cut, f.name);
  }
}

export const postgresWriter: DbWriterProvider = {
  format: 'postgresql',
  kind: 'postgresql',
  extensions: [],
  container: true,
  options: {
    table: 'table name when the URL names none after "::" (default: the input file name)',
    json: 'jsonb (default) or text: the type of nested (JSON) columns',
  },
  async tableExists(out, inner, datasetName) {
    const t = dbTarget(out, inner, undefined, datasetName);
    const c = await connect(t);
    try {
      return (await relkind(c, t)) !== undefined;
    } catch (e) {
      throw pgError(e, t.label, { table: t.display.slice(t.label.length + 2) });
    } finally {
      await c.end().catch(() => undefined);
    }
  },
  plan(fields, opts, ctx): FidelityReport {
    checkOptions(this, opts, ctx.out);
    const json = choiceOption(opts, 'json', ['jsonb', 'text'] as const, 'jsonb', ctx.out);
    const t = dbTarget(ctx.out, ctx.inner, opts.table, ctx.datasetName);
    checkNames(fields, t);
    const columns = fields.map((f) => {
      const c = fidelity(f, json);
      if (Buffer.byteLength(f.name) > 63) Object.assign(c, { status: 'lost', note: `${c.note ? c.note + '; ' : ''}the name is cut to 63 bytes by PostgreSQL` });
      return c;
    });
    return {
      format: 'postgresql',
      columns,
      notes: [`table ${t.display}: created and loaded with COPY FROM STDIN in one transaction (a failure or cancel leaves no table)`],
    };
  },
  async open(fields, schema, opts, ctx): Promise<Writer> {
    const json = choiceOption(opts, 'json', ['jsonb', 'text'] as const, 'jsonb', ctx.out);
    const t = dbTarget(ctx.out, ctx.inner, opts.table, ctx.datasetName);
    const tableName = t.display.slice(t.label.length + 2);
    const fail = (e: unknown) => pgError(e, t.label, { table: tableName });
    checkNames(fields, t);
    const c = await connect(t);
    let copy: ReturnType<typeof copyFrom> | undefined;
    let copyError: Error | undefined;
    let settled = false;
    const rollback = async () => {
      if (settled) return;
      settled = true;
      const work = (async () => {
        if (copy && !copy.writableFinished && !copyError) {
          // CopyFail: the server ends the COPY with an error, and the transaction is rolled back below
          await new Promise<void>((res) => {
            copy!.once('close', () => res());
            copy!.destroy(new Error('cdx: conversion stopped'));
          });
        }
        await c.query('ROLLBACK');
      })();
      const timer = new Promise<void>((res) => setTimeout(res, 5000).unref());
      await Promise.race([work.catch(() => undefined), timer]);
      // the end of the connection rolls back whatever is still open
      await c.end().catch(() => undefined);
    };
    try {
      await c.query('BEGIN');
      const kind = await relkind(c, t);
      if (kind !== undefined) {
        if (!ctx.force) throw CdxError.file('E_EXISTS', t.display, `already has a ${KIND_WORD[kind] ?? 'relation'} of that name; give --force to replace it`);
        await c.query(`DROP ${DROP_WORD[kind] ?? 'TABLE'} ${tableSql(t)}`);
      }
      const cols = fields.map((f) => `${quotePgIdent(f.name)} ${pgType(f, json)}${f.nullable ? '' : ' NOT NULL'}`);
      await c.query(`CREATE TABLE ${tableSql(t)} (${cols.join(', ')})`);
      copy = c.query(copyFrom(`COPY ${tableSql(t)} (${fields.map((f) => quotePgIdent(f.name)).join(', ')}) FROM STDIN`));
      copy.on('error', (e) => {
        copyError ??= e;
      });
    } catch (e) {
      await rollback();
      throw fail(e);
    }
    let rows = 0;
    const cells = schema.fields.map((af, j) => {
      const f = fields[j]!;
      return cellText(f, af.type, f.name, (i) =>
        CdxError.file('E_BAD_VALUE', t.display, `column "${f.name}", ${rowText(rows, i)}: the text holds a NUL character, which PostgreSQL text cannot store`, { column: f.name }));
    });
    const waitDrain = () =>
      new Promise<void>((res, rej) => {
        const ok = () => { copy!.off('error', bad); res(); };
        const bad = (e: Error) => { copy!.off('drain', ok); rej(e); };
        copy!.once('drain', ok);
        copy!.once('error', bad);
      });
    return {
      async write(batch) {
        if (copyError) throw fail(copyError);
        const data = schema.fields.map((_, j) => batch.data.children[j]);
        let buf = '';
        const row = new Array<string>(cells.length);
        try {
          for (let i = 0; i < batch.numRows; i++) {
            for (let j = 0; j < cells.length; j++) row[j] = cells[j]!(data[j], i) ?? '\\N';
            buf += row.join('\t') + '\n';
            if (buf.length >= 1 << 20) {
              if (!copy!.write(buf)) await waitDrain();
              buf = '';
            }
          }
          if (buf && !copy!.write(buf)) await waitDrain();
        } catch (e) {
          throw fail(copyError ?? e);
        }
        if (copyError) throw fail(copyError);
        rows += batch.numRows;
      },
      async finish() {
        try {
          if (copyError) throw copyError;
          await new Promise<void>((res, rej) => {
            copy!.once('finish', () => res());
            copy!.once('error', rej);
            copy!.end();
          });
          await c.query('COMMIT');
          settled = true;
          await c.end().catch(() => undefined);
        } catch (e) {
          await rollback();
          throw fail(e);
        }
        return 'done';
      },
      async abort() {
        await rollback();
      },
    };
  },
};
