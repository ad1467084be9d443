import { describe, expect, it } from 'vitest';
import type { DatasetOverview, DatasetSummary } from '../../shared/api';
import { CdxError } from '../../shared/errors';
import { parseExpr } from '../../shared/expr/parse';
import { DatasetView } from './dataset.svelte';
import type { EngineConnection } from './engine.svelte';

const overview = {
  entry: { id: 'd1', name: 'trips.arrow', path: '/data/trips.arrow', format: 'arrow', size: 1 },
  rows: 100,
  schema: { fields: [{ name: 'fare', type: 'float64', nullable: false }, { name: 'payment', type: 'string', nullable: true }, { name: 'tags', type: 'list', nullable: true }] },
  unsupported: [{ name: 'tags', reason: 'nested' }],
  warnings: [],
} as unknown as DatasetOverview;

/** an engine whose summary records the filter it was asked with */
function engine(summary: (where?: string) => Promise<DatasetSummary>) {
  const calls: (string | undefined)[] = [];
  const api = {
    overview: async () => overview,
    summary: (p: { where?: string }) => {
      calls.push(p.where);
      return summary(p.where);
    },
  };
  return { conn: { api } as unknown as EngineConnection, calls };
}

const done = (filteredRows?: number) => Promise.resolve({ columns: [], filteredRows } as unknown as DatasetSummary);

describe('DatasetView', () => {
  it('holds filters as expressions: chips show the canonical text, where is their conjunction', async () => {
    const { conn, calls } = engine(() => done(7));
    const v = new DatasetView(conn, 'd1');
    await v.load();
    v.addFilter(parseExpr("fare > 20 and payment in ('cash', 'app')"));
    v.addFilter(parseExpr('payment is null or fare < 3'));
    expect(v.filters.map((f) => f.text)).toEqual(['fare > 20 and payment in ("cash", "app")', 'payment is null or fare < 3']);
    expect(v.where).toBe('fare > 20 and payment in ("cash", "app") and (payment is null or fare < 3)');
    // the engine gets the same text, which parses back to the conjunction
    expect(calls.at(-1)).toBe(v.where);
    expect(parseExpr(v.where)).toEqual(v.filter);
  });

  it('an expression equal to an active filter is not added twice; removing the last clears where', async () => {
    const { conn } = engine(() => done());
    const v = new DatasetView(conn, 'd1');
    await v.load();
    v.addFilter(parseExpr('fare>20'));
    v.addFilter(parseExpr('fare > 20'));
    expect(v.filters).toHaveLength(1);
    v.removeFilter(v.filters[0]!.id);
    expect(v.where).toBe('');
    expect(v.filter).toBeNull();
  });

  it('leaves out the columns the kernels cannot read', async () => {
    const { conn } = engine(() => done());
    const v = new DatasetView(conn, 'd1');
    await v.load();
    expect(v.readableFields.map((f) => f.name)).toEqual(['fare', 'payment']);
  });

  it('a cancelled summary says so; a failed one shows the message; a crash twice with a filter is not re-run by itself', async () => {
    let answer: (signal?: AbortSignal) => Promise<DatasetSummary> = () => Promise.reject(new CdxError('E_UNKNOWN_COLUMN', 'no column "fare2" in trips.arrow'));
    const calls: (string | undefined)[] = [];
    const api = {
      overview: async () => overview,
      summary: (p: { where?: string }, o: { signal?: AbortSignal }) => (calls.push(p.where), answer(o.signal)),
    };
    const v = new DatasetView({ api } as unknown as EngineConnection, 'd1');
    await v.load();
    expect(v.summaryError).toContain('fare2');

    // as the RPC client does: an aborted call rejects with E_CANCELLED
    answer = (signal) => new Promise((_, reject) => signal?.addEventListener('abort', () => reject(CdxError.cancelled('summary'))));
    const running = v.runSummary();
    expect(v.summarizing).toBe(true);
    v.cancelSummary();
    await running;
    expect(v.summarizing).toBe(false);
    expect(v.summaryError).toBe('Summary cancelled.');

    answer = () => Promise.reject(new CdxError('E_ENGINE_DIED', 'The engine stopped.'));
    v.addFilter(parseExpr('fare > 1000'));
    await new Promise((r) => setTimeout(r, 0));
    await v.runSummary();
    const n = calls.length;
    await v.load(); // the engine came back: two crashes with this filter, so no third run by itself
    expect(calls.length).toBe(n);
    expect(v.summaryError).toMatch(/stopped while summarising with the filter fare > 1000/);
    expect(v.summarizing).toBe(false);
    answer = () => done(3);
    v.retrySummary(); // the user asks: it runs
    await new Promise((r) => setTimeout(r, 0));
    expect(calls.length).toBe(n + 1);
    expect(v.filteredRows).toBe(3);
    expect(v.summaryError).toBeNull();
  });
});

describe('DatasetView chips: off and on, edited, facets', () => {
  it('a chip switched off stays but does not filter; on again it does; removing an off chip recounts nothing', async () => {
    const { conn, calls } = engine(() => done(7));
    const v = new DatasetView(conn, 'd1');
    await v.load();
    v.addFilter(parseExpr('fare > 20'));
    v.addFilter(parseExpr('payment = "cash"'));
    const [a, b] = v.filters;
    v.setEnabled(a!.id, false);
    expect(v.filters).toHaveLength(2);
    expect(v.where).toBe('payment = "cash"');
    expect(calls.at(-1)).toBe('payment = "cash"');
    v.setEnabled(a!.id, true);
    expect(v.where).toBe('fare > 20 and payment = "cash"');
    // adding an expression that is there but off switches it on
    v.setEnabled(b!.id, false);
    v.addFilter(parseExpr('payment = "cash"'));
    expect(v.filters).toHaveLength(2);
    expect(v.filters[1]!.enabled).toBe(true);
    v.setEnabled(b!.id, false);
    const n = calls.length;
    v.removeFilter(b!.id);
    expect(calls.length).toBe(n);
    expect(v.where).toBe('fare > 20');
  });

  it('an edited chip keeps its place and is on; an edit equal to another chip merges into it', async () => {
    const { conn } = engine(() => done());
    const v = new DatasetView(conn, 'd1');
    await v.load();
    v.addFilter(parseExpr('fare > 20'));
    v.addFilter(parseExpr('payment = "cash"'));
    const [a, b] = v.filters;
    v.setEnabled(a!.id, false);
    v.replaceFilter(a!.id, parseExpr('fare > 30'));
    expect(v.filters.map((f) => [f.id, f.text, f.enabled])).toEqual([[a!.id, 'fare > 30', true], [b!.id, 'payment = "cash"', true]]);
    v.replaceFilter(a!.id, parseExpr("payment = 'cash'"));
    expect(v.filters.map((f) => f.text)).toEqual(['payment = "cash"']);
  });

  it("facets: a column's own clauses are left out of its counts; the values it picks are known", async () => {
    const { conn } = engine(() => done());
    const v = new DatasetView(conn, 'd1');
    await v.load();
    v.addFilter(parseExpr('payment in ("cash", "app")'));
    v.addFilter(parseExpr('fare > 20'));
    expect(v.whereWithout('payment')).toBe('fare > 20');
    expect(v.whereWithout('fare')).toBe('payment in ("cash", "app")');
    expect(v.picked('payment')!.values).toHaveLength(2);
    v.setEnabled(v.filters[0]!.id, false);
    expect(v.picked('payment')).toBeNull();
  });
});
