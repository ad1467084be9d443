import { describe, expect, it } from 'vitest';
import type { ConnectionInfo } from '../../shared/api';
import type { CdxSecretsBridge } from '../../shared/bridge';
import { CdxError } from '../../shared/errors';
import { Connections } from './connections.svelte';
import type { EngineConnection } from './engine.svelte';

/** an engine that keeps connections in a map, as the contract says (no secret in the list) */
function fakeEngine() {
  const saved = new Map<string, ConnectionInfo>();
  const calls: { method: string; params: Record<string, unknown> }[] = [];
  const api = {
    listConnections: async () => [...saved.values()],
    saveConnection: async (p: { url: string; name?: string; password?: string; remember?: boolean; keep?: 'app' }) => {
      calls.push({ method: 'saveConnection', params: p });
      const secret = p.keep === 'app' ? 'app' : p.password === undefined ? saved.get(p.url)?.secret ?? 'none' : p.remember ? 'keychain' : 'session';
      const info: ConnectionInfo = { url: p.url, name: p.name ?? p.url, kind: p.url.startsWith('clickhouse') ? 'clickhouse' : 'postgresql', secret, addedAt: 1 };
      saved.set(p.url, info);
      return info;
    },
    testConnection: async (p: { url: string; password?: string }) => {
      calls.push({ method: 'testConnection', params: p });
      if (p.password === 'wrong') throw new CdxError('E_AUTH', `${p.url}: password authentication failed for user "ana"`);
      return { url: p.url, serverVersion: '15.4', tables: 3, ms: 12.4 };
    },
    removeConnection: async (p: { url: string }) => ({ removed: saved.delete(p.url) }),
  };
  return { engine: { api } as unknown as EngineConnection, saved, calls };
}

function fakeSecrets(available: boolean) {
  const kept = new Map<string, string>();
  const s: CdxSecretsBridge = {
    available: async () => available,
    keep: async (url, pw) => (kept.set(url, pw), true),
    forget: async (url) => void kept.delete(url),
  };
  return { s, kept };
}

