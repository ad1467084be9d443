/**
 * Benchmark `load` (issue 16): web mode under many clients. The built `cdx serve` (node
 * bin/cdx.mjs, its own data folder, the dataset's folder as --root) serves an Arrow file of `rows`
 * rows (x, y float32 uniform in [0, 1), v float64; 262,144-row record batches, mapped in place);
 * `clients` clients (default 50) each do what a page does — a one-time launch URL exchanged for a
 * session cookie, a WebSocket with that cookie and the page's Origin, the contract's frames over it
 * (shared/rpc.ts, as renderer/lib/transport.ts) — and issue, one after the other for `seconds`
 * (default 20), a mix of the page's requests: a column summary (half of them filtered by a random
 * `x > t`), a 200-row window at a random offset, and a 512 x 512 density over a random zoomed
 * viewport (a third with a filter). Each request has 60 s to be answered.
 *
 * Outcomes: answered; cleanly refused (rejected with an error code of the contract that says why:
 * busy, cancelled, a bad argument …); failed (disconnected, engine died or hung, an internal error,
 * no answer in time, a refused connection) — must be 0. Reported: requests answered per second,
 * p50 / p95 / p99 latency (all requests and per kind), and the peak resident memory of the server
 * (the web host and its engine process together, sampled every 100 ms from /proc).
 *
 *   npx tsx bench/run.ts --only load --reps 1 [--load-clients 50] [--load-seconds 20] [--load-rows 2e6]
 * needs `npm run build` (it runs the built `cdx serve`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Table, tableFromArrays, tableToIPC } from 'apache-arrow';
import WebSocket from 'ws';
import { RpcClient, type FramePort } from '../shared/rpc';
import { ENGINE_STATE_EVENT, type EngineApi, type EngineStateEvent } from '../shared/api';
import { errorCode } from '../shared/errors';
import { mintLaunchToken, newToken } from '../main/web/guard';
import { rng } from '../main/engine/sources/testing/util';
import type { Figure } from './figure';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..');
const BIN = join(ROOT, 'bin', 'cdx.mjs');
const BATCH = 262_144;
const CALL_TIMEOUT_MS = 60_000;

/** errors that say the server could not serve the request at all (not a clean refusal) */
const FAILURES = new Set(['E_DISCONNECTED', 'E_ENGINE_DIED', 'E_ENGINE_HUNG', 'E_INTERNAL', 'E_WIRE', 'E_NO_METHOD', 'E_BAD_REQUEST']);

type Kind = 'summary' | 'rows' | 'density';

/** DIR/load-N.arrow: x, y float32 uniform, v float64; reused when there */
function ensureData(dir: string, rows: number, log: (m: string) => void): string {
  const file = join(dir, `load-${rows}`, 'data.arrow');
  if (existsSync(file)) return file;
  mkdirSync(join(dir, `load-${rows}`), { recursive: true });
  log(`load: writing ${rows.toExponential(2)} rows -> ${file}`);
  const r = rng(16);
  const batches = [];
  for (let at = 0; at < rows; at += BATCH) {
    const n = Math.min(BATCH, rows - at);
    const x = new Float32Array(n), y = new Float32Array(n), v = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      x[i] = r();
      y[i] = (x[i]! + r()) / 2;
      v[i] = (r() + r() + r() - 1.5) * 100;
    }
    batches.push(...tableFromArrays({ x, y, v }).batches);
  }
  writeFileSync(file + '.tmp', tableToIPC(new Table(batches), 'file'));
  renameSync(file + '.tmp', file);
  return file;
}

/** resident memory (kB) of `pid` and every process below it */
function treeRssKb(pid: number): { total: number; root: number } {
  const kids = new Map<number, number[]>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const l = kids.get(ppid) ?? [];
      l.push(Number(d));
      kids.set(ppid, l);
    } catch {
      /* gone */
    }
  }
  const rss = (p: number) => {
    try {
      return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      return 0;
    }
  };
  let total = 0;
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop()!;
    total += rss(p);
    stack.push(...(kids.get(p) ?? []));
  }
  return { total, root: rss(pid) };
}

