// The loader (native/binding.ts): it never looks for the binary under the working folder (a
// `native/build/Release/cdx_native.node` planted in whatever folder the CLI is started from is
// not loaded), and every failure of the addon reaches callers as a CdxError in the vocabulary.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { CdxError } from '../shared/errors';
import { loadNative, nativeError, nativePath } from './binding';
import { tempDir } from './testing/fixtures';

const here = fileURLToPath(new URL('.', import.meta.url));
const root = resolve(here, '..');
const dir = tempDir('cdx-binding-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loader', () => {
  it('does not search the working folder: a planted native/build/Release/cdx_native.node there is never tried', () => {
    const cwd = join(dir, 'work');
    const planted = join(cwd, 'native', 'build', 'Release', 'cdx_native.node');
    mkdirSync(join(cwd, 'native', 'build', 'Release'), { recursive: true });
    writeFileSync(planted, 'not a Node addon');
    const script = join(dir, 'probe.mjs');
    writeFileSync(script, `
      const b = await import(${JSON.stringify(pathToFileURL(join(here, 'binding.ts')).href)});
      let error;
      try { b.loadNative(); } catch (e) { error = String(e.message); }
      process.stdout.write(JSON.stringify({ cwd: process.cwd(), candidates: b.nativeCandidates(), loaded: b.nativePath() ?? null, error }));
    `);
    const env = { ...process.env };
    delete env.CDX_NATIVE_PATH;
    const r = spawnSync(process.execPath, [join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'), script], { cwd, env, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { cwd: string; candidates: string[]; loaded: string | null; error?: string };
    expect(resolve(out.cwd)).toBe(resolve(cwd));
    expect(out.candidates.filter((p) => resolve(p).startsWith(resolve(cwd)))).toEqual([]);
    expect(out.loaded).toBe(join(root, 'native', 'build', 'Release', 'cdx_native.node'));
    expect(out.error).toBeUndefined();
  });

  it('loads the built binary next to this module (the order of candidates: native/index.test.ts)', () => {
    loadNative();
    expect(nativePath()).toBe(join(root, 'native', 'build', 'Release', 'cdx_native.node'));
  });
});

describe('native errors', () => {
  it('are CdxErrors with a code of the vocabulary, thrown or rejected', async () => {
    const a = loadNative();
    const missing = join(dir, 'missing.bin');
    const sync = (() => { try { a.mapFile(missing); } catch (e) { return e; } })();
    expect(sync).toBeInstanceOf(CdxError);
    expect(sync).toMatchObject({ code: 'ENOENT', message: expect.stringContaining(missing) });
    const async = await a.regionStats(missing, { offset: 0, count: 1, dtype: 'int8' }).catch((e: unknown) => e);
    expect(async).toBeInstanceOf(CdxError);
    expect(async).toMatchObject({ code: 'ENOENT' });
    // a Node-API argument TypeError has no code: E_BAD_ARG
    const typeError = (() => { try { (a.mapFile as (p: unknown) => unknown)(42); } catch (e) { return e; } })();
    expect(typeError).toMatchObject({ code: 'E_BAD_ARG' });
  });

  it('system codes of the addon map into the vocabulary (EEXIST -> E_EXISTS, EISDIR -> E_IS_DIR, ENOSPC -> E_WRITE)', () => {
    const raw = (code: string) => Object.assign(new Error(`x: ${code}`), { code });
    expect(nativeError(raw('EEXIST')).code).toBe('E_EXISTS');
    expect(nativeError(raw('EISDIR')).code).toBe('E_IS_DIR');
    expect(nativeError(raw('ENOSPC')).code).toBe('E_WRITE');
    expect(nativeError(raw('E_TRUNCATED')).code).toBe('E_TRUNCATED');
    expect(nativeError(new Error('no code')).code).toBe('E_INTERNAL');
  });
});
