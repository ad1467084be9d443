import { describe, expect, it } from 'vitest';
import type { DatasetEntry } from '../../shared/api';
import { CdxError } from '../../shared/errors';
import { Catalog } from './catalog.svelte';
import type { EngineConnection } from './engine.svelte';

const entry = (id: string, sample = false) => ({ id, name: `${id}.arrow`, path: `/d/${id}.arrow`, format: 'arrow', size: 1, sample }) as unknown as DatasetEntry;

function fake() {
  const listed: (string | undefined)[] = [];
  const lists: ((v: DatasetEntry[]) => void)[] = [];
  let opening: ((v: unknown) => void) | null = null;
  const api = {
    listDatasets: (p: { search?: string }) => (listed.push(p.search), new Promise<DatasetEntry[]>((r) => lists.push(r))),
    listInner: async ({ path }: { path: string }) => (path.endsWith('.sqlite') ? [{ inner: 'a' }, { inner: 'b' }] : [{ inner: '' }]),
    open: (p: { location: string }, o: { signal?: AbortSignal; onProgress?: (p: { done: number }) => void }) =>
      new Promise((resolve, reject) => {
        o.onProgress?.({ done: 0.5 });
        opening = () => resolve({ entry: entry(p.location.replace(/\W/g, '')) });
        o.signal?.addEventListener('abort', () => reject(CdxError.cancelled('open')));
      }),
  };
  return { cat: new Catalog({ api } as unknown as EngineConnection), listed, lists, finishOpen: () => opening?.(undefined) };
}

describe('Catalog', () => {
  it('a slower earlier listing never replaces a later one; the sample is selected by default', async () => {
    const { cat, lists } = fake();
    const first = cat.refresh();
    cat.search = 'tr';
    const second = cat.refresh();
    lists[1]!([entry('trips', true)]);
    await second;
    lists[0]!([entry('old1'), entry('old2')]);
    await first;
    expect(cat.datasets.map((d) => d.id)).toEqual(['trips']);
    expect(cat.selected).toBe('trips');
  });

  it('a container lists its datasets instead of opening; a cancelled open says so', async () => {
    const { cat } = fake();
    expect(await cat.open('/d/shop.sqlite')).toBe(false);
    expect(cat.inner?.items.map((i) => i.inner)).toEqual(['a', 'b']);
    const p = cat.open('/d/big.npy');
    await Promise.resolve();
    await Promise.resolve();
    expect(cat.busyOpening).toBe(true);
    cat.cancelOpen();
    expect(await p).toBe(false);
    expect(cat.busyOpening).toBe(false);
    expect(cat.openProgress).toBeNull();
    expect(cat.openError).toBe('Cancelled.');
  });

  it('an opened dataset is selected and the list reloaded', async () => {
    const { cat, lists, finishOpen, listed } = fake();
    const p = cat.open('/d/x.npy');
    await new Promise((r) => setTimeout(r, 0));
    expect(cat.openProgress).toBe(0.5);
    finishOpen();
    await new Promise((r) => setTimeout(r, 0));
    lists.at(-1)!([entry('dxnpy')]);
    expect(await p).toBe(true);
    expect(cat.selected).toBe('dxnpy');
    expect(cat.inner).toBeNull();
    expect(listed).toHaveLength(1);
    expect(cat.viewOf('dxnpy')).toBe(cat.viewOf('dxnpy'));
  });
});
