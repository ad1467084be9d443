// Arrow IPC file → native descriptors: every supported type, nulls, several batches, a shared
// dictionary; rows read natively equal what apache-arrow reads from the same file.
import { readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import { readRows, summary } from '../../../native/index';
import { tempDir, writeArrowFile, type Cell } from '../../../native/testing/fixtures';
import { isSupported, readArrowColumns } from './index';

const dir = tempDir('cdx-arrow-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const N = 50;
const col = <T extends Cell>(f: (i: number) => T, nullEvery = 7): Cell[] => Array.from({ length: N }, (_, i) => (i % nullEvery === 3 ? null : f(i)));

const COLS = {
  i8: { type: 'int8' as const, values: col((i) => (i % 256) - 128) },
  u16: { type: 'uint16' as const, values: col((i) => i * 1000) },
  i32: { type: 'int32' as const, values: col((i) => i * -12345) },
  i64: { type: 'int64' as const, values: col((i) => (1n << 60n) + BigInt(i) * 3n - 7n) },
  u64: { type: 'uint64' as const, values: col((i) => (1n << 63n) + BigInt(i)) },
  f32: { type: 'float32' as const, values: col((i) => (i === 5 ? NaN : i / 4)) },
  f64: { type: 'float64' as const, values: col((i) => (i === 6 ? Infinity : i === 8 ? NaN : Math.sin(i) * 1e6)) },
  flag: { type: 'bool' as const, values: col((i) => i % 3 === 0, 5) },
  s: { type: 'utf8' as const, values: col((i) => ['', 'alpha', 'βeta', '😀 emoji', 'x'.repeat(i)][i % 5]!) },
  ls: { type: 'large_utf8' as const, values: col((i) => `large-${i}`) },
  d: { type: 'dict' as const, values: col((i) => ['red', 'green', 'blue'][i % 3]!, 4) },
  ts: { type: 'timestamp_ms' as const, values: col((i) => 1_700_000_000_000 + i * 1000) },
  day: { type: 'date_day' as const, values: col((i) => 19000 + i) },
};

describe('readArrowColumns', () => {
  const path = join(dir, 'all.arrow');
  writeArrowFile(path, COLS, 3);

  it('finds every column and batch', () => {
    const a = readArrowColumns(path);
    expect(a.rows).toBe(N);
    expect(a.columns.map((c) => c.name)).toEqual(Object.keys(COLS));
    for (const c of a.columns) {
      expect(isSupported(c)).toBe(true);
      if (isSupported(c)) expect(c.chunks.length).toBe(3);
    }
    expect(a.column('d').kind).toBe('dict');
    expect(a.column('ts').logical).toEqual({ type: 'timestamp', unit: 'ms', timezone: null });
    expect(a.column('day').logical).toEqual({ type: 'date', unit: 'day' });
  });

  it('native row windows equal apache-arrow reading the same file, at every offset', async () => {
    const a = readArrowColumns(path);
    const want = tableFromIPC(readFileSync(path));
    const cols = a.columns.filter(isSupported);
    for (const [off, n] of [[0, N], [0, 1], [15, 10], [16, 1], [33, 17], [N, 0]] as const) {
      const got = await readRows(cols, off, n);
      expect(got.numRows).toBe(n);
      for (const c of cols) {
        const g = got.getChild(c.name)!.toArray();
        const w = want.getChild(c.name)!.toArray().slice(off, off + n);
        const norm = (v: unknown) => (v instanceof Date ? v.getTime() : typeof v === 'number' && Number.isNaN(v) ? 'NaN' : v);
        expect([...g].map(norm), `${c.name} @${off}`).toEqual([...w].map(norm));
      }
    }
  });

  it('summaries of int64 / strings / dictionaries agree with the values written', async () => {
    const a = readArrowColumns(path);
    const i64 = await summary(a.column('i64'));
    const vals = COLS.i64.values.filter((v): v is bigint => v !== null);
    expect(i64.minExact).toBe(vals.reduce((m, v) => (v < m ? v : m)));
    expect(i64.maxExact).toBe(vals.reduce((m, v) => (v > m ? v : m)));
    expect(i64.nulls).toBe(N - vals.length);
    expect(i64.distinct).toBe(vals.length);
    const d = await summary(a.column('d'));
    const dv = COLS.d.values.filter((v) => v !== null);
    expect(d.nulls).toBe(N - dv.length);
    expect(d.distinct).toBe(3);
    const counts = new Map<string, number>();
    for (const v of dv) counts.set(v as string, (counts.get(v as string) ?? 0) + 1);
    const want = [...counts].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1)).map(([value, count]) => ({ value, count }));
    expect(d.topk).toEqual(want);
    const s = await summary(a.column('s'));
    const sv = COLS.s.values.filter((v): v is string => v !== null);
    expect(s.minLength).toBe(Math.min(...sv.map((x) => [...x].length)));
    expect(s.maxLength).toBe(Math.max(...sv.map((x) => [...x].length)));
    expect(s.distinct).toBe(new Set(sv).size);
  });

  it('refuses files that are not Arrow, truncated, or with buffers past the end', () => {
    const bad = join(dir, 'bad.arrow');
    writeFileSync(bad, 'not an arrow file at all, just text');
    expect(() => readArrowColumns(bad)).toThrow(expect.objectContaining({ code: 'E_BAD_FORMAT' }));
    expect(() => readArrowColumns(join(dir, 'missing.arrow'))).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    const cut = join(dir, 'cut.arrow');
    writeFileSync(cut, readFileSync(path));
    truncateSync(cut, 100);
    expect(() => readArrowColumns(cut)).toThrow(expect.objectContaining({ code: expect.stringMatching(/E_BAD_FORMAT|E_TRUNCATED/) }));
  });

  it('reads an empty table', () => {
    const p = join(dir, 'empty.arrow');
    writeArrowFile(p, { x: { type: 'float64', values: [] } });
    const a = readArrowColumns(p);
    expect(a.rows).toBe(0);
  });
});
