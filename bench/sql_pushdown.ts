/**
 * Benchmark `sql_pushdown` (issue 12): a table of opts.rows rows (id int64 key, x and y Float64, a
 * category string with 8 values of skewed frequency, a timestamp) computed where it lives — a real
 * PostgreSQL (startPostgres; table public.t with a primary key on id) and a real 2-shard ClickHouse
 * cluster (startClickHouseCluster; MergeTree `edge_local` ORDER BY id on each shard, half the rows
 * each, and a Distributed table `t` over them) — against pulling the rows into the engine.
 *
 * The data is loaded with each server's own bulk path (INSERT … SELECT over generate_series /
 * numbers(), no row crosses from here) from one deterministic formula that PostgreSQL, ClickHouse
 * and JavaScript evaluate bit for bit alike: integer mixing in 31 bits (products stay under 2^53)
 * and IEEE double +, −, ×, / in a fixed order (see `mixJs` and its SQL twins).
 *
 * Product path: the engine's handlers exactly as the app calls them (setSecret, open, summary of
 * every column, density 1024×1024 on x, y), the median of opts.reps runs each. The dataset code is
 * main/engine/sql/dataset.ts: the server aggregates, only results travel.
 * Baseline "pull", over the same client code (SqlConnection.stream of the server): for the density,
 * every (x, y) row streamed and binned here by a plain JS loop into a Uint32Array grid with the
 * kernels' cell definition (the grid is compared cell by cell with the pushdown's, so the two
 * measure the same thing); for the summary, every column's rows streamed into Arrow record batches
 * as an export would (SqlDataset.batches) — a LOWER BOUND: the local summary's own time is not added.
 * vs.pull = pull time / pushdown time (target for the density: ≥ 10). When the density misses it,
 * the figure's note says where the time goes (server time of the same query, from EXPLAIN ANALYZE
 * on PostgreSQL, the same query with FORMAT Null on ClickHouse, against the round trip).
 *
 * Wire bytes: a counting TCP proxy between the engine and each server (the dataset opened a second
 * time through the proxy's port) counts the bytes from the server to CDX during one density
 * request; vs.cells = those bytes / (non-empty cells × 8 bytes: a 4-byte cell index and a 4-byte
 * count); target ≤ 2 (LOWER is better here, unlike the other ratios; vs.target2x = 2 / vs.cells > 1 =
 * target met).
 *
 *   npx tsx bench/run.ts --only sql_pushdown --pushdown-rows 1000000 --json
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Figure } from './figure';
import type { HandlerContext } from '../shared/rpc';
import { createEngineHandlers } from '../main/engine/service';
import { makeConnection } from '../main/engine/sql/remote';
import { parseDbLocation } from '../main/engine/sql/url';
import { SqlDataset } from '../main/engine/sql/dataset';
import type { SqlConnection } from '../main/engine/sql/types';
import { postgresAvailable, startPostgres, type PostgresServer } from '../main/engine/sql/testing/postgres';
import { clickhouseAvailable, startClickHouseCluster, type ClickHouseCluster } from '../main/engine/sql/testing/clickhouse';

const M31 = 0x7fffffff;
const MULS = [1664525, 1103515, 2015179] as const; // odd, < 2^21: h·m < 2^52 stays exact in a double
const SHIFTS = [15, 13, 16, 14] as const;
const CATEGORIES = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel'];
const TS0 = 1577836800; // 2020-01-01 UTC
const GRID = 1024;
/** the density's viewport: the data's extent (x in (-1, 1), y in [-0.5, 1)) */
const VIEW = { x0: -1, x1: 1, y0: -0.5, y1: 1 };

/** the integer mixer in JS: h in [0, 2^31) → [0, 2^31) */
function mixJs(h: number): number {
  for (let r = 0; r < 3; r++) h = ((h ^ (h >>> SHIFTS[r]!)) * MULS[r]!) & M31;
  return h ^ (h >>> SHIFTS[3]);
}

/** one row's values in JS (what the servers store) */
export function rowJs(id: number): { x: number; y: number; cat: number; ts: number } {
  const u = [0, 1, 2, 3, 4].map((k) => mixJs(id * 5 + k) / 2147483648);
  const x = u[0]! + u[1]! - 1;
  const y = x * x * 0.5 + (u[2]! + u[3]! - 1) * 0.5;
  return { x, y, cat: Math.floor(u[4]! * u[4]! * 8), ts: TS0 + ((id * 37) % 31536000) };
}

/**
 * The SELECT producing rows [lo, lo + n) in a dialect. The mixer's nested text repeats h, so each
 * round is its own subquery level (OFFSET 0 keeps PostgreSQL from flattening them back together).
 */
