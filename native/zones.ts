/**
 * Zone maps (native/src/zones.cc): per block of rows of a numeric column, min, max, null and NaN
 * counts, from one parallel pass at read bandwidth. Zones never cross a chunk, so the columns of
 * one Arrow file share them. With them:
 *  - a column's range needs no pass over the data (`zoneRange`);
 *  - a viewport skips the row blocks that cannot hold a point of it (`pruneRows`), and the kernels
 *    read only the rest through descriptors cut to those rows (`sliceRows`).
 */
import { CdxError } from '../shared/errors';
import { runJob, type KernelOptions, type RawZoneMaps } from './binding';
import { computedChunks, DTYPE_BYTES, toRawColumn, type ChunkDesc, type ColumnDesc } from './index';

/**
 * Per zone: first row, rows, min and max over its values (±Infinity included, NaN and nulls not;
 * +Inf / -Inf when it has none), the same over its finite values, nulls, NaN count.
 */
export type ZoneMaps = RawZoneMaps;

/** rows per zone: a 1% view of a spatially ordered copy of 1e9 rows covers ~150 such blocks */
export const ZONE_ROWS = 65_536;

/** The zone maps of a numeric column (one pass over its values). */
export function zoneMaps(column: ColumnDesc, opts: KernelOptions & { zoneRows?: number } = {}): Promise<ZoneMaps> {
  if (column.kind !== 'numeric') throw new CdxError('E_BAD_TYPE', `zone maps need a numeric column (${column.name})`, { column: column.name });
  return runJob('zoneMaps', (a, job) => a.zoneMaps(toRawColumn(column), { zoneRows: opts.zoneRows ?? ZONE_ROWS }, job), opts);
}

/** The column's min and max over all zones, of all its numbers or (`finite`) of its finite ones (NaN, NaN when there are none). */
export function zoneRange(z: ZoneMaps, finite = false): { min: number; max: number } {
  const lo = finite ? z.finiteMin : z.min, hi = finite ? z.finiteMax : z.max;
  let min = Infinity, max = -Infinity;
  for (let i = 0; i < lo.length; i++) {
    if (lo[i]! < min) min = lo[i]!;
    if (hi[i]! > max) max = hi[i]!;
  }
  return min <= max ? { min, max } : { min: NaN, max: NaN };
}

/** A half-open row range [r0, r1). */
export type RowRange = [number, number];

/**
 * The row ranges of a viewport [x0, x1) x [y0, y1) that may hold a point of it: blocks where the
 * x zone or the y zone lies wholly outside its interval and neither column has a null or NaN are
 * left out (every row there is "outside", exactly). Adjacent kept blocks are merged. `skipped` is
 * the number of rows left out.
 */
export function pruneRows(zx: ZoneMaps, zy: ZoneMaps, x0: number, x1: number, y0: number, y1: number): { keep: RowRange[]; skipped: number } {
  const keep: RowRange[] = [];
  let skipped = 0;
  let i = 0, j = 0;
  const nx = zx.start.length, ny = zy.start.length;
  const end = (z: ZoneMaps, k: number) => z.start[k]! + z.rows[k]!;
  let r = 0;
  while (i < nx && j < ny) {
    const r1 = Math.min(end(zx, i), end(zy, j));
    const clean = zx.nulls[i] === 0 && zx.nans[i] === 0 && zy.nulls[j] === 0 && zy.nans[j] === 0;
    const outX = !(zx.max[i]! >= x0 && zx.min[i]! < x1);
    const outY = !(zy.max[j]! >= y0 && zy.min[j]! < y1);
    if (r1 > r) {
      if (clean && (outX || outY)) skipped += r1 - r;
      else if (keep.length && keep[keep.length - 1]![1] === r) keep[keep.length - 1]![1] = r1;
      else keep.push([r, r1]);
    }
    r = r1;
    if (end(zx, i) === r1) i++;
    if (end(zy, j) === r1) j++;
  }
  return { keep, skipped };
}

/**
 * The column restricted to the given row ranges (ascending, disjoint), as a descriptor over the
 * same mapping: each range becomes the pieces of the chunks it covers. Numeric and dictionary-index
 * columns by their fixed-width values, strings by their offsets (absolute within the chunk's bytes,
 * which the pieces share); validity bitmaps are addressed by bit offset. Bool columns (values are
 * bits) cannot be cut: E_BAD_TYPE.
 */
export function sliceRows(c: ColumnDesc, ranges: RowRange[]): ColumnDesc {
  if (c.computed) {
    // a computed column: its inputs cut the same way (a nested predicate's columns cannot be)
    if (c.computed.preds.length) throw new CdxError('E_BAD_TYPE', `cannot slice the computed column ${c.name}: it holds a condition`, { column: c.name });
    const inputs = c.computed.inputs.map((i) => sliceRows(i, ranges));
    const rows = ranges.reduce((n, [a, b]) => n + b - a, 0);
    return { ...c, chunks: computedChunks(inputs, rows), computed: { ...c.computed, inputs } };
  }
  const fixed = c.kind === 'numeric' || c.kind === 'dict';
  if (!fixed && c.kind !== 'utf8' && c.kind !== 'large_utf8') throw new CdxError('E_BAD_TYPE', `cannot slice column ${c.name} of kind ${c.kind}`, { column: c.name });
  const w = fixed ? DTYPE_BYTES[c.dtype!] : c.kind === 'utf8' ? 4 : 8;
  const chunks: ChunkDesc[] = [];
  let k = 0, kStart = 0;
  for (const [a, b] of ranges) {
    let r = a;
    while (r < b) {
      while (k < c.chunks.length && kStart + c.chunks[k]!.rows <= r) kStart += c.chunks[k++]!.rows;
      if (k >= c.chunks.length) throw new CdxError('E_OUT_OF_RANGE', `rows ${a}..${b} beyond column ${c.name}`, { column: c.name });
      const ch = c.chunks[k]!;
      const from = r - kStart, to = Math.min(b, kStart + ch.rows) - kStart;
      const piece: ChunkDesc = fixed
        ? { rows: to - from, data: { offset: ch.data.offset + from * w, length: (to - from) * w } }
        : { rows: to - from, data: ch.data, offsets: { offset: ch.offsets!.offset + from * w, length: (to - from + 1) * w } };
      if (ch.validity && ch.nullCount !== 0) piece.validity = { offset: ch.validity.offset, bitOffset: (ch.validity.bitOffset ?? 0) + from };
      else piece.nullCount = 0;
      chunks.push(piece);
      r = kStart + to;
    }
  }
  return { ...c, chunks };
}
