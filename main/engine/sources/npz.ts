/**
 * NPZ reader: a zip archive of NPY arrays (numpy.savez / savez_compressed); each `name.npy`
 * member is a dataset addressed as `file.npz::name`.
 *
 * The zip central directory (with Zip64) is parsed here: it is small, and the well-kept zip
 * readers either buffer whole archives or bring their own stream stack. Stored members are read
 * in place through a byte window on the archive. Deflated members are inflated once, streaming
 * (node:zlib inflateRaw), into a temporary file that is deleted on close, so memory stays bounded;
 * listing only inflates the first few kilobytes of each member to read its NPY header. Every
 * offset and size in the directory is checked against the archive's real size, and inflation
 * stops at the member's declared size.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { createInflateRaw } from 'node:zlib';
import { BoundedFile } from './common';
import { NpySource, readNpyHeader, type ByteSource } from './npy';
import { SourceError, type InnerDataset, type Source, type SourceProvider } from './types';

interface ZipEntry {
  name: string;
  method: number; // 0 stored, 8 deflated
  compressedSize: number;
  size: number;
  localOffset: number;
  flags: number;
}

const MAX_ENTRIES = 100_000;

async function readDirectory(f: BoundedFile): Promise<ZipEntry[]> {
  const tailLen = Math.min(f.size, 65557);
  const tail = await f.read(f.size - tailLen, tailLen, 'zip end record');
  const dv = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (dv.getUint32(i, true) === 0x06054b50) { eocd = i; break; }
  }
  if (eocd < 0) throw new SourceError('E_CORRUPT', f.path, 'not a complete zip archive (no end-of-central-directory record; truncated?)');
  let count = dv.getUint16(eocd + 10, true);
  let cdSize = dv.getUint32(eocd + 12, true);
  let cdOffset = dv.getUint32(eocd + 16, true);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    // Zip64: locator just before the end record
    const loc = eocd - 20;
    if (loc < 0 || dv.getUint32(loc, true) !== 0x07064b50) throw new SourceError('E_CORRUPT', f.path, 'Zip64 locator missing');
    const recOff = Number(dv.getBigUint64(loc + 8, true));
    const rec = await f.read(recOff, 56, 'Zip64 end record');
    const rv = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
    if (rv.getUint32(0, true) !== 0x06064b50) throw new SourceError('E_CORRUPT', f.path, 'Zip64 end record missing');
    count = Number(rv.getBigUint64(32, true));
    cdSize = Number(rv.getBigUint64(40, true));
    cdOffset = Number(rv.getBigUint64(48, true));
  }
  if (count > MAX_ENTRIES) throw new SourceError('E_CORRUPT', f.path, `zip declares ${count} entries`);
  const cd = await f.read(cdOffset, cdSize, 'zip central directory');
  const cv = new DataView(cd.buffer, cd.byteOffset, cd.byteLength);
  const entries: ZipEntry[] = [];
  let p = 0;
  for (let k = 0; k < count; k++) {
    if (p + 46 > cd.length || cv.getUint32(p, true) !== 0x02014b50) throw new SourceError('E_CORRUPT', f.path, 'zip central directory is malformed');
    const flags = cv.getUint16(p + 8, true);
    const method = cv.getUint16(p + 10, true);
    let compressedSize = cv.getUint32(p + 20, true);
    let size = cv.getUint32(p + 24, true);
    const nameLen = cv.getUint16(p + 28, true);
    const extraLen = cv.getUint16(p + 30, true);
    const commentLen = cv.getUint16(p + 32, true);
    let localOffset = cv.getUint32(p + 42, true);
    if (p + 46 + nameLen + extraLen + commentLen > cd.length) throw new SourceError('E_CORRUPT', f.path, 'zip central directory entry runs past its end');
    const name = new TextDecoder(flags & 0x800 ? 'utf-8' : 'latin1').decode(cd.subarray(p + 46, p + 46 + nameLen));
    // Zip64 extra field
    let e = p + 46 + nameLen;
    const eEnd = e + extraLen;
    while (e + 4 <= eEnd) {
      const id = cv.getUint16(e, true);
      const len = cv.getUint16(e + 2, true);
      if (id === 0x0001) {
        let q = e + 4;
        const next = () => { const v = q + 8 <= e + 4 + len ? Number(cv.getBigUint64(q, true)) : NaN; q += 8; return v; };
        if (size === 0xffffffff) size = next();
        if (compressedSize === 0xffffffff) compressedSize = next();
        if (localOffset === 0xffffffff) localOffset = next();
      }
      e += 4 + len;
    }
    if (![size, compressedSize, localOffset].every((v) => Number.isSafeInteger(v) && v >= 0) || localOffset + compressedSize > f.size) {
      throw new SourceError('E_CORRUPT', f.path, `zip member ${JSON.stringify(name)} declares data beyond the end of the archive`);
    }
    entries.push({ name, method, compressedSize, size, localOffset, flags });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

async function dataStart(f: BoundedFile, e: ZipEntry): Promise<number> {
  const lh = await f.read(e.localOffset, 30, 'zip local header');
  const lv = new DataView(lh.buffer, lh.byteOffset, lh.byteLength);
  if (lv.getUint32(0, true) !== 0x04034b50) throw new SourceError('E_CORRUPT', f.path, `zip member ${e.name}: bad local header`);
  const start = e.localOffset + 30 + lv.getUint16(26, true) + lv.getUint16(28, true);
  if (start + e.compressedSize > f.size) throw new SourceError('E_TRUNCATED', f.path, `zip member ${e.name} runs past the end of the archive`);
  return start;
}

const arrayName = (n: string) => n.replace(/\.npy$/, '');

function checkMember(f: BoundedFile, e: ZipEntry): void {
  if (e.flags & 1) throw new SourceError('E_ENCRYPTED', f.path, `zip member ${e.name} is encrypted`);
  if (e.method !== 0 && e.method !== 8) throw new SourceError('E_UNSUPPORTED', f.path, `zip member ${e.name} uses compression method ${e.method} (only stored and deflate are supported)`);
}

/** A window onto a stored member. */
function windowSource(f: BoundedFile, start: number, size: number, owns: boolean): ByteSource {
  return {
    size,
    read: (pos, len, what) => {
      if (pos < 0 || len < 0 || pos + len > size) {
        return Promise.reject(new SourceError('E_TRUNCATED', f.path, `${what ?? 'data'} lies beyond the end of the member`));
      }
      return f.read(start + pos, len, what);
    },
    close: () => (owns ? f.close() : Promise.resolve()),
  };
}

