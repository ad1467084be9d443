// C++ exceptions at the addon's boundary are classified, not all reported as out of memory:
// bad_alloc is E_NOMEM; a size, index or value the standard library refused is E_CORRUPT with the
// library's message; a system error is E_IO; anything else is E_INTERNAL with its text. Each class
// is thrown for real (the library's own throws where it has them) in a worker's Run() and by one
// thread of a parallel scan (native/src/test_hooks.cc), and reaches JS as a CdxError.
import { describe, expect, it } from 'vitest';
import { CdxError } from '../shared/errors';
import { loadNative } from './binding';

const CASES: [kind: string, code: string, text: RegExp][] = [
  ['bad_alloc', 'E_NOMEM', /out of memory/],
  ['length_error', 'E_CORRUPT', /size the file declares was refused \(.+\)/],
  ['out_of_range', 'E_CORRUPT', /index or offset outside the data \(.*basic_string.*\)/],
  ['invalid_argument', 'E_CORRUPT', /value that cannot be read \(stoi\)/],
  ['runtime_error', 'E_CORRUPT', /test: a runtime error/],
  ['system_error', 'E_IO', /test: .*(I\/O|Input\/output) error/i],
  ['exception', 'E_INTERNAL', /native error: std::exception/],
  ['other', 'E_INTERNAL', /unknown native exception/],
];

describe('native exceptions are classified', () => {
  for (const where of ['worker', 'parallel'] as const) {
    it.each(CASES)(`${where}: %s -> %s`, async (kind, code, text) => {
      const e = await loadNative().testThrow(kind, where).then(
        () => { throw new Error('testThrow resolved'); },
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(CdxError);
      expect(e).toMatchObject({ code, message: expect.stringMatching(text) });
      // a parallel scan names what it was reading
      if (where === 'parallel') expect((e as CdxError).message).toMatch(/^reading test: /);
    });
  }

  it('the engine keeps working after each (no exception escaped a thread)', async () => {
    for (const [kind] of CASES) await loadNative().testThrow(kind, 'parallel').catch(() => undefined);
    expect(loadNative().nativeInfo().version).toMatch(/\d/);
  });
});
