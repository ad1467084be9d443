/**
 * Joins on databases (issue 17): two tables of one real PostgreSQL 15, and two Distributed tables
 * of a real 2-shard ClickHouse 18.16 cluster, joined where they live (one query dataset on the
 * connection, nothing fetched) give the rows the native hash join gives on the same data as local
 * files — keys of int64 beyond 2^53 with nulls, floats with NaN and -0, Unicode text, dates and
 * two keys at once, inner and left (the right's nulls for unmatched rows, not ClickHouse's
 * defaults), filters on each side; and a database table joined with a local file (the database
 * side fetched, filtered there) equals the local join; a database side too large to fetch is a
 * clear E_TOO_LARGE.
 */
process.env.CDX_NO_KEYCHAIN = '1';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import type { HandlerContext } from '../../../shared/rpc';
import { tempDir } from '../sources/testing/util';
import { duckQuery } from '../sources/testing/oracle';
import { convert } from '../writers/convert';
import { createEngineHandlers } from '../service';
import { joinRequest } from '../join-request';
import { postgresAvailable, startPostgres, type PostgresServer } from './testing/postgres';
import { clickhouseAvailable, startClickHouseCluster, type ClickHouseCluster } from './testing/clickhouse';

const ctx = (): HandlerContext => ({ signal: new AbortController().signal, progress: () => {}, connection: 'test' });
const { dir, cleanup } = tempDir('cdx-join-db-');
afterAll(() => cleanup());
const lit = (p: string) => `'${p.replace(/'/g, "''")}'`;
const NL = 3000, NR = 800;

// ClickHouse 18.16 holds dates from 1970 and Nullable(Float64) NaN; its twin files hold the same
const keys = (n: string) => `
    CASE WHEN ${n} % 19 = 0 THEN NULL ELSE (${n} % 97)::BIGINT * 3000000000000000 + 9007199254740993 END AS big,
    CASE WHEN ${n} % 41 = 0 THEN 'nan'::DOUBLE WHEN ${n} % 43 = 0 THEN -0.0 WHEN ${n} % 47 = 0 THEN 0.0 WHEN ${n} % 13 = 0 THEN NULL ELSE (${n} % 101) * 0.25 END AS f,
    CASE WHEN ${n} % 17 = 0 THEN NULL ELSE ['Zürich', '東京', 'it''s', 'a', 'A', '', 'e\u0301', '😀'][${n} % 8 + 1] || (${n} % 11)::VARCHAR END AS s,
    DATE '2024-01-01' + (${n} % 89)::INTEGER AS d`;

const files = { left: join(dir, 'l.parquet'), right: join(dir, 'r.parquet') };

beforeAll(async () => {
  // (id not null: ClickHouse 18.16 orders a MergeTree by it)
  await duckQuery(`CREATE TABLE t AS SELECT i::INTEGER AS id, ${keys('(i * 7)')}, ((i * 13) % 1000)::INTEGER AS v FROM range(${NL}) t(i);
    ALTER TABLE t ALTER id SET NOT NULL; COPY t TO ${lit(files.left)} (FORMAT parquet)`);
  await duckQuery(`CREATE TABLE t AS SELECT i::INTEGER AS id, ${keys('(i * 3 + 1)')}, 'w' || (i % 37) AS w FROM range(${NR}) t(i);
    ALTER TABLE t ALTER id SET NOT NULL; COPY t TO ${lit(files.right)} (FORMAT parquet)`);
}, 60_000);

type H = ReturnType<typeof createEngineHandlers>;

