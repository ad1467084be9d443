/**
 * The Parquet encoder (parquet-wasm, single-threaded WebAssembly) in a worker thread, so encoding
 * and compressing one batch overlaps with reading and parsing the next on the main thread (two
 * cores instead of one). Batches cross as Arrow IPC stream bytes (transferred, not copied); at
 * most `maxInFlight` batches wait in the worker, so memory stays bounded. The worker is an inline
 * script (eval) that loads parquet-wasm's node build by its resolved path: no separate entry point
 * for the bundler to know about.
 */
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { Table, tableToIPC, type RecordBatch } from 'apache-arrow';

export interface ParquetSettings {
  codec: number;
  rowGroupRows: number;
  rowGroupBytes: number;
  dictionary: boolean;
  createdBy: string;
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createWriteStream } = require('node:fs');
const { Writable } = require('node:stream');
const pw = require(workerData.pwPath);
const fail = (e) => parentPort.postMessage({ type: 'error', message: String((e && e.message) || e) });
(async () => {
  const s = workerData.settings;
  const props = new pw.WriterPropertiesBuilder()
    .setCompression(s.codec).setMaxRowGroupSize(s.rowGroupRows).setMaxRowGroupBytes(s.rowGroupBytes)
    .setDictionaryEnabled(s.dictionary).setCreatedBy(s.createdBy).build();
  const queue = [];
  let wake = null;
  parentPort.on('message', (m) => { queue.push(m); if (wake) { const w = wake; wake = null; w(); } });
  const next = async () => { while (!queue.length) await new Promise((r) => (wake = r)); return queue.shift(); };
  const input = new ReadableStream({
    async pull(c) {
      const m = await next();
      if (m.type === 'end') return c.close();
      const t = pw.Table.fromIPCStream(m.ipc);
      for (const b of t.recordBatches()) c.enqueue(b);
      t.free();
      parentPort.postMessage({ type: 'ack' });
    },
  }, { highWaterMark: 0 });
  const out = createWriteStream(workerData.path, { flags: 'wx' });
  try {
    const bytes = await pw.transformParquetStream(input, props);
    await bytes.pipeTo(Writable.toWeb(out));
    parentPort.postMessage({ type: 'done' });
  } catch (e) {
    out.destroy();
    fail(e);
  }
})().catch(fail);
`;

export interface ParquetWorker {
  write(batch: RecordBatch): Promise<void>;
  finish(): Promise<void>;
  abort(): Promise<void>;
}

export function startParquetWorker(path: string, settings: ParquetSettings, maxInFlight = 2): ParquetWorker {
  const pwPath = createRequire(import.meta.url).resolve('parquet-wasm');
  const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { path, settings, pwPath } });
  let inFlight = 0;
  let failure: Error | undefined;
  let finished = false;
  let wake: (() => void) | undefined;
  let resolveDone!: () => void;
  let rejectDone!: (e: Error) => void;
  const done = new Promise<void>((res, rej) => {
    resolveDone = res;
    rejectDone = rej;
  });
  done.catch(() => undefined);
  const fail = (e: Error) => {
    failure ??= e;
    rejectDone(failure);
    wake?.();
  };
  w.on('message', (m: { type: string; message?: string }) => {
    if (m.type === 'ack') {
      inFlight--;
      wake?.();
    } else if (m.type === 'done') {
      finished = true;
      resolveDone();
    } else if (m.type === 'error') fail(new Error(m.message));
  });
  w.on('error', (e) => fail(e));
  w.on('exit', (code) => {
    if (!finished) fail(new Error(`the Parquet worker stopped (exit code ${code})`));
  });
  return {
    async write(batch) {
      if (failure) throw failure;
      const ipc = tableToIPC(new Table([batch]), 'stream');
      const whole = ipc.byteOffset === 0 && ipc.byteLength === ipc.buffer.byteLength;
      w.postMessage({ type: 'batch', ipc }, whole ? [ipc.buffer as ArrayBuffer] : []);
      inFlight++;
      while (inFlight >= maxInFlight && !failure) await new Promise<void>((r) => (wake = r));
      if (failure) throw failure;
    },
    async finish() {
      if (failure) throw failure;
      w.postMessage({ type: 'end' });
      try {
        await done;
      } finally {
        await w.terminate();
      }
    },
    async abort() {
      finished = true;
      await w.terminate();
    },
  };
}
