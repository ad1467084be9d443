/**
 * Test helpers shared by the source readers' tests: where the shared corpus lives (beside the
 * checkout, never copied into the repository), temporary directories, and hostile variants
 * (truncated and bit-flipped copies) of valid files.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root (this file lives in main/engine/sources/testing). */
export const repoRoot = resolve(here, '../../../..');

/** `../shared/corpus` relative to the repository root, or undefined (with a printed reason). */
export function corpusDir(sub = ''): string | undefined {
  const dir = resolve(repoRoot, '../shared/corpus', sub);
  if (!existsSync(dir)) {
    console.log(`[skip] corpus not found at ${dir}; corpus tests are skipped`);
    return undefined;
  }
  return dir;
}

export function tempDir(prefix = 'cdx-src-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Deterministic pseudo-random numbers for reproducible corruptions. */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >> 17;
    s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
}

/** Write truncated and bit-flipped copies of `src` into `dir`; returns their paths. */
export function hostileCopies(src: string, dir: string, opts: { cuts?: number[]; flips?: number; seed?: number; ext?: string } = {}): string[] {
  const bytes = readFileSync(src);
  const ext = opts.ext ?? src.slice(src.lastIndexOf('.'));
  const out: string[] = [];
  const cuts = opts.cuts ?? [0.1, 0.5, 0.9, 0.999];
  for (const c of cuts) {
    const n = Math.max(1, Math.floor(bytes.length * c));
    const p = join(dir, `trunc-${Math.round(c * 1000)}${ext}`);
    writeFileSync(p, bytes.subarray(0, n));
    out.push(p);
  }
  const rand = rng(opts.seed ?? 42);
  for (let k = 0; k < (opts.flips ?? 8); k++) {
    const copy = Buffer.from(bytes);
    for (let j = 0; j < 1 + (k % 4); j++) {
      const pos = Math.floor(rand() * copy.length);
      copy[pos] ^= 1 << Math.floor(rand() * 8);
    }
    const p = join(dir, `flip-${k}${ext}`);
    writeFileSync(p, copy);
    out.push(p);
  }
  return out;
}

/** Run python3 code; returns false (and prints why) when python3 or a module is missing. */
export function python(code: string, cwd?: string): { ok: boolean; out: string } {
  const r = spawnSync('python3', ['-c', code], { cwd, encoding: 'utf8', timeout: 60_000 });
  if (r.error || r.status !== 0) {
    return { ok: false, out: String(r.error ?? r.stderr) };
  }
  return { ok: true, out: r.stdout };
}

/** Race a promise against a timeout: a hang becomes a test failure, not a stuck suite. */
export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, rej) => { t = setTimeout(() => rej(new Error(`timeout after ${ms} ms: ${what}`)), ms); });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(t);
  }
}

import type { RecordBatch } from 'apache-arrow';
import type { Source, SourceInfo } from '../types';
import { CdxError } from '../../../../shared/errors';

/** info() plus every batch of a full scan. */
export async function drain(src: Source, columns?: string[]): Promise<{ info: SourceInfo; batches: RecordBatch[]; rows: number }> {
  const info = await src.info();
  const batches: RecordBatch[] = [];
  let rows = 0;
  for await (const b of src.scan(columns ? { columns } : {})) {
    batches.push(b);
    rows += b.numRows;
  }
  return { info, batches, rows };
}

/**
 * Open and fully read a (possibly hostile) file: it must either read, or fail with a CdxError naming the file
 * that names the file. Any other exception (a TypeError from deep inside a library, say) fails.
 */
export async function readOrClearError(open: () => Promise<Source>, path: string): Promise<'ok' | CdxError> {
  let src: Source | undefined;
  try {
    src = await open();
    await drain(src);
    return 'ok';
  } catch (e) {
    if (!(e instanceof CdxError) || !e.file) throw new Error(`${path}: not a CdxError naming the file: ${(e as Error)?.stack ?? e}`);
    if (!e.message.includes(path)) throw new Error(`error does not name the file: ${e.message}`);
    return e;
  } finally {
    await src?.close().catch(() => undefined);
  }
}
