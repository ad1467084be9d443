// Tests of changing a column's type through the engine (service.ts setColumnType over
// datasets.ts: a CSV read again with the column's type forced): the overview, summary, rows and
// filters see the new type; values that do not convert are null and counted (W_UNCONVERTED, with
// their rows); the choice is kept in the catalog and holds when the engine starts again; null
// goes back to the reader's type; other formats and unknown columns are refused. The summary of
// the converted column is checked against DuckDB reading the same text with the same format.
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { createEngineHandlers } from './service';
import type { HandlerContext } from '../../shared/rpc';
import { writeArrowFile } from '../../native/testing/fixtures';
import { duckQuery } from './sources/testing/oracle';

const ctx = (): HandlerContext => ({ signal: new AbortController().signal, progress: () => {}, connection: 'test' });
const home = mkdtempSync(path.join(os.tmpdir(), 'cdx-coltype-'));
const handlers: ReturnType<typeof createEngineHandlers>[] = [];
const engine = () => { const h = createEngineHandlers({ home, samplePath: null }); handlers.push(h); return h; };
afterAll(() => { for (const h of handlers) h.close(); rmSync(home, { recursive: true, force: true }); });

// `when` is text the reader keeps as string (two spellings and a word), until the user says timestamp
const CSV = ['id,when,code', '1,01/31/2024 10:00,10', '2,2/1/2024,20', '3,not yet,10', '4,,30', '5,31/02/2024,20', '6,12/25/2023 23:59:59,10', ''].join('\n');

describe('setColumnType', () => {
  const file = path.join(home, 'events.csv');
  writeFileSync(file, CSV);

  it('string -> timestamp: every view sees timestamps, the bad rows are counted and listed, and it holds on reopening', async () => {
    const h = engine();
    const ov = await h.open({ location: file }, ctx());
    expect(ov.schema.fields.find((f) => f.name === 'when')!.type).toBe('string');
    const r = await h.setColumnType({ dataset: ov.entry.id, column: 'when', type: 'timestamp' }, ctx());
    expect(r.type).toBe('timestamp');
    expect(r.via).toBe('reingest');
    expect(r.unconverted).toBe(2);
    expect(r.warning!.samples).toEqual([{ row: 3, line: 4, value: 'not yet' }, { row: 5, line: 6, value: '31/02/2024' }]);
    expect(r.overview.typeOverrides).toEqual({ when: 'timestamp' });
    expect(r.overview.warnings.some((w) => w.code === 'W_UNCONVERTED' && w.count === 2)).toBe(true);

    const s = await h.summary({ dataset: ov.entry.id, columns: ['when'] }, ctx());
    const c = s.columns[0]!;
    expect(c.type).toBe('timestamp');
    expect([c.count, c.nulls]).toEqual([3, 3]);
    expect(c.min).toBe('2023-12-25T23:59:59.000000Z');
    expect(c.max).toBe('2024-02-01T00:00:00.000000Z');
    // DuckDB reading the same text as month/day/year agrees on the values that convert
    const duck = await duckQuery(`SELECT count(w), CAST(epoch_ms(min(w)) AS VARCHAR), CAST(epoch_ms(max(w)) AS VARCHAR) FROM (SELECT COALESCE(try_strptime("when", '%m/%d/%Y %H:%M:%S'), try_strptime("when", '%m/%d/%Y %H:%M'), try_strptime("when", '%m/%d/%Y')) AS w FROM read_csv('${file}', all_varchar = true))`).catch(() => null);
    if (duck) expect(duck[0]).toEqual([3n, String(Date.UTC(2023, 11, 25, 23, 59, 59)), String(Date.UTC(2024, 1, 1))]);

    const rows = await h.rows({ dataset: ov.entry.id, offset: 0, limit: 10, columns: ['when'] }, ctx());
    const v = tableFromIPC(rows.ipc).getChildAt(0)!;
    expect(String(v.type)).toMatch(/^Timestamp/);
    const us = v.data[0]!.values as BigInt64Array; // microseconds
    expect(Array.from({ length: v.length }, (_, i) => (v.isValid(i) ? Number(us[i]! / 1000n) : null))).toEqual([
      Date.UTC(2024, 0, 31, 10), Date.UTC(2024, 1, 1), null, null, null, Date.UTC(2023, 11, 25, 23, 59, 59),
    ]);
    // a filter compares the column as time
    const f = await h.rows({ dataset: ov.entry.id, offset: 0, limit: 10, columns: ['id'], where: `when >= "2024-01-01"` }, ctx());
    expect(f.total).toBe(2);

    // a new engine (the app started again) reads it the same way, from the catalog
    const h2 = engine();
    const again = await h2.overview({ dataset: ov.entry.id }, ctx());
    expect(again.schema.fields.find((x) => x.name === 'when')!.type).toBe('timestamp');
    expect(again.typeOverrides).toEqual({ when: 'timestamp' });

    // back to the reader's type; the converted cache file is gone
    const oldCache = again.storage.path;
    const back = await h2.setColumnType({ dataset: ov.entry.id, column: 'when', type: null }, ctx());
    expect(back.overview.schema.fields.find((x) => x.name === 'when')!.type).toBe('string');
    expect(back.overview.typeOverrides).toBeUndefined();
    expect(back.unconverted).toBe(0);
    expect(existsSync(oldCache)).toBe(false);
  });

  it('number -> category: the values become labels (top values, a categorical column)', async () => {
    const h = engine();
    const ov = await h.open({ location: file }, ctx());
    const r = await h.setColumnType({ dataset: ov.entry.id, column: 'code', type: 'category' }, ctx());
    expect(r.type).toBe('string');
    expect(r.unconverted).toBe(0);
    const s = await h.summary({ dataset: ov.entry.id, columns: ['code'], topk: 3 }, ctx());
    expect(s.columns[0]!.top).toEqual([['10', 3], ['20', 2], ['30', 1]]);
    await h.setColumnType({ dataset: ov.entry.id, column: 'code', type: null }, ctx());
  });

  it('refuses an unknown column, an unknown type and a format whose types are stored', async () => {
    const h = engine();
    const ov = await h.open({ location: file }, ctx());
    await expect(h.setColumnType({ dataset: ov.entry.id, column: 'nope', type: 'int64' }, ctx())).rejects.toMatchObject({ code: 'E_UNKNOWN_COLUMN', column: 'nope' });
    await expect(h.setColumnType({ dataset: ov.entry.id, column: 'id', type: 'uint7' as 'int64' }, ctx())).rejects.toMatchObject({ code: 'E_BAD_TYPE' });
    const arrow = path.join(home, 't.arrow');
    writeArrowFile(arrow, { x: { type: 'float64', values: [1, 2, 3] } }, 1);
    const a = await h.open({ location: arrow }, ctx());
    await expect(h.setColumnType({ dataset: a.entry.id, column: 'x', type: 'string' }, ctx())).rejects.toMatchObject({ code: 'E_UNSUPPORTED' });
  });
});
