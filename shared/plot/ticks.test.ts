import { describe, expect, it } from 'vitest';
import { axisTicks, formatAxisSpan, formatAxisValue } from './ticks';
import { axesSVG, plotFrame } from './svg';

const ms = { kind: 'time' as const, msPerUnit: 1 };

describe('time axes say the year', () => {
  it('hour ticks within two days: times, with the date (and so the year) under the first and where the day changes', () => {
    const t = axisTicks(Date.UTC(2001, 3, 13, 5), Date.UTC(2001, 3, 14, 20), 800, ms);
    expect(t.every((x) => /^\d\d:\d\d$/.test(x.label))).toBe(true);
    expect(t[0]!.context).toBe('2001-04-13');
    expect(t.filter((x) => x.context).map((x) => x.context)).toEqual(['2001-04-13', '2001-04-14']);
  });

  it('day ticks within a month: the year under the first; month ticks over a year boundary: each year once', () => {
    const d = axisTicks(Date.UTC(2001, 3, 2), Date.UTC(2001, 3, 28), 800, ms);
    expect(d[0]!.label).toMatch(/^Apr \d\d$/);
    expect(d.filter((x) => x.context).map((x) => x.context)).toEqual(['2001']);
    const m = axisTicks(Date.UTC(2024, 8, 10), Date.UTC(2025, 4, 1), 800, ms);
    expect(m.map((x) => x.label)).toContain('January');
    expect(m.filter((x) => x.context).map((x) => x.context)).toEqual(['2024', '2025']);
    // years need no context
    expect(axisTicks(Date.UTC(1990, 0, 1), Date.UTC(2020, 0, 1), 800, ms).every((x) => /^\d{4}$/.test(x.label) && !x.context)).toBe(true);
  });

  it('second and sub-second ticks keep the date and minute in their context; days since the epoch work too', () => {
    const s = axisTicks(Date.UTC(2001, 3, 13, 22, 5, 1), Date.UTC(2001, 3, 13, 22, 5, 9), 800, ms);
    expect(s[0]!.label).toMatch(/^22:05:0\d$/);
    expect(s[0]!.context).toBe('2001-04-13');
    const f = axisTicks(Date.UTC(2001, 3, 13, 22, 5, 1, 100), Date.UTC(2001, 3, 13, 22, 5, 1, 900), 800, ms);
    expect(f[0]!.label).toMatch(/^01\.\d$/);
    expect(f[0]!.context).toBe('2001-04-13 22:05');
    const days = axisTicks(19723, 19723 + 20, 600, { kind: 'time', msPerUnit: 86_400_000 });
    expect(days[0]!.context).toBe('2024');
  });

  it('the SVG axes carry the context as a second line', () => {
    const svg = axesSVG({ frame: plotFrame(900, 500), vp: { x0: Date.UTC(2001, 3, 13, 5), x1: Date.UTC(2001, 3, 14, 20), y0: 0, y1: 1 }, xLabel: 'at', yLabel: 'y', xAxis: ms });
    expect(svg).toContain('class="tick-context"');
    expect(svg).toContain('>2001-04-13<');
  });
});

describe('values and spans on an axis', () => {
  it('hover values at the view\'s resolution; a bin width as a duration', () => {
    const t = Date.UTC(2025, 2, 8, 14, 22, 51, 123);
    expect(formatAxisValue(t, ms, 60_000)).toBe('2025-03-08 14:22');
    expect(formatAxisValue(t, ms)).toBe('2025-03-08 14:22:51.123');
    expect(formatAxisValue(4.283712, { kind: 'number' }, 0.0178)).toBe('4.28');
    expect(formatAxisSpan(4.2199e10, { kind: 'time', msPerUnit: 1e-3 })).toBe('11.7 h');
    expect(formatAxisSpan(0.25)).toBe('0.25');
  });
});
