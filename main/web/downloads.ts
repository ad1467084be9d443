/**
 * Web mode's exports to the browser's own machine. The browser is often on another machine than
 * the host, so a file the engine writes on the host must also reach the browser: the page asks for
 * a download slot (a fresh folder in a private temporary directory, named by a random id), the
 * engine writes the export there, and the page then fetches `/download/<id>` once — the file is
 * served as an attachment under its own name and deleted as soon as the response ends (or fails).
 * A slot nobody fetches is deleted after `ttlMs`; every slot goes when the server closes.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';

export interface DownloadSlot {
  id: string;
  /** the file the engine is asked to write */
  path: string;
  /** the name the browser saves it under */
  name: string;
}

/** Content types by extension (the longest match wins: `csv.gz` before `gz`). */
const CONTENT_TYPES: [string, string][] = [
  ['.csv.gz', 'application/gzip'],
  ['.tsv.gz', 'application/gzip'],
  ['.ndjson.gz', 'application/gzip'],
  ['.jsonl.gz', 'application/gzip'],
  ['.csv', 'text/csv; charset=utf-8'],
  ['.tsv', 'text/tab-separated-values; charset=utf-8'],
  ['.txt', 'text/plain; charset=utf-8'],
  ['.ndjson', 'application/x-ndjson'],
  ['.jsonl', 'application/x-ndjson'],
  ['.json', 'application/json'],
  ['.parquet', 'application/vnd.apache.parquet'],
  ['.pq', 'application/vnd.apache.parquet'],
  ['.arrow', 'application/vnd.apache.arrow.file'],
  ['.feather', 'application/vnd.apache.arrow.file'],
  ['.ipc', 'application/vnd.apache.arrow.file'],
  ['.arrows', 'application/vnd.apache.arrow.stream'],
  ['.sqlite', 'application/vnd.sqlite3'],
  ['.sqlite3', 'application/vnd.sqlite3'],
  ['.db', 'application/vnd.sqlite3'],
  ['.h5', 'application/x-hdf5'],
  ['.hdf5', 'application/x-hdf5'],
  ['.hdf', 'application/x-hdf5'],
  ['.he5', 'application/x-hdf5'],
  ['.npz', 'application/zip'],
  ['.gz', 'application/gzip'],
];

export function contentTypeOf(name: string): string {
  const lower = name.toLowerCase();
  return CONTENT_TYPES.find(([ext]) => lower.endsWith(ext))?.[1] ?? 'application/octet-stream';
}

/** A file name safe on every OS and in a header: no folders, no control or reserved characters. */
export function safeFileName(raw: string): string {
  const base = raw.split(/[/\\]/).pop() ?? '';
  const name = base.replace(/[^\p{L}\p{N}._ ()+-]/gu, '_').replace(/^\.+/, '').slice(0, 200).trim();
  return name || 'export';
}

/**
 * `Content-Disposition: attachment` with the name both as plain ASCII (old clients) and as RFC 5987
 * UTF-8 (`filename*`), which browsers prefer.
 */
export function attachmentHeader(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name).replace(/['()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())}`;
}

export class DownloadSlots {
  private root: string | null = null;
  private slots = new Map<string, DownloadSlot & { dir: string; timer: NodeJS.Timeout }>();

  constructor(private opts: { dir?: string; ttlMs?: number } = {}) {}

  private base(): string {
    if (!this.root) {
      if (this.opts.dir) {
        mkdirSync(this.opts.dir, { recursive: true });
        this.root = mkdtempSync(path.join(this.opts.dir, 'cdx-downloads-'));
      } else this.root = mkdtempSync(path.join(os.tmpdir(), 'cdx-downloads-'));
    }
    return this.root;
  }

  /** the private folder that holds every slot (made on first use) */
  get dir(): string {
    return this.base();
  }

  /** a fresh slot for a file to be called `name` */
  create(name: string): DownloadSlot {
    const id = randomBytes(18).toString('base64url');
    const dir = path.join(this.base(), id);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const safe = safeFileName(name);
    const slot = { id, name: safe, path: path.join(dir, safe), dir, timer: setTimeout(() => this.drop(id), this.opts.ttlMs ?? 15 * 60_000) };
    slot.timer.unref?.();
    this.slots.set(id, slot);
    return { id, name: slot.name, path: slot.path };
  }

  /**
   * The slot's file, taken: a slot is served once, so it is forgotten here and the caller deletes
   * it (`release`) when the response is over. Undefined for an unknown id, or a slot whose file was
   * not written (the slot is dropped then too).
   */
  take(id: string): (DownloadSlot & { size: number; release(): void }) | undefined {
    const s = this.slots.get(id);
    if (!s) return undefined;
    this.slots.delete(id);
    clearTimeout(s.timer);
    const release = () => rmSync(s.dir, { recursive: true, force: true });
    let size: number;
    try {
      const st = statSync(s.path);
      if (!st.isFile()) throw new Error('not a file');
      size = st.size;
    } catch {
      release();
      return undefined;
    }
    return { id: s.id, name: s.name, path: s.path, size, release };
  }

  /** forget a slot and delete its folder (not fetched in time, or abandoned by the page) */
  drop(id: string): boolean {
    const s = this.slots.get(id);
    if (!s) return false;
    this.slots.delete(id);
    clearTimeout(s.timer);
    rmSync(s.dir, { recursive: true, force: true });
    return true;
  }

  get size(): number {
    return this.slots.size;
  }

  /** every slot and the temporary directory go (the server closes) */
  close(): void {
    for (const id of [...this.slots.keys()]) this.drop(id);
    if (this.root) rmSync(this.root, { recursive: true, force: true });
    this.root = null;
  }
}