async function startServe(home: string, root: string, token: string): Promise<{ child: ChildProcess; base: string }> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--root', root], {
    cwd: ROOT,
    env: { ...process.env, CDX_HOME: home, CDX_TOKEN: token },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stderr!.on('data', (d) => (out += d));
  const base = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`cdx serve printed no URL in 60 s:\n${out}`)), 60_000);
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /(http:\/\/127\.0\.0\.1:\d+)\/\?token=/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`cdx serve exited (${code}):\n${out}`)));
  });
  return { child, base };
}

/** a page's connection: launch URL -> session cookie -> WebSocket with the page's Origin */
async function connect(base: string, token: string, onState: (s: EngineStateEvent) => void): Promise<{ client: RpcClient<EngineApi>; close(): void }> {
  const r = await fetch(`${base}/?token=${mintLaunchToken(token)}`, { redirect: 'manual' });
  const cookie = r.headers.get('set-cookie')?.split(';')[0];
  if (r.status !== 302 || !cookie) throw new Error(`the launch URL gave ${r.status}, no session`);
  const ws = new WebSocket(`${base.replace('http', 'ws')}/ws`, { headers: { cookie, origin: base }, perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_q, res) => reject(new Error(`WebSocket refused (${res.statusCode})`)));
    ws.once('error', reject);
  });
  const frames: ((f: Uint8Array) => void)[] = [];
  const closes: ((r: string) => void)[] = [];
  ws.on('message', (d: Buffer) => frames.forEach((l) => l(new Uint8Array(d.buffer, d.byteOffset, d.byteLength))));
  ws.on('close', (code, reason) => closes.forEach((l) => l(`closed ${code} ${reason}`)));
  ws.on('error', () => {});
  const port: FramePort = { send: (f) => ws.send(f), onFrame: (l) => void frames.push(l), onClose: (l) => void closes.push(l), close: () => ws.close() };
  const client = new RpcClient<EngineApi>(port);
  client.on(ENGINE_STATE_EVENT, (d) => {
    const s = d as EngineStateEvent;
    onState(s);
    if (s.failCalls) client.failAll({ code: s.failCalls, message: s.reason ?? 'engine stopped' });
  });
  return { client, close: () => ws.close() };
}

