// Tests of the CSV parser kernel itself (native/csv.ts CsvParser over native/src/csv.cc), fed
// bytes directly: a declared type that does not fit widens and the chunk is re-parsed in place, and
// chunking never changes the result (random CSV-like bytes in one chunk or many small ones; the
// parallel quote-parity split of a large buffer). Reading files — encodings, dialects, headers,
// typing, Arrow batches — is policy, tested in main/engine/sources/csv-read.test.ts.
import { describe, expect, it } from 'vitest';
import { CsvParser } from './csv';

describe('widening inside a chunk', () => {
  it('re-parses a chunk in place when a declared type does not fit', async () => {
    const p = new CsvParser({ path: 'mem', delimiter: ',', quote: '"', terminator: '\n', ncols: 2, mode: 'parse', types: ['int64', 'date'] });
    const r = await p.feed(Buffer.from('1,2020-01-01\n2,2020-01-02 10:00\n3.5,x\n'), true);
    expect(r.types).toEqual(['float64', 'string']);
    expect(r.widened.map((w) => [w.column, w.from, w.to, w.line])).toEqual([[0, 'int64', 'float64', 3], [1, 'date', 'string', 2]]);
    expect(Array.from(new Float64Array(r.columns![0]!.data))).toEqual([1, 2, 3.5]);
  });
});

describe('property: chunking never changes the result', () => {
  async function parseAll(text: Buffer, sizes: () => number): Promise<string> {
    const p = new CsvParser({ path: 'fuzz', delimiter: ',', quote: '"', terminator: '\n', ncols: 3, mode: 'parse', types: ['string', 'string', 'string'] });
    const out: string[] = [];
    const bad: string[] = [];
    let badCount = 0;
    const take = (r: Awaited<ReturnType<CsvParser['feed']>>) => {
      badCount += r.badCount;
      // the first 1000 bad rows of a feed are listed (all of them here unless a feed is large)
      for (let i = 0; i < r.bad.length && bad.length < 1000; i += 2) bad.push(`bad@${r.bad[i]}:${r.bad[i + 1]}`);
      if (!r.columns) return;
      for (let row = 0; row < r.rows; row++) {
        out.push(r.columns.map((c) => {
          if (c.validity && !(c.validity[row >> 3]! & (1 << (row & 7)))) return '∅';
          return Buffer.from(c.data).subarray(c.offsets![row]!, c.offsets![row + 1]!).toString('utf8');
        }).join('|'));
      }
    };
    let o = 0;
    while (o < text.length) {
      const n = Math.max(1, sizes());
      take(await p.feed(text.subarray(o, o + n), false));
      o += n;
    }
    take(await p.feed(new Uint8Array(0), true));
    return `${out.length} rows, ${badCount} bad\n` + out.join('\n') + '\n--\n' + bad.join('\n');
  }

  it('random CSV-like bytes parse identically in one chunk and in random small chunks', async () => {
    let seed = 99;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296);
    const alphabet = ['a', 'b', '1', ',', ',', '"', '"', '\n', '\r\n', ' ', 'é', 'NA', ''];
    for (let t = 0; t < 150; t++) {
      let s = '';
      const len = 20 + Math.floor(rnd() * 300);
      while (s.length < len) s += alphabet[Math.floor(rnd() * alphabet.length)];
      const text = Buffer.from(s);
      const whole = await parseAll(text, () => text.length);
      const pieces = await parseAll(text, () => 1 + Math.floor(rnd() * 17));
      expect(pieces, JSON.stringify(s)).toBe(whole);
    }
  });

  it('the parallel split of a large buffer (quote parity) equals serial parsing of small chunks', async () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296);
    const alphabet = ['abc', '12', ',', ',', '"', '\n', '\r\n', ' ', 'é', 'NA', '"x,\ny"', '""'];
    const parts: string[] = [];
    let n = 0;
    while (n < 3 << 20) { const a = alphabet[Math.floor(rnd() * alphabet.length)]!; parts.push(a); n += a.length; }
    const text = Buffer.from(parts.join(''));
    const whole = await parseAll(text, () => text.length);          // one 3 MiB buffer: 8 pieces
    const serial = await parseAll(text, () => 100_000);              // < 1 MiB feeds: one piece each
    expect(serial.slice(0, 40)).toBe(whole.slice(0, 40));
    expect(serial === whole).toBe(true);
  });
});
