/**
 * Issue 14's engine figures on the layout every ingested dataset has — an Arrow IPC file of many
 * record batches (262,144 rows each, as `ingestToArrow` and the issue describe it) — each with its
 * baseline in the same run:
 *   bin2d_chunked      the density kernel over the chunked file; vs.one_region = the same kernel on
 *                      the same points as one contiguous region (the raw x/y file) / it (target ≥ 0.9)
 *   zone_maps          the zone-map pass over x and y (GB/s); vs.read_bandwidth = it / a plain
 *                      parallel read of the same bytes
 *   plot_ranges        the engine's plotRanges(x, y) in a fresh engine on a known dataset (zones on
 *                      disk), ms; the first time (zone pass) in the note; vs.first = first / it
 *   open_known         opening the dataset again in a fresh engine (catalog known), ms;
 *                      vs.stat_footer = a stat plus reading the Arrow footer and batch headers / it
 *   spatial_copy       building the spatially ordered copy of (x, y) in the background (s); rows/s in the note
 *   zoom_full_<N>      the engine's density over the whole extent at 1600 x 1000 through the
 *                      handlers (wire encode/decode and eq_hist shading included), median ms;
 *                      vs.target1s = 1000 / it
 *   zoom_1pct_<N>      the same for views of 1% of the extent (0.1 x 0.1) at several places after
 *                      the copy is built; vs.target100ms = 100 / it; vs.full_scan = the same views
 *                      without zone maps or copy / it; rows read in the note
 *   rss_anon_zoned     anonymous memory of the bench process after all of it (MB)
 * Data: the bench's x/y file and the same points as the batched Arrow file (bench/plot.ts ensureBatchedXY).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { bin2d, NativeFile, rawColumn, readBandwidth, type ColumnDesc } from '../native/index';
import { zoneMaps } from '../native/zones';
import { readArrowColumns, isSupported } from '../main/engine/columns/arrow';
import { createEngineHandlers } from '../main/engine/service';
import { spatialBuilds } from '../main/engine/spatial';
import { decodeFrame, encodeFrame } from '../shared/wire';
import { shade } from '../shared/plot/shade';
import type { HandlerContext } from '../shared/rpc';
import type { Figure } from './figure';
import { BATCH_ROWS, ensureBatchedXY, ensurePoints } from './plot';
import { minimalLoops } from './minimal-loops';

/** Asks the kernel to drop a file's clean pages from the page cache (posix_fadvise through python3; skipped without it). */
function dropFromPageCache(file: string, log: (m: string) => void): void {
  try {
    execFileSync('python3', ['-c', 'import os,sys; fd = os.open(sys.argv[1], os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)', file], { stdio: 'pipe' });
  } catch (e) {
    log(`could not drop ${file} from the page cache: ${(e as Error).message.split('\n')[0]}`);
  }
}

function median(a: number[]): number {
  const s = [...a].sort((p, q) => p - q);
  return s[Math.floor(s.length / 2)]!;
}

