/**
 * The `cdx` command as a user runs it (the built bin), and `npm start`'s fallback to web mode where
 * the Electron binary cannot be had.
 */
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, watch, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { appRoot } from '../engine/paths';
import { duckQuery } from '../engine/sources/testing/oracle';

const root = appRoot();
const bin = path.join(root, 'bin', 'cdx.mjs');
const built = existsSync(path.join(root, 'out', 'main', 'cli.js'));

function electronAvailable(): boolean {
  const r = spawnSync(process.execPath, ['-e', "process.stdout.write(require('electron'))"], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  return r.status === 0 && existsSync(r.stdout) && !!(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);
}

/** Runs a command until its output matches `re`, then stops it. */
function runUntil(
  args: string[],
  re: RegExp,
  timeoutMs = 60_000,
  whileRunning: (m: RegExpMatchArray) => Promise<void> = async () => {},
): Promise<{ out: string; match: RegExpMatchArray }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, CDX_HOME: path.join(root, '.cdx-home') }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no match for ${re} in ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const onData = (d: Buffer) => {
      out += d;
      const m = out.match(re);
      if (m) {
        clearTimeout(t);
        child.stdout.off('data', onData);
        child.stderr.off('data', onData);
        whileRunning(m)
          .then(() => {
            child.once('exit', () => resolve({ out, match: m }));
            child.kill('SIGTERM');
          })
          .catch((e) => {
            child.kill('SIGKILL');
            reject(e);
          });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
  });
}

/** Runs the built `cdx` to its end with its own data folder; `onStart` gets the child (its pid). */
function cdx(args: string[], home: string, onStart: (child: ReturnType<typeof spawn>) => void = () => {}): Promise<{ code: number | null; out: string; err: string; pid: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: root, env: { ...process.env, CDX_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, out, err, pid: child.pid! }));
    onStart(child);
  });
}

