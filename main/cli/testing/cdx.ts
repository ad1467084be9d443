/**
 * For the CLI's tests: runs `cdx ARGS` in the test's own process (the program of index.ts, the
 * engine from source) and gives back what it printed to stdout, one line per console.log.
 */
import { vi } from 'vitest';
import { buildProgram } from '../index';

export async function cdx(args: string[]): Promise<string> {
  const out: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  try {
    await buildProgram().exitOverride().parseAsync(['node', 'cdx', ...args]);
  } finally {
    log.mockRestore();
  }
  return out.join('\n');
}