/** Inflate a deflated member to `out` (or only its first `limit` bytes into memory). */
async function inflateMember(f: BoundedFile, e: ZipEntry, start: number, out?: string, limit?: number): Promise<Uint8Array | undefined> {
  const input = createReadStream(f.path, { start, end: start + e.compressedSize - 1 });
  const inflate = createInflateRaw();
  let total = 0;
  const chunks: Buffer[] = [];
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      total += chunk.length;
      if (total > e.size) { cb(new SourceError('E_CORRUPT', f.path, `zip member ${e.name} inflates to more than its declared ${e.size} bytes`)); return; }
      if (limit !== undefined) {
        chunks.push(chunk);
        if (total >= limit) { cb(new Error('__enough__')); return; }
        cb();
        return;
      }
      cb(null, chunk);
    },
  });
  try {
    if (out) await pipeline(input, inflate, counter, createWriteStream(out));
    else await pipeline(input, inflate, counter);
  } catch (err) {
    if ((err as Error).message !== '__enough__') {
      if (err instanceof SourceError) throw err;
      throw new SourceError('E_CORRUPT', f.path, `zip member ${e.name} cannot be inflated: ${(err as Error).message}`);
    }
  }
  if (limit !== undefined) return new Uint8Array(Buffer.concat(chunks));
  if (total !== e.size) throw new SourceError('E_TRUNCATED', f.path, `zip member ${e.name} inflates to ${total} bytes, not the declared ${e.size}`);
  return undefined;
}

