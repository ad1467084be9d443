// Arrow's own integration files (arrow-testing corpus, when present on this machine): the
// little-endian files read natively equal apache-arrow's reading; their big-endian twins read
// natively (byte-swapped in the kernels) equal the little-endian ones; compressed files are refused.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { readRows } from '../../../native/index';
import { isSupported, readArrowColumns } from './index';

const ROOT = process.env.CDX_ARROW_TESTING ?? '/work/shared/corpus/arrow-testing/data/arrow-ipc-stream/integration';
const LE = join(ROOT, '1.0.0-littleendian');
const BE = join(ROOT, '1.0.0-bigendian');
const have = existsSync(LE) && existsSync(BE);

const norm = (v: unknown): unknown =>
  v instanceof Date ? v.getTime() : typeof v === 'number' && Number.isNaN(v) ? 'NaN' : typeof v === 'bigint' ? `${v}n` : v;

describe.skipIf(!have)('arrow-testing integration files', () => {
  const files = have ? readdirSync(LE).filter((f) => f.endsWith('.arrow_file') && existsSync(join(BE, f))) : [];

  it.each(files)('%s: native rows = apache-arrow rows, big-endian = little-endian', async (f) => {
    const le = readArrowColumns(join(LE, f));
    const be = readArrowColumns(join(BE, f));
    expect(le.littleEndian).toBe(true);
    expect(be.littleEndian).toBe(false);
    const want = tableFromIPC(readFileSync(join(LE, f)));
    const cols = le.columns.filter(isSupported);
    const bcols = be.columns.filter(isSupported);
    expect(bcols.map((c) => c.name)).toEqual(cols.map((c) => c.name));
    if (!cols.length || le.rows === 0) return;
    const got = await readRows(cols, 0, le.rows);
    const gotBE = await readRows(bcols, 0, be.rows);
    cols.forEach((c, i) => {
      const w = [...want.getChildAt(le.columns.indexOf(c))!.toArray()].map(norm);
      const g = [...got.getChildAt(i)!.toArray()].map(norm);
      const b = [...gotBE.getChildAt(i)!.toArray()].map(norm);
      // apache-arrow returns the raw slot under a null for some types; compare non-null slots
      const valid = [...want.getChildAt(le.columns.indexOf(c))!].map((v) => v !== null);
      expect(g.filter((_, k) => valid[k]), `${f}:${c.name}`).toEqual(w.filter((_, k) => valid[k]));
      expect(b, `${f}:${c.name} big-endian`).toEqual(g);
    });
  });

  it('refuses compressed bodies with E_COMPRESSED', () => {
    const dir = join(ROOT, '2.0.0-compression');
    if (!existsSync(dir)) return;
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.arrow_file'))) {
      expect(() => readArrowColumns(join(dir, f)), f).toThrow(expect.objectContaining({ code: 'E_COMPRESSED' }));
    }
  });
});