const sq = (s: string) => "'" + s.replace(/'/g, "''") + "'";

/** A CSV of `n` rows: id, x (a fraction, empty every 11th row), s (k0..k16, empty every 13th). */
function writeCsv(file: string, n: number): void {
  const lines = ['id,x,s'];
  for (let i = 0; i < n; i++) lines.push(`${i},${i % 11 === 0 ? '' : ((i * 7919) % 1000) / 1000},${i % 13 === 0 ? '' : `k${i % 17}`}`);
  writeFileSync(file, lines.join('\n') + '\n');
}

describe.runIf(built)('cdx', () => {
  it('--version prints the package version', () => {
    const r = spawnSync(process.execPath, [bin, '--version'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).version);
  });

  it('an unknown command or bad option exits non-zero with one clear line', () => {
    const r = spawnSync(process.execPath, [bin, 'serve', '--port', 'abc'], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/a port is a whole number/);
  });

  it('serve prints a loopback URL with a one-time token, and that URL opens one browser session that serves the app', async () => {
    let page = '';
    let without = 0;
    let cookie = '';
    let again = 0;
    const { match } = await runUntil([bin, 'serve', '--port', '0'], /(http:\/\/127\.0\.0\.1:(\d+)\/\?token=([\w-]+))/, 60_000, async (m) => {
      without = (await fetch(`http://127.0.0.1:${m[2]}/`)).status;
      cookie = (await fetch(m[1]!, { redirect: 'manual' })).headers.get('set-cookie') ?? '';
      page = await (await fetch(`http://127.0.0.1:${m[2]}/`, { headers: { cookie: cookie.split(';')[0]! } })).text();
      again = (await fetch(m[1]!, { redirect: 'manual' })).status;
    });
    expect(match[3]!.length).toBeGreaterThanOrEqual(32);
    expect(without).toBe(403);
    expect(cookie).toMatch(new RegExp(`^cdx_token_${match[2]}=`));
    expect(page).toContain('<title>Continuum Data Explorer</title>');
    expect(again).toBe(403); // the launch token works once
  });

  it('serve refuses a network address without TLS or --insecure, and warns what the token opens when exposed', async () => {
    const r = spawnSync(process.execPath, [bin, 'serve', '--host', '0.0.0.0', '--port', '0'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/--tls-cert FILE --tls-key FILE\) to serve https, or --insecure/);
    const home = mkdtempSync(path.join(os.tmpdir(), 'cdx-cli-serve-'));
    const { out } = await runUntil([bin, 'serve', '--host', '0.0.0.0', '--port', '0', '--insecure', '--root', home], /Ctrl\+C to stop/);
    expect(out).toMatch(/listening on 0\.0\.0\.0 \(every network interface\) WITHOUT TLS/);
    expect(out).toMatch(/can read every file in, and overwrite every file you may write in:/);
    expect(out).toContain(`  ${home}`);
  });

  it('convert runs in the engine: the rows DuckDB selects with the same filter, written by the engine process; the catalog is left alone', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cdx-cli-convert-'));
    try {
      const home = path.join(dir, 'home');
      const input = path.join(dir, 'in.csv');
      writeCsv(input, 20_000);
      const outDir = path.join(dir, 'out');
      mkdirSync(outDir);
      const where = "x > 0.5 and s != 'k3'";
      // the output's temporary file is named after the process that writes it (.OUT.cdx-PID-….tmp)
      const seen: string[] = [];
      const watcher = watch(outDir, (_e, name) => name && seen.push(String(name)));
      const a = path.join(outDir, 'a.parquet');
      const r = await cdx(['convert', input, a, '--where', where, '--json'], home);
      watcher.close();
      expect(r.code, r.err).toBe(0);
      const res = JSON.parse(r.out) as { rows: number; rowsRead: number; via: string };
      expect([res.via, res.rowsRead]).toEqual(['source', 20_000]); // not catalogued: streamed from the file
      const writers = [...new Set(seen.map((n) => /\.cdx-(\d+)-/.exec(n)?.[1]).filter((x): x is string => !!x).map(Number))];
      expect(writers.length).toBeGreaterThan(0);
      expect(writers).not.toContain(r.pid); // the engine wrote it, not the CLI
      expect(readdirSync(outDir)).toEqual(['a.parquet']);
      const theirs = `SELECT id, x, s FROM read_csv(${sq(input)}) WHERE ${where}`;
      const ours = `SELECT id, x, s FROM read_parquet(${sq(a)})`;
      expect(Number((await duckQuery(`SELECT count(*) FROM (${theirs})`))[0]![0])).toBe(res.rows);
      for (const [p, q] of [[ours, theirs], [theirs, ours]]) expect(Number((await duckQuery(`SELECT count(*) FROM (${p} EXCEPT ALL ${q})`))[0]![0])).toBe(0);
      // converting did not add the file to the catalog
      const list = await cdx(['catalog', 'list', '--json'], home);
      expect((JSON.parse(list.out) as { path: string }[]).some((d) => d.path === input)).toBe(false);
      // once catalogued, the same command reads its mapped columns natively: the same rows
      expect((await cdx(['catalog', 'add', input], home)).code).toBe(0);
      const b = path.join(outDir, 'b.parquet');
      const r2 = await cdx(['convert', input, b, '--where', where, '--json'], home);
      expect(r2.code, r2.err).toBe(0);
      expect((JSON.parse(r2.out) as { via: string }).via).toBe('mapped');
      const again = `SELECT id, x, s FROM read_parquet(${sq(b)})`;
      for (const [p, q] of [[ours, again], [again, ours]]) expect(Number((await duckQuery(`SELECT count(*) FROM (${p} EXCEPT ALL ${q})`))[0]![0])).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('summary --json: exact distinct counts, exact quantiles labelled as such, string min/max - as DuckDB computes them', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cdx-cli-summary-'));
    try {
      const file = path.join(dir, 'flights.parquet');
      // 300k rows: a skewed distance (DuckDB's quantile_disc is the k-th smallest, k = ceil(q n)),
      // zip codes that only sort right as text, a carrier code of 14 values
      await duckQuery(`COPY (SELECT i AS id, CASE WHEN i % 97 = 0 THEN NULL ELSE round(exp(5 + 1.3 * sin(i * 0.7) + (hash(i) % 1000) / 700.0)) END AS distance,
        lpad(CAST((hash(i * 3) % 3000) AS VARCHAR), 5, '0') AS zip, 'C' || CAST(i % 14 AS VARCHAR) AS carrier
        FROM range(300000) t(i)) TO ${sq(file)} (FORMAT parquet)`);
      const r = await cdx(['summary', file, '--json'], path.join(dir, 'home'));
      expect(r.code, r.err).toBe(0);
      type Col = { name: string; distinct: number; distinctApproximate: boolean; min: unknown; max: unknown; quantiles: Record<string, unknown> | null };
      const cols = new Map((JSON.parse(r.out) as { columns: Col[] }).columns.map((c) => [c.name, c]));
      const [want] = await duckQuery(`SELECT count(DISTINCT distance), quantile_disc(distance, [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99]),
        count(DISTINCT zip), min(zip), max(zip), count(DISTINCT carrier), min(carrier), max(carrier) FROM read_parquet(${sq(file)})`);
      const d = cols.get('distance')!;
      expect([d.distinct, d.distinctApproximate]).toEqual([Number(want![0]), false]);
      const qs = (want![1] as { items: unknown[] }).items.map(Number);
      expect(d.quantiles).toEqual({ p1: qs[0], p5: qs[1], p25: qs[2], p50: qs[3], p75: qs[4], p95: qs[5], p99: qs[6], approximate: false });
      const z = cols.get('zip')!;
      expect([z.distinct, z.distinctApproximate, z.min, z.max]).toEqual([Number(want![2]), false, want![3], want![4]]);
      const c = cols.get('carrier')!;
      expect([c.distinct, c.min, c.max]).toEqual([Number(want![5]), want![6], want![7]]);
      // the table for people: an exact count without '~', the zip codes whole
      const t = await cdx(['summary', file], path.join(dir, 'home'));
      const zipLine = t.out.split('\n').find((l) => l.startsWith('zip'))!;
      expect(zipLine).toContain(` ${want![2]} `);
      expect(zipLine).not.toContain('~');
      expect(zipLine).toContain(String(want![3]));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('head says which rows it shows and warns of rows the reader skipped (an unterminated quote)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cdx-cli-head-'));
    try {
      const file = path.join(dir, 'q.csv');
      writeFileSync(file, 'a,b\n1,2\n3,4\n"x,5\n6,7\n');
      const r = await cdx(['head', file, '--offset', '1'], path.join(dir, 'home'));
      expect(r.code, r.err).toBe(0);
      expect(r.out).toMatch(/^\s*2\s+3\s+4$/m); // row 2 (rows count from 1)
      expect(r.out).toContain('rows 2–2 of 2');
      expect(r.err).toMatch(/warning: line 4: unterminated quoted field/);
      const past = await cdx(['head', file, '--offset', '5'], path.join(dir, 'home'));
      expect(past.out).toContain('no rows at offset 5 (2 rows)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('sort --by -x,s: the rows DuckDB orders the same way (nulls last, ties in file order), as a table, NDJSON with --where, and --out', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cdx-cli-sort-'));
    try {
      const home = path.join(dir, 'home');
      const input = path.join(dir, 'in.csv');
      writeCsv(input, 5_000);
      const order = `ORDER BY x DESC NULLS LAST, s ASC NULLS LAST, id`;
      const want = (await duckQuery(`SELECT id FROM read_csv(${sq(input)}) ${order}`)).map((r) => Number(r[0]));
      const t = await cdx(['sort', input, '--by', '-x,s', '--limit', '5'], home);
      expect(t.code, t.err).toBe(0);
      const ids = t.out.split('\n').filter((l) => /^\d+\s/.test(l)).map((l) => Number(l.trim().split(/\s+/)[1]));
      expect(ids).toEqual(want.slice(0, 5));
      expect(t.out).toMatch(/rows 1–5 of 5,000 sorted by -x,s/);
      const wantF = (await duckQuery(`SELECT id FROM read_csv(${sq(input)}) WHERE id > 2500 ${order}`)).map((r) => Number(r[0]));
      const j = await cdx(['sort', input, '--by=-x,s', '--where', 'id > 2500', '--json', '--columns', 'id'], home);
      expect(j.code, j.err).toBe(0);
      expect(j.out.trim().split('\n').map((l) => JSON.parse(l).id)).toEqual(wantF);
      const out = path.join(dir, 'sorted.csv');
      const o = await cdx(['sort', input, '--by', '-x,s', '--out', out], home);
      expect(o.code, o.err).toBe(0);
      expect((await duckQuery(`SELECT id FROM read_csv(${sq(out)})`)).map((r) => Number(r[0]))).toEqual(want);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('Ctrl+C during convert stops it with one line naming the output and leaves nothing behind', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cdx-cli-cancel-'));
    try {
      const input = path.join(dir, 'big.csv');
      writeCsv(input, 2_000_000); // ~30 MB: ingest and write take a while
      const outDir = path.join(dir, 'out');
      mkdirSync(outDir);
      let watcher: ReturnType<typeof watch> | undefined;
      const r = await cdx(['convert', input, path.join(outDir, 'big.parquet')], path.join(dir, 'home'), (child) => {
        // as soon as the engine has begun writing (the first temporary file appears)
        watcher = watch(outDir, () => {
          watcher?.close();
          child.kill('SIGINT');
        });
      });
      watcher?.close();
      expect(r.code).not.toBe(0);
      expect(r.err.trim().split('\n').pop()).toMatch(/^cdx: .*big\.parquet: conversion cancelled; nothing was written$/);
      expect(readdirSync(outDir)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it.skipIf(electronAvailable())('npm start falls back to web mode without an Electron binary, and says why', async () => {
    const { out } = await runUntil([path.join(root, 'scripts', 'start.mjs')], /http:\/\/127\.0\.0\.1:\d+\/\?token=/, 120_000);
    expect(out).toMatch(/Starting in web mode: (the Electron binary is not available here|no display)/);
  }, 130_000);
});

describe.skipIf(built)('cdx (not built)', () => {
  it('needs `npm run build` first', () => {
    throw new Error('out/main/cli.js is missing: run `npm run build` (npm test does it first).');
  });
});
