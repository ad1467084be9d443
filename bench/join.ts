/**
 * join (issue 17): a join of N × N/10 rows on an int64 key (every left row matching one right row:
 * keys uniform over the right's unique keys), both sides Arrow files as the ingest lays them out
 * (262,144-row record batches, written by bench/group.ts's writer), against DuckDB on its own
 * in-memory tables of the same shape, at the same thread count, same run:
 *   - join_pairs: the native hash join's (left row, right row) pairs in left-row order (what the
 *     result is gathered through) vs DuckDB materialising the row-id pairs
 *     (CREATE TEMP TABLE j AS SELECT l.rowid, r.rowid FROM l JOIN r ON l.k = r.k);
 *   - join_dataset: the engine's whole join request — the pairs, the columns gathered and written
 *     as an Arrow file in the cache, catalogued and opened — vs DuckDB materialising the same
 *     columns (CREATE TEMP TABLE j AS SELECT l.k, l.x, r.v FROM l JOIN r USING (k)).
 * vs.duckdb = DuckDB's time / ours (higher is better). Both sides warm (page cache / DuckDB's buffers);
 * each repetition runs ours then DuckDB's, so both meet the machine as it is at that moment.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Field, Float64, Int64, Schema, makeData } from 'apache-arrow';
import type { Figure } from './figure';
import { BATCH_ROWS } from './plot';
import { writeBatches } from './group';
import { nativeInfo } from '../native/index';

/** xorshift-style generator (fast, deterministic) */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

async function time<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t = performance.now();
  const value = await fn();
  return { ms: performance.now() - t, value };
}

