import { describe, expect, it } from 'vitest';
import { RpcClient, createMemoryPortPair, serveRpc, type Handlers, type Progress } from './rpc';

interface TestApi {
  add(p: { a: number; b: number }): number;
  fail(p: { code: string }): never;
  slow(p: { steps: number }): { finished: number };
  bytes(p: { n: number }): { data: Uint8Array; big: bigint };
}

function setup() {
  let cancelled = 0;
  const handlers: Handlers<TestApi> = {
    add: ({ a, b }) => a + b,
    fail: ({ code }) => {
      const e = new Error(`failed with ${code}`) as Error & { code: string };
      e.code = code;
      throw e;
    },
    async slow({ steps }, ctx) {
      for (let i = 0; i < steps; i++) {
        if (ctx.signal.aborted) {
          cancelled++;
          throw Object.assign(new Error('cancelled'), { code: 'E_CANCELLED' });
        }
        ctx.progress({ done: i / steps, detail: { step: i } });
        await new Promise((r) => setTimeout(r, 5));
      }
      return { finished: steps };
    },
    bytes: ({ n }) => ({ data: new Uint8Array(n).fill(7), big: 2n ** 63n - 1n }),
  };
  const [a, b] = createMemoryPortPair();
  serveRpc<TestApi>(handlers, b);
  const client = new RpcClient<TestApi>(a);
  return { client, api: client.api, cancelledCount: () => cancelled, ports: [a, b] as const };
}

describe('the contract over an in-memory transport pair', () => {
  it('calls a method and gets its value', async () => {
    const { api } = setup();
    expect(await api.add({ a: 2, b: 40 })).toBe(42);
  });

  it('turns an error envelope into a rejection with the stable code and message', async () => {
    const { api } = setup();
    await expect(api.fail({ code: 'E_TRUNCATED' })).rejects.toMatchObject({ code: 'E_TRUNCATED', message: 'failed with E_TRUNCATED' });
  });

  it('answers an unknown method with E_NO_METHOD rather than hanging', async () => {
    const { client } = setup();
    await expect(client.call('nope', {})).rejects.toMatchObject({ code: 'E_NO_METHOD' });
    // prototype members are not methods either
    await expect(client.call('constructor', {})).rejects.toMatchObject({ code: 'E_NO_METHOD' });
  });

  it('streams progress with partial results before the value', async () => {
    const { api } = setup();
    const seen: Progress[] = [];
    const r = await api.slow({ steps: 5 }, { onProgress: (p) => seen.push(p) });
    expect(r).toEqual({ finished: 5 });
    expect(seen.map((p) => (p.detail as { step: number }).step)).toEqual([0, 1, 2, 3, 4]);
  });

  it('cancels a running call: the caller rejects at once and the handler sees the abort', async () => {
    const { api, cancelledCount } = setup();
    const ac = new AbortController();
    const call = api.slow({ steps: 1000 }, { signal: ac.signal });
    setTimeout(() => ac.abort(), 30);
    await expect(call).rejects.toMatchObject({ code: 'E_CANCELLED' });
    await new Promise((r) => setTimeout(r, 30));
    expect(cancelledCount()).toBe(1);
  });

  it('carries binary payloads and exact int64 values', async () => {
    const { api } = setup();
    const r = await api.bytes({ n: 100_000 });
    expect(r.data).toBeInstanceOf(Uint8Array);
    expect(r.data.length).toBe(100_000);
    expect(r.data[99_999]).toBe(7);
    expect(r.big).toBe(9223372036854775807n);
  });

  it('rejects every call in flight when the engine dies, and works again on a new port', async () => {
    const { client } = setup();
    const inflight = client.api.slow({ steps: 1000 });
    await new Promise((r) => setTimeout(r, 10));
    client.failAll({ code: 'E_ENGINE_DIED', message: 'The engine process was killed by SIGKILL.' });
    await expect(inflight).rejects.toMatchObject({ code: 'E_ENGINE_DIED' });
    expect(client.inFlight).toBe(0);
    // a new engine: attach a fresh pair
    const [a, b] = createMemoryPortPair();
    serveRpc<TestApi>({ add: ({ a, b }: { a: number; b: number }) => a * 1000 + b } as unknown as Handlers<TestApi>, b);
    client.attach(a);
    expect(await client.api.add({ a: 1, b: 2 })).toBe(1002);
  });

  it('rejects calls in flight with E_DISCONNECTED when the port closes', async () => {
    const { client, ports } = setup();
    const inflight = client.api.slow({ steps: 1000 });
    ports[1].close();
    await expect(inflight).rejects.toMatchObject({ code: 'E_DISCONNECTED' });
    await expect(client.api.add({ a: 1, b: 1 })).rejects.toMatchObject({ code: 'E_DISCONNECTED' });
  });
});
