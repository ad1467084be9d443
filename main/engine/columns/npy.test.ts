// NPY headers: dtypes of either byte order, 2-D Fortran arrays, datetime64, and refusals (object
// dtype, truncated data, strided layouts); values checked against numpy through native kernels.
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRows, summary } from '../../../native/index';
import { tempDir } from '../../../native/testing/fixtures';
import { npyColumns, readNpyHeader } from './index';

const dir = tempDir('cdx-npy-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PY = String.raw`
import json, sys, numpy as np
d = sys.argv[1]
rng = np.random.default_rng(7)
out = {}
for descr in ['<f8', '>f8', '<f4', '>i4', '<i2', '|i1', '>u8', '<u2', '|u1']:
    a = (rng.normal(0, 100, 1001)).astype(descr) if descr[1] == 'f' else rng.integers(0, 100, 1001).astype(descr)
    p = f'{d}/{descr[1:]}{"be" if descr[0] == ">" else "le"}.npy'
    np.save(p, a)
    out[p] = dict(min=float(a.min()), max=float(a.max()), mean=float(a.astype('f8').mean()), std=float(a.astype('f8').std(ddof=1)))
np.save(f'{d}/bool.npy', np.array([True, False, True, True]))
np.save(f'{d}/days.npy', np.array(['2024-01-01', '2024-03-01'], dtype='datetime64[D]'))
np.save(f'{d}/dt.npy', np.array(['2024-01-01T00:00:00', '2024-01-02T00:00:00'], dtype='datetime64[ms]'))
np.save(f'{d}/fortran.npy', np.asfortranarray(np.arange(12, dtype='<f8').reshape(4, 3)))
np.save(f'{d}/corder.npy', np.arange(12, dtype='<f8').reshape(4, 3))
np.save(f'{d}/object.npy', np.array([1, 'a', None], dtype=object), allow_pickle=True)
np.save(f'{d}/scalar.npy', np.float64(3.5))
print(json.dumps(out))
`;

let expected: Record<string, { min: number; max: number; mean: number; std: number }>;
beforeAll(() => {
  expected = JSON.parse(execFileSync('python3', ['-c', PY, dir], { encoding: 'utf8' }));
});

describe('NPY', () => {
  it('reads every numeric dtype of either byte order like numpy', async () => {
    for (const [path, want] of Object.entries(expected)) {
      const h = readNpyHeader(path);
      expect(h.shape).toEqual([1001]);
      const [c] = npyColumns(h);
      const s = await summary(c!);
      expect(s.min, path).toBe(want.min);
      expect(s.max, path).toBe(want.max);
      expect(s.mean!, path).toBeCloseTo(want.mean, 9);
      expect(s.std!, path).toBeCloseTo(want.std, 9);
    }
  });

  it('maps bool, datetime64, 0-D and Fortran-ordered 2-D arrays', async () => {
    const b = readNpyHeader(join(dir, 'bool.npy'));
    expect(b.logical).toEqual({ type: 'bool8' });
    const rb = await readRows(npyColumns(b), 0, 4);
    expect([...rb.getChild('value')!.toArray()]).toEqual([true, false, true, true]);
    const t = readNpyHeader(join(dir, 'dt.npy'));
    expect(t.logical).toEqual({ type: 'timestamp', unit: 'ms' });
    const tr = await readRows(npyColumns(t), 0, 2);
    expect([...tr.getChild('value')!.toArray()].map(Number)).toEqual([Date.UTC(2024, 0, 1), Date.UTC(2024, 0, 2)]);
    const days = readNpyHeader(join(dir, 'days.npy'));
    expect(days.logical).toEqual({ type: 'date', unit: 'day' });
    const dr = await readRows(npyColumns(days), 0, 2);
    expect([...dr.getChild('value')!].map((v) => new Date(v as number).toISOString().slice(0, 10))).toEqual(['2024-01-01', '2024-03-01']);
    const s = readNpyHeader(join(dir, 'scalar.npy'));
    expect(s.shape).toEqual([]);
    expect(s.count).toBe(1);
    const f = readNpyHeader(join(dir, 'fortran.npy'));
    const cols = npyColumns(f);
    expect(cols.length).toBe(3);
    const r = await readRows(cols, 0, 4);
    expect([...r.getChild('value1')!.toArray()]).toEqual([1, 4, 7, 10]);
    expect(() => npyColumns(readNpyHeader(join(dir, 'corder.npy')))).toThrow(expect.objectContaining({ code: 'E_UNSUPPORTED_LAYOUT' }));
  });

  it('refuses object dtype, a header declaring more data than the file holds, and junk', () => {
    expect(() => readNpyHeader(join(dir, 'object.npy'))).toThrow(expect.objectContaining({ code: 'E_BAD_TYPE' }));
    const hdr = "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000,), }";
    const pad = ' '.repeat(64 - ((10 + hdr.length + 1) % 64)) + '\n';
    const head = Buffer.concat([Buffer.from([0x93]), Buffer.from('NUMPY'), Buffer.from([1, 0]), Buffer.from(new Uint16Array([hdr.length + pad.length]).buffer), Buffer.from(hdr + pad)]);
    const p = join(dir, 'lies.npy');
    writeFileSync(p, Buffer.concat([head, Buffer.alloc(80)]));
    expect(() => readNpyHeader(p)).toThrow(expect.objectContaining({ code: 'E_TRUNCATED', message: expect.stringContaining(p) }));
    const j = join(dir, 'junk.npy');
    writeFileSync(j, 'hello world, not numpy');
    expect(() => readNpyHeader(j)).toThrow(expect.objectContaining({ code: 'E_BAD_FORMAT' }));
  });
});
