/**
 * A database dataset's rows in a sort's order as a Source, for a sorted export: the table's
 * sorted windows (`ORDER BY` with the native sort's order — nulls last, NaN the greatest number,
 * text in byte order — then the table's own order for ties) read one after another with
 * LIMIT/OFFSET, the filter pushed down. Why windows and not one streamed query: the windows are
 * the order the table shows, tested equal to the native sort, and a filter's bound parameters do
 * not go through the cursor path (sql/dataset.ts batches()).
 */
import type { RecordBatch } from 'apache-arrow';
import type { Expr } from '../../../shared/expr/ast';
import type { ScanOptions, Source, SourceInfo } from '../sources/types';
import type { SortKey } from '../sort';
import type { SqlDataset } from './dataset';

export function sortedSqlSource(ds: SqlDataset, location: string, where: Expr | undefined, whereText: string, sort: readonly SortKey[]): Source {
  return {
    async info(): Promise<SourceInfo> {
      return { format: ds.conn.kind, path: location, rows: where ? null : ds.rows, schema: ds.schema, metadata: {}, warnings: [] };
    },
    async *scan(opts: ScanOptions = {}): AsyncIterable<RecordBatch> {
      const names = opts.columns?.length ? opts.columns : ds.columns.map((c) => c.field.name);
      const step = opts.batchRows ?? 65_536;
      for (let off = 0; ; off += step) {
        const w = await ds.window(names, off, step, where, whereText, { signal: opts.signal }, sort);
        if (w.batch.numRows) yield w.batch;
        opts.onProgress?.(w.total ? Math.min(1, (off + w.batch.numRows) / w.total) : 1);
        if (off + w.batch.numRows >= w.total || !w.batch.numRows) return;
      }
    },
    async close() {
      /* the connection stays with the engine */
    },
  };
}