/** The joined dataset's rows (every column), sorted by left id then right id (a database keeps no order). */
async function rowsOf(h: H, id: string): Promise<string[]> {
  const r = await h.rows({ dataset: id, offset: 0, limit: 1_000_000 }, ctx());
  const t = tableFromIPC(r.ipc);
  const names = t.schema.fields.map((f) => f.name);
  const out: { id: number; id1: number; text: string }[] = [];
  for (let i = 0; i < t.numRows; i++) {
    const cells = names.map((n) => {
      const v = t.getChild(n)!.get(i) as unknown;
      if (v === null || v === undefined) return 'null';
      if (typeof v === 'number' && Number.isNaN(v)) return 'NaN';
      if (typeof v === 'number' && Object.is(v, -0)) return '0';
      return String(v);
    });
    const id1 = t.getChild('id_1')?.get(i) as number | null;
    out.push({ id: Number(t.getChild('id')!.get(i)), id1: id1 === null || id1 === undefined ? Infinity : Number(id1), text: names.map((n, j) => `${n}=${cells[j]}`).join(' ') });
  }
  out.sort((a, b) => a.id - b.id || a.id1 - b.id1);
  return out.map((o) => o.text);
}

const cases: { on: [string, string][]; how: 'inner' | 'left'; whereLeft?: string; whereRight?: string }[] = [
  { on: [['big', 'big']], how: 'inner' },
  { on: [['big', 'big']], how: 'left' },
  { on: [['f', 'f']], how: 'inner' },
  { on: [['f', 'f']], how: 'left', whereLeft: 'v < 600' },
  { on: [['s', 's']], how: 'inner', whereRight: 'w != "w3"' },
  { on: [['s', 's'], ['d', 'd']], how: 'left' },
  { on: [['d', 'd']], how: 'inner', whereLeft: 'id < 1000', whereRight: 'id > 100' },
];

/** Every case pushed down equals the same join of the local twins. */
function sameJoins(get: () => { h: H; local: [string, string]; remote: [string, string]; via: string }) {
  for (const c of cases) {
    it(`${c.how} on ${c.on.map((k) => k.join('=')).join(',')}${c.whereLeft ? ` where-left ${c.whereLeft}` : ''}${c.whereRight ? ` where-right ${c.whereRight}` : ''}`, async () => {
      const { h, local, remote, via } = get();
      const a = await h.join({ left: local[0], right: local[1], ...c }, ctx());
      const b = await h.join({ left: remote[0], right: remote[1], ...c }, ctx());
      expect(a.via).toBe('native');
      expect(b.via).toBe(via);
      expect(b.rows).toBe(a.rows);
      expect(a.rows).toBeGreaterThan(0);
      expect({ l: b.leftRows, r: b.rightRows }).toEqual({ l: a.leftRows, r: a.rightRows });
      expect(b.overview.schema.fields.map((f) => f.name)).toEqual(a.overview.schema.fields.map((f) => f.name));
      expect(await rowsOf(h, b.overview.entry.id)).toEqual(await rowsOf(h, a.overview.entry.id));
    }, 60_000);
  }
}

