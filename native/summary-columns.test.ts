// Several columns summarised in one scan (summaryColumns): each column's summary is the one
// summary() gives it alone, over many Arrow record batches, with and without a filter, in groups;
// and the figures hold against numpy on the same values (an independent computation).
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readArrowColumns } from '../main/engine/columns/index';
import { compileFilter } from '../main/engine/filter';
import { rng, tempDir, writeArrowFile, type Cell } from './testing/fixtures';
import { summary, summaryColumns, SUMMARY_GROUP_COLUMNS, type ColumnSummary } from './index';

const dir = tempDir('cdx-summary-columns-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** -0 as 0 (which of two equal extremes a thread meets first is up to the scheduling) */
function zeroes(v: unknown): unknown {
  if (typeof v === 'number') return v === 0 ? 0 : v;
  if (Array.isArray(v)) return v.map(zeroes);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, zeroes(x)]));
  return v;
}
/** a summary with the floating-point sums (whose order depends on how threads split rows) apart */
function fixed(s: ColumnSummary): unknown {
  const { mean, std, histogram, ...rest } = s;
  return zeroes({ ...rest, histogram: histogram && { lo: histogram.lo, hi: histogram.hi, counts: [...histogram.counts] } });
}
function expectSame(many: ColumnSummary, one: ColumnSummary): void {
  expect(fixed(many)).toEqual(fixed(one));
  // (to the rounding of the values' magnitude: an int64 column near 2^60 has an ulp of 256)
  const scale = Math.max(Math.abs(one.mean ?? 0), one.std ?? 0);
  if (one.mean === undefined || Number.isNaN(one.mean)) expect(many.mean).toEqual(one.mean);
  else expect(Math.abs(many.mean! - one.mean)).toBeLessThanOrEqual(1e-12 * scale);
  if (one.std === undefined || Number.isNaN(one.std)) expect(many.std).toEqual(one.std);
  else expect(Math.abs(many.std! - one.std)).toBeLessThanOrEqual(1e-12 * scale);
}

