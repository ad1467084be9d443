/**
 * Crash injection: the engine process is killed (SIGKILL: no exit handler, no clean-up) at random
 * moments while it ingests, summarises, exports and writes the catalog — 100 times in all, over two
 * lanes (each its own forked engine and data folder) so that the restarts overlap. The delays come
 * from a seeded generator (CDX_CRASH_SEED; the seed is printed, so a failure can be replayed; the
 * count is CDX_CRASH_KILLS). After every kill:
 *  - the supervising side (forked.ts over supervisor.ts, what the app and `cdx serve` run) is alive,
 *    says the engine crashed, starts a new one, and a later request works;
 *  - no stray temporary file of the killed engine is left in the cache or beside an output once
 *    the new engine has started (its start sweeps them: durable.ts);
 *  - every export target is either absent or whole: byte for byte the reference export (itself
 *    checked against DuckDB's reading of the source);
 *  - the datasets reopen with values equal to DuckDB's (a torn cache would be re-read, never used);
 *  - the catalog passes SQLite's `PRAGMA integrity_check`, holds each location once, and every
 *    catalog write the engine had answered before the kill is there (writes cut off may or may not
 *    be: both are consistent).
 * The engine runs from a bundle of the sources made here (esbuild, dependencies external): a
 * restart from TypeScript through tsx takes several times longer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { RpcClient } from '../../shared/rpc';
import { ENGINE_STATE_EVENT, type DatasetSummary, type EngineApi, type EngineStateEvent } from '../../shared/api';
import { ForkedEngine } from './forked';
import { appRoot } from './paths';
import { pidAlive, tempOwner } from './durable';
import { duckdb } from './sources/testing/oracle';

const SEED = Number(process.env.CDX_CRASH_SEED ?? 16_2024) >>> 0;
const KILLS = Number(process.env.CDX_CRASH_KILLS ?? 100);
const LANES = 2;
const BIG_ROWS = 20_000;
const BIG = 3;
const TINY = 6;
const CONNS = 4;
const FORMATS = ['csv', 'parquet', 'arrow'] as const;

/** mulberry32: a small seeded generator (the same kills for the same seed). */
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let dir = '';
let bundle: { entry: string; execArgv: string[] } | null = null;
let bundleDir = '';

/**
 * Pure-JavaScript dependencies bundled with the engine, as the app's build does (electron.vite.config.ts
 * BUNDLED_DEPS: Node imports a package's files one by one, apache-arrow alone some 300); the rest
 * (native add-ons, WebAssembly, the AWS SDK) stay external, loaded from node_modules.
 */
const BUNDLED_DEPS = ['apache-arrow', 'hyparquet', 'hyparquet-compressors', 'fzstd', 'yauzl', 'pg', 'pg-copy-streams', 'pg-cursor', 'commander', 'cli-progress', 'd3-array', 'd3-scale', 'd3-scale-chromatic'];

/** The engine and its worker bundled from the sources (what electron-vite builds for the app, without the app). */
async function bundleEngine(): Promise<{ entry: string; execArgv: string[] } | null> {
  try {
    const { build } = await import('esbuild');
    const pkg = JSON.parse(readFileSync(path.join(appRoot(), 'package.json'), 'utf8')) as { dependencies?: object; devDependencies?: object };
    const external = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {})]
      .filter((d) => !BUNDLED_DEPS.includes(d)).flatMap((d) => [d, `${d}/*`]);
    bundleDir = mkdtempSync(path.join(appRoot(), 'node_modules', '.cache-cdx-crash-'));
    await build({
      entryPoints: { engine: path.join(appRoot(), 'main/engine/index.ts'), 'blocking-worker': path.join(appRoot(), 'main/engine/blocking-worker.ts') },
      bundle: true, platform: 'node', format: 'esm', target: 'node20', splitting: true, external, outdir: bundleDir, logLevel: 'error',
      // apache-arrow says it has no side effects, but installs its Node stream adapters by assignment (see electron.vite.config.ts)
      ignoreAnnotations: true,
      // CommonJS dependencies (pg, yauzl) require Node's modules
      banner: { js: "import { createRequire as __cdxRequire } from 'node:module'; const require = __cdxRequire(import.meta.url);" },
    });
    return { entry: path.join(bundleDir, 'engine.js'), execArgv: [] };
  } catch (e) {
    console.log(`[crash] no bundle (${(e as Error).message.split('\n')[0]}); the engine runs from source`);
    return null;
  }
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cdx-crash-'));
  bundle = await bundleEngine();
}, 120_000);
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  if (bundleDir) rmSync(bundleDir, { recursive: true, force: true });
});