function rssAnonMB(): number {
  const m = /RssAnon:\s+(\d+)\s+kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

const ctx = (): HandlerContext => ({ signal: new AbortController().signal, progress: () => {}, connection: 'bench' });

export async function benchZoned(opts: { dir: string; points: number; reps?: number; log?: (m: string) => void }): Promise<Figure[]> {
  const log = opts.log ?? (() => {});
  const reps = opts.reps ?? 3;
  const N = opts.points;
  const figures: Figure[] = [];
  const { path: rawPath, total } = ensurePoints(opts.dir, N, log);
  const chunked = await ensureBatchedXY(opts.dir, N, log);
  const best = async (fn: () => Promise<unknown>, n = reps) => {
    let ms = Infinity;
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await fn();
      ms = Math.min(ms, performance.now() - t0);
    }
    return ms;
  };
  const W = 1024, H = 1024;

  // ---- bin2d: one region vs the chunked cache layout (each warmed just before)
  const rawFile = NativeFile.open(rawPath);
  const rx = rawColumn(rawFile, 'x', 'float32', 0, N), ry = rawColumn(rawFile, 'y', 'float32', total * 4, N);
  await readBandwidth(rawFile, { offset: 0, length: N * 4 });
  await readBandwidth(rawFile, { offset: total * 4, length: N * 4 });
  const regionMs = await best(() => bin2d({ x: rx, y: ry, x0: 0, x1: 1, y0: 0, y1: 1, width: W, height: H }));
  rawFile.close();
  // the machine's bound for any binning of N uniform points: N random increments of a byte grid,
  // no reads at all (bench/minimal/loops.c "bump"), for the full view's target
  const loops = total === N ? minimalLoops(rawPath, N, opts.dir, log) : null;
  // a user has no such file: out of the page cache, so that the cache file and its spatial copy
  // (2 x 8 bytes a point) have the memory a user's machine would give them
  dropFromPageCache(rawPath, log);
  const cFile = NativeFile.open(chunked);
  const cols = readArrowColumns(chunked, cFile).columns.filter(isSupported) as ColumnDesc[];
  const cx = cols.find((c) => c.name === 'x')!, cy = cols.find((c) => c.name === 'y')!;
  const bwMs = await best(() => readBandwidth(cFile, { offset: 0, length: cFile.size - (cFile.size % 8) }));
  const bwGBs = cFile.size / 1e9 / (bwMs / 1000);
  const chunkedMs = await best(() => bin2d({ x: cx, y: cy, x0: 0, x1: 1, y0: 0, y1: 1, width: W, height: H }));
  figures.push({
    name: 'bin2d_chunked', value: Math.round(N / (chunkedMs / 1000)), unit: 'points/s',
    vs: { one_region: +(regionMs / chunkedMs).toFixed(3) },
    note: `${N.toExponential(2)} float32 points in ${cx.chunks.length} record batches of ${BATCH_ROWS}: ${chunkedMs.toFixed(0)} ms; the same points as one region: ${regionMs.toFixed(0)} ms (${W}x${H}, page-cached, best of ${reps})`,
  });

  // ---- zone maps at read bandwidth
  const zMs = await best(async () => {
    await zoneMaps(cx);
    await zoneMaps(cy);
  });
  const zGBs = (N * 8) / 1e9 / (zMs / 1000);
  figures.push({
    name: 'zone_maps', value: +zGBs.toFixed(2), unit: 'GB/s', vs: { read_bandwidth: +(zGBs / bwGBs).toFixed(3) },
    note: `x and y zone maps (65,536-row blocks) in ${zMs.toFixed(0)} ms; a plain parallel read of the file ${bwGBs.toFixed(2)} GB/s`,
  });
  cFile.close();

  // ---- through the engine: a fresh data folder each run
  const home = path.join(opts.dir, 'zoned-home');
  rmSync(home, { recursive: true, force: true });
  mkdirSync(home, { recursive: true });
  const prevMin = process.env.CDX_SPATIAL_MIN_ROWS;
  try {
    const h1 = createEngineHandlers({ home, samplePath: null });
    const id = (await h1.open({ location: chunked }, ctx())).entry.id;
    let t0 = performance.now();
    await h1.plotRanges({ dataset: id, columns: ['x', 'y'] }, ctx());
    const firstRanges = performance.now() - t0;
    await h1.close();

    // a fresh engine (a new process would do the same): open known, ranges from zones on disk
    const h = createEngineHandlers({ home, samplePath: null });
    t0 = performance.now();
    await h.open({ location: chunked }, ctx());
    const openMs = performance.now() - t0;
    const sfMs = await best(async () => {
      statSync(chunked);
      readArrowColumns(chunked);
    });
    figures.push({
      name: 'open_known', value: +openMs.toFixed(1), unit: 'ms', vs: { stat_footer: +(sfMs / openMs).toFixed(3) },
      note: `a known ${cx.chunks.length}-batch dataset opened in a fresh engine; a stat plus reading the footer and batch headers alone: ${sfMs.toFixed(1)} ms`,
    });
    t0 = performance.now();
    const ranges = await h.plotRanges({ dataset: id, columns: ['x', 'y'] }, ctx());
    const rangesMs = performance.now() - t0;
    figures.push({
      name: 'plot_ranges', value: +rangesMs.toFixed(2), unit: 'ms', vs: { first: +(firstRanges / rangesMs).toFixed(1) },
      note: `x and y ranges [${ranges[0]!.min.toFixed(3)}, ${ranges[0]!.max.toFixed(3)}] from zone maps kept on disk, in a fresh engine; the first time (one zone pass): ${firstRanges.toFixed(0)} ms`,
    });

    // round trips as the app makes them: density + wire + shade
    const out = new Uint32Array(1600 * 1000);
    const trip = async (v: { x0: number; x1: number; y0: number; y1: number }) => {
      const t = performance.now();
      const d = await h.density({ dataset: id, x: 'x', y: 'y', ...v, width: 1600, height: 1000 }, ctx());
      const back = decodeFrame(encodeFrame({ t: 'result', id: 1, result: { ok: true, value: d } })) as { result: { value: { counts: Uint32Array } } };
      shade(back.result.value.counts, 'eq_hist', 'fire', out);
      return { ms: performance.now() - t, scanned: d.scanned ?? d.rows };
    };
    const views = [0.05, 0.3, 0.55, 0.8].flatMap((a) => [0.1, 0.6].map((b) => ({ x0: a, x1: a + 0.1, y0: b, y1: b + 0.1 })));
    // without zone maps or a copy: a new engine whose data folder has neither
    process.env.CDX_SPATIAL_MIN_ROWS = String(Number.MAX_SAFE_INTEGER);
    const hFull = createEngineHandlers({ home: path.join(opts.dir, 'zoned-home-plain'), samplePath: null });
    const idFull = (await hFull.open({ location: chunked }, ctx())).entry.id;
    const plain: number[] = [];
    for (const v of views) {
      const t = performance.now();
      await hFull.density({ dataset: idFull, x: 'x', y: 'y', ...v, width: 1600, height: 1000 }, ctx());
      plain.push(performance.now() - t);
    }
    await hFull.close();
    rmSync(path.join(opts.dir, 'zoned-home-plain'), { recursive: true, force: true });

    process.env.CDX_SPATIAL_MIN_ROWS = '0';
    // the first density starts the copy in the background; time it alone
    t0 = performance.now();
    const first = await trip({ x0: 0, x1: 1, y0: 0, y1: 1 });
    await spatialBuilds();
    const copyS = (performance.now() - t0 - first.ms) / 1000;
    figures.push({
      name: 'spatial_copy', value: +copyS.toFixed(2), unit: 's', vs: {},
      note: `spatially ordered copy of (x, y) built in the background after the first plot: ${(N / copyS / 1e6).toFixed(0)} M rows/s; ${((N * 8) / 1e9).toFixed(1)} GB more in the cache`,
    });
    const fullTimes: number[] = [first.ms];
    for (let i = 0; i < 4; i++) fullTimes.push((await trip({ x0: 0, x1: 1, y0: 0, y1: 1 })).ms);
    const zoomed: number[] = [];
    let scanned = 0;
    for (const v of views) {
      const r = await trip(v);
      zoomed.push(r.ms);
      scanned += r.scanned;
    }
    await h.close();
    const fullMed = median(fullTimes.slice(1)), zMed = median(zoomed);
    const tag = N.toExponential(0).replace('+', '');
    const bumpMs = loops ? (N / loops.bump_pps) * 1000 : NaN;
    figures.push({
      name: `zoom_full_${tag}`, value: +fullMed.toFixed(1), unit: 'ms',
      vs: { target1s: +(1000 / fullMed).toFixed(2), ...(loops ? { increments_alone: +(bumpMs / fullMed).toFixed(2) } : {}) },
      note: `whole extent, 1600x1000, engine density + wire + eq_hist shade, median of ${fullTimes.length - 1} after the copy is built (the first, before it: ${first.ms.toFixed(0)} ms)` +
        (loops ? `; ${N.toExponential(0)} random increments of a 1 MB byte grid per thread with nothing read (bench/minimal/loops.c bump) take ${bumpMs.toFixed(0)} ms here, the C binning loop ${((N / loops.bin_pps) * 1000).toFixed(0)} ms` : ''),
    });
    figures.push({
      name: `zoom_1pct_${tag}`, value: +zMed.toFixed(1), unit: 'ms',
      vs: { target100ms: +(100 / zMed).toFixed(2), full_scan: +(median(plain) / zMed).toFixed(1) },
      note: `${views.length} views of 0.1 x 0.1 of the extent: ${((scanned / views.length / N) * 100).toFixed(2)}% of the rows read on average; without zones or copy ${median(plain).toFixed(0)} ms`,
    });
  } finally {
    if (prevMin === undefined) delete process.env.CDX_SPATIAL_MIN_ROWS;
    else process.env.CDX_SPATIAL_MIN_ROWS = prevMin;
    rmSync(home, { recursive: true, force: true });
  }
  const anon = rssAnonMB();
  figures.push({ name: 'rss_anon_zoned', value: Math.round(anon), unit: 'MB', vs: { limit500: +(500 / anon).toFixed(2) }, note: 'anonymous memory of the bench process after the zoned figures' });
  return figures;
}
