/**
 * One process of the catalog's multi-process tests (catalog.multiprocess.test.ts), run as
 * `node --import tsx catalog-worker.ts JSON`. It prints `ready`, waits for a `go` line on stdin
 * (so that every process starts at once), then either
 * - `stress`: does `ops` mixed catalog operations (its own entries added, refreshed, renamed,
 *   tagged, summarised and removed; upserts of locations every process shares; lists, searches and
 *   reads; its own and shared connections saved and removed), or
 * - `migrate`: opens the catalog of each of `homes` (one `go` per home) and adds one entry,
 * and prints one JSON line: what it did (the state its own entries must be in afterwards, the ids
 * it got for shared locations) or the first error, with its code (SQLITE_BUSY included).
 */
import { createInterface } from 'node:readline';
import { Catalog } from '../catalog';

interface Args {
  mode: 'stress' | 'migrate';
  worker: number;
  home?: string;
  homes?: string[];
  ops?: number;
  shared?: number;
  seed?: number;
}

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const go = async (): Promise<void> => {
  process.stdout.write('ready\n');
  const l = await lines.next();
  if (l.done || l.value.trim() !== 'go') throw new Error(`expected "go", got ${JSON.stringify(l.value)}`);
};

/** mulberry32: the same operations for the same seed */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function stress(a: Args): Promise<unknown> {
  const w = a.worker;
  const rand = rng(a.seed ?? w + 1);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const cat = new Catalog(a.home!);
  await go();
  // what this process's own entries must be afterwards: location -> { id, name, size, tags }
  const mine = new Map<string, { id: string; name: string; size: number; tags: string[] }>();
  const sharedIds: Record<string, string> = {};
  const conns = new Set<string>();
  const counts: Record<string, number> = {};
  let next = 0;
  const t0 = Date.now();
  for (let i = 0; i < a.ops!; i++) {
    const r = rand();
    const own = [...mine.keys()];
    let op: string;
    if (r < 0.25 || own.length === 0) {
      op = 'add';
      const location = `/w${w}/f${next++}.csv`;
      const e = cat.upsert({ location, format: 'csv', size: 1, mtimeMs: 1 });
      mine.set(location, { id: e.id, name: e.name, size: 1, tags: [] });
    } else if (r < 0.35) {
      op = 'refresh';
      const loc = pick(own);
      const m = mine.get(loc)!;
      const size = m.size + 1;
      const e = cat.upsert({ location: loc, format: 'csv', size, mtimeMs: size, rows: size });
      if (e.id !== m.id) throw new Error(`upsert of ${loc} gave a new id`);
      m.size = size;
    } else if (r < 0.45) {
      op = 'shared';
      const loc = `/shared/s${Math.floor(rand() * a.shared!)}.csv`;
      const e = cat.upsert({ location: loc, format: 'csv', size: 7, mtimeMs: 7 });
      if (sharedIds[loc] && sharedIds[loc] !== e.id) throw new Error(`${loc} changed id: ${sharedIds[loc]} then ${e.id}`);
      sharedIds[loc] = e.id;
    } else if (r < 0.55) {
      op = 'rename';
      const m = mine.get(pick(own))!;
      m.name = `w${w}-renamed-${i}`;
      cat.rename(m.id, m.name);
    } else if (r < 0.62) {
      op = 'tags';
      const m = mine.get(pick(own))!;
      m.tags = [`w${w}`, `t${i % 5}`];
      cat.setTags(m.id, m.tags);
    } else if (r < 0.67) {
      op = 'summary';
      const m = mine.get(pick(own))!;
      cat.setSummary(m.id, { rows: m.size });
      cat.touch(m.id);
    } else if (r < 0.77) {
      op = 'remove';
      const loc = pick(own);
      const e = cat.remove(mine.get(loc)!.id);
      if (!e || e.location !== loc) throw new Error(`remove of ${loc} returned ${e?.location ?? null}`);
      mine.delete(loc);
    } else if (r < 0.8) {
      op = 'list';
      const all = cat.list();
      const seen = new Set(all.map((e) => e.location));
      if (seen.size !== all.length) throw new Error('list holds a location twice');
      for (const loc of own) if (!seen.has(loc)) throw new Error(`list lacks ${loc}`);
    } else if (r < 0.84) {
      op = 'search';
      const found = cat.list(`/w${w}/`).map((e) => e.location);
      if (found.length !== own.length) throw new Error(`search for this process's entries found ${found.length}, not ${own.length}`);
    } else if (r < 0.9) {
      op = 'get';
      const loc = pick(own);
      const m = mine.get(loc)!;
      const e = cat.byLocation(loc);
      if (!e || e.id !== m.id || e.name !== m.name || e.size !== m.size) throw new Error(`byLocation(${loc}) = ${JSON.stringify(e && { id: e.id, name: e.name, size: e.size })}, not ${JSON.stringify(m)}`);
    } else if (r < 0.95) {
      op = 'connection';
      if (conns.size && rand() < 0.4) {
        const url = pick([...conns]);
        if (!cat.removeConnection(url)) throw new Error(`removeConnection(${url}) found nothing`);
        conns.delete(url);
      } else {
        const url = `postgres://w${w}@host${i}/db`;
        const c = cat.saveConnection({ url, name: `w${w} ${i}`, kind: 'postgres', keep: 'none' });
        if (c.url !== url || c.name !== `w${w} ${i}`) throw new Error(`saveConnection read back ${JSON.stringify(c)}`);
        conns.add(url);
      }
    } else {
      op = 'shared-connection';
      const c = cat.saveConnection({ url: 'postgres://shared@host/db', name: 'shared', kind: 'postgres', keep: 'none' });
      if (c.url !== 'postgres://shared@host/db') throw new Error('shared connection not read back');
      cat.connections();
    }
    counts[op] = (counts[op] ?? 0) + 1;
  }
  const ms = Date.now() - t0;
  cat.close();
  return { ok: true, worker: w, ms, counts, mine: Object.fromEntries(mine), sharedIds, connections: [...conns] };
}

async function migrate(a: Args): Promise<unknown> {
  const ids: string[] = [];
  for (const home of a.homes!) {
    await go();
    const cat = new Catalog(home);
    ids.push(cat.upsert({ location: `/m/w${a.worker}.csv`, format: 'csv', size: 1, mtimeMs: 1 }).id);
    cat.close();
  }
  return { ok: true, worker: a.worker, ids };
}

try {
  const out = await (args.mode === 'migrate' ? migrate(args) : stress(args));
  process.stdout.write(JSON.stringify(out) + '\n');
} catch (e) {
  const err = e as Error & { code?: string };
  process.stdout.write(JSON.stringify({ ok: false, worker: args.worker, code: err.code ?? null, message: err.message, stack: err.stack }) + '\n');
  process.exitCode = 1;
}
process.stdin.destroy();
