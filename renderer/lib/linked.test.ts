/**
 * Linked filters across datasets (lib/linked.svelte.ts, issue 18). First what "fits" means (the
 * kinds of columns, a bare number on a time column, a value the target's column cannot hold);
 * then the window's stores against the real engine over the in-memory transport, as the window
 * talks to it: a Parquet file written by DuckDB (station_id int32, date a `date`) and a PostgreSQL
 * table on loopback (station_id bigint, date a `timestamp` with times of day), a CSV opened later
 * and a file without those columns. A range on `date` linked in the file applies to the table (the
 * database computes it) and each dataset's filtered row count equals DuckDB's COUNT(*) over the
 * same rows under the same predicate; editing, switching off and removing in one dataset does so
 * in all, unlinking keeps it where it was made, a dataset loaded later takes it, and a link is one
 * workspace step whose undo and redo move every dataset, and a saved workspace opened again links
 * the chips again. A range with a time of day linked to a PostgreSQL `date` column counts by day.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { EngineApi } from '../../shared/api';
import type { Field } from '../../shared/datashape';
import { RpcClient, createMemoryPortPair, serveRpc } from '../../shared/rpc';
import { parseExpr } from '../../shared/expr/parse';
import { describeStep, parseWorkspace, serializeWorkspace, type Step } from '../../shared/workspace';
import { createEngineHandlers } from '../../main/engine/service';
import { postgresAvailable, startPostgres, type PostgresServer } from '../../main/engine/sql/testing/postgres';
import { duckQuery } from '../../main/engine/sources/testing/oracle';
import { Catalog } from './catalog.svelte';
import type { DatasetView } from './dataset.svelte';
import type { EngineConnection } from './engine.svelte';
import { fits, linkKind, linked, numbersOn } from './linked.svelte';
import { workspace } from './workspace.svelte';

const f = (name: string, type: string, unit?: string): Field => ({ name, type, nullable: true, ...(unit ? { unit } : {}) }) as Field;

describe('what a linked filter fits', () => {
  const parquet = [f('station_id', 'int32'), f('date', 'date'), f('temp', 'float64'), f('name', 'string')];
  const pg = [f('station_id', 'int64'), f('date', 'timestamp', 'us'), f('temp', 'float64'), f('name', 'string')];
  it('columns of the same kind: numbers with numbers, a date with a timestamp, text with text', () => {
    expect(['int32', 'uint8', 'float64', 'decimal'].map(linkKind)).toEqual(['number', 'number', 'number', 'number']);
    expect(['date', 'timestamp'].map(linkKind)).toEqual(['time', 'time']);
    expect(fits(parseExpr(`date >= date '2025-03-10' and date < date '2025-04-01'`), parquet, pg)).toBe(true);
    expect(fits(parseExpr(`date >= timestamp '2025-03-10T06:00' and date < timestamp '2025-04-01T00:00'`), pg, parquet)).toBe(true);
    expect(fits(parseExpr('station_id in (3, 5, 8)'), parquet, pg)).toBe(true);
    expect(fits(parseExpr('name = "Oslo" and temp > 4.5'), parquet, pg)).toBe(true);
  });
  it('not where a column is missing, of another kind, or cannot hold the value', () => {
    expect(fits(parseExpr('station_id = 3'), parquet, [f('date', 'date')])).toBe(false);
    expect(fits(parseExpr('station_id = 3'), parquet, [f('station_id', 'string')])).toBe(false);
    expect(fits(parseExpr('name = "3"'), [f('name', 'string')], [f('name', 'int64')])).toBe(false);
    // a filter on no column links nowhere
    expect(fits(parseExpr('true'), parquet, pg)).toBe(false);
  });
  it('a bare number on a time column means that column\'s unit: only the same type and unit', () => {
    const days = parseExpr('date in [20000, 20010)');
    expect(numbersOn(days, 'date')).toBe(true);
    expect(numbersOn(parseExpr(`date >= date '2025-01-01'`), 'date')).toBe(false);
    expect(fits(days, parquet, pg)).toBe(false);
    expect(fits(days, parquet, [f('date', 'date')])).toBe(true);
  });
});

// ─────────────────────────── against the engine and PostgreSQL ───────────────────────────

const root = mkdtempSync(path.join(os.tmpdir(), 'cdx-linked-'));
const parquetFile = path.join(root, 'readings.parquet');
const csvFile = path.join(root, 'later.csv');
const otherFile = path.join(root, 'other.parquet');
const pgCsv = path.join(root, 'pg.csv');
const handlers = createEngineHandlers({ home: path.join(root, 'home'), samplePath: null });
const [a, b] = createMemoryPortPair();
serveRpc<EngineApi>(handlers, a);
const client = new RpcClient<EngineApi>(b);
const engine = { api: client.api, mode: 'web', generation: 1 } as unknown as EngineConnection;
const lit = (p: string) => `'${p.replace(/'/g, "''")}'`;

/** the PostgreSQL table's rows as CSV: a timestamp (times of day, some null) per reading */
function pgRows(n: number): string {
  const lines = ['station_id,date,temp'];
  for (let i = 0; i < n; i++) {
    const ms = Date.UTC(2025, 0, 1) + ((i * 7) % 180) * 86_400_000 + ((i * 4013) % 86_400) * 1000;
    const d = i % 50 === 0 ? '' : new Date(ms).toISOString().replace('T', ' ').replace('.000Z', '');
    lines.push(`${i % 37},${d},${((i * 7919) % 1009) / 10}`);
  }
  return lines.join('\n') + '\n';
}

