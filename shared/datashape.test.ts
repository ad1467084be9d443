import { describe, expect, it } from 'vitest';
import { formatDataShape } from './datashape';

describe('formatDataShape', () => {
  it('prints the DataShape line with nullable markers and parameterised types', () => {
    const line = formatDataShape(1000000, {
      fields: [
        { name: 'id', type: 'int64', nullable: false },
        { name: 'name', type: 'string', nullable: true },
        { name: 'price', type: 'float64', nullable: false },
        { name: 'day', type: 'date', nullable: false },
        { name: 'at', type: 'timestamp', unit: 'us', tz: 'UTC', nullable: true },
        { name: 'odd name', type: 'decimal', precision: 10, scale: 2, nullable: false },
      ],
    });
    expect(line).toBe(
      "1000000 * {id: int64, name: ?string, price: float64, day: date, at: ?timestamp[us, tz='UTC'], `odd name`: decimal[10, 2]}",
    );
  });
  it('writes var for an unknown row count', () => {
    expect(formatDataShape(null, { fields: [] })).toBe('var * {}');
  });
});
