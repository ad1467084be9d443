/**
 * Blocking library calls in a killable worker. Some readers call libraries synchronously
 * (better-sqlite3 queries, h5wasm reads), and such a call can run forever — an aggregate over a
 * hostile recursive view, a pathological HDF5 file — which, on the engine's own thread, would
 * block its event loop: no cancel frame read, no other call answered, every window stalled. So
 * they run in a worker (blocking-worker.ts) that is killed when the call is cancelled: the call
 * rejects at once with E_CANCELLED, the engine never stopped answering, and the next call gets a
 * fresh worker.
 *
 * Two kinds of worker, chosen per library because of what "killed" can mean:
 *  - 'process': a child process, SIGKILLed. Needed for native code: a thread stuck inside a native
 *    call (SQLite's C loop) ignores Worker.terminate() — V8 can only interrupt JavaScript — and
 *    then even keeps the engine from exiting.
 *  - 'thread': a worker thread, terminated. Enough for WebAssembly (h5wasm): V8 interrupts wasm
 *    loops; and results (Arrow IPC bytes) are transferred without a copy.
 * A healthy worker is reused (one call at a time; a few are kept idle), so a small fast call costs
 * a message round trip, not a start.
 *
 * A call is `(task, method, args)`: `task` names a table of functions in the worker (see
 * blocking-worker.ts); `session()` holds one worker for a sequence of calls that share state
 * there (an open database and its row iterator).
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { Worker } from 'node:worker_threads';
import { Table, tableFromIPC, tableToIPC, type RecordBatch } from 'apache-arrow';
import { CdxError, type ErrorInfo } from '../../shared/errors';
import { engineModule, startModuleThread } from './entry';

export type BlockingHost = 'thread' | 'process';
/** The task tables the worker knows (blocking-worker.ts). */
export type BlockingTask = 'sqlite' | 'hdf5';

/** What a task function gets besides its arguments: state kept for the session's next calls. */
export interface WorkerSession {
  state: Record<string, unknown>;
  /** run when the session ends (close what it opened) */
  onEnd(fn: () => void): void;
}

/** A task table: plain functions of (session, ...arguments); `never[]` admits any argument list. */
export type TaskTable = Record<string, (session: WorkerSession, ...args: never[]) => unknown>;
type ArgsOf<F> = F extends (session: WorkerSession, ...args: infer A) => unknown ? A : never;
type ResultOf<F> = F extends (...args: never[]) => infer R ? Awaited<R> : never;

/** Main -> worker. */
export type ToWorker = { id: number; task: BlockingTask; method: string; args: unknown[] } | { end: true };
/** Worker -> main. */
export type FromWorker = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: ErrorInfo };

export interface BlockingCallOptions {
  /** cancels the call: the worker is killed */
  signal?: AbortSignal;
  /** the file the call reads, for the messages of a cancelled or failed call */
  file?: string;
}

/** One worker, thread or process, behind the same small interface. */
interface Handle {
  host: BlockingHost;
  send(m: ToWorker): void;
  kill(): void;
  ref(): void;
  unref(): void;
  onMessage(l: (m: FromWorker) => void): void;
  onExit(l: (how: string) => void): void;
}

function threadHandle(w: Worker): Handle {
  return {
    host: 'thread',
    send: (m) => w.postMessage(m),
    kill: () => void w.terminate(),
    ref: () => w.ref(),
    unref: () => w.unref(),
    onMessage: (l) => void w.on('message', l),
    onExit: (l) => {
      let error = '';
      w.on('error', (e) => (error = e.message));
      w.on('exit', (code) => l(error ? `failed: ${error}` : `exited with code ${code}`));
    },
  };
}

function processHandle(c: ChildProcess): Handle {
  return {
    host: 'process',
    send: (m) => {
      if (c.connected) c.send(m);
    },
    kill: () => void c.kill('SIGKILL'),
    ref: () => {
      c.ref();
      (c.channel as { ref?: () => void } | undefined)?.ref?.();
    },
    unref: () => {
      c.unref();
      (c.channel as { unref?: () => void } | undefined)?.unref?.();
    },
    onMessage: (l) => void c.on('message', (m) => l(m as FromWorker)),
    onExit: (l) => {
      c.on('error', () => undefined); // a failed start shows as an exit
      c.once('exit', (code, signal) => l(signal ? `was killed by ${signal}` : `exited with code ${code}`));
    },
  };
}

function spawnHandle(host: BlockingHost): Handle {
  if (host === 'thread') return threadHandle(startModuleThread('blocking-worker', { stdout: false, stderr: false }));
  const m = engineModule('blocking-worker');
  const child = fork(m.entry, [], {
    execArgv: m.execArgv,
    serialization: 'advanced', // typed arrays, bigints and Maps cross as they are
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    // under Electron the engine's process.execPath is Electron itself: run it as plain Node
    env: process.versions.electron ? { ...process.env, ELECTRON_RUN_AS_NODE: '1' } : process.env,
  });
  return processHandle(child);
}

const MAX_IDLE = 2;
const IDLE_MS = 60_000;

class BlockingWorker {
  private handle: Handle;
  private waiting: { id: number; resolve(v: unknown): void; reject(e: unknown): void; file?: string } | null = null;
  private nextId = 1;
  dead = false;
  idleTimer: NodeJS.Timeout | null = null;

