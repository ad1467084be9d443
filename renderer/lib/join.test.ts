/**
 * The Join dialog's state (join.svelte.ts) against the real engine — its handlers served over the
 * in-memory transport, as the window talks to it — on two CSV files (a text key with nulls,
 * duplicates and a Unicode value), with DuckDB as the oracle: the key pair started from the
 * columns both sides name alike, an inner join under the left side's filter and a left join
 * without it (the result's rows and matched count against DuckDB's join of the same files), the
 * note it leaves, the workspace step it records, and a key type mismatch kept as the engine's words.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { EngineApi } from '../../shared/api';
import { RpcClient, createMemoryPortPair, serveRpc } from '../../shared/rpc';
import { createEngineHandlers } from '../../main/engine/service';
import { duckQuery } from '../../main/engine/sources/testing/oracle';
import { DatasetView } from './dataset.svelte';
import type { EngineConnection } from './engine.svelte';
import { JoinState, joinNotes, prefillPairs } from './join.svelte';
import { workspace } from './workspace.svelte';

const root = mkdtempSync(path.join(os.tmpdir(), 'cdx-joinview-'));
const trips = path.join(root, 'trips.csv'), zones = path.join(root, 'zones.csv');
const handlers = createEngineHandlers({ home: path.join(root, 'home'), samplePath: null });
const [a, b] = createMemoryPortPair();
serveRpc<EngineApi>(handlers, a);
const client = new RpcClient<EngineApi>(b);
const engine = { api: client.api, mode: 'web', generation: 1 } as unknown as EngineConnection;
const lit = (p: string) => `'${p.replace(/'/g, "''")}'`;
let left = '', right = '';

beforeAll(async () => {
  const keys = ['A', 'B', 'Zürich', '', 'C'];
  writeFileSync(trips, 'id,zone,fare\n' + Array.from({ length: 500 }, (_, i) => `${i},${keys[i % 5]},${(i * 7) % 40}`).join('\n') + '\n');
  writeFileSync(zones, 'zone,borough,fare\nA,Manhattan,1\nB,Brooklyn,2\nB,Brooklyn East,3\nZürich,Zürich Stadt,4\n,Nowhere,5\nE,Unused,6\n');
  left = (await client.api.open({ location: trips })).entry.id;
  right = (await client.api.open({ location: zones })).entry.id;
}, 60_000);

afterAll(() => {
  b.close();
  handlers.close();
  rmSync(root, { recursive: true, force: true });
});

async function state(where?: string): Promise<{ view: DatasetView; j: JoinState }> {
  const view = new DatasetView(engine, left);
  await view.load();
  if (where) view.restoreFilters([{ text: where, enabled: true }]);
  return { view, j: new JoinState(view, () => null) };
}

const duck = async (how: string, where: string) =>
  (await duckQuery(`SELECT count(*)::INTEGER, count(DISTINCT t.id)::INTEGER FROM read_csv(${lit(trips)}) t ${how} JOIN read_csv(${lit(zones)}) z ON t.zone = z.zone ${where}`))[0] as [number, number];

describe('JoinState', () => {
  it('starts from the key both sides name alike; an inner join under the filter and a left join equal DuckDB', async () => {
    const { view, j } = await state('fare > 10');
    await j.refreshList();
    expect(j.datasets.map((d) => d.id)).toEqual(expect.arrayContaining([left, right]));
    expect(j.incomplete).toBe('Choose the dataset to join with.');
    await j.choose(right);
    // (fare is on both sides too, but the first of the left's columns both name is zone — id is not the right's)
    expect(j.pairs).toEqual([['zone', 'zone']]);
    expect(j.incomplete).toBeNull();
    expect(view.where).toBe('fare > 10');

    const r = (await j.run())!;
    expect(j.error).toBeNull();
    const [rows, matched] = await duck('', 'WHERE t.fare > 10');
    expect(r.rows).toBe(rows);
    expect(r.matched).toBe(matched);
    expect(r.via).toBe('native');
    expect(r.overview.schema.fields.map((f) => f.name)).toEqual(['id', 'zone', 'fare', 'borough', 'fare_1']);
    expect(joinNotes[r.overview.entry.id]).toMatch(new RegExp(`^Inner join of trips\\.csv with zones\\.csv on zone \\(filtered\\): ${rows} rows; ${matched} of ${r.leftRows} trips\\.csv rows matched · native hash join · \\d+ ms$`));
    // a step of the window's workspace, making its dataset
    expect(workspace.steps.at(-1)).toEqual({ kind: 'join', as: expect.any(String), left: expect.any(String), right: expect.any(String), on: ['zone'], how: 'inner' });

    // left, every trip (the filter off)
    j.how = 'left';
    j.filterLeft = false;
    const l = (await j.run())!;
    const [lrows] = await duck('LEFT', '');
    expect(l.rows).toBe(lrows);
    expect(l.leftRows).toBe(500);
  });

  it('a key pair of text with a number: the engine refuses in its words, kept as the error', async () => {
    const { j } = await state();
    await j.choose(right);
    j.setPair(0, 0, 'fare');
    expect(j.pairs).toEqual([['fare', 'zone']]);
    expect(await j.run()).toBeUndefined();
    expect(j.error).toMatch(/cannot join trips\.csv\.fare \(.*\) with zones\.csv\.zone \(string\): the key types differ/);
  });

  it('prefillPairs: a name both have with comparable types, else an empty pair', () => {
    const f = (name: string, type: string) => ({ name, type, nullable: true }) as never;
    expect(prefillPairs([f('id', 'int64'), f('k', 'string')], [f('k', 'string'), f('id', 'string')])).toEqual([['k', 'k']]);
    expect(prefillPairs([f('a', 'int32')], [f('a', 'float64')])).toEqual([['a', 'a']]);
    expect(prefillPairs([f('a', 'int32')], [f('b', 'int32')])).toEqual([['', '']]);
  });
});
