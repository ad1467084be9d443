// Hostile headers: a few bytes that declare enormous structures fail fast with E_TOO_LARGE naming
// the file and the header field, instead of allocating or looping: HDF5 chunk dimensions, NPY
// shapes (dimensions, entries, element products, columns of a 2-D array) in both NPY readers
// (the in-place header parse of columns/npy.ts and the source of sources/npy.ts), and NPY
// structured dtypes whose sub-arrays multiply into billions of columns.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NPY_MAX_COLUMNS, npyColumns, readNpyHeader } from '../columns/npy';
import { HDF5_MAX_CHUNK_BYTES, hdf5Provider } from './hdf5';
import { npyProvider } from './npy';
import { drain, tempDir } from './testing/util';

let dir = '';
let cleanup = () => {};
beforeAll(() => ({ dir, cleanup } = tempDir('cdx-hostile-')));
afterAll(() => cleanup());

/** An NPY v1 file: the header dict as given (padded as numpy pads it), then `data` bytes. */
function npy(name: string, dict: string, data = 0): string {
  const body = dict.padEnd(Math.ceil((10 + dict.length + 1) / 64) * 64 - 10 - 1, ' ') + '\n';
  const head = new Uint8Array(10 + body.length + data);
  head.set([0x93, ...Buffer.from('NUMPY'), 1, 0], 0);
  new DataView(head.buffer).setUint16(8, body.length, true);
  head.set(Buffer.from(body, 'latin1'), 10);
  const p = join(dir, name);
  writeFileSync(p, head);
  return p;
}

const rejects = async (p: Promise<unknown>) => p.then(() => { throw new Error('resolved'); }, (e: unknown) => e);
const throws = (f: () => unknown) => { try { f(); } catch (e) { return e; } throw new Error('did not throw'); };

describe('NPY headers', () => {
  it('a 2-D array of a billion columns in a 128-byte file: E_TOO_LARGE naming the file and shape, in both readers', async () => {
    const p = npy('wide.npy', "{'descr': '<f8', 'fortran_order': True, 'shape': (0, 1000000000), }");
    const t0 = Date.now();
    expect(throws(() => readNpyHeader(p))).toMatchObject({
      code: 'E_TOO_LARGE',
      file: p,
      message: expect.stringMatching(/field 'shape' \(0, 1000000000\) declares 1000000000 columns; at most 100000/),
    });
    // the source refuses it as too wide to show (it never makes a descriptor per column either)
    expect(await rejects(npyProvider.open(p))).toMatchObject({ code: 'E_UNSUPPORTED', message: expect.stringContaining(p) });
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('the widest accepted 2-D array still maps each column in place', () => {
    const p = npy('edge.npy', `{'descr': '|u1', 'fortran_order': True, 'shape': (0, ${NPY_MAX_COLUMNS}), }`);
    expect(npyColumns(readNpyHeader(p))).toHaveLength(NPY_MAX_COLUMNS);
  });

  it('too many dimensions, an entry past 2^53, and a product past 2^53 are E_TOO_LARGE naming the field', () => {
    const dims = npy('dims.npy', `{'descr': '<f8', 'fortran_order': False, 'shape': (${Array(65).fill(1).join(', ')}), }`);
    expect(throws(() => readNpyHeader(dims))).toMatchObject({ code: 'E_TOO_LARGE', file: dims, message: expect.stringMatching(/'shape' declares 65 dimensions; at most 64/) });
    const entry = npy('entry.npy', "{'descr': '<f8', 'fortran_order': False, 'shape': (123456789012345678901234567890,), }");
    expect(throws(() => readNpyHeader(entry))).toMatchObject({ code: 'E_TOO_LARGE', file: entry, message: expect.stringMatching(/'shape' has an entry of 30 digits/) });
    const product = npy('product.npy', "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296, 0), }");
    expect(throws(() => readNpyHeader(product))).toMatchObject({ code: 'E_TOO_LARGE', file: product, message: expect.stringMatching(/'shape' \(4294967296, 4294967296, 0\) declares more than 2\^53 elements/) });
    const bytes = npy('bytes.npy', "{'descr': '<f8', 'fortran_order': False, 'shape': (2251799813685248,), }");
    expect(throws(() => readNpyHeader(bytes))).toMatchObject({ code: 'E_TOO_LARGE', file: bytes, message: expect.stringMatching(/declares more than 2\^53 bytes/) });
  });

  it('a structured dtype whose sub-arrays multiply to 10^12 fields: E_TOO_LARGE at once, not a loop', async () => {
    const p = npy('nested.npy', "{'descr': [('a', [('b', [('c', '<f8', (1000000,))], (1000000,))])], 'fortran_order': False, 'shape': (0,), }");
    const t0 = Date.now();
    expect(await rejects(npyProvider.open(p))).toMatchObject({ code: 'E_TOO_LARGE', file: p, message: expect.stringMatching(/field 'descr'.*more than 100000 columns/) });
    const empty = npy('empty-structs.npy', "{'descr': [('a', [('b', [], (1000000,))], (1000000,))], 'fortran_order': False, 'shape': (0,), }");
    expect(await rejects(npyProvider.open(empty))).toMatchObject({ code: 'E_TOO_LARGE', file: empty });
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('an ordinary structured array still reads', async () => {
    const rec = new DataView(new ArrayBuffer(2 * 12));
    for (let r = 0; r < 2; r++) { rec.setInt32(r * 12, r + 1, true); rec.setFloat64(r * 12 + 4, r + 0.5, true); }
    const p = npy('rec.npy', "{'descr': [('id', '<i4'), ('v', '<f8')], 'fortran_order': False, 'shape': (2,), }", 24);
    const raw = new Uint8Array(readFileSync(p));
    raw.set(new Uint8Array(rec.buffer), raw.length - 24);
    writeFileSync(p, raw);
    const src = await npyProvider.open(p);
    const { batches } = await drain(src);
    await src.close();
    expect([...batches[0]!.getChild('id')!.toArray()]).toEqual([1, 2]);
    expect([...batches[0]!.getChild('v')!.toArray()]).toEqual([0.5, 1.5]);
  });
});

describe('HDF5 chunk dimensions', () => {
  it('a 2 GiB chunk declared in a 3 KB file: E_TOO_LARGE naming the file, dataset and chunk dimensions; small chunks read', async () => {
    const p = join(dir, 'chunks.h5');
    const h5wasm = (await import('h5wasm/node')).default;
    await h5wasm.ready;
    const f = new h5wasm.File(p, 'w');
    // no data written: libhdf5 would hold the whole chunk in memory to write into it
    f.create_dataset({ name: 'huge', data: new Float64Array(0), shape: [0], maxshape: [null], dtype: '<d', chunks: [2 ** 28] });
    f.create_dataset({ name: 'ok', data: new Float64Array([1, 2, 3, 4]), shape: [4], maxshape: [null], dtype: '<d', chunks: [2] });
    f.close();
    const e = await rejects(hdf5Provider.open(p, '/huge'));
    expect(e).toMatchObject({
      code: 'E_TOO_LARGE',
      file: p,
      message: expect.stringMatching(new RegExp(`/huge: chunk dimensions \\[268435456\\] make chunks of 2147483648 bytes; at most ${HDF5_MAX_CHUNK_BYTES}`)),
    });
    const src = await hdf5Provider.open(p, '/ok');
    const { batches } = await drain(src);
    await src.close();
    expect([...batches.flatMap((b) => [...b.getChild('ok')!.toArray()])]).toEqual([1, 2, 3, 4]);
  });
});
