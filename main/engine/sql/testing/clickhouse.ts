/**
 * A real 2-shard ClickHouse cluster for tests, on loopback: two `clickhouse-server` processes, each
 * with its own folder under one mkdtemp dir (data, tmp, logs, config) and its own free ports (HTTP,
 * native TCP, interserver HTTP), listening on 127.0.0.1 only. Both share one `remote_servers`
 * config with the cluster `cdx`: two shards of one replica each (the two servers' TCP ports), so a
 * `Distributed('cdx', db, local_table)` table over a MergeTree table on each shard works.
 *
 * Users (the same on both servers, as a cluster needs):
 *   - `default`, no password, loopback only: the harness's own setup channel (`query()`) and the
 *     user the Distributed engine uses between the shards;
 *   - `cdx` with the password `CLICKHOUSE_TEST_PASSWORD` (stored as sha256 hex in users.xml);
 *   - `reader` with the password `READER_PASSWORD` and `readonly = 1`: may SELECT, but any INSERT,
 *     CREATE or setting change is refused (the permission-denied case).
 *
 * Debian's clickhouse-server 18.16 runs as root without complaint; as root we still run it as the
 * `clickhouse` OS user when one exists (spawn's uid/gid, the way its package runs it) and hand it
 * the folder.
 *
 * `stop()` kills both servers (SIGTERM, then SIGKILL after a grace period) and removes the folder; a
 * process exit before stop() does the same synchronously, so a killed test worker leaves no server.
 * When a server does not come up the error carries the tail of its logs.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './net';

export const CLICKHOUSE_TEST_PASSWORD = 'cdx-ch-secret';
export const READER_PASSWORD = 'reader-ch-secret';

export interface ClickHouseCluster {
  host: '127.0.0.1';
  /** the two servers' HTTP ports (server 0, server 1) */
  http: [number, number];
  /** the two servers' native TCP ports */
  tcp: [number, number];
  /** the cluster's name in remote_servers */
  cluster: 'cdx';
  /** the password of the user `cdx` */
  password: string;
  /** the read-only user */
  reader: { user: 'reader'; password: string };
  /** the mkdtemp folder holding both servers (s0/, s1/: data, config and logs) */
  dir: string;
  /**
   * Runs one statement as `default` over HTTP on server `serverIndex` (default 0) and returns the
   * body as text (TabSeparated unless the SQL says FORMAT). Throws with the server's message.
   */
  query(sql: string, serverIndex?: number): Promise<string>;
  stop(): Promise<void>;
}

export function clickhouseServerPath(): string | undefined {
  for (const p of ['/usr/sbin/clickhouse-server', '/usr/bin/clickhouse-server']) if (existsSync(p)) return p;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && existsSync(path.join(dir, 'clickhouse-server'))) return path.join(dir, 'clickhouse-server');
  }
  return undefined;
}

const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;

function clickhouseIds(): { uid: number; gid: number } | undefined {
  if (!asRoot) return undefined;
  const u = spawnSync('id', ['-u', 'clickhouse'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'clickhouse'], { encoding: 'utf8' });
  if (u.status !== 0 || g.status !== 0) return undefined;
  return { uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) };
}

/** Is a ClickHouse server startable here? */
export function clickhouseAvailable(): boolean {
  return clickhouseServerPath() !== undefined;
}


/** n distinct free ports */
async function freePorts(n: number): Promise<number[]> {
  const out = new Set<number>();
  while (out.size < n) out.add(await freePort());
  return [...out];
}

