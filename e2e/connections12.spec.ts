/**
 * Databases in the app (issue #12), against a real PostgreSQL on loopback (the test harness's
 * startPostgres): a connection added through the Connections panel with its password (Test shows the
 * server's version as the server itself reports it), its tables browsed in the panel and one opened (the summary's count,
 * min and max as the server computes them, Info says the database computes it), then the SQL
 * editor: a query with a syntax error shows the server's message and marks where it points (the
 * caret in the box, a caret line under the line), a good one opens as a dataset whose table view
 * shows its rows. The password never appears in the page once saved. Screenshots of the dialog and
 * the editor go to e2e/artifacts/.
 */
import { test, expect } from '@playwright/test';
import path from 'node:path';
import { postgresAvailable, startPostgres, type PostgresServer } from '../main/engine/sql/testing/postgres';
import { ARTIFACTS, startServer, type RunningServer } from './server';

let pg: PostgresServer;
let server: RunningServer;
const N = 50;

test.skip(!postgresAvailable(), 'no PostgreSQL binaries here (initdb, pg_ctl)');

test.beforeAll(async () => {
  pg = await startPostgres();
  // a table owned by the connection's role: id, a measurement with negatives and fractions, a label
  await pg.psql(`SET ROLE cdx;
    CREATE TABLE public.measures (id integer PRIMARY KEY, v double precision, label text);
    INSERT INTO public.measures SELECT i, i * 1.5 - 10.25, 'item ' || i FROM generate_series(1, ${N}) AS i;
    ANALYZE public.measures;`);
  // the engine keeps the password for its session only (no OS keychain in the test's world), and
  // finds no password in the environment: the one typed in the dialog is the only way in
  const env: Record<string, string> = { CDX_NO_KEYCHAIN: '1', PGPASSWORD: '', PGPASSFILE: '/nonexistent' };
  server = await startServer(env);
});
test.afterAll(async () => {
  await server?.stop();
  await pg?.stop();
});

