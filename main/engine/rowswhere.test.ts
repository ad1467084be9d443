import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { createEngineHandlers } from './service';
import type { HandlerContext } from '../../shared/rpc';
import { writeArrowFile, type Cell } from '../../native/testing/fixtures';
import { evalExprOnRow } from '../../shared/expr/bind';
import { parseExpr } from '../../shared/expr/parse';

const ctx = (): HandlerContext => ({ signal: new AbortController().signal, progress: () => {}, connection: 'test' });
const home = mkdtempSync(path.join(os.tmpdir(), 'cdx-rw-'));
const h = createEngineHandlers({ home, samplePath: null });
afterAll(() => h.close());

describe('rows with where', () => {
  it('serves windows of the filtered view', async () => {
    const N = 20000;
    const vals: Cell[] = Array.from({ length: N }, (_, i) => (i % 5 === 0 ? null : (i * 37) % 101));
    const file = path.join(home, 't.arrow');
    writeArrowFile(file, { v: { type: 'float64', values: vals }, i: { type: 'int32', values: Array.from({ length: N }, (_, i) => i) } }, 4);
    const ov = await h.open({ location: file }, ctx());
    const where = 'v > 70';
    const e = parseExpr(where);
    const want = vals.map((v, i) => [v, i] as const).filter(([v]) => evalExprOnRow(e, { v })).map(([, i]) => i);
    for (const offset of [0, 100, want.length - 3, want.length + 10]) {
      const r = await h.rows({ dataset: ov.entry.id, offset, limit: 50, where }, ctx());
      expect(r.total).toBe(want.length);
      const t = tableFromIPC(r.ipc);
      expect([...t.getChild('i')!.toArray()]).toEqual(want.slice(offset, offset + 50));
      expect([...r.rowIds!]).toEqual(want.slice(offset, offset + 50));
      expect(r.rows).toBe(t.numRows);
    }
    const plain = await h.rows({ dataset: ov.entry.id, offset: 5, limit: 3 }, ctx());
    expect(plain.total).toBe(N);
    expect([...tableFromIPC(plain.ipc).getChild('i')!.toArray()]).toEqual([5, 6, 7]);
    await expect(h.rows({ dataset: ov.entry.id, offset: 0, limit: 3, where: 'nope > 1' }, ctx())).rejects.toMatchObject({ code: 'E_UNKNOWN_COLUMN' });
  });
});
