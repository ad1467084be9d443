/**
 * `cdx run WORKSPACE.cdx --out FILE` (main/cli/run.ts): a workspace of open, filter, sort and
 * group-by steps, replayed by the engine, writes the rows DuckDB computes for the same steps; a
 * second run writes the same bytes; a workspace beside its data finds the data by a relative
 * location; a bad step is named. The command runs in this process (the engine from source), with
 * its own data folder.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { duckQuery } from '../engine/sources/testing/oracle';
import { serializeWorkspace, storeLocations, WORKSPACE_VERSION, type Step } from '../../shared/workspace';
import { cdx } from './testing/cdx';

const sq = (s: string) => "'" + s.replace(/'/g, "''") + "'";
let dir = '';
let input = '';
const oldHome = process.env.CDX_HOME;

/** id, x (a fraction; empty every 11th row), s (Unicode keys, empty every 13th), n (an int64 beyond 2^53 every 7th) */
function writeCsv(file: string, n: number): void {
  const keys = ['Zürich', 'São Paulo', '東京', 'k3', 'Ωmega', 'plain'];
  const lines = ['id,x,s,n'];
  for (let i = 0; i < n; i++) {
    const x = i % 11 === 0 ? '' : String(((i * 7919) % 1000) / 1000);
    const s = i % 13 === 0 ? '' : keys[(i * 31) % keys.length];
    const big = i % 7 === 0 ? String(9007199254740993n + BigInt(i)) : String(i * 3);
    lines.push(`${i},${x},${s},${big}`);
  }
  writeFileSync(file, lines.join('\n') + '\n');
}


function saveWorkspace(name: string, steps: Step[]): string {
  const file = path.join(dir, name);
  writeFileSync(file, serializeWorkspace(storeLocations({ cdx: 'workspace', version: WORKSPACE_VERSION, steps }, file)));
  return file;
}

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cdx-run-test-'));
  process.env.CDX_HOME = path.join(dir, 'home');
  input = path.join(dir, 'data', 'trips.csv');
  mkdirSync(path.dirname(input));
  writeCsv(input, 6_000);
});

afterAll(() => {
  if (oldHome === undefined) delete process.env.CDX_HOME;
  else process.env.CDX_HOME = oldHome;
  rmSync(dir, { recursive: true, force: true });
});

