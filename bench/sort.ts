/**
 * sort (issue 17): the engine's sort of one float64 column (open an Arrow file as the ingest lays
 * it out — 262,144-row record batches — then sort) against DuckDB on its own in-memory table of the
 * same shape, at the same thread count, same run:
 *   - sort_full: the full permutation (row ids in sorted order: what the table's windows read
 *     through) vs DuckDB materialising the sorted row ids (CREATE TEMP TABLE s AS SELECT rowid
 *     FROM t ORDER BY x) — both sort every row;
 *   - sort_top1000: the first 1,000 row ids (the kernel's top-N, no full sort: the table's first
 *     window) vs DuckDB's SELECT rowid FROM t ORDER BY x LIMIT 1000 (its top-N operator).
 * vs.duckdb = DuckDB's time / ours (higher is better). Both sides warm (page cache / DuckDB's buffers).
 */
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Field, Float64, RecordBatch, RecordBatchFileWriter, Schema, Struct, makeData } from 'apache-arrow';
import type { Figure } from './figure';
import { BATCH_ROWS } from './plot';
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

async function writeData(path: string, rows: number): Promise<void> {
  const schema = new Schema([new Field('x', new Float64(), true)]);
  const tmp = path + '.tmp';
  const w = new RecordBatchFileWriter();
  const sink = createWriteStream(tmp);
  w.toNodeStream().pipe(sink);
  w.reset(undefined, schema);
  const r = rng(7);
  for (let at = 0; at < rows; at += BATCH_ROWS) {
    const n = Math.min(BATCH_ROWS, rows - at);
    const x = new Float64Array(n);
    for (let i = 0; i < n; i++) x[i] = (r() - 0.5) * 1e6 + r();
    w.write(new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: n, children: [makeData({ type: new Float64(), length: n, data: x })] })));
    if (sink.writableNeedDrain) await once(sink, 'drain');
  }
  w.finish();
  if (!sink.writableFinished) await once(sink, 'finish');
  renameSync(tmp, path);
}

async function time<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t = performance.now();
  const value = await fn();
  return { ms: performance.now() - t, value };
}

export async function benchSort(opts: { dir: string; rows: number; reps: number; duckdb: boolean; log: (m: string) => void }): Promise<Figure[]> {
  mkdirSync(opts.dir, { recursive: true });
  const path = join(opts.dir, `sort-${opts.rows}.arrow`);
  if (!existsSync(path)) {
    opts.log(`sort: writing ${opts.rows.toExponential(2)} rows to ${path}`);
    await writeData(path, opts.rows);
  }
  const threads = nativeInfo().threads ?? 2;
  const { Datasets } = await import('../main/engine/datasets');
  const { parseSort, sortedRows } = await import('../main/engine/sort');
  const home = mkdtempSync(join(tmpdir(), 'cdx-bench-sort-'));
  const store = new Datasets(home, null);
  const cases = [
    { name: 'sort_full', limit: undefined as number | undefined, duck: 'CREATE OR REPLACE TEMP TABLE s AS SELECT rowid FROM t ORDER BY x' },
    { name: 'sort_top1000', limit: 1000, duck: 'SELECT rowid FROM t ORDER BY x LIMIT 1000' },
  ];
  const ours: Record<string, number[]> = {};
  try {
    const ds = await store.open(path);
    const keys = parseSort(['x']);
    for (const c of cases) {
      ours[c.name] = [];
      for (let k = 0; k < Math.max(1, opts.reps) + 1; k++) {
        const r = await time(() => sortedRows(ds, keys, undefined, c.limit !== undefined ? { limit: c.limit } : {}));
        if (r.value.rowIds.length !== Math.min(c.limit ?? opts.rows, opts.rows)) throw new Error(`sort: ${r.value.rowIds.length} row ids`);
        if (k > 0) ours[c.name]!.push(r.ms); // the first run warms the page cache
      }
    }
  } finally {
    store.close();
    rmSync(home, { recursive: true, force: true });
  }
  const duck: Record<string, number[]> = {};
  if (opts.duckdb) {
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const inst = await DuckDBInstance.create(':memory:', { threads: String(threads) });
    const con = await inst.connect();
    opts.log(`sort: DuckDB table of ${opts.rows.toExponential(2)} rows`);
    await con.run(`CREATE TABLE t AS SELECT (random() - 0.5) * 1e6 + random() AS x FROM range(${opts.rows})`);
    for (const c of cases) {
      duck[c.name] = [];
      for (let k = 0; k < Math.max(1, opts.reps) + 1; k++) {
        const r = await time(() => con.runAndReadAll(c.duck));
        if (k > 0) duck[c.name]!.push(r.ms);
      }
    }
    con.closeSync?.();
    inst.closeSync?.();
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
      note: `${opts.rows.toExponential(2)} float64 in ${BATCH_ROWS}-row batches, ${c.limit ? `first ${c.limit} row ids (top-N)` : 'every row id in order'}, ${threads} threads` +
        (Number.isFinite(d) ? `; DuckDB (own table, ${threads} threads) ${d.toFixed(0)} ms` : '') + `; median of ${ours[c.name]!.length}`,
    };
  });
}
