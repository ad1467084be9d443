/**
 * NPZ archives as yauzl reads their structure and CDX uses their members: stored members are read
 * in place (no copy), deflated ones inflated into a temporary file that goes on close; Zip64
 * archives from Python's zipfile and from CDX's own writer (forced, as arrays over 4 GiB get it),
 * which numpy reads too; UTF-8 member names; and an odd member name that must not make the whole
 * archive unreadable. numpy writes the fixtures and is the independent reader.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { npzProvider } from './npz';
import { drain, python, tempDir } from './testing/util';
import { writeZip } from '../writers/npy';

const GEN = String.raw`
import numpy as np, zipfile, io, sys, os
out = sys.argv[1]
np.savez(os.path.join(out, 'stored.npz'), a=np.arange(1000, dtype='<f8'), **{'temp_é': np.arange(5, dtype='<i2')})
np.savez_compressed(os.path.join(out, 'deflated.npz'), big=np.arange(300000, dtype='<i8') * 3)
def npy(a):
    b = io.BytesIO(); np.lib.format.write_array(b, a); return b.getvalue()
with zipfile.ZipFile(os.path.join(out, 'z64.npz'), 'w') as z:
    with z.open('a.npy', 'w', force_zip64=True) as f: f.write(npy(np.arange(7, dtype='<i4')))
with zipfile.ZipFile(os.path.join(out, 'odd.npz'), 'w') as z:
    z.writestr('../up.npy', npy(np.arange(3, dtype='<i8')))
    z.writestr('ok.npy', npy(np.arange(4, dtype='<i8')))
np.save(os.path.join(out, 'm1.npy'), np.arange(11, dtype='<u2'))
np.save(os.path.join(out, 'm2.npy'), np.linspace(0, 1, 6))
print('ok')
`;

let dir = '';
let cleanup = () => {};
let ok = false;
let tmp = '';
const savedTmp = process.env.TMPDIR;

beforeAll(() => {
  ({ dir, cleanup } = tempDir('cdx-npz-test-'));
  // a private temporary folder (os.tmpdir() reads TMPDIR), so the inflated-member folders counted
  // below are this file's own even while other test files run
  tmp = join(dir, 'tmp');
  mkdirSync(tmp);
  process.env.TMPDIR = tmp;
  const r = python(GEN.replace('sys.argv[1]', JSON.stringify(dir)));
  ok = r.ok;
  if (!ok) console.log(`[skip] numpy unavailable: ${r.out.slice(0, 200)}`);
});
afterAll(() => {
  if (savedTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmp;
  cleanup();
});

const inflated = () => readdirSync(tmp).filter((d) => d.startsWith('cdx-npz-'));

async function values(path: string, inner: string): Promise<unknown[]> {
  const src = await npzProvider.open(path, inner);
  try {
    const { batches } = await drain(src);
    return batches.flatMap((b) => Array.from(b.getChildAt(0)!.toArray() as ArrayLike<unknown>));
  } finally {
    await src.close();
  }
}

describe('npz archives', () => {
  it('reads stored members in place and inflates deflated ones into a temporary file removed on close', async () => {
    if (!ok) return;
    const stored = join(dir, 'stored.npz');
    expect((await npzProvider.list!(stored)).map((x) => x.inner).sort()).toEqual(['a', 'temp_é']);
    const a = await npzProvider.open(stored, 'a');
    expect(inflated()).toEqual([]); // read through a window on the archive: nothing copied
    const { rows, batches } = await drain(a);
    await a.close();
    expect(rows).toBe(1000);
    expect(Array.from(batches[0].getChildAt(0)!.toArray() as Float64Array).slice(0, 3)).toEqual([0, 1, 2]);
    expect(await values(stored, 'temp_é')).toEqual([0, 1, 2, 3, 4]);

    const deflated = join(dir, 'deflated.npz');
    const big = await npzProvider.open(deflated, 'big');
    expect(inflated()).toHaveLength(1);
    const d = await drain(big);
    let sum = 0n;
    for (const b of d.batches) for (const v of b.getChildAt(0)!.toArray() as BigInt64Array) sum += v;
    expect(sum).toBe(3n * BigInt((299999 * 300000) / 2));
    await big.close();
    expect(inflated()).toEqual([]);
  });

  it('reads Zip64 archives: Python zipfile, and CDX’s writer with Zip64 records forced (numpy reads those too)', async () => {
    if (!ok) return;
    expect(await values(join(dir, 'z64.npz'), 'a')).toEqual([0, 1, 2, 3, 4, 5, 6]);
    const out = join(dir, 'ours64.npz');
    await writeZip(out, [{ name: 'm1.npy', path: join(dir, 'm1.npy') }, { name: 'm2.npy', path: join(dir, 'm2.npy') }], { forceZip64: true });
    const r = python(String.raw`
import numpy as np, zipfile, json
p = ${JSON.stringify(out)}
raw = open(p, 'rb').read()
z = np.load(p)
print(json.dumps({'zip64': raw.find(b'PK\x06\x06') >= 0, 'm1': z['m1'].tolist(), 'm2': z['m2'].tolist(), 'test': zipfile.ZipFile(p).testzip()}))`);
    expect(r.ok).toBe(true);
    expect(JSON.parse(r.out)).toEqual({ zip64: true, m1: Array.from({ length: 11 }, (_, i) => i), m2: [0, 0.2, 0.4, 0.6000000000000001, 0.8, 1], test: null });
    expect(await values(out, 'm1')).toEqual(Array.from({ length: 11 }, (_, i) => i));
    expect(await values(out, 'm2')).toEqual([0, 0.2, 0.4, 0.6000000000000001, 0.8, 1]);
  });

  it('an odd member name does not make the archive unreadable', async () => {
    if (!ok) return;
    const odd = join(dir, 'odd.npz');
    expect((await npzProvider.list!(odd)).map((x) => x.inner).sort()).toEqual(['../up', 'ok']);
    expect(await values(odd, 'ok')).toEqual([0n, 1n, 2n, 3n]);
    expect(await values(odd, '../up')).toEqual([0n, 1n, 2n]);
  });
});
