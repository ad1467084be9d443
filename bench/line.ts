/**
 * Line plots (issue 18), on a time series as the ingest lays it out (an Arrow IPC file of
 * 262,144-row record batches; t: timestamp ms, ascending; v: float64), through the engine's
 * handlers in-process, each figure with its baseline in the same run:
 *   line_first_<N>  the first view of the whole range at 1600 device pixels: the engine's `line`
 *                   (native M4 over every row, which also keeps the M4 of each 4096-row block),
 *                   the answer framed and unframed by the wire codec, and the polyline the
 *                   renderer draws (m4Polyline); ms. vs.read_bandwidth = the time a plain parallel
 *                   read of the same bytes (t and v) takes / it (1 = the pass runs at read bandwidth)
 *   line_full_<N>   the same round trip for the whole range at 1600 and 1597 px afterwards (from the
 *                   block summaries: only blocks that straddle pixel columns are read); median ms;
 *                   vs.target1s = 1000 / it; vs.first = the first view's time / it
 *   line_1pct_<N>   views of 1% of the range at several places; vs.target150ms = 150 / it;
 *                   vs.full_scan = the first view's pass over every row / it; rows read in the note
 *   m4_vs_duckdb    the M4 kernel over every row of the first --line-duck-rows rows at 1600 columns
 *                   (native m4 on the file's mapped columns, no summaries) against
 *                   DuckDB's M4 query over its own in-memory table of the same shape, at the same
 *                   thread count — one GROUP BY of the pixel column with count, min/max of t,
 *                   arg_min/arg_max of v by t, min/max of v, arg_min/arg_max of t by v (the
 *                   aggregate form of Jugel et al.'s M4; Mosaic's) — vs.duckdb = DuckDB / ours (target ≥ 10)
 * Usage: npx tsx bench/run.ts --only line [--line-rows 1e9] [--reps 5]
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Field, Float64, Schema, TimestampMillisecond, makeData } from 'apache-arrow';
import type { Figure } from './figure';
import { BATCH_ROWS } from './plot';
import { writeBatches } from './group';
import { NativeFile, nativeInfo, readBandwidth, type ColumnDesc } from '../native/index';
import { m4 } from '../native/m4';
import { sliceRows } from '../native/zones';
import { readArrowColumns } from '../main/engine/columns/arrow';
import { encodeFrame, decodeFrame } from '../shared/wire';
import { m4Polyline } from '../shared/plot/m4';
import type { LineResult } from '../shared/plot/types';

const T0 = Date.UTC(2020, 0, 1);
const WIDTH = 1600;

/** t = T0 + 10 ms per row (+0..9 ms jitter, still ascending), v = a slow wave + a random walk-free noise */
async function writeSeries(path: string, rows: number): Promise<void> {
  const schema = new Schema([new Field('t', new TimestampMillisecond(), true), new Field('v', new Float64(), true)]);
  let at = 0;
  let s = 12345 >>> 0;
  const rnd = () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
  await writeBatches(path, schema, rows, (n) => {
    const t = new BigInt64Array(n), v = new Float64Array(n);
    for (let i = 0; i < n; i++, at++) {
      t[i] = BigInt(T0 + at * 10 + Math.floor(rnd() * 10));
      v[i] = Math.sin(at / 1e6) * 100 + rnd() * 10;
    }
    return [makeData({ type: new TimestampMillisecond(), length: n, data: t as never }), makeData({ type: new Float64(), length: n, data: v })];
  });
}

async function time<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t = performance.now();
  const value = await fn();
  return { ms: performance.now() - t, value };
}

const med = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1]!;

