/**
 * `cdx` on databases (issue 12), run as a user runs it — the CLI's TypeScript entry through tsx,
 * with its own forked engine and a temporary CDX home — against a real PostgreSQL (startPostgres)
 * and a real 2-shard ClickHouse cluster: `cdx schema URL` lists what the server lists, `--sql` on
 * summary / head / plot / convert gives what the server computes, a refused login names the
 * connection and never the secret, a query's syntax error prints a caret where the server says,
 * and on a terminal (a pseudo-terminal from `script`) the password is asked for without echo.
 * The prompt's logic is also tested as functions with injected streams.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { appRoot } from '../engine/paths';
import { postgresAvailable, startPostgres, type PostgresServer } from '../engine/sql/testing/postgres';
import { clickhouseAvailable, startClickHouseCluster, type ClickHouseCluster } from '../engine/sql/testing/clickhouse';
import { CdxError } from '../../shared/errors';
import { passwordGiven, queryLocation, readPassword, redactUrl, withPasswordRetry, type PasswordAsker } from './engine-client';
import { sqlErrorWithCaret, timestampText } from './format';

const root = appRoot();
const entry = pathToFileURL(path.join(root, 'main', 'cli', 'index.ts')).href;
// the CLI from source: `node --import tsx -e …` calls main() with argv as `cdx ARGS` would give it
const BOOT = `const { main } = await import(${JSON.stringify(entry)}); await main(['node', 'cdx', ...process.argv.slice(1)]);`;

let dir = '';
let home = '';

interface Run {
  code: number | null;
  out: string;
  err: string;
}

/** The environment of a run: no password anywhere unless given (no ~/.pgpass, no keychain), its own CDX home. */
function baseEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, CDX_HOME: home, CDX_NO_KEYCHAIN: '1', PGPASSFILE: path.join(dir, 'no-pgpass'), HOME: dir };
  delete env.PGPASSWORD;
  delete env.CLICKHOUSE_PASSWORD;
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

function cdx(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', BOOT, ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, out, err }));
  });
}

/** JSON whose long integer literals (int64 beyond 2^53) are kept exact, as strings. */
function parseExact(text: string): unknown {
  return JSON.parse(text.replace(/([:[,]\s*)(-?\d{16,})(?=\s*[,\]}])/g, '$1"$2"'));
}

/** Every file under a folder, as text (to look for a secret written anywhere). */
function allText(folder: string): string {
  let s = '';
  for (const name of readdirSync(folder)) {
    const p = path.join(folder, name);
    if (statSync(p).isDirectory()) s += allText(p);
    else s += readFileSync(p).toString('latin1');
  }
  return s;
}

