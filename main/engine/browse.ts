/**
 * A browser of the host's files for web mode (the page cannot see the host's disk): one folder at
 * a time, folders first, each file with its size and, by extension, the format CDX would read it
 * as. Hidden entries are listed only when asked for.
 */
import { readdir, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { BrowseEntry, BrowseResult } from '../../shared/api';
import { CdxError, toErrorInfo } from '../../shared/errors';

const FORMATS: [RegExp, string][] = [
  [/\.(csv|tsv|txt|psv|tab)(\.gz)?$/i, 'csv'],
  [/\.parquet$|\.pq$/i, 'parquet'],
  [/\.(arrow|feather|ipc|arrows|ft)$/i, 'arrow'],
  [/\.(h5|hdf5|he5|nc)$/i, 'hdf5'],
  [/\.npy$/i, 'npy'],
  [/\.npz$/i, 'npz'],
  [/\.(sqlite3?|db)$/i, 'sqlite'],
  [/\.(ndjson|jsonl)$/i, 'ndjson'],
  [/\.json$/i, 'json'],
];

export function formatByName(name: string): string | undefined {
  return FORMATS.find(([re]) => re.test(name))?.[1];
}


export async function browse(dir: string | undefined, showHidden = false): Promise<BrowseResult> {
  const abs = path.resolve(dir && dir.trim() ? dir : os.homedir());
  let names: string[];
  try {
    const st = await stat(abs);
    if (!st.isDirectory()) throw CdxError.file('E_NOT_DIR', abs, 'not a folder');
    names = await readdir(abs);
  } catch (e) {
    if (e instanceof CdxError) throw e;
    const err = e as NodeJS.ErrnoException;
    throw CdxError.file(toErrorInfo(e).code, abs, err.code === 'ENOENT' ? 'no such folder' : err.code === 'EACCES' ? 'permission denied' : err.message ?? String(e));
  }
  const entries: BrowseEntry[] = [];
  for (const name of names) {
    if (!showHidden && name.startsWith('.')) continue;
    const p = path.join(abs, name);
    try {
      const st = await stat(p);
      if (st.isDirectory()) entries.push({ name, path: p, kind: 'dir' });
      else if (st.isFile()) entries.push({ name, path: p, kind: 'file', size: st.size, mtimeMs: st.mtimeMs, format: formatByName(name) });
    } catch {
      /* a dangling link or a file we may not stat: not listed */
    }
  }
  entries.sort((a, b) => (a.kind === b.kind ? a.name.localeCompare(b.name) : a.kind === 'dir' ? -1 : 1));
  const parent = path.dirname(abs);
  return { dir: abs, parent: parent === abs ? null : parent, entries: entries.slice(0, 5000), truncated: entries.length > 5000 };
}
