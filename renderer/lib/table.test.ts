import { describe, expect, it } from 'vitest';
import { tableToIPC, tableFromArrays } from 'apache-arrow';
import { CdxError } from '../../shared/errors';
import type { Field } from '../../shared/datashape';
import type { DatasetView } from './dataset.svelte';
import { BLOCK, MAX_BLOCKS, TableWindow, fitColumnWidths, orderedFields, parseRowNumber } from './table.svelte';

const ROWS = 100_000;
const tick = () => new Promise((r) => setTimeout(r, 0));

/** a dataset of ROWS rows whose column n holds the row number; with a filter, only the even rows pass */
function fakeView() {
  const calls: { offset: number; limit: number; where?: string; signal?: AbortSignal }[] = [];
  const gate: { hold: boolean; release: (() => void)[] } = { hold: false, release: [] };
  const api = {
    rows: async (p: { offset: number; limit: number; where?: string }, o: { signal?: AbortSignal }) => {
      calls.push({ ...p, signal: o.signal });
      if (gate.hold) await new Promise<void>((res, rej) => {
        gate.release.push(res);
        o.signal?.addEventListener('abort', () => rej(CdxError.cancelled('rows')));
      });
      const total = p.where ? ROWS / 2 : ROWS;
      const n = Math.max(0, Math.min(p.limit, total - p.offset));
      const ids = Float64Array.from({ length: n }, (_, i) => (p.where ? 2 * (p.offset + i) : p.offset + i));
      const ipc = tableToIPC(tableFromArrays({ n: Float64Array.from(ids) }), 'stream');
      return { offset: p.offset, rows: n, total, ipc, ...(p.where ? { rowIds: ids } : {}) };
    },
  };
  const view = {
    id: 'd1',
    where: '',
    engine: { api },
    overview: { rows: ROWS },
    readableFields: [{ name: 'n', type: 'float64', nullable: false }],
  };
  return { view, calls, gate, table: new TableWindow(view as unknown as DatasetView) };
}

describe('TableWindow', () => {
  it('fetches the blocks on screen in one call and serves rows from them', async () => {
    const { table, calls } = fakeView();
    table.show(0, 30);
    await tick();
    expect(calls.map((c) => [c.offset, c.limit])).toEqual([[0, BLOCK]]);
    expect(table.row(5)).toEqual({ id: 5, values: [5] });
    // a window across two blocks, one of them here: only the missing one is asked for
    table.show(BLOCK - 10, 30);
    await tick();
    expect(calls.slice(1).map((c) => [c.offset, c.limit])).toEqual([[BLOCK, BLOCK]]);
    expect(table.row(BLOCK + 3)?.values).toEqual([BLOCK + 3]);
    expect(table.total).toBe(ROWS);
  });

  it('a window that moves on cancels the fetch in flight; the same window does not ask twice', async () => {
    const { table, calls, gate } = fakeView();
    gate.hold = true;
    table.show(10 * BLOCK, 30);
    table.show(10 * BLOCK + 5, 30);
    expect(calls).toHaveLength(1);
    table.show(50 * BLOCK, 30);
    expect(calls).toHaveLength(2);
    expect(calls[0]!.signal!.aborted).toBe(true);
    gate.hold = false;
    gate.release.forEach((r) => r());
    await tick();
    expect(table.row(50 * BLOCK)?.id).toBe(50 * BLOCK);
    expect(table.row(10 * BLOCK)).toBeUndefined();
    expect(table.error).toBeNull();
  });

  it('keeps at most MAX_BLOCKS blocks, the least recently fetched going first', async () => {
    const { table } = fakeView();
    for (let b = 0; b <= MAX_BLOCKS; b++) {
      table.show(b * BLOCK, 10);
      await tick();
    }
    expect(table.row(0)).toBeUndefined();
    expect(table.row(BLOCK)?.id).toBe(BLOCK);
    expect(table.row(MAX_BLOCKS * BLOCK)?.id).toBe(MAX_BLOCKS * BLOCK);
  });

  it('a new filter starts over: rows are counted first, then shown with their dataset row numbers', async () => {
    const { table, view, calls } = fakeView();
    table.show(0, 30);
    await tick();
    view.where = 'n % 2 = 0';
    expect(table.counting).toBe(true);
    expect(table.row(0)).toBeUndefined(); // rows of the unfiltered view are not shown as filtered ones
    table.show(0, 30);
    expect(calls.at(-1)).toMatchObject({ offset: 0, limit: BLOCK, where: 'n % 2 = 0' });
    await tick();
    expect(table.counting).toBe(false);
    expect(table.total).toBe(ROWS / 2);
    expect(table.row(3)).toEqual({ id: 6, values: [6] });
  });

  it('copies rows as TSV with a header line', async () => {
    const { table } = fakeView();
    const got = await table.copyRows(3, 5, [{ name: 'n', type: 'float64', nullable: false }]);
    expect(got).toEqual({ tsv: 'n\n3\n4\n5', rows: 3 });
  });
});

