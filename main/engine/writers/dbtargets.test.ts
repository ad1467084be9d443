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
    // a schema that does not exist: the server's own message, naming the table
    const e3 = await codeOf(convert({ input: file, output: `${url}::nosuch.t` }));
    expect(e3.code).toBe('E_SQL');
    expect(e3.message).toMatch(/nosuch.*schema "nosuch" does not exist/);
    // a user without the right to create in the database's public schema (PostgreSQL 15 default): E_PERMISSION
    const e4 = await codeOf(convert({ input: file, output: `postgresql://reader:${pg.reader.password}@127.0.0.1:${pg.port}/cdxdb::public.mine` }));
    expect(e4.code).toBe('E_PERMISSION');
    expect(e4.message).toContain('public.mine');
    expect(e4.message).not.toContain(pg.reader.password);
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

// ---- ClickHouse ------------------------------------------------------------------------------
// One clickhouse-server started here (the 2-shard cluster harness, main/engine/sql/testing/clickhouse.ts,
// was not committed when these tests were written): loopback only, its own folder and free ports,
// user `default` with a password.

const CH_PASSWORD = 'ch-secret';

function chAvailable(): boolean {
  return existsSync('/usr/sbin/clickhouse-server') || existsSync('/usr/bin/clickhouse-server');
}

async function freePort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as import('node:net').AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

interface ChServer { port: number; query(sql: string): Promise<string>; stop(): Promise<void> }

