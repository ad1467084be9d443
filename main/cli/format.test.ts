import { describe, expect, it } from 'vitest';
import { displayCell, exactJson, table } from './format';

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
});
