/**
 * Spatially ordered copies of a dataset's (x, y) pairs (native/spatial.ts), kept in the cache
 * folder (`cache/spatial/`): after the first density plot of a pair on a large dataset the engine
 * builds, in the background, a copy of the two columns in Z-order over their range, with zone maps
 * of its row blocks. A zoomed density without a filter or a category colour then reads only the
 * blocks of the copy that can hold a point of the view (main/engine/plot.ts) — a view of 1% of the
 * extent a few percent of the rows — and equals the count over the original rows exactly (the same
 * values, in another order; nulls kept as NaN).
 *
 * A copy belongs to the storage file as it is now (size, mtime, inode, column layout, in its
 * `.json` beside it); any other copy is ignored and built again. Written under a temporary name,
 * flushed and renamed when complete (values first, then the description: durable.ts); a failed or
 * cancelled build leaves nothing, a killed one a temporary name the next start sweeps. Files are named `<hash of storage>-<hash of pair>` so removing a dataset removes them.
 *
 * CDX_SPATIAL_MIN_ROWS (default 16,000,000): datasets with fewer rows get no copy (a full scan of
 * them takes tens of milliseconds anyway). CDX_BACKGROUND_WORK=0 (the CLI's one-command engines):
 * copies already built are used, none is started. When the engine stops, builds under way are
 * cancelled and their partial files removed (stopBackgroundWork).
 */
