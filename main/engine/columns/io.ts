/** Small positional reads (headers, footers, metadata) without reading whole files. */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { CdxError, toErrorInfo } from '../../../shared/errors';

export function readAt(fd: number, offset: number, length: number): Uint8Array {
  const buf = new Uint8Array(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, offset + got);
    if (n === 0) break;
    got += n;
  }
  return got === length ? buf : buf.subarray(0, got);
}

/** Opens `path`, runs `fn(fd, size)`, closes. Open failures become a CdxError naming the file (ENOENT, EACCES, E_IO...). */
export function withFile<T>(path: string, fn: (fd: number, size: number) => T): T {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw CdxError.file(toErrorInfo(e).code, path, err.code === 'ENOENT' ? 'no such file' : err.message, { cause: e });
  }
  try {
    return fn(fd, fstatSync(fd).size);
  } finally {
    closeSync(fd);
  }
}
