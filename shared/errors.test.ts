// The error vocabulary is closed: every code that any source file can produce (TypeScript, Svelte,
// and the native C++ kernels' Status::Error("E_...")) must be a member of ERROR_CODES, and every
// warning code one of WARNING_CODES. A new code is added to shared/errors.ts first, with its meaning.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CdxError, ERROR_CODES, WARNING_CODES, asCdxError, isCancelled, isErrorCode, toErrorInfo } from './errors';

const root = join(__dirname, '..');
const DIRS = ['shared', 'main', 'native', 'renderer', 'bench', 'e2e', 'scripts'];
const EXT = /\.(ts|svelte|mjs|cc|h)$/;

function* walk(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'build' || name === 'artifacts' || name.startsWith('.')) continue;
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) yield* walk(p);
    else if (EXT.test(name)) yield p;
  }
}

function codesIn(prefix: 'E' | 'W'): Map<string, string[]> {
  const re = new RegExp(`['"\`](${prefix}_[A-Z0-9_]+)['"\`]`, 'g');
  const found = new Map<string, string[]>();
  for (const d of DIRS) {
    for (const file of walk(join(root, d))) {
      if (file.endsWith(join('shared', 'errors.ts')) || file.endsWith(join('shared', 'errors.test.ts'))) continue;
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(re)) {
        const line = text.slice(0, m.index).split('\n').length;
        const where = `${relative(root, file)}:${line}`;
        found.set(m[1]!, [...(found.get(m[1]!) ?? []), where]);
      }
    }
  }
  return found;
}

describe('the error vocabulary', () => {
  it('every error code produced anywhere is in ERROR_CODES', () => {
    const found = codesIn('E');
    expect(found.size).toBeGreaterThan(20); // the walk found the tree
    const unknown = [...found].filter(([c]) => !(c in ERROR_CODES)).map(([c, w]) => `${c} at ${w.slice(0, 3).join(', ')}`);
    expect(unknown).toEqual([]);
  });

  it('every warning code produced anywhere is in WARNING_CODES', () => {
    const found = codesIn('W');
    expect(found.size).toBeGreaterThan(3);
    const unknown = [...found].filter(([c]) => !(c in WARNING_CODES)).map(([c, w]) => `${c} at ${w.slice(0, 3).join(', ')}`);
    expect(unknown).toEqual([]);
  });

  it('the merged synonyms are gone', () => {
    for (const c of ['E_BAD_COLUMN', 'E_NO_COLUMN', 'E_ABORTED']) expect(isErrorCode(c)).toBe(false);
  });

  it('CdxError carries code, file and column; CdxError.file names the file in the message', () => {
    const e = CdxError.file('E_UNKNOWN_COLUMN', '/data/x.csv', 'no column "a"', { column: 'a' });
    expect(e).toBeInstanceOf(Error);
    expect(e.message).toBe('/data/x.csv: no column "a"');
    expect(toErrorInfo(e)).toEqual({ code: 'E_UNKNOWN_COLUMN', message: '/data/x.csv: no column "a"', file: '/data/x.csv', column: 'a' });
    expect(CdxError.fromInfo(toErrorInfo(e))).toMatchObject({ code: 'E_UNKNOWN_COLUMN', file: '/data/x.csv', column: 'a' });
  });

  it('normalises what is not ours into the vocabulary', () => {
    const enoent = Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT', errno: -2, syscall: 'open' });
    expect(toErrorInfo(enoent).code).toBe('ENOENT');
    expect(toErrorInfo(Object.assign(new Error('x'), { code: 'ENOTDIR', errno: -20 })).code).toBe('ENOENT');
    expect(toErrorInfo(Object.assign(new Error('x'), { code: 'EPERM', errno: -1 })).code).toBe('EACCES');
    expect(toErrorInfo(Object.assign(new Error('x'), { code: 'EMFILE', errno: -24 })).code).toBe('E_IO');
    expect(toErrorInfo(Object.assign(new Error('x'), { code: 'SQLITE_BUSY' })).code).toBe('E_INTERNAL');
    expect(toErrorInfo(new TypeError('boom'))).toEqual({ code: 'E_INTERNAL', message: 'boom' });
    expect(toErrorInfo('text')).toEqual({ code: 'E_INTERNAL', message: 'text' });
    const abort = new DOMException('aborted', 'AbortError');
    expect(toErrorInfo(abort).code).toBe('E_CANCELLED');
    expect(asCdxError(abort).code).toBe('E_CANCELLED');
  });

  it('isCancelled knows every form of cancellation and nothing else', () => {
    expect(isCancelled(CdxError.cancelled('summary'))).toBe(true);
    expect(isCancelled(new DOMException('aborted', 'AbortError'))).toBe(true);
    expect(isCancelled({ code: 'E_CANCELLED', message: 'x' })).toBe(true);
    expect(isCancelled(new CdxError('E_ENGINE_DIED', 'died'))).toBe(false);
    expect(isCancelled(null)).toBe(false);
    expect(isCancelled('E_CANCELLED')).toBe(false);
  });
});
