/**
 * Regression tests, each named after what it reproduces: corrupt copies of corpus files (a few
 * bytes changed, found by fuzzing) that once crashed the process (a V8 fatal error or an
 * out-of-memory, neither catchable), hung it, or leaked an unhandled rejection. Each must now give
 * a CdxError naming the file, quickly.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { arrowProvider } from './arrow';
import { parquetProvider } from './parquet';
import { corpusDir, readOrClearError, tempDir, withTimeout } from './testing/util';
import type { SourceProvider } from './types';

const corpus = corpusDir();

const CASES: { name: string; file: string; patch: [number, number][]; provider: SourceProvider; error: RegExp }[] = [
  {
    name: 'parquet: an RLE run longer than its page grew a JS array until V8 aborted',
    file: 'parquet-testing/data/delta_byte_array.parquet', patch: [[26474, 19]], provider: parquetProvider,
    error: /overruns the 1000 values/,
  },
  {
    name: 'parquet: a negative schema child count looped forever in GeoParquet marking',
    file: 'parquet-testing/data/nested_structs.rust.parquet', patch: [[34420, 13], [42115, 216]], provider: parquetProvider,
    error: /children|schema/,
  },
  {
    name: 'parquet: a column chunk naming no schema column leaked an unhandled rejection',
    file: 'parquet-testing/data/nullable.impala.parquet', patch: [[133, 16], [1220, 20], [1245, 108], [2294, 244]], provider: parquetProvider,
    error: /not a column of the schema|column chunks/,
  },
  {
    name: 'arrow: a corrupt dictionary batch length exhausted the heap',
    file: 'arrow-testing/data/arrow-ipc-stream/integration/1.0.0-littleendian/generated_dictionary.arrow_file',
    patch: [[740, 64], [1360, 62], [1856, 26], [2339, 32]], provider: arrowProvider, error: /./,
  },
  {
    name: 'arrow: corrupt field nodes exhausted the heap',
    file: 'arrow-testing/data/arrow-ipc-stream/integration/1.0.0-littleendian/generated_dictionary.arrow_file',
    patch: [[21, 2], [1539, 64], [1664, 4]], provider: arrowProvider, error: /./,
  },
  {
    name: 'arrow: map offsets far past the data made decoding walk billions of entries',
    file: 'arrow-testing/data/arrow-ipc-stream/integration/1.0.0-littleendian/generated_map.stream',
    patch: [[264, 43], [631, 4]], provider: arrowProvider, error: /offsets|offset/,
  },
  {
    name: 'arrow: a footer block not at a record batch made apache-arrow re-read it forever',
    file: 'arrow-testing/data/arrow-ipc-stream/integration/1.0.0-littleendian/generated_nested_dictionary.arrow_file',
    patch: [[1517, 32], [2705, 11], [2752, 113], [3046, 128]], provider: arrowProvider, error: /./,
  },
];

describe('hostile-input regressions', () => {
  if (!corpus) { it.skip('corpus absent', () => {}); return; }
  for (const c of CASES) {
    it(c.name, async () => {
      const { dir, cleanup } = tempDir();
      try {
        const bytes = Buffer.from(readFileSync(join(corpus, c.file)));
        for (const [pos, value] of c.patch) bytes[pos] = value;
        const p = join(dir, c.file.split('/').pop()!);
        writeFileSync(p, bytes);
        const r = await withTimeout(readOrClearError(() => c.provider.open(p), p), 10_000, c.name);
        expect(r).not.toBe('ok');
        if (r !== 'ok') expect(r.message).toMatch(c.error);
      } finally {
        cleanup();
      }
    }, 20_000);
  }
});
