/**
 * Columnar writers: Arrow IPC file / Feather v2 (apache-arrow's RecordBatchFileWriter) and Parquet
 * (parquet-wasm: arrow-rs compiled to WebAssembly, its streaming `transformParquetStream`). Both
 * take record batches one at a time: the Arrow writer's bytes are drained to the file after every
 * batch; the Parquet writer holds at most one row group (rowGroupRows rows or rowGroupBytes) in
 * WebAssembly memory before it is flushed. Arrow keeps every type as it is; Parquet keeps every
 * type arrow-rs can write and embeds the Arrow schema (zone names, unsigned widths) for Arrow-aware
 * readers. Files whose columns are all flat scalars (integers, floats, bool, strings, dates,
 * timestamps) with zstd or no compression are encoded natively instead (parquet-native.ts: the
 * C++ encoder, parallel, ~4x less CPU than the WebAssembly one), recording the same Parquet types.
 */
import { open, type FileHandle } from 'node:fs/promises';
import {
  AsyncByteQueue, CompressionType, Message, RecordBatch as ArrowRecordBatch, compressionRegistry, RecordBatchFileWriter, RecordBatchStreamWriter, RecordBatchWriter, Struct, Table, makeData, vectorFromArray, Type, tableToIPC, type DataType, type RecordBatch, type Schema as ArrowSchema,
} from 'apache-arrow';
import type { Field } from '../../../shared/datashape';
import { startParallelParquet, startParquetWorker, type ParquetSettings } from './parquet-worker';
import { ENGINES, nativeParquetBlocker, openNativeParquet } from './parquet-native';
import { availableParallelism } from 'node:os';
import { lz4FrameEncode } from './lz4';
import { registerArrowCodecs } from '../sources/codecs';
import {
  isOutputError, boolOption, checkOptions, choiceOption, intOption,
  type ColumnFidelity, type FidelityReport, type Writer, type WriterProvider,
} from './types';
import { CdxError } from '../../../shared/errors';
import { typeLabel } from './values';

/** Collects the bytes apache-arrow's writer emits, so they can be written out after each batch. */
class CollectingQueue extends AsyncByteQueue<Uint8Array> {
  chunks: Uint8Array[] = [];
  override write(value: any): void {
    this.chunks.push(value as Uint8Array);
  }
  override close(): void {}
  take(): Uint8Array[] {
    const c = this.chunks;
    this.chunks = [];
    return c;
  }
}

async function writeAll(fh: FileHandle, chunks: Uint8Array[]): Promise<void> {
  for (const c of chunks) {
    let done = 0;
    while (done < c.byteLength) {
      const { bytesWritten } = await fh.write(c, done, c.byteLength - done);
      done += bytesWritten;
    }
  }
}

// ----------------------------------------------------------------------------------------- Arrow

/**
 * apache-arrow JS writes the schema of an IPC *file* only into the footer; the format also embeds
 * the stream (schema message first), which C++/pyarrow write and sequential readers — CDX's own
 * reader among them — need. This writer puts the schema message after the leading magic.
 */
class SpecFileWriter extends RecordBatchFileWriter {
  override _writeSchema(schema: ArrowSchema): this {
    (this as any)._writeMagic()._writePadding(2);
    return (RecordBatchWriter.prototype as any)._writeSchema.call(this, schema);
  }
}
void Message;