describe.skipIf(!postgresAvailable())('joins on PostgreSQL', () => {
  let pg: PostgresServer;
  const h = createEngineHandlers({ home: join(dir, 'home-pg'), samplePath: null });
  const local: [string, string] = ['', ''], remote: [string, string] = ['', ''];
  beforeAll(async () => {
    pg = await startPostgres();
    for (const side of ['left', 'right'] as const) {
      await convert({ input: files[side], output: `postgresql://cdx:${pg.password}@127.0.0.1:${pg.port}/cdxdb::public.j${side}` });
    }
    h.setSecret({ url: pg.url, password: pg.password }, ctx());
    local[0] = (await h.open({ location: files.left }, ctx())).entry.id;
    local[1] = (await h.open({ location: files.right }, ctx())).entry.id;
    remote[0] = (await h.open({ location: `${pg.url}::public.jleft` }, ctx())).entry.id;
    remote[1] = (await h.open({ location: `${pg.url}::public.jright` }, ctx())).entry.id;
  }, 120_000);
  afterAll(async () => {
    h.close();
    await pg?.stop();
  });

  sameJoins(() => ({ h, local, remote, via: 'pushdown' }));

  it('the pushed-down join is a query dataset on the connection, named join(a, b) and tagged', async () => {
    const b = await h.join({ left: remote[0], right: remote[1], on: [['s', 's']] }, ctx());
    expect(b.overview.remote).toMatchObject({ kind: 'postgresql', relation: 'query' });
    expect(b.overview.entry.path).toMatch(/::\(SELECT .* INNER JOIN .*\)$/s);
    const e = (await h.listDatasets({}, ctx())).find((x) => x.id === b.overview.entry.id)!;
    expect(e.name).toBe('join(public.jleft, public.jright)');
    expect(e.tags).toContain('join');
  });

  it('across sources: a local file with a PostgreSQL table (its filter run there) equals the local join', async () => {
    for (const c of [cases[1]!, cases[4]!, { on: [['f', 'f']] as [string, string][], how: 'left' as const, whereRight: 'id < 400' }]) {
      const a = await h.join({ left: local[0], right: local[1], ...c }, ctx());
      const b = await h.join({ left: local[0], right: remote[1], ...c }, ctx());
      expect(b.via).toBe('cross-source');
      expect({ rows: b.rows, l: b.leftRows, r: b.rightRows, m: b.matched }).toEqual({ rows: a.rows, l: a.leftRows, r: a.rightRows, m: a.matched });
      expect(await rowsOf(h, b.overview.entry.id)).toEqual(await rowsOf(h, a.overview.entry.id));
      const c2 = await h.join({ left: remote[0], right: local[1], ...c }, ctx());
      expect(await rowsOf(h, c2.overview.entry.id)).toEqual(await rowsOf(h, a.overview.entry.id));
    }
  }, 120_000);

  it('a database side with more rows than may be fetched is E_TOO_LARGE, saying so', async () => {
    const { Datasets } = await import('../datasets');
    const { RemoteDatasets } = await import('./remote');
    const store = new Datasets(join(dir, 'home-pg'), null);
    const rem = new RemoteDatasets(store.catalog);
    try {
      await expect(joinRequest({
        store, db: (id, signal) => rem.lookup(id, { signal }), openDb: (l, signal) => rem.open(l, { signal }),
        overviewOf: () => { throw new Error('no'); }, remoteOverview: () => { throw new Error('no'); }, maxFetchRows: 500,
      }, { left: local[0], right: remote[1], on: [['s', 's']] }, ctx())).rejects.toMatchObject({
        code: 'E_TOO_LARGE', message: expect.stringMatching(/jright \(the right side\) has 800 rows, more than 500 .*--where-right/),
      });
    } finally {
      await rem.close();
      store.close();
    }
  });
});

describe.skipIf(!clickhouseAvailable())('joins on a 2-shard ClickHouse cluster', () => {
  let ch: ClickHouseCluster;
  const h = createEngineHandlers({ home: join(dir, 'home-ch'), samplePath: null });
  const local: [string, string] = ['', ''], remote: [string, string] = ['', ''];
  beforeAll(async () => {
    ch = await startClickHouseCluster();
    for (const side of ['left', 'right'] as const) {
      const n = side === 'left' ? NL : NR;
      for (const i of [0, 1] as const) {
        await convert({
          input: files[side], where: i === 0 ? `id < ${n >> 1}` : `id >= ${n >> 1}`,
          output: `clickhouse://cdx:${ch.password}@127.0.0.1:${ch.http[i]}/default::default.j${side}_local`,
        });
      }
      await ch.query(`CREATE TABLE default.j${side} AS default.j${side}_local ENGINE = Distributed(${ch.cluster}, default, j${side}_local, rand())`, 0);
    }
    const url = `clickhouse://cdx@127.0.0.1:${ch.http[0]}/default`;
    h.setSecret({ url, password: ch.password }, ctx());
    local[0] = (await h.open({ location: files.left }, ctx())).entry.id;
    local[1] = (await h.open({ location: files.right }, ctx())).entry.id;
    remote[0] = (await h.open({ location: `${url}::jleft` }, ctx())).entry.id;
    remote[1] = (await h.open({ location: `${url}::jright` }, ctx())).entry.id;
  }, 120_000);
  afterAll(async () => {
    h.close();
    await ch?.stop();
  });

  sameJoins(() => ({ h, local, remote, via: 'pushdown' }));
});
