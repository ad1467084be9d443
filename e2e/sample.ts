/**
 * The page setup the specs on the bundled sample share (resources/sample/trips.arrow: 60,000
 * trips; borough, fare, passengers, pickup_at, …): one web host per spec file, started before its
 * tests and stopped after them (`sampleServer()`, called at the top of the spec), and the sample
 * opened in a fresh page without filters (`openSample`: a filter can be remembered for the
 * sample). The specs check what the page shows against the same file read with apache-arrow in
 * the test process (`sampleTable`).
 */
import { test, expect, type Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { tableFromIPC, type Table } from 'apache-arrow';
import { ROOT, startServer, type RunningServer } from './server';

export const SAMPLE = path.join(ROOT, 'resources', 'sample', 'trips.arrow');

let table: Table | null = null;
/** the sample as apache-arrow reads it (read once per test process) */
export function sampleTable(): Table {
  return (table ??= tableFromIPC(readFileSync(SAMPLE)));
}

/** A web host for this spec file's tests (started in beforeAll, stopped in afterAll). */
export function sampleServer(extraEnv: Record<string, string> = {}): { readonly server: RunningServer } {
  let server: RunningServer | undefined;
  test.beforeAll(async () => {
    server = await startServer(extraEnv);
  });
  test.afterAll(async () => {
    await server?.stop();
  });
  return {
    get server() {
      if (!server) throw new Error('the server starts in beforeAll');
      return server;
    },
  };
}

/** The filter bar's chips. */
export const chips = (page: Page) => page.getByRole('list', { name: 'Active filters' }).getByRole('listitem');

/** A fresh page on the sample, its 60,000 rows counted and no filter on. */
export async function openSample(page: Page, host: { readonly server: RunningServer }): Promise<void> {
  await page.goto(host.server.url);
  await expect(page.getByTestId('row-count')).toContainText('60,000 rows');
  await removeFilters(page);
}

/** Removes every chip from the filter bar. */
export async function removeFilters(page: Page): Promise<void> {
  while (await chips(page).count()) await chips(page).first().getByRole('button', { name: /^Remove filter/ }).click();
}

export const fmt = (n: number) => n.toLocaleString('en-US');
