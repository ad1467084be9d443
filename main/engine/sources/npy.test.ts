import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Data } from 'apache-arrow';
import { npyProvider, parsePyLiteral } from './npy';
import { npzProvider } from './npz';
import { cellText } from './testing/oracle';
import { drain, hostileCopies, python, readOrClearError, tempDir, withTimeout } from './testing/util';
import { CdxError } from '../../../shared/errors';

/** numpy writes the fixtures and, for each, every cell as text (the independent reader). */
const GEN = String.raw`
import numpy as np, json, sys, os
out = sys.argv[1] if len(sys.argv) > 1 else '.'
rng = np.random.default_rng(7)
cases = {}
def save(name, a, fortran=False):
    if fortran: a = np.asfortranarray(a)
    np.save(os.path.join(out, name + '.npy'), a)
    cases[name] = a
for dt in ['<i1','<i2','<i4','<i8','>i2','>i4','>i8','<u1','<u2','>u4','<u8','<f2','>f2','<f4','>f4','<f8','>f8','?']:
    n = 37
    if dt == '?': a = rng.integers(0, 2, n).astype(bool)
    elif dt[1] in 'iu':
        info = np.iinfo(np.dtype(dt))
        a = rng.integers(info.min, info.max, n, dtype=np.dtype(dt).newbyteorder('=')).astype(dt, copy=False)
        a[0] = info.min; a[1] = info.max
    else:
        a = (rng.standard_normal(n) * 1000).astype(dt); a[3] = np.nan; a[4] = np.inf
    save('d_' + dt.replace('<','le_').replace('>','be_').replace('?','bool'), a)
save('i64_big', np.array([2**53 + 1, -(2**63), 2**63 - 1, 0], dtype='<i8'))
m = rng.standard_normal((50, 3))
save('c2d', m)
save('f2d', m, fortran=True)
save('be_f2d', m.astype('>f4'), fortran=True)
save('cplx', (rng.standard_normal(5) + 1j * rng.standard_normal(5)).astype('<c16'))
save('dt_ns', np.array(['2020-01-01T00:00:00.123456789', 'NaT', '1969-12-31T23:59:59'], dtype='datetime64[ns]'))
save('dt_day', np.array(['2020-01-01', '1900-03-04', 'NaT'], dtype='datetime64[D]'))
save('td_ms', np.array([1, -5, 86400000], dtype='timedelta64[ms]'))
save('s_bytes', np.array([b'abc', b'', b'xyz12'], dtype='S5'))
save('u_text', np.array(['héllo', '', 'naïve ✓'], dtype='<U8'))
rec = np.zeros(6, dtype=[('id', '<i8'), ('x', '>f4'), ('name', 'S4'), ('vec', '<i2', (2,))])
rec['id'] = [1, 2, 3, 2**60, -1, 0]; rec['x'] = [0.5, 1.5, -2, 3, 4, 5]; rec['name'] = [b'a', b'bb', b'ccc', b'd', b'', b'eeee']; rec['vec'] = [[1,2],[3,4],[5,6],[7,8],[9,10],[11,12]]
save('structured', rec)
save('scalar', np.array(3.25))
save('empty', np.zeros((0,), dtype='<f8'))
save('obj', np.array([1, 'a', None], dtype=object))
np.savez(os.path.join(out, 'stored.npz'), x=np.arange(10, dtype='<i4'), y=m)
np.savez_compressed(os.path.join(out, 'deflated.npz'), x=np.arange(100000, dtype='<i8'), z=rec)
expected = {}
def cells(a):
    if a.dtype.names:
        cols = {}
        for nm in a.dtype.names:
            sub = a[nm]
            if sub.ndim > 1:
                for k in range(sub.shape[1]): cols[nm + '_' + str(k)] = cells(sub[:, k])['c0']
            else: cols[nm] = cells(sub)['c0']
        return cols
    if a.ndim == 0: a = a.reshape(1)
    if a.ndim == 2:
        cols = {}
        for j in range(a.shape[1]):
            for k, v in cells(a[:, j]).items(): cols[k.replace('c0', 'c' + str(j))] = v
        return cols
    k = a.dtype.kind
    if k == 'c': return {'c0_re': cells(a.real)['c0'], 'c0_im': cells(a.imag)['c0']}
    if k == 'b': return {'c0': ['true' if v else 'false' for v in a]}
    if k in 'iu': return {'c0': [str(int(v)) for v in a]}
    if k == 'f': return {'c0': [repr(float(v)) for v in a]}
    if k in 'Mm':
        unit = np.datetime_data(a.dtype)[0]
        vals = a.astype('int64')
        return {'c0': [None if np.isnat(x) else str(int(v) * (1 if unit != 's' else 1)) for x, v in zip(a, vals)]}
    if k == 'S': return {'c0': [v.decode() for v in a]}
    if k == 'U': return {'c0': [str(v) for v in a]}
    return {}
for name, a in cases.items():
    if a.dtype == object: continue
    expected[name] = cells(a)
json.dump(expected, open(os.path.join(out, 'expected.json'), 'w'))
`;

