/**
 * The one loader of the CDX native engine (native/build/Release/cdx_native.node) and its typed,
 * idiomatic TypeScript API. Every kernel is asynchronous (a Promise; the work runs off the JS
 * thread), accepts an AbortSignal (rejects with code E_CANCELLED) and an onProgress callback
 * (polled every ~100 ms). Failures reject with an Error carrying a stable string `code`
 * (ENOENT, E_OUT_OF_RANGE, E_TRUNCATED, E_BAD_TYPE, E_BAD_ARG, E_CANCELLED, ...).
 *
 * The loader searches, in order: env CDX_NATIVE_PATH; `native/build/Release/cdx_native.node`
 * walking up from this module's directory (works from source under vitest/tsx and when bundled
 * into out/main/*.js); the same under process.cwd() and Electron's resourcesPath. It collects
 * every failed path and throws one actionable error.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export type NumericDType =
  | 'int8' | 'int16' | 'int32' | 'int64'
  | 'uint8' | 'uint16' | 'uint32' | 'uint64'
  | 'float32' | 'float64';

export interface RegionStats {
  /** values read (including NaN) */
  count: number;
  /** over non-NaN values; NaN when there are none */
  min: number;
  max: number;
  sum: number;
  nanCount: number;
}

export interface Region {
  /** byte offset of the first value */
  offset: number;
  /** number of values */
  count: number;
  dtype: NumericDType;
  /** default true */
  littleEndian?: boolean;
}

export interface Progress {
  done: number;
  total: number;
  /** done / total in [0, 1] (0 while total is unknown) */
  fraction: number;
}

export interface KernelOptions {
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  /** polling interval for onProgress, ms (default 100) */
  progressIntervalMs?: number;
}

/** Error thrown/rejected by the native engine: always has a stable `code`. */
export interface NativeError extends Error {
  code: string;
}

// ---------------------------------------------------------------------------------------------
// Loader

/* eslint-disable @typescript-eslint/no-explicit-any -- the raw addon is untyped; wrapped below */
type Job = unknown;
export interface RawAddon {
  nativeInfo(): { openmp: boolean; threads: number; version: string };
  createJob(): Job;
  cancelJob(job: Job): void;
  jobProgress(job: Job): Float64Array;
  mapFile(path: string): { handle: unknown; size: number };
  unmapFile(handle: unknown): void;
  regionStats(file: unknown, region: Region, job?: Job): Promise<RegionStats>;
  [name: string]: any;
}

const BINARY = join('native', 'build', 'Release', 'cdx_native.node');

function moduleDir(): string | undefined {
  try {
    // import.meta.url exists in ESM (source, tsx, vitest) and is shimmed by bundlers for CJS.
    return dirname(fileURLToPath(import.meta.url));
  } catch {
    return typeof __dirname === 'string' ? __dirname : undefined;
  }
}
declare const __dirname: string | undefined;

