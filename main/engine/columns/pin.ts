/**
 * Files pinned: the column descriptors of a dataset hold an open mapping of the file they were read
 * from (a native/index.ts NativeFile: its open descriptor and mapping), not its path, and remember
 * what that file was (device, inode, size, modification and change times).
 *
 * Why: a descriptor is a list of byte offsets into one version of a file. Given a path, every kernel
 * call opened the file anew, so a file replaced under the same name (a new file renamed over it, as
 * editors and `cdx convert` do) or rewritten in place was read at the old offsets: wrong values,
 * E_CORRUPT, or E_OUT_OF_RANGE. Held open, the kernels keep reading the version they were described
 * from (a replaced file's old inode stays readable), and `changedSince` tells the dataset layer
 * (datasets.ts) that the name now holds something else, so it opens the dataset again. A file
 * truncated in place shows as a change in size: the dataset is opened again and says what is wrong;
 * a kernel already running on it is stopped by the native size check or SIGBUS guard (E_TRUNCATED).
 */
import { statSync, type Stats } from 'node:fs';
import { NativeFile, type FileArg } from '../../../native/index';
import { CdxError, toErrorInfo } from '../../../shared/errors';

/** What a file was when it was pinned. */
export interface FileIdentity {
  path: string;
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  /** a rewrite in place whose modification time is set back (rsync --inplace -t) still moves this */
  ctimeMs: number;
}

const identities = new WeakMap<NativeFile, FileIdentity>();

function identityOf(path: string, st: Stats): FileIdentity {
  return { path, dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs };
}

function same(a: FileIdentity, b: FileIdentity): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

function statFile(path: string): FileIdentity {
  try {
    return identityOf(path, statSync(path));
  } catch (e) {
    const info = toErrorInfo(e);
    throw CdxError.file(info.code, path, info.code === 'ENOENT' ? 'no such file' : info.message, { cause: e });
  }
}

/** The file at `path` as it is now; undefined for a folder or what cannot be stat'ed. */
export function fileIdentity(path: string): FileIdentity | undefined {
  try {
    const st = statSync(path);
    return st.isFile() ? identityOf(path, st) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Why the file named by `was.path` is no longer what `was` describes — 'removed', 'replaced' (another
 * file under its name), 'rewritten' (same file, other size or times) — or null when it is the same.
 */
export function changedSince(was: FileIdentity): 'removed' | 'replaced' | 'rewritten' | null {
  let now: Stats;
  try {
    now = statSync(was.path);
  } catch {
    return 'removed';
  }
  if (now.dev !== was.dev || now.ino !== was.ino) return 'replaced';
  return same(was, identityOf(was.path, now)) ? null : 'rewritten';
}

/** The identity of a pinned file (undefined for a path or a file not opened by pinFile). */
export function pinnedIdentity(file: FileArg): FileIdentity | undefined {
  return typeof file === 'string' ? undefined : identities.get(file);
}

/**
 * Maps `path` and runs `read(file)` (which parses the file's header or footer and puts `file` into
 * the descriptors it returns). The file's identity is taken before the mapping and checked again
 * after the read: when it changed in between (replaced or written while being opened), the mapping
 * and what was read from it could be of different versions, so both are dropped and done again.
 */
export function pinFile<T>(path: string, read: (file: NativeFile) => T, tries = 4): T {
  for (let i = 0; i < tries; i++) {
    const before = statFile(path);
    let file: NativeFile;
    try {
      file = NativeFile.open(path);
    } catch (e) {
      const info = toErrorInfo(e);
      if (i + 1 < tries && changedSince(before)) continue;
      throw e instanceof CdxError ? e : CdxError.file(info.code, path, info.message, { cause: e });
    }
    let value: T;
    try {
      value = read(file);
    } catch (e) {
      file.close();
      if (i + 1 < tries && changedSince(before)) continue;
      throw e;
    }
    if (file.size === before.size && !changedSince(before)) {
      identities.set(file, before);
      return value;
    }
    file.close();
  }
  throw CdxError.file('E_STALE', path, 'kept changing while it was being opened; try again when it is written');
}

/** The distinct pinned files a set of descriptors maps (dictionaries included). */
export function pinnedFiles(columns: Iterable<{ file: FileArg; dictionary?: { file: FileArg } }>): NativeFile[] {
  const out = new Set<NativeFile>();
  for (const c of columns) {
    for (const f of [c.file, c.dictionary?.file]) if (f !== undefined && typeof f !== 'string' && identities.has(f)) out.add(f);
  }
  return [...out];
}
