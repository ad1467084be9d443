/**
 * The catalog: what datasets the user has opened, remembered across sessions. SQLite through
 * better-sqlite3 in the data folder (Electron's userData, the platform's data directory, or
 * CDX_HOME). WAL and transactions so that a crash mid-write loses nothing; `PRAGMA user_version`
 * numbers the schema and older catalogs are migrated forward in one transaction.
 *
 * Several processes share one catalog in ordinary use (the app, `cdx serve` and the CLI at once).
 * So every write is an IMMEDIATE transaction: it takes SQLite's write lock before it reads (waiting
 * up to BUSY_TIMEOUT_MS for another process to finish), and a read-modify-write (an upsert keyed by
 * location, a remove that returns what it removed) sees no other process's write in between. A
 * deferred transaction that reads and then writes would instead fail at once with SQLITE_BUSY
 * (BUSY_SNAPSHOT: no busy handler is called) whenever another process committed in between. The
 * migration reads the schema version inside its own immediate transaction, so two processes opening
 * an old catalog at once migrate it once.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Schema } from '../../shared/datashape';
import { CdxError } from '../../shared/errors';
import { sqliteOptions } from './sqlite-binding';

export interface CatalogEntry {
  id: string;
  name: string;
  /** absolute path, or `PATH::INNER` for a dataset inside a container file */
  location: string;
  format: string;
  size: number;
  /** source modification time, ms since the epoch */
  mtimeMs: number;
  schema: Schema | null;
  rows: number | null;
  /** the last full summary (JSON), kept so the summary view opens instantly */
  summary: unknown | null;
  /** the uncompressed Arrow IPC file the engine maps, when the source could not be mapped as it is */
  cachePath: string | null;
  /** the reader's warnings (bad CSV rows, widened columns, …) when the cache was made */
  warnings: { code: string; message: string; column?: string; line?: number }[];
  metadata: Record<string, string>;
  addedAt: number;
  openedAt: number | null;
  tags: string[];
  /** column -> the type the user chose for it (setColumnType); applied whenever the dataset is read */
  typeOverrides: Record<string, string>;
  /** computed columns the user defined (defineColumn), in order: each may use the ones before it */
  computed: { name: string; expr: string }[];
}

export interface CatalogUpsert {
  location: string;
  name?: string;
  format: string;
  size: number;
  mtimeMs: number;
  schema?: Schema | null;
  rows?: number | null;
  cachePath?: string | null;
  warnings?: CatalogEntry['warnings'];
  metadata?: Record<string, string>;
}

/** Each migration takes the catalog from version i to i + 1. Never edit one that has shipped. */
const MIGRATIONS: string[] = [
  // v1
  `CREATE TABLE datasets (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     location TEXT NOT NULL UNIQUE,
     format TEXT NOT NULL,
     size INTEGER NOT NULL,
     mtime_ms REAL NOT NULL,
     schema_json TEXT,
     rows INTEGER,
     cache_path TEXT,
     added_at INTEGER NOT NULL,
     opened_at INTEGER
   );`,
  // v2: cached summaries and tags
  `ALTER TABLE datasets ADD COLUMN summary_json TEXT;
   CREATE TABLE tags (
     dataset_id TEXT NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
     tag TEXT NOT NULL,
     PRIMARY KEY (dataset_id, tag)
   );
   CREATE INDEX datasets_opened ON datasets(opened_at DESC);`,
  // v3: what the reader reported when the cache was made (so a fresh cache opens without re-reading the source)
  `ALTER TABLE datasets ADD COLUMN warnings_json TEXT;
   ALTER TABLE datasets ADD COLUMN metadata_json TEXT;`,
  // v4: column types the user chose (kept when the source changes: they are the user's, not the file's)
  `ALTER TABLE datasets ADD COLUMN types_json TEXT;`,
  // v5: saved database connections (never their secrets: \`keep\` says where the password is kept)
  `CREATE TABLE connections (
     url TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     kind TEXT NOT NULL,
     keep TEXT NOT NULL,
     added_at INTEGER NOT NULL
   );`,
  // v6: computed columns the user defined (kept when the source changes: they are the user's)
  `ALTER TABLE datasets ADD COLUMN computed_json TEXT;`,
];

