/**
 * The Parquet writer's native path: when every column is one the native encoder covers
 * (native/parquet.ts: integers, floats, bool, utf8/large_utf8, dates, timestamps) and the codec is
 * zstd or none, batches go to the C++ encoder (OpenMP across columns and pages, zstd from the
 * system libzstd) instead of parquet-wasm's single-threaded WebAssembly writer — about 4x less
 * CPU for the same file. Anything else (decimals, nested, float16, other codecs, dictionary
 * encoding asked for explicitly, a page index, several wasm encoders) keeps the parquet-wasm path
 * for the whole file. `engine=native` insists (E_UNSUPPORTED with the reason when it cannot),
 * `engine=wasm` never uses the native encoder.
 */
import type { Schema as ArrowSchema } from 'apache-arrow';
import { NativeParquetWriter, nativeParquetInfo, parquetPlan } from '../../../native/parquet';
import { isOutputError, choiceOption, intOption, type WriteOptions, type Writer, type WriterContext } from './types';
import { CdxError, isCancelled, toErrorInfo } from '../../../shared/errors';

export const ENGINES = ['auto', 'native', 'wasm'] as const;

/** Why the native encoder cannot write this (undefined when it can). */
export function nativeParquetBlocker(schema: ArrowSchema | undefined, opts: WriteOptions, codec: string): string | undefined {
  if (codec !== 'zstd' && codec !== 'none') return `compression ${codec} is written by parquet-wasm`;
  if (opts.dictionary?.toLowerCase() === 'true') return 'dictionary encoding (dictionary=true) is written by parquet-wasm';
  if (opts.statistics?.toLowerCase() === 'page') return 'a page index (statistics=page) is written by parquet-wasm';
  if (opts.encoders !== undefined) return 'encoders= sets parquet-wasm encoders';
  const info = nativeParquetInfo();
  if (!info.available) return `the native engine is not available (${info.reason})`;
  if (codec === 'zstd' && !info.zstd) return 'this build of the native engine has no zstd (build it with libzstd-dev installed)';
  if (schema) {
    const plan = parquetPlan(schema);
    if ('unsupported' in plan) return plan.unsupported;
  }
  return undefined;
}

/** A native Writer for ctx.tmp, or undefined when the parquet-wasm path should write this file. */
export function openNativeParquet(schema: ArrowSchema, opts: WriteOptions, ctx: WriterContext, codec: string): Writer | undefined {
  const engine = choiceOption(opts, 'engine', ENGINES, 'auto', ctx.out);
  if (engine === 'wasm') return undefined;
  const why = nativeParquetBlocker(schema, opts, codec);
  if (why) {
    if (engine === 'native') throw CdxError.file('E_UNSUPPORTED', ctx.out, `the native Parquet encoder cannot write this: ${why}`);
    return undefined;
  }
  const wrap = (e: unknown) => {
    if (isOutputError(e, ctx.out)) return e;
    if (isCancelled(e)) return CdxError.file('E_CANCELLED', ctx.out, 'conversion cancelled; nothing was written');
    const { code, message } = toErrorInfo(e);
    return CdxError.file(code !== 'E_INTERNAL' ? code : 'E_WRITE', ctx.out, `Parquet writer failed: ${message.replace(`${ctx.tmp}: `, '')}`);
  };
  let w: NativeParquetWriter;
  try {
    w = NativeParquetWriter.open(ctx.tmp, schema, {
      codec: codec as 'zstd' | 'none',
      rowGroupRows: intOption(opts, 'rowGroupRows', 1 << 20, 1, 1 << 30, ctx.out),
      rowGroupBytes: intOption(opts, 'rowGroupBytes', 128 << 20, 1 << 16, 2 ** 31 - 1, ctx.out),
      createdBy: 'Continuum Data Explorer (native)',
      signal: ctx.signal,
    });
  } catch (e) {
    throw wrap(e);
  }
  return {
    async write(batch) {
      await w.write(batch).catch((e) => { throw wrap(e); });
    },
    async finish() {
      await w.finish().catch((e) => { throw wrap(e); });
      return 'rename';
    },
    abort: () => w.abort(),
  };
}
