/**
 * The PostgreSQL test harness itself: it starts a real server that asks for a SCRAM password over
 * TCP, has the roles and tables the database tests rely on, and leaves nothing behind when stopped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import pg from 'pg';
import { postgresAvailable, startPostgres, type PostgresServer } from './postgres';

describe.skipIf(!postgresAvailable())('PostgreSQL test harness', () => {
  let srv: PostgresServer;
  beforeAll(async () => {
    srv = await startPostgres();
  }, 120_000);
  afterAll(async () => {
    await srv?.stop();
  });

  async function connect(cfg: pg.ClientConfig): Promise<pg.Client> {
    const c = new pg.Client({ host: srv.host, port: srv.port, database: srv.database, connectionTimeoutMillis: 10_000, ...cfg });
    await c.connect();
    return c;
  }

  it('refuses a connection without the password, and a wrong one', async () => {
    await expect(connect({ user: 'cdx' })).rejects.toThrow(/password/i);
    await expect(connect({ user: 'cdx', password: 'wrong' })).rejects.toThrow(/password authentication failed/);
  });

  it('accepts the password over SCRAM and the role owns its database', async () => {
    const c = await connect({ user: srv.user, password: srv.password });
    try {
      const r = await c.query('SELECT current_user AS u, current_database() AS d');
      expect(r.rows[0]).toEqual({ u: 'cdx', d: 'cdxdb' });
    } finally {
      await c.end();
    }
    expect((await srv.psql("SELECT rolpassword LIKE 'SCRAM-SHA-256$%' FROM pg_authid WHERE rolname = 'cdx'")).trim()).toBe('t');
    expect((await srv.psql("SELECT datdba::regrole::text FROM pg_database WHERE datname = 'cdxdb'")).trim()).toBe('cdx');
  });

  it('listens on 127.0.0.1 only', async () => {
    expect((await srv.psql('SHOW listen_addresses')).trim()).toBe('127.0.0.1');
  });

  it('reader may connect but not read private_data', async () => {
    const c = await connect({ user: srv.reader.user, password: srv.reader.password });
    try {
      await expect(c.query(`SELECT * FROM ${srv.reader.table}`)).rejects.toMatchObject({ code: '42501' });
    } finally {
      await c.end();
    }
    expect((await srv.psql(`SELECT note FROM ${srv.reader.table}`)).trim()).toBe('not for readers');
  });

  it('psql throws with the server message', async () => {
    await expect(srv.psql('SELECT * FROM no_such_table')).rejects.toThrow(/no_such_table.*does not exist/);
  });

  it('stop() stops the server and removes the folder', async () => {
    const other = await startPostgres();
    const dir = other.dir;
    expect(existsSync(dir)).toBe(true);
    await other.stop();
    expect(existsSync(dir)).toBe(false);
    await expect(
      (async () => {
        const c = new pg.Client({ host: '127.0.0.1', port: other.port, user: 'cdx', password: other.password, database: 'cdxdb', connectionTimeoutMillis: 3000 });
        await c.connect();
      })(),
    ).rejects.toThrow(/ECONNREFUSED/);
  }, 120_000);
});
