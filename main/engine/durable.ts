/**
 * Durable files: what the engine writes (outputs of an export, cache files, zone and spatial
 * sidecars, the remote column manifests) is written under a temporary name, flushed to the disk,
 * renamed over its final name and the folder flushed too — so after a crash or a power cut the
 * final name holds either the old file or the whole new one, never a name pointing at blocks that
 * never reached the disk (a rename is a metadata change the file system may commit before the data:
 * ext4's delalloc, XFS). SQLite's rule: fsync the file, rename, fsync the folder.
 *
 * Temporary names carry the writing process's id, so a process that starts can tell the leftovers
 * of a killed one (its pid no longer alive) from the files of one at work, and sweep them
 * (`sweepTemps`). Outputs of an export are written beside the user's file, anywhere on the disk:
 * each one in progress is noted in a small journal folder (`noteTemp`), which the sweep reads.
 *
 * Free space (`freeBytes`, `ensureRoom`): an ingest that needs more room than its folder has fails
 * before it starts, naming the folder and both sizes, instead of filling the disk and failing late.
 */
import {
  closeSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statfsSync, writeFileSync, writeSync,
} from 'node:fs';
import { open, rename, rm, statfs } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { CdxError } from '../../shared/errors';

/** A temporary name beside `dest`, marked with this process's id: `DEST.partial-PID-HEX` (see tempOwner). */
export function tempBeside(dest: string): string {
  return `${dest}.partial-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Flushes a file's data and size to the disk. */
export async function fsyncFile(file: string): Promise<void> {
  const fh = await open(file, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export function fsyncFileSync(file: string): void {
  const fd = openSync(file, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Flushes a folder's entries (a rename or a new file in it). Where the system cannot open a folder
 * for that (Windows: EISDIR/EPERM; some file systems: EINVAL) there is nothing more to do.
 */
export async function fsyncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
  } catch {
    return;
  }
  try {
    await fh.sync();
  } catch {
    /* not supported for folders here */
  } finally {
    await fh.close();
  }
}

export function fsyncDirSync(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, 'r');
  } catch {
    return;
  }
  try {
    fsyncSync(fd);
  } catch {
    /* not supported for folders here */
  } finally {
    closeSync(fd);
  }
}

/** Renames a complete temporary file over `dest`: the file flushed first, the folder after. */
export async function renameDurable(tmp: string, dest: string): Promise<void> {
  await fsyncFile(tmp);
  await rename(tmp, dest);
  await fsyncDir(path.dirname(dest));
}

export function renameDurableSync(tmp: string, dest: string): void {
  fsyncFileSync(tmp);
  renameSync(tmp, dest);
  fsyncDirSync(path.dirname(dest));
}

/** Writes `data` to `dest` durably (temporary file beside it, flushed, renamed, folder flushed); nothing left on failure. */
export async function writeFileDurable(dest: string, data: string | Uint8Array): Promise<void> {
  const tmp = tempBeside(dest);
  try {
    const fh = await open(tmp, 'wx');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, dest);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw e;
  }
  await fsyncDir(path.dirname(dest));
}

export function writeFileDurableSync(dest: string, data: string | Uint8Array): void {
  const tmp = tempBeside(dest);
  try {
    const fd = openSync(tmp, 'wx');
    try {
      const buf = typeof data === 'string' ? Buffer.from(data) : data;
      for (let at = 0; at < buf.byteLength; ) at += writeSync(fd, buf, at, buf.byteLength - at);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, dest);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  fsyncDirSync(path.dirname(dest));
}

// ---------------------------------------------------------------------------------------------
// Leftovers of killed processes

/**
 * The temporary names the engine writes, each with the writer's pid:
 *  - `NAME.partial-PID-HEX` (tempBeside: the cache ingest, downloads, spatial copies, manifests);
 *  - `NAME.tmp-PID-TAG` (the native CSV ingest, zone maps);
 *  - `.NAME.cdx-PID-HEX.tmp` and what a writer derives from it (`….tmp.arrow`, `….tmp.0.npy`,
 *    `….tmp.part1`): an export's output in progress (writers/convert.ts tempPathFor);
 *  - `s3-HASH-PID-HEX/`: an S3 prefix's staging folder in the cache (remote/s3open.ts).
 */
const TEMP_NAMES = [
  /\.(?:partial|tmp)-(\d+)-[0-9a-z]+$/,
  /^\..+\.cdx-(\d+)-[0-9a-f]{8}\.tmp(?:\..+)?$/,
  /^s3-[0-9a-f]{16}-(\d+)-[0-9a-f]{8}$/,
];

/** The pid that wrote a temporary file of ours named `name`; null for any other name. */
export function tempOwner(name: string): number | null {
  for (const re of TEMP_NAMES) {
    const m = re.exec(name);
    if (m) {
      const pid = Number(m[1]);
      return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
    }
  }
  return null;
}

/** Whether a process with this id is running (EPERM: it is, under another user). */
export function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

let journal: string | null = null;

/** Where outputs in progress are noted (the engine's data folder sets it; unset: not noted). */
export function setTempJournal(dir: string | null): void {
  journal = dir;
}

/**
 * Notes a temporary output in progress (and what is derived from it: `TMP.*`) so that a later
 * start can remove it if this process dies first. Returns the removal of the note.
 */
export function noteTemp(tmp: string): () => void {
  const dir = journal;
  if (!dir) return () => undefined;
  const note = path.join(dir, `${process.pid}-${randomBytes(4).toString('hex')}.json`);
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(note, JSON.stringify({ tmp: path.resolve(tmp) }));
  } catch {
    return () => undefined; // a read-only data folder: the output's own clean-up still runs
  }
  return () => rmSync(note, { force: true });
}

/** Removes a temporary output and everything named after it (`TMP.*`), if the name is one of ours. */
function removeOutputTemp(tmp: string): number {
  const dir = path.dirname(tmp), base = path.basename(tmp);
  if (tempOwner(base) === null) return 0; // a note that names anything else is not followed
  let n = 0;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    if (name !== base && !name.startsWith(base + '.')) continue;
    rmSync(path.join(dir, name), { recursive: true, force: true });
    n++;
  }
  return n;
}

export interface SweepResult {
  /** the paths removed */
  removed: string[];
}

/**
 * Removes the temporary files and folders that processes no longer alive left: in `cacheDir`
 * (and its sub-folders, `depth` levels down) by their names, and the outputs in progress that the
 * journal noted. Files of live processes (another engine, the CLI) are left alone. Synchronous
 * and quick (one listing per folder): run when an engine starts, before it writes anything.
 */
export function sweepTemps(cacheDir: string, opts: { journal?: string | null; depth?: number } = {}): SweepResult {
  const removed: string[] = [];
  const walk = (dir: string, depth: number) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const full = path.join(dir, e.name);
      const pid = tempOwner(e.name);
      if (pid !== null) {
        if (pidAlive(pid)) continue;
        try {
          rmSync(full, { recursive: true, force: true });
          removed.push(full);
        } catch {
          /* in use or read-only: left for a later start */
        }
        continue;
      }
      if (e.isDirectory() && depth > 0) walk(full, depth - 1);
    }
  };
  walk(cacheDir, opts.depth ?? 3);
  const j = opts.journal === undefined ? journal : opts.journal;
  if (j) {
    let notes: string[] = [];
    try {
      notes = readdirSync(j);
    } catch {
      /* no journal yet */
    }
    for (const n of notes) {
      const m = /^(\d+)-[0-9a-f]+\.json$/.exec(n);
      if (!m || pidAlive(Number(m[1]))) continue;
      const note = path.join(j, n);
      try {
        const { tmp } = JSON.parse(readFileSync(note, 'utf8')) as { tmp?: unknown };
        if (typeof tmp === 'string' && path.isAbsolute(tmp)) {
          if (removeOutputTemp(tmp)) removed.push(tmp);
        }
      } catch {
        /* a torn note (the process died writing it): its output had not started */
      }
      rmSync(note, { force: true });
    }
  }
  return { removed };
}

// ---------------------------------------------------------------------------------------------
// Free space

/** Bytes free for this user in the folder holding `dir` (its nearest existing ancestor); null when the system cannot say. */
export async function freeBytes(dir: string): Promise<number | null> {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    try {
      const s = await statfs(d);
      return s.bavail * s.bsize;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || path.dirname(d) === d) return null;
    }
  }
}

export function freeBytesSync(dir: string): number | null {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    try {
      const s = statfsSync(d);
      return s.bavail * s.bsize;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || path.dirname(d) === d) return null;
    }
  }
}

/**
 * The room a columnar copy of a source of `inputBytes` takes: about its size (an uncompressed
 * Arrow file of a CSV is roughly the text's size), half as much again for widened types and
 * offsets, and a margin for everything else on the disk. The one rule for an ingest into the
 * cache and for convert's staging of a CSV (writers/convert.ts stages only when it fits).
 */
export function ingestRoom(inputBytes: number): number {
  return inputBytes * 1.5 + (256 << 20);
}

/** Sizes in words (1.5 GB, 320 MB, 12 kB). */
export function bytesText(n: number): string {
  const units = ['bytes', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${n} bytes` : `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/**
 * Fails early (E_WRITE, naming the folder, what needs the room and both sizes) when `dir` has
 * less than `need` bytes free. A system that cannot say how much is free lets the write go on.
 */
export async function ensureRoom(dir: string, need: number, what: string): Promise<void> {
  const free = await freeBytes(dir);
  if (free === null || free >= need) return;
  throw CdxError.file('E_WRITE', dir, `not enough free space for ${what}: it needs about ${bytesText(need)}, the folder has ${bytesText(free)} free`);
}
