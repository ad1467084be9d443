/**
 * Benchmark `many_files`: a folder of `files` CSVs (default 500, `rows` rows in all, the columns of
 * bench/csv_ingest.ts's generator) to first statistics — the engine's open of the folder as one
 * dataset (main/engine/sources/multi.ts: every file read, concatenated into the one cache file)
 * and then its summary of every column, in a fresh catalog — against DuckDB's
 * `SUMMARIZE SELECT * FROM read_csv('DIR/*.csv')` over the same glob (SET threads = the native
 * pool's thread count), in the same run. DuckDB runs once first to warm the page cache for both;
 * then `reps` interleaved pairs, medians compared: vs.duckdb = DuckDB's seconds / ours (> 1: we
 * are faster). Row counts are checked equal. The files are generated once in opts.dir and reused.
 *
 *   npx tsx bench/run.ts --only many_files [--many-files 500] [--many-files-rows 1e6]
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { createEngineHandlers } from '../main/engine/service';
import { nativeInfo } from '../native/index';
import { rng } from '../main/engine/sources/testing/util';
import type { HandlerContext } from '../shared/rpc';
import type { Figure } from './figure';

const CATS = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta', 'iota', 'kappa', 'lambda', 'mu'];

/** `files` CSVs of id,qty,price,score,category,day (rows in all) in dir; reused when already there. */
function generate(dir: string, files: number, rows: number): void {
  const done = join(dir, '.complete');
  if (existsSync(done)) return;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const r = rng(11);
  const per = Math.ceil(rows / files);
  let id = 0;
  for (let f = 0; f < files; f++) {
    const lines = ['id,qty,price,score,category,day'];
    for (let i = 0; i < per && id < rows; i++, id++) {
      const day = `20${10 + Math.floor(r() * 15)}-0${1 + Math.floor(r() * 9)}-${10 + Math.floor(r() * 18)}`;
      lines.push(`${id},${Math.floor(r() * 1000)},${(r() * 1000).toFixed(2)},${(r() * 2 - 1).toFixed(6)},${CATS[Math.floor(r() * CATS.length)]},${day}`);
    }
    writeFileSync(join(dir, `part-${String(f).padStart(4, '0')}.csv`), lines.join('\n') + '\n');
  }
  writeFileSync(done, '');
}

const ctx = (): HandlerContext => ({ signal: new AbortController().signal, progress: () => {}, connection: 'bench' });

async function ours(dir: string): Promise<{ seconds: number; rows: number }> {
  const home = mkdtempSync(join(tmpdir(), 'cdx-many-home-'));
  const h = createEngineHandlers({ home, samplePath: null });
  try {
    const t0 = performance.now();
    const ov = await h.open({ location: dir }, ctx());
    const s = await h.summary({ dataset: ov.entry.id }, ctx());
    const seconds = (performance.now() - t0) / 1000;
    return { seconds, rows: s.rows };
  } finally {
    h.close();
    rmSync(home, { recursive: true, force: true });
  }
}

async function duck(dir: string, threads: number): Promise<{ seconds: number; rows: number }> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const inst = await DuckDBInstance.create(':memory:');
  const con = await inst.connect();
  try {
    await con.run(`SET threads = ${threads}`);
    const t0 = performance.now();
    const r = (await con.runAndReadAll(`SUMMARIZE SELECT * FROM read_csv('${dir.replace(/'/g, "''")}/*.csv')`)).getRowObjects();
    const seconds = (performance.now() - t0) / 1000;
    return { seconds, rows: Number(r[0]!.count) };
  } finally {
    con.closeSync();
    inst.closeSync();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

export async function benchManyFiles(opts: { dir: string; files: number; rows: number; reps: number; log: (m: string) => void }): Promise<Figure[]> {
  const dir = join(opts.dir, `many_files_${opts.files}_${opts.rows}`);
  generate(dir, opts.files, opts.rows);
  const n = readdirSync(dir).filter((f) => f.endsWith('.csv')).length;
  const threads = nativeInfo().threads ?? 2;
  await duck(dir, threads); // warms the page cache for both
  const a: number[] = [], d: number[] = [];
  for (let k = 0; k < Math.max(1, opts.reps); k++) {
    const o = await ours(dir);
    const x = await duck(dir, threads);
    if (o.rows !== x.rows) throw new Error(`many_files: row counts differ (ours ${o.rows}, duckdb ${x.rows})`);
    a.push(o.seconds);
    d.push(x.seconds);
  }
  const ta = median(a), td = median(d);
  opts.log(`many_files: ${n} CSVs, ${opts.rows} rows: open + summary ${a.map((s) => s.toFixed(2)).join(' ')} s; DuckDB SUMMARIZE read_csv(glob) ${d.map((s) => s.toFixed(2)).join(' ')} s (threads ${threads})`);
  return [{
    name: 'many_files', value: Math.round(ta * 1000) / 1000, unit: 's',
    vs: { duckdb: Math.round((td / ta) * 100) / 100 },
    note: `${n} CSV files, ${opts.rows.toLocaleString('en-US')} rows: open as one dataset + summary of every column, fresh catalog (DuckDB: SUMMARIZE over the glob, ${td.toFixed(2)} s)`,
  }];
}
