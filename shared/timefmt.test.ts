import { describe, expect, it } from 'vitest';
import { formatDuration, formatTime, storedTimeText, timeStep } from './timefmt';

describe('time and duration text', () => {
  it('durations with their unit and three digits, never epoch-sized numbers', () => {
    expect(formatDuration(4.2199e7)).toBe('11.7 h');
    expect(formatDuration(86_400_000 * 105.37)).toBe('105 d');
    expect(formatDuration(250)).toBe('250 ms');
    expect(formatDuration(1500)).toBe('1.5 s');
    expect(formatDuration(90_000)).toBe('1.5 min');
    expect(formatDuration(0.0021)).toBe('2.1 µs');
    expect(formatDuration(0)).toBe('0 s');
    expect(formatDuration(-3_600_000)).toBe('-1 h');
  });

  it('a time cut to a resolution; whole values without zero seconds', () => {
    const t = Date.UTC(2025, 2, 8, 14, 22, 51, 123);
    expect(formatTime(t, 86_400_000)).toBe('2025-03-08');
    expect(formatTime(t, 60_000 * 30)).toBe('2025-03-08 14:22');
    expect(formatTime(t, 5000)).toBe('2025-03-08 14:22:51');
    expect(formatTime(t, 10)).toBe('2025-03-08 14:22:51.12');
    expect(formatTime(t)).toBe('2025-03-08 14:22:51.123');
    expect(formatTime(Date.UTC(2025, 2, 8))).toBe('2025-03-08');
    expect(formatTime(Date.UTC(2025, 2, 8, 14, 30))).toBe('2025-03-08 14:30');
    expect(formatTime(Date.UTC(2025, 2, 8) + 0.5)).toBe('2025-03-08 00:00:00.0005');
  });

  it('nice steps at or below a resolution', () => {
    expect(timeStep(57 * 60_000)).toBe(30 * 60_000);
    expect(timeStep(3.5 * 3_600_000)).toBe(3 * 3_600_000);
    expect(timeStep(40 * 86_400_000)).toBe(86_400_000);
    expect(timeStep(0.37)).toBeCloseTo(0.1);
  });

  it('a stored value as exact ISO text', () => {
    expect(storedTimeText(987199512366469, 1e6)).toBe('2001-04-13 22:05:12.366469');
    expect(storedTimeText(Date.UTC(2001, 3, 13, 22, 30) * 1000, 1e6)).toBe('2001-04-13 22:30');
    expect(storedTimeText(Date.UTC(2001, 3, 13) + 5, 1000)).toBe('2001-04-13 00:00:00.005');
    expect(storedTimeText(-1, 1000)).toBe('1969-12-31 23:59:59.999');
  });
});
