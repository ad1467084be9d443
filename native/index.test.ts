// Tests of the native loader and regionStats against numpy (python3) over the same bytes.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeCandidates } from './binding';
import { nativeInfo, regionStats, NativeFile, type NumericDType } from './index';

const DTYPES: NumericDType[] = ['int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'float32', 'float64'];
const NP: Record<NumericDType, string> = {
  int8: 'i1', int16: 'i2', int32: 'i4', int64: 'i8', uint8: 'u1', uint16: 'u2', uint32: 'u4', uint64: 'u8', float32: 'f4', float64: 'f8',
};

const PY = String.raw`
import json, sys, numpy as np
d = sys.argv[1]; specs = json.loads(sys.argv[2])
rng = np.random.default_rng(42)
out = {}
for name, code in specs.items():
    for order in '<>':
        dt = np.dtype(order + code)
        n = 100003
        if dt.kind == 'f':
            a = rng.normal(0, 1e3, n).astype(dt)
            a[::17] = np.nan
            a[5] = np.inf if name == 'float64' else a[5]
        else:
            info = np.iinfo(dt)
            a = rng.integers(info.min, info.max, n, dtype=dt.newbyteorder('='), endpoint=True).astype(dt)
        pre = b'\x00' * 24  # region starts at a non-zero offset
        path = f'{d}/{name}{"le" if order == "<" else "be"}.bin'
        open(path, 'wb').write(pre + a.tobytes())
        f = a.astype(np.float64)
        ok = ~np.isnan(f)
        out[path] = dict(count=int(n), min=float(f[ok].min()), max=float(f[ok].max()),
                         sum=float(np.sum(a[ok].astype(np.float64)) if dt.kind == 'f' else float(sum(int(x) for x in a))),
                         abssum=float(np.abs(f[ok]).sum()), nanCount=int((~ok).sum()))
print(json.dumps(out))
`;

let dir: string;
let expected: Record<string, { count: number; min: number; max: number; sum: number; abssum: number; nanCount: number }>;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cdx-native-'));
  expected = JSON.parse(execFileSync('python3', ['-c', PY, dir, JSON.stringify(NP)], { encoding: 'utf8' }).replace(/Infinity/g, '1e999'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loader', () => {
  it('tries CDX_NATIVE_PATH first, then native/build/Release walking up from the module', () => {
    const prev = process.env.CDX_NATIVE_PATH;
    process.env.CDX_NATIVE_PATH = '/nowhere/cdx_native.node';
    try {
      const c = nativeCandidates();
      expect(c[0]).toBe('/nowhere/cdx_native.node');
      expect(c.some((p) => p.endsWith(join('native', 'build', 'Release', 'cdx_native.node')))).toBe(true);
    } finally {
      if (prev === undefined) delete process.env.CDX_NATIVE_PATH;
      else process.env.CDX_NATIVE_PATH = prev;
    }
  });

  it('finds the binary and reports OpenMP', () => {
    expect(nativeCandidates().length).toBeGreaterThan(1);
    const info = nativeInfo();
    expect(info.threads).toBeGreaterThanOrEqual(1);
    expect(typeof info.openmp).toBe('boolean');
    expect(info.version).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe('regionStats', () => {
  for (const dtype of DTYPES) {
    for (const le of [true, false]) {
      it(`${dtype} ${le ? 'little' : 'big'}-endian matches numpy`, async () => {
        const path = join(dir, `${dtype}${le ? 'le' : 'be'}.bin`);
        const want = expected[path]!;
        const got = await regionStats(path, { offset: 24, count: want.count, dtype, littleEndian: le });
        expect(got.count).toBe(want.count);
        expect(got.nanCount).toBe(want.nanCount);
        expect(got.min).toBe(want.min);
        expect(got.max).toBe(want.max);
        if (!Number.isFinite(want.sum)) expect(got.sum).toBe(want.sum);
        else expect(Math.abs(got.sum - want.sum)).toBeLessThanOrEqual(1e-9 * want.abssum);
      });
    }
  }

  it('rejects a missing file with ENOENT naming the file', async () => {
    const p = join(dir, 'missing.bin');
    await expect(regionStats(p, { offset: 0, count: 1, dtype: 'float64' })).rejects.toMatchObject({
      code: 'ENOENT',
      message: expect.stringContaining(p),
    });
  });

  it('rejects a region past the end with E_OUT_OF_RANGE', async () => {
    const p = join(dir, 'float64le.bin');
    await expect(regionStats(p, { offset: 24, count: 100004, dtype: 'float64' })).rejects.toMatchObject({
      code: 'E_OUT_OF_RANGE',
      message: expect.stringContaining(p),
    });
    await expect(regionStats(p, { offset: 2 ** 52, count: 1, dtype: 'int8' })).rejects.toMatchObject({ code: 'E_OUT_OF_RANGE' });
  });

  it('rejects an unknown dtype with E_BAD_TYPE', async () => {
    const p = join(dir, 'float64le.bin');
    await expect(regionStats(p, { offset: 0, count: 1, dtype: 'complex64' as NumericDType })).rejects.toMatchObject({ code: 'E_BAD_TYPE' });
  });

  it('handles an empty region and works through an open handle after the file is deleted', async () => {
    const p = join(dir, 'deleted.bin');
    writeFileSync(p, new Uint8Array(new Float32Array([1, 2, NaN, -4]).buffer));
    const f = NativeFile.open(p);
    rmSync(p);
    const r = await regionStats(f, { offset: 0, count: 4, dtype: 'float32' });
    expect(r).toEqual({ count: 4, min: -4, max: 2, sum: -1, nanCount: 1 });
    const e = await regionStats(f, { offset: 0, count: 0, dtype: 'float32' });
    expect(e.count).toBe(0);
    expect(e.min).toBeNaN();
    f.close();
  });

  it('is asynchronous (the JS thread keeps running) and cancellable', async () => {
    const p = join(dir, 'int8le.bin');
    const ac = new AbortController();
    ac.abort();
    await expect(regionStats(p, { offset: 0, count: 1, dtype: 'int8' }, { signal: ac.signal })).rejects.toMatchObject({ code: 'E_CANCELLED' });
    let ticked = false;
    const pr = regionStats(p, { offset: 24, count: 100003, dtype: 'int8' });
    setImmediate(() => (ticked = true));
    await pr;
    await new Promise((r) => setImmediate(r));
    expect(ticked).toBe(true);
  });
});
