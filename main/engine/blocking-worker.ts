/**
 * The killable worker of blocking.ts: runs as a worker thread or as a child process (one module,
 * built as out/main/blocking-worker.js) and serves one call at a time from the task tables below.
 * A call is `{ id, task, method, args }`; its result goes back as `{ id, ok, value }` (Uint8Array
 * results are transferred, not copied, to a thread's parent) or `{ id, ok: false, error }` in the
 * contract's error vocabulary. `{ end: true }` ends the session: what its calls opened is closed.
 *
 * As a child process it must never outlive the engine, even when the engine is SIGKILLed while
 * this process is stuck in native code (where none of its JavaScript runs): a small guard thread
 * watches the parent process and kills this one when the parent is gone.
 */
import { Worker, parentPort, type TransferListItem } from 'node:worker_threads';
import { toErrorInfo } from '../../shared/errors';
import type { BlockingTask, FromWorker, TaskTable, ToWorker, WorkerSession } from './blocking';

const TASKS: Record<BlockingTask, () => Promise<TaskTable>> = {
  sqlite: async () => (await import('./sources/sqlite')).sqliteTasks as unknown as TaskTable,
  hdf5: async () => (await import('./sources/hdf5')).hdf5Tasks as unknown as TaskTable,
};

let ends: (() => void)[] = [];
let session: WorkerSession = newSession();

function newSession(): WorkerSession {
  return { state: {}, onEnd: (fn) => void ends.push(fn) };
}

function endSession(): void {
  for (const fn of ends.splice(0).reverse()) {
    try {
      fn();
    } catch {
      /* closing what is already broken */
    }
  }
  ends = [];
  session = newSession();
}

function transferables(v: unknown): TransferListItem[] {
  const out: TransferListItem[] = [];
  const add = (x: unknown) => {
    // only a buffer the value owns whole: a view into a shared buffer would detach the rest
    if (x instanceof Uint8Array && x.byteOffset === 0 && x.byteLength === x.buffer.byteLength && x.buffer instanceof ArrayBuffer) out.push(x.buffer);
  };
  add(v);
  if (v && typeof v === 'object' && !ArrayBuffer.isView(v)) for (const x of Object.values(v)) add(x);
  return out;
}

async function handle(msg: ToWorker, reply: (m: FromWorker, transfer?: TransferListItem[]) => void): Promise<void> {
  if ('end' in msg) return endSession();
  try {
    const load = TASKS[msg.task];
    if (!load) throw new Error(`no task table ${msg.task}`);
    const fn = (await load())[msg.method] as ((s: WorkerSession, ...a: unknown[]) => unknown) | undefined;
    if (typeof fn !== 'function') throw new Error(`no task ${msg.task}.${msg.method}`);
    const value = await fn(session, ...msg.args);
    reply({ id: msg.id, ok: true, value }, transferables(value));
  } catch (e) {
    reply({ id: msg.id, ok: false, error: toErrorInfo(e) });
  }
}

function guardParent(): void {
  // In its own thread, so that it runs while the main thread is stuck in a native call.
  const guard = new Worker(
    `const { workerData } = require('node:worker_threads');
     setInterval(() => { if (process.ppid !== workerData) process.kill(process.pid, 'SIGKILL'); }, 500);`,
    { eval: true, workerData: process.ppid },
  );
  guard.unref();
}

if (parentPort) {
  const port = parentPort;
  port.on('message', (m: ToWorker) => void handle(m, (r, transfer) => port.postMessage(r, transfer)));
} else if (typeof process.send === 'function') {
  guardParent();
  // Ctrl+C reaches the whole process group; the engine decides (a cancel kills this process)
  process.on('SIGINT', () => undefined);
  process.on('message', (m: ToWorker) => void handle(m, (r) => process.send?.(r)));
  process.on('disconnect', () => process.exit(0));
} else {
  console.error('The CDX blocking worker is started by the engine; it cannot run on its own.');
  process.exit(2);
}