interface Expected {
  count: number;
  min: number;
  max: number;
  sum: number;
}

/** Every name under `root` that is one of the engine's temporary names. */
function tempsUnder(root: string, depth = 4): string[] {
  const out: string[] = [];
  let entries;
  try {
    entries = readdirSync(root, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const full = path.join(root, e.name);
    if (tempOwner(e.name) !== null) out.push(full);
    else if (e.isDirectory() && depth > 0) out.push(...tempsUnder(full, depth - 1));
  }
  return out;
}

/** CPU seconds a running process has used (Linux /proc; 0 elsewhere). */
function engineCpu(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in clock ticks (100 per second)
  } catch {
    return 0;
  }
}

interface Outcome {
  ok: boolean;
  code?: string;
  message?: string;
}

async function settle(p: Promise<unknown>): Promise<Outcome> {
  try {
    await p;
    return { ok: true };
  } catch (e) {
    const err = e as { code?: string; message?: string };
    return { ok: false, code: err.code, message: err.message };
  }
}

class Lane {
  readonly home: string;
  readonly data: string;
  readonly out: string;
  engine!: ForkedEngine;
  api!: RpcClient<EngineApi>['api'];
  states: EngineStateEvent[] = [];
  big: string[] = [];
  expected: Expected[] = [];
  tiny: string[] = [];
  refs = new Map<string, Buffer>();
  /** what the catalog must hold for each tiny file / connection: true, false, or null (a write was cut off) */
  tinyIn: (boolean | null)[] = [];
  connIn: (boolean | null)[] = [];
  /** the outcome of every call cut off by a kill, by its error code */
  cut = new Map<string, number>();
  unexpected: string[] = [];
  survived = 0;
  kills = 0;
  /** CPU seconds the killed engines used (Linux) */
  cpu = 0;
  checks = { outputs: 0, outputsPresent: 0, summaries: 0, catalog: 0 };

  constructor(readonly n: number, readonly rand: () => number) {
    const base = path.join(dir, `lane${n}`);
    this.home = path.join(base, 'home');
    this.data = path.join(base, 'data');
    this.out = path.join(base, 'out');
    for (const d of [this.home, this.data, this.out]) mkdirSync(d, { recursive: true });
  }

  start(): void {
    this.engine = new ForkedEngine({
      ...(bundle ?? {}),
      env: { CDX_HOME: this.home, CDX_BACKGROUND_WORK: '0' },
      // the kills are the test's own: no crash cap, no growing back-off, no watchdog
      maxCrashes: 1_000_000, crashWindowMs: 1000, backoffMs: 1, watchdog: false,
    });
    this.engine.onState((s) => this.states.push(s));
    this.engine.start();
    const client = new RpcClient<EngineApi>(this.engine.connect());
    client.on(ENGINE_STATE_EVENT, (d) => {
      const s = d as EngineStateEvent;
      if (s.failCalls) client.failAll({ code: s.failCalls, message: s.reason ?? 'the engine stopped' });
    });
    this.api = client.api;
  }

  async prepare(): Promise<void> {
    const db = (await duckdb())!;
    for (let k = 0; k < BIG; k++) {
      const f = path.join(this.data, `big${k}.csv`);
      const lines = ['id,x,y,s'];
      for (let i = 0; i < BIG_ROWS; i++) lines.push(`${i},${((i * 7919 + k * 131) % 100_003) - 50_000},${(i * 0.25 + k).toFixed(2)},w${(i + k) % 211}`);
      writeFileSync(f, lines.join('\n') + '\n');
      this.big.push(f);
      const [r] = await db.all(`SELECT count(*), min(x), max(x), sum(x) FROM read_csv('${f}')`);
      this.expected.push({ count: Number(r![0]), min: Number(r![1]), max: Number(r![2]), sum: Number(r![3]) });
    }
    for (let j = 0; j < TINY; j++) {
      const f = path.join(this.data, `tiny${j}.csv`);
      writeFileSync(f, `a,b\n${j},x\n${j + 1},y\n`);
      this.tiny.push(f);
      this.tinyIn.push(false);
    }
    for (let j = 0; j < CONNS; j++) this.connIn.push(false);
    // the reference exports, each checked against DuckDB's reading of the source
    const id = (await this.api.open({ location: this.big[0]! })).entry.id;
    for (const fmt of FORMATS) {
      const ref = path.join(this.data, `ref.${fmt}`);
      await this.api.exportDataset({ dataset: id, output: ref });
      this.refs.set(fmt, readFileSync(ref));
    }
    const e = this.expected[0]!;
    for (const [fmt, read] of [['csv', 'read_csv'], ['parquet', 'read_parquet']] as const) {
      const [r] = await db.all(`SELECT count(*), min(x), max(x), sum(x) FROM ${read}('${path.join(this.data, `ref.${fmt}`)}')`);
      expect([Number(r![0]), Number(r![1]), Number(r![2]), Number(r![3])]).toEqual([e.count, e.min, e.max, e.sum]);
    }
    db.close();
  }

