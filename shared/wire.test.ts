import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame } from './wire';

describe('frame codec', () => {
  it('round-trips JSON, bigints and typed arrays without turning bytes into JSON', () => {
    const grid = new Uint32Array([1, 2, 3, 4294967295]);
    const f64 = new Float64Array([NaN, -0, Infinity, 1.5]);
    const bytes = new Uint8Array(1000).map((_, i) => i % 251);
    const msg = { t: 'result', id: 7, value: { grid, f64, nested: [{ bytes }], big: 9007199254740993n, s: 'é😀' } };
    const frame = encodeFrame(msg);
    // the bulk bytes are raw in the frame, not JSON numbers
    expect(frame.byteLength).toBeLessThan(1000 + 16 + 32 + 16 + 32 + 16 + 300);
    const back = decodeFrame(frame) as typeof msg;
    expect(back.value.grid).toBeInstanceOf(Uint32Array);
    expect(Array.from(back.value.grid)).toEqual([1, 2, 3, 4294967295]);
    expect(Object.is(back.value.f64[1], -0)).toBe(true);
    expect(Number.isNaN(back.value.f64[0])).toBe(true);
    expect(back.value.f64[2]).toBe(Infinity);
    expect(Array.from(back.value.nested[0].bytes)).toEqual(Array.from(bytes));
    expect(back.value.big).toBe(9007199254740993n);
    expect(back.value.s).toBe('é😀');
  });

  it('handles a view into a larger buffer and an odd-length buffer', () => {
    const big = new Uint8Array(64).map((_, i) => i);
    const view = big.subarray(3, 10);
    const back = decodeFrame(encodeFrame({ a: view, b: new Float32Array([1, 2]) })) as { a: Uint8Array; b: Float32Array };
    expect(Array.from(back.a)).toEqual([3, 4, 5, 6, 7, 8, 9]);
    expect(Array.from(back.b)).toEqual([1, 2]);
  });

  it('rejects truncated or foreign frames with an error instead of garbage', () => {
    const frame = encodeFrame({ a: new Uint8Array(100) });
    expect(() => decodeFrame(frame.subarray(0, frame.length - 50))).toThrow(/past the end/);
    expect(() => decodeFrame(new Uint8Array(16))).toThrow(/not a CDX frame/);
    expect(() => decodeFrame(new Uint8Array(3))).toThrow(/too short/);
  });
});