export async function benchJoin(opts: { dir: string; rows: number; reps: number; duckdb: boolean; log: (m: string) => void }): Promise<Figure[]> {
  mkdirSync(opts.dir, { recursive: true });
  const NL = opts.rows, NR = Math.max(1, Math.round(opts.rows / 10));
  const lpath = join(opts.dir, `join-left-${NL}.arrow`), rpath = join(opts.dir, `join-right-${NR}.arrow`);
  if (!existsSync(lpath)) {
    opts.log(`join: writing ${NL.toExponential(2)} rows to ${lpath}`);
    const r = rng(11);
    await writeBatches(lpath, new Schema([new Field('k', new Int64(), true), new Field('x', new Float64(), true)]), NL, (n) => {
      const k = new BigInt64Array(n), x = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        k[i] = BigInt(Math.floor(r() * NR));
        x[i] = r();
      }
      return [makeData({ type: new Int64(), length: n, data: k }), makeData({ type: new Float64(), length: n, data: x })];
    });
  }
  if (!existsSync(rpath)) {
    opts.log(`join: writing ${NR.toExponential(2)} rows to ${rpath}`);
    let at = 0;
    await writeBatches(rpath, new Schema([new Field('k', new Int64(), true), new Field('v', new Float64(), true)]), NR, (n) => {
      // every key once, in a scrambled order (a multiplicative permutation of [0, NR))
      const k = new BigInt64Array(n), v = new Float64Array(n);
      for (let i = 0; i < n; i++, at++) {
        k[i] = BigInt(Number((BigInt(at) * 2654435761n) % BigInt(NR)));
        v[i] = at * 0.5;
      }
      return [makeData({ type: new Int64(), length: n, data: k }), makeData({ type: new Float64(), length: n, data: v })];
    });
  }
  const threads = nativeInfo().threads ?? 2;
  const { createEngineHandlers } = await import('../main/engine/service');
  const { Datasets } = await import('../main/engine/datasets');
  const { joinPairs } = await import('../main/engine/join');
  const home = mkdtempSync(join(tmpdir(), 'cdx-bench-join-'));
  const h = createEngineHandlers({ home, samplePath: null });
  const store = new Datasets(join(home, 'pairs'), null);
  const ctx = { signal: new AbortController().signal, progress: () => {}, connection: 'bench' };
  const ours: Record<string, number[]> = { join_pairs: [], join_dataset: [] };
  const duck: Record<string, number[]> = { join_pairs: [], join_dataset: [] };
  const cases = [
    { name: 'join_pairs', duck: 'CREATE OR REPLACE TEMP TABLE j AS SELECT l.rowid AS lr, r.rowid AS rr FROM l JOIN r ON l.k = r.k' },
    { name: 'join_dataset', duck: 'CREATE OR REPLACE TEMP TABLE j AS SELECT l.k, l.x, r.v FROM l JOIN r USING (k)' },
  ];
  let pairs = 0;
  // DuckDB's tables first; then each repetition runs ours and DuckDB's one after the other, so that
  // both meet the same machine (a loaded machine's load changes from minute to minute)
  let con: { run(sql: string): Promise<unknown>; runAndReadAll(sql: string): Promise<{ getRows(): unknown[][] }>; closeSync?(): void } | null = null;
  let inst: { closeSync?(): void } | null = null;
  if (opts.duckdb) {
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const i = await DuckDBInstance.create(':memory:', { threads: String(threads) });
    inst = i;
    con = await i.connect();
    opts.log(`join: DuckDB tables of ${NL.toExponential(2)} and ${NR.toExponential(2)} rows`);
    await con.run(`CREATE TABLE l AS SELECT floor(random() * ${NR})::BIGINT AS k, random() AS x FROM range(${NL})`);
    await con.run(`CREATE TABLE r AS SELECT ((i * 2654435761) % ${NR})::BIGINT AS k, i * 0.5 AS v FROM range(${NR}) t(i)`);
  }
  const duckRun = async (c: (typeof cases)[number], keep: boolean) => {
    if (!con) return;
    const t = await time(() => con!.run(c.duck));
    if (keep) duck[c.name]!.push(t.ms);
    const n = Number((await con.runAndReadAll('SELECT count(*) FROM j')).getRows()[0]![0]);
    if (n !== NL) throw new Error(`join: DuckDB gave ${n} rows`);
  };
  try {
    const l = await store.open(lpath), r = await store.open(rpath);
    const a = await h.open({ location: lpath }, ctx), b = await h.open({ location: rpath }, ctx);
    for (let k = 0; k < Math.max(1, opts.reps) + 1; k++) {
      const keep = k > 0; // the first run warms the page cache and DuckDB's buffers
      const t = await time(() => joinPairs(l, r, { on: [['k', 'k']] }));
      pairs = t.value.left.length;
      if (pairs !== NL) throw new Error(`join: ${pairs} pairs, expected ${NL}`);
      if (keep) ours.join_pairs!.push(t.ms);
      await duckRun(cases[0]!, keep);
      const u = await time(async () => h.join({ left: a.entry.id, right: b.entry.id, on: [['k', 'k']] }, ctx));
      if (u.value.rows !== NL) throw new Error(`join: ${u.value.rows} rows`);
      if (keep) ours.join_dataset!.push(u.ms);
      await h.removeDataset({ dataset: u.value.overview.entry.id }, ctx);
      await duckRun(cases[1]!, keep);
    }
  } finally {
    store.close();
    h.close();
    rmSync(home, { recursive: true, force: true });
    con?.closeSync?.();
    inst?.closeSync?.();
  }
  const med = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1]!;
  return cases.map((c): Figure => {
    const o = med(ours[c.name]!);
    const d = duck[c.name]?.length ? med(duck[c.name]!) : NaN;
    opts.log(`${c.name}: ours ${ours[c.name]!.map((x) => x.toFixed(0)).join(' ')} ms; DuckDB ${(duck[c.name] ?? []).map((x) => x.toFixed(0)).join(' ')} ms`);
    return {
      name: c.name,
      value: +(o / 1000).toFixed(3),
      unit: 's',
      vs: Number.isFinite(d) ? { duckdb: +(d / o).toFixed(2) } : ({} as Record<string, number>),
      note: `${NL.toExponential(2)} × ${NR.toExponential(2)} rows on an int64 key in ${BATCH_ROWS}-row batches, ${pairs.toLocaleString('en-US')} result rows, ` +
        `${c.name === 'join_pairs' ? 'row-id pairs in left-row order' : 'k, x, v written as an Arrow file and catalogued'}, ${threads} threads` +
        (Number.isFinite(d) ? `; DuckDB (own tables, ${threads} threads) ${d.toFixed(0)} ms` : '') + `; median of ${ours[c.name]!.length}`,
    };
  });
}
