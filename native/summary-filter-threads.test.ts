// Regression: summary() with a filter set up each OpenMP thread's FilterScratch lazily in pass 1
// only; pass 2 (histogram) with schedule(dynamic) could run a morsel on a thread that had taken
// none in pass 1 -> Filter::Eval decoded into an empty scratch (null write in DecodeF64, SIGSEGV).
// Timing dependent, so it repeats small filtered summaries many times with >= 2 threads.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from './testing/fixtures';
import { compileFilter } from '../main/engine/filter';
import { nativeInfo, rawColumn, summary } from './index';

// libgomp reads this when the addon is first loaded (lazily, by the first kernel call below).
process.env.OMP_NUM_THREADS ??= '4';

const dir = tempDir('cdx-sumthreads-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function f64File(name: string, n: number): string {
  const p = join(dir, name);
  writeFileSync(p, new Uint8Array(Float64Array.from({ length: n }, (_, i) => i % 100).buffer));
  return p;
}

describe('summary with a filter on every thread count / scheduling', () => {
  it('histogram pass never uses an uninitialised filter scratch', async () => {
    expect(nativeInfo().threads).toBeGreaterThanOrEqual(1);
    for (const n of [1000, 3 * 65536 + 5]) {
      const col = rawColumn(f64File(`v${n}.f64`, n), 'v', 'float64', 0, n);
      const filter = compileFilter({ kind: 'cmp', op: '>', left: { kind: 'col', name: 'v' }, right: { kind: 'lit', value: 20 } }, { v: col });
      let expected = 0;
      for (let i = 0; i < n; i++) if (i % 100 > 20) expected++;
      for (let k = 0; k < 150; k++) {
        const s = await summary(col, { bins: 10, filter });
        expect(s.rows).toBe(expected);
        expect(s.histogram!.counts.reduce((a, b) => a + b, 0)).toBe(expected);
      }
    }
  });
});