  /** bumped at each kill: a round's calls stop there (a call made after the kill would wait for the next engine) */
  private epoch = 0;

  /** The engine's API for the calls of this round only: after its kill, a call fails at once (ROUND_OVER). */
  private roundApi(): RpcClient<EngineApi>['api'] {
    const epoch = this.epoch;
    return new Proxy(this.api, {
      get: (t, k) => {
        const f = (t as unknown as Record<string | symbol, (...a: unknown[]) => Promise<unknown>>)[k]!;
        return (...a: unknown[]) => (this.epoch !== epoch ? Promise.reject(Object.assign(new Error('the round is over'), { code: 'ROUND_OVER' })) : f(...a));
      },
    });
  }

  private async idOf(api: RpcClient<EngineApi>['api'], file: string): Promise<string | undefined> {
    return (await api.listDatasets({})).find((d) => d.path === file)?.id;
  }

  /** The calls of one round, started together; each records what it was cut off in. */
  private ops(): { name: string; run: () => Promise<unknown> }[] {
    const r = this.rand;
    const api = this.roundApi();
    const target = 1 + Math.floor(r() * (BIG - 1)); // ingested again this round; big0 is exported
    const other = target === 1 ? 2 : 1;
    const all = [
      {
        name: 'ingest', run: async () => {
          const id = await this.idOf(api, this.big[target]!);
          if (id) await api.removeDataset({ dataset: id });
          await api.open({ location: this.big[target]! });
        },
      },
      {
        name: 'summary', run: async () => {
          const id = (await api.open({ location: this.big[other]! })).entry.id;
          this.checkSummary(await api.summary({ dataset: id }), other, 'a summary before the kill');
        },
      },
      {
        name: 'export', run: async () => {
          const id = (await api.open({ location: this.big[0]! })).entry.id;
          const fmt = FORMATS[Math.floor(r() * FORMATS.length)]!;
          await api.exportDataset({ dataset: id, output: path.join(this.out, `out.${fmt}`), force: true });
        },
      },
      {
        name: 'catalog', run: async () => {
          // a burst of catalog writes: tiny datasets added and removed, connections saved and removed
          for (let i = 0; i < 12; i++) {
            if (r() < 0.6) {
              const j = Math.floor(r() * TINY);
              const was = this.tinyIn[j];
              this.tinyIn[j] = null;
              if (was === false || (was === null && r() < 0.5)) {
                await api.open({ location: this.tiny[j]! });
                this.tinyIn[j] = true;
              } else {
                const id = await this.idOf(api, this.tiny[j]!);
                if (id) await api.removeDataset({ dataset: id });
                this.tinyIn[j] = false;
              }
            } else {
              const j = Math.floor(r() * CONNS);
              const url = `https://c${j}.example/data/`;
              const was = this.connIn[j];
              this.connIn[j] = null;
              if (was === false || (was === null && r() < 0.5)) {
                await api.saveConnection({ url });
                this.connIn[j] = true;
              } else {
                await api.removeConnection({ url });
                this.connIn[j] = false;
              }
            }
          }
        },
      },
    ];
    const pick = all.filter(() => r() < 0.6);
    return pick.length ? pick : [all[Math.floor(r() * all.length)]!];
  }

