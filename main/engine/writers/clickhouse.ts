/**
 * ClickHouse as a conversion target (`cdx convert FILE clickhouse://USER@HOST:PORT/DB::DB.TABLE`):
 * CREATE TABLE … ENGINE = MergeTree ORDER BY (option `order_by=a,b`; default the first column that
 * is neither nullable nor a float, else `tuple()`), nullable fields as Nullable(T), and the rows
 * streamed over the HTTP interface as one `INSERT … FORMAT RowBinary` whose body is written batch
 * by batch (bounded memory): binary, because 18.16's float text parser is not exact (see encoderFor).
 *
 * ClickHouse has no transactions: the table is loaded under a temporary name beside the target and
 * renamed to it only when the whole load succeeded (with --force the old table is dropped just
 * before the RENAME). A failed or cancelled load drops the temporary table, so no table is left and
 * a table being replaced stays as it was. (A process killed mid-load can leave the temporary
 * `…__cdx_load_…` table; its name says what it is.)
 *
 * SQL is written for the subset ClickHouse 18.16 (Debian's) shares with current servers; what 18.16
 * lacks and how this writer does without it:
 *   - no DateTime64: timestamps are DateTime('UTC'), whole seconds (sub-second parts are lost);
 *   - Date and DateTime hold 1970-01-01 … 2105/2106 only: a value outside stops the load, named; day 0
 *     and second 0 print as 0000-00-00 (the values themselves are kept);
 *   - no Decimal in every path we need (and none over HTTP without settings): decimals are Float64;
 *   - no Bool type: UInt8 0/1; no query parameters: identifiers quoted with backquotes.
 *
 * The HTTP exchange is a small local client (node:http, Basic auth): the shared ClickHouseConnection
 * (main/engine/sql/clickhouse.ts, insertStream) was not committed when this was written; it can take
 * its place without changing what is sent.
 */
import http from 'node:http';
import https from 'node:https';
import { randomBytes } from 'node:crypto';
import type { Field } from '../../../shared/datashape';
import { CdxError } from '../../../shared/errors';
import { dbTarget, rowText, targetPassword, type DbTarget, type DbWriterProvider } from './dbtarget';
import { checkOptions, type ColumnFidelity, type FidelityReport, type Writer, type WriteOptions } from './types';
import { cellReader, dateText, timeText, timestampText, timeUnitOf, typeLabel } from './values';

