/**
 * Databases as conversion targets (issue 12, "Targets"): a file converted into PostgreSQL (COPY,
 * one transaction) and ClickHouse (MergeTree, TabSeparated inserts) against real servers on
 * loopback, every value read back by the server itself and compared exactly with the generated
 * truth (int64 beyond 2^53, uint64 above 2^63, NaN/±Inf/-0, Unicode text with line breaks, dates,
 * timestamps with a zone and in ns, decimals, nulls) under hostile column and table names; an
 * existing table refused without force and replaced with it; a load that fails midway (a value the
 * server refuses, a NUL in text, a cancel) leaves no table — and a replaced table as it was; a wrong
 * password is E_AUTH naming the connection and never the secret; and the `cdx convert` command end
 * to end.
 */
process.env.CDX_NO_KEYCHAIN = '1'; // never touch the desktop's keychain from tests

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DateDay, Field, Int32, RecordBatch, Schema, Struct, Table, Utf8, makeData, tableToIPC, vectorFromArray,
} from 'apache-arrow';
import { CdxError } from '../../../shared/errors';
import { appRoot } from '../paths';
import { tempDir } from '../sources/testing/util';
import { postgresAvailable, startPostgres, type PostgresServer } from '../sql/testing/postgres';
import { convert } from './convert';
import { dec4, edgeBatch, edgeTruth, type EdgeTruth } from './testing/edge';
import { dateText } from './values';

const N = 200;
const truth: EdgeTruth = edgeTruth(N, 7);
/** the fixture's column names: hostile ones where the edge table has plain ones */
const NAMES: Record<string, string> = {
  i64: 'big "int"; DROP TABLE x;--', u64: 'u64', f64: 'f 64', b: 'b', s: 'Text col ✓', d: 'd', ts: 'Zeit mit Zone', tsn: 'tsn', dec: 'dec',
};

let dir: string;
let cleanup: () => void;
beforeAll(() => {
  ({ dir, cleanup } = tempDir('cdx-dbtargets-'));
});
afterAll(() => cleanup?.());

function withRn(b: RecordBatch, names: Record<string, string>): RecordBatch {
  const n = b.numRows;
  const rn = makeData({ type: new Int32(), length: n, nullCount: 0, data: Int32Array.from({ length: n }, (_, i) => i) });
  const fields = [new Field('rn', new Int32(), false), ...b.schema.fields.map((f) => new Field(names[f.name] ?? f.name, f.type, f.nullable))];
  return new RecordBatch(new Schema(fields), makeData({ type: new Struct(fields), length: n, nullCount: 0, children: [rn, ...b.data.children] as any }));
}

function writeArrow(path: string, b: RecordBatch, batchRows = 64): string {
  const parts: RecordBatch[] = [];
  for (let i = 0; i < b.numRows; i += batchRows) parts.push(b.slice(i, Math.min(b.numRows, i + batchRows)));
  writeFileSync(path, tableToIPC(new Table(parts), 'stream'));
  return path;
}

/** The edge table (with `rn`, hostile names) as an Arrow file. */
function edgeFile(name = 'edge.arrow'): string {
  return writeArrow(join(dir, name), withRn(edgeBatch(truth), NAMES));
}

/** A small table whose column `d` holds `bad` at row `at` (a date PostgreSQL cannot hold), or text with NUL. */
function badFile(name: string, kind: 'date' | 'nul', rows = 300, at = 250): string {
  const n = rows;
  const ds = Int32Array.from({ length: n }, (_, i) => (i === at && kind === 'date' ? 2 ** 31 - 1 : i));
  const ss = Array.from({ length: n }, (_, i) => (i === at && kind === 'nul' ? 'a\0b' : `v${i}`));
  const fields = [new Field('rn', new Int32(), false), new Field('d', new DateDay(), false), new Field('s', new Utf8(), false)];
  const cols = [
    makeData({ type: new Int32(), length: n, nullCount: 0, data: Int32Array.from({ length: n }, (_, i) => i) }),
    makeData({ type: new DateDay(), length: n, nullCount: 0, data: ds }),
    vectorFromArray(ss, new Utf8()).data[0]!,
  ];
  return writeArrow(join(dir, name), new RecordBatch(new Schema(fields), makeData({ type: new Struct(fields), length: n, nullCount: 0, children: cols as any })), 64);
}

