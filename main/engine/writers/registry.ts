/**
 * The registry of format writers: the format for an output path (by extension) or by name, and
 * `OUT::INNER` for a table / group inside a container output (`shop.sqlite::orders`, `run.h5::/trips`).
 */
import { CdxError } from '../../../shared/errors';
import type { WriterProvider } from './types';
import { arrowWriter, parquetWriter } from './columnar';
import { csvWriter, ndjsonWriter } from './text';
import { sqliteWriter } from './sqlite';
import { hdf5Writer } from './hdf5';
import { npyWriter, npzWriter } from './npy';
import { postgresWriter } from './postgres';
import { clickhouseWriter } from './clickhouse';

export const writers: WriterProvider[] = [csvWriter, parquetWriter, arrowWriter, sqliteWriter, hdf5Writer, npyWriter, npzWriter, ndjsonWriter, postgresWriter, clickhouseWriter];

/** Other names users type for a format. */
const aliases: Record<string, string> = {
  tsv: 'csv', feather: 'arrow', ipc: 'arrow', jsonl: 'ndjson', h5: 'hdf5', db: 'sqlite', sqlite3: 'sqlite', pq: 'parquet', postgres: 'postgresql', pg: 'postgresql',
};

export function writerByName(name: string, out: string): WriterProvider {
  const n = name.toLowerCase();
  const w = writers.find((p) => p.format === (aliases[n] ?? n));
  if (!w) throw CdxError.file('E_UNKNOWN_FORMAT', out, `unknown output format "${name}" (known: ${writers.map((p) => p.format).join(', ')})`);
  return w;
}

export function writerForPath(path: string): WriterProvider | undefined {
  const base = path.toLowerCase().split(/[\\/]/).pop() ?? '';
  let best: { p: WriterProvider; len: number } | undefined;
  for (const p of writers) {
    for (const e of [...p.extensions, ...(p.format === 'sqlite' ? [] : [])]) {
      if (base.endsWith('.' + e) && (!best || e.length > best.len)) best = { p, len: e.length };
    }
  }
  return best?.p;
}

/** Split `OUT::INNER` when OUT names a container format; otherwise the whole text is the path. */
export function splitOutput(output: string): { path: string; inner?: string } {
  const idx = output.lastIndexOf('::');
  if (idx > 0) {
    const left = output.slice(0, idx);
    const w = writerForPath(left);
    if (w?.container) return { path: left, inner: output.slice(idx + 2) || undefined };
  }
  return { path: output };
}