async function headSource(f: BoundedFile, e: ZipEntry): Promise<ByteSource> {
  checkMember(f, e);
  const start = await dataStart(f, e);
  if (e.method === 0) return windowSource(f, start, e.compressedSize, false);
  const head = await inflateMember(f, e, start, undefined, 1 << 16);
  const bytes = head!;
  // sizes come from the directory; only the header part is held
  return {
    size: e.size,
    read: async (pos, len, what) => {
      if (pos + len > bytes.length) throw new SourceError('E_TRUNCATED', f.path, `${what ?? 'data'} lies beyond the end of the member`);
      return bytes.slice(pos, pos + len);
    },
    close: async () => undefined,
  };
}

export async function listNpz(path: string): Promise<InnerDataset[]> {
  const f = await BoundedFile.open(path);
  try {
    const entries = (await readDirectory(f)).filter((e) => e.name.endsWith('.npy'));
    const out: InnerDataset[] = [];
    for (const e of entries) {
      try {
        const src = await headSource(f, e);
        const h = await readNpyHeader(src, `${path}::${arrayName(e.name)}`);
        out.push({ inner: arrayName(e.name), kind: 'array', rows: h.rows, shape: h.shape, dtype: h.descr });
      } catch (err) {
        out.push({ inner: arrayName(e.name), kind: 'array', dtype: `unreadable: ${(err as Error).message}` });
      }
    }
    return out;
  } finally {
    await f.close();
  }
}

export async function openNpz(path: string, inner?: string): Promise<Source> {
  const f = await BoundedFile.open(path);
  let tmp: string | undefined;
  try {
    const entries = (await readDirectory(f)).filter((e) => e.name.endsWith('.npy'));
    if (entries.length === 0) throw new SourceError('E_EMPTY', path, 'the NPZ archive holds no arrays');
    let e: ZipEntry | undefined;
    if (inner === undefined) {
      if (entries.length > 1) {
        throw new SourceError('E_NEED_INNER', path, `the archive holds ${entries.length} arrays; open one as ${path}::NAME (${entries.slice(0, 5).map((x) => arrayName(x.name)).join(', ')}${entries.length > 5 ? ', …' : ''})`);
      }
      e = entries[0];
    } else {
      e = entries.find((x) => arrayName(x.name) === inner || x.name === inner);
      if (!e) throw new SourceError('E_NO_INNER', path, `no array named ${JSON.stringify(inner)} in the archive`);
    }
    checkMember(f, e);
    const start = await dataStart(f, e);
    const label = `${path}::${arrayName(e.name)}`;
    let src: ByteSource;
    if (e.method === 0) {
      src = windowSource(f, start, e.compressedSize, true);
    } else {
      // check the header (and so the declared shape) before inflating anything large
      await readNpyHeader(await headSource(f, e), label);
      tmp = await mkdtemp(join(tmpdir(), 'cdx-npz-'));
      const out = join(tmp, 'member.npy');
      await inflateMember(f, e, start, out);
      await f.close();
      const g = await BoundedFile.open(out);
      const dir = tmp;
      src = { size: g.size, read: (p, l, w) => g.read(p, l, w), close: async () => { await g.close(); await rm(dir, { recursive: true, force: true }); } };
    }
    const h = await readNpyHeader(src, label);
    return new NpySource(src, path, h, 'npz', arrayName(e.name), false);
  } catch (err) {
    await f.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

export const npzProvider: SourceProvider = {
  format: 'npz',
  extensions: ['npz'],
  // a zip named .npz, or whose first member is an .npy
  sniff: (head: Uint8Array, path: string) => {
    if (head.length < 4 || head[0] !== 0x50 || head[1] !== 0x4b || !(head[2] === 3 || head[2] === 5)) return false;
    if (/\.npz$/i.test(path)) return true;
    if (head[2] !== 3 || head.length < 30) return false;
    const n = head[26] | (head[27] << 8);
    return head.length >= 30 + n && /\.npy$/.test(new TextDecoder('latin1').decode(head.subarray(30, 30 + n)));
  },
  list: listNpz,
  open: openNpz,
};