function f64Hex(v: number): string {
  const b = Buffer.alloc(8);
  b.writeDoubleBE(v);
  return b.toString('hex');
}

const hex = (s: string) => Buffer.from(s, 'utf8').toString('hex');

async function codeOf(p: Promise<unknown>): Promise<CdxError> {
  try {
    await p;
  } catch (e) {
    return e as CdxError;
  }
  throw new Error('expected a failure');
}

/** Runs the built `cdx` with its own data folder and environment. */
function cdx(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> {
  const root = appRoot();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'bin', 'cdx.mjs'), ...args], {
      cwd: root, env: { ...process.env, CDX_HOME: join(dir, 'home'), CDX_NO_KEYCHAIN: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, out, err }));
  });
}
const cliBuilt = existsSync(join(appRoot(), 'out', 'main', 'cli.js'));

describe.skipIf(!postgresAvailable())('convert into PostgreSQL', () => {
  let pg: PostgresServer;
  let url: string; // with the password, as a user may write it
  beforeAll(async () => {
    pg = await startPostgres();
    url = `postgresql://cdx:${pg.password}@127.0.0.1:${pg.port}/cdxdb`;
  }, 120_000);
  afterAll(async () => {
    await pg?.stop();
  });

  /** one column of a table, ordered by rn, as psql prints `expr` (hex keeps line breaks apart) */
  async function column(table: string, expr: string): Promise<string[]> {
    const out = await pg.psql(`SET TimeZone = 'UTC'; SELECT coalesce('=' || (${expr})::text, 'NULL') FROM ${table} ORDER BY rn`);
    return out.split('\n').filter((l) => l !== '').map((l) => (l.startsWith('=') ? l.slice(1) : l));
  }
  const q = (n: string) => '"' + n.replace(/"/g, '""') + '"';

  it('writes every edge value exactly, under hostile names, and reports the types', async () => {
    const table = 'public."weird; table ""x"""';
    const r = await convert({ input: edgeFile(), output: `${url}::${table}` });
    expect(r.rows).toBe(N);
    expect(r.format).toBe('postgresql');
    expect(r.output).toBe(`postgresql://cdx@127.0.0.1:${pg.port}/cdxdb`); // no secret
    expect(JSON.stringify(r)).not.toContain(pg.password);
    const to = Object.fromEntries(r.report.columns.map((c) => [c.column, c.to]));
    expect(to).toMatchObject({ rn: 'integer', [NAMES.i64!]: 'bigint', u64: 'numeric(20)', [NAMES.f64!]: 'double precision', b: 'boolean', [NAMES.s!]: 'text', d: 'date', [NAMES.ts!]: 'timestamptz', tsn: 'timestamp', dec: 'numeric(20, 4)' });
    expect(r.report.columns.find((c) => c.column === 'tsn')!.status).toBe('lost'); // ns → µs

    // the server's own catalog says the same types
    const types = await pg.psql(`SELECT attname || '=' || format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = '${table.replace(/'/g, "''")}'::regclass AND attnum > 0 ORDER BY attnum`);
    expect(types.trim().split('\n')).toEqual([
      'rn=integer', `${NAMES.i64}=bigint`, 'u64=numeric(20,0)', `${NAMES.f64}=double precision`, 'b=boolean', `${NAMES.s}=text`, 'd=date',
      `${NAMES.ts}=timestamp with time zone`, 'tsn=timestamp without time zone', 'dec=numeric(20,4)',
    ]);

    const nul = <T,>(v: T | null, f: (x: T) => string) => (v === null ? 'NULL' : f(v));
    expect(await column(table, q(NAMES.i64!))).toEqual(truth.i64.map((v) => nul(v, String)));
    expect(await column(table, 'u64')).toEqual(truth.u64.map((v) => nul(v, String)));
    // floats compared bit for bit (NaN as PostgreSQL's one NaN)
    const f = await column(table, `encode(float8send(${q(NAMES.f64!)}), 'hex')`);
    expect(f).toEqual(truth.f64.map((v) => nul(v, (x) => (Number.isNaN(x) ? f64Hex(NaN) : f64Hex(x)))));
    expect(await column(table, 'b')).toEqual(truth.b.map((v) => nul(v, (x) => (x ? 'true' : 'false'))));
    expect(await column(table, `encode(convert_to(${q(NAMES.s!)}, 'UTF8'), 'hex')`)).toEqual(truth.s.map((v) => nul(v, hex)));
    expect(await column(table, 'd')).toEqual(truth.d.map((v) => nul(v, dateText)));
    // instants as µs since the epoch, computed by the server
    expect(await column(table, `(extract(epoch from ${q(NAMES.ts!)}) * 1000000)::numeric(30, 0)`)).toEqual(truth.ts.map((v) => nul(v, String)));
    // ns rounded to µs by the server (half away from zero is not reached by the pool: no .5 µs values)
    const roundUs = (ns: bigint) => {
      const q0 = ns / 1000n;
      const r0 = ns - q0 * 1000n;
      return r0 >= 500n ? q0 + 1n : r0 <= -500n ? q0 - 1n : q0;
    };
    expect(await column(table, `(extract(epoch from tsn) * 1000000)::numeric(30, 0)`)).toEqual(truth.tsn.map((v) => nul(v, (x) => String(roundUs(x)))));
    expect(await column(table, 'dec')).toEqual(truth.dec.map((v) => nul(v, dec4)));
  });

  it('refuses an existing table without force (E_EXISTS naming it), replaces it with force', async () => {
    const file = edgeFile('again.arrow');
    await pg.psql(`CREATE TABLE public.taken (x int); INSERT INTO public.taken VALUES (1), (2);`);
    const e = await codeOf(convert({ input: file, output: `${url}::public.taken` }));
    expect(e.code).toBe('E_EXISTS');
    expect(e.message).toContain(`postgresql://cdx@127.0.0.1:${pg.port}/cdxdb::public.taken`);
    expect(e.message).not.toContain(pg.password);
    expect((await pg.psql('SELECT count(*) FROM public.taken')).trim()).toBe('2');
    const r = await convert({ input: file, output: `${url}::public.taken`, force: true });
    expect(r.rows).toBe(N);
    expect((await pg.psql('SELECT count(*), count(DISTINCT rn) FROM public.taken')).trim()).toBe(`${N}|${N}`);
  });

  it('a value the server refuses midway leaves no table, and a replaced table as it was', async () => {
    const file = badFile('bad-date.arrow', 'date');
    const e = await codeOf(convert({ input: file, output: `${url}::public.bad_dates` }));
    expect(e.code).toBe('E_SQL');
    expect(e.message).toMatch(/date out of range/);
    expect(e.message).toContain('bad_dates');
    expect((await pg.psql("SELECT to_regclass('public.bad_dates') IS NULL")).trim()).toBe('t');
    // with force over an existing table: the old table survives the failed load
    await pg.psql('CREATE TABLE public.keep (x int); INSERT INTO public.keep VALUES (42);');
    const e2 = await codeOf(convert({ input: file, output: `${url}::public.keep`, force: true }));
    expect(e2.code).toBe('E_SQL');
    expect((await pg.psql('SELECT x FROM public.keep')).trim()).toBe('42');
  });

  it('text with a NUL character stops the load naming the column and row, and leaves no table', async () => {
    const e = await codeOf(convert({ input: badFile('nul.arrow', 'nul'), output: `${url}::public.nul_text` }));
    expect(e.code).toBe('E_BAD_VALUE');
    expect(e.message).toMatch(/column "s", row 251: .*NUL/);
    expect((await pg.psql("SELECT to_regclass('public.nul_text') IS NULL")).trim()).toBe('t');
  });

  it('a cancel midway leaves no table', async () => {
    const ac = new AbortController();
    let seen = 0;
    const e = await codeOf(convert({
      input: edgeFile('cancel.arrow'), output: `${url}::public.cancelled`, signal: ac.signal, staging: 'off',
      onProgress: (_d, rows) => {
        seen = rows;
        if (rows > 0) ac.abort();
      },
    }));
    expect(seen).toBeGreaterThan(0);
    expect(e.code).toBe('E_CANCELLED');
    expect((await pg.psql("SELECT to_regclass('public.cancelled') IS NULL")).trim()).toBe('t');
    // nothing left open on the server: no session of ours idle in a transaction
    expect((await pg.psql("SELECT count(*) FROM pg_stat_activity WHERE usename = 'cdx' AND state LIKE 'idle in transaction%'")).trim()).toBe('0');
  });

  it('a wrong password is E_AUTH naming the connection, never the secret', async () => {
    const e = await codeOf(convert({ input: edgeFile('auth.arrow'), output: `postgresql://cdx:hunter2-wrong@127.0.0.1:${pg.port}/cdxdb::public.auth` }));
    expect(e.code).toBe('E_AUTH');
    expect(e.message).toContain(`postgresql://cdx@127.0.0.1:${pg.port}/cdxdb`);
    expect(e.message).not.toContain('hunter2');
    const e2 = await codeOf(convert({ input: edgeFile('perm.arrow'), output: `postgresql://reader:${pg.reader.password}@127.0.0.1:${pg.port}/cdxdb::public.private_data` }));
    expect(e2.code).toBe('E_EXISTS'); // the reader sees the name; the table stays
    expect((await pg.psql('SELECT count(*) FROM public.private_data')).trim()).toBe('1');
  });

  it.skipIf(!cliBuilt)('cdx convert CSV postgresql://… end to end (password from PGPASSWORD, none printed)', async () => {
    const csv = join(dir, 'people.csv');
    writeFileSync(csv, 'id,name,score\n1,"Zoë, ""the"" first",1.5\n2,Ωmega,\n9007199254740993,tab\there,-0.25\n');
    const target = `postgresql://cdx@127.0.0.1:${pg.port}/cdxdb::public.people`;
    const r = await cdx(['convert', csv, target], { PGPASSWORD: pg.password });
    expect(r.err + r.out).not.toContain(pg.password);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('wrote 3 rows');
    expect(await pg.psql('SELECT id, name, score FROM public.people ORDER BY id')).toBe('1|Zoë, "the" first|1.5\n2|Ωmega|\n9007199254740993|tab\there|-0.25\n');
    // again without --force: refused, exit code non-zero, the table named
    const again = await cdx(['convert', csv, target], { PGPASSWORD: pg.password });
    expect(again.code).not.toBe(0);
    expect(again.err).toMatch(/E_EXISTS|already exists/);
    expect(again.err).toContain('public.people');
    const forced = await cdx(['convert', csv, target, '--force'], { PGPASSWORD: pg.password });
    expect(forced.code, forced.err).toBe(0);
    // a wrong password in the URL: E_AUTH, the secret not printed
    const bad = await cdx(['convert', csv, `postgresql://cdx:sekrit-wrong@127.0.0.1:${pg.port}/cdxdb::public.people2`], {});
    expect(bad.code).not.toBe(0);
    expect(bad.err + bad.out).not.toContain('sekrit-wrong');
    expect(bad.err).toContain(`postgresql://cdx@127.0.0.1:${pg.port}/cdxdb`);
  }, 120_000);
});