/** A ClickHouse identifier in backquotes (backquote and backslash escaped, as ClickHouse reads them). */
export function chIdent(name: string): string {
  return '`' + name.replace(/[\\`]/g, (c) => '\\' + c) + '`';
}

function baseType(f: Field): string {
  switch (f.type) {
    case 'bool': return 'UInt8';
    case 'int8': return 'Int8';
    case 'int16': return 'Int16';
    case 'int32': return 'Int32';
    case 'int64': case 'duration': return 'Int64';
    case 'uint8': return 'UInt8';
    case 'uint16': return 'UInt16';
    case 'uint32': return 'UInt32';
    case 'uint64': return 'UInt64';
    case 'float16': case 'float32': return 'Float32';
    case 'float64': case 'decimal': return 'Float64';
    case 'date': return 'Date';
    case 'timestamp': return "DateTime('UTC')";
    default: return 'String';
  }
}

function chType(f: Field): string {
  return f.nullable ? `Nullable(${baseType(f)})` : baseType(f);
}

function fidelity(f: Field): ColumnFidelity {
  const from = typeLabel(f);
  const to = chType(f);
  const c = (status: ColumnFidelity['status'], note?: string): ColumnFidelity => ({ column: f.name, from, to, status, ...(note ? { note } : {}) });
  switch (f.type) {
    case 'int8': case 'int16': case 'int32': case 'int64': case 'uint8': case 'uint16': case 'uint32': case 'uint64': case 'float32': case 'float64': return c('kept');
    case 'float16': return c('converted', 'Float32');
    case 'bool': return c('converted', 'UInt8 0/1 (ClickHouse 18.16 has no Bool)');
    case 'string': return c('kept', 'UTF-8 bytes as given');
    case 'binary': return c('converted', 'the bytes in a String');
    case 'date': return c('converted', 'Date: ClickHouse 18.16 holds 1970-01-01 … 2105-12-31 (a date outside stops the load) and prints 1970-01-01 as 0000-00-00');
    case 'timestamp': return c(f.unit === 's' && (!f.tz || /^(utc|z|etc\/utc|gmt)$/i.test(f.tz)) ? 'kept' : 'lost',
      `DateTime('UTC'), whole seconds: ${f.unit !== 's' ? 'sub-second parts are lost (ClickHouse 18.16 has no DateTime64); ' : ''}instants from 1970-01-01 to 2106-02-07 only (one outside stops the load)${f.tz && !/^(utc|z|etc\/utc|gmt)$/i.test(f.tz) ? `; the zone name "${f.tz}" is not stored` : ''}`);
    case 'time': return c('converted', 'String HH:MM:SS.fraction (ClickHouse has no time-of-day type)');
    case 'duration': return c('converted', `Int64: a count of ${f.unit ?? 'us'} (the unit is not stored)`);
    case 'decimal': return c('lost', `Float64: decimals are rounded to the nearest double (15-17 significant digits; precision ${f.precision ?? 38}, scale ${f.scale ?? 0} not kept)`);
    case 'json': return c('converted', 'JSON text in a String');
    default: return c('converted', 'text in a String');
  }
}

/** A growing byte buffer for RowBinary rows. */
class Bytes {
  buf = Buffer.allocUnsafe(1 << 16);
  n = 0;
  ensure(k: number): void {
    if (this.n + k <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.n + k));
    this.buf.copy(next, 0, 0, this.n);
    this.buf = next;
  }
  u8(v: number): void { this.ensure(1); this.buf[this.n++] = v; }
  varint(v: number): void { while (v >= 0x80) { this.u8((v & 0x7f) | 0x80); v = Math.floor(v / 128); } this.u8(v); }
  bytes(b: Uint8Array): void { this.varint(b.byteLength); this.ensure(b.byteLength); this.buf.set(b, this.n); this.n += b.byteLength; }
  str(s: string): void { this.bytes(Buffer.from(s, 'utf8')); }
  take(): Buffer { const out = Buffer.from(this.buf.subarray(0, this.n)); this.n = 0; return out; }
}

const DATE_LAST = 49_709 - 1_461; // 2105-12-31, the last day 18.16's Date prints
const SECONDS_MAX = 4_294_967_295n; // DateTime is a UInt32 of seconds

type Encode = (d: any, i: number, row: number, out: Bytes) => void;

/**
 * One column's RowBinary encoder: values cross in the server's own binary layout (little-endian
 * numbers, varint-length strings, Date as UInt16 days, DateTime as UInt32 seconds, a null flag byte
 * before each value of a Nullable column). Why not TabSeparated: 18.16 reads float text with a fast
 * parser that is one ulp off for some values and flushes subnormals to zero; the binary form is exact.
 */
function encoderFor(f: Field, type: any, bad: (row: number, why: string) => Error): Encode {
  const r = cellReader(type);
  const num = (w: (out: Bytes, v: any) => void): Encode => (d, i, row, out) => {
    const v = r.get(d, i);
    if (v === null) {
      if (!f.nullable) throw bad(row, 'a null in a column declared without nulls');
      out.u8(1);
      return;
    }
    if (f.nullable) out.u8(0);
    w(out, v);
  };
  const fixed = (k: number, put: (b: Buffer, o: number, v: any) => void) => num((out, v) => { out.ensure(k); put(out.buf, out.n, v); out.n += k; });
  switch (f.type) {
    case 'bool': return num((out, v) => out.u8(v ? 1 : 0));
    case 'int8': return fixed(1, (b, o, v) => b.writeInt8(Number(v), o));
    case 'uint8': return fixed(1, (b, o, v) => b.writeUInt8(Number(v), o));
    case 'int16': return fixed(2, (b, o, v) => b.writeInt16LE(Number(v), o));
    case 'uint16': return fixed(2, (b, o, v) => b.writeUInt16LE(Number(v), o));
    case 'int32': return fixed(4, (b, o, v) => b.writeInt32LE(Number(v), o));
    case 'uint32': return fixed(4, (b, o, v) => b.writeUInt32LE(Number(v), o));
    case 'int64': case 'duration': return fixed(8, (b, o, v) => b.writeBigInt64LE(BigInt(v), o));
    case 'uint64': return fixed(8, (b, o, v) => b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(v)), o));
    case 'float16': case 'float32': return fixed(4, (b, o, v) => b.writeFloatLE(v, o));
    case 'float64': return fixed(8, (b, o, v) => b.writeDoubleLE(v, o));
    case 'decimal': return fixed(8, (b, o, v) => b.writeDoubleLE(Number(v), o));
    case 'binary': return num((out, v) => out.bytes(v as Uint8Array));
    case 'date': return (d, i, row, out) => {
      const v = r.get(d, i) as number | null;
      if (v !== null && (v < 0 || v > DATE_LAST)) throw bad(row, `the date ${dateText(v)} is outside what a ClickHouse Date holds (1970-01-01 … 2105-12-31)`);
      num((o, x) => { o.ensure(2); o.buf.writeUInt16LE(x, o.n); o.n += 2; })(d, i, row, out);
    };
    case 'timestamp': {
      const unit = timeUnitOf(type);
      const per = { s: 1n, ms: 1000n, us: 1_000_000n, ns: 1_000_000_000n }[unit];
      const secs = (v: bigint) => { const q = v / per; return v % per !== 0n && v < 0n ? q - 1n : q; }; // rounded down, as ClickHouse truncates
      return (d, i, row, out) => {
        const v = r.get(d, i) as bigint | null;
        if (v !== null) {
          const s = secs(v);
          if (s < 0n || s > SECONDS_MAX) throw bad(row, `the instant ${timestampText(v, unit, true)} is outside what a ClickHouse DateTime holds (1970-01-01 … 2106-02-07)`);
        }
        num((o, x) => { o.ensure(4); o.buf.writeUInt32LE(Number(secs(x as bigint)), o.n); o.n += 4; })(d, i, row, out);
      };
    }
    case 'time': {
      const unit = timeUnitOf(type);
      return num((out, v) => out.str(timeText(v as bigint, unit)));
    }
    default: return num((out, v) => (v instanceof Uint8Array ? out.bytes(v) : out.str(String(v))));
  }
}