function loadSelect(pg: boolean, lo: number, n: number): string {
  const src = pg ? `(SELECT g::int8 AS id FROM generate_series(${lo}, ${lo + n - 1}) g) s0` : `(SELECT toInt64(number + ${lo}) AS id FROM numbers(${n})) s0`;
  const fence = pg ? ' OFFSET 0' : '';
  const ks = [0, 1, 2, 3, 4];
  // level 1: the seeds; levels 2-4: the three rounds; level 5: the final xor-shift, scaled to [0, 1)
  let q = `SELECT id, ${ks.map((k) => `(id * 5 + ${k}) AS h${k}`).join(', ')} FROM ${src}`;
  for (let r = 0; r < 3; r++) {
    const cols = ks.map((k) => (pg ? `(((h${k} # (h${k} >> ${SHIFTS[r]})) * ${MULS[r]}) & ${M31}) AS h${k}` : `bitAnd(bitXor(h${k}, bitShiftRight(h${k}, ${SHIFTS[r]})) * ${MULS[r]}, ${M31}) AS h${k}`));
    q = `SELECT id, ${cols.join(', ')} FROM (${q}${fence}) s${r + 1}`;
  }
  const fin = ks.map((k) => (pg ? `((h${k} # (h${k} >> ${SHIFTS[3]}))::float8 / 2147483648.0) AS u${k}` : `(toFloat64(bitXor(h${k}, bitShiftRight(h${k}, ${SHIFTS[3]}))) / 2147483648.0) AS u${k}`));
  q = `SELECT id, ${fin.join(', ')} FROM (${q}${fence}) s4`;
  const xe = `((u0 + u1) - 1.0)`;
  const cats = pg ? `(ARRAY[${CATEGORIES.map((c) => `'${c}'`).join(', ')}])[1 + floor((u4 * u4) * 8.0)::int]` : `arrayElement([${CATEGORIES.map((c) => `'${c}'`).join(', ')}], toUInt32(1 + floor((u4 * u4) * 8.0)))`;
  const ts = pg ? `to_timestamp(${TS0} + (id * 37) % 31536000)` : `toDateTime(toUInt32(${TS0} + (id * 37) % 31536000))`;
  return `SELECT id, ${xe} AS x, ((((${xe}) * (${xe})) * 0.5) + (((u2 + u3) - 1.0) * 0.5)) AS y, ${cats} AS category, ${ts} AS ts FROM (${q}${fence}) s5`;
}

/** JS grid of the same data, for the check (cells as dataset.ts computes them) */
function cellOf(x: number, y: number, sx: number, sy: number): number {
  if (Number.isNaN(x) || Number.isNaN(y)) return -2;
  if (!(x >= VIEW.x0 && x < VIEW.x1 && y >= VIEW.y0 && y < VIEW.y1)) return -1;
  return Math.min(Math.floor((y - VIEW.y0) * sy), GRID - 1) * GRID + Math.min(Math.floor((x - VIEW.x0) * sx), GRID - 1);
}

// ------------------------------------------------------------------------------------------------
/** A TCP proxy on loopback that counts the bytes from the server to the client. */
async function countingProxy(port: number): Promise<{ port: number; bytes: () => number; reset: () => void; close: () => Promise<void> }> {
  let down = 0;
  const socks = new Set<net.Socket>();
  const srv = net.createServer((client) => {
    const up = net.connect(port, '127.0.0.1');
    socks.add(client).add(up);
    up.on('data', (b: Buffer) => { down += b.length; });
    client.pipe(up);
    up.pipe(client);
    const end = () => { client.destroy(); up.destroy(); socks.delete(client); socks.delete(up); };
    client.on('error', end).on('close', end);
    up.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve, reject) => srv.once('error', reject).listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (srv.address() as net.AddressInfo).port,
    bytes: () => down,
    reset: () => { down = 0; },
    close: () => new Promise<void>((resolve) => { for (const s of socks) s.destroy(); srv.close(() => resolve()); }),
  };
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]!; };
const ctx = (): HandlerContext => ({ signal: new AbortController().signal, progress: () => {}, connection: 'bench' });

interface DbUnderTest {
  kind: 'postgresql' | 'clickhouse';
  /** label in figure names */
  tag: 'postgresql' | 'clickhouse';
  url: (port: number) => string;
  table: string;
  port: number;
  password: string;
  /** server time of one SQL statement (ms), or null when unknown */
  serverMs: (sql: string) => Promise<number | null>;
}