const scriptAvailable = process.platform === 'linux' && spawnSync('script', ['--version']).status === 0;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cdx-cli-db-'));
  home = path.join(dir, 'home');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.runIf(postgresAvailable())('cdx on PostgreSQL', () => {
  let pg: PostgresServer;
  let url = '';
  let ok: NodeJS.ProcessEnv;

  beforeAll(async () => {
    pg = await startPostgres();
    url = pg.url;
    ok = baseEnv({ PGPASSWORD: pg.password });
    await pg.psql(`
      SET ROLE cdx;
      CREATE TABLE public.t (id bigint PRIMARY KEY, big bigint, v double precision, k text, d date, ts timestamptz, flag boolean);
      INSERT INTO public.t
        SELECT i,
               CASE WHEN i % 7 = 0 THEN NULL ELSE 4611686018427387904 + i * 1000003 END,
               CASE WHEN i % 11 = 0 THEN NULL ELSE (i * 37 % 1000) / 8.0 END,
               CASE WHEN i % 13 = 0 THEN NULL WHEN i % 5 = 0 THEN 'a,"b"' || chr(10) || 'c' ELSE 'k' || (i % 17) || 'é' END,
               DATE '2020-01-01' + (i % 400),
               TIMESTAMPTZ '2024-01-01 00:00:00+00' + i * INTERVAL '1.000001 second',
               i % 3 = 0
          FROM generate_series(1, 2000) AS s(i);
      INSERT INTO public.t VALUES (5000, 9223372036854775807, -0.125, 'max', DATE '0001-01-01', TIMESTAMPTZ '2262-04-11 23:47:16.854775+00', NULL),
                                  (5001, -9223372036854775808, 1.5e100, '日本語', DATE '9999-12-31', TIMESTAMPTZ '1900-01-01 00:00:00.000001+00', false);
      CREATE VIEW public.t_even AS SELECT id, v FROM public.t WHERE id % 2 = 0;
      CREATE SCHEMA "odd schema";
      CREATE TABLE "odd schema"."a.b" (x integer);
      INSERT INTO "odd schema"."a.b" SELECT generate_series(1, 321);
      RESET ROLE;
      ANALYZE public.t; ANALYZE "odd schema"."a.b"; ANALYZE public.private_data;
    `);
  }, 120_000);
  afterAll(async () => {
    await pg?.stop();
  });

  it('schema URL lists the tables and views the server lists for the user, with kind and row estimate', async () => {
    const r = await cdx(['schema', url, '--json'], ok);
    expect(r.code, r.err).toBe(0);
    const got = JSON.parse(r.out) as { connection: string; relations: { inner: string; kind: string; rows?: number }[] };
    expect(got.connection).toBe(url);
    // the server's own list for role cdx (information_schema shows what the role may use)
    const theirs = (await pg.psql(`SET ROLE cdx; SELECT table_schema, table_name, table_type FROM information_schema.tables
      WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2`)).trim().split('\n').map((l) => l.split('|'));
    const quote = (p: string) => (/^[a-z_][a-z0-9_$]*$/.test(p) ? p : `"${p.replace(/"/g, '""')}"`);
    expect(got.relations.map((x) => [x.inner, x.kind]).sort()).toEqual(theirs.map(([s, n, t]) => [`${quote(s!)}.${quote(n!)}`, t === 'VIEW' ? 'view' : 'table']).sort());
    // the estimates, after ANALYZE, are the tables' row counts; a view has none
    const count = async (q: string) => Number((await pg.psql(`SELECT count(*) FROM ${q}`)).trim());
    const byName = new Map(got.relations.map((x) => [x.inner, x]));
    expect(byName.get('public.t')!.rows).toBe(await count('public.t'));
    expect(byName.get('"odd schema"."a.b"')!.rows).toBe(await count('"odd schema"."a.b"'));
    expect(byName.get('public.t_even')!.rows).toBeUndefined();
    // the text for people: one line per relation, the hint to open one
    const text = await cdx(['schema', url], ok);
    expect(text.code, text.err).toBe(0);
    expect(text.out).toMatch(/^public\.t\s+table\s+2,002$/m);
    expect(text.out).toMatch(/^public\.t_even\s+view$/m);
    expect(text.out).toContain(`open one as ${url}::NAME`);
    // the read-only role sees only what it may read
    await pg.psql('GRANT SELECT ON public.t TO reader');
    const rd = await cdx(['schema', url.replace('cdx@', 'reader@'), '--json'], baseEnv({ PGPASSWORD: pg.reader.password }));
    expect(rd.code, rd.err).toBe(0);
    expect((JSON.parse(rd.out) as { relations: { inner: string }[] }).relations.map((x) => x.inner)).toEqual(['public.t']);
  }, 60_000);

  it('summary --sql: count, nulls, min and max as the server computes them (int64 beyond 2^53 exact)', async () => {
    const sql = 'SELECT id, big, v, k, d FROM t WHERE id % 3 <> 1';
    const r = await cdx(['summary', url, '--sql', sql + ';', '--json'], ok);
    expect(r.code, r.err).toBe(0);
    type Col = { name: string; count: number; nulls: number; min: unknown; max: unknown };
    const s = parseExact(r.out) as { rows: number; columns: Col[] };
    const [n, ...want] = (await pg.psql(`SELECT count(*),
        count(id), min(id), max(id), count(big), min(big), max(big), count(v), min(v), max(v),
        count(k), min(k COLLATE "C"), max(k COLLATE "C"), count(d), min(d), max(d) FROM (${sql}) q`)).trim().split('|');
    expect(s.rows).toBe(Number(n));
    const cols = new Map(s.columns.map((c) => [c.name, c]));
    const names = ['id', 'big', 'v', 'k', 'd'];
    for (let i = 0; i < names.length; i++) {
      const c = cols.get(names[i]!)!;
      const [cnt, mn, mx] = want.slice(3 * i, 3 * i + 3);
      expect([c.name, c.count, c.nulls]).toEqual([names[i], Number(cnt), Number(n) - Number(cnt)]);
      // numbers compared as the server prints them (bigint exact as text), text and dates as text
      const norm = (v: unknown) => (typeof v === 'number' ? String(v) : v);
      expect([norm(c.min), norm(c.max)]).toEqual(names[i] === 'v' ? [String(Number(mn)), String(Number(mx))] : [mn, mx]);
    }
    expect(cols.get('big')!.max).toBe('9223372036854775807');
    // the table for people: the exact extremes of the int64 column, no float noise
    const t = await cdx(['summary', url, '--sql', sql, '--columns', 'big'], ok);
    expect(t.code, t.err).toBe(0);
    const line = t.out.split('\n').find((l) => l.startsWith('big'))!;
    expect(line).toContain(' -9223372036854775808 ');
    expect(line).toContain(' 9223372036854775807 ');
  }, 60_000);

  it('head --sql shows the query\'s rows as the server has them (timestamps to the microsecond, int64 exact)', async () => {
    const sql = "SELECT id, big, v, k, d, ts, flag FROM t WHERE id IN (1, 5, 7, 11, 5000, 5001) ORDER BY id";
    const r = await cdx(['head', url, '--sql', sql, '--json'], ok);
    expect(r.code, r.err).toBe(0);
    const ours = r.out.trim().split('\n').map((l) => parseExact(l) as Record<string, unknown>);
    const theirs = (await pg.psql(`SELECT id, big, v, k, d, to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), flag
      FROM (${sql}) q`)).replace(/\n$/, '').split(/\n(?=\d+\|)/).map((l) => l.split('|'));
    expect(ours.length).toBe(theirs.length);
    ours.forEach((row, i) => {
      const [id, big, v, k, d, ts, flag] = theirs[i]!;
      const maybe = (x: string, f: (s: string) => unknown) => (x === '' ? null : f(x));
      expect(row).toEqual({
        id: Number(id), big: maybe(big!, (x) => (Math.abs(Number(x)) > Number.MAX_SAFE_INTEGER ? x : Number(x))), v: maybe(v!, Number),
        k: maybe(k!, String), d: d, ts, flag: maybe(flag!, (x) => x === 't'),
      });
    });
    // the text table: the rows numbered from 1, exact values, microseconds, nulls as ∅
    const t = await cdx(['head', url, '--sql', sql, '-n', '6'], ok);
    expect(t.code, t.err).toBe(0);
    expect(t.out).toMatch(/^\s*5\s+5000\s+9223372036854775807\s+-0\.125\s+max\s+0001-01-01\s+2262-04-11T23:47:16\.854775Z\s+∅$/m);
    expect(t.out).toContain('1900-01-01T00:00:00.000001Z');
    expect(t.out).toContain('rows 1–6 of 6');
  }, 60_000);

  it('convert URL --sql to CSV writes what psql \\copy writes', async () => {
    // types both print alike (the server's own spelling of booleans and timestamps differs: cast)
    const sql = 'SELECT id, big, v, k, d, flag::int AS flag FROM t WHERE id <= 400 OR id >= 5000 ORDER BY id';
    const out = path.join(dir, 'q.csv');
    const r = await cdx(['convert', url, out, '--sql', sql, '-q'], ok);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^wrote 402 rows to .*q\.csv \(csv\)$/m);
    const theirs = await pg.psql(`\\copy (${sql}) TO STDOUT WITH (FORMAT csv, HEADER)`);
    expect(readFileSync(out, 'utf8')).toBe(theirs);
  }, 60_000);

  it('plot --sql bins every row of the query that has both values', async () => {
    const out = path.join(dir, 'p.csv');
    const r = await cdx(['plot', url, '--sql', 'SELECT id::float8 AS x, v FROM t WHERE id < 3000', '--x', 'x', '--y', 'v', '--width', '16', '--height', '8', '--out', out], ok);
    expect(r.code, r.err).toBe(0);
    const binned = Number(/([\d,]+) points binned/.exec(r.out)![1]!.replace(/,/g, ''));
    expect(binned).toBe(Number((await pg.psql('SELECT count(v) FROM t WHERE id < 3000')).trim()));
  }, 60_000);

  it('a wrong password without a terminal: exit 1, the connection named, the secret nowhere (message or CDX home)', async () => {
    const secret = 'Wr0ng-S3cret';
    const a = await cdx(['head', url, '--sql', 'SELECT 1'], baseEnv({ PGPASSWORD: secret }));
    expect(a.code).toBe(1);
    expect(a.err).toContain(`cdx: ${url}: password authentication failed for user "cdx"`);
    expect(a.err).not.toContain('Password for'); // no prompt without a terminal
    // a password written in the URL is used, and never shown back
    const withPw = url.replace('cdx@', `cdx:${secret}@`);
    const b = await cdx(['summary', `${withPw}::t`], baseEnv());
    expect(b.code).toBe(1);
    expect(b.err).toContain(url);
    const c = await cdx(['schema', `${withPw}::t`, '--sql', 'SELECT 1'], baseEnv());
    expect(c.code).toBe(1);
    expect(c.err).toContain('--sql runs its own query');
    for (const x of [a, b, c]) expect(x.out + x.err).not.toContain(secret);
    expect(allText(home)).not.toContain(secret);
    // no password at all: the engine's message says where passwords come from
    const d = await cdx(['schema', url], baseEnv());
    expect(d.code).toBe(1);
    expect(d.err).toMatch(/none was given \(PGPASSWORD, ~\/\.pgpass/);
    // the right password in the URL works (kept for the engine's session only)
    const e = await cdx(['head', `${url.replace('cdx@', `cdx:${pg.password}@`)}::t`, '-n', '1'], baseEnv());
    expect(e.code, e.err).toBe(0);
    expect(e.out + e.err).not.toContain(pg.password);
    expect(allText(home)).not.toContain(pg.password);
  }, 90_000);

  it('a syntax error prints the query line with the caret where the server (and psql) put it', async () => {
    const sql = 'SELECT id,\n       v FROM t WHERE v > 1 AND AND id < 3';
    const r = await cdx(['head', url, '--sql', sql], ok);
    expect(r.code).toBe(1);
    const lines = r.err.trimEnd().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^cdx: ${url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: syntax error at or near "AND" \\(at character \\d+, line 2 column \\d+\\)$`));
    expect(lines[1]).toBe('  line 2:');
    expect(lines[2]).toBe('         v FROM t WHERE v > 1 AND AND id < 3');
    // psql's own excerpt of the same query: "LINE 2:        v FROM …" and a caret under the same character
    let psqlErr = '';
    await pg.psql(`SET ROLE cdx;\n${sql}`).catch((e: Error) => (psqlErr = e.message));
    const pl = psqlErr.split('\n');
    const i = pl.findIndex((l) => l.startsWith('LINE 2: '));
    expect(i).toBeGreaterThan(0);
    const theirCol = pl[i + 1]!.indexOf('^') - 'LINE 2: '.length;
    const ourCol = lines[3]!.indexOf('^') - 2;
    expect(lines[3]!.trim()).toBe('^');
    expect(ourCol).toBe(theirCol);
    // one line only: the server's message about an unknown column, caret under it
    const u = await cdx(['summary', url, '--sql', 'SELECT nope FROM t'], ok);
    expect(u.err.trimEnd().split('\n').slice(1)).toEqual(['  SELECT nope FROM t', '         ^']);
  }, 60_000);

  it.runIf(scriptAvailable)('on a terminal (script\'s pseudo-terminal) the password is asked for without echo, and the command runs', async () => {
    const cmd = [process.execPath, '--import', 'tsx', '--input-type=module', '-e', BOOT, 'head', `${url}::t`, '-n', '2']
      .map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const r = await new Promise<Run>((resolve, reject) => {
      const child = spawn('script', ['-qec', cmd, '/dev/null'], { cwd: root, env: baseEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      let sent = false;
      const kill = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.stdout.on('data', (d) => {
        out += d;
        // type only once the prompt is up (the terminal is then in raw mode: no echo)
        if (!sent && out.includes(`Password for ${url}: `)) {
          sent = true;
          child.stdin.write(`${pg.password}\r`);
        }
      });
      child.stderr.on('data', (d) => (out += d));
      child.once('error', reject);
      child.once('exit', (code) => {
        clearTimeout(kill);
        child.stdin.end();
        resolve({ code, out, err: '' });
      });
    });
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain(`Password for ${url}: `);
    expect(r.out).toMatch(/rows 1–2 of 2,002/);
    expect(r.out).not.toContain(pg.password);
  }, 90_000);
});

describe.runIf(clickhouseAvailable())('cdx on a 2-shard ClickHouse cluster', () => {
  let ch: ClickHouseCluster;
  let url = '';

  beforeAll(async () => {
    ch = await startClickHouseCluster();
    url = `clickhouse://cdx@127.0.0.1:${ch.http[0]}/default`;
    for (const s of [0, 1]) {
      await ch.query('CREATE TABLE default.m_local (id UInt64, big Int64, v Float64, k String) ENGINE = MergeTree ORDER BY id', s);
      await ch.query(`INSERT INTO default.m_local SELECT number * 2 + ${s}, 4611686018427387904 + number * 1000003, (number % 1000) / 8, concat('k', toString(number % 17)) FROM system.numbers LIMIT 1500`, s);
    }
    await ch.query("CREATE TABLE default.m AS default.m_local ENGINE = Distributed('cdx', 'default', 'm_local', id)");
  }, 120_000);
  afterAll(async () => {
    await ch?.stop();
  });

  it('schema lists the database\'s tables; summary --sql on the Distributed table is what the server computes; a wrong password names the connection only', async () => {
    const env = baseEnv({ CLICKHOUSE_PASSWORD: ch.password });
    const r = await cdx(['schema', url, '--json'], env);
    expect(r.code, r.err).toBe(0);
    const got = (JSON.parse(r.out) as { relations: { inner: string; kind: string; rows?: number }[] }).relations;
    const theirs = (await ch.query("SELECT name FROM system.tables WHERE database = 'default' ORDER BY name")).trim().split('\n');
    expect(got.filter((x) => !x.inner.includes('.')).map((x) => x.inner).sort()).toEqual(theirs);
    expect(got.find((x) => x.inner === 'm_local')!.rows).toBe(1500);

    const sql = 'SELECT id, big, v FROM m WHERE id % 3 != 1';
    const s = await cdx(['summary', url, '--sql', sql, '--json'], env);
    expect(s.code, s.err).toBe(0);
    type Col = { name: string; count: number; min: unknown; max: unknown };
    const cols = new Map((parseExact(s.out) as { rows: number; columns: Col[] }).columns.map((c) => [c.name, c]));
    const [n, ...w] = (await ch.query(`SELECT count(), min(id), max(id), min(big), max(big), min(v), max(v) FROM (${sql})`)).trim().split('\t');
    expect(cols.get('id')).toMatchObject({ count: Number(n), min: Number(w[0]), max: Number(w[1]) });
    expect(cols.get('big')).toMatchObject({ count: Number(n), min: w[2], max: w[3] });
    expect(cols.get('v')).toMatchObject({ min: Number(w[4]), max: Number(w[5]) });

    const bad = await cdx(['head', url, '--sql', 'SELECT id FROM m WHERE id > > 1'], env);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/^cdx: clickhouse:\/\/cdx@127\.0\.0\.1:\d+\/default: Syntax error/);

    // a wrong password: the connection named, the secret not
    const wrong = await cdx(['schema', url], baseEnv({ CLICKHOUSE_PASSWORD: 'Wr0ng-CH' }));
    expect(wrong.code).toBe(1);
    expect(wrong.err).toContain(`cdx: ${url}: the server refused the user or password`);
    expect(wrong.err).not.toContain('Wr0ng-CH');
  }, 120_000);

  // Known gap in the engine (main/engine/sql/clickhouse.ts): opening a query on ClickHouse reports
  // the server's position in the wrapped text ("failed at position 46 (line 2, col 29)") without
  // mapping it into the user's query, so the CLI has no position to put a caret under. Asserted to
  // fail, so that the fix shows here.
  it.fails('a ClickHouse syntax error has its caret under the server\'s position (engine gap: no position yet)', async () => {
    const bad = await cdx(['head', url, '--sql', 'SELECT id FROM m WHERE id > > 1'], baseEnv({ CLICKHOUSE_PASSWORD: ch.password }));
    const lines = bad.err.trimEnd().split('\n');
    expect(lines[0]).toMatch(/\(at character 29\)$/);
    expect(lines.slice(1)).toEqual(['  SELECT id FROM m WHERE id > > 1', ' '.repeat(2 + 28) + '^']);
  }, 60_000);
});