/** Candidate paths for the binary, in the order they are tried. */
export function nativeCandidates(): string[] {
  const out: string[] = [];
  const env = process.env.CDX_NATIVE_PATH;
  if (env) out.push(resolve(env));
  const starts: string[] = [];
  const md = moduleDir();
  if (md) starts.push(md);
  starts.push(process.cwd());
  const rp = (process as unknown as { resourcesPath?: string }).resourcesPath;
  if (rp) starts.push(join(rp, 'app.asar.unpacked'), rp);
  for (const start of starts) {
    let dir = resolve(start);
    for (;;) {
      out.push(join(dir, BINARY));
      if (dir.endsWith(`${'native'}`)) out.push(join(dir, 'build', 'Release', 'cdx_native.node'));
      const up = dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  }
  return [...new Set(out)];
}

let cached: RawAddon | undefined;

/** Loads (once) and returns the raw addon; throws one actionable error listing every path tried. */
export function loadNative(): RawAddon {
  if (cached) return cached;
  const req = createRequire(import.meta.url);
  const failures: string[] = [];
  for (const p of nativeCandidates()) {
    if (!existsSync(p)) {
      failures.push(`${p}: not found`);
      continue;
    }
    try {
      cached = req(p) as RawAddon;
      return cached;
    } catch (e) {
      failures.push(`${p}: ${(e as Error).message}`);
    }
  }
  const err = new Error(
    'The CDX native engine (cdx_native.node) could not be loaded. ' +
      'Run `npm run build:native` in the project root (needs a C++ compiler and python3), ' +
      'or set CDX_NATIVE_PATH to the built file. Tried:\n  ' +
      failures.join('\n  '),
  ) as NativeError;
  err.code = 'E_NATIVE_MISSING';
  throw err;
}

// ---------------------------------------------------------------------------------------------
// Jobs: cancellation + progress around one native call

export function cancelledError(what = 'operation'): NativeError {
  const e = new Error(`${what} cancelled`) as NativeError;
  e.code = 'E_CANCELLED';
  e.name = 'AbortError';
  return e;
}

/** Runs `start(job)` with the signal wired to cancelJob and progress polled into onProgress. */
export async function runJob<T>(
  name: string,
  start: (addon: RawAddon, job: Job) => Promise<T>,
  opts: KernelOptions = {},
): Promise<T> {
  const addon = loadNative();
  const { signal, onProgress } = opts;
  if (signal?.aborted) throw cancelledError(name);
  const job = addon.createJob();
  const onAbort = () => addon.cancelJob(job);
  signal?.addEventListener('abort', onAbort, { once: true });
  let timer: ReturnType<typeof setInterval> | undefined;
  const report = () => {
    const p = addon.jobProgress(job);
    const done = p[0]!, total = p[1]!;
    onProgress?.({ done, total, fraction: total > 0 ? Math.min(1, done / total) : 0 });
  };
  if (onProgress) timer = setInterval(report, opts.progressIntervalMs ?? 100);
  try {
    const r = await start(addon, job);
    if (onProgress) report();
    return r;
  } catch (e) {
    if ((e as NativeError)?.code === 'E_CANCELLED') throw cancelledError(name);
    throw e;
  } finally {
    if (timer) clearInterval(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

// ---------------------------------------------------------------------------------------------
// Files

/**
 * A file mapped by the native engine. While it is open, the mapping keeps the data readable even
 * if the file is deleted; kernels given this handle instead of a path use that mapping.
 */
export class NativeFile {
  readonly path: string;
  readonly size: number;
  /** @internal */ handle: unknown;
  private constructor(path: string, handle: unknown, size: number) {
    this.path = path;
    this.handle = handle;
    this.size = size;
  }
  /** Maps `path` (synchronous: open + mmap, no data read). Throws with code ENOENT etc. */
  static open(path: string): NativeFile {
    const r = loadNative().mapFile(path);
    return new NativeFile(path, r.handle, r.size);
  }
  /** Drops this handle's mapping (kernels already running keep theirs). */
  close(): void {
    if (this.handle !== undefined) loadNative().unmapFile(this.handle);
    this.handle = undefined;
  }
}

/** A file argument: a path (opened for the duration of one call) or an open NativeFile. */
export type FileArg = string | NativeFile;

export function fileHandle(f: FileArg): unknown {
  if (typeof f === 'string') return f;
  if (f.handle === undefined) {
    const e = new Error(`${f.path}: file handle is closed`) as NativeError;
    e.code = 'E_CLOSED';
    throw e;
  }
  return f.handle;
}

// ---------------------------------------------------------------------------------------------
// Kernels

export function nativeInfo(): { openmp: boolean; threads: number; version: string } {
  return loadNative().nativeInfo();
}

/**
 * Memory-maps `file` and computes count / min / max / sum / NaN count of `region.count` values of
 * `region.dtype` starting at byte `region.offset`, in parallel, off the JS thread.
 */
export function regionStats(file: FileArg, region: Region, opts?: KernelOptions): Promise<RegionStats> {
  return runJob(
    'regionStats',
    (a, job) =>
      a.regionStats(
        fileHandle(file),
        { offset: region.offset, count: region.count, dtype: region.dtype, littleEndian: region.littleEndian ?? true },
        job,
      ),
    opts,
  );
}
