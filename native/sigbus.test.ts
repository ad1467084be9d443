// The SIGBUS guard, deterministically: with the early size check disabled (a test hook read once
// per process, so this file runs in its own vitest worker), a file truncated while mapped makes the
// kernels fault inside guarded reads; they must reject with E_TRUNCATED and the process must live.
import { rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from './testing/fixtures';

process.env.CDX_TEST_SKIP_SIZE_CHECK = '1';
const { NativeFile, bin2d, rawColumn, readRows, regionStats, summary } = await import('./index');

const dir = tempDir('cdx-sigbus-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('SIGBUS guard', () => {
  it('every kernel turns a fault on a truncated mapping into E_TRUNCATED', async () => {
    const n = 1 << 20;
    const p = join(dir, 'shrinks.f64');
    writeFileSync(p, new Uint8Array(n * 8 * 2));
    const f = NativeFile.open(p);
    truncateSync(p, 4096); // pages past the first are gone: touching them raises SIGBUS
    const x = rawColumn(f, 'x', 'float64', 0, n), y = rawColumn(f, 'y', 'float64', n * 8, n);
    await expect(summary(x)).rejects.toMatchObject({ code: 'E_TRUNCATED' });
    await expect(bin2d({ x, y, x0: 0, x1: 1, y0: 0, y1: 1, width: 8, height: 8 })).rejects.toMatchObject({ code: 'E_TRUNCATED' });
    await expect(regionStats(f, { offset: 0, count: n, dtype: 'float64' })).rejects.toMatchObject({ code: 'E_TRUNCATED' });
    await expect(readRows([y], n - 10, 10)).rejects.toMatchObject({ code: 'E_TRUNCATED' });
    f.close();
    // still alive and working
    const q = join(dir, 'fine.f64');
    writeFileSync(q, new Uint8Array(new Float64Array([1, 2, 3]).buffer));
    expect((await summary(rawColumn(q, 'v', 'float64', 0, 3))).max).toBe(3);
  });
});
