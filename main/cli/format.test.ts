import { describe, expect, it } from 'vitest';
import type { DatasetSummary } from '../../shared/api';
import { displayCell, exactJson, grouped, summaryJson, summaryText, table } from './format';

describe('CLI formatting', () => {
  it('writes int64 beyond 2^53 exactly in JSON', () => {
    const text = exactJson({ a: 9007199254740993n, b: [-9223372036854775808n], s: '9007199254740993n', n: 1.5 });
    expect(text).toBe('{"a":9007199254740993,"b":[-9223372036854775808],"s":"9007199254740993n","n":1.5}');
  });
  it('shows dates and timestamps as ISO text and float32 without float noise', () => {
    expect(displayCell(1752883200000, 'date')).toBe('2025-07-19');
    expect(displayCell(1752964051909, 'timestamp')).toBe('2025-07-19T22:27:31.909Z');
    expect(displayCell(Math.fround(6.4), 'float32')).toBe(6.4);
    expect(displayCell(null, 'float32')).toBeNull();
  });
  it('aligns a table with right-aligned numbers', () => {
    expect(table(['a', 'n'], [['x', '1'], ['long', '100']], [false, true])).toBe('a       n\n────  ───\nx       1\nlong  100');
  });
  it('the summary table shows whole timestamps, and string columns\' min and max (text and JSON)', () => {
    const s: DatasetSummary = {
      dataset: 'x',
      rows: 3,
      columns: [
        { name: 'at', type: 'timestamp', nullable: false, rows: 3, count: 3, nulls: 0, distinct: 3, min: '2001-01-01T00:01:02.123456789Z', max: '2001-01-01T00:01:03.000000001Z', mean: '2001-01-01T00:01:02.541152263Z', quantiles: { p1: null, p5: null, p25: null, p50: '2001-01-01T00:01:02.500000000Z', p75: null, p95: null, p99: null } },
        { name: 'zip', type: 'string', nullable: false, rows: 3, count: 3, nulls: 0, distinct: 3, min: '00000', max: '02999', minLength: 5, maxLength: 5 },
        { name: 'text', type: 'string', nullable: true, rows: 3, count: 2, nulls: 1, min: 'a'.repeat(40), max: 'b' },
      ],
    };
    const text = summaryText(s, '3 * {at: timestamp[ns], zip: string, text: ?string}');
    for (const v of ['2001-01-01T00:01:02.123456789Z', '2001-01-01T00:01:03.000000001Z', '2001-01-01T00:01:02.541152263Z', '2001-01-01T00:01:02.500000000Z']) expect(text).toContain(v);
    const zip = text.split('\n').find((l) => l.startsWith('zip'))!;
    expect(zip).toMatch(/ 00000 +02999( |$)/);
    // long text is cut (with an ellipsis) so the table stays readable; timestamps never are
    expect(text).toContain('a'.repeat(23) + '…');
    expect(text).not.toContain('a'.repeat(24));
    const json = summaryJson(s) as { columns: { name: string; min: unknown; max: unknown }[] };
    expect(json.columns.map((c) => [c.name, c.min, c.max])).toEqual([
      ['at', '2001-01-01T00:01:02.123456789Z', '2001-01-01T00:01:03.000000001Z'],
      ['zip', '00000', '02999'],
      ['text', 'a'.repeat(40), 'b'],
    ]);
  });
  it("a timestamp's std is shown as a duration (ms on the wire, said in JSON)", () => {
    const s: DatasetSummary = {
      dataset: 'x',
      rows: 3,
      columns: [{ name: 'at', type: 'timestamp', nullable: false, rows: 3, count: 3, nulls: 0, min: '2025-01-01T00:00:00.000Z', max: '2025-12-31T00:00:00.000Z', mean: '2025-07-02T00:00:00.000Z', std: 42_199_000 }],
    };
    const line = summaryText(s, '3 * {at: timestamp[ms]}').split('\n').find((l) => l.startsWith('at'))!;
    expect(line).toContain('11.7 h');
    expect(line).not.toContain('42199000');
    const json = summaryJson(s) as { columns: { std: number; stdUnit?: string }[] };
    expect(json.columns[0]).toMatchObject({ std: 42_199_000, stdUnit: 'ms' });
  });
});

describe('grouped', () => {
  it('writes whole numbers as toLocaleString("en-US") does', () => {
    for (const n of [0, 7, 999, 1000, 12345, 999_999, 1_000_000, 200_000_000, -1, -1234, -999_999, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 1e21, 1.5]) {
      expect(grouped(n), String(n)).toBe(n.toLocaleString('en-US'));
    }
  });
});
