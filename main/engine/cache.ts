/**
 * The columnar cache: what cannot be mapped as it stands (CSV, JSON, compressed Parquet or Arrow,
 * HDF5, SQLite tables) is ingested once, batch by batch, into an uncompressed Arrow IPC file that
 * the native kernels map. Memory stays bounded (one batch at a time, with back-pressure on the
 * file); the output is written to a temporary name in the cache folder and renamed when complete
 * (flushed first: durable.ts), so a cancelled or failed ingest leaves nothing behind, and a killed
 * one leaves only a temporary name the next start sweeps.
 */
import { createWriteStream } from 'node:fs';
import { rm, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import {
  Dictionary, RecordBatch, RecordBatchFileWriter, Schema as ArrowSchema, Field as ArrowField, Struct, makeData, vectorFromArray,
  type DataType, type Vector,
} from 'apache-arrow';
import type { Source, ScanOptions } from './sources/types';
import { arrowSchemaOf } from './sources/common';
import { throwIfCancelled } from '../../shared/errors';
import { renameDurable, tempBeside } from './durable';

export interface IngestResult {
  rows: number;
  batches: number;
  bytes: number;
}

/**
 * The Arrow IPC file format cannot hold a dictionary that changes between batches; readers give a
 * fresh dictionary per batch, so dictionary columns are stored decoded (their value type).
 */
function plainType(t: DataType): DataType {
  return t instanceof Dictionary ? (t.dictionary as DataType) : t;
}

function normalize(batch: RecordBatch, schema: ArrowSchema): RecordBatch {
  let changed = false;
  const children = batch.schema.fields.map((f, i) => {
    const v = batch.getChildAt(i)! as Vector;
    if (f.type instanceof Dictionary) {
      changed = true;
      return vectorFromArray([...v] as never[], plainType(f.type)).data[0]!;
    }
    return v.data[0]!;
  });
  if (!changed && batch.schema === schema) return batch;
  const data = makeData({ type: new Struct(schema.fields), length: batch.numRows, nullCount: 0, children });
  return new RecordBatch(schema, data);
}

export async function ingestToArrow(source: Source, outPath: string, opts: ScanOptions = {}): Promise<IngestResult> {
  await mkdir(path.dirname(outPath), { recursive: true });
  const tmp = tempBeside(outPath);
  const sink = createWriteStream(tmp);
  const writer = new RecordBatchFileWriter();
  const written = pipeline(writer.toNodeStream(), sink);
  written.catch(() => undefined); // observed below
  let schema: ArrowSchema | null = null;
  let rows = 0;
  let batches = 0;
  try {
    for await (const raw of source.scan(opts)) {
      throwIfCancelled(opts.signal, 'the ingest');
      if (!schema) {
        schema = new ArrowSchema(raw.schema.fields.map((f) => new ArrowField(f.name, plainType(f.type), f.nullable, f.metadata)), raw.schema.metadata);
        writer.reset(undefined, schema);
      }
      const batch = normalize(raw, schema);
      if (batch.numRows === 0) continue;
      writer.write(batch);
      rows += batch.numRows;
      batches++;
      // back-pressure: one batch or so in flight, never the whole dataset in memory
      if (sink.writableLength > 64 * 1024 * 1024) await once(sink, 'drain');
    }
    throwIfCancelled(opts.signal, 'the ingest');
    if (!schema) writer.reset(undefined, arrowSchemaOf((await source.info()).schema.fields)); // empty: the schema alone
    writer.finish();
    await written;
    const bytes = sink.bytesWritten;
    await renameDurable(tmp, outPath);
    return { rows, batches, bytes };
  } catch (e) {
    // (writer.abort() would reject the node stream's pending read with an iterator result: an unhandled rejection)
    sink.destroy();
    try { writer.close(); } catch { /* already failed */ }
    await written.catch(() => undefined);
    await rm(tmp, { force: true });
    throw e;
  }
}