import { existsSync, readFileSync, rmSync, statSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { NativeFile, rawColumn, type ColumnDesc } from '../../native/index';
import { spatialCopy } from '../../native/spatial';
import { zoneRange, type ZoneMaps } from '../../native/zones';
import type { OpenedDataset } from './datasets';
import { columnLayout, columnZones, derivedKey, derivedPrefix, nameHash, zoneHome } from './zones';
import { pinnedIdentity } from './columns/pin';
import { renameDurableSync, tempBeside, writeFileDurableSync } from './durable';

export interface SpatialCopy {
  x: ColumnDesc;
  y: ColumnDesc;
  zx: ZoneMaps;
  zy: ZoneMaps;
  /** the file (x values, then y values) */
  path: string;
}

interface Meta {
  key: string;
  rows: number;
  dtype: 'float32' | 'float64';
  x0: number;
  x1: number;
  y0: number;
  y1: number;
  bits: number;
  nan: number;
}

const ready = new Map<string, SpatialCopy>();
const building = new Map<string, Promise<SpatialCopy | null>>();
/** cancels the builds under way when the engine stops */
let background = new AbortController();
/** their temporary files, removed then */
const partials = new Set<string>();

function minRows(): number {
  const v = Number(process.env.CDX_SPATIAL_MIN_ROWS);
  return Number.isFinite(v) && v >= 0 ? v : 16_000_000;
}


function spatialDir(ds: OpenedDataset): string | null {
  return ds.zoneDir ? path.join(path.dirname(ds.zoneDir), 'spatial') : null;
}

function identity(ds: OpenedDataset, x: ColumnDesc, y: ColumnDesc): { file: string; key: string } | null {
  const dir = spatialDir(ds);
  // keyed by the files that hold the columns (the storage file, or a lazily read dataset's column files)
  // (a pinned file: keyed to the version the columns were read from; columns/pin.ts)
  const yFile = typeof y.file === 'string' ? y.file : pinnedIdentity(y.file)?.path ?? '';
  const key = dir ? derivedKey(pinnedIdentity(x.file) ?? (typeof x.file === 'string' ? x.file : ds.storage.path), columnLayout(x), yFile, columnLayout(y)) : null;
  if (!key) return null;
  return { file: path.join(dir!, derivedPrefix(ds.storage.path) + nameHash(x.name + '\u0000' + y.name) + '.xy'), key };
}

async function load(file: string, meta: Meta): Promise<SpatialCopy> {
  const f = NativeFile.open(file);
  const w = meta.dtype === 'float32' ? 4 : 8;
  const x = rawColumn(f, 'x', meta.dtype, 0, meta.rows), y = rawColumn(f, 'y', meta.dtype, meta.rows * w, meta.rows);
  // its zones beside it, named after it (so they go with the dataset too)
  const home = { dir: path.dirname(file), storagePath: file, prefix: path.basename(file, '.xy') + '-' };
  const [zx, zy] = [await columnZones(home, x), await columnZones(home, y)];
  return { x, y, zx, zy, path: file };
}

function readMeta(file: string, key: string): Meta | null {
  try {
    const m = JSON.parse(readFileSync(file + '.json', 'utf8')) as Meta;
    if (m.key !== key || !existsSync(file)) return null;
    const w = m.dtype === 'float32' ? 4 : 8;
    return statSync(file).size === m.rows * w * 2 ? m : null;
  } catch {
    return null;
  }
}

/**
 * The pair's spatial copy when it is built (in this process or on disk, and still matching the
 * storage file); otherwise null, and — on a large dataset — its build starts in the background.
 */
export async function spatialFor(ds: OpenedDataset, x: ColumnDesc, y: ColumnDesc): Promise<SpatialCopy | null> {
  if (ds.rows < minRows()) return null;
  if (x.computed || y.computed) return null; // computed columns are never written: no copy of them either
  const id = identity(ds, x, y);
  if (!id) return null;
  const hit = ready.get(id.key);
  if (hit) return hit;
  if (building.has(id.key)) return null;
  const meta = readMeta(id.file, id.key);
  if (meta) {
    try {
      const c = await load(id.file, meta);
      ready.set(id.key, c);
      return c;
    } catch {
      /* unreadable: built again */
    }
  }
  if (process.env.CDX_BACKGROUND_WORK !== '0') void buildSpatial(ds, x, y);
  return null;
}

/** Builds the pair's copy now (or joins the build under way); null when the data allow none. */
export function buildSpatial(ds: OpenedDataset, x: ColumnDesc, y: ColumnDesc, signal?: AbortSignal): Promise<SpatialCopy | null> {
  const id = identity(ds, x, y);
  if (!id) return Promise.resolve(null);
  const hit = ready.get(id.key);
  if (hit) return Promise.resolve(hit);
  let p = building.get(id.key);
  if (p) return p;
  const stop = background.signal;
  const sig = signal ? AbortSignal.any([signal, stop]) : stop;
  p = (async (): Promise<SpatialCopy | null> => {
    const home = zoneHome(ds);
    // the grid spans the finite values (infinities go to the edge cells)
    const rx = zoneRange(await columnZones(home, x, sig), true), ry = zoneRange(await columnZones(home, y, sig), true);
    const { min: x0, max: x1 } = rx, { min: y0, max: y1 } = ry;
    // nothing to order: a single value, no finite numbers, or a range too wide for a double
    if (!(x1 > x0 && y1 > y0) || !Number.isFinite(x1 - x0) || !Number.isFinite(y1 - y0)) return null;
    const bits = Math.max(4, Math.min(10, Math.round(Math.log2(Math.sqrt(ds.rows / 4096)))));
    const dtype = x.dtype === 'float32' && y.dtype === 'float32' ? 'float32' : 'float64';
    mkdirSync(path.dirname(id.file), { recursive: true });
    const tmp = tempBeside(id.file);
    partials.add(tmp);
    try {
      const r = await spatialCopy(x, y, { x0, x1, y0, y1, bits, out: tmp, float32: dtype === 'float32', signal: sig });
      const meta: Meta = { key: id.key, rows: ds.rows, dtype, x0, x1, y0, y1, bits, nan: r.nan };
      // the values whole on disk before the description that makes them used (durable.ts)
      renameDurableSync(tmp, id.file);
      writeFileDurableSync(id.file + '.json', JSON.stringify(meta));
      const c = await load(id.file, meta);
      ready.set(id.key, c);
      return c;
    } catch (e) {
      rmSync(tmp, { force: true });
      throw e;
    } finally {
      partials.delete(tmp);
    }
  })();
  const q = p.finally(() => building.delete(id.key));
  q.catch((e) => {
    // the copy is an optimisation: without it views are read in full
    if (process.env.CDX_DEBUG) process.stderr.write(`spatial copy of ${ds.location} (${x.name}, ${y.name}) failed: ${(e as Error).message}\n`);
  });
  building.set(id.key, q);
  return q;
}

/**
 * The engine stops: builds under way are cancelled (the native job stops within a block of rows)
 * and their partial files removed now — synchronous, for an 'exit' handler.
 */
export function stopBackgroundWork(): void {
  background.abort();
  background = new AbortController();
  for (const f of partials) rmSync(f, { force: true });
  partials.clear();
}

/** Settles when every copy being built now is done (built, or failed); for the bench and tests. */
export async function spatialBuilds(): Promise<void> {
  await Promise.allSettled([...building.values()]);
}

/** Removes the zone maps and spatial copies derived from a storage file (the dataset is removed). */
export function removeDerived(cacheDir: string, storagePath: string): void {
  const prefix = derivedPrefix(storagePath);
  for (const sub of ['zones', 'spatial']) {
    const dir = path.join(cacheDir, sub);
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const n of names) if (n.startsWith(prefix)) rmSync(path.join(dir, n), { force: true });
  }
  for (const [k, c] of ready) if (c.path.startsWith(path.join(cacheDir, 'spatial', prefix))) ready.delete(k);
}