describe.skipIf(!postgresAvailable())('linked filters across a Parquet file and a PostgreSQL table', () => {
  let pg: PostgresServer;
  let fileId = '', tableId = '', laterId = '', otherId = '', daysId = '';
  const catalog = new Catalog(engine);
  const views: DatasetView[] = [];

  beforeAll(async () => {
    await duckQuery(`COPY (SELECT (i % 41)::INTEGER AS station_id,
        CASE WHEN i % 97 = 0 THEN NULL ELSE DATE '2025-01-01' + ((i * 11) % 200)::INTEGER END AS date,
        ((i * 31) % 400) / 10.0 AS temp
      FROM range(20000) t(i)) TO ${lit(parquetFile)} (FORMAT parquet)`);
    writeFileSync(csvFile, 'station_id,date,note\n' + Array.from({ length: 500 }, (_, i) => `${i % 23},2025-${String(1 + (i % 6)).padStart(2, '0')}-${String(1 + (i % 28)).padStart(2, '0')},n${i}`).join('\n') + '\n');
    await duckQuery(`COPY (SELECT i AS x FROM range(100) t(i)) TO ${lit(otherFile)} (FORMAT parquet)`);
    writeFileSync(pgCsv, pgRows(12_000));
    pg = await startPostgres();
    await pg.psql(`CREATE TABLE public.log (station_id bigint, date timestamp, temp double precision);
COPY public.log FROM STDIN WITH (FORMAT csv, HEADER true, NULL '');
${pgRows(12_000)}\\.
GRANT SELECT ON public.log TO cdx; ANALYZE public.log;
CREATE TABLE public.days AS SELECT station_id::integer AS station_id, date::date AS date FROM public.log;
GRANT SELECT ON public.days TO cdx; ANALYZE public.days;`);
    await client.api.setSecret({ url: pg.url, password: pg.password });
    fileId = (await client.api.open({ location: parquetFile })).entry.id;
    tableId = (await client.api.open({ location: `${pg.url}::public.log` })).entry.id;
    laterId = (await client.api.open({ location: csvFile })).entry.id;
    otherId = (await client.api.open({ location: otherFile })).entry.id;
    daysId = (await client.api.open({ location: `${pg.url}::public.days` })).entry.id;
    await catalog.refresh();
    workspace.clear();
    workspace.attach(catalog, () => {});
    for (const id of [fileId, tableId, otherId]) {
      const v = catalog.viewOf(id);
      await v.load();
      views.push(v);
    }
  }, 120_000);

  afterAll(async () => {
    b.close();
    handlers.close();
    await pg?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  /** DuckDB's COUNT(*) of the file's rows, or of the table's (read from the same CSV), under `where` */
  async function oracle(which: 'file' | 'table' | 'later' | 'days', where: string): Promise<number> {
    const log = `read_csv(${lit(pgCsv)}, header = true, columns = {'station_id': 'BIGINT', 'date': 'TIMESTAMP', 'temp': 'DOUBLE'})`;
    const from = which === 'file'
      ? `read_parquet(${lit(parquetFile)})`
      : which === 'table' || which === 'days'
        ? which === 'table' ? log : `(SELECT station_id::INTEGER AS station_id, date::DATE AS date FROM ${log})`
        : `read_csv(${lit(csvFile)}, header = true, columns = {'station_id': 'BIGINT', 'date': 'DATE', 'note': 'VARCHAR'})`;
    const r = await duckQuery(`SELECT count(*) FROM ${from} WHERE ${where}`);
    return Number(r[0]![0]);
  }

  /** the view's filtered row count once its summary is done */
  async function rowsOf(v: DatasetView): Promise<number | null> {
    // (a fresh-clone check once saw the table's summary end as cancelled, under load, and nothing ask
    // again: the counts are what this test checks, so it asks again once — the cause is not found yet)
    for (let attempt = 0; attempt < 2; attempt++) {
      for (let i = 0; i < 600 && (v.summarizing || v.summary === null) && !v.summaryError; i++) await new Promise((r) => setTimeout(r, 20));
      if (v.summaryError !== 'Summary cancelled.' || attempt > 0) break;
      await v.runSummary();
    }
    expect(v.summaryError).toBeNull();
    return v.filteredRows;
  }

  const chipsOf = (v: DatasetView) => v.filters.map((c) => `${c.text}${c.enabled ? '' : ' (off)'}${c.link ? ` [${c.link.id} from ${c.link.name}]` : ''}`);

  it('a date range linked in the file applies to the table, each counted by its own engine as DuckDB counts it', async () => {
    const [file, table, other] = views as [DatasetView, DatasetView, DatasetView];
    expect(table.overview!.remote?.kind).toBe('postgresql');
    expect(table.overview!.schema.fields.find((x) => x.name === 'date')!.type).toBe('timestamp');
    expect(file.overview!.schema.fields.find((x) => x.name === 'date')!.type).toBe('date');
    file.addFilter(parseExpr(`date >= date '2025-03-10' and date < date '2025-04-01'`));
    const chip = file.filters[0]!;
    expect(linked.candidates(file, chip)).toEqual([table.overview!.entry.name]);
    const before = workspace.entries.length;
    const link = linked.link(file, chip.id)!;
    // one step of the workspace for the link, whatever the number of datasets
    expect(workspace.entries.length).toBe(before + 1);
    expect(workspace.entries.at(-1)!.steps.filter((s) => s.kind === 'filter').map((s) => (s as { dataset: string }).dataset)).toHaveLength(2);
    expect(chipsOf(table)).toEqual([`${file.filters[0]!.text} [${link.id} from readings.parquet]`]);
    expect(file.filters[0]!.link).toEqual(link);
    expect(other.filters).toEqual([]);
    const where = `date >= DATE '2025-03-10' AND date < DATE '2025-04-01'`;
    const [nf, nt] = [await oracle('file', where), await oracle('table', where)];
    expect(nf).toBeGreaterThan(100);
    expect(nt).toBeGreaterThan(100);
    expect(await rowsOf(file)).toBe(nf);
    expect(await rowsOf(table)).toBe(nt);
    const info = linked.info(table, table.filters[0]!.link!);
    expect(info).toMatchObject({ from: 'readings.parquet', here: false, members: ['readings.parquet', 'public.log'] });
  });

  it('edited in the table, switched off and on: in both; a value of station_id links too and both filters count', async () => {
    const [file, table] = views as [DatasetView, DatasetView];
    const c = table.filters[0]!;
    table.replaceFilter(c.id, parseExpr(`date >= timestamp '2025-02-01T12:00' and date < date '2025-05-01'`));
    expect(file.filters.map((x) => x.text)).toEqual(table.filters.map((x) => x.text));
    expect(file.filters[0]!.link!.id).toBe(c.link!.id);
    file.setEnabled(file.filters[0]!.id, false);
    expect(chipsOf(table)[0]).toMatch(/\(off\)/);
    expect(table.where).toBe('');
    file.setEnabled(file.filters[0]!.id, true);
    expect(table.where).not.toBe('');
    // a second linked filter, made in the table: a station picked
    table.addFilter(parseExpr('station_id in (3, 5, 8)'));
    linked.link(table, table.filters[1]!.id);
    expect(file.filters.map((x) => x.text)).toEqual(table.filters.map((x) => x.text));
    expect(file.filters[1]).toMatchObject({ text: 'station_id in (3, 5, 8)', enabled: true, link: { from: tableId, name: 'public.log' } });
    const where = `date >= TIMESTAMP '2025-02-01 12:00:00' AND date < DATE '2025-05-01' AND station_id IN (3, 5, 8)`;
    expect(await rowsOf(file)).toBe(await oracle('file', where));
    expect(await rowsOf(table)).toBe(await oracle('table', where));
  });

  it('a dataset loaded later takes the links it fits; one without the columns takes none', async () => {
    const [file] = views as [DatasetView];
    const later = catalog.viewOf(laterId);
    await later.load();
    expect(later.filters.map((c) => c.link?.id).sort()).toEqual(file.filters.map((c) => c.link?.id).sort());
    expect(later.filters.map((c) => c.text)).toEqual(file.filters.map((c) => c.text));
    expect(await rowsOf(later)).toBe(await oracle('later', `date >= TIMESTAMP '2025-02-01 12:00:00' AND date < DATE '2025-05-01' AND station_id IN (3, 5, 8)`));
    expect(views[2]!.filters).toEqual([]);
    views.push(later);
  });

  it('the workspace keeps the links: saved with the source by name, and undo and redo move every dataset', async () => {
    const [file, table, , later] = views as [DatasetView, DatasetView, DatasetView, DatasetView];
    const ws = parseWorkspace(serializeWorkspace(workspace.toWorkspace({ tab: 'summary', id: fileId })), 'linked.cdx');
    const last = ws.steps.filter((s) => s.kind === 'filter').at(-1) as { chips: { link?: { id: string; from: string } }[] };
    expect(last.chips.every((c) => c.link && /^L\d+$/.test(c.link.id))).toBe(true);
    expect(new Set(last.chips.map((c) => c.link!.from)).size).toBe(2);
    // the steps panel says which chips are linked, and from where
    expect(workspace.listed.filter((s) => s.text.includes('(linked')).length).toBeGreaterThan(3);
    expect(describeStep(last as Step)).toMatch(/^Filter later \(linked from readings, log\): /);
    // removing the station filter in the CSV removes it everywhere, as one step
    const n = workspace.entries.length;
    later.removeFilter(later.filters.find((c) => c.text.startsWith('station_id'))!.id);
    expect(workspace.entries.length).toBe(n + 1);
    for (const v of [file, table, later]) expect(v.filters.map((c) => c.text)).toEqual([file.filters[0]!.text]);
    await workspace.undo();
    for (const v of [file, table, later]) expect(v.filters.some((c) => c.text === 'station_id in (3, 5, 8)' && c.link)).toBe(true);
    await workspace.redo();
    for (const v of [file, table, later]) expect(v.filters).toHaveLength(1);
  });

  it('a workspace file opened again links the chips again, the source known by its name', async () => {
    const [file, table, , later] = views as [DatasetView, DatasetView, DatasetView, DatasetView];
    const saved = parseWorkspace(serializeWorkspace(workspace.toWorkspace({ tab: 'summary', id: fileId })), 'linked.cdx');
    const want = [file, table, later].map((v) => v.filters.map((c) => [c.text, c.enabled, c.link?.id, c.link?.from]));
    for (const v of [file, table, later]) v.restoreFilters([]);
    expect(await workspace.open(saved)).toBe(true);
    expect(workspace.note).toBeNull();
    expect([file, table, later].map((v) => v.filters.map((c) => [c.text, c.enabled, c.link?.id, c.link?.from]))).toEqual(want);
    expect(linked.info(later, later.filters[0]!.link!)).toMatchObject({ from: 'readings.parquet', members: ['readings.parquet', 'public.log', 'later.csv'] });
  });

  it('unlinked: kept only where it was made, as a plain chip', async () => {
    const [file, table, , later] = views as [DatasetView, DatasetView, DatasetView, DatasetView];
    // unlinked from the table: it was made in the file
    linked.unlink(table, table.filters[0]!.link!);
    expect(table.filters).toEqual([]);
    expect(later.filters).toEqual([]);
    expect(file.filters).toHaveLength(1);
    expect(file.filters[0]!.link).toBeUndefined();
    expect(table.where).toBe('');
    await rowsOf(table);
    expect(table.summary!.columns[0]!.rows).toBe(12_000);
    // a chip of the file unlinked is its own again: editing it touches nothing else
    file.replaceFilter(file.filters[0]!.id, parseExpr('station_id = 4'));
    expect(table.filters).toEqual([]);
    expect(await rowsOf(file)).toBe(await oracle('file', 'station_id = 4'));
  });

  it('a range with a time of day, made on the timestamp column, linked to a PostgreSQL date column: the day it falls in counts', async () => {
    const [, table] = views as [DatasetView, DatasetView];
    const days = catalog.viewOf(daysId);
    await days.load();
    expect(days.overview!.schema.fields.find((x) => x.name === 'date')!.type).toBe('date');
    table.addFilter(parseExpr(`date >= timestamp '2025-03-01T18:30' and date < timestamp '2025-03-15T12:00'`));
    const c = table.filters.at(-1)!;
    expect(linked.candidates(table, c)).toContain('public.days');
    linked.link(table, c.id);
    expect(days.filters.map((x) => x.text)).toEqual([c.text]);
    const where = `date >= TIMESTAMP '2025-03-01 18:30:00' AND date < TIMESTAMP '2025-03-15 12:00:00'`;
    const [nt, nd] = [await oracle('table', where), await oracle('days', where)];
    // (a day counts from its midnight: 1 March is out, 15 March in)
    expect(nd).not.toBe(nt);
    expect(await rowsOf(table)).toBe(nt);
    expect(await rowsOf(days)).toBe(nd);
    linked.unlink(days, days.filters[0]!.link!);
    expect(days.filters).toEqual([]);
  });
});
