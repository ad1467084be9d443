/**
 * lazy.ts: the database datasets and Export behind a first-use import answer as the modules do —
 * a local or unknown dataset is no database dataset (without loading the clients), a database one
 * goes to the real RemoteDatasets (here: a refused connection, its error), and Export lists the
 * writers' formats.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Catalog } from './catalog';
import { exportHandlers, LazyRemoteDatasets } from './lazy';
import { exportHandlers as realExportHandlers } from './writers/handlers';
import type { Datasets } from './datasets';

const dir = mkdtempSync(path.join(os.tmpdir(), 'cdx-lazy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('first-use modules', () => {
  it('a local or unknown dataset is no database dataset; a database one reaches its server', async () => {
    const catalog = new Catalog(dir);
    try {
      const remote = new LazyRemoteDatasets(catalog);
      const local = catalog.upsert({ location: '/data/a.csv', format: 'csv', size: 1, mtimeMs: 1 });
      expect(await remote.lookup(local.id)).toBeNull();
      expect(await remote.lookup('no-such-id')).toBeNull();
      remote.forget(local.id); // nothing opened yet: nothing to forget
      // nothing listens on port 1: the real client's refusal comes back
      const db = catalog.upsert({ location: 'postgresql://cdx@127.0.0.1:1/db::t', format: 'postgresql', size: 0, mtimeMs: 0 });
      await expect(remote.lookup(db.id)).rejects.toMatchObject({ code: expect.stringMatching(/^E_/) });
      expect(await remote.listConnections()).toEqual(expect.any(Array));
      await remote.close();
    } finally {
      catalog.close();
    }
  }, 30_000);

  it('Export lists the writers as the module does', async () => {
    const store = () => null as unknown as Datasets;
    expect(await exportHandlers(store).exportFormats()).toEqual(realExportHandlers(store).exportFormats());
  });
});
