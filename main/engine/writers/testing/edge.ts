/**
 * Test fixtures for the writers: a table of edge values (int64 beyond 2^53 and at its limits,
 * uint64 above 2^63, NaN/±Inf/-0.0, NFC and NFD text, emoji, quotes, line breaks, codes with
 * leading zeros, dates before 1970 and at year 1/9999, timestamps in µs with a zone and in ns,
 * decimals at full precision, nulls), generated from a seed, with the ground truth kept as plain
 * JS values so each independent reader's output can be checked against it.
 */
import { writeFileSync } from 'node:fs';
import {
  Bool, DateDay, Decimal, Field, Float64, Int64, RecordBatch, Schema, Struct, TimeUnit, Timestamp, Uint64, Utf8,
  makeData, tableToIPC, Table, vectorFromArray,
} from 'apache-arrow';
import { rng } from '../../sources/testing/util';

export interface EdgeTruth {
  i64: (bigint | null)[];
  u64: (bigint | null)[];
  f64: (number | null)[];
  b: (boolean | null)[];
  s: (string | null)[];
  /** days since 1970-01-01 */
  d: (number | null)[];
  /** µs since the epoch, UTC */
  ts: (bigint | null)[];
  /** ns since the epoch, no zone */
  tsn: (bigint | null)[];
  /** unscaled decimal(20, 4) */
  dec: (bigint | null)[];
}

export const EDGE_COLUMNS = ['i64', 'u64', 'f64', 'b', 's', 'd', 'ts', 'tsn', 'dec'] as const;

const pools = {
  i64: [0n, 1n, -1n, 2n ** 53n + 1n, -(2n ** 53n) - 1n, 2n ** 63n - 1n, -(2n ** 63n), 123456789012345678n],
  u64: [0n, 2n ** 64n - 1n, 2n ** 63n, 2n ** 53n + 1n, 42n],
  f64: [0, -0, NaN, Infinity, -Infinity, 0.1, 1e-300, 1.7976931348623157e308, 5e-324, -2.5, 1 / 3],
  b: [true, false],
  s: ['', 'plain', 'a,b', 'say "hi"', 'line1\nline2', 'cr\r\nlf', '\u00e9', 'e\u0301', '\u{1F600}\u{1F44D}\u{1F3FD}', '007', '  padded  ', 'NA', 'tab\there', '\u4e2d\u6587'],
  d: [0, -1, 19724, -719162, 2932896],
  ts: [0n, -1n, 1704164645123456n, 253402300799999999n, -62135596800000000n],
  tsn: [0n, 1n, -1n, 1704164645123456789n, 9223372036854775000n], // DuckDB reserves the int64 limits for ±infinity
  dec: [0n, 1n, -1n, 10n ** 20n - 1n, -(10n ** 19n) + 7n, 12345678n],
};

/** `rows` rows: every pool value first (in order), then random picks; about 10% nulls after the first rows. */
export function edgeTruth(rows: number, seed = 1): EdgeTruth {
  const r = rng(seed);
  const t: any = {};
  for (const c of EDGE_COLUMNS) {
    const pool = (pools as any)[c] as unknown[];
    const col: unknown[] = [];
    for (let i = 0; i < rows; i++) {
      if (i < pool.length) col.push(pool[i]);
      else if (i < 16) col.push(i === 15 ? null : pool[i % pool.length]);
      else if (r() < 0.1) col.push(null);
      else if (c === 'i64' && r() < 0.5) col.push(BigInt(Math.floor((r() - 0.5) * 2 ** 52)) * 4099n);
      else if (c === 'f64' && r() < 0.5) col.push((r() - 0.5) * 10 ** Math.floor(r() * 40 - 20));
      else if (c === 's' && r() < 0.3) col.push(String.fromCodePoint(...Array.from({ length: Math.floor(r() * 6) }, () => [0x22, 0x2c, 0x0a, 0x41, 0xe9, 0x1f600, 0x30][Math.floor(r() * 7)])));
      else col.push(pool[Math.floor(r() * pool.length)]);
    }
    t[c] = col;
  }
  return t as EdgeTruth;
}

function validity(v: unknown[]): { nullBitmap?: Uint8Array; nullCount: number } {
  const nulls = v.filter((x) => x === null).length;
  if (!nulls) return { nullCount: 0 };
  const bm = new Uint8Array((v.length + 7) >> 3);
  v.forEach((x, i) => {
    if (x !== null) bm[i >> 3] |= 1 << (i & 7);
  });
  return { nullBitmap: bm, nullCount: nulls };
}

/** The truth as one Arrow record batch with the exact types. */
export function edgeBatch(t: EdgeTruth): RecordBatch {
  const n = t.i64.length;
  const decWords = new Uint32Array(n * 4);
  t.dec.forEach((v, i) => {
    let x = BigInt.asUintN(128, v ?? 0n);
    for (let w = 0; w < 4; w++) {
      decWords[i * 4 + w] = Number(x & 0xffffffffn);
      x >>= 32n;
    }
  });
  const fields = [
    new Field('i64', new Int64(), true), new Field('u64', new Uint64(), true), new Field('f64', new Float64(), true),
    new Field('b', new Bool(), true), new Field('s', new Utf8(), true), new Field('d', new DateDay(), true),
    new Field('ts', new Timestamp(TimeUnit.MICROSECOND, 'UTC'), true), new Field('tsn', new Timestamp(TimeUnit.NANOSECOND), true),
    new Field('dec', new Decimal(4, 20, 128), true),
  ];
  const cols = [
    makeData({ type: new Int64(), length: n, ...validity(t.i64), data: BigInt64Array.from(t.i64, (x) => x ?? 0n) }),
    makeData({ type: new Uint64(), length: n, ...validity(t.u64), data: BigUint64Array.from(t.u64, (x) => x ?? 0n) }),
    makeData({ type: new Float64(), length: n, ...validity(t.f64), data: Float64Array.from(t.f64, (x) => x ?? 0) }),
    vectorFromArray(t.b, new Bool()).data[0],
    vectorFromArray(t.s, new Utf8()).data[0],
    makeData({ type: new DateDay(), length: n, ...validity(t.d), data: Int32Array.from(t.d, (x) => x ?? 0) }),
    makeData({ type: fields[6].type as Timestamp, length: n, ...validity(t.ts), data: BigInt64Array.from(t.ts, (x) => x ?? 0n) }),
    makeData({ type: fields[7].type as Timestamp, length: n, ...validity(t.tsn), data: BigInt64Array.from(t.tsn, (x) => x ?? 0n) }),
    makeData({ type: new Decimal(4, 20, 128), length: n, ...validity(t.dec), data: decWords }),
  ];
  const schema = new Schema(fields);
  return new RecordBatch(schema, makeData({ type: new Struct(fields), length: n, nullCount: 0, children: cols as any }));
}

/** Writes the truth as an Arrow IPC stream (split into batches of `batchRows`). */
export function writeEdgeArrow(path: string, t: EdgeTruth, batchRows = 64): void {
  const b = edgeBatch(t);
  const parts: RecordBatch[] = [];
  for (let i = 0; i < b.numRows; i += batchRows) parts.push(b.slice(i, Math.min(b.numRows, i + batchRows)));
  writeFileSync(path, tableToIPC(new Table(parts), 'stream'));
}

/** Decimal(…, 4) text as DuckDB prints it. */
export function dec4(u: bigint): string {
  const neg = u < 0n;
  const s = (neg ? -u : u).toString().padStart(5, '0');
  return `${neg ? '-' : ''}${s.slice(0, -4)}.${s.slice(-4)}`;
}
