/**
 * A CSV file as decoded UTF-8 chunks: what the parser is fed. Bytes are streamed in chunks
 * (default 8 MiB: input, pieces and output of a chunk stay near the L3 cache; `chunkBytes` makes
 * them tiny in tests) from the file, or through node:zlib when it is gzip (detected by magic
 * bytes), so memory stays bounded whatever the file size.
 *
 * Encodings: UTF-8 (a BOM is dropped), UTF-16 LE/BE with a BOM (transcoded to UTF-8 per chunk with
 * a streaming TextDecoder), and Windows-1252 when the sample is not valid UTF-8 (passed through:
 * the native parser transcodes it; a stray invalid field later in a UTF-8 file is transcoded field
 * by field there too). Binary content (NUL or many control bytes) is refused with E_NOT_TEXT.
 * Errors are CdxErrors naming the file: ENOENT, EACCES, E_IS_DIR, E_NOT_FILE, E_EMPTY,
 * E_NOT_TEXT, E_GZIP, E_IO.
 */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { isUtf8 } from 'node:buffer';
import { CdxError } from '../../../shared/errors';

export type CsvEncoding = 'utf-8' | 'utf-8-bom' | 'utf-16le' | 'utf-16be' | 'windows-1252';

export interface TextOptions {
  /** bytes per chunk handed to the parser (default 8 MiB) */
  chunkBytes?: number;
  /** override detection */
  encoding?: CsvEncoding;
}

export const MiB = 1024 * 1024;
export const DEFAULT_CHUNK = 8 * MiB;

export interface ByteStream {
  size: number;
  gzip: boolean;
  /** raw (compressed) bytes read so far */
  readonly bytesRead: () => number;
  chunks: AsyncGenerator<Uint8Array>;
  close: () => Promise<void>;
}

async function checkPath(path: string): Promise<number> {
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    const c = (e as NodeJS.ErrnoException).code;
    if (c === 'ENOENT' || c === 'ENOTDIR') throw CdxError.file('ENOENT', path, 'no such file');
    if (c === 'EACCES' || c === 'EPERM') throw CdxError.file('EACCES', path, 'permission denied');
    throw CdxError.file('E_IO', path, (e as Error).message, { cause: e });
  }
  if (st.isDirectory()) throw CdxError.file('E_IS_DIR', path, 'is a directory, not a CSV file');
  if (!st.isFile()) throw CdxError.file('E_NOT_FILE', path, 'is not a regular file');
  if (st.size === 0) throw CdxError.file('E_EMPTY', path, 'the file is empty (0 bytes)');
  return st.size;
}

/** The file's bytes in chunks of `chunkBytes` (decompressed when it is gzip). */
async function openBytes(path: string, chunkBytes: number): Promise<ByteStream> {
  const size = await checkPath(path);
  const fh = await open(path, 'r');
  const magic = new Uint8Array(2);
  await fh.read(magic, 0, 2, 0);
  const gzip = magic[0] === 0x1f && magic[1] === 0x8b;
  let read = 0;
  let closed = false;
  const close = async () => {
    if (!closed) { closed = true; await fh.close().catch(() => undefined); }
  };
  let chunks: AsyncGenerator<Uint8Array>;
  if (!gzip) {
    chunks = (async function* () {
      try {
        // Three buffers in rotation: the native parser copies a chunk synchronously when it is fed,
        // so by the time a buffer comes round again it is free (fresh multi-MiB buffers per chunk
        // cost page faults). Tiny chunks (tests) are small enough to allocate each time.
        const ring = chunkBytes >= 65536 ? [Buffer.allocUnsafeSlow(chunkBytes), Buffer.allocUnsafeSlow(chunkBytes), Buffer.allocUnsafeSlow(chunkBytes)] : undefined;
        let k = 0;
        for (;;) {
          const buf = ring ? ring[k++ % 3]! : Buffer.allocUnsafe(chunkBytes);
          let n = 0;
          while (n < chunkBytes) {
            const { bytesRead } = await fh.read(buf, n, chunkBytes - n, read + n);
            if (bytesRead === 0) break;
            n += bytesRead;
          }
          read += n;
          if (n === 0) return;
          yield n === chunkBytes ? buf : buf.subarray(0, n);
          if (n < chunkBytes) return;
        }
      } finally {
        await close();
      }
    })();
  } else {
    await close();
    chunks = (async function* () {
      const raw = createReadStream(path, { highWaterMark: 1 * MiB });
      raw.on('data', (b) => { read += (b as Buffer).length; });
      const gun = createGunzip();
      raw.on('error', (e) => gun.destroy(e));
      raw.pipe(gun);
      let parts: Buffer[] = [];
      let have = 0;
      try {
        for await (const piece of gun as AsyncIterable<Buffer>) {
          let p = piece;
          while (have + p.length >= chunkBytes) {
            const take = chunkBytes - have;
            parts.push(p.subarray(0, take));
            yield Buffer.concat(parts, chunkBytes);
            parts = [];
            have = 0;
            p = p.subarray(take);
          }
          if (p.length) { parts.push(p); have += p.length; }
        }
        if (have) yield Buffer.concat(parts, have);
      } catch (e) {
        throw CdxError.file('E_GZIP', path, `cannot decompress: ${(e as Error).message}`, { cause: e });
      } finally {
        raw.destroy();
        gun.destroy();
      }
    })();
  }
  const gen = chunks;
  const closeAll = async () => {
    await gen.return(undefined).catch(() => undefined);
    await close();
  };
  return { size, gzip, bytesRead: () => read, chunks, close: closeAll };
}

