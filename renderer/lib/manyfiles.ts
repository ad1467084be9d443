/**
 * The files of a dataset made of many files (a folder, a glob, a Hive tree, an S3 prefix), as the
 * engine's reader records them in the dataset's metadata (`files`: each file's path under the
 * folder, rows, size and partition values; `partitionKeys`), for the Info view's file list. Entries
 * written before partition values were recorded get them from their path's `key=value` folders.
 */

export interface FileRow {
  path: string;
  /** null: not counted (the file was never read whole) */
  rows: number | null;
  size: number;
  /** partition values in key order (null: the default partition) */
  values: (string | null)[];
}

export interface FileList {
  keys: string[];
  files: FileRow[];
  /** the sum of the counted rows; null when any file's rows are unknown */
  rows: number | null;
  size: number;
}

const HIVE_NULL = '__HIVE_DEFAULT_PARTITION__';

function fromPath(path: string, keys: string[]): (string | null)[] {
  const found = new Map<string, string>();
  for (const seg of path.split('/').slice(0, -1)) {
    const i = seg.indexOf('=');
    if (i <= 0) continue;
    let v = seg.slice(i + 1);
    try {
      v = decodeURIComponent(v);
    } catch {
      /* as written */
    }
    found.set(seg.slice(0, i), v);
  }
  return keys.map((k) => {
    const v = found.get(k);
    return v === undefined || v === HIVE_NULL ? null : v;
  });
}

/** The file list of a many-file dataset's metadata; null for any other dataset. */
export function filesOf(metadata: Record<string, string> | undefined): FileList | null {
  const text = metadata?.files;
  if (!text) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  if (!Array.isArray(raw)) return null;
  const keys = (metadata.partitionKeys ?? '').split(',').map((k) => k.trim()).filter(Boolean);
  const files: FileRow[] = [];
  for (const f of raw as { path?: unknown; rows?: unknown; size?: unknown; partitions?: unknown }[]) {
    if (!f || typeof f.path !== 'string') continue;
    const parts = f.partitions && typeof f.partitions === 'object' ? (f.partitions as Record<string, string | null>) : null;
    files.push({
      path: f.path,
      rows: typeof f.rows === 'number' ? f.rows : null,
      size: typeof f.size === 'number' ? f.size : 0,
      values: parts ? keys.map((k) => (parts[k] === undefined ? null : parts[k]!)) : fromPath(f.path, keys),
    });
  }
  const rows = files.every((f) => f.rows !== null) ? files.reduce((a, f) => a + f.rows!, 0) : null;
  return { keys, files, rows, size: files.reduce((a, f) => a + f.size, 0) };
}
