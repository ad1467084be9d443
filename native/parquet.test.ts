/**
 * The native Parquet encoder's wrapper: the Parquet schema chosen per Arrow type (what arrow-rs
 * records, so files read the same whichever encoder wrote them), the embedded Arrow schema, the
 * raw addon's argument checks and its one-call-at-a-time rule. Values read back by independent
 * readers are tested in main/engine/writers/parquet-native.test.ts.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Binary, Bool, DateDay, DateMillisecond, Decimal, Dictionary, Field, Float16, Float32, Float64, Int16, Int32, Int64, Int8,
  LargeUtf8, List, RecordBatch, Schema, Struct, TimeUnit, Timestamp, Uint32, Uint64, Uint8, Utf8, makeData, tableFromIPC,
} from 'apache-arrow';
import { loadNative } from './binding';
import { NativeParquetWriter, arrowSchemaMetadata, nativeParquetInfo, parquetColumnOf, parquetPlan } from './parquet';

const dir = mkdtempSync(join(tmpdir(), 'cdx-pq-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const info = nativeParquetInfo();

describe('Parquet schema of each Arrow type (as arrow-rs records it)', () => {
  const of = (t: any, nullable = true) => parquetColumnOf('c', t, nullable);
  it('integers: physical INT32/INT64, INT_8/16 and UINT_* annotations, int32/int64 bare', () => {
    expect(of(new Int8())).toMatchObject({ input: 'int8', physical: 1, converted: 15, logical: 'int', bitWidth: 8, signed: true });
    expect(of(new Int16())).toMatchObject({ input: 'int16', physical: 1, converted: 16, logical: 'int', bitWidth: 16 });
    expect(of(new Int32())).toMatchObject({ input: 'int32', physical: 1, converted: -1, logical: '' });
    expect(of(new Int64())).toMatchObject({ input: 'int64', physical: 2, converted: -1, logical: '' });
    expect(of(new Uint8())).toMatchObject({ input: 'uint8', physical: 1, converted: 11, logical: 'int', bitWidth: 8, signed: false });
    expect(of(new Uint32())).toMatchObject({ input: 'uint32', physical: 1, converted: 13, bitWidth: 32, signed: false });
    expect(of(new Uint64())).toMatchObject({ input: 'uint64', physical: 2, converted: 14, bitWidth: 64, signed: false });
  });
  it('floats, bool, strings, dates, timestamps', () => {
    expect(of(new Float32())).toMatchObject({ physical: 4 });
    expect(of(new Float64())).toMatchObject({ physical: 5 });
    expect(of(new Bool())).toMatchObject({ physical: 0, input: 'bool' });
    expect(of(new Utf8())).toMatchObject({ physical: 6, converted: 0, logical: 'string', input: 'utf8' });
    expect(of(new LargeUtf8())).toMatchObject({ physical: 6, converted: 0, logical: 'string', input: 'large_utf8' });
    expect(of(new DateDay())).toMatchObject({ physical: 1, converted: 6, logical: 'date', input: 'int32' });
    expect(of(new DateMillisecond())).toMatchObject({ physical: 1, converted: 6, logical: 'date', input: 'date64' });
    expect(of(new Timestamp(TimeUnit.SECOND))).toMatchObject({ physical: 2, converted: -1, logical: '' });
    expect(of(new Timestamp(TimeUnit.MILLISECOND, 'Asia/Tokyo'))).toMatchObject({ converted: 9, logical: 'timestamp', unit: 'ms', utc: true });
    expect(of(new Timestamp(TimeUnit.MICROSECOND))).toMatchObject({ converted: 10, logical: 'timestamp', unit: 'us', utc: false });
    expect(of(new Timestamp(TimeUnit.NANOSECOND, 'UTC'))).toMatchObject({ converted: -1, logical: 'timestamp', unit: 'ns', utc: true });
  });
  it('nullability, and the types left to parquet-wasm', () => {
    expect(of(new Int32(), false)).toMatchObject({ nullable: false });
    for (const t of [new Float16(), new Decimal(4, 20, 128), new Binary(), new Dictionary(new Utf8(), new Int32()), new List(new Field('x', new Int32()))]) {
      expect(typeof of(t), String(t)).toBe('string');
    }
    const plan = parquetPlan(new Schema([new Field('a', new Int32()), new Field('d', new Decimal(2, 10, 128))]));
    expect(plan).toEqual({ unsupported: expect.stringContaining('column "d"') });
  });
  it('the embedded Arrow schema is the IPC schema message, readable by apache-arrow', () => {
    const s = new Schema([new Field('t', new Timestamp(TimeUnit.MILLISECOND, 'Europe/Paris'), true), new Field('u', new Uint64(), false)]);
    const b = Buffer.from(arrowSchemaMetadata(s), 'base64');
    expect(b.readUInt32LE(0)).toBe(0xffffffff);
    expect(b.length).toBe(8 + b.readInt32LE(4));
    // a stream of this message alone (+ end marker) is a valid Arrow stream with the same schema
    const t = tableFromIPC(Buffer.concat([b, Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0])]));
    expect(t.schema.fields.map((f) => `${f.name}:${f.type}:${f.nullable}`)).toEqual(['t:Timestamp<MILLISECOND, Europe/Paris>:true', 'u:Uint64:false']);
  });
});

describe.skipIf(!info.available)('raw addon', () => {
  const schema = new Schema([new Field('x', new Int64(), true)]);
  const batch = (n: number) => new RecordBatch(schema, makeData({
    type: new Struct(schema.fields), length: n, nullCount: 0,
    children: [makeData({ type: new Int64(), length: n, nullCount: 0, data: BigInt64Array.from({ length: n }, (_, i) => BigInt(i)) })],
  }));

  it('reports zstd when built with libzstd', () => {
    expect(typeof info.zstd).toBe('boolean');
    if (info.zstd) expect(info.zstdVersion).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('refuses bad arguments with E_BAD_ARG / E_BAD_TYPE, and a codec it does not write with E_UNSUPPORTED', async () => {
    const a = loadNative();
    expect(() => a.parquetOpen(join(dir, 'a.parquet'), { codec: 'snappy', columns: [] })).toThrow(expect.objectContaining({ code: 'E_UNSUPPORTED' }));
    expect(() => a.parquetOpen(join(dir, 'b.parquet'), { codec: 'none', columns: [{ name: 'x', input: 'utf8', physical: 1 }] }))
      .toThrow(expect.objectContaining({ code: 'E_BAD_TYPE' }));
    const h = a.parquetOpen(join(dir, 'c.parquet'), { codec: 'none', columns: [{ name: 'x', input: 'int64', physical: 2 }] });
    await expect(a.parquetWrite(h, [{ values: new BigInt64Array(2) }], 3, false)).rejects.toMatchObject({ code: 'E_BAD_ARG', message: expect.stringMatching(/c\.parquet: column x: values shorter/) });
    await expect(a.parquetWrite(h, [], 0, false)).rejects.toMatchObject({ code: 'E_BAD_ARG' });
    a.parquetClose(h);
    await expect(a.parquetWrite(h, [{ values: new BigInt64Array(2) }], 2, false)).rejects.toMatchObject({ code: 'E_CLOSED' });
  });

  it('one call at a time per writer (E_BUSY), and the batch buffers may be dropped by JS while encoding', async () => {
    const a = loadNative();
    const path = join(dir, 'busy.parquet');
    const h = a.parquetOpen(path, { codec: 'none', columns: [{ name: 'x', input: 'int64', physical: 2 }] });
    const n = 2_000_000;
    const p1 = a.parquetWrite(h, [{ values: BigInt64Array.from({ length: n }, (_, i) => BigInt(i)) }], n, false);
    const p2 = a.parquetWrite(h, [{ values: new BigInt64Array(1) }], 1, false);
    await expect(p2).rejects.toMatchObject({ code: 'E_BUSY' });
    (globalThis as any).gc?.();
    await expect(p1).resolves.toMatchObject({ rows: n });
    await expect(a.parquetFinish(h)).resolves.toMatchObject({ rows: n, rowGroups: 1 });
    const bytes = readFileSync(path);
    expect(bytes.subarray(0, 4).toString()).toBe('PAR1');
    expect(bytes.subarray(-4).toString()).toBe('PAR1');
    await expect(a.parquetFinish(h)).rejects.toMatchObject({ code: 'E_CLOSED' });
  });

  it('reads a view at a byte offset, also over a SharedArrayBuffer', async () => {
    const a = loadNative();
    const path = join(dir, 'sab.parquet');
    const h = a.parquetOpen(path, { codec: 'none', columns: [{ name: 'x', input: 'int32', physical: 1 }] });
    const v = new Int32Array(new SharedArrayBuffer(40), 4, 5);
    v.set([1, -2, 3, 2147483647, -2147483648]);
    await a.parquetWrite(h, [{ values: v }], 5, true);
    await a.parquetFinish(h);
    const pw = await import('parquet-wasm');
    const t = tableFromIPC(pw.readParquet(readFileSync(path)).intoIPCStream());
    expect([...t.getChild('x')!.toArray()]).toEqual([1, -2, 3, 2147483647, -2147483648]);
  });

  it('NativeParquetWriter: a write after a failure rejects with the first error; abort closes', async () => {
    const path = join(dir, 'w.parquet');
    const w = NativeParquetWriter.open(path, schema, { codec: 'none', rowGroupRows: 3 });
    await w.write(batch(10));
    const bad = new RecordBatch(new Schema([new Field('x', new Int64(), true), new Field('y', new Int64(), true)]), makeData({
      type: new Struct([new Field('x', new Int64(), true), new Field('y', new Int64(), true)]), length: 0, nullCount: 0,
      children: [makeData({ type: new Int64(), length: 0 }), makeData({ type: new Int64(), length: 0 })],
    }));
    await expect(w.write(bad)).rejects.toMatchObject({ code: 'E_BAD_ARG' });
    const r = await w.finish();
    expect(r).toMatchObject({ rows: 10, rowGroups: 4 });
    await w.abort();
  });
});
