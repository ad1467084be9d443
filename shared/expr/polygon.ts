/**
 * The one point-in-polygon test that every back end uses, so that the JS evaluator, SQL and the
 * native mask agree bit for bit.
 *
 * For each edge (xi, yi) → (xj, yj) of the closed polygon with yi != yj (horizontal edges never
 * count) precompute ylo = min(yi, yj), yhi = max(yi, yj), k = (xj − xi) / (yj − yi). A point
 * (x, y) crosses the edge when
 *     y >= ylo  &&  y < yhi  &&  x < xi + (y − yi) * k          (all in float64, in this order)
 * and is inside when the number of crossed edges is odd (even-odd rule). x or y null → unknown;
 * NaN x or y → outside (every comparison with NaN is false). An edge with a non-finite end (or a
 * non-finite k) never counts: that keeps engines that order NaN above every number (DuckDB,
 * Postgres) in agreement; checkExpr reports such polygons.
 */
export interface PolygonEdge {
  ylo: number;
  yhi: number;
  xi: number;
  yi: number;
  k: number;
}

export function polygonEdges(polygon: readonly (readonly [number, number])[]): PolygonEdge[] {
  const edges: PolygonEdge[] = [];
  const n = polygon.length;
  for (let i = 0; i < n; i++) {
    const [xi, yi] = polygon[i]!;
    const [xj, yj] = polygon[(i + 1) % n]!;
    if (yi === yj || !Number.isFinite(xi) || !Number.isFinite(yi) || !Number.isFinite(xj) || !Number.isFinite(yj)) continue;
    const k = (xj - xi) / (yj - yi);
    if (!Number.isFinite(k)) continue;
    edges.push({ ylo: Math.min(yi, yj), yhi: Math.max(yi, yj), xi, yi, k });
  }
  return edges;
}

export function pointInPolygon(edges: readonly PolygonEdge[], x: number, y: number): boolean {
  let inside = false;
  for (const e of edges) {
    if (y >= e.ylo && y < e.yhi && x < e.xi + (y - e.yi) * e.k) inside = !inside;
  }
  return inside;
}
