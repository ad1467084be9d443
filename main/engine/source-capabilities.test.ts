// Sources declare what they compute themselves (sources/types.ts SourceCapabilities); the engine
// uses a declared capability and otherwise takes its generic path. Here a stand-in source is
// opened through the registry (mocked for its own extensions only) with and without the
// `nativeIngest` capability: opening it as a dataset and converting it must call the capability
// when declared (and not scan), and scan when not — with the same rows either way.
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tableFromArrays, tableToIPC, type RecordBatch } from 'apache-arrow';
import type { Source, SourceCapabilities, SourceInfo } from './sources/types';

const table = tableFromArrays({ x: Float64Array.from([1.5, 2.5, 3.5]) });

/** A source of three rows that counts how it was read. */
class StandIn implements Source {
  scans = 0;
  ingests = 0;
  readonly capabilities?: SourceCapabilities;
  constructor(readonly path: string, capable: boolean) {
    if (capable) {
      this.capabilities = {
        nativeIngest: async (outPath) => {
          this.ingests++;
          writeFileSync(outPath, tableToIPC(table, 'file'));
          return { rows: 3, columns: [{ name: 'x', nullable: false }] };
        },
      };
    }
  }
  async info(): Promise<SourceInfo> {
    return { format: 'standin', path: this.path, rows: 3, schema: { fields: [{ name: 'x', type: 'float64', nullable: false }] }, metadata: {}, warnings: [] };
  }
  async *scan(): AsyncIterable<RecordBatch> {
    this.scans++;
    yield* table.batches;
  }
  async close(): Promise<void> {}
}

const opened: StandIn[] = [];
vi.mock('./sources/registry', async (importOriginal) => {
  const real = await importOriginal<typeof import('./sources/registry')>();
  return {
    ...real,
    openSource: async (location: string) => {
      if (location.endsWith('.capable') || location.endsWith('.plain')) {
        const s = new StandIn(location, location.endsWith('.capable'));
        opened.push(s);
        return s;
      }
      return real.openSource(location);
    },
  };
});

const { Datasets } = await import('./datasets');
const { convert } = await import('./writers/convert');

const dir = mkdtempSync(path.join(os.tmpdir(), 'cdx-cap-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(() => { opened.length = 0; });

function input(name: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, 'stand-in'); // the file must exist; its content is the stand-in's business
  return p;
}

describe('opening a dataset', () => {
  it('uses a declared nativeIngest for the cache and never scans', async () => {
    const ds = new Datasets(path.join(dir, 'home-a'), null);
    try {
      const d = await ds.open(input('a.capable'));
      expect(opened).toHaveLength(1);
      expect([opened[0]!.ingests, opened[0]!.scans]).toEqual([1, 0]);
      expect(d.storage.kind).toBe('cache');
      expect(d.rows).toBe(3);
    } finally {
      ds.close();
    }
  });

  it('takes the generic path (scan into the cache writer) when the source declares nothing', async () => {
    const ds = new Datasets(path.join(dir, 'home-b'), null);
    try {
      const d = await ds.open(input('b.plain'));
      expect([opened[0]!.ingests, opened[0]!.scans]).toEqual([0, 1]);
      expect(d.storage.kind).toBe('cache');
      expect(d.rows).toBe(3);
    } finally {
      ds.close();
    }
  });
});

describe('converting', () => {
  it('stages through a declared nativeIngest, and scans a source without it, writing the same rows', async () => {
    const a = await convert({ input: input('c.capable'), output: path.join(dir, 'c.csv') });
    expect([opened[0]!.ingests, opened[0]!.scans]).toEqual([1, 0]);
    const b = await convert({ input: input('d.plain'), output: path.join(dir, 'd.csv') });
    expect([opened[1]!.ingests, opened[1]!.scans]).toEqual([0, 1]);
    expect([a.rows, b.rows]).toEqual([3, 3]);
    expect(readFileSync(path.join(dir, 'c.csv'), 'utf8')).toBe(readFileSync(path.join(dir, 'd.csv'), 'utf8'));
  });

  it("staging: 'off' scans even a source that declares nativeIngest", async () => {
    await convert({ input: input('e.capable'), output: path.join(dir, 'e.csv'), staging: 'off' });
    expect([opened[0]!.ingests, opened[0]!.scans]).toEqual([0, 1]);
  });
});