describe('summaryColumns', () => {
  const r = rng(7);
  const N = 120_000;
  const f64: Cell[] = Array.from({ length: N }, (_, i) =>
    i % 10 === 3 ? null : i % 997 === 0 ? NaN : i === 11 ? Infinity : i === 12 ? -Infinity : (r() + r() + r() - 1.5) * 100);
  const f32: Cell[] = Array.from({ length: N }, (_, i) => (i % 17 === 0 ? null : Math.fround((r() - 0.5) * 10)));
  const small: Cell[] = Array.from({ length: N }, (_, i) => (i % 9 === 0 ? null : i % 7));
  const i64: Cell[] = Array.from({ length: N }, (_, i) => (i % 13 === 0 ? null : (1n << 60n) + BigInt(Math.floor(r() * 1e6))));
  const lowf: Cell[] = Array.from({ length: N }, (_, i) => (i % 12 === 0 ? -0 : (i % 4) * 0.25));
  const strs: Cell[] = Array.from({ length: N }, (_, i) => (i % 5 === 0 ? null : `s${Math.floor(r() * 500)}`));
  const dict: Cell[] = Array.from({ length: N }, (_, i) => (i % 6 === 0 ? null : ['red', 'green', 'blue'][i % 3]!));
  const bools: Cell[] = Array.from({ length: N }, (_, i) => (i % 8 === 0 ? null : r() < 0.3));
  const nulls: Cell[] = Array(N).fill(null);
  const path = join(dir, 'many.arrow');
  writeArrowFile(path, {
    f64: { type: 'float64', values: f64 },
    f32: { type: 'float32', values: f32 },
    small: { type: 'int32', values: small },
    i64: { type: 'int64', values: i64 },
    lowf: { type: 'float64', values: lowf },
    s: { type: 'utf8', values: strs },
    d: { type: 'dict', values: dict },
    b: { type: 'bool', values: bools },
    allnull: { type: 'float64', values: nulls },
  }, 23);
  const a = readArrowColumns(path);
  const names = ['f64', 'f32', 'small', 'i64', 'lowf', 's', 'd', 'b', 'allnull'];
  const cols = names.map((n) => a.column(n));

  it('gives each column the summary it gets alone (many record batches)', async () => {
    const many = await summaryColumns(cols, { bins: 16, topk: 5 });
    expect(many).toHaveLength(cols.length);
    for (let i = 0; i < cols.length; i++) expectSame(many[i]!, await summary(cols[i]!, { bins: 16, topk: 5 }));
    // the quantile sketch too (past exactQuantileRows), where it is exact (n <= k) and when it samples
    const sk = await summaryColumns(cols.slice(0, 2), { exactQuantileRows: 0 });
    for (const s of sk) expect(s.quantilesExact).toBe(false);
  });

  it('with a filter: evaluated once for all columns, the same rows for each', async () => {
    const filter = compileFilter(
      { kind: 'cmp', op: '>', left: { kind: 'col', name: 'f32' }, right: { kind: 'lit', value: 0 } },
      { f32: a.column('f32') },
    );
    const many = await summaryColumns(cols, { filter, bins: 8 });
    const kept = f32.filter((v) => v !== null && (v as number) > 0).length;
    for (let i = 0; i < cols.length; i++) {
      expect(many[i]!.rows).toBe(kept);
      expectSame(many[i]!, await summary(cols[i]!, { filter, bins: 8 }));
    }
  });

  it('in groups: more columns than one scan takes, and kept values over the budget', async () => {
    const wide = Array.from({ length: SUMMARY_GROUP_COLUMNS * 2 + 3 }, (_, i) => cols[i % cols.length]!);
    let last = 0;
    const many = await summaryColumns(wide, { onProgress: (p) => { expect(p.fraction).toBeGreaterThanOrEqual(last - 1e-9); last = p.fraction; }, progressIntervalMs: 1 });
    for (let i = 0; i < wide.length; i++) expectSame(many[i]!, many[i % cols.length]!);
    expect(await summaryColumns([])).toEqual([]);
  });

  it('agrees with numpy: extremes, moments, exact quantiles, distinct, histogram', async () => {
    const vals = Float64Array.from(f64.map((v) => (v === null ? NaN : (v as number))));
    const valid = new Uint8Array(f64.map((v) => (v === null ? 0 : 1)));
    const p = join(dir, 'v.f64');
    writeFileSync(p, new Uint8Array(vals.buffer));
    writeFileSync(p + '.valid', valid);
    const lowp = join(dir, 'low.f64');
    writeFileSync(lowp, new Uint8Array(Float64Array.from(lowf as number[]).buffer));
    const out = JSON.parse(execFileSync('python3', ['-c', `
import numpy as np, json
v = np.fromfile(${JSON.stringify(p)}, dtype='<f8')
ok = np.fromfile(${JSON.stringify(p + '.valid')}, dtype='u1') == 1
v = v[ok]
nn = v[~np.isnan(v)]
f = nn[np.isfinite(nn)]
qs = [float(np.quantile(nn, q, method='inverted_cdf')) for q in (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)]
h, _ = np.histogram(f, bins=16, range=(f.min(), f.max()))
low = np.fromfile(${JSON.stringify(lowp)}, dtype='<f8')
print(json.dumps(dict(count=int(v.size), nan=int(v.size - nn.size), min=repr(float(nn.min())), max=repr(float(nn.max())), fmin=float(f.min()), fmax=float(f.max()),
  mean=float(f.mean()), std=float(f.std(ddof=1)), q=qs, distinct=int(np.unique(nn).size), hist=[int(x) for x in h],
  lowDistinct=int(np.unique(low).size))))
`], { encoding: 'utf8' }));
    const [t, low] = await summaryColumns([a.column('f64'), a.column('lowf')], { bins: 16 });
    expect(t!.count).toBe(out.count);
    expect(t!.nanCount).toBe(out.nan);
    const num = (x: string) => (x === 'inf' ? Infinity : x === '-inf' ? -Infinity : Number(x));
    expect(t!.min).toBe(num(out.min));
    expect(t!.max).toBe(num(out.max));
    expect(t!.histogram!.lo).toBe(out.fmin);
    expect(t!.histogram!.hi).toBe(out.fmax);
    expect(t!.mean! - out.mean).toBeCloseTo(0, 9);
    expect(t!.std! / out.std).toBeCloseTo(1, 12);
    expect(t!.quantilesExact).toBe(true);
    expect(Object.values(t!.quantiles!)).toEqual(out.q);
    // HyperLogLog past the exact counters (65,536 values): within 2%
    expect(Math.abs(t!.distinct / out.distinct - 1)).toBeLessThan(0.02);
    expect([...t!.histogram!.counts]).toEqual(out.hist);
    expect(low!.distinct).toBe(out.lowDistinct);
    expect(low!.distinctExact).toBe(true);
  });
});
