/**
 * A group-by's result as a dataset of its own (the Group view's "Open as dataset", `groupBy`'s
 * `save`): every group — not only the limit the view shows — written as an uncompressed Arrow IPC
 * file in the engine's cache folder (durably: a temporary file flushed, then renamed) and
 * catalogued under a readable name (`trips by borough`), so that it opens like any dataset —
 * summary, table, plots, export — and removing it from the catalog deletes the file. The file's
 * schema metadata says what made it (`cdx.groupBy`: the dataset, keys, measures, filter, sort).
 */
import path from 'node:path';
import { mkdir } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import { RecordBatch, Schema, Table, tableToIPC } from 'apache-arrow';
import type { Datasets, OpenedDataset } from './datasets';
import { writeFileDurable } from './durable';

export interface GroupMade {
  /** the grouped dataset's name */
  dataset: string;
  by: string[];
  agg: string;
  where?: string;
  sort?: string[];
  /** the key whose values became columns */
  pivot?: string;
}

/** `trips by borough, passengers` (a short filter said too: `… where fare > 20`; a long one: `…, filtered`). */
export function groupDatasetName(made: GroupMade): string {
  const base = made.dataset.replace(/::.*$/, '').replace(/\.(arrow|feather|parquet|csv|tsv|json|ndjson|jsonl|sqlite|h5|hdf5|npy|npz)(\.gz)?$/i, '');
  const w = made.where?.trim();
  return `${base} by ${made.by.join(', ')}${made.pivot !== undefined ? `, pivot ${made.pivot}` : ''}${w ? (w.length <= 40 ? ` where ${w}` : ', filtered') : ''}`;
}

/**
 * Writes `table` (all the groups) to the cache folder and catalogs it as `name` (default
 * `groupDatasetName(made)`); returns the opened dataset.
 */
export async function saveGroups(store: Datasets, table: Table, made: GroupMade, opts: { name?: string; signal?: AbortSignal } = {}): Promise<OpenedDataset> {
  const meta = new Map(table.schema.metadata);
  meta.set('cdx.groupBy', JSON.stringify(made));
  const schema = new Schema(table.schema.fields, meta);
  const out = new Table(schema, table.batches.map((b) => new RecordBatch(schema, b.data)));
  const dir = path.join(store.cacheDir, 'groups');
  await mkdir(dir, { recursive: true });
  const dest = path.join(dir, `${randomUUID()}.arrow`);
  await writeFileDurable(dest, tableToIPC(out, 'file'));
  const name = opts.name?.trim() || groupDatasetName(made);
  // (its own cache file: removing the dataset deletes it)
  const st = statSync(dest);
  store.catalog.upsert({ location: dest, name, format: 'arrow', size: st.size, mtimeMs: st.mtimeMs, cachePath: dest });
  const ds = await store.open(dest, { signal: opts.signal });
  const entry = store.catalog.get(ds.id);
  store.catalog.setTags(ds.id, [...new Set([...(entry?.tags ?? []), 'group'])]);
  return ds;
}
