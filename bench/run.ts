/**
 * Benchmarks of the native engine, each measured against a baseline in the same run:
 *   read_bandwidth  plain parallel sum over the mapping (GB/s) - the machine's read limit
 *   minimal_c_loops the yardstick ("a minimal C loop reads a page-cached mapping at about
 *                   11 GB/s and bins 1.4 G points/s"): bench/minimal/loops.c built with cc -O2
 *                   -fopenmp and run on the same file (GB/s of its sum; its binning rate in the note)
 *   bin2d           N float32 (x, y) points from a page-cached file into a G x G grid (points/s);
 *                   vs.bandwidth = our bytes/s / read_bandwidth; vs.minimal_bin_loop = our points/s
 *                   / the minimal C loop's; vs.duckdb = our points/s / DuckDB's
 *                   points/s for GROUP BY on floor-binned coordinates (DuckDB runs on --duck-points
 *                   rows of the same uniform distribution in its own in-memory table; rates compared)
 *   summary         all statistics on a float64 column with 10% nulls (rows/s); vs.duckdb = DuckDB
 *                   SUMMARIZE time on the same number of rows / ours
 *   summary_exact   the same on its first 10M rows with exact quantiles (the default threshold);
 *                   vs.sketch = the sketch's time on the same rows / exact's
 *   bin2d_filtered  bin2d with a two-clause filter; vs.bin2d = its throughput / unfiltered
 *   row_window      median ms to read 1,000 rows of (x, y) at random offsets, as an Arrow table
 *   rss_anon        anonymous memory of this process after the scans (MB); vs.limit500 = 500 / it
 *   big_scan_rss_anon  (with --big-gb N) peak anonymous memory while summarizing an N GB sparse file
 * Later issues add (each with its own baseline in the same run; see their files):
 *   csv_ingest (bench/csv_ingest.ts), convert_csv_parquet (bench/convert.ts), filtered_row_window
 *   (bench/select.ts), plot figures (bench/plot.ts), explorer figures in Chromium (bench/explorer.ts)
 *   sql_pushdown (bench/sql_pushdown.ts): summary and a 1024² density computed by a real PostgreSQL
 *                   and a 2-shard ClickHouse on --pushdown-rows rows (vs.pull: against pulling the
 *                   rows into the engine) and the density answer's wire bytes (vs.cells, target ≤ 2)
 *   cli (bench/cli.ts): `cdx plot` and `cdx summary` end to end on --cli-points points as a chunked
 *                   Arrow file, Node's start-up excluded (vs.minimal_c_loop, vs.duckdb)
 *   zoned (bench/zoned.ts): on --zoned-points points as an Arrow file of 262,144-row batches (the
 *                   ingested layout): bin2d vs one region, zone maps vs read bandwidth, plot ranges
 *                   and open of a known dataset in a fresh engine, the spatial copy's build, and zoom
 *                   round trips (full view, 1% views) through the engine handlers
 * Usage: npm run -s bench [-- --json] [--points 1e9] [--summary-rows 1e8] [--duck-points 1e8]
 *        [--grid 1024] [--reps 3] [--dir /tmp/cdx-bench] [--fresh] [--no-duckdb] [--big-gb 30]
 *        [--only engine,zoned,csv_ingest,convert,select,plot,explorer,sql_pushdown,cli,many_files,remote,group,sort,join,expr,line,load] [--skip …] [--csv-bytes 1e9]
 *        [--join-rows 1e7] (join: N × N/10 rows on an int64 key, bench/join.ts)
 *        [--line-rows 1e9] [--line-duck-rows 3e7] (line: M4 round trips over a time series, and M4 against DuckDB's, bench/line.ts)
 *        [--expr-rows 1e8] (expr: filter_computed, a computed column in a filter vs the plain filter, bench/expr.ts)
 *        [--select-rows 1e8] [--table-rows 1e9] [--plot-points 1e8,1e9]  [--pushdown-rows 1e7] [--cli-points 2e8]
 *        [--zoned-points 1e9]
 * Data files are generated once in --dir and reused while their size matches (--fresh regenerates).
 */
