import { afterEach, describe, expect, it, vi } from 'vitest';
import path from 'node:path';

describe('resources of a packaged desktop app', () => {
  afterEach(() => {
    delete process.env.CDX_APP_ROOT;
    vi.resetModules();
  });
  it('finds the sample beside app.asar (electron-builder extraResources), not inside it', async () => {
    process.env.CDX_APP_ROOT = path.join('/opt', 'CDX', 'resources', 'app.asar');
    vi.resetModules();
    const { resourcesDir, sampleDatasetPath } = await import('./paths');
    expect(resourcesDir()).toBe(path.join('/opt', 'CDX', 'resources'));
    expect(sampleDatasetPath()).toBe(path.join('/opt', 'CDX', 'resources', 'sample', 'trips.arrow'));
  });
  it('from a checkout: resources/ under the app root', async () => {
    process.env.CDX_APP_ROOT = path.join('/src', 'cdx');
    vi.resetModules();
    const { sampleDatasetPath } = await import('./paths');
    expect(sampleDatasetPath()).toBe(path.join('/src', 'cdx', 'resources', 'sample', 'trips.arrow'));
  });
});