export const arrowWriter: WriterProvider = {
  format: 'arrow',
  extensions: ['arrow', 'feather', 'ipc', 'arrows'],
  options: {
    compression: 'none (default) or lz4 (LZ4 frame body compression; not memory-mappable). zstd cannot be written: no encoder in this build',
  },
  plan(fields, opts, ctx): FidelityReport {
    checkOptions(this, opts, ctx.out);
    const c = choiceOption(opts, 'compression', ['none', 'lz4', 'zstd'] as const, 'none', ctx.out);
    if (c === 'zstd') {
      throw CdxError.file('E_UNSUPPORTED', ctx.out,
        'Arrow IPC zstd compression cannot be written in this build (no Zstandard encoder for JS here); use compression=lz4, or Parquet with zstd');
    }
    return {
      format: 'arrow',
      columns: fields.map((f) => ({ column: f.name, from: typeLabel(f), to: typeLabel(f), status: 'kept' as const })),
      notes: [c === 'lz4'
        ? 'Arrow IPC file format (= Feather v2) with LZ4-frame-compressed bodies (readers decompress; not memory-mappable), one record batch per input batch; streamed'
        : /\.arrows$/i.test(ctx.out)
          ? 'Arrow IPC stream format (.arrows), uncompressed, one record batch per input batch; streamed'
          : 'Arrow IPC file format (= Feather v2), uncompressed, one record batch per input batch: memory-mappable by CDX, pyarrow, DuckDB and R; streamed'],
    };
  },
  async open(_fields, schema, opts, ctx): Promise<Writer> {
    const lz4 = choiceOption(opts, 'compression', ['none', 'lz4', 'zstd'] as const, 'none', ctx.out) === 'lz4';
    if (lz4) {
      registerArrowCodecs(); // the readers' decoders first: the registry holds one codec per type
      const prev = compressionRegistry.get(CompressionType.LZ4_FRAME) as any;
      if (!prev?.encode) compressionRegistry.set(CompressionType.LZ4_FRAME, { encode: lz4FrameEncode, decode: prev?.decode } as any);
    }
    const fh = await open(ctx.tmp, 'wx');
    const q = new CollectingQueue();
    // .arrows is the IPC stream format (no footer, no random access); everything else the file format
    const w = /\.arrows$/i.test(ctx.out)
      ? new RecordBatchStreamWriter(lz4 ? { compressionType: CompressionType.LZ4_FRAME } : {})
      : new SpecFileWriter(lz4 ? { compressionType: CompressionType.LZ4_FRAME } : {});
    w.reset(q as any, schema);
    let failed = false;
    return {
      async write(batch) {
        w.write(batch);
        await writeAll(fh, q.take());
      },
      async finish() {
        w.finish();
        await writeAll(fh, q.take());
        await fh.sync();
        await fh.close();
        return 'rename';
      },
      async abort() {
        if (failed) return;
        failed = true;
        await fh.close().catch(() => undefined);
      },
    };
  },
};

// --------------------------------------------------------------------------------------- Parquet

type PW = typeof import('parquet-wasm');
let pwModule: Promise<PW> | undefined;
/** parquet-wasm (its node build instantiates the WebAssembly module when imported). */
export function parquetWasm(): Promise<PW> {
  return (pwModule ??= import('parquet-wasm'));
}

const CODECS = ['zstd', 'snappy', 'gzip', 'none', 'lz4', 'brotli'] as const;

function parquetFidelity(f: Field): ColumnFidelity {
  const from = typeLabel(f);
  const c = (to: string, status: ColumnFidelity['status'], note?: string): ColumnFidelity => ({ column: f.name, from, to, status, ...(note ? { note } : {}) });
  switch (f.type) {
    case 'int8': case 'int16': case 'int32': return c(`INT32 (${f.type.toUpperCase()})`, 'kept');
    case 'uint8': case 'uint16': case 'uint32': return c(`INT32 (${f.type.toUpperCase()})`, 'kept');
    case 'int64': return c('INT64', 'kept');
    case 'uint64': return c('INT64 (UINT_64)', 'kept', 'unsigned logical type: values above 2^63 are kept');
    case 'float16': return c('FIXED_LEN_BYTE_ARRAY(2) (FLOAT16)', 'kept');
    case 'float32': return c('FLOAT', 'kept');
    case 'float64': return c('DOUBLE', 'kept', 'NaN, ±Inf and -0.0 kept');
    case 'bool': return c('BOOLEAN', 'kept');
    case 'string': return c('BYTE_ARRAY (STRING)', 'kept', 'UTF-8 bytes as given');
    case 'binary': return c('BYTE_ARRAY', 'kept');
    case 'date': return c('INT32 (DATE)', 'kept');
    case 'timestamp': return c(`INT64 (TIMESTAMP ${(f.unit ?? 'us').toUpperCase()}${f.tz ? ', UTC' : ''})`, 'kept',
      f.tz ? `instant kept (UTC-adjusted); the zone name "${f.tz}" travels in the embedded Arrow schema (Arrow-aware readers keep it)` : undefined);
    case 'time': return c(`TIME (${(f.unit ?? 'us').toUpperCase()})`, 'kept');
    case 'duration': return c('INT64', 'converted', `a count of ${f.unit ?? 'us'}; the duration type travels only in the embedded Arrow schema`);
    case 'decimal': return c(`DECIMAL(${f.precision ?? 38}, ${f.scale ?? 0})`, 'kept');
    case 'json': return c(f.original ?? 'nested', 'kept', 'nested types written as Parquet nested columns where arrow-rs supports them');
    default: return c(from, 'kept');
  }
}

