/**
 * The registry of format readers: picks a provider for a path by magic bytes first and extension
 * second, resolves `PATH::INNER` locations (a dataset inside a container file) and turns the
 * common ways a path can be wrong (missing, a directory, empty, binary content named .csv, an
 * unknown format) into CdxErrors naming the file, each with its own code. Every reader is listed
 * here once; none registers itself elsewhere.
 */
import { open, stat } from 'node:fs/promises';
import { CdxError } from '../../../shared/errors';
import type { InnerDataset, Source, SourceProvider } from './types';
import { arrowProvider } from './arrow';
import { parquetProvider } from './parquet';
import { hdf5Provider } from './hdf5';
import { npyProvider } from './npy';
import { npzProvider } from './npz';
import { sqliteProvider } from './sqlite';
import { jsonProvider, ndjsonProvider } from './json';
import { csvProvider } from './csv';
import { isMultiLocation, openMulti } from './multi';

/**
 * Every provider, in sniffing order. CSV is last: it has no magic bytes and is chosen by
 * extension. (Importing it does not load the native addon; the first parse does, so a build
 * without the addon still opens every other format.)
 */
export const providers: readonly SourceProvider[] = [
  parquetProvider, arrowProvider, hdf5Provider, npyProvider, npzProvider, sqliteProvider, jsonProvider, ndjsonProvider, csvProvider,
];

const TEXT_EXTS = ['csv', 'tsv', 'txt', 'psv', 'tab', 'csv.gz', 'tsv.gz', 'txt.gz', 'json', 'ndjson', 'jsonl'];

async function readHead(path: string, n = 4096): Promise<Uint8Array> {
  const fh = await open(path, 'r');
  try {
    const buf = new Uint8Array(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** Heuristic: NUL bytes or many control characters in the head mean binary content. */
export function looksBinary(head: Uint8Array): boolean {
  if (head.length >= 2 && ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff))) return false; // UTF-16 BOM
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return false; // gzip (csv.gz)
  let ctl = 0;
  for (const b of head) {
    if (b === 0) return true;
    if (b < 9 || (b > 13 && b < 32)) ctl++;
  }
  return head.length > 0 && ctl / head.length > 0.1;
}

function extOf(path: string): string {
  const base = path.toLowerCase().split(/[\\/]/).pop() ?? '';
  return base;
}

function byExtension(path: string): SourceProvider | undefined {
  const base = extOf(path);
  // longest extension first ('csv.gz' before 'gz')
  let best: { p: SourceProvider; len: number } | undefined;
  for (const p of providers) {
    for (const e of p.extensions) {
      if (base.endsWith('.' + e) && (!best || e.length > best.len)) best = { p, len: e.length };
    }
  }
  return best?.p;
}

async function checkFile(path: string): Promise<number> {
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException | null)?.code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw CdxError.file('ENOENT', path, 'no such file');
    if (code === 'EACCES' || code === 'EPERM') throw CdxError.file('EACCES', path, 'permission denied');
    throw CdxError.file('E_IO', path, (e as Error | null)?.message ?? String(e), { cause: e });
  }
  if (st.isDirectory()) throw CdxError.file('E_IS_DIR', path, 'is a directory, not a data file');
  if (!st.isFile()) throw CdxError.file('E_NOT_FILE', path, 'is not a regular file');
  if (st.size === 0) throw CdxError.file('E_EMPTY', path, 'the file is empty (0 bytes)');
  return st.size;
}

/** The provider that reads `path`; throws a CdxError naming the file when none does. */
export async function detectProvider(path: string): Promise<SourceProvider> {
  await checkFile(path);
  const head = await readHead(path);
  for (const p of providers) {
    if (p.sniff?.(head, path)) return p;
  }
  const byExt = byExtension(path);
  const base = extOf(path);
  const textNamed = TEXT_EXTS.some((e) => base.endsWith('.' + e));
  if (textNamed && looksBinary(head)) {
    throw CdxError.file('E_UNKNOWN_FORMAT', path,
      `named like a text file (.${base.split('.').slice(1).join('.')}) but holds binary data; not a format CDX reads`);
  }
  if (byExt) return byExt;
  throw CdxError.file('E_UNKNOWN_FORMAT', path, 'unknown file format (no known magic bytes or extension)');
}

/** The format name (`parquet`, `arrow`, `hdf5`, `npy`, `npz`, `sqlite`, `json`, `ndjson`, `csv`…). */
export async function detectFormat(path: string): Promise<string> {
  return (await detectProvider(path)).format;
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

/** Split `PATH::INNER` on the last `::` whose left part is an existing file. */
export async function splitLocation(location: string): Promise<{ path: string; inner?: string }> {
  if (await isFile(location)) return { path: location };
  let idx = location.lastIndexOf('::');
  while (idx > 0) {
    const left = location.slice(0, idx);
    if (await isFile(left)) return { path: left, inner: location.slice(idx + 2) };
    idx = location.lastIndexOf('::', idx - 1);
  }
  return { path: location };
}

/** Open a dataset: a plain path, or `PATH::INNER` for a dataset inside a container. */
export async function openSource(location: string): Promise<Source> {
  // a folder, a glob or a Hive-partitioned tree: its files as one dataset (multi.ts)
  if (await isMultiLocation(location)) return openMulti(location);
  const { path, inner } = await splitLocation(location);
  const p = await detectProvider(path);
  if (inner !== undefined && !p.list) {
    throw CdxError.file('E_NO_INNER', path, `a ${p.format} file holds one dataset; "::${inner}" does not apply`);
  }
  return p.open(path, inner === '' ? undefined : inner);
}

/** Datasets inside a container file ([] for single-dataset formats). */
export async function listInner(path: string): Promise<InnerDataset[]> {
  if (await isMultiLocation(path)) return []; // a folder or glob: one dataset of many files (multi.ts), nothing to choose inside
  const p = await detectProvider(path);
  return p.list ? p.list(path) : [];
}
