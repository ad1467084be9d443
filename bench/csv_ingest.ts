/**
 * Benchmark `csv_ingest`: a generated CSV of mixed numeric and string columns (~opts.bytes) is
 * ingested the way the columnar cache does it — main/engine/sources/csv-ingest.ts ingestCsv: sniffing + sample typing
 * in JS, then one native pass (native/src/csv_ingest.cc: the file mapped and parsed in parallel
 * windows, record batches laid out straight into the uncompressed Arrow IPC file; JS adds the
 * Schema message and footer; temp file + rename) — and timed against DuckDB
 * `CREATE TABLE t AS SELECT * FROM read_csv(...)` with SET threads = 2 in the same run (the native
 * pool uses OpenMP's default, the machine's cores: 2 on the reference machine; run with
 * OMP_NUM_THREADS=2 elsewhere for a like-for-like ratio — both counts are printed). DuckDB runs
 * once first to warm the page cache for both; then `repeats` (default 3) interleaved pairs run and
 * the medians are compared (wall time, and CPU seconds of the process, which a machine shared with
 * other work disturbs less). The generated file is kept in opts.dir and reused when its size
 * matches.
 *
 *   npx tsx -e "import('./bench/csv_ingest.ts').then(m => m.benchCsvIngest({ dir: '/tmp/cdxbench', bytes: 1e9, json: false }))"
 */
import { closeSync, existsSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ingestCsv } from '../main/engine/sources/csv-ingest';
import { nativeInfo } from '../native/index';
import { rng } from '../main/engine/sources/testing/util';

const CATS = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta', 'iota', 'kappa', 'lambda', 'mu'];

/** Writes ~bytes of CSV: id,qty,price,score,category,name,day,flag. Returns the row count. */
export function generateCsv(path: string, bytes: number): number {
  const r = rng(7);
  const fd = openSync(path + '.tmp', 'w');
  let written = 0, id = 0;
  try {
    writeSync(fd, 'id,qty,price,score,category,name,day,active\n');
    while (written < bytes) {
      const lines: string[] = [];
      for (let i = 0; i < 20000; i++, id++) {
        const nameLen = 5 + Math.floor(r() * 10);
        let name = '';
        for (let k = 0; k < nameLen; k++) name += String.fromCharCode(97 + Math.floor(r() * 26));
        const day = `20${10 + Math.floor(r() * 15)}-0${1 + Math.floor(r() * 9)}-${10 + Math.floor(r() * 18)}`;
        lines.push(`${id},${Math.floor(r() * 1000)},${(r() * 1000).toFixed(2)},${(r() * 2 - 1).toFixed(6)},${CATS[Math.floor(r() * CATS.length)]},${name},${day},${r() < 0.5 ? 'true' : 'false'}`);
      }
      const s = lines.join('\n') + '\n';
      written += Buffer.byteLength(s);
      writeSync(fd, s);
    }
  } finally {
    closeSync(fd);
  }
  rmSync(path, { force: true });
  renameSync(path + '.tmp', path);
  return id;
}

interface Timing { seconds: number; cpu: number; rows: number }

function cpuSeconds(c0: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1e6;
}

async function ours(csv: string, out: string): Promise<Timing> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const r = await ingestCsv(csv, out);
  return { seconds: (performance.now() - t0) / 1000, cpu: cpuSeconds(c0), rows: r.info.rows ?? 0 };
}

async function duck(csv: string, threads: number): Promise<Timing> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const inst = await DuckDBInstance.create(':memory:');
  const con = await inst.connect();
  await con.run(`SET threads = ${threads}`);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  await con.run(`CREATE TABLE t AS SELECT * FROM read_csv('${csv.replace(/'/g, "''")}')`);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(c0);
  const rows = Number((await con.runAndReadAll('SELECT count(*) FROM t')).getRows()[0]![0]);
  con.closeSync?.();
  inst.closeSync?.();
  return { seconds, cpu, rows };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

export async function benchCsvIngest(opts: { dir: string; bytes: number; json: boolean; repeats?: number }): Promise<{ name: 'csv_ingest'; value: number; unit: 'MB/s'; vs: { duckdb: number } }> {
  mkdirSync(opts.dir, { recursive: true });
  const csv = join(opts.dir, `csv_ingest_${Math.round(opts.bytes)}.csv`);
  if (!existsSync(csv) || Math.abs(statSync(csv).size - opts.bytes) > 2 * 1024 * 1024) generateCsv(csv, opts.bytes);
  const size = statSync(csv).size;
  const out = join(opts.dir, 'csv_ingest.arrow');
  const threads = nativeInfo().threads;
  const duckThreads = 2;
  const repeats = Math.max(1, opts.repeats ?? 3);
  // warm the page cache for both contenders alike
  await duck(csv, duckThreads);
  const ourRuns: Timing[] = [];
  const duckRuns: Timing[] = [];
  for (let k = 0; k < repeats; k++) {
    ourRuns.push(await ours(csv, out));
    rmSync(out, { force: true });
    duckRuns.push(await duck(csv, duckThreads));
  }
  for (const a of ourRuns) if (a.rows !== duckRuns[0]!.rows) throw new Error(`csv_ingest: row counts differ (ours ${a.rows}, duckdb ${duckRuns[0]!.rows})`);
  const a = { seconds: median(ourRuns.map((t) => t.seconds)), cpu: median(ourRuns.map((t) => t.cpu)), rows: ourRuns[0]!.rows };
  const d = { seconds: median(duckRuns.map((t) => t.seconds)), cpu: median(duckRuns.map((t) => t.cpu)) };
  const value = size / 1e6 / a.seconds;
  const result = { name: 'csv_ingest' as const, value: Math.round(value * 10) / 10, unit: 'MB/s' as const, vs: { duckdb: Math.round((d.seconds / a.seconds) * 100) / 100 } };
  if (!opts.json) {
    const list = (ts: Timing[]) => ts.map((t) => `${t.seconds.toFixed(2)}/${t.cpu.toFixed(2)}`).join(' ');
    console.log(`csv_ingest: ${(size / 1e6).toFixed(0)} MB, ${a.rows} rows, ours ${threads} threads / duckdb ${duckThreads}, median of ${repeats} (runs wall/CPU s: ours ${list(ourRuns)}; duckdb ${list(duckRuns)}): ours ${a.seconds.toFixed(2)} s (${value.toFixed(0)} MB/s, ${a.cpu.toFixed(2)} CPU-s), duckdb ${d.seconds.toFixed(2)} s (${(size / 1e6 / d.seconds).toFixed(0)} MB/s, ${d.cpu.toFixed(2)} CPU-s) -> vs.duckdb ${result.vs.duckdb} (CPU ratio ${(d.cpu / a.cpu).toFixed(2)})`);
  }
  return result;
}
