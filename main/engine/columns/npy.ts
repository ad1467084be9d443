/**
 * NPY headers → native column descriptors, used in place. Parses the magic, version, header
 * dict (descr, fortran_order, shape) and the data offset; maps numpy dtypes (either byte order) to
 * native types (bool '?' as uint8 with logical bool8; datetime64 as int64 with its unit). Refuses
 * object and structured dtypes (E_BAD_TYPE) and a header declaring more data than the file holds
 * (E_TRUNCATED). A hostile header fails fast with E_TOO_LARGE naming the field: more than
 * NPY_MAX_DIMS dimensions, a shape entry or element count past 2^53, or a 2-D array of more than
 * NPY_MAX_COLUMNS columns (each would be a column descriptor: `(0, 1000000000)` in a 128-byte
 * file declares no data at all).
 */
import type { ColumnDesc, FileArg, LogicalType, NumericDType } from '../../../native/index';
import { readAt, withFile } from './io';
import { CdxError, type ErrorCode } from '../../../shared/errors';

export interface NpyHeader {
  path: string;
  /** numpy descr as written, e.g. "<f8" */
  descr: string;
  dtype: NumericDType;
  littleEndian: boolean;
  itemSize: number;
  shape: number[];
  fortranOrder: boolean;
  /** byte offset of the first element */
  dataOffset: number;
  /** elements (product of shape) */
  count: number;
  logical?: LogicalType;
  fileSize: number;
}

const KIND: Record<string, Record<number, NumericDType>> = {
  i: { 1: 'int8', 2: 'int16', 4: 'int32', 8: 'int64' },
  u: { 1: 'uint8', 2: 'uint16', 4: 'uint32', 8: 'uint64' },
  f: { 4: 'float32', 8: 'float64' },
  b: { 1: 'uint8' },
  M: { 8: 'int64' },
  m: { 8: 'int64' },
};

/** The most dimensions a header may declare (numpy 2's NPY_MAXDIMS). */
export const NPY_MAX_DIMS = 64;
/** The most columns a 2-D array may have (as the NPY and HDF5 sources: wider is not a table). */
export const NPY_MAX_COLUMNS = 100_000;

const DT_UNITS: Record<string, 's' | 'ms' | 'us' | 'ns'> = { s: 's', ms: 'ms', us: 'us', ns: 'ns' };

/** Parses the header of an .npy file (reads only the header). */
export function readNpyHeader(path: string): NpyHeader {
  return withFile(path, (fd, size) => parseNpyHeader(path, readAt(fd, 0, Math.min(size, 65536 + 12)), size));
}

