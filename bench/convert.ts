/**
 * Benchmark `convert_csv_parquet`: a generated CSV (~opts.bytes; the same generator and file as
 * csv_ingest: id,qty,price,score,category,name,day,active) converted to Parquet with zstd by
 * `convert()` — the CSV staged in columnar form by the native ingest (a temporary Arrow file beside
 * the output, removed afterwards; included in the time), its batches fed to the native Parquet
 * encoder (native/src/parquet_write.cc; parquet-wasm when it is unavailable; temp file + rename) —
 * timed against DuckDB
 * `COPY (SELECT * FROM read_csv(…)) TO … (FORMAT parquet, COMPRESSION zstd)` with SET threads = 2
 * in the same run. DuckDB runs once first to warm the page cache for both. Both outputs are checked
 * to hold the same number of rows (DuckDB reads ours back).
 *
 *   npx tsx -e "import('./bench/convert.ts').then(m => m.benchConvertCsvParquet({ dir: '/tmp/cdxbench', bytes: 1e9 }).then(console.log))"
 */
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { generateCsv } from './csv_ingest';
import { convert } from '../main/engine/writers/convert';

interface Timing { seconds: number; cpu: number }

function cpuSeconds(c0: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1e6;
}

async function duckdb(threads: number) {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const inst = await DuckDBInstance.create(':memory:');
  const con = await inst.connect();
  await con.run(`SET threads = ${threads}`);
  return {
    run: (sql: string) => con.run(sql),
    count: async (path: string) => Number((await con.runAndReadAll(`SELECT count(*) FROM read_parquet('${path.replace(/'/g, "''")}')`)).getRows()[0]![0]),
    createdBy: async (path: string) => String((await con.runAndReadAll(`SELECT created_by FROM parquet_file_metadata('${path.replace(/'/g, "''")}')`)).getRows()[0]![0]),
    close: () => {
      con.closeSync?.();
      inst.closeSync?.();
    },
  };
}

async function duckCopy(csv: string, out: string, threads: number): Promise<Timing> {
  const d = await duckdb(threads);
  try {
    rmSync(out, { force: true });
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    await d.run(`COPY (SELECT * FROM read_csv('${csv.replace(/'/g, "''")}')) TO '${out.replace(/'/g, "''")}' (FORMAT parquet, COMPRESSION zstd)`);
    return { seconds: (performance.now() - t0) / 1000, cpu: cpuSeconds(c0) };
  } finally {
    d.close();
  }
}

async function ours(csv: string, out: string): Promise<Timing & { rows: number; rssGrowthMB: number }> {
  rmSync(out, { force: true });
  // bounded memory: the resident set is sampled during the run (growth over the start)
  const rss0 = process.memoryUsage().rss;
  let peak = rss0;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  try {
    const r = await convert({ input: csv, output: out, options: { compression: 'zstd' }, force: true });
    return { seconds: (performance.now() - t0) / 1000, cpu: cpuSeconds(c0), rows: r.rows, rssGrowthMB: Math.round((peak - rss0) / 1e6) };
  } finally {
    clearInterval(timer);
  }
}

export async function benchConvertCsvParquet(opts: { dir: string; bytes: number; json?: boolean }): Promise<{ name: 'convert_csv_parquet'; value: number; unit: string; vs: { duckdb: number } }> {
  mkdirSync(opts.dir, { recursive: true });
  const csv = join(opts.dir, `csv_ingest_${Math.round(opts.bytes)}.csv`);
  if (!existsSync(csv) || Math.abs(statSync(csv).size - opts.bytes) > 2 * 1024 * 1024) generateCsv(csv, opts.bytes);
  const size = statSync(csv).size;
  const outOurs = join(opts.dir, 'convert_ours.parquet');
  const outDuck = join(opts.dir, 'convert_duckdb.parquet');
  const threads = 2;
  await duckCopy(csv, outDuck, threads); // warm the page cache for both
  const a = await ours(csv, outOurs);
  const d = await duckCopy(csv, outDuck, threads);
  const check = await duckdb(threads);
  let encoder = '';
  try {
    encoder = await check.createdBy(outOurs);
    const [na, nd] = [await check.count(outOurs), await check.count(outDuck)];
    if (na !== nd || na !== a.rows) throw new Error(`convert_csv_parquet: row counts differ (ours ${na}/${a.rows}, duckdb ${nd})`);
  } finally {
    check.close();
  }
  const value = size / 1e6 / a.seconds;
  const result = {
    name: 'convert_csv_parquet' as const,
    value: Math.round(value * 10) / 10,
    unit: 'MB/s',
    vs: { duckdb: Math.round((d.seconds / a.seconds) * 100) / 100 },
  };
  if (!opts.json) {
    console.log(`convert_csv_parquet: ${(size / 1e6).toFixed(0)} MB CSV, ${a.rows} rows -> Parquet zstd: ours [${encoder}] ${a.seconds.toFixed(2)} s (${value.toFixed(0)} MB/s, ${a.cpu.toFixed(2)} CPU-s, ${(statSync(outOurs).size / 1e6).toFixed(0)} MB, RSS growth ${a.rssGrowthMB} MB), duckdb (threads=${threads}) ${d.seconds.toFixed(2)} s (${(size / 1e6 / d.seconds).toFixed(0)} MB/s, ${d.cpu.toFixed(2)} CPU-s, ${(statSync(outDuck).size / 1e6).toFixed(0)} MB) -> vs.duckdb ${result.vs.duckdb}`);
  }
  rmSync(outOurs, { force: true });
  rmSync(outDuck, { force: true });
  return result;
}