  private checkSummary(s: DatasetSummary, k: number, when: string): void {
    const x = s.columns.find((c) => c.name === 'x');
    const e = this.expected[k]!;
    const got = { rows: s.rows, count: x?.count, min: Number(x?.min), max: Number(x?.max), sum: Math.round(Number(x?.mean) * (x?.count ?? 0)) };
    const want = { rows: e.count, count: e.count, min: e.min, max: e.max, sum: e.sum };
    if (JSON.stringify(got) !== JSON.stringify(want)) this.unexpected.push(`lane ${this.n}: big${k} ${when}: ${JSON.stringify(got)} != ${JSON.stringify(want)}`);
    this.checks.summaries++;
  }

  /** How long a round takes without a kill (the kills fall within it). */
  async calibrate(): Promise<number> {
    let longest = 0;
    for (let i = 0; i < 2; i++) {
      const t0 = Date.now();
      await Promise.all(this.ops().map((o) => o.run()));
      longest = Math.max(longest, Date.now() - t0);
    }
    return longest;
  }

  async round(window: number): Promise<void> {
    const ops = this.ops();
    const runs = ops.map((o) => settle(o.run()).then((r) => ({ name: o.name, ...r })));
    await sleep(Math.floor(this.rand() * window));
    const pid = this.engine.pid!;
    const seen = this.states.length;
    this.epoch++;
    this.cpu += engineCpu(pid);
    process.kill(pid, 'SIGKILL');
    this.kills++;
    for (const r of await Promise.all(runs)) {
      if (r.ok) continue;
      if (r.code === 'E_ENGINE_DIED') this.cut.set(r.name, (this.cut.get(r.name) ?? 0) + 1);
      else if (r.code === 'ROUND_OVER') this.cut.set(`${r.name} between calls`, (this.cut.get(`${r.name} between calls`) ?? 0) + 1);
      else this.unexpected.push(`lane ${this.n}: ${r.name} failed with ${r.code}: ${r.message}`);
    }
    // the supervising side: told of the crash, a new engine ready, a request answered
    const t0 = Date.now();
    while (!(this.states.slice(seen).some((s) => s.state === 'crashed') && this.engine.state.state === 'ready' && this.engine.pid !== pid)) {
      if (Date.now() - t0 > 30_000) {
        this.unexpected.push(`lane ${this.n}: no new engine 30 s after kill ${this.kills} (states: ${this.states.slice(seen).map((s) => s.state).join(' ')})`);
        return;
      }
      await sleep(5);
    }
    const info = await this.api.info({});
    if (info.pid === pid || !pidAlive(info.pid) || pidAlive(pid)) {
      this.unexpected.push(`lane ${this.n}: after kill ${this.kills} the engine is ${info.pid} (killed: ${pid})`);
      return;
    }
    this.survived++;
    await this.verify(pid);
  }

  /** What the killed engine left, seen by the new one and from outside. */
  async verify(killed: number): Promise<void> {
    // no temporary file of the killed engine (nor of any other) once the new one has started
    const stray = [...tempsUnder(path.join(this.home, 'cache')), ...tempsUnder(this.out)];
    if (stray.length) this.unexpected.push(`lane ${this.n}: after kill ${this.kills} (pid ${killed}) stray temporary files: ${stray.join(', ')}`);
    // outputs: absent or whole
    for (const fmt of FORMATS) {
      const f = path.join(this.out, `out.${fmt}`);
      this.checks.outputs++;
      if (!existsSync(f)) continue;
      this.checks.outputsPresent++;
      if (!readFileSync(f).equals(this.refs.get(fmt)!)) this.unexpected.push(`lane ${this.n}: after kill ${this.kills} ${f} is not the whole export`);
    }
    // the catalog: whole, each location once, every answered write there
    const db = new Database(path.join(this.home, 'catalog.sqlite'), { readonly: true, fileMustExist: true });
    try {
      const ic = db.pragma('integrity_check', { simple: true });
      if (ic !== 'ok') this.unexpected.push(`lane ${this.n}: integrity_check after kill ${this.kills}: ${String(ic)}`);
    } finally {
      db.close();
    }
    const list = await this.api.listDatasets({});
    const paths = list.map((d) => d.path);
    if (new Set(paths).size !== paths.length) this.unexpected.push(`lane ${this.n}: a location listed twice after kill ${this.kills}: ${paths.join(', ')}`);
    this.tiny.forEach((f, j) => {
      const has = paths.includes(f);
      if (this.tinyIn[j] !== null && this.tinyIn[j] !== has) this.unexpected.push(`lane ${this.n}: ${f} ${has ? 'listed' : 'missing'} after kill ${this.kills}; its last answered write said ${this.tinyIn[j] ? 'added' : 'removed'}`);
      this.tinyIn[j] = has; // a write cut off: either is consistent; from here on this is the state
    });
    const conns = (await this.api.listConnections({})).map((c) => c.url);
    for (let j = 0; j < CONNS; j++) {
      const has = conns.some((u) => u.startsWith(`https://c${j}.example/`));
      if (this.connIn[j] !== null && this.connIn[j] !== has) this.unexpected.push(`lane ${this.n}: connection c${j} ${has ? 'present' : 'missing'} after kill ${this.kills}; its last answered write said ${this.connIn[j] ? 'saved' : 'removed'}`);
      this.connIn[j] = has;
    }
    this.checks.catalog++;
    // the datasets: values equal DuckDB's (a torn cache is read again, never used)
    for (let k = 0; k < BIG; k++) {
      try {
        const id = (await this.api.open({ location: this.big[k]! })).entry.id;
        this.checkSummary(await this.api.summary({ dataset: id }), k, `after kill ${this.kills}`);
      } catch (e) {
        this.unexpected.push(`lane ${this.n}: big${k} after kill ${this.kills}: ${(e as Error).message}`);
      }
    }
  }
}

