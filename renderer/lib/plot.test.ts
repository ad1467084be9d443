/**
 * The plot's zoom limits and the point style that adapts to overlap (lib/plot.svelte.ts).
 */
import { describe, expect, it } from 'vitest';
import { zoomAt } from '../../shared/plot/viewport';
import { adaptPointStyle, busiestCells, limitZoom, MAX_ZOOM_IN } from './plot.svelte';

const home = { x0: 0, x1: 100, y0: -5, y1: 5 };

describe('limitZoom', () => {
  it('lets ordinary zooms through', () => {
    const next = zoomAt(home, 0.3, 0.6, 10);
    expect(limitZoom(next, home, home)).toEqual({ vp: next, limited: null });
  });

  it('stops zooming in at a million times the home view, keeping the point under the cursor', () => {
    let vp = home;
    let limited = null;
    for (let i = 0; i < 40; i++) ({ vp, limited } = limitZoom(zoomAt(vp, 0.25, 0.75, 2), vp, home));
    expect(limited).toBe('in');
    expect(vp.x1 - vp.x0).toBeCloseTo(100 / MAX_ZOOM_IN, 12);
    expect(vp.y1 - vp.y0).toBeCloseTo(10 / MAX_ZOOM_IN, 12);
    // the data under the cursor (a quarter from the left, three quarters up) did not move
    const cx = home.x0 + 0.25 * 100, cy = home.y0 + 0.75 * 10;
    expect(vp.x0 + 0.25 * (vp.x1 - vp.x0)).toBeCloseTo(cx, 9);
    expect(vp.y0 + 0.75 * (vp.y1 - vp.y0)).toBeCloseTo(cy, 9);
    // a further zoom keeps the view
    const again = limitZoom(zoomAt(vp, 0.25, 0.75, 2), vp, home);
    expect(again.vp.x1 - again.vp.x0).toBeCloseTo(vp.x1 - vp.x0, 15);
  });

  it('stops above a few thousand ulps of large values (timestamps in µs), before float64 runs out', () => {
    const t = { x0: 1.6e15, x1: 1.6e15 + 1e9, y0: 0, y1: 1 };
    let vp = t;
    for (let i = 0; i < 60; i++) vp = limitZoom(zoomAt(vp, 0.5, 0.5, 2), vp, t).vp;
    expect(vp.x1 - vp.x0).toBeGreaterThanOrEqual(1.6e15 * Number.EPSILON * 4096 * 0.999);
  });

  it('stops zooming out at a thousand times the home view', () => {
    let vp = home;
    for (let i = 0; i < 30; i++) vp = limitZoom(zoomAt(vp, 0.5, 0.5, 0.5), vp, home).vp;
    expect(vp.x1 - vp.x0).toBeCloseTo(100 * 1000, 6);
  });
});

describe('adaptPointStyle', () => {
  it("keeps the user's size and opacity where points do not overlap", () => {
    expect(adaptPointStyle(0.01, 1, 1, 3, 0.8)).toEqual({ size: 3, opacity: 0.8, adapted: false });
  });

  it('draws 200k points on a busy screen smaller and transparent enough that busy pixels are not saturated', () => {
    // ~2 points per device pixel in the busy cells, at dpr 1
    const s = adaptPointStyle(2, 1, 1, 3, 0.8);
    expect(s.adapted).toBe(true);
    expect(s.size).toBeLessThan(3);
    expect(s.size).toBeGreaterThanOrEqual(1);
    const k = 2 * s.size ** 2;
    const coverage = 1 - (1 - s.opacity) ** k;
    expect(coverage).toBeCloseTo(0.9, 2);
  });

  it('zooming in spreads the points: the style comes back toward the user', () => {
    const busy = adaptPointStyle(2, 1, 1, 3, 0.8);
    const zoomed = adaptPointStyle(2, 1, 1 / 100, 3, 0.8);
    expect(zoomed.opacity).toBeGreaterThan(busy.opacity);
    expect(zoomed.size).toBeGreaterThanOrEqual(busy.size);
  });

  it('never drops below a visible opacity', () => {
    expect(adaptPointStyle(5000, 2, 1, 3, 0.8).opacity).toBe(0.04);
  });
});

describe('busiestCells', () => {
  it('is the 90th percentile of the non-empty cells', () => {
    const c = new Uint32Array(1000);
    for (let i = 0; i < 100; i++) c[i] = i + 1; // 1..100, 900 empty cells
    expect(busiestCells(c)).toBe(90);
    expect(busiestCells(new Uint32Array(10))).toBe(0);
  });
});
