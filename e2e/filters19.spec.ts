/**
 * Issue 19, "filters that read like what the user meant" and "time shown as time", in Chromium
 * against web mode on the bundled sample (resources/sample/trips.arrow: 60,000 trips in 2025, a
 * timestamp[ms] pickup_at, strings, floats). Every count is checked against a count made here
 * over the same file read with apache-arrow: a box on a timestamp x number plot gives a chip in
 * ISO times and rounded numbers whose TEXT selects the rows counted; a lasso reads as "lasso on
 * (x, y), N points" and keeps its polygon; a chip is edited (errors shown), switched off and on,
 * removed; facets stay after "only"; time axes carry the year; a bin width and a std read as
 * durations; top values are legible in light and dark themes (screenshots).
 */
import { test, expect, type Page } from '@playwright/test';
import path from 'node:path';
import { ARTIFACTS } from './server';
import { chips, fmt, openSample, sampleServer, sampleTable } from './sample';
import { parseExpr } from '../shared/expr/parse';
import { polygonEdges, pointInPolygon } from '../shared/expr/polygon';

const host = sampleServer();

interface Row { at: number; fare: number; payment: string | null; passengers: number | null }
const rows: Row[] = (() => {
  const t = sampleTable();
  const at = t.getChild('pickup_at')!, fare = t.getChild('fare')!, pay = t.getChild('payment')!, pas = t.getChild('passengers')!;
  const ms = (v: unknown) => (v instanceof Date ? v.getTime() : Number(v));
  return Array.from({ length: t.numRows }, (_, i) => ({ at: ms(at.get(i)), fare: fare.get(i) as number, payment: pay.get(i) as string | null, passengers: pas.get(i) as number | null }));
})();
const count = (pred: (r: Row) => boolean) => rows.filter(pred).length;
const chipText = async (page: Page, i = 0) => (await chips(page).nth(i).innerText()).replace(/×\s*$/, '').trim();

/** the sample without filters (a filter can be remembered for the sample) */
const open = (page: Page) => openSample(page, host);

interface PlotInfo { vp: { x0: number; x1: number; y0: number; y1: number } }

async function timePlot(page: Page): Promise<PlotInfo> {
  await page.getByRole('tab', { name: 'Plot' }).click();
  await page.getByLabel('x column').selectOption('pickup_at');
  await page.getByLabel('y column').selectOption('fare');
  await page.waitForTimeout(50);
  const el = page.getByTestId('plot');
  await expect(el).toHaveAttribute('data-busy', 'false', { timeout: 30_000 });
  return { vp: JSON.parse((await el.getAttribute('data-vp'))!) };
}

async function screenOf(page: Page, st: PlotInfo, x: number, y: number): Promise<[number, number]> {
  const box = (await page.getByTestId('plot-hit').boundingBox())!;
  return [box.x + ((x - st.vp.x0) / (st.vp.x1 - st.vp.x0)) * box.width, box.y + ((st.vp.y1 - y) / (st.vp.y1 - st.vp.y0)) * box.height];
}

/** `2025-03-08 14:30` (UTC) -> epoch ms */
const isoMs = (s: string) => Date.parse(s.replace(' ', 'T') + (s.length === 10 ? 'T00:00:00Z' : 'Z'));

