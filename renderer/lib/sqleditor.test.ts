import { describe, expect, it } from 'vitest';
import { CdxError } from '../../shared/errors';
import { SqlEditor, type QueryOpener } from './sqleditor.svelte';

function opener(fail?: CdxError) {
  const opened: string[] = [];
  const o: { -readonly [K in keyof QueryOpener]: QueryOpener[K] } & { opened: string[] } = {
    opened,
    openFailure: null,
    openError: null,
    async open(loc: string) {
      opened.push(loc);
      this.openFailure = fail ?? null;
      this.openError = fail?.message ?? null;
      return !fail;
    },
  };
  return o;
}

function store(initial?: string) {
  let v = initial;
  return { get: () => v, set: (t: string) => void (v = t), peek: () => v };
}

describe('SqlEditor', () => {
  it('runs the query as URL::(SQL) through the catalog and keeps it first in the history', async () => {
    const o = opener();
    const s = store(JSON.stringify({ 'postgresql://u@h:5432/d': ['SELECT 1'] }));
    const ed = new SqlEditor('postgresql://u@h:5432/d', o, s);
    expect(ed.text).toBe('SELECT 1');
    ed.text = '  SELECT a::int FROM t  ';
    expect(await ed.run()).toBe(true);
    expect(o.opened).toEqual(['postgresql://u@h:5432/d::(SELECT a::int FROM t)']);
    expect(ed.history).toEqual(['SELECT a::int FROM t', 'SELECT 1']);
    expect(JSON.parse(s.peek()!)).toEqual({ 'postgresql://u@h:5432/d': ['SELECT a::int FROM t', 'SELECT 1'] });
    expect(ed.error).toBeNull();
  });

  it("a wrong query shows the server's message and where it points, on the text as typed", async () => {
    const text = '\nSELECT a\n  FORM t';
    const pos = text.trim().indexOf('FORM');
    const o = opener(new CdxError('E_SQL', 'postgresql://u@h:5432/d: syntax error at or near "FORM"', { position: pos }));
    const ed = new SqlEditor('postgresql://u@h:5432/d', o, store());
    ed.text = text;
    expect(await ed.run()).toBe(false);
    expect(ed.error?.message).toContain('syntax error at or near "FORM"');
    expect(ed.error?.spot).toEqual({ offset: text.indexOf('FORM'), line: 2, col: 2, lineText: '  FORM t' });
    expect(ed.history).toEqual([]);
    ed.edited();
    expect(ed.error?.spot).toBeUndefined();
    expect(ed.error?.message).toContain('FORM');
  });

  it('other failures show their message without a marker', async () => {
    const ed = new SqlEditor('clickhouse://default@h:8123/default', opener(new CdxError('E_TIMEOUT', 'the query ran past 30 s')), store());
    ed.text = 'SELECT sleep(100)';
    await ed.run();
    expect(ed.error).toEqual({ code: 'E_TIMEOUT', message: 'the query ran past 30 s' });
  });
});