function sha256Hex(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

const NETWORKS = '<networks><ip>127.0.0.1</ip><ip>::1</ip></networks>';

function usersXml(): string {
  return `<?xml version="1.0"?>
<yandex>
  <profiles>
    <default><max_memory_usage>2000000000</max_memory_usage><load_balancing>random</load_balancing></default>
    <readonly><max_memory_usage>2000000000</max_memory_usage><readonly>1</readonly></readonly>
  </profiles>
  <users>
    <default><password></password>${NETWORKS}<profile>default</profile><quota>default</quota></default>
    <cdx><password_sha256_hex>${sha256Hex(CLICKHOUSE_TEST_PASSWORD)}</password_sha256_hex>${NETWORKS}<profile>default</profile><quota>default</quota></cdx>
    <reader><password>${READER_PASSWORD}</password>${NETWORKS}<profile>readonly</profile><quota>default</quota></reader>
  </users>
  <quotas>
    <default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default>
  </quotas>
</yandex>
`;
}

interface ServerPorts { http: number; tcp: number; inter: number }

function configXml(d: string, me: ServerPorts, shards: ServerPorts[]): string {
  const shardXml = shards
    .map((s) => `      <shard><replica><host>127.0.0.1</host><port>${s.tcp}</port></replica></shard>`)
    .join('\n');
  return `<?xml version="1.0"?>
<yandex>
  <logger><level>information</level><log>${d}/server.log</log><errorlog>${d}/error.log</errorlog><size>100M</size><count>1</count><console>0</console></logger>
  <http_port>${me.http}</http_port>
  <tcp_port>${me.tcp}</tcp_port>
  <interserver_http_port>${me.inter}</interserver_http_port>
  <interserver_http_host>127.0.0.1</interserver_http_host>
  <listen_host>127.0.0.1</listen_host>
  <max_connections>256</max_connections>
  <keep_alive_timeout>3</keep_alive_timeout>
  <max_concurrent_queries>64</max_concurrent_queries>
  <path>${d}/data/</path>
  <tmp_path>${d}/tmp/</tmp_path>
  <user_files_path>${d}/user_files/</user_files_path>
  <format_schema_path>${d}/format_schemas/</format_schema_path>
  <users_config>${d}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>53687091</mark_cache_size>
  <uncompressed_cache_size>53687091</uncompressed_cache_size>
  <mlock_executable>false</mlock_executable>
  <builtin_dictionaries_reload_interval>3600</builtin_dictionaries_reload_interval>
  <max_session_timeout>3600</max_session_timeout>
  <default_session_timeout>60</default_session_timeout>
  <remote_servers>
    <cdx>
${shardXml}
    </cdx>
  </remote_servers>
</yandex>
`;
}

function tail(file: string, bytes = 3000): string {
  try {
    const t = readFileSync(file, 'utf8');
    return t.length > bytes ? '…' + t.slice(-bytes) : t;
  } catch {
    return '';
  }
}

/** One HTTP request to a server as `default`; resolves with the body, rejects with the server's message. */
function httpQuery(port: number, sql: string, timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method: 'POST', path: '/?database=default', headers: { 'Content-Type': 'text/plain; charset=utf-8' }, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 200) reject(new Error(`ClickHouse (HTTP ${res.statusCode}) on port ${port}: ${body.trim()}`));
          else resolve(body);
        });
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`ClickHouse on port ${port}: no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(sql);
  });
}

function killHard(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) {
    try {
      child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

/** Stops a server: SIGTERM, SIGKILL after graceMs. Resolves when it has exited. */
function stopServer(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => killHard(child), graceMs);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    try {
      child.kill('SIGTERM');
    } catch {
      clearTimeout(t);
      resolve();
    }
  });
}

/**
 * Starts the two servers, waits until both answer and each sees the other through the cluster
 * (`SELECT count() FROM remote(…)` over `cluster('cdx', system.one)`), and returns the cluster.
 */
export async function startClickHouseCluster(): Promise<ClickHouseCluster> {
  const bin = clickhouseServerPath();
  if (!bin) throw new Error('clickhouse-server not found (/usr/sbin/clickhouse-server; Debian package clickhouse-server)');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cdx-ch-'));
  const ids = clickhouseIds();
  const children: ChildProcess[] = [];
  const onExit = () => {
    for (const c of children) killHard(c);
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  try {
    const [h0, t0, i0, h1, t1, i1] = await freePorts(6);
    const ports: ServerPorts[] = [
      { http: h0!, tcp: t0!, inter: i0! },
      { http: h1!, tcp: t1!, inter: i1! },
    ];
    if (ids) chownSync(dir, ids.uid, ids.gid);
    const dirs = ports.map((p, i) => {
      const d = path.join(dir, `s${i}`);
      for (const sub of ['data', 'tmp', 'user_files', 'format_schemas']) mkdirSync(path.join(d, sub), { recursive: true });
      writeFileSync(path.join(d, 'config.xml'), configXml(d, p, ports));
      writeFileSync(path.join(d, 'users.xml'), usersXml());
      if (ids) spawnSync('chown', ['-R', `${ids.uid}:${ids.gid}`, d]);
      return d;
    });
    for (const d of dirs) {
      const args = [`--config-file=${path.join(d, 'config.xml')}`];
      // the server itself is the child (uid/gid, not runuser): a kill reaches it, never orphans it
      const child = spawn(bin, args, { cwd: d, stdio: ['ignore', 'ignore', 'pipe'], ...(ids ? { uid: ids.uid, gid: ids.gid } : {}) });
      let stderr = '';
      child.stderr!.on('data', (c: Buffer) => {
        if (stderr.length < 8192) stderr += c.toString('utf8');
      });
      (child as ChildProcess & { stderrText: () => string }).stderrText = () => stderr;
      children.push(child);
    }
    const deadline = Date.now() + 60_000;
    for (let i = 0; i < 2; i++) {
      for (;;) {
        const child = children[i]!;
        try {
          if ((await httpQuery(ports[i]!.http, 'SELECT 1', 2000)).trim() === '1') break;
        } catch {
          /* not up yet */
        }
        if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
          const why = child.exitCode !== null || child.signalCode !== null ? `exited (${child.exitCode ?? child.signalCode})` : 'did not answer in 60 s';
          const stderr = (child as ChildProcess & { stderrText: () => string }).stderrText();
          throw new Error(
            `clickhouse-server ${i} (http ${ports[i]!.http}, tcp ${ports[i]!.tcp}) ${why}\n` +
              `--- stderr ---\n${stderr.slice(-2000)}\n--- ${dirs[i]}/error.log ---\n${tail(path.join(dirs[i]!, 'error.log'))}\n--- server.log ---\n${tail(path.join(dirs[i]!, 'server.log'))}`,
          );
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    // each shard reachable from server 0 through the cluster definition
    const seen = (await httpQuery(ports[0]!.http, "SELECT count() FROM cluster('cdx', system.one)")).trim();
    if (seen !== '2') throw new Error(`the cluster 'cdx' answered ${seen} shards, expected 2`);
    let stopped = false;
    return {
      host: '127.0.0.1',
      http: [ports[0]!.http, ports[1]!.http],
      tcp: [ports[0]!.tcp, ports[1]!.tcp],
      cluster: 'cdx',
      password: CLICKHOUSE_TEST_PASSWORD,
      reader: { user: 'reader', password: READER_PASSWORD },
      dir,
      query: (sql: string, serverIndex = 0) => {
        const p = ports[serverIndex];
        if (!p) return Promise.reject(new Error(`no server ${serverIndex} (0 or 1)`));
        return httpQuery(p.http, sql);
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        process.off('exit', onExit);
        try {
          await Promise.all(children.map((c) => stopServer(c)));
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    };
  } catch (e) {
    process.off('exit', onExit);
    await Promise.all(children.map((c) => stopServer(c, 1000)));
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
