/**
 * Whole commands as a user runs them (issue 14): the built `cdx` (node bin/cdx.mjs, a fresh process
 * each time: the CLI, its engine process, the dataset opened from the catalog, the work, the output
 * written, the engine stopped) on N float32 (x, y) points held as an Arrow IPC file of many record
 * batches (262,144 rows each: the chunked layout of the columnar cache, not one contiguous region),
 * page-cached and already in the catalog. Each is the median of --reps runs minus Node's own
 * start-up (`node -e 0`, median of as many runs in the same run):
 *   cdx_plot_e2e         `cdx plot FILE --x x --y y --xlim 0,1 --ylim 0,1 --out p.png` (800 x 600
 *                        PNG, eq_hist, fire), seconds; vs.minimal_c_loop = the bare C/OpenMP binning
 *                        loop's time on the same points (bench/minimal/loops.c on the raw points
 *                        file, best of 3, same threads) / ours (target ≥ 0.5)
 *   cdx_plot_e2e_ranges  the same without the limits: the command finds both ranges first
 *   cdx_summary_e2e      `cdx summary FILE --json` (both columns), seconds; vs.duckdb = DuckDB's
 *                        SUMMARIZE of the same values (a table read from a Parquet copy of the file
 *                        first, not timed; SET threads = ours; median of the same reps) / ours
 * Usage: npx tsx bench/run.ts --only cli [--cli-points 2e8] [--reps 3] [--dir /tmp/cdx-bench] [--no-duckdb]
 *        (or npx tsx bench/cli.ts [--points 2e8] [--reps 3] [--dir …] [--json]); needs `npm run build`.
 * Data: DIR/xy-N.f32 (bench/plot.ts's points file, shared with bench/run.ts), DIR/xy-N-chunked.arrow
 * and DIR/xy-N-chunked.parquet made from it once; the catalog in DIR/cli-home (new each run, removed after).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nativeInfo } from '../native/index';
import { BATCH_ROWS, writeBatchedXY, writeUniformXY } from './plot';
import { minimalLoops } from './minimal-loops';
import type { Figure } from './figure';

/** rows per record batch of the chunked file */
export const CHUNK_ROWS = BATCH_ROWS;

const ROOT = join(fileURLToPath(import.meta.url), '..', '..');
const BIN = join(ROOT, 'bin', 'cdx.mjs');

function median(a: number[]): number {
  const s = [...a].sort((p, q) => p - q);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

const secs = (a: number[]) => a.map((s) => s.toFixed(3)).join(', ');

/** The raw points file: reused while its size matches. */
function ensureRaw(path: string, n: number, log: (m: string) => void): void {
  if (existsSync(path) && statSync(path).size === n * 8) return;
  log(`generating ${n.toExponential(2)} (x, y) float32 points -> ${path}`);
  writeUniformXY(path, n);
}

/** The same points as an Arrow IPC file of CHUNK_ROWS-row record batches (x, y float32), made once. */
async function ensureChunked(raw: string, path: string, n: number, log: (m: string) => void): Promise<void> {
  const batches = Math.ceil(n / CHUNK_ROWS);
  if (existsSync(path) && statSync(path).mtimeMs >= statSync(raw).mtimeMs && statSync(path).size > n * 8) return;
  log(`writing ${n.toExponential(2)} points as an Arrow file of ${batches} record batches -> ${path}`);
  await writeBatchedXY(raw, n, n, path);
}

interface Run {
  seconds: number;
  out: string;
}

/** One process to its end, wall seconds measured here; a failure throws with its stderr. */
function timed(args: string[], env: NodeJS.ProcessEnv): Run {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { cwd: ROOT, env, encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}`);
  return { seconds, out: r.stdout };
}

async function duckSummarize(parquet: string, threads: number, reps: number, log: (m: string) => void): Promise<number[] | null> {
  try {
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const inst = await DuckDBInstance.create(':memory:');
    const con = await inst.connect();
    try {
      await con.run(`SET threads = ${threads}`);
      await con.run(`CREATE TABLE t AS SELECT * FROM read_parquet('${parquet.replace(/'/g, "''")}')`);
      const runs: number[] = [];
      for (let i = 0; i < reps; i++) {
        const t0 = performance.now();
        await con.runAndReadAll('SUMMARIZE t');
        runs.push((performance.now() - t0) / 1000);
      }
      return runs;
    } finally {
      con.closeSync?.();
      inst.closeSync?.();
    }
  } catch (e) {
    log(`DuckDB unavailable (${(e as Error).message.split('\n')[0]}); vs.duckdb skipped`);
    return null;
  }
}