function unsupportedForParquet(t: DataType): boolean {
  return t.typeId === Type.Interval;
}

export const parquetWriter: WriterProvider = {
  format: 'parquet',
  extensions: ['parquet', 'pq'],
  options: {
    compression: `${CODECS.join(' / ')} (default zstd)`,
    rowGroupRows: 'most rows in one row group (default 1048576)',
    rowGroupBytes: 'most bytes buffered for one row group (default 134217728)',
    dictionary: 'dictionary-encode columns: true/false (default true with parquet-wasm; the native encoder writes plain pages, so dictionary=true given explicitly selects parquet-wasm)',
    worker: 'encode in a worker thread, overlapping with reading: true/false (default true; false encodes on the calling thread and holds more memory)',
    statistics: 'chunk (default: min/max per column chunk) or page (also a page index)',
    encoders: 'encoder threads (default 1); with more, alternate row groups are encoded in parallel and stitched into one file',
    engine: 'auto (default: the native encoder when it covers every column and the codec is zstd or none, else parquet-wasm), native or wasm',
  },
  plan(fields, opts, ctx): FidelityReport {
    checkOptions(this, opts, ctx.out);
    const codec = choiceOption(opts, 'compression', CODECS, 'zstd', ctx.out);
    intOption(opts, 'rowGroupRows', 1 << 20, 1, 1 << 30, ctx.out);
    intOption(opts, 'rowGroupBytes', 128 << 20, 1 << 16, 2 ** 31 - 1, ctx.out);
    choiceOption(opts, 'dictionary', ['true', 'false'] as const, 'true', ctx.out);
    boolOption(opts, 'worker', true, ctx.out);
    intOption(opts, 'encoders', 1, 1, 8, ctx.out);
    choiceOption(opts, 'statistics', ['chunk', 'page'] as const, 'chunk', ctx.out);
    const engine = choiceOption(opts, 'engine', ENGINES, 'auto', ctx.out);
    const blocker = engine === 'wasm' ? 'engine=wasm' : nativeParquetBlocker(undefined, opts, codec);
    return {
      format: 'parquet',
      columns: fields.map(parquetFidelity),
      notes: [`compression ${codec}; streamed: at most one row group is held in memory (rowGroupRows / rowGroupBytes); the Arrow schema is embedded`,
        blocker ? `encoder: parquet-wasm (${blocker})` : 'encoder: native (plain encoding, parallel) when it covers every column, else parquet-wasm'],
    };
  },
  async open(_fields, schema, opts, ctx): Promise<Writer> {
    for (const f of schema.fields) {
      if (unsupportedForParquet(f.type)) throw CdxError.file('E_UNSUPPORTED', ctx.out, `column "${f.name}" (${f.type}) cannot be written to Parquet`);
    }
    const native = openNativeParquet(schema, opts, ctx, choiceOption(opts, 'compression', CODECS, 'zstd', ctx.out));
    if (native) return native;
    const pw = await parquetWasm();
    const codec = choiceOption(opts, 'compression', CODECS, 'zstd', ctx.out);
    const codecs: Record<(typeof CODECS)[number], number> = {
      zstd: pw.Compression.ZSTD, snappy: pw.Compression.SNAPPY, gzip: pw.Compression.GZIP, none: pw.Compression.UNCOMPRESSED,
      lz4: pw.Compression.LZ4_RAW, brotli: pw.Compression.BROTLI,
    };
    const settings: ParquetSettings = {
      codec: codecs[codec],
      rowGroupRows: intOption(opts, 'rowGroupRows', 1 << 20, 1, 1 << 30, ctx.out),
      rowGroupBytes: intOption(opts, 'rowGroupBytes', 128 << 20, 1 << 16, 2 ** 31 - 1, ctx.out),
      dictionary: choiceOption(opts, 'dictionary', ['true', 'false'] as const, 'true', ctx.out) === 'true',
      createdBy: 'Continuum Data Explorer (parquet-wasm)',
      // min/max per column chunk, no page index (as DuckDB writes): ~10% less encoding work
      chunkStats: choiceOption(opts, 'statistics', ['chunk', 'page'] as const, 'chunk', ctx.out) === 'chunk',
    };
    const wrapErr = (e: unknown) => (isOutputError(e, ctx.out) ? e : CdxError.file('E_WRITE', ctx.out, `Parquet writer failed: ${e instanceof Error ? e.message : String(e)}`));
    // The WebAssembly encoder is single-threaded and the slowest stage. Several encoders (opt-in)
    // help only on idle cores: on a busy 2-core machine they cost ~25% more CPU (measured 26 s vs
    // 20 s for 1 GB of CSV), so the default is one, in a worker, overlapping with parsing.
    const encoders = Math.min(intOption(opts, 'encoders', 1, 1, 8, ctx.out), Math.max(1, availableParallelism()));
    if (boolOption(opts, 'worker', true, ctx.out) || encoders > 1) {
      const pwk = encoders > 1 ? startParallelParquet(ctx.tmp, settings, encoders, emptyBatch) : startParquetWorker(ctx.tmp, settings);
      let any = false;
      return {
        async write(batch) {
          any = true;
          await pwk.write(batch).catch((e) => { throw wrapErr(e); });
        },
        async finish() {
          // the encoder learns the schema from the first batch: an empty input gets one empty batch
          if (!any) await pwk.write(emptyBatch(schema)).catch((e) => { throw wrapErr(e); });
          await pwk.finish().catch((e) => { throw wrapErr(e); });
          return 'rename';
        },
        abort: () => pwk.abort(),
      };
    }
    const props = new pw.WriterPropertiesBuilder()
      .setCompression(settings.codec as any)
      .setMaxRowGroupSize(settings.rowGroupRows)
      .setMaxRowGroupBytes(settings.rowGroupBytes)
      .setDictionaryEnabled(settings.dictionary)
      .setCreatedBy(settings.createdBy)
      .setStatisticsEnabled(settings.chunkStats ? pw.EnabledStatistics.Chunk : pw.EnabledStatistics.Page)
      .build();

    // A pull-based bridge: write() hands one batch to the stream's pull() and resolves when the
    // WebAssembly writer has taken it, so at most one batch waits here.
    type Item = { batch: RecordBatch; resolve: () => void; reject: (e: unknown) => void } | { end: true } | { error: unknown };
    const queue: Item[] = [];
    let wake: (() => void) | undefined;
    const push = (it: Item) => {
      queue.push(it);
      wake?.();
    };
    const next = async (): Promise<Item> => {
      while (!queue.length) await new Promise<void>((r) => (wake = r));
      wake = undefined;
      return queue.shift()!;
    };
    const input = new ReadableStream({
      async pull(c) {
        const it = await next();
        if ('end' in it) return c.close();
        if ('error' in it) return c.error(it.error);
        try {
          const t = pw.Table.fromIPCStream(tableToIPC(new Table([it.batch]), 'stream'));
          for (const b of t.recordBatches()) c.enqueue(b);
          t.free();
          it.resolve();
        } catch (e) {
          it.reject(e);
          c.error(e);
        }
      },
    }, { highWaterMark: 0 });
    // output chunks written one by one through a file handle (Writable.toWeb kept every chunk alive)
    const out = await open(ctx.tmp, 'wx');
    const done = pw.transformParquetStream(input, props).then(async (bytes) => {
      const reader = bytes.getReader();
      for (;;) {
        const { done: end, value } = await reader.read();
        if (end) break;
        await writeAll(out, [value as Uint8Array]);
      }
      await out.close();
    });
    let failure: unknown;
    let wrote = false;
    done.catch((e) => (failure = e));
    const wrap = (e: unknown) => CdxError.file('E_WRITE', ctx.out, `Parquet writer failed: ${e instanceof Error ? e.message : String(e)}`);
    const writer: Writer = {
      async write(batch) {
        if (failure) throw wrap(failure);
        wrote = true;
        await Promise.race([
          new Promise<void>((resolve, reject) => push({ batch, resolve, reject })),
          done.then(() => { throw new Error('the Parquet writer stopped early'); }),
        ]).catch((e) => { throw wrap(e); });
      },
      async finish() {
        // the WebAssembly writer learns the schema from the first batch: give an empty input one empty batch
        if (!wrote && !failure) await writer.write(emptyBatch(schema));
        push({ end: true });
        try {
          await done;
        } catch (e) {
          throw wrap(e);
        }
        return 'rename';
      },
      async abort() {
        push({ error: new Error('cancelled') });
        await done.catch(() => undefined);
        await out.close().catch(() => undefined);
      },
    };
    return writer;
  },
};

/** A zero-row batch of `schema`. */
export function emptyBatch(schema: ArrowSchema): ArrowRecordBatch {
  const children = schema.fields.map((f) => vectorFromArray([], f.type).data[0]);
  return new ArrowRecordBatch(schema, makeData({ type: new Struct(schema.fields), length: 0, nullCount: 0, children }));
}
