/**
 * Ingesting a CSV file into an uncompressed Arrow IPC file (the columnar cache's fast path), in one
 * optimistic pass: column types come from a sample; a value further on that does not fit widens
 * its column (before any batch was written the pass simply goes on with the wider type; after, it
 * restarts into a fresh temporary file with the widened types).
 *
 * For plain / BOM UTF-8 and Windows-1252 files the whole pass is native (csvIngestPass over
 * native/src/csv_ingest.cc: the file is mapped, parsed in 16 MiB windows on every core and each
 * record batch laid out straight into a mapping of the output file); here only the Schema message
 * at the start and the footer at the end are encoded (apache-arrow's encoders). gzip and UTF-16
 * input take the streamed path (readCsv + apache-arrow's RecordBatchFileWriter). Either way the
 * output is written to a temporary file beside `outPath` and renamed when complete (flushed first:
 * durable.ts); a failure or cancel leaves neither. Memory stays bounded (about 300 MB RSS ingesting 1 GB).
 */
import { createWriteStream } from 'node:fs';
import { appendFile, rm } from 'node:fs/promises';
import { renameDurable } from '../durable';
import { MetadataVersion, RecordBatchFileWriter, type Schema } from 'apache-arrow';
import { FileBlock, Footer } from 'apache-arrow/ipc/metadata/file';
import { Message } from 'apache-arrow/ipc/metadata/message';
import { csvIngestPass, type CsvIngestResult } from '../../../native/csv';
import { CdxError } from '../../../shared/errors';
import { DEFAULT_CHUNK, MiB } from './csv-text';
import { terminatorOf } from './csv-dialect';
import { CSV_ORDER } from '../../../native/csv';
import {
  UnconvertedTally, badRowWarnings, csvArrowSchema, inspectCsv, readCsv, widenedWarning, type CsvInfo, type CsvOptions, type CsvType, type CsvWarning,
} from './csv-read';

export interface IngestCsvOptions extends CsvOptions {
  /** called for every warning of the pass that completes */
  onWarning?: (w: CsvWarning) => void;
  /** maximum rows per record batch (default 1 << 20) */
  batchRows?: number;
}

export interface IngestCsvResult {
  /** the final description: types as written, exact row / bad-row counts, nullability from the data */
  info: CsvInfo;
  warnings: CsvWarning[];
  /** data passes made (1 unless a value past the sample widened a column after batches were written) */
  passes: number;
  batches: number;
}

/**
 * Ingests a CSV file into an uncompressed Arrow IPC file at `outPath` (written to a temporary file
 * beside it and renamed when complete; a failure or cancel leaves neither), in one optimistic pass:
 * types come from the first `sampleBytes`; a value further on that does not fit widens the column
 * (before any batch was written the pass simply starts again with the wider type and W_WIDENED says
 * where; after, the ingest restarts with the widened types: `passes` counts those, each widens at
 * least one column, so there are at most a few). Every column is written as nullable (the returned
 * info says which really hold nulls). Plain / BOM UTF-8 and Windows-1252 files take the native path
 * (ingestCsvNative), gzip and UTF-16 the streamed one (ingestCsvStreamed); both keep memory bounded.
 */
export async function ingestCsv(path: string, outPath: string, opts: IngestCsvOptions = {}): Promise<IngestCsvResult> {
  // the sample is read in pieces no larger than itself (a default chunk would type 8 MiB)
  const sampleChunk = Math.min(opts.chunkBytes ?? DEFAULT_CHUNK, opts.sampleBytes ?? 4 * MiB);
  const info = await inspectCsv(path, { ...opts, chunkBytes: sampleChunk, typing: 'sample', onProgress: undefined });
  if (info.gzip || info.encoding === 'utf-16le' || info.encoding === 'utf-16be') {
    return ingestCsvStreamed(path, outPath, opts, info);
  }
  return ingestCsvNative(path, outPath, opts, info);
}

const ARROW_MAGIC = Buffer.from('ARROW1');

