/**
 * The engine's parts that most sessions never use, loaded at their first use instead of when the
 * engine process starts: the database datasets (sql/remote: the PostgreSQL and ClickHouse clients)
 * and Export (writers/handlers: every writer, the database targets among them). Each engine start
 * — every `cdx` command — paid for compiling and running them (pg alone probes its runtime at load);
 * here they are a dynamic import, a chunk of their own in the build. service.ts uses these in place
 * of the modules' own exports, with the same signatures, asynchronous where the original was not.
 */
import type { Catalog } from './catalog';
import { isDbLocation } from './sql/url';
import type * as RemoteModule from './sql/remote';
import type * as ExportModule from './writers/handlers';

type Remote = RemoteModule.RemoteDatasets;

let remoteModule: typeof RemoteModule | null = null;
let remoteLoading: Promise<typeof RemoteModule> | null = null;
const loadRemote = (): Promise<typeof RemoteModule> =>
  (remoteLoading ??= import('./sql/remote').then((m) => (remoteModule = m)));

/** sql/remote's RemoteDatasets, created when a database location is first used. */
export class LazyRemoteDatasets {
  private real: Remote | null = null;
  private loading: Promise<Remote> | null = null;

  constructor(private readonly catalog: Catalog) {}

  private get(): Promise<Remote> {
    return (this.loading ??= loadRemote().then((m) => (this.real = new m.RemoteDatasets(this.catalog))));
  }

  async open(...a: Parameters<Remote['open']>): ReturnType<Remote['open']> {
    return (await this.get()).open(...a);
  }

  /** null for a local dataset without loading anything (every request asks, service.ts's `db`) */
  async lookup(...a: Parameters<Remote['lookup']>): ReturnType<Remote['lookup']> {
    if (!this.real) {
      const e = this.catalog.get(a[0]);
      if (!e || !isDbLocation(e.location)) return null;
    }
    return (await this.get()).lookup(...a);
  }

  /** nothing to forget before a database dataset was ever opened */
  forget(...a: Parameters<Remote['forget']>): void {
    this.real?.forget(...a);
  }

  async listInner(...a: Parameters<Remote['listInner']>): ReturnType<Remote['listInner']> {
    return (await this.get()).listInner(...a);
  }

  async listConnections(...a: Parameters<Remote['listConnections']>): Promise<ReturnType<Remote['listConnections']>> {
    return (await this.get()).listConnections(...a);
  }

  async saveConnection(...a: Parameters<Remote['saveConnection']>): Promise<ReturnType<Remote['saveConnection']>> {
    return (await this.get()).saveConnection(...a);
  }

  async testConnection(...a: Parameters<Remote['testConnection']>): ReturnType<Remote['testConnection']> {
    return (await this.get()).testConnection(...a);
  }

  async removeConnection(...a: Parameters<Remote['removeConnection']>): Promise<ReturnType<Remote['removeConnection']>> {
    return (await this.get()).removeConnection(...a);
  }

  async setSecret(...a: Parameters<Remote['setSecret']>): Promise<ReturnType<Remote['setSecret']>> {
    return (await this.get()).setSecret(...a);
  }

  async close(): Promise<void> {
    const pending = this.loading;
    this.loading = null;
    const real = this.real ?? (pending ? await pending.catch(() => null) : null);
    this.real = null;
    await real?.close();
  }
}

/**
 * sql/remote's sqlSource. Its dataset comes from a LazyRemoteDatasets' open or lookup, so the
 * module is loaded by the time it is called.
 */
export function sqlSource(...a: Parameters<typeof RemoteModule.sqlSource>): ReturnType<typeof RemoteModule.sqlSource> {
  if (!remoteModule) throw new Error('sqlSource: no database dataset has been opened');
  return remoteModule.sqlSource(...a);
}

type ExportHandlers = ReturnType<typeof ExportModule.exportHandlers>;

/** writers/handlers' exportHandlers, the writers loaded at the first export (or list of formats). */
export function exportHandlers(...args: Parameters<typeof ExportModule.exportHandlers>) {
  let real: Promise<ExportHandlers> | null = null;
  const get = (): Promise<ExportHandlers> => (real ??= import('./writers/handlers').then((m) => m.exportHandlers(...args)));
  return {
    async exportFormats(...a: Parameters<ExportHandlers['exportFormats']>): Promise<ReturnType<ExportHandlers['exportFormats']>> {
      return (await get()).exportFormats(...a);
    },
    async exportDataset(...a: Parameters<ExportHandlers['exportDataset']>): ReturnType<ExportHandlers['exportDataset']> {
      return (await get()).exportDataset(...a);
    },
  };
}