import { closeSync, existsSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchCsvIngest } from './csv_ingest';
import { benchConvertCsvParquet } from './convert';
import { benchFilteredWindow } from './select';
import { benchPlot, writeUniformXY } from './plot';
import { benchExplorer } from './explorer';
import { benchZoned } from './zoned';
import { benchSqlPushdown } from './sql_pushdown';
import { benchCli } from './cli';
import { minimalLoops as runMinimalLoops, type MinimalLoops } from './minimal-loops';
import {
  bin2d, nativeInfo, NativeFile, rawColumn, readBandwidth, readRows, summary, type ColumnDesc,
} from '../native/index';
import { compileFilter } from '../main/engine/filter';
import type { Figure } from './figure';

// ------------------------------------------------------------------------------------------------
const argv = process.argv.slice(2);
function flag(name: string): boolean {
  return argv.includes(`--${name}`);
}
function opt(name: string, dflt: number): number {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = Number(argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} needs a positive number`);
  return Math.floor(v);
}
function sopt(name: string, dflt: string): string {
  const i = argv.indexOf(`--${name}`);
  return i < 0 ? dflt : argv[i + 1]!;
}
const JSON_OUT = flag('json');
const POINTS = opt('points', 1e9);
const SUMMARY_ROWS = opt('summary-rows', 1e8);
const DUCK_POINTS = Math.min(opt('duck-points', 1e8), POINTS);
const GRID = opt('grid', 1024);
const REPS = opt('reps', 3);
const WINDOWS = opt('windows', 200);
const DIR = sopt('dir', join(tmpdir(), 'cdx-bench'));
const USE_DUCK = !flag('no-duckdb');
const list = (name: string) => (argv.includes(`--${name}`) ? sopt(name, '').split(',').filter(Boolean) : []);
const ONLY = list('only');
const SKIP = list('skip');
const CSV_BYTES = opt('csv-bytes', 1e9);
const SELECT_ROWS = opt('select-rows', 1e8);
const TABLE_ROWS = opt('table-rows', 1e9);
const PUSHDOWN_ROWS = opt('pushdown-rows', 10_000_000);
const CLI_POINTS = opt('cli-points', 2e8);
const ZONED_POINTS = opt('zoned-points', POINTS);
/** --only a,b / --skip a,b choose among: engine, zoned, csv_ingest, convert, select, plot, explorer, sql_pushdown, cli */
const want = (name: string) => (!ONLY.length || ONLY.includes(name)) && !SKIP.includes(name);
const PLOT_POINTS = argv.includes('--plot-points') ? sopt('plot-points', '').split(',').map(Number) : [1e8, 1e9];
/** optional: scan a sparse file of this many GB (larger than RAM) and report peak anonymous memory */
const BIG_GB = argv.includes('--big-gb') ? opt('big-gb', 1) : 0;

function log(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

const figures: Figure[] = [];
function report(f: Figure): void {
  figures.push(f);
  if (JSON_OUT) process.stdout.write(JSON.stringify(f) + '\n');
}

async function best<T>(reps: number, fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  let ms = Infinity;
  let value!: T;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    value = await fn();
    ms = Math.min(ms, performance.now() - t0);
  }
  return { ms, value };
}

// ------------------------------------------------------------------------------------------------
// Data

/** xorshift128+ floats in [0, 1) (float32) */
function fillUniform(out: Float32Array, state: BigUint64Array): void {
  let s0 = state[0]!, s1 = state[1]!;
  const M = (1n << 64n) - 1n;
  // BigInt is slow: use two 32-bit xorshift streams seeded from the state instead
  let a = Number(s0 & 0xffffffffn) | 1, b = Number(s1 & 0xffffffffn) | 1;
  for (let i = 0; i < out.length; i++) {
    a ^= a << 13; a ^= a >>> 17; a ^= a << 5;
    b ^= b << 7; b ^= b >>> 9; b ^= b << 8;
    out[i] = ((a ^ b) >>> 8) / 16777216;
  }
  s0 = (s0 * 6364136223846793005n + 1442695040888963407n) & M;
  s1 = (s1 * 3935559000370003845n + 2691343689449507681n) & M;
  state[0] = BigInt(a >>> 0) ^ s0;
  state[1] = BigInt(b >>> 0) ^ s1;
}

function ensureXY(path: string, n: number): void {
  if (existsSync(path) && statSync(path).size === n * 8 && !flag('fresh')) {
    log(`reusing ${path}`);
    return;
  }
  log(`generating ${n.toExponential(2)} (x, y) float32 points -> ${path} (${((n * 8) / 1e9).toFixed(1)} GB)`);
  writeUniformXY(path, n);
}

/** bench/minimal/loops.c on the x/y file (bench/minimal-loops.ts). */
function minimalLoops(path: string, n: number): MinimalLoops | null {
  return runMinimalLoops(path, n, DIR, log);
}

/** float64 values (sum of three uniforms), 10% nulls (Arrow validity bitmap after the data), a few NaN. */
function ensureSummary(path: string, n: number): void {
  const size = n * 8 + Math.ceil(n / 8);
  if (existsSync(path) && statSync(path).size === size && !flag('fresh')) {
    log(`reusing ${path}`);
    return;
  }
  log(`generating ${n.toExponential(2)} float64 values with 10% nulls -> ${path}`);
  const fd = openSync(path + '.tmp', 'w');
  const chunk = new Float32Array(1 << 22);
  const vals = new Float64Array(chunk.length / 4);
  const st = new BigUint64Array([0x1234567n, 0x89abcdefn]);
  const bitmap = new Uint8Array(Math.ceil(n / 8));
  let pos = 0;
  for (let done = 0; done < n; ) {
    const k = Math.min(vals.length, n - done);
    fillUniform(chunk, st);
    for (let i = 0; i < k; i++) {
      const row = done + i;
      const u = chunk[4 * i]!;
      if (u >= 0.1) bitmap[row >> 3]! |= 1 << (row & 7);
      vals[i] = row % 1_000_003 === 0 ? NaN : (chunk[4 * i + 1]! + chunk[4 * i + 2]! + chunk[4 * i + 3]! - 1.5) * 100;
    }
    const bytes = new Uint8Array(vals.buffer, 0, k * 8);
    let w = 0;
    while (w < bytes.length) w += writeSync(fd, bytes, w, bytes.length - w, pos + w);
    pos += bytes.length;
    done += k;
  }
  let w = 0;
  while (w < bitmap.length) w += writeSync(fd, bitmap, w, bitmap.length - w, pos + w);
  closeSync(fd);
  renameSync(path + '.tmp', path);
}

function rssAnonMB(): number {
  const m = /RssAnon:\s+(\d+)\s+kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

// ------------------------------------------------------------------------------------------------
async function duck(): Promise<{ run: (sql: string) => Promise<void>; close: () => void } | null> {
  if (!USE_DUCK) return null;
  try {
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const inst = await DuckDBInstance.create(':memory:');
    const con = await inst.connect();
    return {
      run: async (sql: string) => {
        await con.runAndReadAll(sql);
      },
      close: () => {
        con.closeSync?.();
        inst.closeSync?.();
      },
    };
  } catch (e) {
    log(`DuckDB unavailable (${(e as Error).message}); its ratios are skipped`);
    return null;
  }
}

/** The native engine's figures (issue 3). */
async function engineFigures(): Promise<void> {
  const info = nativeInfo();
  const xyPath = join(DIR, `xy-${POINTS}.f32`);
  ensureXY(xyPath, POINTS);
  const sPath = join(DIR, `summary-${SUMMARY_ROWS}.f64`);
  ensureSummary(sPath, SUMMARY_ROWS);

  const xyFile = NativeFile.open(xyPath);
  const x: ColumnDesc = rawColumn(xyFile, 'x', 'float32', 0, POINTS);
  const y: ColumnDesc = rawColumn(xyFile, 'y', 'float32', POINTS * 4, POINTS);

  // warm the page cache (the figures are for page-cached data)
  log('warming the page cache');
  await readBandwidth(xyFile, { offset: 0, length: POINTS * 8 });

  // read_bandwidth
  const bw = await best(REPS, () => readBandwidth(xyFile, { offset: 0, length: POINTS * 8 }));
  const bwGBs = (POINTS * 8) / (bw.ms / 1000) / 1e9;
  report({ name: 'read_bandwidth', value: +bwGBs.toFixed(2), unit: 'GB/s', vs: {}, note: `${((POINTS * 8) / 1e9).toFixed(1)} GB, ${info.threads} threads, best of ${REPS}` });

  // the minimal C loops on the same file (skipped where there is no C compiler)
  const minimal = minimalLoops(xyPath, POINTS);
  if (minimal) {
    report({
      name: 'minimal_c_loops',
      value: +minimal.sum_gbs.toFixed(2),
      unit: 'GB/s',
      vs: {},
      note:
        `textbook OpenMP loops (cc -O2), ${minimal.threads} threads, fresh mmap each, best of 3: s += x[i] reads ${minimal.sum_gbs.toFixed(2)} GB/s; ` +
        `the uint32-grid binning loop does ${(minimal.bin_pps / 1e9).toFixed(3)} G points/s; random increments alone (no reads; 1 MB byte grid per thread) ` +
        `${(minimal.bump_pps / 1e9).toFixed(3)} G/s = ${((minimal.bump_pps * 8) / (bwGBs * 1e9)).toFixed(2)} of read_bandwidth in point bytes (a bound on vs.bandwidth for uniform points)`,
    });
  }

  // ---- our kernels first (DuckDB's tables would otherwise count in this process's memory)
  const spec = { x, y, x0: 0, x1: 1, y0: 0, y1: 1, width: GRID, height: GRID };
  const b = await best(REPS, () => bin2d(spec));
  if (b.value.binned !== POINTS) log(`warning: binned ${b.value.binned} of ${POINTS}`);
  const pps = POINTS / (b.ms / 1000);

  // bin2d_filtered: two clauses
  const filter = compileFilter(
    {
      kind: 'and',
      args: [
        { kind: 'cmp', op: '>', left: { kind: 'col', name: 'x' }, right: { kind: 'lit', value: 0.05 } },
        { kind: 'cmp', op: '<', left: { kind: 'col', name: 'y' }, right: { kind: 'lit', value: 0.95 } },
      ],
    },
    { x, y },
  );
  const bf = await best(REPS, () => bin2d(spec, { filter }));
  const ppsF = POINTS / (bf.ms / 1000);

  // summary
  const sFile = NativeFile.open(sPath);
  const sCol: ColumnDesc = {
    name: 'v', file: sFile, kind: 'numeric', dtype: 'float64',
    chunks: [{ rows: SUMMARY_ROWS, data: { offset: 0, length: SUMMARY_ROWS * 8 }, validity: { offset: SUMMARY_ROWS * 8 } }],
  };
  await readBandwidth(sFile, { offset: 0, length: sFile.size - (sFile.size % 8) });
  const s = await best(REPS, () => summary(sCol, { bins: 20 }));
  const rowsPerS = SUMMARY_ROWS / (s.ms / 1000);
  // summary_exact: exact quantiles (kept values, nth_element) on a column at the default threshold
  // (10M rows) against the sketch on the same rows
  const eRows = Math.min(SUMMARY_ROWS, 10_000_000);
  const eCol: ColumnDesc = {
    name: 'v', file: sFile, kind: 'numeric', dtype: 'float64',
    chunks: [{ rows: eRows, data: { offset: 0, length: eRows * 8 }, validity: { offset: SUMMARY_ROWS * 8 } }],
  };
  const se = await best(REPS, () => summary(eCol, { bins: 20, exactQuantileRows: eRows }));
  const ss = await best(REPS, () => summary(eCol, { bins: 20, exactQuantileRows: 0 }));
  if (!se.value.quantilesExact || ss.value.quantilesExact) log('warning: summary_exact did not take the paths it meant to');
  sFile.close();

  // row_window: 1,000 rows at random offsets
  const times: number[] = [];
  let seed = 12345;
  for (let i = 0; i < WINDOWS; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const off = Math.floor((seed / 4294967296) * (POINTS - 1000));
    const t0 = performance.now();
    const t = await readRows([x, y], off, 1000);
    times.push(performance.now() - t0);
    if (t.numRows !== 1000) throw new Error('row window came back short');
  }
  times.sort((p, q) => p - q);
  const med = times[times.length >> 1]!;
  const anon = rssAnonMB();
  xyFile.close();

  // ---- DuckDB baselines
  const db = await duck();
  let duckPps = NaN;
  let duckSummaryMs = NaN;
  if (db) {
    log(`DuckDB: creating ${DUCK_POINTS.toExponential(2)} uniform points`);
    await db.run(`CREATE TABLE pts AS SELECT random()::FLOAT AS x, random()::FLOAT AS y FROM range(${DUCK_POINTS})`);
    const q = `SELECT count(*) FROM (SELECT i, j, count(*) AS c FROM (SELECT floor(x * ${GRID})::INTEGER AS i, floor(y * ${GRID})::INTEGER AS j FROM pts WHERE x >= 0 AND x < 1 AND y >= 0 AND y < 1) GROUP BY i, j)`;
    const d = await best(Math.min(REPS, 2), () => db.run(q));
    duckPps = DUCK_POINTS / (d.ms / 1000);
    await db.run('DROP TABLE pts');
    log(`DuckDB: creating ${SUMMARY_ROWS.toExponential(2)} float64 values with 10% nulls`);
    await db.run(`CREATE TABLE s AS SELECT CASE WHEN random() < 0.1 THEN NULL ELSE (random() + random() + random() - 1.5) * 100 END AS v FROM range(${SUMMARY_ROWS})`);
    const d2 = await best(Math.min(REPS, 2), () => db.run('SUMMARIZE s'));
    duckSummaryMs = d2.ms;
    await db.run('DROP TABLE s');
    db.close();
  }

  report({
    name: 'bin2d',
    value: Math.round(pps),
    unit: 'points/s',
    vs: {
      bandwidth: +((pps * 8) / (bwGBs * 1e9)).toFixed(3),
      ...(minimal ? { minimal_bin_loop: +(pps / minimal.bin_pps).toFixed(2) } : {}),
      ...(db ? { duckdb: +(pps / duckPps).toFixed(1) } : {}),
    },
    note: `${POINTS.toExponential(2)} uniform points, ${GRID}x${GRID}, ${b.ms.toFixed(0)} ms` + (db ? `; DuckDB on ${DUCK_POINTS.toExponential(2)} points (its own table): ${Math.round(duckPps).toExponential(2)} points/s` : ''),
  });
  report({ name: 'bin2d_filtered', value: Math.round(ppsF), unit: 'points/s', vs: { bin2d: +(ppsF / pps).toFixed(3) }, note: `x > 0.05 and y < 0.95, ${bf.ms.toFixed(0)} ms` });
  report({
    name: 'summary',
    value: Math.round(rowsPerS),
    unit: 'rows/s',
    vs: db ? { duckdb: +(duckSummaryMs / s.ms).toFixed(1) } : {},
    note: `${SUMMARY_ROWS.toExponential(2)} float64 rows, 10% nulls, in ${s.ms.toFixed(0)} ms (histogram pass included)` + (db ? `; DuckDB SUMMARIZE ${duckSummaryMs.toFixed(0)} ms` : ''),
  });
  report({
    name: 'summary_exact',
    value: Math.round(eRows / (se.ms / 1000)),
    unit: 'rows/s',
    vs: { sketch: +(ss.ms / se.ms).toFixed(2) },
    note: `${eRows.toExponential(2)} float64 rows, 10% nulls, exact quantiles in ${se.ms.toFixed(0)} ms; the sketch's ${ss.ms.toFixed(0)} ms on the same rows`,
  });
  report({ name: 'row_window', value: +med.toFixed(3), unit: 'ms', vs: { target5ms: +(5 / med).toFixed(1) }, note: `median of ${WINDOWS} windows of 1,000 rows of (x, y) at random offsets in ${POINTS.toExponential(2)}` });
  report({ name: 'rss_anon', value: Math.round(anon), unit: 'MB', vs: { limit500: +(500 / anon).toFixed(2) }, note: 'anonymous memory of the bench process after our scans (before DuckDB)' });

  if (BIG_GB > 0) {
    // A sparse file larger than RAM: holes read as zero pages through the page cache (file-backed,
    // evictable); the engine's anonymous memory must stay small while it streams through it.
    const bigPath = join(DIR, `big-${BIG_GB}g.f64`);
    const rows = Math.floor((BIG_GB * 1e9) / 8);
    const fd = openSync(bigPath, 'w');
    ftruncateSync(fd, rows * 8);
    closeSync(fd);
    let peak = rssAnonMB();
    const t0 = performance.now();
    await summary(rawColumn(bigPath, 'z', 'float64', 0, rows), { bins: 0, onProgress: () => (peak = Math.max(peak, rssAnonMB())) });
    const ms = performance.now() - t0;
    peak = Math.max(peak, rssAnonMB());
    unlinkSync(bigPath);
    report({ name: 'big_scan_rss_anon', value: Math.round(peak), unit: 'MB', vs: { limit500: +(500 / peak).toFixed(2) }, note: `peak RssAnon while summarizing a ${BIG_GB} GB sparse file (${((BIG_GB * 1e9) / (ms / 1000) / 1e9).toFixed(1)} GB/s)` });
  }

}

