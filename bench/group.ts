/**
 * group_by (issue 17): the engine's groupBy request (open an Arrow file as the ingest lays it out —
 * 262,144-row record batches — then group) against DuckDB on its own in-memory table of the same
 * shape, at the same thread count, same run:
 *   - group_by_100: 100 keys, three measures (sum, mean, max), every group returned sorted by key
 *     (DuckDB: ... GROUP BY k ORDER BY k);
 *   - group_by_10m: a key of 10M values, the same measures, the 100 largest groups by count
 *     (DuckDB: ... ORDER BY count DESC LIMIT 100).
 * vs.duckdb = DuckDB's time / ours (higher is better). Both sides warm (page cache / DuckDB's buffers).
 */
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Field, Float64, Int32, Int64, RecordBatch, RecordBatchFileWriter, Schema, Struct, makeData, type Data } from 'apache-arrow';
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

/**
 * Writes `rows` rows of `schema` to an Arrow IPC file as the ingest lays it out (BATCH_ROWS-row
 * record batches), each batch's columns made by `fill(n)` (n rows); written to PATH.tmp, renamed.
 * Other benchmarks (bench/join.ts) write their data through it too.
 */
export async function writeBatches(path: string, schema: Schema, rows: number, fill: (n: number) => Data[]): Promise<void> {
  const tmp = path + '.tmp';
  const w = new RecordBatchFileWriter();
  const sink = createWriteStream(tmp);
  w.toNodeStream().pipe(sink);
  w.reset(undefined, schema);
  for (let at = 0; at < rows; at += BATCH_ROWS) {
    const n = Math.min(BATCH_ROWS, rows - at);
    w.write(new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: n, children: fill(n) })));
    // (the writer's stream moves bytes to the file only when the event loop turns: without this
    // turn every batch stayed in memory until the end — 16 GB for the line bench's 1e9 rows)
    await new Promise((r) => setImmediate(r));
    if (sink.writableNeedDrain) await once(sink, 'drain');
  }
  w.finish();
  if (!sink.writableFinished) await once(sink, 'finish');
  renameSync(tmp, path);
}

export async function writeData(path: string, rows: number): Promise<void> {
  const schema = new Schema([
    new Field('k100', new Int32(), true), new Field('k10m', new Int64(), true),
    new Field('x', new Float64(), true), new Field('y', new Float64(), true), new Field('z', new Float64(), true),
  ]);
  const r = rng(42);
  await writeBatches(path, schema, rows, (n) => {
    const k100 = new Int32Array(n), k10m = new BigInt64Array(n), x = new Float64Array(n), y = new Float64Array(n), z = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      k100[i] = (r() * 100) | 0;
      k10m[i] = BigInt(Math.floor(r() * 1e7));
      x[i] = r();
      y[i] = r() * 100;
      z[i] = r() - 0.5;
    }
    return [
      makeData({ type: new Int32(), length: n, data: k100 }), makeData({ type: new Int64(), length: n, data: k10m }),
      makeData({ type: new Float64(), length: n, data: x }), makeData({ type: new Float64(), length: n, data: y }), makeData({ type: new Float64(), length: n, data: z }),
    ];
  });
}

async function time<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t = performance.now();
  const value = await fn();
  return { ms: performance.now() - t, value };
}

export async function benchGroup(opts: { dir: string; rows: number; reps: number; duckdb: boolean; log: (m: string) => void }): Promise<Figure[]> {
  mkdirSync(opts.dir, { recursive: true });
  const path = join(opts.dir, `group-${opts.rows}.arrow`);
  if (!existsSync(path)) {
    opts.log(`group_by: writing ${opts.rows.toExponential(2)} rows to ${path}`);
    await writeData(path, opts.rows);
  }
  const threads = nativeInfo().threads ?? 2;
  const { createEngineHandlers } = await import('../main/engine/service');
  const home = mkdtempSync(join(tmpdir(), 'cdx-bench-group-'));
  const h = createEngineHandlers({ home, samplePath: null });
  const ctx = { signal: new AbortController().signal, progress: () => {}, connection: 'bench' };
  const cases = [
    { name: 'group_by_100', by: ['k100'], sort: undefined as string[] | undefined, limit: undefined as number | undefined, duck: 'SELECT k100, count(*) AS count, sum(x), avg(y), max(z) FROM t GROUP BY k100 ORDER BY k100' },
    { name: 'group_by_10m', by: ['k10m'], sort: ['-count'], limit: 100, duck: 'SELECT k10m, count(*) AS count, sum(x), avg(y), max(z) FROM t GROUP BY k10m ORDER BY count DESC LIMIT 100' },
  ];
  const ours: Record<string, number[]> = {};
  const groups: Record<string, number> = {};
  try {
    const ov = await h.open({ location: path }, ctx);
    for (const c of cases) {
      ours[c.name] = [];
      for (let k = 0; k < Math.max(1, opts.reps) + 1; k++) {
        const r = await time(async () => h.groupBy({ dataset: ov.entry.id, by: c.by, agg: 'count(), sum(x), mean(y), max(z)', sort: c.sort, limit: c.limit }, ctx));
        if (k > 0) ours[c.name]!.push(r.ms); // the first run warms the page cache
        groups[c.name] = r.value.groups;
      }
    }
  } finally {
    h.close();
    rmSync(home, { recursive: true, force: true });
  }
  const duck: Record<string, number[]> = {};
  if (opts.duckdb) {
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const inst = await DuckDBInstance.create(':memory:', { threads: String(threads) });
    const con = await inst.connect();
    opts.log(`group_by: DuckDB table of ${opts.rows.toExponential(2)} rows`);
    await con.run(`CREATE TABLE t AS SELECT (random() * 100)::INTEGER % 100 AS k100, floor(random() * 1e7)::BIGINT AS k10m, random() AS x, random() * 100 AS y, random() - 0.5 AS z FROM range(${opts.rows})`);
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
      note: `${opts.rows.toExponential(2)} rows in ${BATCH_ROWS}-row batches, ${groups[c.name]!.toLocaleString('en-US')} groups, count + sum + mean + max, ${c.limit ? `top ${c.limit} by count` : 'sorted by key'}, ${threads} threads` +
        (Number.isFinite(d) ? `; DuckDB (own table, ${threads} threads) ${d.toFixed(0)} ms` : '') + `; median of ${ours[c.name]!.length}`,
    };
  });
}