test('a PostgreSQL connection: add and test it in the dialog, open a table, run a wrong and a right query', async ({ page }) => {
  test.setTimeout(120_000);
  // what the server itself says
  const version = (await pg.psql('SHOW server_version')).trim().split(/\s/)[0]!;
  const [count, min, max] = (await pg.psql('SELECT count(*), min(v), max(v) FROM public.measures')).trim().split('|').map(Number);
  expect(count).toBe(N);

  await page.goto(server.url);
  await expect(page.getByRole('status', { name: 'Engine status' })).toContainText('Engine ready', { timeout: 30_000 });
  await page.getByRole('button', { name: 'Connections…' }).click();
  const dlg = page.getByRole('dialog', { name: 'Connections' });
  // no connection yet: the form is open, PostgreSQL's port by default
  const form = dlg.getByRole('form', { name: 'Add a connection' });
  await expect(form.getByLabel('Port', { exact: true })).toHaveValue('5432');
  await form.getByLabel('Kind', { exact: true }).selectOption('clickhouse');
  await expect(form.getByLabel('Port', { exact: true })).toHaveValue('8123');
  await form.getByLabel('Kind', { exact: true }).selectOption('postgresql');
  await form.getByLabel('Host', { exact: true }).fill(pg.host);
  await form.getByLabel('Port', { exact: true }).fill(String(pg.port));
  await form.getByLabel('Database', { exact: true }).fill(pg.database);
  await form.getByLabel('User', { exact: true }).fill(pg.user);
  await expect(form.getByLabel('Password', { exact: true })).toHaveAttribute('type', 'password');
  await form.getByLabel('Name', { exact: true }).fill('Test PG');
  await expect(dlg.getByTestId('connection-url')).toHaveText(pg.url);

  // a wrong password: the server's refusal, naming the connection
  await form.getByLabel('Password', { exact: true }).fill('not-the-password');
  await form.getByRole('button', { name: 'Test' }).click();
  await expect(dlg.getByTestId('connection-test')).toContainText(/password|auth/i, { timeout: 20_000 });
  await expect(dlg.getByTestId('connection-test')).toContainText(`${pg.host}:${pg.port}`);
  await expect(dlg.getByTestId('connection-test')).not.toContainText('not-the-password');

  await form.getByLabel('Password', { exact: true }).fill(pg.password);
  await form.getByRole('button', { name: 'Test' }).click();
  const tested = dlg.getByTestId('connection-test');
  await expect(tested).toContainText(`PostgreSQL ${version}`, { timeout: 20_000 });
  await expect(tested).toContainText(/\d+ (tables and views|table or view) · \d+ ms/);
  await page.screenshot({ path: path.join(ARTIFACTS, 'connections12-dialog.png') });
  await form.getByRole('button', { name: 'Add' }).click();

  const item = dlg.getByRole('listitem', { name: 'Test PG' });
  await expect(item).toContainText(pg.url);
  await expect(item).toContainText(/password (for this session only|in the OS keychain)/);
  await dlg.getByRole('button', { name: 'Test Test PG' }).click();
  await expect(item.getByTestId('connection-test')).toContainText(`PostgreSQL ${version}`, { timeout: 20_000 });
  await page.screenshot({ path: path.join(ARTIFACTS, 'connections12-list.png') });
  // the password is nowhere in the page
  expect(await page.content()).not.toContain(pg.password);

  // its tables, browsed in the panel like a container's datasets; one opens as a dataset the database computes
  await dlg.getByRole('button', { name: 'Browse Test PG' }).click();
  const tables = dlg.getByRole('list', { name: 'Contents of Test PG' });
  await tables.getByRole('button', { name: /measures/ }).click();
  await expect(dlg).toBeHidden();
  await expect(page.getByTestId('row-count')).toContainText(`${N} rows`, { timeout: 30_000 });
  await expect(page.getByTestId('min-v')).toHaveAttribute('data-value', String(min));
  await expect(page.getByTestId('max-v')).toHaveAttribute('data-value', String(max));
  await expect(page.getByTestId('nulls-v')).toContainText('0');
  // the catalog entry says it is a database, and where
  await expect(page.getByRole('listbox', { name: 'Datasets' }).getByTestId('db-host').first()).toContainText(`${pg.host}:${pg.port}`);
  await page.getByRole('tab', { name: 'Info' }).click();
  await expect(page.getByTestId('computed-by')).toContainText(`PostgreSQL ${version}`);
  await expect(page.getByTestId('computed-by')).toContainText(pg.url);
  await expect(page.getByTestId('paging')).toContainText('id'); // keyset on the primary key

  // the SQL editor: a query with a syntax error on its second line (a comma left before FROM)
  await page.getByRole('button', { name: 'Connections…' }).click();
  await dlg.getByRole('button', { name: 'SQL on Test PG' }).click();
  const editor = page.getByRole('region', { name: 'SQL on Test PG' });
  const box = editor.getByLabel('SQL query');
  const bad = 'SELECT id, v,\n  FROM public.measures';
  await box.fill(bad);
  await box.press('Control+Enter');
  const err = editor.getByTestId('sql-error');
  await expect(err).toContainText('syntax error', { timeout: 20_000 });
  await expect(err).toContainText('"FROM"');
  const caret = editor.getByTestId('sql-caret');
  await expect(caret).toHaveAttribute('data-line', '2');
  const col = Number(await caret.getAttribute('data-col'));
  // the server points at FROM (PostgreSQL's position for this error), on the text as typed
  expect(bad.split('\n')[1]!.slice(col - 1)).toMatch(/^FROM/);
  await expect(caret).toContainText('  FROM public.measures');
  await expect(editor.getByTestId('sql-error-line')).toBeVisible();
  const selection = await box.evaluate((el) => (el as HTMLTextAreaElement).selectionStart);
  expect(bad.slice(selection)).toMatch(/^FROM/);
  await page.screenshot({ path: path.join(ARTIFACTS, 'connections12-sql-error.png') });

  // a good one: its result is a dataset with every view; the table shows its rows
  const good = 'SELECT id, v * 2 AS twice, label\n  FROM public.measures\n WHERE id <= 7\n ORDER BY id DESC';
  await box.fill(good);
  await editor.getByRole('button', { name: 'Run' }).click();
  await expect(err).toBeHidden();
  await expect(page.getByTestId('row-count')).toContainText('7 rows', { timeout: 30_000 });
  await page.getByRole('tab', { name: 'Table' }).click();
  const rows = await (async () => {
    await expect(page.locator('.grid-row').first()).toBeVisible({ timeout: 20_000 });
    return page.locator('.grid').evaluate((g) => {
      const head = [...g.querySelectorAll('.grid-head .hcell .hname')].map((h) => h.textContent?.trim());
      return { head, rows: [...g.querySelectorAll('.grid-row')].map((r) => [...r.querySelectorAll('[role=gridcell]')].map((c) => c.textContent?.trim())) };
    });
  })();
  expect(rows.head).toEqual(['id', 'twice', 'label']);
  const expected = (await pg.psql(good.replace(/\n/g, ' '))).trim().split('\n').map((l) => l.split('|'));
  expect(rows.rows.map((r) => r[0])).toEqual(expected.map((r) => r[0]));
  expect(rows.rows.map((r) => r[2])).toEqual(expected.map((r) => r[2]));
  expect(rows.rows.map((r) => Number(r[1]!.replace(/,/g, '')))).toEqual(expected.map((r) => Number(r[1])));
  // the query is first among the earlier ones
  await expect(editor.getByLabel('Earlier queries')).toContainText('SELECT id, v * 2 AS twice');
  await page.screenshot({ path: path.join(ARTIFACTS, 'connections12-sql.png') });
});