let dir = '';
let cleanup = () => {};
let ok = false;
beforeAll(() => {
  ({ dir, cleanup } = tempDir('cdx-npy-'));
  writeFileSync(join(dir, 'gen.py'), GEN);
  const r = python(`import runpy, sys; sys.argv = ['gen.py', ${JSON.stringify(dir)}]; runpy.run_path(${JSON.stringify(join(dir, 'gen.py'))}, run_name='__main__')`);
  ok = r.ok;
  if (!ok) console.log(`[skip] numpy fixtures unavailable: ${r.out.slice(0, 300)}`);
});
afterAll(() => cleanup());

function toCellTexts(batches: any[], ci: number, field: any): (string | number | null)[] {
  const out: (string | number | null)[] = [];
  for (const b of batches) {
    const d: Data = b.getChildAt(ci).data[0];
    for (let i = 0; i < b.numRows; i++) out.push(cellText(field, d, i));
  }
  return out;
}

function sameCell(ours: string | number | null, exp: string | null, type: string, unit?: string): boolean {
  if (exp === null) return ours === null;
  if (typeof ours === 'number') {
    const e = Number(exp === 'nan' ? NaN : exp === 'inf' ? Infinity : exp === '-inf' ? -Infinity : exp);
    return Number.isNaN(e) ? Number.isNaN(ours) : ours === e;
  }
  if (type === 'timestamp' && unit === 'ns' && ours !== null) return true; // compared below in ns
  return ours === exp;
}

describe('npy against numpy', () => {
  it('reads every fixture and agrees with numpy cell by cell', async () => {
    if (!ok) return;
    const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8'));
    for (const [name, cols] of Object.entries<Record<string, (string | null)[]>>(expected)) {
      const p = join(dir, `${name}.npy`);
      const src = await npyProvider.open(p);
      const { info, batches, rows } = await drain(src);
      await src.close();
      expect(info.schema.fields.map((f) => f.name), name).toEqual(Object.keys(cols));
      info.schema.fields.forEach((f, ci) => {
        const exp = cols[f.name];
        expect(rows, name).toBe(exp.length);
        const ours = toCellTexts(batches, ci, f);
        for (let r = 0; r < exp.length; r++) {
          let o = ours[r];
          if (f.type === 'timestamp' || f.type === 'duration') {
            // compare raw counts in the array's own unit
            let k = 0;
            for (const b of batches) {
              if (r < k + b.numRows) { const d = b.getChildAt(ci)!.data[0]; o = d.getValid(r - k) ? String((d.values as BigInt64Array)[r - k]) : null; break; }
              k += b.numRows;
            }
            expect(o, `${name}.${f.name}[${r}]`).toBe(exp[r]);
            continue;
          }
          if (!sameCell(o, exp[r], f.type, f.unit)) throw new Error(`${name}.${f.name}[${r}]: ${o} vs numpy ${exp[r]}`);
        }
      });
    }
  });

  it('types: int64 exact, big-endian, float16, dates, structured tables', async () => {
    if (!ok) return;
    const info = async (n: string) => (await npyProvider.open(join(dir, `${n}.npy`))).info();
    expect((await info('i64_big')).schema.fields[0].type).toBe('int64');
    expect((await info('d_be_f2')).schema.fields[0].type).toBe('float16');
    expect((await info('dt_day')).schema.fields[0].type).toBe('date');
    expect((await info('dt_ns')).schema.fields[0]).toMatchObject({ type: 'timestamp', unit: 'ns', nullable: true });
    expect((await info('structured')).schema.fields.map((f) => `${f.name}:${f.type}`)).toEqual(['id:int64', 'x:float32', 'name:string', 'vec_0:int16', 'vec_1:int16']);
    expect((await info('c2d')).rows).toBe(50);
    expect((await info('d_le_f8')).inPlace?.kind).toBe('npy');
    expect((await info('f2d')).inPlace?.kind).toBe('npy');
    expect((await info('c2d')).inPlace).toBeUndefined();
    expect((await info('d_be_f8')).inPlace).toBeUndefined();
  });

  it('refuses object arrays without unpickling', async () => {
    if (!ok) return;
    const e = await npyProvider.open(join(dir, 'obj.npy')).then(() => null, (x) => x);
    expect(e).toBeInstanceOf(CdxError);
    expect(e.code).toBe('E_UNSUPPORTED');
    expect(e.message).toMatch(/never unpickled/);
  });

  it('refuses a header declaring a huge shape before allocating (E_TRUNCATED)', async () => {
    const { dir: d, cleanup: c } = tempDir();
    try {
      const header = "{'descr': '<f8', 'fortran_order': False, 'shape': (100000000000, 1000), }";
      const pad = 64 - ((10 + header.length + 1) % 64);
      const h = header + ' '.repeat(pad) + '\n';
      const buf = Buffer.concat([Buffer.from([0x93]), Buffer.from('NUMPY'), Buffer.from([1, 0, h.length & 255, h.length >> 8]), Buffer.from(h, 'latin1'), Buffer.alloc(64)]);
      const p = join(d, 'huge.npy');
      writeFileSync(p, buf);
      const before = process.memoryUsage().rss;
      const e = await npyProvider.open(p).then(() => null, (x) => x);
      expect(e).toBeInstanceOf(CdxError);
      expect(e.code).toBe('E_TRUNCATED');
      expect(process.memoryUsage().rss - before).toBeLessThan(200 * 1024 * 1024);
    } finally {
      c();
    }
  });

  it('truncated and bit-flipped copies give a clear error or a correct read', async () => {
    if (!ok) return;
    const { dir: d, cleanup: c } = tempDir();
    try {
      for (const n of ['structured', 'f2d', 'u_text', 'd_be_i8']) {
        const copies = hostileCopies(join(dir, `${n}.npy`), d, { flips: 30, seed: n.length });
        const res = [];
        for (const p of copies) res.push(await withTimeout(readOrClearError(() => npyProvider.open(p), p), 5000, p));
        expect(res.slice(0, 4).every((r) => r !== 'ok')).toBe(true);
      }
    } finally {
      c();
    }
  });
});