test('a box on a timestamp x number plot: the chip reads ISO times and rounded fares, and its text selects the rows counted', async ({ page }) => {
  await open(page);
  const st = await timePlot(page);
  await page.getByRole('button', { name: 'Box', exact: true }).click();
  const [ax, ay] = await screenOf(page, st, Date.UTC(2025, 2, 3, 7, 13), 31.4159);
  const [bx, by] = await screenOf(page, st, Date.UTC(2025, 5, 17, 18, 41), 9.2718);
  await page.mouse.move(ax, ay);
  await page.mouse.down();
  await page.mouse.move(bx, by, { steps: 6 });
  await page.mouse.up();
  await expect(chips(page)).toHaveCount(1);
  const text = await chipText(page);
  // no epoch numbers, no 17-digit floats
  const m = /^pickup_at in \[(\d{4}-\d\d-\d\d(?: \d\d:\d\d)?), (\d{4}-\d\d-\d\d(?: \d\d:\d\d)?)\) and fare in \[(\d+(?:\.\d{1,3})?), (\d+(?:\.\d{1,3})?)\)$/.exec(text);
  expect(m, text).not.toBeNull();
  const [lo, hi, flo, fhi] = [isoMs(m![1]!), isoMs(m![2]!), Number(m![3]), Number(m![4])];
  // within two pixels of where the mouse went
  const box = (await page.getByTestId('plot-hit').boundingBox())!;
  const px = (st.vp.x1 - st.vp.x0) / box.width, py = (st.vp.y1 - st.vp.y0) / box.height;
  expect(Math.abs(lo - Date.UTC(2025, 2, 3, 7, 13))).toBeLessThan(2 * px);
  expect(Math.abs(hi - Date.UTC(2025, 5, 17, 18, 41))).toBeLessThan(2 * px);
  expect(Math.abs(flo - 9.2718)).toBeLessThan(2 * py);
  expect(Math.abs(fhi - 31.4159)).toBeLessThan(2 * py);
  // the chip's own words select exactly the rows the app counts
  const n = count((r) => r.at >= lo && r.at < hi && r.fare >= flo && r.fare < fhi);
  expect(n).toBeGreaterThan(100);
  await expect(page.getByTestId('filtered-rows')).toHaveText(fmt(n), { timeout: 30_000 });
  // and the stored expression says the same in parseable form
  const expr = (await chips(page).first().getAttribute('data-expr'))!;
  expect(expr).toMatch(/^pickup_at >= timestamp '2025-\d\d-\d\dT\d\d:\d\d' and pickup_at < timestamp '2025-\d\d-\d\dT\d\d:\d\d' and fare in \[/);
  expect(parseExpr(expr).kind).toBe('and');
  await page.screenshot({ path: path.join(ARTIFACTS, 'filters19-box-time.png') });
});

test('a lasso reads as "lasso on (pickup_at, fare), N points" and keeps its polygon; the count matches', async ({ page }) => {
  await open(page);
  const st = await timePlot(page);
  await page.getByRole('button', { name: 'Lasso', exact: true }).click();
  const tri: [number, number][] = [[Date.UTC(2025, 1, 1), 10], [Date.UTC(2025, 8, 1), 10], [Date.UTC(2025, 4, 1), 40]];
  const pts = await Promise.all(tri.map(([x, y]) => screenOf(page, st, x, y)));
  await page.mouse.move(pts[0]![0], pts[0]![1]);
  await page.mouse.down();
  for (const [a, b] of [[0, 1], [1, 2], [2, 0]] as const) {
    for (let s = 1; s <= 10; s++) await page.mouse.move(pts[a]![0] + ((pts[b]![0] - pts[a]![0]) * s) / 10, pts[a]![1] + ((pts[b]![1] - pts[a]![1]) * s) / 10);
  }
  await page.mouse.up();
  await expect(chips(page)).toHaveCount(1);
  const text = await chipText(page);
  expect(text).toMatch(/^lasso on \(pickup_at, fare\), \d+ points$/);
  const e = parseExpr((await chips(page).first().getAttribute('data-expr'))!) as { kind: string; polygon: [number, number][] };
  expect(e.kind).toBe('inpolygon');
  expect(text).toContain(`, ${e.polygon.length} points`);
  const edges = polygonEdges(e.polygon);
  const n = count((r) => pointInPolygon(edges, r.at, r.fare));
  expect(n).toBeGreaterThan(100);
  await expect(page.getByTestId('filtered-rows')).toHaveText(fmt(n), { timeout: 30_000 });
  await page.screenshot({ path: path.join(ARTIFACTS, 'filters19-lasso-time.png') });
});

test('a chip is edited (a bad edit shows its error and changes nothing), switched off and on again, and removed', async ({ page }) => {
  await open(page);
  await page.getByLabel('Filter expression').fill('fare > 20');
  await page.getByLabel('Filter expression').press('Enter');
  await expect(page.getByTestId('filtered-rows')).toHaveText(fmt(count((r) => r.fare > 20)));

  // edit: the chip's text becomes an input holding the expression
  await page.getByRole('button', { name: 'Edit filter fare > 20' }).click();
  const edit = page.getByLabel('Edit filter', { exact: true });
  await expect(edit).toHaveValue('fare > 20');
  await edit.fill('fare >');
  await edit.press('Enter');
  await expect(page.getByRole('alert')).toBeVisible();
  await expect(page.getByTestId('filtered-rows')).toHaveText(fmt(count((r) => r.fare > 20)));
  await page.screenshot({ path: path.join(ARTIFACTS, 'filters19-edit-error.png') });
  await edit.fill('fare > 50 and payment = "cash"');
  await edit.press('Enter');
  await expect(chips(page)).toHaveCount(1);
  expect(await chipText(page)).toBe('fare > 50 and payment = "cash"');
  const edited = count((r) => r.fare > 50 && r.payment === 'cash');
  await expect(page.getByTestId('filtered-rows')).toHaveText(fmt(edited));

  // off: kept in the bar, all rows back; on: applied again
  const sw = page.getByRole('checkbox', { name: /^Apply filter fare > 50/ });
  await sw.uncheck();
  await expect(chips(page)).toHaveCount(1);
  await expect(chips(page).first()).toHaveAttribute('data-enabled', 'false');
  await expect(page.getByTestId('row-count')).toContainText('60,000 rows');
  await expect(page.getByTestId('filtered-rows')).toHaveCount(0);
  await page.screenshot({ path: path.join(ARTIFACTS, 'filters19-chip-off.png') });
  await sw.check();
  await expect(page.getByTestId('filtered-rows')).toHaveText(fmt(edited));

  await page.getByRole('button', { name: /^Remove filter fare > 50/ }).click();
  await expect(chips(page)).toHaveCount(0);
  await expect(page.getByTestId('filtered-rows')).toHaveCount(0);
});

test('facets do not dead-end: after "only cash" the other payments stay listed and "add app" makes payment in ("cash", "app")', async ({ page }) => {
  await open(page);
  await page.getByRole('button', { name: 'payment', exact: true }).click();
  const detail = page.getByRole('complementary', { name: 'Column details: payment' });
  await detail.getByRole('button', { name: 'Only cash' }).click();
  await expect(page.getByTestId('filtered-rows')).toHaveText(fmt(count((r) => r.payment === 'cash')));
  // the top values are counted without the column's own filter: card, app, voucher still there with their counts
  const top = detail.getByRole('table', { name: 'Top values of payment' });
  await expect(detail.getByTestId('facet-note')).toBeVisible();
  for (const v of ['card', 'cash', 'app', 'voucher']) await expect(top.getByRole('row').filter({ hasText: v }).first()).toContainText(fmt(count((r) => r.payment === v)));
  await detail.getByRole('button', { name: 'Add app' }).click();
  await expect(chips(page)).toHaveCount(1);
  expect(await chipText(page)).toBe('payment in ("cash", "app")');
  await expect(page.getByTestId('filtered-rows')).toHaveText(fmt(count((r) => r.payment === 'cash' || r.payment === 'app')));
  await page.screenshot({ path: path.join(ARTIFACTS, 'filters19-facets.png') });
  await detail.getByRole('button', { name: 'Drop cash' }).click();
  await expect(page.getByTestId('filtered-rows')).toHaveText(fmt(count((r) => r.payment === 'app')));
  expect(await chipText(page)).toBe('payment = "app"');
  // example values are distinct
  const ex = await detail.getByRole('list', { name: 'Example values of payment' }).getByRole('listitem').allInnerTexts();
  expect(ex.length).toBeGreaterThan(1);
  expect(new Set(ex).size).toBe(ex.length);
});

test('the histogram brush on an integer column gives integer bounds that select the rows counted', async ({ page }) => {
  await open(page);
  await page.getByRole('button', { name: 'passengers', exact: true }).click();
  const hist = page.getByRole('complementary', { name: 'Column details: passengers' }).getByRole('img', { name: /Histogram of passengers/ });
  const box = (await hist.boundingBox())!;
  await page.mouse.move(box.x + box.width * 0.3, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.7, box.y + box.height / 2, { steps: 4 });
  await page.mouse.up();
  await expect(chips(page)).toHaveCount(1);
  const m = /^passengers in \[(\d+), (\d+)\)$/.exec(await chipText(page));
  expect(m).not.toBeNull();
  const [lo, hi] = [Number(m![1]), Number(m![2])];
  await expect(page.getByTestId('filtered-rows')).toHaveText(fmt(count((r) => r.passengers !== null && r.passengers >= lo && r.passengers < hi)));
});

test('time as time: axis ticks carry the year, zoomed in the date; a bin width and a std are durations', async ({ page }) => {
  await open(page);
  await timePlot(page);
  const ctx = page.locator('.plot-axes .x-axis .tick-context');
  await expect(ctx.first()).toHaveText('2025');
  // zoom x into a couple of days: hour ticks, the date (with its year) under the first
  const hit = (await page.getByTestId('plot-hit').boundingBox())!;
  await page.mouse.move(hit.x + hit.width / 2, hit.y + hit.height / 2);
  for (let i = 0; i < 5; i++) {
    await page.keyboard.down('Shift');
    await page.mouse.wheel(0, -500);
    await page.keyboard.up('Shift');
    await page.waitForTimeout(60);
  }
  await expect(page.getByTestId('plot')).toHaveAttribute('data-busy', 'false', { timeout: 30_000 });
  await expect(ctx.first()).toHaveText(/^2025-\d\d-\d\d$/);
  const labels = await page.locator('.plot-axes .x-axis > text:not(.tick-context):not(.x-label)').allTextContents();
  expect(labels.length, labels.join(' | ')).toBeGreaterThan(2);
  expect(labels.every((l) => /^\d\d:\d\d$/.test(l) || /^[A-Z][a-z]{2} \d\d$/.test(l)), labels.join(' | ')).toBe(true);
  await page.screenshot({ path: path.join(ARTIFACTS, 'filters19-time-axis.png') });

  // the histogram plot of pickup_at: its bin width is a duration
  await page.getByRole('button', { name: 'Histogram', exact: true }).click();
  const h = page.getByTestId('histogram');
  await h.getByLabel('histogram column').selectOption('pickup_at');
  await expect(h).toHaveAttribute('data-busy', 'false', { timeout: 30_000 });
  await expect(h.getByTestId('bin-width')).toHaveText(/^\d+(\.\d+)? (h|d|min)$/);
  const axisCtx = await h.locator('.x-axis .tick-context').allTextContents();
  expect(axisCtx).toContain('2025');

  // the summary: pickup_at's std as a duration, equal to the std computed here
  await page.getByRole('tab', { name: 'Summary' }).click();
  const ats = rows.map((r) => r.at);
  const mean = ats.reduce((a, b) => a + b, 0) / ats.length;
  const sd = Math.sqrt(ats.reduce((a, b) => a + (b - mean) ** 2, 0) / (ats.length - 1));
  const std = page.getByTestId('std-pickup_at');
  await expect(std).toHaveText(/^\d+ d$/);
  expect(Number((await std.innerText()).replace(' d', ''))).toBe(Math.round(sd / 86_400_000));
  await expect(page.getByTestId('mean-pickup_at')).toHaveText(/^2025-\d\d-\d\d\s+\d\d:\d\d:\d\d(\.\d+)?$/);
  await page.getByRole('button', { name: 'pickup_at', exact: true }).click();
  await expect(page.getByRole('complementary', { name: 'Column details: pickup_at' }).getByTestId('detail-bin-width')).toHaveText(/^bins of \d+(\.\d+)? (h|d)$/);
  await page.screenshot({ path: path.join(ARTIFACTS, 'filters19-summary-time.png') });
});

for (const scheme of ['light', 'dark'] as const) {
  test(`top values: bars never under their labels, legible in the ${scheme} theme`, async ({ browser }) => {
    const ctx = await browser.newContext({ colorScheme: scheme, viewport: { width: 1280, height: 800 } });
    const page = await ctx.newPage();
    await open(page);
    const item = page.locator('tr[data-column="borough"] .tb').first();
    await expect(item.locator('.tb-label')).toHaveText('Manhattan');
    const [label, bar, pct] = await Promise.all(['.tb-label', '.tb-track', '.tb-n'].map(async (s) => (await item.locator(s).boundingBox())!));
    // the bar lies below the text, not behind it
    expect(bar.y).toBeGreaterThanOrEqual(label.y + label.height - 0.5);
    expect(bar.y).toBeGreaterThanOrEqual(pct.y + pct.height - 0.5);
    // text colour against the page: a clear contrast in either theme
    const contrast = await item.locator('.tb-label').evaluate((el) => {
      const rgb = (s: string) => s.match(/\d+(\.\d+)?/g)!.slice(0, 3).map(Number);
      const lum = ([r, g, b]: number[]) => {
        const f = (c: number) => ((c /= 255) <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
        return 0.2126 * f(r!) + 0.7152 * f(g!) + 0.0722 * f(b!);
      };
      const fg = lum(rgb(getComputedStyle(el).color)), bg = lum(rgb(getComputedStyle(document.body).backgroundColor));
      return (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    });
    expect(contrast).toBeGreaterThan(7);
    await page.getByRole('button', { name: 'borough', exact: true }).click();
    await expect(page.getByRole('table', { name: 'Top values of borough' })).toBeVisible();
    await page.screenshot({ path: path.join(ARTIFACTS, `filters19-top-${scheme}.png`) });
    await ctx.close();
  });
}