  constructor(readonly host: BlockingHost) {
    this.handle = spawnHandle(host);
    this.handle.onMessage((m) => {
      const w = this.waiting;
      if (!w || m.id !== w.id) return;
      this.waiting = null;
      if (m.ok) w.resolve(m.value);
      else w.reject(CdxError.fromInfo(m.error));
    });
    this.handle.onExit((how) => {
      this.dead = true;
      all.delete(this);
      const w = this.waiting;
      this.waiting = null;
      if (!w) return;
      const problem = `the ${host === 'process' ? 'reader process' : 'reader thread'} stopped unexpectedly (${how})`;
      w.reject(w.file ? CdxError.file('E_READ', w.file, problem) : new CdxError('E_INTERNAL', `A blocking library call failed: ${problem}.`));
    });
    all.add(this);
    if (!exitHook) {
      exitHook = true;
      process.once('exit', stopBlockingWorkers); // a reader process must not outlive the engine
    }
  }

  call(task: BlockingTask, method: string, args: unknown[], opts: BlockingCallOptions): Promise<unknown> {
    if (this.dead) return Promise.reject(new CdxError('E_INTERNAL', 'A blocking library call was made on a stopped worker.'));
    if (this.waiting) return Promise.reject(new CdxError('E_BUSY', 'A blocking worker was given a second call while one runs.'));
    const { signal, file } = opts;
    if (signal?.aborted) return Promise.reject(cancelled(file));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        if (this.waiting?.id !== id) return;
        this.waiting = null;
        this.kill(); // the only way to stop a call that may never return
        reject(cancelled(file));
      };
      const done = () => signal?.removeEventListener('abort', onAbort);
      this.waiting = {
        id,
        file,
        resolve: (v) => {
          done();
          resolve(v);
        },
        reject: (e) => {
          done();
          reject(e);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.handle.ref();
      this.handle.send({ id, task, method, args });
    });
  }

  get busy(): boolean {
    return this.waiting !== null;
  }

  /** The session is over: the worker closes what it opened and waits for the next one. */
  endSession(): void {
    if (!this.dead) this.handle.send({ end: true });
  }

  ref(): void {
    this.handle.ref();
  }

  unref(): void {
    this.handle.unref();
  }

  kill(): void {
    if (this.dead) return;
    this.dead = true;
    all.delete(this);
    this.handle.kill();
  }
}

function cancelled(file: string | undefined): CdxError {
  return file ? CdxError.file('E_CANCELLED', file, 'cancelled') : CdxError.cancelled('the read');
}

const all = new Set<BlockingWorker>();
let exitHook = false;
const idle: Record<BlockingHost, BlockingWorker[]> = { thread: [], process: [] };

function acquire(host: BlockingHost): BlockingWorker {
  for (;;) {
    const w = idle[host].pop();
    if (!w) return new BlockingWorker(host);
    if (w.dead) continue;
    if (w.idleTimer) clearTimeout(w.idleTimer);
    w.idleTimer = null;
    w.ref();
    return w;
  }
}

function release(w: BlockingWorker): void {
  if (w.dead) return;
  if (w.busy) return w.kill(); // a call still runs (its caller stopped waiting): not reusable
  w.endSession();
  const pool = idle[w.host];
  if (pool.length >= MAX_IDLE) return w.kill();
  w.unref();
  pool.push(w);
  w.idleTimer = setTimeout(() => {
    const i = pool.indexOf(w);
    if (i >= 0) pool.splice(i, 1);
    w.kill();
  }, IDLE_MS);
  w.idleTimer.unref();
}

/** A worker held for a sequence of calls; `end()` gives it back (always call it, in a finally). */
export interface BlockingSession<T extends TaskTable> {
  call<K extends keyof T & string>(method: K, ...args: ArgsOf<T[K]>): Promise<ResultOf<T[K]>>;
  end(): void;
}

/** The client of one task table, run on workers of one kind. */
export class BlockingTasks<T extends TaskTable> {
  constructor(
    readonly task: BlockingTask,
    readonly host: BlockingHost,
  ) {}

  /** One call on a free worker. */
  async call<K extends keyof T & string>(method: K, args: ArgsOf<T[K]>, opts: BlockingCallOptions = {}): Promise<ResultOf<T[K]>> {
    const w = acquire(this.host);
    try {
      return (await w.call(this.task, method, args, opts)) as ResultOf<T[K]>;
    } finally {
      release(w);
    }
  }

  /** A worker for a sequence of calls sharing state; every call is cancelled by `opts.signal`. */
  session(opts: BlockingCallOptions = {}): BlockingSession<T> {
    const w = acquire(this.host);
    let ended = false;
    return {
      call: (method, ...args) => {
        if (ended) return Promise.reject(new CdxError('E_INTERNAL', 'A call on an ended blocking session.'));
        return w.call(this.task, method, args, opts) as Promise<never>;
      },
      end: () => {
        if (ended) return;
        ended = true;
        release(w);
      },
    };
  }
}

/** Stop every worker now (the engine is exiting). */
export function stopBlockingWorkers(): void {
  for (const w of [...all]) w.kill();
  idle.thread.length = idle.process.length = 0;
}

/** How many workers are alive (tests: a cancelled call leaves none behind). */
export function blockingWorkerCount(): number {
  return all.size;
}

/** A record batch as the bytes a worker hands back (Arrow IPC stream: one buffer, transferable). */
export function encodeBatch(batch: RecordBatch): Uint8Array {
  return tableToIPC(new Table([batch]), 'stream');
}

/** The record batch a worker built (see encodeBatch). */
export function decodeBatch(bytes: Uint8Array): RecordBatch {
  const t = tableFromIPC(bytes);
  const b = t.batches[0];
  if (!b) throw new CdxError('E_INTERNAL', 'A reader worker sent an empty Arrow stream.');
  return b;
}