describe('fitColumnWidths', () => {
  const fields: Field[] = [
    { name: 'pickup_at', type: 'timestamp', nullable: false },
    { name: 'id', type: 'int64', nullable: false },
    { name: 'note', type: 'string', nullable: true },
  ] as Field[];
  const rows = [{ id: 0, values: [Date.UTC(2025, 6, 19, 22, 27, 31, 909), 7n, 'x'.repeat(500)] }];
  const measure = (t: string) => t.length * 7;

  it('shows a timestamp in full, keeps short columns as wide as their name, caps long text', () => {
    const w = fitColumnWidths(fields, rows, measure, { pad: 10, min: 40, max: 300 });
    expect(w.pickup_at).toBe('2025-07-19 22:27:31.909'.length * 7 + 10);
    expect(w.id).toBe('int64'.length * 7 + 10);
    expect(w.note).toBe(300);
  });
});

describe('parseRowNumber (Go to row: numbers from 1)', () => {
  it('takes whole numbers from 1 to the last row, thousands separators allowed', () => {
    expect(parseRowNumber('1', 60_000)).toBe(1);
    expect(parseRowNumber(' 60000 ', 60_000)).toBe(60_000);
    expect(parseRowNumber('5,000,000', 10_000_000)).toBe(5_000_000);
    expect(parseRowNumber('5 000 000', 10_000_000)).toBe(5_000_000);
    expect(parseRowNumber('+7', 10)).toBe(7);
  });
  it('refuses what is not a row number, saying what is', () => {
    expect(parseRowNumber('abc', 60_000)).toBe('"abc" is not a row number: a whole number from 1 to 60,000.');
    expect(parseRowNumber('1.5', 60_000)).toBe('"1.5" is not a row number: a whole number from 1 to 60,000.');
    expect(parseRowNumber('1,5', 60_000)).toMatch(/is not a row number/);
    expect(parseRowNumber('1e3', 60_000)).toMatch(/is not a row number/);
    expect(parseRowNumber('0', 60_000)).toBe('Rows are numbered from 1: a whole number from 1 to 60,000.');
    expect(parseRowNumber('-3', 60_000)).toMatch(/^Rows are numbered from 1/);
    expect(parseRowNumber('60001', 60_000)).toBe('There are only 60,000 rows: a whole number from 1 to 60,000.');
    expect(parseRowNumber('2', 1)).toBe('There is only 1 row: a whole number from 1 to 1.');
    expect(parseRowNumber('', 10)).toBe('Type a row number: a whole number from 1 to 10.');
    expect(parseRowNumber('1', 0)).toBe('There are no rows to go to.');
  });
});

describe('orderedFields (the table order the Export dialog follows)', () => {
  it('puts the named columns first in that order, the rest after in their own order', () => {
    const f = ['a', 'b', 'c', 'd'].map((name) => ({ name }));
    expect(orderedFields(f, ['c', 'a']).map((x) => x.name)).toEqual(['c', 'a', 'b', 'd']);
    expect(orderedFields(f, ['zz', 'd', 'c', 'b', 'a']).map((x) => x.name)).toEqual(['d', 'c', 'b', 'a']);
    expect(orderedFields(f, []).map((x) => x.name)).toEqual(['a', 'b', 'c', 'd']);
  });
});