describe('cdx run', () => {
  it('open, filter, sort: the rows DuckDB gives for the same steps, and the same bytes a second time', async () => {
    const file = saveWorkspace('sorted.cdx', [
      { kind: 'open', as: 'trips', location: input },
      { kind: 'filter', dataset: 'trips', where: 'x > 0.2 and id < 5000' },
      { kind: 'plot', dataset: 'trips', settings: { kind: 'scatter', x: 'id', y: 'x' } },
      // a line plot's settings (issue 18) change no rows either
      { kind: 'plot', dataset: 'trips', settings: { kind: 'line', line: { x: 'id', y: ['x', 'n'], area: true, yLimits: [0, 1], xRange: [100, 4000] } } },
      { kind: 'filter', dataset: 'trips', where: 'x > 0.25 and id < 5000' },
      { kind: 'sort', dataset: 'trips', keys: ['-x', 's'] },
      { kind: 'view', tab: 'table', dataset: 'trips' },
    ]);
    // the data beside the workspace is kept by a relative location
    expect(JSON.parse(readFileSync(file, 'utf8')).steps[0].location).toBe('data/trips.csv');
    const out1 = path.join(dir, 'out1.csv');
    const text = await cdx(['run', file, '--out', out1]);
    expect(text).toMatch(/^wrote [\d,]+ rows of trips to .*out1\.csv \(csv\) — 7 steps replayed$/);
    const want = await duckQuery(`SELECT id, x, s, n::VARCHAR FROM read_csv(${sq(input)}) WHERE x > 0.25 AND id < 5000 ORDER BY x DESC NULLS LAST, s ASC NULLS LAST, id`);
    const got = await duckQuery(`SELECT id, x, s, n::VARCHAR FROM read_csv(${sq(out1)})`);
    expect(got.length).toBe(want.length);
    expect(got.length).toBeGreaterThan(1000);
    expect(got).toEqual(want);
    // int64 beyond 2^53 written exactly
    expect(got.some((r) => r[3] === String(9007199254740993n + BigInt(r[0] as number)))).toBe(true);
    const out2 = path.join(dir, 'out2.csv');
    await cdx(['run', file, '--out', out2]);
    expect(readFileSync(out2).equals(readFileSync(out1))).toBe(true);
    // --force is needed to replace an output
    await expect(cdx(['run', file, '--out', out2])).rejects.toMatchObject({ code: 'E_EXISTS' });
    await cdx(['run', file, '--out', out2, '--force']);
    expect(readFileSync(out2).equals(readFileSync(out1))).toBe(true);
  }, 120_000);

  it('a group-by is a dataset of its own: filtered and sorted, it gives DuckDB\'s groups (Parquet out)', async () => {
    const file = saveWorkspace('grouped.cdx', [
      { kind: 'open', as: 'trips', location: input },
      { kind: 'filter', dataset: 'trips', where: 'id >= 100' },
      { kind: 'group', dataset: 'trips', as: 'by_s', by: ['s'], agg: 'count(), sum(id), max(x)', where: 'id >= 100' },
      { kind: 'filter', dataset: 'by_s', where: 'count > 500' },
      { kind: 'sort', dataset: 'by_s', keys: ['-count', 's'] },
    ]);
    const out = path.join(dir, 'groups.parquet');
    const json = JSON.parse(await cdx(['run', file, '--out', out, '--json']));
    expect(json).toMatchObject({ dataset: 'by_s', where: 'count > 500', sort: ['-count', 's'], format: 'parquet' });
    const want = await duckQuery(
      `SELECT s, count(*)::BIGINT AS c, sum(id)::BIGINT AS t, max(x) AS m FROM read_csv(${sq(input)}) WHERE id >= 100 GROUP BY s HAVING count(*) > 500 ORDER BY c DESC, s NULLS LAST`,
    );
    const got = await duckQuery(`SELECT * FROM read_parquet(${sq(out)})`);
    expect(got.map((r) => [r[0], Number(r[1]), Number(r[2]), r[3]])).toEqual(want.map((r) => [r[0], Number(r[1]), Number(r[2]), r[3]]));
    expect(json.rows).toBe(want.length);
    // the groups' temporary dataset is forgotten: the catalog holds only what the workspace opened
    const list = await cdx(['catalog', 'list', '--json']);
    expect(JSON.parse(list).map((d: { path: string }) => path.basename(d.path)).filter((n: string) => n.endsWith('.arrow') && n !== 'trips.arrow')).toEqual([]);
  }, 120_000);

  it('a join of two opened datasets, each under its filter, then sorted: DuckDB\'s LEFT JOIN … USING', async () => {
    const zones = path.join(dir, 'data', 'zones.csv');
    writeFileSync(zones, 's,label,rank\nZürich,CH,1\n東京,JP,2\nplain,XX,3\nΩmega,GR,4\n');
    const file = saveWorkspace('joined.cdx', [
      { kind: 'open', as: 'trips', location: input },
      { kind: 'open', as: 'zones', location: zones },
      { kind: 'filter', dataset: 'trips', where: 'id < 3000' },
      { kind: 'filter', dataset: 'zones', where: 'rank < 4' },
      { kind: 'join', as: 'tz', left: 'trips', right: 'zones', on: ['s'], how: 'left' },
      { kind: 'sort', dataset: 'tz', keys: ['label', '-id'] },
    ]);
    const out = path.join(dir, 'joined.csv');
    const text = await cdx(['run', file, '--out', out]);
    expect(text).toMatch(/rows of tz/);
    const want = await duckQuery(
      `SELECT id, s, label FROM (SELECT * FROM read_csv(${sq(input)}) WHERE id < 3000) LEFT JOIN (SELECT * FROM read_csv(${sq(zones)}) WHERE rank < 4) USING (s) ORDER BY label NULLS LAST, id DESC`,
    );
    const got = await duckQuery(`SELECT id, s, label FROM read_csv(${sq(out)})`);
    expect(got.length).toBe(3000);
    expect(got).toEqual(want);
    // the first `limit` groups, sorted: a dataset too
    const top = saveWorkspace('top.cdx', [
      { kind: 'open', as: 'trips', location: input },
      { kind: 'group', dataset: 'trips', as: 'top', by: ['s'], agg: 'count()', sort: ['-count', 's'], limit: 3 },
    ]);
    const out2 = path.join(dir, 'top.csv');
    await cdx(['run', top, '--out', out2]);
    const wantTop = await duckQuery(`SELECT s, count(*)::INT FROM read_csv(${sq(input)}) GROUP BY s ORDER BY 2 DESC, s NULLS LAST LIMIT 3`);
    expect((await duckQuery(`SELECT s, "count"::INT FROM read_csv(${sq(out2)})`))).toEqual(wantTop);
  }, 120_000);

  it('--dry-run lists the steps; a bad step is named with the file; a computed column is defined, filtered and sorted on', async () => {
    const file = saveWorkspace('dry.cdx', [
      { kind: 'open', as: 'trips', location: input },
      { kind: 'filter', dataset: 'trips', where: 'x > 0.5' },
      { kind: 'plot', dataset: 'trips', settings: { kind: 'line', line: { x: 'id', y: ['x'], split: 's', xRange: [0, 10] } } },
      { kind: 'sort', dataset: 'trips', keys: ['-n'] },
    ]);
    const text = await cdx(['run', file, '--dry-run']);
    expect(text).toBe(['  1. Open data/trips.csv as trips', '  2. Filter trips: x > 0.5', '  3. Plot trips: line of x by id (split by s, zoomed)', '  4. Sort trips by n descending', '(dry run: would write trips; nothing written)'].join('\n'));

    const bad = path.join(dir, 'bad.cdx');
    writeFileSync(bad, JSON.stringify({ cdx: 'workspace', version: 1, steps: [{ kind: 'open', as: 't', location: 'x.csv' }, { kind: 'sort', dataset: 'u', keys: ['a'] }] }));
    await expect(cdx(['run', bad, '--out', path.join(dir, 'no.csv')])).rejects.toMatchObject({ code: 'E_BAD_WORKSPACE', message: `${bad}: step 2 (sort): dataset "u" is made by no earlier step (known: t)` });
    const newer = path.join(dir, 'newer.cdx');
    writeFileSync(newer, JSON.stringify({ cdx: 'workspace', version: 99, steps: [] }));
    await expect(cdx(['run', newer, '--out', path.join(dir, 'no.csv')])).rejects.toMatchObject({ code: 'E_WORKSPACE_NEWER' });

    // an unknown column in a replayed filter: the step and the engine's message
    const wrong = saveWorkspace('wrong.cdx', [{ kind: 'open', as: 'trips', location: input }, { kind: 'filter', dataset: 'trips', where: 'fare > 1' }]);
    await expect(cdx(['run', wrong, '--out', path.join(dir, 'no.csv')])).rejects.toThrow(/fare/);

    // a computed column, filtered and sorted on, written with its values
    const col = saveWorkspace('column.cdx', [
      { kind: 'open', as: 'trips', location: input },
      { kind: 'column', dataset: 'trips', name: 'x2', expr: 'x * 2 + 1' },
      { kind: 'filter', dataset: 'trips', where: 'x2 > 2.5' },
      { kind: 'sort', dataset: 'trips', keys: ['-x2'] },
    ]);
    const colOut = path.join(dir, 'col.csv');
    await cdx(['run', col, '--out', colOut]);
    const wantCol = await duckQuery(`SELECT id, x * 2 + 1 AS x2 FROM read_csv(${sq(input)}) WHERE x * 2 + 1 > 2.5 ORDER BY x2 DESC NULLS LAST, id`);
    expect(await duckQuery(`SELECT id, x2 FROM read_csv(${sq(colOut)})`)).toEqual(wantCol);
    // the catalog's dataset is as it was: the replay's column is not kept
    expect(JSON.parse(await cdx(['schema', input, '--json'])).fields.map((f: { name: string }) => f.name)).toEqual(['id', 'x', 's', 'n']);
    // a mistake in it: the step and the engine's message
    const badCol = saveWorkspace('badcol.cdx', [{ kind: 'open', as: 'trips', location: input }, { kind: 'column', dataset: 'trips', name: 'z', expr: 'x * * 2' }]);
    await expect(cdx(['run', badCol, '--out', path.join(dir, 'no.csv')])).rejects.toThrow(`${badCol}: step 2 (Column z of trips = x * * 2): `);
  }, 120_000);
});