function detectEncoding(first: Uint8Array): CsvEncoding {
  if (first[0] === 0xef && first[1] === 0xbb && first[2] === 0xbf) return 'utf-8-bom';
  if (first[0] === 0xff && first[1] === 0xfe) return 'utf-16le';
  if (first[0] === 0xfe && first[1] === 0xff) return 'utf-16be';
  // cut at the last newline so a multi-byte character split by the chunk edge is not "invalid"
  let end = first.length;
  const nl = first.lastIndexOf(0x0a);
  if (nl > 0 && first.length > 4096) end = nl + 1;
  else if (end > 3) {
    // drop a possibly truncated sequence at the very end
    let k = end - 1;
    while (k > end - 4 && k > 0 && (first[k]! & 0xc0) === 0x80) k--;
    if (first[k]! >= 0xc0) end = k;
  }
  return isUtf8(first.subarray(0, end)) ? 'utf-8' : 'windows-1252';
}

function looksBinary(b: Uint8Array): boolean {
  const n = Math.min(b.length, 65536);
  let ctl = 0;
  for (let i = 0; i < n; i++) {
    const c = b[i]!;
    if (c === 0) return true;
    if (c < 9 || (c > 13 && c < 32 && c !== 27)) ctl++;
  }
  return n > 0 && ctl / n > 0.05;
}

export interface CsvText {
  enc: CsvEncoding;
  bytes: ByteStream;
  /** decoded chunks: UTF-8 (BOM dropped, UTF-16 transcoded) or Windows-1252 as it stands */
  chunks: AsyncGenerator<Uint8Array>;
  /** the first ≥ 64 KiB as text, for sniffing (Windows-1252 / UTF-8 read as latin1) */
  headText: string;
  /** the head is the whole file */
  headComplete: boolean;
}

/** Decoded UTF-8 chunks (BOM dropped, UTF-16 transcoded) plus the detected encoding. */
export async function openText(path: string, opts: TextOptions): Promise<CsvText> {
  const chunkBytes = Math.max(1, Math.floor(opts.chunkBytes ?? DEFAULT_CHUNK));
  // the first chunk is at least 64 KiB so that sniffing sees a useful sample
  const bytes = await openBytes(path, chunkBytes);
  const it = bytes.chunks;
  let first: Uint8Array = new Uint8Array(0);
  const pending: Uint8Array[] = [];
  let have = 0;
  let headComplete = false;
  try {
    while (have < 65536) {
      const r = await it.next();
      if (r.done) { headComplete = true; break; }
      pending.push(r.value);
      have += r.value.length;
    }
    first = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
  } catch (e) {
    await bytes.close();
    throw e;
  }
  if (first.length === 0) { await bytes.close(); throw CdxError.file('E_EMPTY', path, 'the file is empty (no data after decompression)'); }
  const enc = opts.encoding ?? detectEncoding(first);
  if (enc !== 'utf-16le' && enc !== 'utf-16be' && looksBinary(first)) {
    await bytes.close();
    throw CdxError.file('E_NOT_TEXT', path, 'holds binary data (NUL or control bytes), not CSV text');
  }
  const chunks = (async function* () {
    let skip = enc === 'utf-8-bom' ? 3 : 0;
    const dec = enc === 'utf-16le' || enc === 'utf-16be' ? new TextDecoder(enc) : undefined;
    const src = (async function* () {
      for (const p of pending) yield p;
      pending.length = 0;
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        yield r.value;
      }
    })();
    for await (let c of src) {
      if (skip) {
        const k = Math.min(skip, c.length);
        c = c.subarray(k);
        skip -= k;
        if (!c.length) continue;
      }
      if (dec) {
        const s = dec.decode(c, { stream: true });
        yield Buffer.from(s, 'utf8');
      } else {
        yield c;
      }
    }
    if (dec) {
      const tail = dec.decode();
      if (tail) yield Buffer.from(tail, 'utf8');
    }
  })();
  let headText: string;
  if (enc === 'utf-16le' || enc === 'utf-16be') headText = new TextDecoder(enc).decode(first);
  else headText = Buffer.from(first.buffer, first.byteOffset, first.length).toString('latin1').replace(/^\xef\xbb\xbf/, '');
  return { enc, bytes, chunks, headText, headComplete };
}

/**
 * Closes the byte stream. After a failure or cancellation it does not wait for a read still in
 * flight (the error reaches the caller at once; the handle closes when that read returns).
 */
export async function closeQuietly(text: Pick<CsvText, 'bytes' | 'chunks'>, failed: boolean): Promise<void> {
  const done = (async () => {
    await text.bytes.close();
    await text.chunks.return(undefined).catch(() => undefined);
  })().catch(() => undefined);
  if (!failed) await done;
}