export const CATALOG_VERSION = MIGRATIONS.length;

/**
 * How long a statement waits for another process's write lock before SQLITE_BUSY. Writes hold the
 * lock for milliseconds; the margin is for a slow disk or a busy machine, not for normal use.
 */
export const BUSY_TIMEOUT_MS = 10_000;

interface Row {
  id: string;
  name: string;
  location: string;
  format: string;
  size: number;
  mtime_ms: number;
  schema_json: string | null;
  rows: number | null;
  summary_json: string | null;
  cache_path: string | null;
  warnings_json: string | null;
  metadata_json: string | null;
  types_json: string | null;
  computed_json: string | null;
  added_at: number;
  opened_at: number | null;
  tags: string | null;
}


export class Catalog {
  readonly db: Database.Database;
  readonly file: string;

  constructor(home: string) {
    mkdirSync(home, { recursive: true });
    this.file = path.join(home, 'catalog.sqlite');
    // under Electron, better-sqlite3's Electron-ABI copy (sqlite-binding.ts); its own error if missing
    // `timeout` is the busy timeout from the first statement on (journal_mode and the migration included)
    const options = sqliteOptions({ timeout: BUSY_TIMEOUT_MS });
    try {
      this.db = new Database(this.file, options);
    } catch (e) {
      throw CdxError.file('E_CATALOG', this.file, `cannot open the catalog (${(e as Error).message})`, { cause: e });
    }
    // turning an old rollback-journal catalog to WAL needs it to itself: while another process holds
    // it (migrating it too), SQLite may answer SQLITE_BUSY at once, without its busy handler — wait and ask again
    const until = Date.now() + BUSY_TIMEOUT_MS;
    for (;;) {
      try {
        this.db.pragma('journal_mode = WAL');
        break;
      } catch (e) {
        if ((e as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() > until) throw e;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
      }
    }
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    this.migrate();
  }

  /** Runs `fn` as one IMMEDIATE transaction (nested: a savepoint inside the outer one). */
  private write<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  private migrate(): void {
    const version = (): number => {
      const v = this.db.pragma('user_version', { simple: true }) as number;
      if (v > CATALOG_VERSION) {
        throw new CdxError('E_CATALOG_NEWER', `${this.file} was written by a newer CDX (catalog v${v}; this one knows v${CATALOG_VERSION}).`, { file: this.file });
      }
      return v;
    };
    if (version() === CATALOG_VERSION) return; // (versions only go up: a current catalog needs no lock)
    this.write(() => {
      // read again under the write lock: another process opening the same old catalog may have migrated it meanwhile
      for (let v = version(); v < CATALOG_VERSION; v++) this.db.exec(MIGRATIONS[v]!);
      this.db.pragma(`user_version = ${CATALOG_VERSION}`);
    });
  }

  private static entry(r: Row): CatalogEntry {
    return {
      id: r.id,
      name: r.name,
      location: r.location,
      format: r.format,
      size: r.size,
      mtimeMs: r.mtime_ms,
      schema: r.schema_json ? JSON.parse(r.schema_json) : null,
      rows: r.rows,
      summary: r.summary_json ? JSON.parse(r.summary_json, (_k, v) => (v && typeof v === 'object' && typeof v.$bigint === 'string' ? BigInt(v.$bigint) : v)) : null,
      cachePath: r.cache_path,
      warnings: r.warnings_json ? JSON.parse(r.warnings_json) : [],
      metadata: r.metadata_json ? JSON.parse(r.metadata_json) : {},
      addedAt: r.added_at,
      openedAt: r.opened_at,
      tags: r.tags ? r.tags.split('\u0001') : [],
      typeOverrides: r.types_json ? JSON.parse(r.types_json) : {},
      computed: r.computed_json ? JSON.parse(r.computed_json) : [],
    };
  }

  private select(where: string): string {
    return `SELECT d.*, (SELECT group_concat(tag, char(1)) FROM tags t WHERE t.dataset_id = d.id) AS tags FROM datasets d ${where}`;
  }

  /** Recent first; `search` matches name, location, format or a tag (case-insensitive). */
  list(search?: string): CatalogEntry[] {
    const order = 'ORDER BY COALESCE(d.opened_at, d.added_at) DESC';
    if (search && search.trim()) {
      const like = `%${search.trim().replace(/[\\%_]/g, (c) => '\\' + c)}%`;
      return (
        this.db
          .prepare(
            this.select(
              `WHERE d.name LIKE ? ESCAPE '\\' OR d.location LIKE ? ESCAPE '\\' OR d.format LIKE ? ESCAPE '\\' OR EXISTS (SELECT 1 FROM tags t WHERE t.dataset_id = d.id AND t.tag LIKE ? ESCAPE '\\') ${order}`,
            ),
          )
          .all(like, like, like, like) as Row[]
      ).map(Catalog.entry);
    }
    return (this.db.prepare(this.select(order)).all() as Row[]).map(Catalog.entry);
  }

  get(id: string): CatalogEntry | null {
    const r = this.db.prepare(this.select('WHERE d.id = ?')).get(id) as Row | undefined;
    return r ? Catalog.entry(r) : null;
  }

  byLocation(location: string): CatalogEntry | null {
    const r = this.db.prepare(this.select('WHERE d.location = ?')).get(location) as Row | undefined;
    return r ? Catalog.entry(r) : null;
  }

  /**
   * Adds a dataset or refreshes what is known of it. When the source's size or modification time
   * changed, the cached summary and cache file are forgotten (the caller re-ingests).
   */
  upsert(u: CatalogUpsert): CatalogEntry {
    const now = Date.now();
    const name = u.name ?? defaultName(u.location);
    return this.write(() => {
      const old = this.byLocation(u.location);
      if (!old) {
        const id = randomUUID();
        this.db
          .prepare(
            `INSERT INTO datasets (id, name, location, format, size, mtime_ms, schema_json, rows, cache_path, warnings_json, metadata_json, added_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
            id, name, u.location, u.format, u.size, u.mtimeMs, u.schema ? JSON.stringify(u.schema) : null, u.rows ?? null, u.cachePath ?? null,
            u.warnings ? JSON.stringify(u.warnings) : null, u.metadata ? JSON.stringify(u.metadata) : null, now,
          );
        return this.get(id)!;
      }
      const changed = old.size !== u.size || old.mtimeMs !== u.mtimeMs;
      this.db
        .prepare(
          `UPDATE datasets SET format = ?, size = ?, mtime_ms = ?,
             schema_json = COALESCE(?, CASE WHEN ? THEN NULL ELSE schema_json END),
             rows = COALESCE(?, CASE WHEN ? THEN NULL ELSE rows END),
             cache_path = CASE WHEN ? IS NOT NULL THEN ? WHEN ? THEN NULL ELSE cache_path END,
             warnings_json = COALESCE(?, CASE WHEN ? THEN NULL ELSE warnings_json END),
             metadata_json = COALESCE(?, CASE WHEN ? THEN NULL ELSE metadata_json END),
             summary_json = CASE WHEN ? THEN NULL ELSE summary_json END
           WHERE id = ?`,
        )
        .run(
          u.format, u.size, u.mtimeMs,
          u.schema ? JSON.stringify(u.schema) : null, changed ? 1 : 0,
          u.rows ?? null, changed ? 1 : 0,
          u.cachePath ?? null, u.cachePath ?? null, changed ? 1 : 0,
          u.warnings ? JSON.stringify(u.warnings) : null, changed ? 1 : 0,
          u.metadata ? JSON.stringify(u.metadata) : null, changed ? 1 : 0,
          changed ? 1 : 0,
          old.id,
        );
      return this.get(old.id)!;
    });
  }

  /** Is the cached copy still that of the source as it is now? */
  isFresh(e: CatalogEntry, size: number, mtimeMs: number): boolean {
    return e.size === size && e.mtimeMs === mtimeMs;
  }

  setSummary(id: string, summary: unknown): void {
    const json = JSON.stringify(summary, (_k, v) => (typeof v === 'bigint' ? { $bigint: v.toString() } : v));
    this.write(() => this.db.prepare('UPDATE datasets SET summary_json = ? WHERE id = ?').run(json, id));
  }

  /** The column types the user chose (an empty map forgets them). */
  setTypeOverrides(id: string, types: Record<string, string>): void {
    this.write(() => this.db.prepare('UPDATE datasets SET types_json = ?, summary_json = NULL WHERE id = ?').run(Object.keys(types).length ? JSON.stringify(types) : null, id));
  }

  /** The dataset's computed columns (defineColumn); its kept summary is dropped (it lists the columns). */
  setComputed(id: string, computed: { name: string; expr: string }[]): void {
    this.write(() => this.db.prepare('UPDATE datasets SET computed_json = ?, summary_json = NULL WHERE id = ?').run(computed.length ? JSON.stringify(computed) : null, id));
  }

  touch(id: string): void {
    this.write(() => this.db.prepare('UPDATE datasets SET opened_at = ? WHERE id = ?').run(Date.now(), id));
  }

  rename(id: string, name: string): void {
    this.write(() => this.db.prepare('UPDATE datasets SET name = ? WHERE id = ?').run(name, id));
  }

  setTags(id: string, tags: string[]): void {
    this.write(() => {
      this.db.prepare('DELETE FROM tags WHERE dataset_id = ?').run(id);
      const ins = this.db.prepare('INSERT OR IGNORE INTO tags (dataset_id, tag) VALUES (?, ?)');
      for (const t of tags) if (t.trim()) ins.run(id, t.trim());
    });
  }

  /** Removes the entry; returns it (the caller deletes its cache file) or null if there was none. */
  remove(id: string): CatalogEntry | null {
    // (one transaction: of two processes removing the same entry, one gets it and the other null)
    return this.write(() => {
      const e = this.get(id);
      if (!e) return null;
      this.db.prepare('DELETE FROM datasets WHERE id = ?').run(id);
      return e;
    });
  }

  /** saved database connections, oldest first (no secrets: where each is kept) */
  connections(): { url: string; name: string; kind: string; keep: string; addedAt: number }[] {
    return this.db.prepare('SELECT url, name, kind, keep, added_at AS addedAt FROM connections ORDER BY added_at, url').all() as never;
  }

  saveConnection(c: { url: string; name: string; kind: string; keep: string }): { url: string; name: string; kind: string; keep: string; addedAt: number } {
    return this.write(() => {
      this.db
        .prepare(`INSERT INTO connections (url, name, kind, keep, added_at) VALUES (?, ?, ?, ?, ?)
                  ON CONFLICT(url) DO UPDATE SET name = excluded.name, kind = excluded.kind, keep = excluded.keep`)
        .run(c.url, c.name, c.kind, c.keep, Date.now());
      // (read back in the same transaction: the row as written, not as another process changed it since)
      return this.db.prepare('SELECT url, name, kind, keep, added_at AS addedAt FROM connections WHERE url = ?').get(c.url) as never;
    });
  }

  removeConnection(url: string): boolean {
    return this.write(() => this.db.prepare('DELETE FROM connections WHERE url = ?').run(url).changes > 0);
  }

  close(): void {
    this.db.close();
  }
}

function defaultName(location: string): string {
  const i = location.lastIndexOf('::');
  if (i > 0) return `${path.basename(location.slice(0, i))}::${location.slice(i + 2)}`;
  return path.basename(location);
}
