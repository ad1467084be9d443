import { describe, expect, it } from 'vitest';
import { CdxError } from '../../shared/errors';
import { Request, type RunContext } from './request.svelte';

/** an engine call that answers when told to, and rejects with E_CANCELLED on abort (as the RPC client does) */
function deferred<T>() {
  let resolve!: (v: T) => void, reject!: (e: unknown) => void;
  let signal: AbortSignal | undefined;
  const call = (ctx: RunContext) =>
    new Promise<T>((res, rej) => {
      signal = ctx.signal;
      resolve = res;
      reject = rej;
      ctx.signal.addEventListener('abort', () => rej(CdxError.cancelled('rows')));
    });
  return { call, resolve: (v: T) => resolve(v), reject: (e: unknown) => reject(e), signal: () => signal };
}

describe('Request', () => {
  it('gives the value of a call and is busy only while it runs', async () => {
    const r = new Request<number>();
    const d = deferred<number>();
    const p = r.run(d.call);
    expect(r.busy).toBe(true);
    d.resolve(42);
    expect(await p).toBe(42);
    expect(r.busy).toBe(false);
    expect(r.error).toBeNull();
  });

  it('a new run cancels the previous call and drops its late result', async () => {
    const r = new Request<string>();
    const a = deferred<string>(), b = deferred<string>();
    const pa = r.run(a.call);
    const pb = r.run(b.call);
    expect(a.signal()!.aborted).toBe(true);
    expect(b.signal()!.aborted).toBe(false);
    expect(await pa).toBeUndefined();
    // superseded, not cancelled by the user: nothing to show, still busy with the newer call
    expect(r.cancelled).toBe(false);
    expect(r.error).toBeNull();
    expect(r.busy).toBe(true);
    b.resolve('new');
    expect(await pb).toBe('new');
    expect(r.busy).toBe(false);
  });

  it('a stale call that ignores its signal cannot overwrite a newer result', async () => {
    const r = new Request<string>();
    let finishOld!: (v: string) => void;
    const pOld = r.run(() => new Promise<string>((res) => (finishOld = res)));
    const pNew = r.run(async () => 'new');
    expect(await pNew).toBe('new');
    finishOld('old');
    expect(await pOld).toBeUndefined();
    expect(r.busy).toBe(false);
  });

  it('a failure is an error to show; a cancellation is not', async () => {
    const r = new Request<number>();
    const d = deferred<number>();
    const p = r.run(d.call);
    d.reject(new CdxError('E_UNKNOWN_COLUMN', 'no column "fare2" in trips.arrow', { column: 'fare2' }));
    expect(await p).toBeUndefined();
    expect(r.error?.code).toBe('E_UNKNOWN_COLUMN');
    expect(r.error?.message).toContain('fare2');

    const c = deferred<number>();
    const pc = r.run(c.call);
    expect(r.error).toBeNull();
    r.cancel();
    expect(await pc).toBeUndefined();
    expect(r.error).toBeNull();
    expect(r.cancelled).toBe(true);
    expect(r.busy).toBe(false);
  });

  it('an error without a code of ours becomes E_INTERNAL, a DOM AbortError a cancellation', async () => {
    const r = new Request<number>();
    await r.run(async () => {
      throw new TypeError('x is undefined');
    });
    expect(r.error?.code).toBe('E_INTERNAL');
    await r.run(async () => {
      throw new DOMException('aborted', 'AbortError');
    });
    expect(r.error).toBeNull();
    expect(r.cancelled).toBe(true);
  });

  it('progress of a superseded call is recognisable as stale', async () => {
    const r = new Request<void>();
    let ctxA!: RunContext;
    void r.run(async (ctx) => {
      ctxA = ctx;
      await new Promise(() => {});
    });
    expect(ctxA.current()).toBe(true);
    void r.run(async () => {});
    expect(ctxA.current()).toBe(false);
  });

  it('with a delay, a newer run meanwhile means the first call is never made', async () => {
    const r = new Request<string>();
    let calls = 0;
    const p1 = r.run(async () => (calls++, 'a'), { delay: 20 });
    const p2 = r.run(async () => (calls++, 'b'), { delay: 20 });
    expect(await p1).toBeUndefined();
    expect(await p2).toBe('b');
    expect(calls).toBe(1);
  });

  it('reset drops the call in flight and clears the state', async () => {
    const r = new Request<number>();
    const d = deferred<number>();
    const p = r.run(d.call);
    r.reset();
    expect(r.busy).toBe(false);
    expect(d.signal()!.aborted).toBe(true);
    expect(await p).toBeUndefined();
    expect(r.cancelled).toBe(false);
  });
});