describe('--sql and the password prompt, as functions', () => {
  it('--sql makes URL::(QUERY); refused on a file path and on a URL naming a table, without echoing a password', () => {
    expect(queryLocation('postgresql://u@h:5432/db', ' SELECT 1 ;; ')).toBe('postgresql://u@h:5432/db::(SELECT 1)');
    expect(queryLocation('postgresql://u@[::1]:5432/db', 'SELECT 2')).toBe('postgresql://u@[::1]:5432/db::(SELECT 2)');
    expect(queryLocation('data.csv', undefined)).toBe('data.csv');
    expect(() => queryLocation('data.csv', 'SELECT 1')).toThrow(/--sql runs a query on a database.*not "data\.csv"/);
    let msg = '';
    try {
      queryLocation('postgresql://u:topsecret@h:5432/db::public.t', 'SELECT 1');
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toContain('without "::public.t" (postgresql://u:***@h:5432/db)');
    expect(msg).not.toContain('topsecret');
    expect(() => queryLocation('clickhouse://u@h:8123/db', ' ; ')).toThrow(/the query is empty/);
    expect(redactUrl('cannot open postgresql://me:pa55@h/db::t and clickhouse://x:y@h/d')).toBe('cannot open postgresql://me:***@h/db::t and clickhouse://x:***@h/d');
  });

  it('reads a password without echo; backspace, Ctrl+C and end of input', async () => {
    const read = async (typed: string[], end = false) => {
      const input = new PassThrough();
      const output = new PassThrough();
      let shown = '';
      output.on('data', (d) => (shown += d));
      const p = readPassword('Password for postgresql://u@h:5432/db: ', { input, output });
      for (const t of typed) input.write(t);
      if (end) input.end();
      const v = await p.then((x) => x, (e: unknown) => e);
      return { v, shown };
    };
    const a = await read(['s3', 'cr', 'x\u007f', 'et\r', 'ignored']);
    expect(a.v).toBe('s3cret');
    expect(a.shown).toBe('Password for postgresql://u@h:5432/db: \n'); // nothing typed is written back
    expect((await read(['\u0004'])).v).toBeUndefined();
    expect((await read([], true)).v).toBeUndefined();
    const c = await read(['ab\u0003']);
    expect(c.v).toBeInstanceOf(CdxError);
    expect((c.v as CdxError).code).toBe('E_CANCELLED');
  });

  it('asks once on E_AUTH when no password was given and a terminal is there, then runs again; otherwise the error as it came', async () => {
    const label = 'postgresql://cdx@127.0.0.1:5432/cdxdb';
    const auth = new CdxError('E_AUTH', `${label}: the server asks for a password and none was given`, { file: label });
    const scenario = async (o: { canAsk: boolean; answer?: string; urls?: string[]; env?: NodeJS.ProcessEnv; failures: number }) => {
      let runs = 0;
      const asked: string[] = [];
      const secrets: [string, string][] = [];
      const asker: PasswordAsker = { canAsk: () => o.canAsk, ask: async (p) => (asked.push(p), o.answer) };
      const result = await withPasswordRetry(async () => {
        runs++;
        if (runs <= o.failures) throw auth;
        return 'rows';
      }, { asker, urls: o.urls ?? [label], env: o.env ?? {}, setSecret: async (u, p) => void secrets.push([u, p]) }).then((x) => x, (e: unknown) => e);
      return { result, runs, asked, secrets };
    };
    expect(await scenario({ canAsk: true, answer: 'pw', failures: 1 })).toEqual({ result: 'rows', runs: 2, asked: [`Password for ${label}: `], secrets: [[label, 'pw']] });
    // retried once only: a second refusal is the error
    expect(await scenario({ canAsk: true, answer: 'pw', failures: 2 })).toMatchObject({ result: auth, runs: 2, asked: [`Password for ${label}: `] });
    // no terminal, nothing typed, a password given in PGPASSWORD or in the URL: no (more) asking
    expect(await scenario({ canAsk: false, answer: 'pw', failures: 1 })).toMatchObject({ result: auth, runs: 1, asked: [] });
    expect(await scenario({ canAsk: true, answer: '', failures: 1 })).toMatchObject({ result: auth, runs: 1, secrets: [] });
    expect(await scenario({ canAsk: true, answer: 'pw', failures: 1, env: { PGPASSWORD: 'x' } })).toMatchObject({ result: auth, runs: 1, asked: [] });
    expect(await scenario({ canAsk: true, answer: 'pw', failures: 1, urls: ['postgresql://cdx:x@127.0.0.1:5432/cdxdb::t'] })).toMatchObject({ result: auth, runs: 1, asked: [] });
    // CLICKHOUSE_PASSWORD says nothing about a PostgreSQL login
    expect(passwordGiven(label, [], { CLICKHOUSE_PASSWORD: 'x' })).toBe(false);
    expect(passwordGiven('clickhouse://default@h:8123/default', [], { CLICKHOUSE_PASSWORD: 'x' })).toBe(true);
  });

  it('a caret under the position of a query of one line and of several; timestamps exact in any unit', () => {
    const one = sqlErrorWithCaret(new CdxError('E_SQL', 'c: syntax error at or near "FORM" (at character 10)', { position: 9, file: 'c' }), 'SELECT 1 FORM t') as Error;
    expect(one.message).toBe('c: syntax error at or near "FORM" (at character 10)\n  SELECT 1 FORM t\n           ^');
    const sql = 'SELECT a,\n  b FORM t';
    const two = sqlErrorWithCaret(new CdxError('E_SQL', 'c: syntax error', { position: sql.indexOf('t', 12) }), sql) as Error;
    expect(two.message).toBe('c: syntax error\n  line 2:\n    b FORM t\n           ^');
    // an error without a position (or about other SQL) is left as it is
    const other = new CdxError('E_SQL', 'c: division by zero');
    expect(sqlErrorWithCaret(other, 'SELECT 1/0')).toBe(other);
    expect(timestampText(9223372036854775n, 2)).toBe('2262-04-11T23:47:16.854775Z');
    expect(timestampText(-2208988799999999n, 2)).toBe('1900-01-01T00:00:00.000001Z');
    expect(timestampText(1n, 3)).toBe('1970-01-01T00:00:00.000000001Z');
    expect(timestampText(-1n, 1)).toBe('1969-12-31T23:59:59.999Z');
    expect(timestampText(86400n, 0)).toBe('1970-01-02T00:00:00Z');
  });
});
