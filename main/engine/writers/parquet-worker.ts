/**
 * The parquet-wasm Parquet path (used when the native encoder of parquet-native.ts does not cover
 * the file: decimals, nested or dictionary columns, snappy/gzip/lz4/brotli, engine=wasm, ...).
 * The Parquet encoder (parquet-wasm, single-threaded WebAssembly) in a worker thread, so encoding
 * and compressing one batch overlaps with reading and parsing the next on the main thread (two
 * cores instead of one). Batches cross as Arrow IPC stream bytes (transferred, not copied); at
 * most `maxInFlight` batches wait in the worker, so memory stays bounded. The worker is an inline
 * script (eval) that loads parquet-wasm's node build by its resolved path: no separate entry point
 * for the bundler to know about.
 */
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { unlink } from 'node:fs/promises';
import { Table, tableToIPC, type RecordBatch, type Schema } from 'apache-arrow';
import { mergeParquet, rowGroupRows } from './parquet-merge';

export interface ParquetSettings {
  codec: number;
  rowGroupRows: number;
  rowGroupBytes: number;
  dictionary: boolean;
  createdBy: string;
  /** statistics per column chunk only (no page index, which would live outside the row groups) */
  chunkStats?: boolean;
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { open } = require('node:fs/promises');
const pw = require(workerData.pwPath);
// wasm-bindgen frees the WebAssembly side of a consumed RecordBatch only when its JS wrapper is
// collected, and the JS heap here is too small for V8 to collect often: memory would grow with the
// input. A collection every few batches keeps the WebAssembly heap bounded.
let collect = typeof globalThis.gc === 'function' ? globalThis.gc : null;
if (!collect) {
  try { require('node:v8').setFlagsFromString('--expose-gc'); collect = require('node:vm').runInNewContext('gc'); } catch {}
}
let sinceGc = 0;
const fail = (e) => parentPort.postMessage({ type: 'error', message: String((e && e.message) || e) });
(async () => {
  const s = workerData.settings;
  const builder = new pw.WriterPropertiesBuilder()
    .setCompression(s.codec).setMaxRowGroupSize(s.rowGroupRows).setMaxRowGroupBytes(s.rowGroupBytes)
    .setDictionaryEnabled(s.dictionary).setCreatedBy(s.createdBy);
  const props = builder.setStatisticsEnabled(s.chunkStats ? pw.EnabledStatistics.Chunk : pw.EnabledStatistics.Page).build();
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
      if (collect && ++sinceGc >= 4) { sinceGc = 0; collect(); }
      parentPort.postMessage({ type: 'ack' });
    },
  }, { highWaterMark: 0 });
  // output chunks written one by one through a file handle (Writable.toWeb kept every chunk alive)
  const fh = await open(workerData.path, 'wx');
  try {
    const bytes = await pw.transformParquetStream(input, props);
    const reader = bytes.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      let at = 0;
      while (at < value.length) at += (await fh.write(value, at, value.length - at)).bytesWritten;
    }
    await fh.close();
    parentPort.postMessage({ type: 'done' });
  } catch (e) {
    await fh.close().catch(() => {});
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

/**
 * Several encoders at once: rows are cut into chunks of `rowGroupRows`, chunk i goes to worker
 * i mod n (each writes its own part file beside `path`), and at the end the parts' row groups are
 * stitched, in row order, into `path` (parquet-merge.ts). Each worker may hold `maxInFlight`
 * batches, so one encodes while the main thread feeds the other.
 */
export function startParallelParquet(path: string, settings: ParquetSettings, n: number, empty: (s: Schema) => RecordBatch, maxInFlight = 8): ParquetWorker {
  const partPaths = Array.from({ length: n }, (_, k) => `${path}.part${k}`);
  const ws = partPaths.map((p) => startParquetWorker(p, { ...settings, rowGroupBytes: 2 ** 31 - 1, chunkStats: true }, maxInFlight));
  const chunks: { worker: number; rows: number }[] = [];
  let cur = 0;
  let inChunk = 0;
  let schema: Schema | undefined;
  const cleanup = async () => {
    for (const p of partPaths) await unlink(p).catch(() => undefined);
  };
  return {
    async write(batch) {
      schema ??= batch.schema;
      let off = 0;
      while (off < batch.numRows) {
        const take = Math.min(settings.rowGroupRows - inChunk, batch.numRows - off);
        await ws[cur].write(off === 0 && take === batch.numRows ? batch : batch.slice(off, off + take));
        off += take;
        inChunk += take;
        if (inChunk === settings.rowGroupRows) {
          chunks.push({ worker: cur, rows: inChunk });
          cur = (cur + 1) % n;
          inChunk = 0;
        }
      }
    },
    async finish() {
      try {
        if (inChunk) chunks.push({ worker: cur, rows: inChunk });
        if (!chunks.length && schema) await ws[0].write(empty(schema));
        await Promise.all(ws.map((w) => w.finish()));
        const groups = await Promise.all(partPaths.map((p) => rowGroupRows(p)));
        const cursor = new Array<number>(n).fill(0);
        const order: [number, number][] = [];
        for (const c of chunks) {
          let need = c.rows;
          while (need > 0) {
            const r = groups[c.worker][cursor[c.worker]];
            if (r === undefined) throw new Error('parallel Parquet parts hold fewer rows than were sent');
            order.push([c.worker, cursor[c.worker]++]);
            need -= r;
          }
          if (need !== 0) throw new Error('parallel Parquet row groups do not line up with the chunks sent');
        }
        await mergeParquet(path, partPaths, order);
      } finally {
        await cleanup();
      }
    },
    async abort() {
      await Promise.all(ws.map((w) => w.abort()));
      await cleanup();
    },
  };
}