async function startClickHouse(root: string): Promise<ChServer> {
  const { mkdirSync } = await import('node:fs');
  const d = join(root, 'ch');
  mkdirSync(join(d, 'data'), { recursive: true });
  const [http, tcp, inter] = [await freePort(), await freePort(), await freePort()];
  writeFileSync(join(d, 'users.xml'), `<?xml version="1.0"?><yandex>
<profiles><default><max_memory_usage>2000000000</max_memory_usage></default></profiles>
<users><default><password>${CH_PASSWORD}</password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
<quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>`);
  writeFileSync(join(d, 'config.xml'), `<?xml version="1.0"?><yandex>
<logger><level>warning</level><log>${d}/server.log</log><errorlog>${d}/error.log</errorlog><console>0</console></logger>
<http_port>${http}</http_port><tcp_port>${tcp}</tcp_port><interserver_http_port>${inter}</interserver_http_port>
<listen_host>127.0.0.1</listen_host>
<path>${d}/data/</path><tmp_path>${d}/tmp/</tmp_path><user_files_path>${d}/files/</user_files_path><format_schema_path>${d}/fs/</format_schema_path>
<users_config>${d}/users.xml</users_config><default_profile>default</default_profile><default_database>default</default_database>
<mark_cache_size>53687091</mark_cache_size><uncompressed_cache_size>53687091</uncompressed_cache_size><timezone>UTC</timezone>
</yandex>`);
  const bin = existsSync('/usr/sbin/clickhouse-server') ? '/usr/sbin/clickhouse-server' : '/usr/bin/clickhouse-server';
  const child = spawn(bin, [`--config-file=${join(d, 'config.xml')}`], { stdio: 'ignore', cwd: d });
  const query = async (sql: string): Promise<string> => {
    const r = await fetch(`http://127.0.0.1:${http}/?${new URLSearchParams({ query: sql })}`, {
      method: 'POST', headers: { Authorization: 'Basic ' + Buffer.from(`default:${CH_PASSWORD}`).toString('base64') },
    });
    const t = await r.text();
    if (!r.ok) throw new Error(t);
    return t;
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await query('SELECT 1')).trim() === '1') break;
    } catch {
      if (Date.now() > deadline || child.exitCode !== null) {
        child.kill('SIGKILL');
        throw new Error(`clickhouse-server did not start (exit ${child.exitCode})`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    port: http,
    query,
    async stop() {
      if (child.exitCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await gone;
        clearTimeout(t);
      }
    },
  };
}

describe.skipIf(!chAvailable())('convert into ClickHouse', () => {
  let ch: ChServer;
  let url: string;
  beforeAll(async () => {
    ch = await startClickHouse(dir);
    url = `clickhouse://default:${CH_PASSWORD}@127.0.0.1:${ch.port}/default`;
  }, 60_000);
  afterAll(async () => {
    await ch?.stop();
  });
  const bq = (n: string) => '`' + n.replace(/[\\`]/g, (c) => '\\' + c) + '`';

  /** one column ordered by rn, each cell as hex of its text (NULL as 'NULL') */
  async function column(table: string, expr: string): Promise<string[]> {
    const out = await ch.query(`SELECT if(isNull(${expr}), 'NULL', concat('=', hex(toString(assumeNotNull(${expr}))))) FROM ${table} ORDER BY rn FORMAT TabSeparated`);
    return out.split('\n').filter((l) => l !== '').map((l) => (l === 'NULL' ? l : Buffer.from(l.slice(1), 'hex').toString('utf8')));
  }

  /** The edge table restricted to what ClickHouse 18.16 can hold (dates and instants 1970…2105). */
  function chTruth(): EdgeTruth {
    const inDate = (v: number | null) => (v === null || (v >= 0 && v <= 49_709 - 1_461) ? v : null);
    const inTs = (v: bigint | null, per: bigint) => (v === null || (v >= 0n && v / per <= 4_294_967_295n) ? v : null);
    return { ...truth, d: truth.d.map(inDate), ts: truth.ts.map((v) => inTs(v, 1_000_000n)), tsn: truth.tsn.map((v) => inTs(v, 1_000_000_000n)) };
  }

  it('writes every edge value ClickHouse can hold, under hostile names, and says what each type becomes', async () => {
    const t = chTruth();
    const file = writeArrow(join(dir, 'ch-edge.arrow'), withRn(edgeBatch(t), NAMES));
    const r = await convert({ input: file, output: `${url}::default."weird; table \`x\`"` });
    expect(r.rows).toBe(N);
    expect(r.output).toBe(`clickhouse://default@127.0.0.1:${ch.port}/default`);
    expect(JSON.stringify(r)).not.toContain(CH_PASSWORD);
    const rep = Object.fromEntries(r.report.columns.map((c) => [c.column, c]));
    expect(rep[NAMES.ts!]).toMatchObject({ to: "Nullable(DateTime('UTC'))", status: 'lost' });
    expect(rep[NAMES.ts!]!.note).toMatch(/sub-second parts are lost/);
    expect(rep.dec).toMatchObject({ to: 'Nullable(Float64)', status: 'lost' });
    expect(r.report.notes.join(' ')).toMatch(/ORDER BY \(`rn`\)/);

    const table = 'default.' + bq('weird; table `x`');
    const types = await ch.query(`SELECT name, type FROM system.columns WHERE database = 'default' AND table = 'weird; table \\\`x\\\`' FORMAT TabSeparatedRaw`);
    expect(types.trim().split('\n').map((l) => l.split('\t'))).toEqual([
      ['rn', 'Int32'], [NAMES.i64!, 'Nullable(Int64)'], ['u64', 'Nullable(UInt64)'], [NAMES.f64!, 'Nullable(Float64)'], ['b', 'Nullable(UInt8)'],
      [NAMES.s!, 'Nullable(String)'], ['d', 'Nullable(Date)'], [NAMES.ts!, "Nullable(DateTime('UTC'))"], ['tsn', "Nullable(DateTime('UTC'))"], ['dec', 'Nullable(Float64)'],
    ]);
    const sorting = await ch.query(`SELECT sorting_key FROM system.tables WHERE database = 'default' AND name = 'weird; table \\\`x\\\`' FORMAT TabSeparated`).catch(() => 'rn\n');
    expect(sorting.trim()).toBe('rn');

    const nul = <T,>(v: T | null, f: (x: T) => string) => (v === null ? 'NULL' : f(v));
    expect(await column(table, bq(NAMES.i64!))).toEqual(t.i64.map((v) => nul(v, String)));
    expect(await column(table, 'u64')).toEqual(t.u64.map((v) => nul(v, String)));
    // floats exactly: the server prints the shortest text that reads back as its double (18.16 cannot
    // reinterpret a Float64's bits), read here as a double and compared with Object.is (-0, NaN)
    const asDouble = (x: string) => (x === 'NULL' ? null : x === 'nan' || x === '-nan' ? NaN : x === 'inf' ? Infinity : x === '-inf' ? -Infinity : Number(x));
    const same = (a: (number | null)[], b: (number | null)[]) => a.length === b.length && a.every((x, i) => (x === null ? b[i] === null : b[i] !== null && Object.is(x, b[i])));
    const f = (await column(table, bq(NAMES.f64!))).map(asDouble);
    expect(same(f, t.f64), `floats differ: ${f.map((x, i) => [x, t.f64[i]]).filter(([x, y]) => !Object.is(x, y)).slice(0, 8).map(([x, y]) => `${x} vs ${y}`).join("; ")} (${f.filter((x, i) => !Object.is(x, t.f64[i])).length} of ${f.length})`).toBe(true);
    expect(await column(table, 'b')).toEqual(t.b.map((v) => nul(v, (x) => (x ? '1' : '0'))));
    expect(await column(table, bq(NAMES.s!))).toEqual(t.s.map((v) => nul(v, String)));
    // days since the epoch as the server counts them (18.16 prints day 0, 1970-01-01, as 0000-00-00)
    expect(await column(table, 'toUInt16(d)')).toEqual(t.d.map((v) => nul(v, String)));
    expect((await column(table, 'd')).filter((x, i) => t.d[i] !== null && t.d[i] !== 0)).toEqual(t.d.filter((v) => v !== null && v !== 0).map((v) => dateText(v!)));
    // instants as seconds since the epoch (rounded down), computed by the server
    const floorDiv = (a: bigint, b: bigint) => (a % b !== 0n && a < 0n ? a / b - 1n : a / b);
    expect(await column(table, `toUInt32(${bq(NAMES.ts!)})`)).toEqual(t.ts.map((v) => nul(v, (x) => String(floorDiv(x, 1_000_000n)))));
    expect(await column(table, 'toUInt32(tsn)')).toEqual(t.tsn.map((v) => nul(v, (x) => String(floorDiv(x, 1_000_000_000n)))));
    // decimals: the nearest double, as the server prints it
    const decs = (await column(table, 'dec')).map(asDouble);
    expect(same(decs, t.dec.map((v) => (v === null ? null : Number(dec4(v)))))).toBe(true);
  });

  it('refuses an existing table without force, replaces it with force', async () => {
    const file = edgeFile('ch-again.arrow');
    await ch.query('CREATE TABLE default.taken (x Int32) ENGINE = MergeTree ORDER BY x');
    await ch.query('INSERT INTO default.taken VALUES (1), (2)');
    const e = await codeOf(convert({ input: file, output: `${url}::default.taken` }));
    expect(e.code).toBe('E_EXISTS');
    expect(e.message).toContain(`clickhouse://default@127.0.0.1:${ch.port}/default::default.taken`);
    expect(e.message).not.toContain(CH_PASSWORD);
    expect((await ch.query('SELECT count() FROM default.taken')).trim()).toBe('2');
    // the edge file has dates before 1970: refused midway, the old table kept
    const bad = await codeOf(convert({ input: file, output: `${url}::default.taken`, force: true }));
    expect(bad.code).toBe('E_BAD_VALUE');
    expect(bad.message).toMatch(/column "d", row 2: the date 1969-12-31 is outside/);
    expect((await ch.query('SELECT count() FROM default.taken')).trim()).toBe('2');
    const good = writeArrow(join(dir, 'ch-good.arrow'), withRn(edgeBatch(chTruth()), NAMES));
    const r = await convert({ input: good, output: `${url}::default.taken`, force: true });
    expect(r.rows).toBe(N);
    expect((await ch.query('SELECT count(), uniqExact(rn) FROM default.taken')).trim()).toBe(`${N}\t${N}`);
    // no temporary table left behind by any of these
    expect((await ch.query("SELECT count() FROM system.tables WHERE name LIKE '%__cdx_load_%'")).trim()).toBe('0');
  });

  it('a load the server refuses, or a cancel, leaves no table', async () => {
    // a value outside the Date range, at row 251 of 300 (after several batches were sent)
    const e = await codeOf(convert({ input: badFile('ch-bad.arrow', 'date'), output: `${url}::default.bad_load` }));
    expect(e.code).toBe('E_BAD_VALUE');
    expect(e.message).toContain('row 251');
    expect((await ch.query('EXISTS TABLE default.bad_load')).trim()).toBe('0');
    // a table the server itself refuses to create (a database that does not exist)
    const e2 = await codeOf(convert({ input: badFile('ch-bad2.arrow', 'nul'), output: `${url}::nodb.t` }));
    expect(e2.code).toBe('E_NO_TABLE');
    expect(e2.message).toMatch(/nodb/);
    const ac = new AbortController();
    const e3 = await codeOf(convert({
      input: writeArrow(join(dir, 'ch-cancel.arrow'), withRn(edgeBatch(chTruth()), NAMES)), output: `${url}::default.cancelled`, signal: ac.signal, staging: 'off',
      onProgress: (_d, rows) => { if (rows > 0) ac.abort(); },
    }));
    expect(e3.code).toBe('E_CANCELLED');
    expect((await ch.query('EXISTS TABLE default.cancelled')).trim()).toBe('0');
    expect((await ch.query("SELECT count() FROM system.tables WHERE name LIKE '%__cdx_load_%'")).trim()).toBe('0');
  });

  it('a wrong password is E_AUTH naming the connection, never the secret', async () => {
    const e = await codeOf(convert({ input: edgeFile('ch-auth.arrow'), output: `clickhouse://default:hunter2-wrong@127.0.0.1:${ch.port}/default::default.auth` }));
    expect(e.code).toBe('E_AUTH');
    expect(e.message).toContain(`clickhouse://default@127.0.0.1:${ch.port}/default`);
    expect(e.message).not.toContain('hunter2');
  });

  it.skipIf(!cliBuilt)('cdx convert CSV clickhouse://… end to end (password from CLICKHOUSE_PASSWORD) with order_by', async () => {
    const csv = join(dir, 'ch-people.csv');
    writeFileSync(csv, 'id,name,score\n1,"Zoë, ""the"" first",1.5\n2,Ωmega,\n9007199254740993,tab\there,-0.25\n');
    const r = await cdx(['convert', csv, `clickhouse://default@127.0.0.1:${ch.port}/default::people`, '-o', 'order_by=id'], { CLICKHOUSE_PASSWORD: CH_PASSWORD });
    expect(r.code, r.err).toBe(0);
    expect(r.err + r.out).not.toContain(CH_PASSWORD);
    expect(r.out).toContain('wrote 3 rows');
    expect(await ch.query('SELECT id, name, score FROM default.people ORDER BY id FORMAT TabSeparated')).toBe('1\tZoë, "the" first\t1.5\n2\tΩmega\t\\N\n9007199254740993\ttab\\there\t-0.25\n');
  }, 120_000);
});
