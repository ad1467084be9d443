/**
 * A real PostgreSQL server for tests, on loopback: `initdb` into a fresh mkdtemp folder, a free
 * port on 127.0.0.1 only, its unix socket in that folder, passwords checked with SCRAM-SHA-256 over
 * TCP (what CDX's client meets in the field) and trust only for the superuser over the socket (the
 * harness's own setup channel, `psql()`). It makes:
 *   - role `cdx` (password `cdx-secret`) owning database `cdxdb`;
 *   - role `reader` (password `reader-secret`) that may connect to `cdxdb` but has no privilege on
 *     `public.private_data` (a table owned by `cdx` with one row): permission-denied tests.
 * fsync and friends are off and shared_buffers is small, so a server starts in about a second.
 *
 * We run as root in CI and PostgreSQL refuses to run as root, so initdb, pg_ctl and psql run as the
 * `postgres` OS user (`runuser -u postgres --`) and the folder is handed to that user. Not root:
 * everything runs as ourselves.
 *
 * `stop()` always stops the server (pg_ctl, then the postmaster's pid if pg_ctl failed) and removes
 * the folder; a process exit before stop() does the same synchronously, so a killed test worker
 * leaves no server behind.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, appendFileSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './net';

export interface PostgresServer {
  host: '127.0.0.1';
  port: number;
  user: 'cdx';
  password: string;
  database: 'cdxdb';
  /** postgresql://cdx@127.0.0.1:PORT/cdxdb (no secret) */
  url: string;
  /** the role without privileges on `private_data` */
  reader: { user: 'reader'; password: string; table: 'public.private_data' };
  /** the server's folder (data in `data/`, socket and log beside it) */
  dir: string;
  /**
   * Runs SQL as the superuser over the socket (psql -X -A -t -v ON_ERROR_STOP=1, in `db`, default
   * `cdxdb`) and returns its stdout: tuples only, unaligned, fields split by `|`, one row a line.
   * Throws with psql's stderr when a statement fails.
   */
  psql(sql: string, db?: string): Promise<string>;
  stop(): Promise<void>;
}

const PASSWORD = 'cdx-secret';
const READER_PASSWORD = 'reader-secret';

/** The folder holding initdb / pg_ctl / postgres / psql: the newest /usr/lib/postgresql/N/bin, else PATH. */
export function postgresBinDir(): string | undefined {
  const base = '/usr/lib/postgresql';
  try {
    const versions = readdirSync(base)
      .filter((v) => /^\d+(\.\d+)?$/.test(v) && existsSync(path.join(base, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions.length) return path.join(base, versions[0]!, 'bin');
  } catch {
    /* no Debian layout */
  }
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && existsSync(path.join(dir, 'initdb')) && existsSync(path.join(dir, 'pg_ctl'))) return dir;
  }
  return undefined;
}

function psqlPath(bin: string): string {
  if (existsSync(path.join(bin, 'psql'))) return path.join(bin, 'psql');
  return 'psql';
}

const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** Is a PostgreSQL server startable here (binaries found, and the `postgres` user when we are root)? */
export function postgresAvailable(): boolean {
  const bin = postgresBinDir();
  if (!bin || !existsSync(path.join(bin, 'pg_ctl'))) return false;
  if (!asRoot) return true;
  return spawnSync('id', ['-u', 'postgres']).status === 0 && spawnSync('runuser', ['--help']).status === 0;
}

/** argv for a command run as the server's OS user */
function asPostgres(cmd: string, args: string[]): [string, string[]] {
  return asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
}

