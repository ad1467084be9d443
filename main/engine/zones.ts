/**
 * The zone maps of a dataset's numeric columns (native/zones.ts), computed once — one pass at read
 * bandwidth, the first time a column's range is asked for — and kept: in memory for the open
 * dataset, and on disk in the cache folder (`cache/zones/`), so a later process (the CLI, the app
 * after a restart) gets a column's range and the blocks a zoomed view can skip without a pass.
 *
 * A zone file belongs to one column of one storage file as it is now: its name is a hash of the
 * storage path and one of the column (see derivedPrefix), and its header repeats the storage file's size, mtime and inode and
 * the column's layout; a file that does not match (the source was replaced, the cache re-ingested)
 * is ignored and written again. Written to a temporary name, flushed and renamed (durable.ts), so a
 * reader never sees half a file; any damage just means the zones are computed again.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { ColumnDesc } from '../../native/index';
import { zoneMaps, ZONE_ROWS, type ZoneMaps } from '../../native/zones';
import { isCancelled } from '../../shared/errors';
import { writeFileDurableSync } from './durable';
import { pinnedIdentity, type FileIdentity } from './columns/pin';

const MAGIC = 'CDXZONES2\n';
const FIELDS = ['start', 'rows', 'min', 'max', 'finiteMin', 'finiteMax', 'nulls', 'nans'] as const;

/** Where a dataset's zones live, and what identifies its storage file now. */
export interface ZoneHome {
  /** the folder of zone files (cache/zones); null: memory only */
  dir: string | null;
  /** the file the kernels map */
  storagePath: string;
  /** the start of its zone files' names (default: derivedPrefix(storagePath)) */
  prefix?: string;
}

/** a short file-name-safe hash */
export const nameHash = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 16);

/** What a column looks like in its storage file (name, type, batches, where they start and end, rows). */
export function columnLayout(c: ColumnDesc): string {
  if (c.computed) return `computed:${c.name}:${c.dtype}:${c.computed.text}:${c.computed.inputs.map(columnLayout).join('|')}`;
  return `${c.name}:${c.dtype}:${c.chunks.length}:${c.chunks[0]?.data.offset ?? 0}:${c.chunks.at(-1)?.data.offset ?? 0}:${c.chunks.reduce((s, k) => s + k.rows, 0)}`;
}

/**
 * The key of something derived from a storage file as it is now (its size, mtime and inode) and
 * from `parts`; null when the file cannot be stat'ed. Given the identity of a pinned file
 * (columns/pin.ts), the file as it was when its columns were read: what a request still running on
 * a dataset opened before its file was replaced derives is keyed to the version it read, never to
 * the file now under that name.
 */
export function derivedKey(storage: string | FileIdentity, ...parts: unknown[]): string | null {
  if (typeof storage !== 'string') return JSON.stringify([storage.path, storage.size, storage.mtimeMs, storage.ino, ...parts]);
  const storagePath = storage;
  try {
    const st = statSync(storagePath);
    return JSON.stringify([storagePath, st.size, st.mtimeMs, st.ino, ...parts]);
  } catch {
    return null;
  }
}

/** The start of the name of every file derived from a storage file (zone maps, spatial copies), so that they go with it. */
export function derivedPrefix(storagePath: string): string {
  return nameHash(storagePath) + '-';
}

/** Where a dataset's zones live. */
export function zoneHome(ds: { zoneDir?: string; storage: { path: string } }): ZoneHome {
  return { dir: ds.zoneDir ?? null, storagePath: ds.storage.path };
}

const memo = new WeakMap<ColumnDesc, Promise<ZoneMaps>>();
const known = new WeakMap<ColumnDesc, ZoneMaps>();

function identity(home: ZoneHome, c: ColumnDesc): { file: string; key: string } | null {
  // keyed by the file that holds the column (the storage file, or one of a lazily read dataset's column files)
  const key = home.dir ? derivedKey(pinnedIdentity(c.file) ?? (typeof c.file === 'string' ? c.file : home.storagePath), columnLayout(c), ZONE_ROWS) : null;
  if (!key) return null;
  return { file: path.join(home.dir!, (home.prefix ?? derivedPrefix(home.storagePath)) + nameHash(c.name) + '.zones'), key };
}

/** where the values start: the first multiple of 8 after the header's newline at `nl` */
function dataStart(nl: number): number {
  return Math.ceil((nl + 1) / 8) * 8;
}

function readZoneFile(file: string, key: string): ZoneMaps | null {
  try {
    if (!existsSync(file)) return null;
    const buf = readFileSync(file);
    const head = buf.subarray(0, MAGIC.length).toString('latin1');
    if (head !== MAGIC) return null;
    const nl = buf.indexOf(10, MAGIC.length);
    if (nl < 0) return null;
    const h = JSON.parse(buf.subarray(MAGIC.length, nl).toString('utf8')) as { key: string; n: number };
    if (h.key !== key) return null;
    const n = h.n, at = dataStart(nl);
    if (!(Number.isInteger(n) && n >= 0) || buf.length !== at + FIELDS.length * n * 8) return null;
    const all = new Float64Array(buf.buffer.slice(buf.byteOffset + at, buf.byteOffset + buf.length));
    const z = {} as ZoneMaps;
    FIELDS.forEach((f, i) => (z[f] = all.subarray(i * n, (i + 1) * n)));
    return z;
  } catch {
    return null; // damaged or unreadable: computed again
  }
}

function writeZoneFile(file: string, key: string, z: ZoneMaps): void {
  const n = z.start.length;
  // the header line, then the values from the next multiple of 8 bytes
  const line = Buffer.from(MAGIC + JSON.stringify({ key, n }) + '\n');
  const head = Buffer.concat([line, Buffer.alloc(dataStart(line.length - 1) - line.length, 0x20)]);
  const body = new Float64Array(FIELDS.length * n);
  FIELDS.forEach((f, i) => body.set(z[f], i * n));
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileDurableSync(file, Buffer.concat([head, Buffer.from(body.buffer)]));
  } catch {
    // a read-only cache folder: the zones stay in memory only
  }
}

/** The column's zones when they are known (memory or disk) without a pass; null otherwise. */
export function knownZones(home: ZoneHome, c: ColumnDesc): ZoneMaps | null {
  const hit = known.get(c);
  if (hit) return hit;
  if (c.kind !== 'numeric') return null;
  const id = identity(home, c);
  const z = id ? readZoneFile(id.file, id.key) : null;
  if (z) {
    known.set(c, z);
    memo.set(c, Promise.resolve(z));
  }
  return z;
}

/**
 * The column's zones: known ones, or one pass over it (then kept in memory and on disk). Callers
 * asking at once share one pass; it runs under the first caller's signal, so when that caller
 * cancels, the others (not cancelled themselves) start it again under their own.
 */
export async function columnZones(home: ZoneHome, c: ColumnDesc, signal?: AbortSignal): Promise<ZoneMaps> {
  for (;;) {
    const hit = knownZones(home, c);
    if (hit) return hit;
    let p = memo.get(c);
    if (!p) {
      p = zoneMaps(c, { signal }).then((z) => {
        known.set(c, z);
        const id = identity(home, c);
        if (id) writeZoneFile(id.file, id.key, z);
        return z;
      });
      memo.set(c, p);
    }
    try {
      return await p;
    } catch (e) {
      // a cancelled or failed pass is not remembered
      if (memo.get(c) === p) memo.delete(c);
      if (isCancelled(e) && !signal?.aborted) continue;
      throw e;
    }
  }
}