/** Magic, padding and the Schema message: the start of an Arrow IPC file (apache-arrow's encoder). */
function ipcPrefix(schema: Schema): Uint8Array {
  const fb = Message.encode(Message.from(schema));
  const metaLen = (fb.byteLength + 8 + 7) & ~7;
  const out = new Uint8Array(8 + metaLen);
  out.set(ARROW_MAGIC, 0);
  const dv = new DataView(out.buffer);
  dv.setInt32(8, -1, true);
  dv.setInt32(12, metaLen - 8, true);
  out.set(fb, 16);
  return out;
}

/** End-of-stream marker, footer (schema + record batch blocks), its length and the magic. */
function ipcSuffix(schema: Schema, blocks: Float64Array): Uint8Array {
  const fileBlocks: FileBlock[] = [];
  for (let i = 0; i < blocks.length; i += 3) fileBlocks.push(new FileBlock(blocks[i + 1]!, blocks[i + 2]!, blocks[i]!));
  const footer = Footer.encode(new Footer(schema, MetadataVersion.V5, fileBlocks, []));
  const out = new Uint8Array(8 + footer.byteLength + 4 + 6);
  const dv = new DataView(out.buffer);
  dv.setInt32(0, -1, true);
  dv.setInt32(4, 0, true);
  out.set(footer, 8);
  dv.setInt32(8 + footer.byteLength, footer.byteLength, true);
  out.set(ARROW_MAGIC, 12 + footer.byteLength);
  return out;
}

/**
 * The direct path (plain or BOM-prefixed UTF-8 and Windows-1252 files): the native side maps the
 * file, parses it window by window and writes the record batches itself (csvIngestPass); here only the
 * Schema message at the start and the footer at the end are encoded (apache-arrow). A widening
 * restarts the native pass with the widened types (before any batch was written it costs one
 * window and is not counted as a pass).
 */