function run(cmd: string, args: string[], input?: string, timeoutMs = 60_000): Promise<{ stdout: string; stderr: string }> {
  const [c, a] = asPostgres(cmd, args);
  return new Promise((resolve, reject) => {
    const child = execFile(c, a, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024, cwd: '/' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${path.basename(cmd)} failed: ${stderr.trim() || err.message}`));
      else resolve({ stdout, stderr });
    });
    if (input !== undefined) child.stdin!.end(input);
  });
}


function postgresIds(): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

/** Stops the server synchronously (exit handler, failed start): pg_ctl immediate, else kill the postmaster. */
function stopSync(bin: string, data: string): void {
  const [c, a] = asPostgres(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', '-t', '20', 'stop']);
  const r = spawnSync(c, a, { stdio: 'ignore', timeout: 30_000, cwd: '/' });
  if (r.status === 0) return;
  try {
    const pid = Number(readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    if (pid > 0) process.kill(pid, 'SIGKILL');
  } catch {
    /* not running */
  }
}

export async function startPostgres(): Promise<PostgresServer> {
  const bin = postgresBinDir();
  if (!bin) throw new Error('PostgreSQL binaries not found (/usr/lib/postgresql/N/bin or initdb on PATH)');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cdx-pg-'));
  const data = path.join(dir, 'data');
  const log = path.join(dir, 'server.log');
  let started = false;
  const onExit = () => {
    if (started) stopSync(bin, data);
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  try {
    if (asRoot) {
      const { uid, gid } = postgresIds();
      chownSync(dir, uid, gid);
    }
    await run(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync', '--auth-local=trust', '--auth-host=scram-sha-256'], undefined, 120_000);
    // only these: the superuser over the socket without a password (setup), everyone over loopback with SCRAM
    writeFileSync(
      path.join(data, 'pg_hba.conf'),
      ['local all postgres trust', 'local all all scram-sha-256', 'host all all 127.0.0.1/32 scram-sha-256', ''].join('\n'),
    );
    let port = 0;
    let lastErr: unknown;
    // a free port can be taken between asking and binding: try a few
    for (let attempt = 0; attempt < 4 && !started; attempt++) {
      port = await freePort();
      appendFileSync(
        path.join(data, 'postgresql.conf'),
        [
          '',
          `port = ${port}`,
          "listen_addresses = '127.0.0.1'",
          `unix_socket_directories = '${dir}'`,
          "password_encryption = 'scram-sha-256'",
          'fsync = off',
          'synchronous_commit = off',
          'full_page_writes = off',
          'shared_buffers = 16MB',
          'max_connections = 40',
          "log_min_messages = 'warning'",
          '',
        ].join('\n'),
      );
      try {
        await run(path.join(bin, 'pg_ctl'), ['-D', data, '-l', log, '-w', '-t', '60', 'start'], undefined, 90_000);
        started = true;
      } catch (e) {
        lastErr = e;
        // the server may have half-started: make sure it is gone before trying another port
        stopSync(bin, data);
      }
    }
    if (!started) {
      let tail = '';
      try {
        tail = readFileSync(log, 'utf8').slice(-2000);
      } catch {
        /* no log */
      }
      throw new Error(`PostgreSQL did not start: ${(lastErr as Error)?.message}\n${tail}`);
    }
    const psql = async (sql: string, db = 'cdxdb'): Promise<string> => {
      const { stdout } = await run(psqlPath(bin), ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', dir, '-p', String(port), '-U', 'postgres', '-d', db, '-f', '-'], sql);
      return stdout;
    };
    await psql(
      `CREATE ROLE cdx LOGIN PASSWORD '${PASSWORD}';
       CREATE ROLE reader LOGIN PASSWORD '${READER_PASSWORD}';
       CREATE DATABASE cdxdb OWNER cdx;`,
      'postgres',
    );
    await psql(
      `SET ROLE cdx;
       CREATE TABLE public.private_data (id integer PRIMARY KEY, note text);
       INSERT INTO public.private_data VALUES (1, 'not for readers');
       REVOKE ALL ON public.private_data FROM PUBLIC;
       RESET ROLE;`,
    );
    let stopped = false;
    return {
      host: '127.0.0.1',
      port,
      user: 'cdx',
      password: PASSWORD,
      database: 'cdxdb',
      url: `postgresql://cdx@127.0.0.1:${port}/cdxdb`,
      reader: { user: 'reader', password: READER_PASSWORD, table: 'public.private_data' },
      dir,
      psql,
      async stop() {
        if (stopped) return;
        stopped = true;
        process.off('exit', onExit);
        try {
          await run(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', '-t', '30', 'stop'], undefined, 45_000);
        } catch {
          stopSync(bin, data);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    };
  } catch (e) {
    process.off('exit', onExit);
    onExit();
    throw e;
  }
}