async function main(): Promise<void> {
  mkdirSync(DIR, { recursive: true });
  const info = nativeInfo();
  log(`native: ${info.version}, OpenMP ${info.openmp}, ${info.threads} threads; data in ${DIR}`);

  if (want('engine')) await engineFigures();

  // The figures of the later issues, each against its own baseline in this same run.
  if (want('csv_ingest')) report(await benchCsvIngest({ dir: DIR, bytes: CSV_BYTES, json: JSON_OUT }));
  if (want('convert')) report(await benchConvertCsvParquet({ dir: DIR, bytes: CSV_BYTES, json: JSON_OUT }));
  if (want('select')) report(await benchFilteredWindow({ dir: DIR, rows: Math.min(POINTS, SELECT_ROWS) }));
  if (want('plot')) for (const f of await benchPlot({ dir: DIR, points: PLOT_POINTS, log })) report(f);
  if (want('explorer')) {
    for (const f of await benchExplorer({ dir: DIR, csvBytes: CSV_BYTES, summaryRows: SUMMARY_ROWS, tableRows: TABLE_ROWS, duckdb: USE_DUCK })) report(f);
  }
  if (want('sql_pushdown')) for (const f of await benchSqlPushdown({ rows: PUSHDOWN_ROWS, reps: REPS, log })) report(f);
  if (want('zoned')) for (const f of await benchZoned({ dir: DIR, points: ZONED_POINTS, reps: REPS, log })) report(f);
  if (want('cli')) for (const f of await benchCli({ dir: DIR, points: CLI_POINTS, reps: REPS, duckdb: USE_DUCK, log })) report(f);
  if (want('many_files')) for (const f of await (await import('./many_files')).benchManyFiles({ dir: DIR, files: opt('many-files', 500), rows: opt('many-files-rows', 1e6), reps: REPS, log })) report(f);
  if (want('load')) for (const f of await (await import('./load')).benchLoad({ dir: DIR, clients: opt('load-clients', 50), seconds: opt('load-seconds', 20), rows: opt('load-rows', 2e6), log })) report(f);
  if (want('group')) for (const f of await (await import('./group')).benchGroup({ dir: DIR, rows: opt('group-rows', 1e8), reps: REPS, duckdb: USE_DUCK, log })) report(f);
  if (want('expr')) for (const f of await (await import('./expr')).benchExpr({ dir: DIR, rows: opt('expr-rows', 1e8), reps: REPS, duckdb: USE_DUCK, log })) report(f);
  if (want('sort')) for (const f of await (await import('./sort')).benchSort({ dir: DIR, rows: opt('sort-rows', 1e8), reps: REPS, duckdb: USE_DUCK, log })) report(f);
  if (want('line')) for (const f of await (await import('./line')).benchLine({ dir: DIR, rows: opt('line-rows', 1e9), duckRows: opt('line-duck-rows', 3e7), reps: REPS, duckdb: USE_DUCK, log })) report(f);
  if (want('join')) for (const f of await (await import('./join')).benchJoin({ dir: DIR, rows: opt('join-rows', 1e7), reps: REPS, duckdb: USE_DUCK, log })) report(f);
  if (want('remote')) for (const f of await (await import('./remote')).benchRemote({ dir: DIR, rows: opt('remote-rows', 2.2e7), reps: REPS, log })) report(f);

  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  log(`load average during the run: ${load} (on ${info.threads} cores)`);
  if (!JSON_OUT) {
    const rows = figures.map((f) => [f.name, f.value.toLocaleString('en-US'), f.unit, Object.entries(f.vs).map(([k, v]) => `${k} ${v}`).join(', '), f.note ?? '']);
    const head = ['figure', 'value', 'unit', 'vs (ratio > 1 = better)', 'note'];
    const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (r: string[]) => r.map((c, i) => c.padEnd(w[i]!)).join('  ');
    console.log(line(head));
    console.log(w.map((n) => '-'.repeat(n)).join('  '));
    for (const r of rows) console.log(line(r));
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