describe('Connections', () => {
  it('adds a connection from the fields; the kind moves a default port; Test says version, tables and ms, or the error', async () => {
    const { engine, calls } = fakeEngine();
    const c = new Connections(engine, null);
    c.startAdd();
    c.form!.host = 'db1';
    c.form!.user = 'ana';
    c.form!.database = 'sales';
    c.setKind('clickhouse');
    expect(c.form!.port).toBe('8123');
    c.form!.port = '9000';
    c.setKind('postgresql');
    expect(c.form!.port).toBe('9000'); // typed by the user: kept
    c.form!.port = '5432';
    c.form!.password = 'wrong';
    await c.testForm();
    expect(c.formTest).toEqual({ ok: false, text: 'postgresql://ana@db1:5432/sales: password authentication failed for user "ana"' });
    c.form!.password = 's3cret';
    await c.testForm();
    expect(c.formTest).toEqual({ ok: true, text: 'PostgreSQL 15.4 · 3 tables and views · 12 ms' });
    c.form!.name = 'Sales';
    const info = await c.save();
    expect(info?.url).toBe('postgresql://ana@db1:5432/sales');
    expect(calls.at(-1)).toEqual({ method: 'saveConnection', params: { url: 'postgresql://ana@db1:5432/sales', name: 'Sales', password: 's3cret', remember: true } });
    expect(c.form).toBeNull();
    expect(c.list.map((x) => [x.name, x.secret])).toEqual([['Sales', 'keychain']]);
  });

  it('bad fields are refused before the engine is asked', async () => {
    const { engine, calls } = fakeEngine();
    const c = new Connections(engine, null);
    c.startAdd();
    c.form!.host = '';
    await c.testForm();
    expect(c.formError).toMatch(/host/);
    expect(await c.save()).toBeNull();
    expect(calls).toEqual([]);
  });

  it("in the desktop app a remembered password is kept by the app (safeStorage) and the engine told keep: 'app'; without encryption the engine keeps it", async () => {
    const { engine, calls } = fakeEngine();
    const { s, kept } = fakeSecrets(true);
    const c = new Connections(engine, s);
    c.startAdd();
    Object.assign(c.form!, { host: 'h', user: 'u', database: 'd', password: 'pw' });
    await c.save();
    expect(kept.get('postgresql://u@h:5432/d')).toBe('pw');
    expect(calls.at(-1)!.params).toEqual({ url: 'postgresql://u@h:5432/d', keep: 'app' });
    expect(JSON.stringify(calls)).not.toContain('"pw"');

    // edit: the host changes; the old connection and its kept password are forgotten
    c.startEdit(c.list[0]!);
    expect(c.form!.password).toBe('');
    Object.assign(c.form!, { host: 'h2', password: 'pw2' });
    await c.save();
    expect([...kept.keys()]).toEqual(['postgresql://u@h2:5432/d']);
    expect(c.list.map((x) => x.url)).toEqual(['postgresql://u@h2:5432/d']);
    await c.remove(c.list[0]!);
    expect(kept.size).toBe(0);
    expect(c.list).toEqual([]);

    const noEnc = new Connections(engine, fakeSecrets(false).s);
    noEnc.startAdd();
    Object.assign(noEnc.form!, { host: 'h', user: 'u', database: 'd', password: 'pw', remember: false });
    await noEnc.save();
    expect(calls.at(-1)!.params).toEqual({ url: 'postgresql://u@h:5432/d', password: 'pw', remember: false });
    expect(noEnc.list[0]!.secret).toBe('session');
  });

  it('an S3 bucket from its fields: the URL, a key needs its id, the remembered key kept by the app; an http(s) folder has no password', async () => {
    const { engine, calls } = fakeEngine();
    const { s, kept } = fakeSecrets(true);
    const c = new Connections(engine, s);
    c.startAdd('s3');
    Object.assign(c.form!, { bucket: 'logs', prefix: 'raw', endpoint: 'http://127.0.0.1:9000', region: 'us-east-1', password: 'sk' });
    expect(await c.save()).toBeNull();
    expect(c.formError).toBe('A secret key needs its access key id.');
    c.form!.keyId = 'AKIA9';
    expect(c.formUrl).toBe('s3://AKIA9@logs/raw/?endpoint=http%3A%2F%2F127.0.0.1%3A9000&region=us-east-1');
    await c.testForm();
    expect(calls.at(-1)).toEqual({ method: 'testConnection', params: { url: c.formUrl, password: 'sk' } });
    await c.save();
    const url = 's3://AKIA9@logs/raw/?endpoint=http%3A%2F%2F127.0.0.1%3A9000&region=us-east-1';
    expect(kept.get(url)).toBe('sk');
    expect(calls.at(-1)!.params).toEqual({ url, keep: 'app' });
    // Edit reads the fields back (never the key)
    c.startEdit({ ...c.list[0]!, kind: 's3' });
    expect(c.form).toMatchObject({ kind: 's3', bucket: 'logs', prefix: 'raw/', keyId: 'AKIA9', endpoint: 'http://127.0.0.1:9000', region: 'us-east-1', password: '' });
    c.cancelForm();

    c.startAdd('postgresql');
    c.setKind('http');
    Object.assign(c.form!, { baseUrl: 'https://files.example/data', password: 'ignored' });
    await c.save();
    expect(calls.at(-1)).toEqual({ method: 'saveConnection', params: { url: 'https://files.example/data/' } });
    c.setKind('clickhouse');
  });

  it('tests a saved connection with its kept password', async () => {
    const { engine } = fakeEngine();
    const c = new Connections(engine, null);
    c.startAdd();
    Object.assign(c.form!, { kind: 'clickhouse', host: 'ch', port: '8123' });
    await c.save();
    await c.test(c.list[0]!);
    expect(c.tests['clickhouse://default@ch:8123/default']).toEqual({ ok: true, text: 'ClickHouse 15.4 · 3 tables and views · 12 ms' });
  });
});
