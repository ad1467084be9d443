/**
 * One saved connection browsed like a container, as a Svelte 5 rune class (the Connections
 * panel's browse view): the levels walked down from the connection (its name first, then each
 * folder or prefix entered) and the entries of the last one, from the engine's `browseRemote` —
 * an S3 prefix's objects and prefixes, an http(s) folder's directory index, a database's tables.
 * Up goes back a level (never above the connection). Where a server lists nothing, the user types
 * the path of a file under the folder instead (`typedLocation`). What is opened — a file, a
 * table, or a whole folder or prefix as one dataset of many files — is the entry's location as
 * the engine's `open` takes it; the panel hands it to the catalog.
 */
import type { BrowseEntry, ConnectionInfo } from '../../shared/api';
import type { EngineConnection } from './engine.svelte';
import { childUrl } from './remoteurl';
import { Request } from './request.svelte';

export interface Level {
  /** the connection's name, then each folder's */
  name: string;
  /** what browseRemote takes for it */
  url: string;
}

/** entries shown at once (a prefix of tens of thousands of objects: the rest by typing a path) */
export const SHOWN_MAX = 2000;

export class RemoteBrowser {
  levels = $state.raw<Level[]>([]);
  entries = $state.raw<BrowseEntry[]>([]);
  /** a path typed under the current folder (a file the server does not list) */
  typed = $state('');
  /** the entries of the current level have been listed (or the listing failed) */
  loaded = $state(false);
  private req = new Request<BrowseEntry[]>();

  constructor(
    readonly engine: EngineConnection,
    readonly conn: ConnectionInfo,
  ) {
    this.levels = [{ name: conn.name, url: conn.url }];
  }

  get kind(): ConnectionInfo['kind'] {
    return this.conn.kind;
  }

  get isDatabase(): boolean {
    return this.kind === 'postgresql' || this.kind === 'clickhouse';
  }

  /** the level listed now */
  get url(): string {
    return this.levels.at(-1)!.url;
  }

  get busy(): boolean {
    return this.req.busy;
  }

  get error(): string | null {
    return this.req.error?.message ?? null;
  }

  get canUp(): boolean {
    return this.levels.length > 1;
  }

  /** the entries shown (the first SHOWN_MAX) */
  get shown(): BrowseEntry[] {
    return this.entries.length > SHOWN_MAX ? this.entries.slice(0, SHOWN_MAX) : this.entries;
  }

  /** a folder or prefix opens as one dataset of many files: on S3 (a prefix); an http(s) folder is opened file by file */
  get canOpenFolder(): boolean {
    return this.kind === 's3';
  }

  /** files are typed by path where a listing may miss them: http(s) and S3 */
  get canType(): boolean {
    return this.kind === 'http' || this.kind === 's3';
  }

  async load(): Promise<void> {
    const url = this.url;
    this.loaded = false;
    this.entries = [];
    const r = await this.req.run(({ signal }) => this.engine.api.browseRemote({ url }, { signal }));
    if (this.url !== url) return;
    this.entries = r ?? [];
    this.loaded = !this.req.busy;
  }

  /** Goes into a folder (a file or a table is opened instead: see `locationOf`). */
  async enter(e: BrowseEntry): Promise<void> {
    if (e.kind !== 'dir') return;
    this.levels = [...this.levels, { name: e.name, url: e.path }];
    this.typed = '';
    await this.load();
  }

  async up(): Promise<void> {
    if (!this.canUp) return;
    await this.goTo(this.levels.length - 2);
  }

  /** back to a level shown in the path (0: the connection itself) */
  async goTo(i: number): Promise<void> {
    if (i < 0 || i >= this.levels.length - 1) return;
    this.levels = this.levels.slice(0, i + 1);
    this.typed = '';
    await this.load();
  }

  /** What `open` takes for the typed path under the current folder; null while nothing is typed. */
  typedLocation(): string | null {
    const t = this.typed.trim();
    if (!t || !this.canType) return null;
    try {
      return childUrl(this.url, t);
    } catch {
      return null;
    }
  }

  stop(): void {
    this.req.reset();
  }
}