export async function benchCli(o: { dir: string; points: number; reps: number; duckdb: boolean; log: (m: string) => void }): Promise<Figure[]> {
  const { dir, points: n, log } = o;
  const reps = Math.max(1, o.reps);
  if (!existsSync(join(ROOT, 'out', 'main', 'cli.js'))) {
    log('cli: the app is not built (out/main/cli.js); run `npm run build` first — skipped');
    return [];
  }
  mkdirSync(dir, { recursive: true });
  const raw = join(dir, `xy-${n}.f32`);
  ensureRaw(raw, n, log);
  const arrow = join(dir, `xy-${n}-chunked.arrow`);
  await ensureChunked(raw, arrow, n, log);
  // a catalog of its own, new each run (and removed after: what the engine derives from the file,
  // zone maps and spatial copies or their leftovers, is gigabytes at this size)
  const home = join(dir, 'cli-home');
  rmSync(home, { recursive: true, force: true });
  const env: NodeJS.ProcessEnv = { ...process.env, CDX_HOME: home };
  delete env.NODE_OPTIONS;
  const png = join(dir, 'cli-plot.png');
  const plotArgs = [BIN, 'plot', arrow, '--x', 'x', '--y', 'y', '--out', png];
  const limited = [...plotArgs, '--xlim', '0,1', '--ylim', '0,1'];
  const summaryArgs = [BIN, 'summary', arrow, '--json'];

  // once, untimed: the dataset enters the catalog, the page cache holds the file
  log(`cli: warming up (${arrow} into the catalog in ${home})`);
  const first = timed(limited, env);
  if (!first.out.includes(`${n.toLocaleString('en-US')} points binned`)) throw new Error(`cdx plot did not bin every point: ${first.out}`);
  timed(summaryArgs, env);

  const nodeStart: number[] = [], plot: number[] = [], plotRanges: number[] = [], summary: number[] = [];
  let summaryOut = '';
  for (let i = 0; i < reps; i++) {
    nodeStart.push(timed(['-e', '0'], env).seconds);
    plot.push(timed(limited, env).seconds);
    plotRanges.push(timed(plotArgs, env).seconds);
    const s = timed(summaryArgs, env);
    summary.push(s.seconds);
    summaryOut = s.out;
  }
  const cols = (JSON.parse(summaryOut) as { columns: { name: string; count: number }[] }).columns;
  if (cols.length !== 2 || cols.some((c) => c.count !== n)) throw new Error(`cdx summary did not count every value: ${summaryOut.slice(0, 300)}`);
  rmSync(png, { force: true });
  rmSync(home, { recursive: true, force: true });

  const start = median(nodeStart);
  const ours = (runs: number[]) => median(runs) - start;
  const threads = nativeInfo().threads;
  const what = `${n.toLocaleString('en-US')} float32 (x, y) points as an Arrow file of ${Math.ceil(n / CHUNK_ROWS)} record batches of ${CHUNK_ROWS.toLocaleString('en-US')} rows, page-cached, in the catalog`;
  const startNote = (runs: number[]) => `median of ${reps} runs (${secs(runs)} s) minus Node's start-up (node -e 0: ${start.toFixed(3)} s, median of ${secs(nodeStart)})`;
  const figures: Figure[] = [];

  const minimal = minimalLoops(raw, n, dir, log);
  const cBin = minimal ? n / minimal.bin_pps : null;
  const cNote = cBin !== null ? `the bare C loop (bench/minimal/loops.c, ${minimal!.threads} threads, best of 3) bins the same points in ${cBin.toFixed(3)} s` : 'no C compiler: no C loop';
  const plotFigure = (name: string, runs: number[], how: string): Figure => ({
    name,
    value: +ours(runs).toFixed(3),
    unit: 's',
    vs: cBin !== null ? { minimal_c_loop: +(cBin / ours(runs)).toFixed(2) } : {},
    note: `cdx plot ${how}, 800x600 PNG: ${ours(runs).toFixed(3)} s = ${startNote(runs)}; ${cNote}; ${what}`,
  });
  figures.push(plotFigure('cdx_plot_e2e', plot, 'with --xlim 0,1 --ylim 0,1'));
  figures.push(plotFigure('cdx_plot_e2e_ranges', plotRanges, 'without limits (both ranges found first)'));

  let duck: number[] | null = null;
  if (o.duckdb) {
    const parquet = join(dir, `xy-${n}-chunked.parquet`);
    if (!existsSync(parquet) || statSync(parquet).mtimeMs < statSync(arrow).mtimeMs) {
      log(`cli: a Parquet copy of ${arrow} for DuckDB (cdx convert)`);
      timed([BIN, 'convert', arrow, parquet, '--force', '-q'], env);
    }
    duck = await duckSummarize(parquet, threads, reps, log);
  }
  figures.push({
    name: 'cdx_summary_e2e',
    value: +ours(summary).toFixed(3),
    unit: 's',
    vs: duck ? { duckdb: +(median(duck) / ours(summary)).toFixed(2) } : {},
    note:
      `cdx summary --json, both columns: ${ours(summary).toFixed(3)} s = ${startNote(summary)}` +
      (duck ? `; DuckDB SUMMARIZE of the same values in a table (threads = ${threads}) ${median(duck).toFixed(3)} s (median of ${secs(duck)})` : '; no DuckDB') +
      `; ${what}`,
  });
  return figures;
}

// run on its own: npx tsx bench/cli.ts [--points 2e8] [--reps 3] [--dir DIR] [--json] [--no-duckdb]
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const argv = process.argv.slice(2);
  const opt = (name: string, d: string) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1]! : d);
  const log = (m: string) => process.stderr.write(`[bench] ${m}\n`);
  const figures = await benchCli({ dir: opt('dir', join(tmpdir(), 'cdx-bench')), points: Number(opt('points', '2e8')), reps: Number(opt('reps', '3')), duckdb: !argv.includes('--no-duckdb'), log });
  for (const f of figures) {
    if (argv.includes('--json')) console.log(JSON.stringify(f));
    else console.log(`${f.name}  ${f.value} ${f.unit}  ${Object.entries(f.vs).map(([k, v]) => `${k} ${v}`).join(', ')}\n  ${f.note}`);
  }
}