describe('crash injection', () => {
  it(`the engine SIGKILLed ${KILLS} times during ingests, summaries, exports and catalog writes: the host survives, nothing torn or stray is left`, async () => {
    console.log(`[crash] seed ${SEED} (CDX_CRASH_SEED), ${KILLS} kills over ${LANES} lanes, engine ${bundle ? 'bundled' : 'from source'}`);
    const t0 = Date.now();
    const master = rng(SEED);
    const lanes = Array.from({ length: LANES }, (_, n) => new Lane(n, rng(Math.floor(master() * 2 ** 32))));
    try {
      for (const l of lanes) l.start();
      await Promise.all(lanes.map((l) => l.prepare()));
      const windows = await Promise.all(lanes.map((l) => l.calibrate()));
      const window = Math.max(30, Math.round(1.3 * Math.max(...windows)));
      console.log(`[crash] a round takes up to ${Math.max(...windows)} ms: kills fall within ${window} ms of its start; set up in ${Date.now() - t0} ms`);
      await Promise.all(lanes.map(async (l, n) => {
        const mine = Math.floor(KILLS / LANES) + (n < KILLS % LANES ? 1 : 0);
        for (let i = 0; i < mine; i++) await l.round(window);
      }));
      const survived = lanes.reduce((s, l) => s + l.survived, 0);
      const kills = lanes.reduce((s, l) => s + l.kills, 0);
      const cut = new Map<string, number>();
      for (const l of lanes) for (const [k, v] of l.cut) cut.set(k, (cut.get(k) ?? 0) + v);
      const checks = lanes.map((l) => l.checks).reduce((a, b) => ({
        outputs: a.outputs + b.outputs, outputsPresent: a.outputsPresent + b.outputsPresent, summaries: a.summaries + b.summaries, catalog: a.catalog + b.catalog,
      }));
      console.log(`[crash] seed ${SEED}: survived ${survived}/${kills}; calls cut off: ${[...cut].map(([k, v]) => `${k} ${v}`).join(', ')}; ` +
        `outputs checked ${checks.outputs} (${checks.outputsPresent} present, all whole), summaries ${checks.summaries}, catalog checks ${checks.catalog}; ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      const cpu = lanes.reduce((s, l) => s + l.cpu, 0);
      if (cpu) console.log(`[crash] CPU time: the ${kills} killed engines ${cpu.toFixed(1)} s (${(cpu / kills).toFixed(2)} s each, start-up included), this process ${(process.cpuUsage().user / 1e6).toFixed(1)} s`);
      const unexpected = lanes.flatMap((l) => l.unexpected);
      expect(unexpected).toEqual([]);
      expect(kills).toBe(KILLS);
      expect(survived).toBe(KILLS);
      // the kills did land in the middle of each kind of work
      for (const k of ['ingest', 'summary', 'export', 'catalog']) expect([k, (cut.get(k) ?? 0) > 0]).toEqual([k, true]);
      // and the hosts still work after it all
      for (const l of lanes) expect((await l.api.listDatasets({})).length).toBeGreaterThanOrEqual(BIG);
    } finally {
      await Promise.all(lanes.map((l) => l.engine?.stop()));
    }
  }, 600_000);
});