async function measure(db: DbUnderTest, rows: number, reps: number, log: (m: string) => void): Promise<Figure[]> {
  const home = mkdtempSync(join(tmpdir(), 'cdx-bench-pushdown-home-'));
  const h = createEngineHandlers({ home, samplePath: null });
  const proxy = await countingProxy(db.port);
  const conn: SqlConnection = makeConnection(parseDbLocation(`${db.url(db.port)}::${db.table}`).location, db.password);
  const figures: Figure[] = [];
  try {
    // ---- the product path
    h.setSecret({ url: db.url(db.port), password: db.password }, ctx());
    const ov = await h.open({ location: `${db.url(db.port)}::${db.table}` }, ctx());
    const id = ov.entry.id;
    if (ov.rows !== rows) throw new Error(`${db.tag}: the table has ${ov.rows} rows, expected ${rows}`);
    const dp = { dataset: id, x: 'x', y: 'y', ...VIEW, width: GRID, height: GRID };
    // capture the density's SQL once (dataset.ts prints it under CDX_SQL_DEBUG), for the server-time breakdown
    let densitySql = '';
    {
      const orig = console.error;
      process.env.CDX_SQL_DEBUG = '1';
      // (each line: `[sql N ms] SQL`)
      console.error = (...a: unknown[]) => { if (typeof a[0] === 'string' && a[0].includes('__cell')) densitySql = a[0].replace(/^\[sql \d+ ms\] /, ''); };
      try { await h.density(dp, ctx()); } finally { console.error = orig; delete process.env.CDX_SQL_DEBUG; }
    }
    const dTimes: number[] = [];
    let dens!: Awaited<ReturnType<typeof h.density>>;
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      dens = await h.density(dp, ctx());
      dTimes.push(performance.now() - t0);
    }
    const densMs = median(dTimes);
    let cells = 0;
    for (let i = 0; i < dens.counts.length; i++) if (dens.counts[i]! > 0) cells++;
    log(`${db.tag}: density ${GRID}x${GRID} pushdown ${dTimes.map((t) => t.toFixed(0)).join(', ')} ms; ${cells} non-empty cells, ${dens.binned} binned`);
    const sTimes: number[] = [];
    let summaryCols = 0;
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      const s = await h.summary({ dataset: id }, ctx());
      sTimes.push(performance.now() - t0);
      summaryCols = s.columns.length;
    }
    const sumMs = median(sTimes);
    log(`${db.tag}: summary of ${summaryCols} columns pushdown ${sTimes.map((t) => t.toFixed(0)).join(', ')} ms`);

    // ---- wire bytes of one density request, through the counting proxy
    const purl = db.url(proxy.port);
    h.setSecret({ url: purl, password: db.password }, ctx());
    const pid = (await h.open({ location: `${purl}::${db.table}` }, ctx())).entry.id;
    proxy.reset();
    const pd = await h.density({ ...dp, dataset: pid }, ctx());
    const wire = proxy.bytes();
    if (pd.binned !== dens.binned) log(`warning: ${db.tag}: the proxied density binned ${pd.binned}, direct ${dens.binned}`);
    const vsCells = wire / (cells * 8);
    log(`${db.tag}: density answer ${wire} bytes on the wire for ${cells} cells (${(cells * 8)} bytes): ${vsCells.toFixed(2)}x`);

    // ---- baseline: pull (x, y) and bin here
    const sx = GRID / (VIEW.x1 - VIEW.x0), sy = GRID / (VIEW.y1 - VIEW.y0);
    const grid = new Uint32Array(GRID * GRID);
    let pulled = 0, loopMs = 0;
    const p0 = performance.now();
    for await (const b of conn.stream(`SELECT x, y FROM ${db.table}`)) {
      const l0 = performance.now();
      for (const r of b.rows) {
        const c = cellOf(r[0] == null ? NaN : Number(r[0]), r[1] == null ? NaN : Number(r[1]), sx, sy);
        if (c >= 0) grid[c]!++;
      }
      pulled += b.rows.length;
      loopMs += performance.now() - l0;
    }
    const pullMs = performance.now() - p0;
    let diff = 0;
    for (let i = 0; i < grid.length; i++) if (grid[i] !== dens.counts[i]) diff++;
    if (pulled !== rows) throw new Error(`${db.tag}: pulled ${pulled} rows, expected ${rows}`);
    if (diff) log(`warning: ${db.tag}: the pulled grid differs from the pushdown's in ${diff} cells`);
    log(`${db.tag}: pull of (x, y) ${pullMs.toFixed(0)} ms (parse + bin here ${loopMs.toFixed(0)} ms, the rest waiting on the driver: server, transfer, decode)`);

    // ---- baseline: pull every column into Arrow batches (summary lower bound)
    const loc = parseDbLocation(`${db.url(db.port)}::${db.table}`).location;
    const rel = await conn.describe({ table: loc.table! });
    const sds = new SqlDataset({ conn, location: loc, relation: rel, serverVersion: await conn.serverVersion() });
    let pulledAll = 0;
    const q0 = performance.now();
    for await (const b of sds.batches(sds.columns.map((c) => c.field.name), undefined)) pulledAll += b.numRows;
    const pullAllMs = performance.now() - q0;
    if (pulledAll !== rows) throw new Error(`${db.tag}: pulled ${pulledAll} rows of every column, expected ${rows}`);
    log(`${db.tag}: pull of every column into Arrow ${pullAllMs.toFixed(0)} ms`);

    // ---- where the density's time goes when it misses the target
    const vsPull = pullMs / densMs;
    let why = '';
    if (vsPull < 10 && densitySql) {
      const srvMs = await db.serverMs(densitySql).catch((e: unknown) => { log(`server time unavailable: ${(e as Error).message.split('\n')[0]}`); return null; });
      if (srvMs !== null) why = `; below target: the server alone (its answer discarded there, least of 2) takes ${srvMs.toFixed(0)} ms against the ${densMs.toFixed(0)} ms round trip (the rest transfer + parse), while the pull spends ${loopMs.toFixed(0)} ms parsing+binning here and ${(pullMs - loopMs).toFixed(0)} ms in the driver/server`;
    }
    const n = rows.toExponential(2);
    figures.push({
      name: `sql_pushdown_density_${db.tag}`,
      value: +densMs.toFixed(1),
      unit: 'ms',
      vs: { pull: +vsPull.toFixed(2) },
      note: `${n} rows, ${GRID}x${GRID} on x, y, median of ${reps} (${cells} non-empty cells, ${dens.binned} binned); pull of (x, y) + JS binning ${pullMs.toFixed(0)} ms, once (parse+bin ${loopMs.toFixed(0)} ms); grids ${diff ? `DIFFER in ${diff} cells` : 'equal cell by cell'}${why}`,
    });
    figures.push({
      name: `sql_pushdown_summary_${db.tag}`,
      value: +sumMs.toFixed(1),
      unit: 'ms',
      vs: { pull: +(pullAllMs / sumMs).toFixed(2) },
      note: `${n} rows, all ${summaryCols} columns, median of ${reps}; baseline = pulling every column into Arrow batches once (${pullAllMs.toFixed(0)} ms), a lower bound: the local summary's time not added`,
    });
    figures.push({
      name: `sql_pushdown_wire_${db.tag}`,
      value: wire,
      unit: 'bytes',
      vs: { cells: +vsCells.toFixed(3), target2x: +(2 / vsCells).toFixed(2) },
      note: `server→CDX bytes during one density request (counting proxy) against ${cells} non-empty cells × 8 bytes; vs.cells lower is better (target ≤ 2)`,
    });
  } finally {
    await conn.close().catch(() => undefined);
    h.close();
    await proxy.close();
    rmSync(home, { recursive: true, force: true });
  }
  return figures;
}

