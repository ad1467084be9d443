/**
 * A computation several requests share (a filter's block counts, a sort's permutation): each request
 * joins it with its own signal and progress listener; a request that aborts leaves at once, and the
 * last one to leave before it finished stops it and has it forgotten.
 */
import type { KernelOptions, Progress } from '../../native/index';
import { CdxError } from '../../shared/errors';

export interface SharedJob<T> {
  promise: Promise<T>;
  controller: AbortController;
  waiters: number;
  listeners: Set<(p: Progress) => void>;
}

/**
 * Waits for `e` as one request (`opts.signal`, `opts.onProgress`). On abort: rejects with
 * E_CANCELLED naming `what`; when no waiter is left and `finished()` is false, aborts the
 * computation and calls `forget()`.
 */
export function joinShared<T>(e: SharedJob<T>, opts: KernelOptions, what: string, finished: () => boolean, forget: () => void): Promise<T> {
  const { signal, onProgress } = opts;
  e.waiters++;
  if (onProgress) e.listeners.add(onProgress);
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const leave = () => {
      if (settled) return false;
      settled = true;
      e.waiters--;
      if (onProgress) e.listeners.delete(onProgress);
      signal?.removeEventListener('abort', onAbort);
      return true;
    };
    const onAbort = () => {
      if (!leave()) return;
      if (e.waiters === 0 && !finished()) {
        e.controller.abort();
        forget();
      }
      reject(CdxError.cancelled(what));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    e.promise.then(
      (v) => { if (leave()) resolve(v); },
      (err) => { if (leave()) reject(err); },
    );
  });
}
