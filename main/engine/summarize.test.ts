// Column summaries as the UI and CLI get them: a date's or timestamp's std is a duration in
// milliseconds (checked against a direct computation over the same values), and the stored
// unit's milliseconds travel with it so that histogram bins can be read as times.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readArrowColumns } from './columns/index';
import { summarizeColumn } from './summarize';
import { rng, tempDir, writeArrowFile, type Cell } from '../../native/testing/fixtures';

const dir = tempDir('cdx-summarize-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function std(xs: number[]): number {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
}

describe('temporal statistics', () => {
  const r = rng(19);
  const N = 2000;
  const base = Date.UTC(2025, 0, 1);
  const ts: Cell[] = Array.from({ length: N }, (_, i) => (i % 17 === 0 ? null : base + Math.floor(r() * 365 * 86_400_000)));
  const days: Cell[] = Array.from({ length: N }, (_, i) => (i % 19 === 0 ? null : 20_000 + Math.floor(r() * 400)));
  const path = join(dir, 't.arrow');
  writeArrowFile(path, { at: { type: 'timestamp_ms', values: ts }, day: { type: 'date_day', values: days } });
  const a = readArrowColumns(path);

  it("a timestamp's std is a duration in ms; its mean stays ISO text", async () => {
    const s = await summarizeColumn({ name: 'at', type: 'timestamp', nullable: true, unit: 'ms' }, a.column('at'), {});
    const want = std(ts.filter((v): v is number => v !== null));
    expect(s.std).toBeDefined();
    expect(Math.abs(s.std! - want) / want).toBeLessThan(1e-9);
    expect(s.msPerUnit).toBe(1);
    expect(s.mean).toMatch(/^2025-\d\d-\d\dT/);
  });

  it("a date's (days) std is in ms too: days x 86,400,000", async () => {
    const s = await summarizeColumn({ name: 'day', type: 'date', nullable: true }, a.column('day'), {});
    const want = std(days.filter((v): v is number => v !== null)) * 86_400_000;
    expect(Math.abs(s.std! - want) / want).toBeLessThan(1e-9);
    expect(s.msPerUnit).toBe(86_400_000);
  });
});