// ------------------------------------------------------------------------------------------------
async function loadPostgres(pg: PostgresServer, rows: number, log: (m: string) => void): Promise<void> {
  const t0 = performance.now();
  await pg.psql('SET ROLE cdx; CREATE TABLE public.t (id int8 NOT NULL, x float8, y float8, category text, ts timestamptz)');
  // two loaders at once (one per core), then the key and the statistics
  const half = Math.ceil(rows / 2);
  await Promise.all([[0, half], [half, rows - half]].filter(([, n]) => n! > 0).map(([lo, n]) => pg.psql(`SET ROLE cdx; INSERT INTO public.t ${loadSelect(true, lo!, n!)}`)));
  await pg.psql('SET ROLE cdx; ALTER TABLE public.t ADD PRIMARY KEY (id)');
  await pg.psql('VACUUM ANALYZE public.t');
  log(`postgresql: loaded ${rows} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

async function loadClickHouse(ch: ClickHouseCluster, rows: number, log: (m: string) => void): Promise<void> {
  const t0 = performance.now();
  const half = Math.ceil(rows / 2);
  await Promise.all([0, 1].map(async (i) => {
    await ch.query('CREATE TABLE default.edge_local (id Int64, x Float64, y Float64, category String, ts DateTime) ENGINE = MergeTree ORDER BY id', i);
    const [lo, n] = i === 0 ? [0, half] : [half, rows - half];
    if (n > 0) await ch.query(`INSERT INTO default.edge_local ${loadSelect(false, lo, n)}`, i);
    await ch.query('OPTIMIZE TABLE default.edge_local FINAL', i);
    await ch.query(`CREATE TABLE default.t AS default.edge_local ENGINE = Distributed(${ch.cluster}, default, edge_local, id)`, i);
  }));
  log(`clickhouse: loaded ${rows} rows on 2 shards in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

/** checks a few rows of a server against the JS formula (the data is the same everywhere) */
function checkRows(tag: string, got: string[][]): void {
  for (const [ids, xs, ys, cs] of got) {
    const r = rowJs(Number(ids));
    if (Number(xs) !== r.x || Number(ys) !== r.y || cs !== CATEGORIES[r.cat]) throw new Error(`${tag}: row ${ids} is (${xs}, ${ys}, ${cs}), the formula gives (${r.x}, ${r.y}, ${CATEGORIES[r.cat]})`);
  }
}

export async function benchSqlPushdown(opts: { rows: number; reps: number; log: (m: string) => void }): Promise<Figure[]> {
  process.env.CDX_NO_KEYCHAIN = '1'; // secrets for this session only
  const { rows, reps, log } = opts;
  const out: Figure[] = [];
  const probe = [0, 1, 7, Math.floor(rows / 2), rows - 1].filter((v, i, a) => v < rows && a.indexOf(v) === i);

  if (!postgresAvailable()) log('sql_pushdown: PostgreSQL binaries not found (Debian package postgresql): its figures are skipped');
  else {
    let pg: PostgresServer | undefined;
    try {
      pg = await startPostgres();
      await loadPostgres(pg, rows, log);
      const sample = (await pg.psql(`SELECT id, x, y, category FROM public.t WHERE id IN (${probe.join(', ')}) ORDER BY id`)).trim().split('\n').map((l) => l.split('|'));
      checkRows('postgresql', sample);
      const srv = pg;
      out.push(...(await measure({
        kind: 'postgresql', tag: 'postgresql', table: 'public.t', port: pg.port, password: pg.password,
        url: (port) => `postgresql://cdx@127.0.0.1:${port}/cdxdb`,
        serverMs: async (sql) => {
          // the plan's shape once in the log (spills, workers), then the least of two execution times
          // the settings the engine's session and its density query use (postgres.ts, dataset.ts)
          const set = `SET ROLE cdx; SET work_mem = '128MB'; SET enable_hashagg = off;`;
          const plan = await srv.psql(`${set} EXPLAIN (ANALYZE, TIMING OFF) ${sql}`);
          log(`postgresql: density plan: ${plan.split('\n').filter((l) => /Aggregate|Batches|Workers|Sort|Scan|Execution Time/.test(l)).map((l) => l.trim().replace(/\s+/g, ' ').slice(0, 160)).join(' | ')}`);
          let best = Infinity;
          for (let i = 0; i < 2; i++) {
            const j = await srv.psql(`${set} EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) ${sql}`);
            best = Math.min(best, (JSON.parse(j) as { 'Execution Time': number }[])[0]!['Execution Time']);
          }
          return best;
        },
      }, rows, reps, log)));
    } finally {
      await pg?.stop();
    }
  }

  if (!clickhouseAvailable()) log('sql_pushdown: clickhouse-server not found (Debian package clickhouse-server): its figures are skipped');
  else {
    let ch: ClickHouseCluster | undefined;
    try {
      ch = await startClickHouseCluster();
      await loadClickHouse(ch, rows, log);
      const sample = (await ch.query(`SELECT id, x, y, category FROM default.t WHERE id IN (${probe.join(', ')}) ORDER BY id`)).trim().split('\n').map((l) => l.split('\t'));
      checkRows('clickhouse', sample);
      const srv = ch;
      out.push(...(await measure({
        kind: 'clickhouse', tag: 'clickhouse', table: 't', port: ch.http[0], password: ch.password,
        url: (port) => `clickhouse://cdx@127.0.0.1:${port}/default`,
        serverMs: async (sql) => {
          // the same statement with its answer discarded on the server (FORMAT Null): compute without transfer
          let best = Infinity;
          for (let i = 0; i < 2; i++) {
            const t0 = performance.now();
            await srv.query(`${sql} FORMAT Null`, 0);
            best = Math.min(best, performance.now() - t0);
          }
          return best;
        },
      }, rows, reps, log)));
    } finally {
      await ch?.stop();
    }
  }
  return out;
}
