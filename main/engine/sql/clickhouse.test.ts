/**
 * ClickHouseConnection against a real 2-shard cluster on loopback (testing/clickhouse.ts): a
 * MergeTree table on each shard and a Distributed table over them; values, listing, describe, and
 * every error case, each checked against what the servers themselves say.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CdxError } from '../../../shared/errors';
import { ClickHouseConnection, keyColumns, quoteChIdent, quoteChString, unescapeTsv } from './clickhouse';
import { clickhouseAvailable, startClickHouseCluster, type ClickHouseCluster } from './testing/clickhouse';
import { parseDbLocation } from './url';
import { freePort } from './testing/net';

async function errorOf(p: Promise<unknown> | (() => Promise<unknown>)): Promise<CdxError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    expect(e).toBeInstanceOf(CdxError);
    return e as CdxError;
  }
  throw new Error('expected an error');
}


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('TSV cells and quoting (no server)', () => {
  it('undoes every escape ClickHouse writes, \\N alone is NULL', () => {
    expect(unescapeTsv('a\\tb\\nc\\\\d\\\'e\\0f\\bg\\fh\\ri')).toBe("a\tb\nc\\d'e\0f\bg\fh\ri");
    expect(unescapeTsv('\\N')).toBeNull();
    expect(unescapeTsv('\\\\N')).toBe('\\N');
    expect(quoteChString("a'b\\c\0d")).toBe("'a\\'b\\\\c\\0d'");
    expect(quoteChIdent('a`b\\c d;')).toBe('`a\\`b\\\\c d;`');
  });
  it('reads the leading plain columns of a sorting key', () => {
    expect(keyColumns('id, d', ['id', 'd'])).toEqual(['id', 'd']);
    expect(keyColumns('(id, intHash32(x), d)', ['id', 'x', 'd'])).toEqual(['id']);
    expect(keyColumns('tuple()', ['id'])).toEqual([]);
    expect(keyColumns('`a b`, c', ['a b', 'c'])).toEqual(['a b', 'c']);
  });
});

describe.skipIf(!clickhouseAvailable())('ClickHouseConnection on a 2-shard cluster', () => {
  let ch: ClickHouseCluster;
  let conn: ClickHouseConnection;
  let url: string;
  const conns: ClickHouseConnection[] = [];
  const open = (u: string, password?: string) => {
    const c = new ClickHouseConnection(parseDbLocation(u).location, { password: async () => password, connectTimeoutMs: 2000 });
    conns.push(c);
    return c;
  };

  // rows per shard: shard 0 holds odd ids, shard 1 even ids (inserted on each server's local table)
  const ROWS: [string, string, string, string, string][] = [
    ['1', 'plain', '0.1', '2020-01-02', '2020-01-02 03:04:05'],
    ['9007199254740993', 'tab\there, new\nline, back\\slash, quote\'', 'nan', '1970-01-02', '2001-09-09 03:46:40'],
    ['-9223372036854775808', 'Ünïcødé €😀 日本', 'inf', '2105-12-31', '2038-01-19 03:14:08'],
    ['4', 'NUL\0inside', '-inf', '2000-02-29', '2020-03-29 01:30:00'],
    ['5', '', '\\N', '2024-06-30', '2024-10-27 01:59:59'],
    ['6', '\\N literal text', '-0', '1999-12-31', '2024-10-27 02:00:00'],
  ];
  const values = (rows: typeof ROWS) =>
    rows
      .map(([id, name, x, d, ts]) => `(${id}, ${quoteChString(name)}, ${x === '\\N' ? 'NULL' : x === 'nan' ? 'nan' : x === 'inf' ? 'inf' : x === '-inf' ? '-inf' : x}, '${d}', '${ts}')`)
      .join(', ');

  beforeAll(async () => {
    const t0 = Date.now();
    ch = await startClickHouseCluster();
    console.log(`ClickHouse 2-shard cluster up in ${Date.now() - t0} ms`);
    for (const i of [0, 1]) {
      await ch.query(
        `CREATE TABLE default.events_local (id Int64, name String, x Nullable(Float64), d Date, ts DateTime('Europe/Paris'))
           ENGINE = MergeTree() PARTITION BY toYYYYMM(d) ORDER BY (id, d)`,
        i,
      );
      // ts is written as Paris wall-clock text, the server converts to its instant
      await ch.query(`INSERT INTO default.events_local VALUES ${values(ROWS.filter((_, k) => k % 2 === i))}`, i);
    }
    await ch.query(`CREATE TABLE default.events AS default.events_local ENGINE = Distributed(cdx, default, events_local, rand())`);
    await ch.query(`CREATE VIEW default.\`odd view; name\` AS SELECT id FROM default.events_local`);
    url = `clickhouse://cdx@127.0.0.1:${ch.http[0]}/default`;
    conn = open(url, ch.password);
  }, 90_000);

  afterAll(async () => {
    for (const c of conns) await c.close();
    await ch?.stop();
  });

  it('names the server version', async () => {
    expect(await conn.serverVersion()).toBe(`ClickHouse ${(await ch.query('SELECT version()')).trim()}`);
  });

  it('reads every value as the server writes it: int64 beyond 2^53, NULL, NaN, ±Inf, -0, dates, zoned times, Unicode, NUL', async () => {
    const r = await conn.query(`SELECT id, name, x, d, ts, toUnixTimestamp(ts) AS epoch FROM events ORDER BY id`);
    expect(r.columns).toEqual([
      { name: 'id', type: 'Int64' },
      { name: 'name', type: 'String' },
      { name: 'x', type: 'Nullable(Float64)' },
      { name: 'd', type: 'Date' },
      { name: 'ts', type: "DateTime('Europe/Paris')" },
      { name: 'epoch', type: 'UInt32' },
    ]);
    const want = [...ROWS].sort((a, b) => (BigInt(a[0]) < BigInt(b[0]) ? -1 : 1));
    expect(r.rows.map((row) => row.slice(0, 5))).toEqual(
      want.map(([id, name, x, d, ts]) => [id, name, x === '\\N' ? null : x, d, ts]),
    );
    // the instant of each Paris wall-clock time, as the server computes it (independent of our parser)
    const epochs = (await ch.query(`SELECT toUnixTimestamp(ts) FROM events ORDER BY id`)).trim().split('\n');
    expect(r.rows.map((row) => row[5])).toEqual(epochs);
    expect(Number(r.rows.find((row) => row[0] === '1')![5])).toBe(Date.UTC(2020, 0, 2, 2, 4, 5) / 1000);
  });

  it('lists tables, views and the Distributed table, with row counts from system.parts', async () => {
    const rels = await conn.listRelations();
    const local = (await ch.query('SELECT count() FROM events_local')).trim();
    expect(rels).toContainEqual({ inner: 'events_local', kind: 'table', rows: Number(local) });
    expect(rels).toContainEqual({ inner: 'events', kind: 'distributed' });
    expect(rels).toContainEqual({ inner: '"odd view; name"', kind: 'view' });
    expect(rels.some((r) => r.inner.startsWith('system.'))).toBe(false);
  });

  it('describes the Distributed table: columns, nullability, the local sorting key, rows over both shards', async () => {
    const rel = await conn.describe({ table: { name: 'events' } });
    expect(rel.kind).toBe('distributed');
    expect(rel.columns).toEqual([
      { name: 'id', type: 'Int64', nullable: false },
      { name: 'name', type: 'String', nullable: false },
      { name: 'x', type: 'Nullable(Float64)', nullable: true },
      { name: 'd', type: 'Date', nullable: false },
      { name: 'ts', type: "DateTime('Europe/Paris')", nullable: false },
    ]);
    expect(rel.key).toEqual(['id', 'd']);
    expect(rel.estimatedRows).toBe(Number((await ch.query('SELECT count() FROM events')).trim()));
    expect(rel.estimatedRows).toBe(ROWS.length);
    const loc = await conn.describe({ table: { schema: 'default', name: 'events_local' } });
    expect(loc.kind).toBe('table');
    expect(loc.key).toEqual(['id', 'd']);
    expect(loc.estimatedRows).toBe(Number((await ch.query('SELECT count() FROM events_local')).trim()));
  });

  it("describes a query's result columns", async () => {
    const rel = await conn.describe({ sql: 'SELECT id, x, toString(d) AS ds FROM events;' });
    expect(rel).toEqual({
      kind: 'query',
      key: [],
      columns: [
        { name: 'id', type: 'Int64', nullable: false },
        { name: 'x', type: 'Nullable(Float64)', nullable: true },
        { name: 'ds', type: 'String', nullable: false },
      ],
    });
    expect(conn.fromClause({ sql: 'SELECT 1;' })).toBe('(\nSELECT 1\n) AS q');
    expect(conn.fromClause({ table: { schema: 'my db', name: 'a`b' } })).toBe('`my db`.`a\\`b`');
  });

  it('streams in batches of the asked size, in bounded memory, over the Distributed table too', async () => {
    const sizes: number[] = [];
    let sum = 0n;
    for await (const b of conn.stream('SELECT number FROM system.numbers LIMIT 100000', { batchRows: 30_000 })) {
      expect(b.columns).toEqual([{ name: 'number', type: 'UInt64' }]);
      sizes.push(b.rows.length);
      for (const r of b.rows) sum += BigInt(r[0]!);
    }
    expect(sizes).toEqual([30_000, 30_000, 30_000, 10_000]);
    expect(sum).toBe(BigInt((await ch.query('SELECT sum(number) FROM numbers(100000)')).trim()));
    const ids: string[] = [];
    for await (const b of conn.stream('SELECT id FROM events ORDER BY id', { batchRows: 4 })) ids.push(...b.rows.map((r) => r[0]!));
    expect(ids).toEqual((await ch.query('SELECT id FROM events ORDER BY id')).trim().split('\n'));
    // an empty result: one batch with the columns and no rows
    const empty = [];
    for await (const b of conn.stream('SELECT id FROM events WHERE 0')) empty.push(b);
    expect(empty).toEqual([{ columns: [{ name: 'id', type: 'Int64' }], rows: [] }]);
  });

  it('raises the exception the server writes after a 200 and some rows (mid-stream failure)', async () => {
    let rows = 0;
    const e = await errorOf(async () => {
      for await (const b of conn.stream('SELECT number, throwIf(number = 150000) FROM system.numbers LIMIT 200000 SETTINGS max_block_size = 1000', { batchRows: 10_000 })) rows += b.rows.length;
    });
    expect(e.code).toBe('E_SQL');
    expect(e.message).toContain(url);
    expect(e.message).toMatch(/throwIf/);
    expect(rows).toBeLessThanOrEqual(150_000);
    // the same through query()
    expect((await errorOf(conn.query('SELECT number, throwIf(number = 150000) FROM system.numbers LIMIT 200000 SETTINGS max_block_size = 1000'))).code).toBe('E_SQL');
  });

  it('wrong password and unknown user: E_AUTH naming the connection, never the password', async () => {
    const e = await errorOf(open(url, 'hunter2-wrong').query('SELECT 1'));
    expect(e.code).toBe('E_AUTH');
    expect(e.message).toContain(url);
    expect(e.message).not.toContain('hunter2-wrong');
    const u = await errorOf(open(`clickhouse://nobody@127.0.0.1:${ch.http[0]}/default`, 'x').query('SELECT 1'));
    expect(u.code).toBe('E_AUTH');
    expect(u.message).toContain('nobody');
  });

  it('unreachable port: E_CONNECT', async () => {
    const port = await freePort();
    const e = await errorOf(open(`clickhouse://cdx@127.0.0.1:${port}/default`, 'x').query('SELECT 1'));
    expect(e.code).toBe('E_CONNECT');
    expect(e.message).toContain(`127.0.0.1:${port}`);
  });

  it('a table that does not exist: E_NO_TABLE naming it', async () => {
    const q = await errorOf(conn.query('SELECT * FROM no_such_table'));
    expect(q.code).toBe('E_NO_TABLE');
    expect(q.message).toContain('no_such_table');
    const d = await errorOf(conn.describe({ table: { name: 'no_such_table' } }));
    expect(d.code).toBe('E_NO_TABLE');
    expect(d.message).toContain(`${url}: no table or view default.no_such_table`);
  });

  it("a syntax error: E_SQL with the server's position in the user's text", async () => {
    const sql = 'SELECT id FROM events WHERE id = = 1';
    const e = await errorOf(conn.query(sql));
    expect(e.code).toBe('E_SQL');
    expect(e.position).toBe(sql.indexOf('= 1'));
    expect(e.message).toMatch(/Syntax error/);
    // describe wraps the query: the position is still in the user's text
    const multi = 'SELECT id\nFROM events\nWHERE id = = 1';
    const d = await errorOf(conn.describe({ sql: multi }));
    expect(d.code).toBe('E_SQL');
    expect(d.position).toBe(multi.indexOf('= 1'));
    expect(d.message).toContain('line 3 column 12');
  });

  it('a read-only user may read but not write: E_PERMISSION', async () => {
    const ro = open(`clickhouse://reader@127.0.0.1:${ch.http[0]}/default`, ch.reader.password);
    expect((await ro.query('SELECT count() FROM events')).rows).toEqual([[String(ROWS.length)]]);
    const ins = await errorOf(ro.query(`INSERT INTO events_local VALUES (99, 'x', 1, '2020-01-01', '2020-01-01 00:00:00')`));
    expect(ins.code).toBe('E_PERMISSION');
    expect(ins.message).toMatch(/readonly/i);
    const cr = await errorOf(ro.query('CREATE TABLE t_ro (a UInt8) ENGINE = Memory'));
    expect(cr.code).toBe('E_PERMISSION');
    expect(await ch.query("EXISTS TABLE t_ro")).toBe('0\n');
    expect(await ch.query('SELECT count() FROM events_local WHERE id = 99')).toBe('0\n');
  });

  it('timeoutMs is max_execution_time: E_TIMEOUT', async () => {
    const t0 = Date.now();
    const e = await errorOf(conn.query('SELECT count() FROM system.numbers', [], { timeoutMs: 300 }));
    expect(e.code).toBe('E_TIMEOUT');
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(e.message).toContain(url);
  });

  /** the ids of running queries whose text holds `marker` (an alias: 18.16 drops comments from system.processes), on server i */
  const running = async (marker: string, i = 0) =>
    (await ch.query(`SELECT query_id FROM system.processes WHERE query LIKE ${quoteChString(`%${marker}%`)} AND query NOT LIKE '%system.processes%'`, i)).trim().split('\n').filter(Boolean);

  it('cancel stops the query on both shards within 250 ms (KILL QUERY by query_id)', async () => {
    const marker = `cancel_${Date.now()}`;
    const ac = new AbortController();
    const p = conn.query(`SELECT count() AS ${marker} FROM cluster('cdx', system.numbers) WHERE number % 7 != 3`, [], { signal: ac.signal });
    p.catch(() => undefined);
    let ids: string[] = [];
    for (let i = 0; i < 200 && !ids.length; i++) {
      ids = await running(marker);
      if (!ids.length) await sleep(10);
    }
    expect(ids).toHaveLength(1);
    // the shard's part of the query runs under the initial query's id
    const onShard1 = async () => (await ch.query(`SELECT count() FROM system.processes WHERE initial_query_id = ${quoteChString(ids[0]!)} AND NOT is_initial_query`, 1)).trim();
    for (let i = 0; i < 200 && (await onShard1()) === '0'; i++) await sleep(10);
    expect(await onShard1()).toBe('1');
    const t0 = Date.now();
    ac.abort();
    const e = await errorOf(p);
    expect(e.code).toBe('E_CANCELLED');
    let gone = -1;
    let gone0 = -1;
    while (Date.now() - t0 < 2000) {
      const on0 = (await running(marker)).length;
      if (!on0 && gone0 < 0) gone0 = Date.now() - t0;
      if (on0 === 0 && (await onShard1()) === '0') {
        gone = Date.now() - t0;
        break;
      }
      await sleep(5);
    }
    console.log(`cancelled query gone from server 0 after ${gone0} ms, from both shards' system.processes after ${gone} ms`);
    expect(gone).toBeGreaterThanOrEqual(0);
    expect(gone).toBeLessThan(250);
  });

  it('leaving a stream early stops the server query', async () => {
    const marker = `break_${Date.now()}`;
    for await (const b of conn.stream(`SELECT number AS ${marker} FROM system.numbers`, { batchRows: 1000 })) {
      expect(b.rows.length).toBe(1000);
      break;
    }
    const t0 = Date.now();
    while ((await running(marker)).length && Date.now() - t0 < 2000) await sleep(5);
    expect(await running(marker)).toEqual([]);
    expect(Date.now() - t0).toBeLessThan(250);
  });

  it('a connection dropped in the middle of a stream: E_CONNECTION_LOST', async () => {
    // a TCP relay to server 0 that cuts both sides after 256 KiB of the answer
    const relay = net.createServer((client) => {
      const up = net.connect(ch.http[0], '127.0.0.1');
      let n = 0;
      client.pipe(up);
      up.on('data', (c: Buffer) => {
        n += c.length;
        client.write(c);
        if (n > 256 * 1024) {
          client.destroy();
          up.destroy();
        }
      });
      up.on('error', () => client.destroy());
      client.on('error', () => up.destroy());
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', () => r()));
    const port = (relay.address() as net.AddressInfo).port;
    try {
      const c = open(`clickhouse://cdx@127.0.0.1:${port}/default`, ch.password);
      let rows = 0;
      const e = await errorOf(async () => {
        for await (const b of c.stream('SELECT number, toString(number) FROM system.numbers LIMIT 5000000', { batchRows: 10_000 })) rows += b.rows.length;
      });
      expect(e.code).toBe('E_CONNECTION_LOST');
      expect(e.message).toContain(`127.0.0.1:${port}`);
      expect(rows).toBeGreaterThan(0);
      expect(rows).toBeLessThan(5_000_000);
    } finally {
      relay.close();
    }
  });

  it('insertStream loads a streamed TabSeparated body; a bad row is the server error', async () => {
    await ch.query('CREATE TABLE default.loaded (a Int64, s String) ENGINE = MergeTree() ORDER BY a');
    const enc = new TextEncoder();
    async function* body() {
      for (let i = 0; i < 50; i++) {
        let chunk = '';
        for (let j = 0; j < 1000; j++) chunk += `${i * 1000 + j}\ttext\\t${j}\\\\\n`;
        yield enc.encode(chunk);
      }
    }
    await conn.insertStream('INSERT INTO default.loaded FORMAT TabSeparated', body(), { table: 'default.loaded' });
    expect((await ch.query('SELECT count(), sum(a), any(s) FROM loaded WHERE a = 1001')).trim()).toBe('1\t1001\ttext\\t1\\\\');
    expect((await ch.query('SELECT count() FROM loaded')).trim()).toBe('50000');
    async function* bad() {
      yield enc.encode('1\tok\nnot-a-number\tx\n');
    }
    const e = await errorOf(conn.insertStream('INSERT INTO default.loaded FORMAT TabSeparated', bad(), { table: 'default.loaded' }));
    expect(e.code).toBe('E_SQL');
    expect(e.message).toContain(`${url} (default.loaded)`);
  });
});