export function parseNpyHeader(path: string, head: Uint8Array, fileSize: number): NpyHeader {
  const fail = (code: ErrorCode, msg: string): never => {
    throw CdxError.file(code, path, msg);
  };
  if (head.length < 10 || head[0] !== 0x93 || String.fromCharCode(...head.subarray(1, 6)) !== 'NUMPY')
    fail(head.length < 10 ? 'E_TRUNCATED' : 'E_BAD_FORMAT', 'not an NPY file (magic \\x93NUMPY missing)');
  const major = head[6]!;
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  let hlen: number, start: number;
  if (major === 1) {
    hlen = dv.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (head.length < 12) fail('E_TRUNCATED', 'NPY header cut short');
    hlen = dv.getUint32(8, true);
    start = 12;
  } else {
    return fail('E_BAD_FORMAT', `unsupported NPY version ${major}`);
  }
  if (start + hlen > head.length) fail(start + hlen > fileSize ? 'E_TRUNCATED' : 'E_BAD_FORMAT', `NPY header of ${hlen} bytes does not fit`);
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(head.subarray(start, start + hlen));
  const descrM = /['"]descr['"]\s*:\s*(['"])([^'"]*)\1/.exec(text);
  if (!descrM) {
    if (/['"]descr['"]\s*:\s*\[/.test(text)) fail('E_BAD_TYPE', 'structured dtypes are not supported');
    fail('E_BAD_FORMAT', 'NPY header has no descr');
  }
  const descr = descrM![2]!;
  const fo = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(text);
  const sh = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(text);
  if (!fo || !sh) fail('E_BAD_FORMAT', 'NPY header lacks fortran_order or shape');
  const entries = sh![1]!
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (entries.length > NPY_MAX_DIMS) fail('E_TOO_LARGE', `header field 'shape' declares ${entries.length} dimensions; at most ${NPY_MAX_DIMS} are read`);
  const shape = entries.map((s) => {
    if (!/^\d+L?$/.test(s)) fail('E_BAD_FORMAT', `bad shape entry "${s}"`);
    const v = Number(s.replace('L', ''));
    if (!Number.isSafeInteger(v)) fail('E_TOO_LARGE', `header field 'shape' has an entry of ${s.length} digits (${s.slice(0, 24)}${s.length > 24 ? '…' : ''})`);
    return v;
  });
  if (shape.length === 2 && shape[1]! > NPY_MAX_COLUMNS)
    fail('E_TOO_LARGE', `header field 'shape' (${shape.join(', ')}) declares ${shape[1]} columns; at most ${NPY_MAX_COLUMNS} are read`);
  const dm = /^([<>|=])?([a-zA-Z?])(\d+)?(?:\[(\w+)\])?$/.exec(descr);
  if (!dm) return fail('E_BAD_TYPE', `unsupported dtype "${descr}"`);
  const order = dm[1] ?? '=';
  let kind = dm[2]!;
  let size = dm[3] ? Number(dm[3]) : 0;
  if (kind === 'O') fail('E_BAD_TYPE', 'object arrays (dtype O) cannot be read safely');
  if (kind === '?') { kind = 'b'; size = 1; }
  const dtype = KIND[kind]?.[size];
  if (!dtype) fail('E_BAD_TYPE', `unsupported dtype "${descr}"`);
  let logical: LogicalType | undefined;
  if (kind === 'b') logical = { type: 'bool8' };
  if (kind === 'M') {
    const u = dm[4] ?? '';
    if (u === 'D') logical = { type: 'date', unit: 'day' };
    else if (DT_UNITS[u]) logical = { type: 'timestamp', unit: DT_UNITS[u]! };
    else fail('E_BAD_TYPE', `unsupported datetime unit in "${descr}"`);
  }
  const littleEndian = order === '<' || order === '|' || (order === '=' && new Uint8Array(new Uint16Array([1]).buffer)[0] === 1);
  let count = 1;
  for (const d of shape) {
    count *= d;
    if (!Number.isSafeInteger(count)) fail('E_TOO_LARGE', `header field 'shape' (${shape.join(', ')}) declares more than 2^53 elements`);
  }
  const dataOffset = start + hlen;
  const need = count * size;
  if (!Number.isSafeInteger(need)) fail('E_TOO_LARGE', `header field 'shape' (${shape.join(', ')}) of ${descr} declares more than 2^53 bytes`);
  if (dataOffset + need > fileSize)
    fail('E_TRUNCATED', `header declares ${need} bytes of data (shape ${JSON.stringify(shape)}, ${descr}) but the file holds ${Math.max(0, fileSize - dataOffset)}`);
  return { path, descr, dtype: dtype!, littleEndian, itemSize: size, shape, fortranOrder: fo![1] === 'True', dataOffset, count, logical, fileSize };
}

/**
 * Native column descriptors for an NPY array: one column for 1-D (and 0-D) arrays; one per column
 * of a Fortran-ordered 2-D array (contiguous). C-ordered 2-D arrays are strided: E_UNSUPPORTED_LAYOUT.
 */
export function npyColumns(h: NpyHeader, file: FileArg = h.path, name = 'value'): ColumnDesc[] {
  const col = (n: string, offset: number, rows: number): ColumnDesc => ({
    name: n,
    file,
    kind: 'numeric',
    dtype: h.dtype,
    littleEndian: h.littleEndian,
    chunks: [{ rows, data: { offset, length: rows * h.itemSize }, nullCount: 0 }],
    ...(h.logical ? { logical: h.logical } : {}),
  });
  if (h.shape.length <= 1) return [col(name, h.dataOffset, h.count)];
  if (h.shape.length === 2 && (h.fortranOrder || h.shape[1] === 1)) {
    const [rows, k] = h.shape as [number, number];
    return Array.from({ length: k }, (_, j) => col(`${name}${j}`, h.dataOffset + j * rows * h.itemSize, rows));
  }
  throw CdxError.file('E_UNSUPPORTED_LAYOUT', h.path, `a ${h.fortranOrder ? 'Fortran' : 'C'}-ordered array of shape ${JSON.stringify(h.shape)} has strided columns; convert it through the cache`);
}
