/**
 * The yardstick, shared by the benches that compare with it (bench/run.ts's engine figures,
 * bench/cli.ts's whole commands): bench/minimal/loops.c built with `cc -O2 -fopenmp` into `dir`
 * (once per source change) and run on an (x, y) float32 points file (N x values, then N y values).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface MinimalLoops {
  threads: number;
  /** the parallel sum's read rate, GB/s */
  sum_gbs: number;
  /** the textbook binning loop's rate (1024 x 1024 uint32 grid per thread), points/s */
  bin_pps: number;
  /** random grid increments alone (no reads), per second */
  bump_pps: number;
  binned: number;
}

/** Best of 3 of each loop on the file; null (with a line on `log`) where there is no C compiler. */
export function minimalLoops(path: string, n: number, dir: string, log: (msg: string) => void): MinimalLoops | null {
  const src = join(fileURLToPath(import.meta.url), '..', 'minimal', 'loops.c');
  const exe = join(dir, 'minimal-loops');
  try {
    if (!existsSync(exe) || statSync(exe).mtimeMs < statSync(src).mtimeMs) execFileSync(process.env.CC ?? 'cc', ['-O2', '-fopenmp', '-o', exe, src], { stdio: 'pipe' });
    const out = JSON.parse(execFileSync(exe, [path, String(n), '3'], { encoding: 'utf8' })) as MinimalLoops;
    if (out.binned !== n) log(`warning: the minimal loop binned ${out.binned} of ${n}`);
    return out;
  } catch (e) {
    log(`minimal C loops skipped: ${(e as Error).message.split('\n')[0]}`);
    return null;
  }
}