// ---- the HTTP exchange ------------------------------------------------------------------------

interface ChHttp {
  target: DbTarget;
  password: string | undefined;
}

function chError(status: number | undefined, body: string, t: DbTarget, table?: string): CdxError {
  const where = table ? `${t.label} (${table})` : t.label;
  const file = table ? t.display : t.label;
  const text = body.trim().replace(/\s+/g, ' ').slice(0, 600);
  const code = Number(/Code: (\d+)/.exec(text)?.[1]);
  if ([192, 193, 194, 516].includes(code) || status === 401 || status === 403 && /password|user/i.test(text)) return new CdxError('E_AUTH', `${t.label}: the server refused the user or password (${text})`, { file: t.label });
  if (code === 60 || code === 81) return new CdxError('E_NO_TABLE', `${where}: ${text}`, { file });
  if (code === 497 || code === 164) return new CdxError('E_PERMISSION', `${where}: ${text}`, { file });
  if (code === 159 || code === 209) return new CdxError('E_TIMEOUT', `${where}: ${text}`, { file });
  return new CdxError('E_SQL', `${where}: ${text}`, { file });
}

function netError(e: unknown, t: DbTarget, table?: string): CdxError {
  if (e instanceof CdxError) return e;
  const code = (e as NodeJS.ErrnoException).code ?? '';
  if (['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EAI_AGAIN'].includes(code)) return new CdxError('E_CONNECT', `${t.label}: cannot reach the server (${code})`, { file: t.label, cause: e });
  return new CdxError('E_CONNECTION_LOST', `${table ? `${t.label} (${table})` : t.label}: the connection to the server was lost (${(e as Error).message})`, { file: table ? t.display : t.label, cause: e });
}

function request(c: ChHttp, sql: string, table?: string): { req: http.ClientRequest; done: Promise<string> } {
  const l = c.target.location;
  const qs = new URLSearchParams({ query: sql, database: l.database });
  const headers: Record<string, string> = { Authorization: 'Basic ' + Buffer.from(`${l.user}:${c.password ?? ''}`).toString('base64') };
  // `?secure=1` in the URL: the HTTPS interface (certificates checked)
  const secure = /^(1|true|yes|on)$/i.test(l.options.secure ?? '');
  const req = (secure ? https : http).request({ host: l.host, port: l.port, method: 'POST', path: `/?${qs}`, headers });
  const done = new Promise<string>((resolve, reject) => {
    req.once('error', (e) => reject(netError(e, c.target, table)));
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.once('error', (e) => reject(netError(e, c.target, table)));
      res.once('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode === 200) resolve(body);
        else reject(chError(res.statusCode, body, c.target, table));
      });
    });
  });
  return { req, done };
}

async function run(c: ChHttp, sql: string, table?: string): Promise<string> {
  const { req, done } = request(c, sql, table);
  req.end();
  return done;
}

function chTable(db: string, name: string): string {
  return `${chIdent(db)}.${chIdent(name)}`;
}

function orderBy(fields: Field[], opts: WriteOptions, out: string): string[] {
  if (opts.order_by !== undefined) {
    const cols = opts.order_by.split(',').map((s) => s.trim()).filter(Boolean);
    for (const c of cols) {
      const f = fields.find((x) => x.name === c);
      if (!f) throw CdxError.file('E_BAD_OPTION', out, `option order_by: no column "${c}" in the output`);
      if (f.nullable) throw CdxError.file('E_BAD_OPTION', out, `option order_by: column "${c}" may be null, and ClickHouse 18.16 cannot sort a MergeTree by a Nullable column`);
    }
    return cols;
  }
  const first = fields.find((f) => !f.nullable && !/^float/.test(f.type) && f.type !== 'decimal');
  return first ? [first.name] : [];
}