describe('npz', () => {
  it('lists and reads stored and deflated members', async () => {
    if (!ok) return;
    const before = new Set(readdirSync(tmpdir()));
    const stored = join(dir, 'stored.npz');
    const list = await npzProvider.list!(stored);
    expect(list.map((x) => x.inner).sort()).toEqual(['x', 'y']);
    expect(list.find((x) => x.inner === 'y')).toMatchObject({ rows: 50, shape: [50, 3] });
    const ySrc = await npzProvider.open(stored, 'y');
    const y = await drain(ySrc);
    await ySrc.close();
    expect(y.rows).toBe(50);
    expect(y.info.schema.fields.map((f) => f.name)).toEqual(['c0', 'c1', 'c2']);
    const deflated = join(dir, 'deflated.npz');
    const src = await npzProvider.open(deflated, 'x');
    const x = await drain(src);
    expect(x.rows).toBe(100000);
    let sum = 0n;
    for (const b of x.batches) for (const v of b.getChildAt(0)!.data[0].values as BigInt64Array) sum += v;
    expect(sum).toBe(BigInt(99999 * 100000 / 2));
    await src.close();
    const zSrc = await npzProvider.open(deflated, 'z');
    const z = await drain(zSrc);
    await zSrc.close();
    expect(z.info.schema.fields.map((f) => f.name)).toEqual(['id', 'x', 'name', 'vec_0', 'vec_1']);
    expect(readdirSync(tmpdir()).filter((d) => d.startsWith('cdx-npz-') && !before.has(d))).toEqual([]); // temp files removed on close
    await expect(npzProvider.open(deflated, 'nope')).rejects.toThrow(/no array named/);
    await expect(npzProvider.open(deflated)).rejects.toThrow(/holds 2 arrays/);
  });

  it('hostile copies of an archive', async () => {
    if (!ok) return;
    const { dir: d, cleanup: c } = tempDir();
    try {
      for (const n of ['stored.npz', 'deflated.npz']) {
        for (const p of hostileCopies(join(dir, n), d, { flips: 16, seed: 3 })) {
          await withTimeout((async () => {
            let list;
            try { list = await npzProvider.list!(p); } catch (e) { if (!(e instanceof CdxError)) throw e; return; }
            for (const item of list) await readOrClearError(() => npzProvider.open(p, item.inner), p);
          })(), 10_000, p);
        }
      }
    } finally {
      c();
    }
  });
});

describe('python literal parser', () => {
  it('parses headers and refuses code', () => {
    expect(parsePyLiteral("{'descr': [('a', '<i4'), ('b', '|S3', (2,))], 'fortran_order': False, 'shape': (3,), }")).toEqual({
      descr: [['a', '<i4'], ['b', '|S3', [2]]], fortran_order: false, shape: [3],
    });
    expect(() => parsePyLiteral("__import__('os').system('x')")).toThrow();
  });
});
