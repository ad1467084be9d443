/**
 * One engine call at a time, as a Svelte 5 rune class: the renderer's single way of running an
 * engine request from a view. Starting a run cancels the previous one (its AbortController's
 * signal goes to the RPC client, which sends the engine a cancel frame); a result, progress or
 * error of a superseded run is dropped, so a slow earlier answer never replaces a later one.
 * `busy` is true while the latest run is in flight; `error` holds the latest run's failure; a
 * cancellation is not an error (`cancelled` says that the latest run was cancelled).
 *
 *   const req = new Request<Rows>();
 *   const rows = await req.run(({ signal }) => api.rows(params, { signal }));
 *   if (rows) ...            // undefined: superseded, cancelled or failed (see req.error)
 */
import { asCdxError, CdxError, isCancelled } from '../../shared/errors';

export interface RunContext {
  /** aborted when a newer run starts or `cancel()` is called: hand it to the engine call */
  signal: AbortSignal;
  /** false once a newer run has started: progress of a stale call is dropped with it */
  current(): boolean;
}

export interface RunOptions {
  /** wait this long before calling (a newer run or a cancel meanwhile means no call at all) */
  delay?: number;
}

export class Request<T> {
  busy = $state(false);
  /** the latest run's failure (never a cancellation) */
  error = $state.raw<CdxError | null>(null);
  /** the latest run ended because `cancel()` was called (not because a newer run replaced it) */
  cancelled = $state(false);
  private ac: AbortController | null = null;
  private seq = 0;

  /**
   * Runs `call` as the latest request. Resolves to its value, or to undefined when the run was
   * superseded by a newer one, cancelled, or failed (then `error` says why); never rejects.
   */
  async run(call: (ctx: RunContext) => Promise<T>, opts: RunOptions = {}): Promise<T | undefined> {
    this.ac?.abort();
    const ac = new AbortController();
    this.ac = ac;
    const seq = ++this.seq;
    const current = () => seq === this.seq;
    this.busy = true;
    this.error = null;
    this.cancelled = false;
    try {
      if (opts.delay) await sleep(opts.delay, ac.signal);
      const value = await call({ signal: ac.signal, current });
      return current() ? value : undefined;
    } catch (e) {
      if (current()) {
        if (isCancelled(e)) this.cancelled = true;
        else this.error = asCdxError(e);
      }
      return undefined;
    } finally {
      if (current()) {
        this.busy = false;
        this.ac = null;
      }
    }
  }

  /** Cancels the run in flight (the engine stops working on it); `cancelled` becomes true. */
  cancel(): void {
    this.ac?.abort();
  }

  /** Drops the run in flight (cancelled, its outcome ignored) and clears busy, error and cancelled. */
  reset(): void {
    this.seq++;
    this.ac?.abort();
    this.ac = null;
    this.busy = false;
    this.error = null;
    this.cancelled = false;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(CdxError.cancelled('the request'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
