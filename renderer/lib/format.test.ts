import { describe, expect, it } from 'vitest';
import { formatStat, valueText } from './format';

describe('statistics to the precision the numbers carry', () => {
  it('a mean gets one decimal more than its values, the integer part always whole', () => {
    expect(formatStat(12.68234, 'float64', [4.22, 186.04, 10.58])).toBe('12.682');
    expect(formatStat(1.91483, 'int8', [1, 5])).toBe('1.9');
    // a mean of ids near 1e10 is not rounded to 10,000,200,000
    expect(formatStat(10_000_209_996.5, 'int64', [10_000_000_000, 10_000_419_993])).toBe('10,000,209,997');
    expect(formatStat(4.00143, 'float32', [3, 5, 3.5])).toBe('4.00');
    // values with many decimals: six significant digits
    expect(formatStat(40.738412345, 'float64', [40.4715123456, 40.9388712])).toBe('40.7384');
    expect(formatStat(0.000123, 'float64', [0.1, 0.2])).toBe('0.000123');
    expect(formatStat(null, 'float64')).toBe('—');
  });

  it('statistic values: timestamps without the zone letter and zero fractions', () => {
    expect(valueText('2025-01-01T00:21:33.130Z')).toBe('2025-01-01 00:21:33.13');
    expect(valueText('2025-01-01')).toBe('2025-01-01');
    expect(valueText(null)).toBe('∅');
    expect(valueText(12345.5)).toBe('12,345.5');
  });
});