async function ingestCsvNative(path: string, outPath: string, opts: IngestCsvOptions, sampled: CsvInfo): Promise<IngestCsvResult> {
  let info = sampled;
  const tmp = `${outPath}.tmp-${process.pid}-${Date.now()}`;
  const widenings: CsvWarning[] = [];
  const total = info.size;
  for (let pass = 1, attempt = 0; ; attempt++) {
    const columns = info.columns.map((c) => ({ ...c, nullable: true }));
    const schema = csvArrowSchema(columns);
    let r: CsvIngestResult;
    // progress is polled while the native pass runs; say at once that it started (a caller may cancel)
    opts.onProgress?.({ done: 0, total, fraction: 0 });
    try {
      r = await csvIngestPass({
        path, out: tmp, prefix: ipcPrefix(schema), offset: info.encoding === 'utf-8-bom' ? 3 : 0,
        delimiter: info.dialect.delimiter, quote: info.dialect.quote, terminator: terminatorOf(info.dialect),
        ncols: columns.length, types: columns.map((c) => c.type), header: info.header, strict: opts.strict,
        orders: columns.map((c) => c.orders ?? CSV_ORDER.ymd), forced: columns.map((c) => c.forced === true),
        cp1252: info.encoding === 'windows-1252', maxRowBytes: opts.maxRowBytes,
        chunkBytes: opts.chunkBytes ?? 16 * MiB, batchRows: opts.batchRows ?? 1 << 20,
      }, {
        signal: opts.signal,
        progressIntervalMs: opts.progressIntervalMs,
        onProgress: opts.onProgress ? (p) => opts.onProgress!({ done: p.done, total, fraction: p.fraction }) : undefined,
      });
      if (!r.restart) {
        await appendFile(tmp, ipcSuffix(schema, r.blocks));
        await renameDurable(tmp, outPath);
      }
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    if (r.restart) {
      if (attempt > 8) throw CdxError.file('E_INTERNAL', path, 'column types did not settle after 8 widenings');
      if (r.batchesBeforeRestart > 0) pass++;
      const to = new Map<number, { type: CsvType; orders: number }>();
      for (const w of r.widened) {
        const col = info.columns[w.column]!;
        to.set(w.column, { type: w.to as CsvType, orders: w.orders });
        if (!(col.forced && w.from === w.to)) widenings.push(widenedWarning(col.name, w));
      }
      info = {
        ...info,
        columns: info.columns.map((c, j) => {
          const t = to.get(j);
          if (!t) return c;
          return { ...c, type: t.type, orders: t.type === 'date' || t.type === 'timestamp' ? t.orders : undefined };
        }),
      };
      continue;
    }
    const tally = new UnconvertedTally(columns);
    tally.add(r.unconverted);
    const warnings = [...widenings, ...badRowWarnings(r.bad, columns.length)];
    if (r.badCount > 0) warnings.push({ code: 'W_BAD_ROWS', count: r.badCount, message: `${r.badCount} bad row(s) skipped` });
    warnings.push(...tally.warnings());
    for (const w of warnings) opts.onWarning?.(w);
    const final: CsvInfo = {
      ...info,
      columns: columns.map((c, j) => ({ ...c, nullable: r.nulls[j]! > 0 })),
      rows: r.rows, badRows: r.badCount, typedBy: 'full',
    };
    return { info: final, warnings, passes: pass, batches: r.blocks.length / 3 };
  }
}

/**
 * The streamed path (gzip, UTF-16): readCsv's record batches through apache-arrow's
 * RecordBatchFileWriter, with back-pressure on the file stream.
 */
async function ingestCsvStreamed(path: string, outPath: string, opts: IngestCsvOptions, sampled: CsvInfo): Promise<IngestCsvResult> {
  let info = sampled;
  const tmp = `${outPath}.tmp-${process.pid}-${Date.now()}`;
  for (let pass = 1; ; pass++) {
    const columns = info.columns.map((c) => ({ ...c, nullable: true }));
    const warnings: CsvWarning[] = [];
    const widened = new Map<string, { type: CsvType; orders?: number }>();
    let written = 0;
    let restart = false;
    let rows = 0;
    const nulls = new Array<number>(columns.length).fill(0);
    const writer = new RecordBatchFileWriter();
    const sink = createWriteStream(tmp);
    const src = writer.toNodeStream();
    src.pipe(sink);
    const sinkDone = new Promise<void>((res, rej) => { sink.on('close', res); sink.on('error', rej); });
    sinkDone.catch(() => undefined);
    try {
      // fail early (before parsing) when the output cannot be created
      await new Promise<void>((res, rej) => { sink.once('open', () => res()); sink.once('error', rej); });
      for await (const b of readCsv(path, {
        ...opts, info: { ...info, columns },
        onWarning: (w) => {
          warnings.push(w);
          if (w.code === 'W_WIDENED' && w.column) widened.set(w.column, { type: w.type ?? 'string', orders: w.orders });
        },
      })) {
        if (widened.size && written > 0) { restart = true; break; }
        writer.write(b);
        written++;
        rows += b.numRows;
        for (let j = 0; j < columns.length; j++) nulls[j]! += b.getChildAt(j)!.nullCount;
        // back-pressure: let the file stream catch up before parsing more
        while (src.readableLength + sink.writableLength > 64 * MiB) await new Promise((r) => setTimeout(r, 2));
      }
      writer.finish();
      await sinkDone;
    } catch (e) {
      // (writer.abort() would reject the stream's pending read with an iterator result)
      try { writer.finish(); } catch { /* already failed */ }
      src.unpipe(sink);
      src.destroy();
      sink.destroy();
      await rm(tmp, { force: true });
      const err = e as NodeJS.ErrnoException;
      if (err?.syscall) throw CdxError.file('E_IO', outPath, `cannot write the Arrow file: ${err.message}`, { cause: e });
      throw e;
    }
    if (restart) {
      await rm(tmp, { force: true });
      info = {
        ...info,
        columns: info.columns.map((c) => {
          const t = widened.get(c.name);
          return t ? { ...c, type: t.type, orders: t.type === 'date' || t.type === 'timestamp' ? t.orders : undefined } : c;
        }),
      };
      continue;
    }
    await renameDurable(tmp, outPath);
    for (const w of warnings) opts.onWarning?.(w);
    const bad = warnings.find((w) => w.code === 'W_BAD_ROWS')?.count ?? 0;
    const final: CsvInfo = {
      ...info,
      columns: columns.map((c, j) => ({ ...c, nullable: nulls[j]! > 0 })),
      rows, badRows: bad, typedBy: 'full',
    };
    return { info: final, warnings, passes: pass, batches: written };
  }
}