export async function benchLine(opts: { dir: string; rows: number; reps: number; duckdb: boolean; duckRows?: number; log: (m: string) => void }): Promise<Figure[]> {
  mkdirSync(opts.dir, { recursive: true });
  const N = opts.rows;
  const path = join(opts.dir, `series-${N}.arrow`);
  if (!existsSync(path)) {
    opts.log(`line: writing ${N.toExponential(2)} rows to ${path}`);
    await writeSeries(path, N);
  }
  const threads = nativeInfo().threads ?? 2;
  const { createEngineHandlers } = await import('../main/engine/service');
  const home = mkdtempSync(join(tmpdir(), 'cdx-bench-line-'));
  const h = createEngineHandlers({ home, samplePath: null });
  const ctx = { signal: new AbortController().signal, progress: () => {}, connection: 'bench' };
  const reps = Math.max(1, opts.reps);
  const figures: Figure[] = [];
  try {
    const ov = await h.open({ location: path }, ctx);
    const dataset = ov.entry.id;
    const full = { dataset, x: 't', y: ['v'], x0: T0, x1: T0 + N * 10 + 10, width: WIDTH };
    // the app's round trip: the request, the wire both ways, the polyline drawn
    const trip = async (p: typeof full & { where?: string }): Promise<LineResult> => {
      const r = (await h.line(p, ctx)) as LineResult;
      const back = decodeFrame(encodeFrame({ ok: true, value: r })) as { value: LineResult };
      for (const s of back.value.series) m4Polyline(s);
      return r;
    };
    // the first view of the whole range: a pass over every row, which keeps the block summaries
    const first = await time(() => trip(full));
    const used = first.value.used;
    // the bandwidth baseline: a parallel read of the same bytes (t and v) from the same file
    const file = NativeFile.open(path);
    const bytes = N * 16;
    const bw: number[] = [];
    try {
      const size = statSync(path).size;
      for (let k = 0; k < reps + 1; k++) {
        const r = await time(() => readBandwidth(file, { offset: 0, length: Math.min(size - (size % 8), bytes) }));
        if (k > 0) bw.push(r.ms);
      }
    } finally {
      file.close();
    }
    const bm = med(bw);
    const tag = N.toExponential(0).replace('+', '');
    figures.push({
      name: `line_first_${tag}`,
      value: +first.ms.toFixed(1),
      unit: 'ms',
      vs: { read_bandwidth: +(bm / first.ms).toFixed(2) },
      note: `${N.toExponential(2)} rows (t ms + v float64, ${BATCH_ROWS}-row batches), ${WIDTH} px, ${used.toLocaleString('en-US')} points drawn, block summaries kept; a read of the same ${(bytes / 1e9).toFixed(1)} GB takes ${bm.toFixed(0)} ms (${(bytes / 1e6 / bm).toFixed(1)} GB/s); ${threads} threads`,
    });
    // then whole-range views from the summaries (two widths: one that lines up with the first, one that does not)
    const fullMs: number[] = [];
    let fullRead = 0;
    for (let k = 0; k < reps; k++)
      for (const width of [WIDTH, WIDTH - 3]) {
        const r = await time(() => trip({ ...full, width }));
        fullMs.push(r.ms);
        fullRead = r.value.scanned ?? r.value.rows;
      }
    const fm = med(fullMs);
    figures.push({
      name: `line_full_${tag}`,
      value: +fm.toFixed(1),
      unit: 'ms',
      vs: { target1s: +(1000 / fm).toFixed(2), first: +(first.ms / fm).toFixed(2) },
      note: `the whole range at ${WIDTH} and ${WIDTH - 3} px from the block summaries: ${fullRead.toLocaleString('en-US')} rows read of ${N.toLocaleString('en-US')}; median of ${fullMs.length}`,
    });
    opts.log(`line: first ${first.ms.toFixed(0)} ms; full ${fullMs.map((x) => x.toFixed(0)).join(' ')} ms; read ${bw.map((x) => x.toFixed(0)).join(' ')} ms`);

    // 1% views at several places (the app has asked for plotRanges: zone maps of t known too)
    const span = full.x1 - full.x0;
    const views = [0.05, 0.31, 0.5, 0.77, 0.93].map((f) => ({ ...full, x0: full.x0 + span * f, x1: full.x0 + span * (f + 0.01) }));
    const zt = await time(async () => h.plotRanges({ dataset, columns: ['t'] }, ctx));
    const zoomMs: number[] = [];
    let scanned = 0;
    for (let k = 0; k < reps; k++)
      for (const v of views) {
        const r = await time(() => trip(v));
        zoomMs.push(r.ms);
        scanned = r.value.scanned ?? r.value.rows;
      }
    const zm = med(zoomMs);
    figures.push({
      name: `line_1pct_${tag}`,
      value: +zm.toFixed(1),
      unit: 'ms',
      vs: { target150ms: +(150 / zm).toFixed(2), full_scan: +(first.ms / zm).toFixed(2) },
      note: `5 views of 1% of the range; ${scanned.toLocaleString('en-US')} rows read of ${N.toLocaleString('en-US')} (plotRanges' zone maps ${zt.ms.toFixed(0)} ms once); median of ${zoomMs.length}`,
    });
    opts.log(`line_1pct: ${zoomMs.map((x) => x.toFixed(0)).join(' ')} ms`);

    // M4 against DuckDB's M4 query on its own table of the same shape (same rows, same threads)
    const DN = Math.min(N, opts.duckRows ?? 1e8);
    if (opts.duckdb) {
      const ours: number[] = [];
      const sub = { ...full, x1: T0 + DN * 10 };
      // the kernel itself over the file's first DN rows (their columns cut to them), no summaries
      const cols = readArrowColumns(path).columns;
      const cut = (name: string) => sliceRows(cols.find((c) => c.name === name)! as ColumnDesc, [[0, DN]]);
      const tc = cut('t'), vc = cut('v');
      for (let k = 0; k < reps + 1; k++) {
        const r = await time(() => m4({ x: tc, ys: [vc], x0: sub.x0, x1: sub.x1, width: WIDTH }));
        if (k > 0) ours.push(r.ms);
      }
      const { DuckDBInstance } = await import('@duckdb/node-api');
      const inst = await DuckDBInstance.create(':memory:', { threads: String(threads) });
      const con = await inst.connect();
      opts.log(`m4: DuckDB table of ${DN.toExponential(2)} rows`);
      await con.run(`CREATE TABLE s AS SELECT ${T0} + i * 10 + floor(random() * 10)::BIGINT AS t, sin(i / 1e6) * 100 + random() * 10 AS v FROM range(${DN}) r(i)`);
      const x0 = sub.x0, x1 = sub.x1;
      const q = `SELECT p, count(*), min(t), arg_min(v, t), max(t), arg_max(v, t), min(v), arg_min(t, v), max(v), arg_max(t, v)
        FROM (SELECT t, v, least(floor((t - ${x0}) * ${WIDTH / (x1 - x0)})::INTEGER, ${WIDTH - 1}) AS p FROM s WHERE t >= ${x0} AND t < ${x1}) GROUP BY p`;
      const duck: number[] = [];
      let groups = 0;
      for (let k = 0; k < reps + 1; k++) {
        const r = await time(() => con.runAndReadAll(q));
        if (k > 0) duck.push(r.ms);
        groups = r.value.getRows().length;
      }
      con.closeSync?.();
      inst.closeSync?.();
      const o = med(ours), d = med(duck);
      figures.push({
        name: 'm4_vs_duckdb',
        value: +o.toFixed(1),
        unit: 'ms',
        vs: { duckdb: +(d / o).toFixed(2) },
        note: `M4 of ${DN.toExponential(2)} rows at ${WIDTH} columns (${groups} from DuckDB), ${threads} threads: ours (the native kernel over the mapped Arrow file) ${o.toFixed(0)} ms, DuckDB (own in-memory table, one GROUP BY with arg_min/arg_max) ${d.toFixed(0)} ms; medians of ${reps}`,
      });
      opts.log(`m4: ours ${ours.map((x) => x.toFixed(0)).join(' ')} ms; DuckDB ${duck.map((x) => x.toFixed(0)).join(' ')} ms`);
    }
  } finally {
    await h.close();
    rmSync(home, { recursive: true, force: true });
  }
  return figures;
}