export const clickhouseWriter: DbWriterProvider = {
  format: 'clickhouse',
  kind: 'clickhouse',
  extensions: [],
  container: true,
  options: {
    table: 'table name when the URL names none after "::" (default: the input file name)',
    order_by: 'the MergeTree sorting key, comma-separated columns (default: the first column that is not nullable and not a float, else none)',
  },
  async tableExists(out, inner, datasetName) {
    const t = dbTarget(out, inner, undefined, datasetName);
    const c: ChHttp = { target: t, password: targetPassword(t) };
    const db = t.table.schema ?? t.location.database;
    const r = await run(c, `EXISTS TABLE ${chTable(db, t.table.name)}`);
    return r.trim() === '1';
  },
  plan(fields, opts, ctx): FidelityReport {
    checkOptions(this, opts, ctx.out);
    const t = dbTarget(ctx.out, ctx.inner, opts.table, ctx.datasetName);
    const key = orderBy(fields, opts, t.display);
    if (fields.some((f) => f.name === '')) throw CdxError.file('E_BAD_COLUMNS', t.display, 'a column has an empty name, which ClickHouse does not allow (pick columns with --columns)');
    return {
      format: 'clickhouse',
      columns: fields.map(fidelity),
      notes: [
        `table ${t.display}: ENGINE = MergeTree ORDER BY ${key.length ? `(${key.map(chIdent).join(', ')})` : 'tuple()'}`,
        'loaded under a temporary name and renamed when complete (ClickHouse has no transactions): a failed or cancelled load leaves no table',
      ],
    };
  },
  async open(fields, schema, opts, ctx): Promise<Writer> {
    const t = dbTarget(ctx.out, ctx.inner, opts.table, ctx.datasetName);
    const tableName = t.display.slice(t.label.length + 2);
    const c: ChHttp = { target: t, password: targetPassword(t) };
    const db = t.table.schema ?? t.location.database;
    const final = chTable(db, t.table.name);
    const tmpName = `${t.table.name}__cdx_load_${randomBytes(4).toString('hex')}`;
    const tmp = chTable(db, tmpName);
    const key = orderBy(fields, opts, t.display);

    if (!ctx.force && (await run(c, `EXISTS TABLE ${final}`, tableName)).trim() === '1') {
      throw CdxError.file('E_EXISTS', t.display, 'the table already exists; give --force to replace it');
    }
    const cols = fields.map((f) => `${chIdent(f.name)} ${chType(f)}`);
    await run(c, `CREATE TABLE ${tmp} (${cols.join(', ')}) ENGINE = MergeTree ORDER BY ${key.length ? `(${key.map(chIdent).join(', ')})` : 'tuple()'}`, tableName);
    let created = true;
    const dropTmp = async () => {
      if (!created) return;
      created = false;
      await run(c, `DROP TABLE IF EXISTS ${tmp}`, tableName).catch(() => undefined);
    };

    const { req, done } = request(c, `INSERT INTO ${tmp} (${fields.map((f) => chIdent(f.name)).join(', ')}) FORMAT RowBinary`, tableName);
    let failed: unknown;
    done.catch((e) => { failed ??= e; });
    req.on('error', (e) => { failed ??= netError(e, t, tableName); });
    let rows = 0;
    const encoders = schema.fields.map((af, j) => {
      const f = fields[j]!;
      return encoderFor(f, af.type, (row, why) => CdxError.file('E_BAD_VALUE', t.display, `column "${f.name}", ${rowText(0, row)}: ${why}`, { column: f.name }));
    });
    const out = new Bytes();
    const send = (buf: Buffer | string) =>
      new Promise<void>((resolve, reject) => {
        if (failed) return reject(failed);
        req.write(buf, (e) => (e ? reject(failed ?? netError(e, t, tableName)) : resolve()));
      });
    const cleanup = async () => {
      req.destroy();
      await done.catch(() => undefined);
      await dropTmp();
    };
    return {
      async write(batch) {
        const data = schema.fields.map((_, j) => batch.data.children[j]);
        try {
          for (let i = 0; i < batch.numRows; i++) {
            for (let j = 0; j < encoders.length; j++) encoders[j]!(data[j], i, rows + i, out);
            if (out.n >= 1 << 20) await send(out.take());
          }
          if (out.n) await send(out.take());
        } catch (e) {
          out.n = 0;
          throw failed ?? e;
        }
        rows += batch.numRows;
      },
      async finish() {
        try {
          req.end();
          await done;
          if (ctx.force) await run(c, `DROP TABLE IF EXISTS ${final}`, tableName);
          await run(c, `RENAME TABLE ${tmp} TO ${final}`, tableName);
          created = false;
        } catch (e) {
          await cleanup();
          throw e;
        }
        return 'done';
      },
      async abort() {
        await cleanup();
      },
    };
  },
};