function pct(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export async function benchLoad(opts: { dir: string; clients?: number; seconds?: number; rows?: number; log?: (m: string) => void }): Promise<Figure[]> {
  const log = opts.log ?? (() => {});
  const clients = opts.clients ?? 50;
  const seconds = opts.seconds ?? 20;
  const rows = opts.rows ?? 2_000_000;
  if (!existsSync(join(ROOT, 'out', 'main', 'cli.js'))) {
    log('load: the app is not built (out/main/cli.js); run `npm run build` first — skipped');
    return [];
  }
  mkdirSync(opts.dir, { recursive: true });
  const file = ensureData(opts.dir, rows, log);
  const home = mkdtempSync(join(tmpdir(), 'cdx-load-home-'));
  const token = newToken();
  const { child, base } = await startServe(home, join(file, '..'), token);
  let exited: string | null = null;
  child.once('exit', (code, sig) => (exited = `cdx serve exited (${code ?? sig})`));
  let peak = { total: 0, root: 0 };
  const sampler = setInterval(() => {
    const r = treeRssKb(child.pid!);
    if (r.total > peak.total) peak = r;
  }, 100);
  const states: string[] = [];
  const lat: Record<Kind, number[]> = { summary: [], rows: [], density: [] };
  let answered = 0;
  let refused = 0;
  let failed = 0;
  const refusals = new Map<string, number>();
  const failures: string[] = [];
  const conns: { close(): void }[] = [];
  try {
    const first = await connect(base, token, () => {});
    conns.push(first);
    const ov = await first.client.api.open({ location: file });
    const dataset = ov.entry.id;
    log(`load: ${clients} clients for ${seconds} s on ${ov.rows.toLocaleString('en-US')} rows at ${base}`);
    const t0 = performance.now();
    const deadline = t0 + seconds * 1000;
    const one = async (idx: number) => {
      let c: Awaited<ReturnType<typeof connect>>;
      try {
        c = idx === 0 ? first : await connect(base, token, (s) => states.push(s.state));
        if (idx) conns.push(c);
      } catch (e) {
        failed++;
        failures.push(`connect: ${(e as Error).message}`);
        return;
      }
      const r = rng(1000 + idx);
      while (performance.now() < deadline && !exited) {
        const u = r();
        const kind: Kind = u < 0.3 ? 'summary' : u < 0.65 ? 'rows' : 'density';
        const signal = AbortSignal.timeout(CALL_TIMEOUT_MS);
        const t = performance.now();
        try {
          if (kind === 'summary') {
            const where = r() < 0.5 ? `x > ${r().toFixed(3)}` : undefined;
            await c.client.api.summary({ dataset, columns: [['x', 'y', 'v'][Math.floor(r() * 3)]!], where, bins: 64, topk: 10 }, { signal });
          } else if (kind === 'rows') {
            await c.client.api.rows({ dataset, offset: Math.floor(r() * (rows - 200)), limit: 200, columns: ['x', 'y', 'v'] }, { signal });
          } else {
            const w = 0.05 + r() * 0.95, h = 0.05 + r() * 0.95;
            const x0 = r() * (1 - w), y0 = r() * (1 - h);
            await c.client.api.density({ dataset, x: 'x', y: 'y', x0, x1: x0 + w, y0, y1: y0 + h, width: 512, height: 512, where: r() < 0.33 ? `v > ${(r() * 100 - 50).toFixed(1)}` : undefined }, { signal });
          }
          answered++;
          lat[kind].push(performance.now() - t);
        } catch (e) {
          const code = errorCode(e);
          if (signal.aborted || !code || FAILURES.has(code)) {
            failed++;
            if (failures.length < 10) failures.push(`${kind}: ${signal.aborted ? `no answer in ${CALL_TIMEOUT_MS / 1000} s` : `${code ?? ''} ${(e as Error).message}`}`);
          } else {
            refused++;
            refusals.set(code, (refusals.get(code) ?? 0) + 1);
          }
        }
      }
    };
    await Promise.all(Array.from({ length: clients }, (_, i) => one(i)));
    const wall = (performance.now() - t0) / 1000;
    // the server is still there and serves a fresh client
    const after = await connect(base, token, () => {});
    await after.client.api.info({});
    after.close();
    if (exited) {
      failed++;
      failures.push(exited);
    }
    const all = [...lat.summary, ...lat.rows, ...lat.density].sort((a, b) => a - b);
    const per = (k: Kind) => {
      const s = [...lat[k]].sort((a, b) => a - b);
      return `${k} ${s.length} (p50 ${pct(s, 50).toFixed(0)} / p95 ${pct(s, 95).toFixed(0)} / p99 ${pct(s, 99).toFixed(0)} ms)`;
    };
    const refusedText = refusals.size ? ` (${[...refusals].map(([k, n]) => `${k} ${n}`).join(', ')})` : '';
    const engineEvents = states.filter((s) => s !== 'ready' && s !== 'starting');
    const note =
      `${clients} clients, ${wall.toFixed(1)} s, ${rows.toLocaleString('en-US')} rows: answered ${answered}, cleanly refused ${refused}${refusedText}, failed ${failed}` +
      `${failures.length ? ` [${failures.slice(0, 5).join('; ')}]` : ''}; latency p50 ${pct(all, 50).toFixed(0)} / p95 ${pct(all, 95).toFixed(0)} / p99 ${pct(all, 99).toFixed(0)} ms; ` +
      `${per('summary')}, ${per('rows')}, ${per('density')}; server RSS peak ${(peak.total / 1024).toFixed(0)} MB (web host ${(peak.root / 1024).toFixed(0)} MB + engine)` +
      `${engineEvents.length ? `; engine states seen: ${[...new Set(engineEvents)].join(', ')}` : ''}`;
    log(`load: ${note}`);
    return [
      { name: 'load_requests_per_s', value: answered / wall, unit: 'req/s', vs: {}, note },
      { name: 'load_p95_ms', value: pct(all, 95), unit: 'ms', vs: {}, note: `p50 ${pct(all, 50).toFixed(1)} ms, p99 ${pct(all, 99).toFixed(1)} ms; failed ${failed} (must be 0), refused ${refused}` },
      { name: 'load_server_rss_peak', value: peak.total / 1024, unit: 'MB', vs: {}, note: `the web host ${(peak.root / 1024).toFixed(0)} MB and its engine process together, sampled every 100 ms` },
    ];
  } finally {
    clearInterval(sampler);
    for (const c of conns) c.close();
    if (child.exitCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    rmSync(home, { recursive: true, force: true });
  }
}
