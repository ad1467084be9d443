// Tests of the direct CSV -> Arrow IPC ingest (csv-ingest.ts ingestCsv over native/src/csv_ingest.cc): the file
// apache-arrow reads back holds DuckDB's values for the same text, whatever the window size
// (quoted newlines across window edges) and batch size; buffers are 64-byte aligned; widening,
// bad rows, strict mode, encodings; a cancel or a file truncated while it is read leaves nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { tableFromIPC, type Table } from 'apache-arrow';
import { Footer } from 'apache-arrow/ipc/metadata/file';
import { Message } from 'apache-arrow/ipc/metadata/message';
import { ingestCsv, type IngestCsvOptions } from './csv-ingest';
import type { CsvInfo, CsvWarning } from './csv-read';
import { duck, duckRows, expectSameRows, sq, type Cell } from './testing/csv-oracle';

let dir = '';
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'cdx-csv-ingest-')); });
afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

function file(name: string, content: string | Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}


/** The ingested file's rows in the notation of duckRows (ints, dates, timestamps as decimal text). */
function arrowRows(t: Table, info: CsvInfo): Cell[][] {
  const rows: Cell[][] = [];
  for (const b of t.batches) {
    for (let i = 0; i < b.numRows; i++) {
      rows.push(info.columns.map((c, j) => {
        const col = b.getChildAt(j)!;
        const data = col.data[0]!;
        if (!data.getValid(i)) return null;
        const v = (data.values as ArrayLike<unknown>)[i];
        switch (c.type) {
          case 'float64': return v as number;
          case 'int64': case 'date': case 'timestamp': return String(v);
          case 'bool': return String(col.get(i));
          default: return col.get(i) as string;
        }
      }));
    }
  }
  return rows;
}


let seq = 0;
async function ingest(path: string, opts: IngestCsvOptions = {}): Promise<{ info: CsvInfo; table: Table; rows: Cell[][]; warnings: CsvWarning[]; passes: number; out: string; bytes: Uint8Array }> {
  const out = join(dir, `out-${seq++}.arrow`);
  const warnings: CsvWarning[] = [];
  const r = await ingestCsv(path, out, { ...opts, onWarning: (w) => warnings.push(w) });
  const bytes = readFileSync(out);
  const table = tableFromIPC(bytes);
  expect(table.numRows).toBe(r.info.rows);
  return { info: r.info, table, rows: arrowRows(table, r.info), warnings, passes: r.passes, out, bytes };
}

/** rows of id, quoted text with newlines / commas / doubled quotes, a float with a few nulls */
function quoted(n: number, eol = '\n'): string {
  const lines = ['id,text,x'];
  for (let i = 0; i < n; i++) {
    const t = i % 3 === 0 ? `"multi\nline, ""${i}""\n"` : i % 3 === 1 ? `"comma, ${i}"` : `plain${i}`;
    lines.push(`${i},${t},${i % 97 === 5 ? '' : (i * 0.25).toFixed(2)}`);
  }
  return lines.join(eol) + eol;
}

const MIXED = [
  'id,name,price,day,at,flag,code,big',
  '1,"Smith, John",1.5,2020-01-02,2020-01-02 03:04:05,true,01220,9007199254740993',
  '2,"say ""hi""",NA,2021-12-31,2021-12-31T23:59:59.123456,false,00042,-9223372036854775808',
  '3,"two\nlines",-2.25e3,,2000-02-29 00:00:00,TRUE,12345,9223372036854775807',
  '4,,NaN,1969-12-31,1969-12-31 23:59:59.5,False,N/A,0',
  '5,plain,inf,2024-02-29,2024-02-29 12:00,null,99,',
  '-6,"",-0.0,2020-01-01,NULL,true,7,-1',
  '',
].join('\n');

describe('ingestCsv: the Arrow file holds what DuckDB reads', () => {
  it('mixed types, quotes, nulls, int64 beyond 2^53, leading-zero codes', async () => {
    const p = file('mixed.csv', MIXED);
    const r = await ingest(p);
    expect(r.info.columns.map((c) => c.type)).toEqual(['int64', 'string', 'float64', 'date', 'timestamp', 'bool', 'string', 'int64']);
    expect(r.rows.length).toBe(6);
    expect(r.table.getChild('big')!.get(0)).toBe(9007199254740993n);
    expect(r.table.getChild('code')!.get(1)).toBe('00042');
    expect(r.table.getChild('name')!.get(2)).toBe('two\nlines');
    if (duck) expectSameRows(r.rows, await duckRows(p, r.info));
  });

  it('short integers and decimals of every shape (the SWAR paths) equal DuckDB, bit for bit', async () => {
    let seed = 12345;
    const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) >>> 0; return seed % n; };
    const digits = (k: number, lead: boolean) => { let t = lead ? String(1 + rnd(9)) : String(rnd(10)); for (let i = 1; i < k; i++) t += String(rnd(10)); return t; };
    const lines = ['i,x,y'];
    for (let r = 0; r < 20000; r++) {
      const sign = ['', '-', '+'][rnd(3)]!;
      const i = sign + (rnd(10) === 0 ? '0' : digits(1 + rnd(10), true));
      const ip = rnd(4) === 0 ? '0' : digits(1 + rnd(5), true);
      const x = ['', '-', '+'][rnd(3)]! + (rnd(5) === 0 ? '.' + digits(1 + rnd(7), false) : ip + (rnd(4) ? '.' + digits(rnd(8), false) : ''));
      const y = (rnd(2) ? '-' : '') + digits(1 + rnd(12), true) + '.' + digits(1 + rnd(12), false);
      lines.push(`${i},${x},${y}`);
    }
    const p = file('numbers.csv', lines.join('\n') + '\n');
    const r = await ingest(p);
    expect(r.info.columns.map((c) => c.type)).toEqual(['int64', 'float64', 'float64']);
    if (duck) expectSameRows(r.rows, await duckRows(p, r.info));
  });

  it('quoted newlines across window edges: the same rows for any window size', async () => {
    const p = file('quoted.csv', quoted(3000));
    const ref = await ingest(p);
    expect(ref.rows.length).toBe(3000);
    if (duck) expectSameRows(ref.rows, await duckRows(p, ref.info));
    for (const chunkBytes of [1000, 4099, 65536]) {
      const r = await ingest(p, { chunkBytes });
      expectSameRows(r.rows, ref.rows);
    }
    // windows smaller than a row (each grows until it holds one): a shorter file keeps this quick
    const small = file('quoted-small.csv', quoted(200));
    const sref = await ingest(small);
    for (const chunkBytes of [1, 2, 7, 64]) expectSameRows((await ingest(small, { chunkBytes })).rows, sref.rows);
  });

  it('windows of several parallel pieces (quote parity) and record batches split by batchRows', async () => {
    const p = file('quoted-big.csv', quoted(90000, '\r\n')); // ~3 MB, CRLF
    const r = await ingest(p, { chunkBytes: (2 << 20) + 13, batchRows: 1003 });
    expect(r.rows.length).toBe(90000);
    expect(Math.max(...r.table.batches.map((b) => b.numRows))).toBeLessThanOrEqual(1003);
    if (duck) expectSameRows(r.rows, await duckRows(p, r.info));
    const one = await ingest(p, { chunkBytes: 64 << 20 });
    expect(one.table.batches.length).toBe(1);
    expectSameRows(one.rows, r.rows);
  });

  it('every buffer of every record batch is 64-byte aligned in the file, bodies inside the file', async () => {
    const p = file('align.csv', quoted(5000));
    const r = await ingest(p, { chunkBytes: 20000, batchRows: 333 });
    const bytes = r.bytes;
    const len = new DataView(bytes.buffer, bytes.byteOffset).getInt32(bytes.length - 10, true);
    const footer = Footer.decode(bytes.subarray(bytes.length - 10 - len, bytes.length - 10));
    expect(footer.numRecordBatches).toBe(r.table.batches.length);
    for (let b = 0; b < footer.numRecordBatches; b++) {
      const block = footer.getRecordBatch(b)!;
      const offset = Number(block.offset);
      const bodyStart = offset + block.metaDataLength;
      expect(bodyStart % 64).toBe(0);
      expect(bodyStart + Number(block.bodyLength)).toBeLessThanOrEqual(bytes.length);
      const metaLen = new DataView(bytes.buffer, bytes.byteOffset + offset + 4).getInt32(0, true);
      const msg = Message.decode(bytes.subarray(offset + 8, offset + 8 + metaLen));
      expect(msg.isRecordBatch()).toBe(true);
      const rb = msg.header() as unknown as { buffers: { offset: number | bigint; length: number | bigint }[] };
      for (const buf of rb.buffers) {
        expect(Number(buf.offset) % 64).toBe(0);
        expect(Number(buf.offset) + Number(buf.length)).toBeLessThanOrEqual(Number(block.bodyLength));
      }
    }
  });

  it('the fallback for file systems without shared writable mappings writes the same bytes', async () => {
    const p = file('fallback.csv', quoted(20000));
    const mapped = await ingest(p, { chunkBytes: 100000, batchRows: 4000 });
    process.env.CDX_CSV_NO_MMAP = '1';
    try {
      const written = await ingest(p, { chunkBytes: 100000, batchRows: 4000 });
      expect(Buffer.compare(Buffer.from(written.bytes), Buffer.from(mapped.bytes))).toBe(0);
    } finally {
      delete process.env.CDX_CSV_NO_MMAP;
    }
  });

  it('a header-only file gives a valid file with no rows', async () => {
    const r = await ingest(file('header-only.csv', 'a,b\n'));
    expect(r.table.numRows).toBe(0);
    expect(r.table.schema.fields.map((f) => f.name)).toEqual(['a', 'b']);
  });

  it('UTF-8 with BOM, Windows-1252, CR line endings', async () => {
    const bom = await ingest(file('bom.csv', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('name,v\ncafé,1\nnaïve,2\n')])));
    expect(bom.info.columns[0]!.name).toBe('name');
    expect(bom.rows).toEqual([['café', '1'], ['naïve', '2']]);
    const latin = await ingest(file('latin.csv', Buffer.from([...Buffer.from('name,v\ncaf'), 0xe9, ...Buffer.from(',1\n'), 0x80, ...Buffer.from(',2\n')])));
    expect(latin.rows).toEqual([['café', '1'], ['€', '2']]);
    const cr = await ingest(file('cr.csv', 'a,b\r1,x\r2,"y\rz"\r'));
    expect(cr.rows).toEqual([['1', 'x'], ['2', 'y\rz']]);
  });

  it('gzip and UTF-16 still go through the streamed path, with the same rows', async () => {
    const text = quoted(2000);
    const plain = await ingest(file('z.csv', text));
    const gz = await ingest(file('z2.csv.gz', gzipSync(text)));
    expectSameRows(gz.rows, plain.rows);
    const u16 = await ingest(file('u16.csv', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')])));
    expectSameRows(u16.rows, plain.rows);
  });
});

describe('ingestCsv: widening, bad rows, strict', () => {
  it('a value that does not fit in the first window widens the column in one pass (W_WIDENED)', async () => {
    const lines = ['id,v'];
    for (let i = 0; i < 200000; i++) lines.push(`${i},${i}`);
    lines.push('200000,2.5');
    const p = file('widen-early.csv', lines.join('\n') + '\n'); // 2.5 MB: beyond the sample, inside the first window
    const r = await ingest(p, { sampleBytes: 4096 });
    expect(r.passes).toBe(1);
    expect(r.info.columns.map((c) => c.type)).toEqual(['int64', 'float64']);
    expect(r.warnings.find((w) => w.code === 'W_WIDENED')).toMatchObject({ column: 'v', type: 'float64', line: 200002 });
    expect(r.table.getChild('v')!.get(200000)).toBe(2.5);
    expect(r.table.getChild('v')!.get(199999)).toBe(199999);
  });

  it('a value that does not fit after batches were written restarts with the widened type', async () => {
    const lines = ['id,v'];
    for (let i = 0; i < 50000; i++) lines.push(`${i},${i}`);
    lines.push('50000,abc');
    const p = file('widen-late.csv', lines.join('\n') + '\n');
    const r = await ingest(p, { sampleBytes: 4096, chunkBytes: 65536 });
    expect(r.passes).toBe(2);
    expect(r.info.columns.map((c) => c.type)).toEqual(['int64', 'string']);
    expect(r.table.getChild('v')!.get(50000)).toBe('abc');
    expect(r.table.getChild('v')!.get(7)).toBe('7');
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('bad rows are skipped and reported by line, across windows; strict refuses naming file and line', async () => {
    const lines = ['a,b'];
    for (let i = 0; i < 20000; i++) lines.push(i % 5000 === 17 ? `${i}` : `${i},"x\n${i}"`);
    const p = file('bad.csv', lines.join('\n') + '\n');
    const r = await ingest(p, { chunkBytes: 30000 });
    expect(r.rows.length).toBe(20000 - 4);
    const bad = r.warnings.filter((w) => w.code === 'W_BAD_ROW').map((w) => w.line);
    // line of row i: header + 2 lines per good row before it
    expect(bad).toEqual([17, 5017, 10017, 15017].map((i) => 2 + 2 * i - [17, 5017, 10017, 15017].filter((k) => k < i).length));
    expect(r.warnings.find((w) => w.code === 'W_BAD_ROWS')?.count).toBe(4);
    expect(r.info.badRows).toBe(4);
    const out = join(dir, 'strict.arrow');
    await expect(ingestCsv(p, out, { strict: true, chunkBytes: 30000 })).rejects.toMatchObject({ code: 'E_BAD_ROW', message: expect.stringContaining(`${p}: line 36`) });
    expect(readdirSync(dir).filter((f) => f.startsWith('strict.arrow'))).toEqual([]);
  });
});

describe('ingestCsv: cancel and truncation leave nothing behind', () => {
  const big = () => {
    const row = '12345,67.25,"some, text",2024-01-02\n';
    return 'a,b,c,d\n' + row.repeat(Math.ceil((24 << 20) / row.length));
  };

  it('a cancel during the native pass rejects with E_CANCELLED and leaves no file', async () => {
    const p = file('cancel.csv', big());
    const out = join(dir, 'cancel.arrow');
    const ac = new AbortController();
    let sawWork = false;
    const run = ingestCsv(p, out, {
      chunkBytes: 256 << 10, signal: ac.signal, progressIntervalMs: 1,
      onProgress: (x) => { if (x.done > 0) { sawWork = true; ac.abort(); } },
    });
    await expect(run).rejects.toMatchObject({ code: 'E_CANCELLED' });
    expect(sawWork).toBe(true);
    expect(readdirSync(dir).filter((f) => f.startsWith('cancel.arrow'))).toEqual([]);
  });

  it('a file truncated while it is read: E_TRUNCATED naming the file, no output', async () => {
    const p = file('shrinks.csv', big());
    const out = join(dir, 'shrinks.arrow');
    let cut = false;
    const run = ingestCsv(p, out, {
      chunkBytes: 256 << 10, progressIntervalMs: 1,
      onProgress: (x) => { if (x.done > 0 && !cut) { cut = true; truncateSync(p, 1 << 20); } },
    });
    await expect(run).rejects.toMatchObject({ code: 'E_TRUNCATED', message: expect.stringContaining(p) });
    expect(readdirSync(dir).filter((f) => f.startsWith('shrinks.arrow'))).toEqual([]);
  });

  it('a garbled file (a stray quote swallows the rest) is refused naming the file and line, no output', async () => {
    const body = Array.from({ length: 20000 }, (_, i) => `${i},text ${i}`);
    body[10] = '10,"oops';
    const p = file('garbled.csv', 'a,b\n' + body.join('\n') + '\n');
    const out = join(dir, 'garbled.arrow');
    await expect(ingestCsv(p, out, { chunkBytes: 16384, maxRowBytes: 100000 })).rejects.toMatchObject({ code: 'E_ROW_TOO_LARGE', message: expect.stringContaining(`${p}: line 12`) });
    expect(readdirSync(dir).filter((f) => f.startsWith('garbled.arrow'))).toEqual([]);
    // with room for it, the same file loads its good rows and reports the unterminated field
    const r = await ingest(p, { chunkBytes: 16384 });
    expect(r.rows.length).toBe(10);
    expect(r.warnings.find((w) => w.code === 'W_BAD_ROW')).toMatchObject({ line: 12, message: expect.stringContaining('unterminated') });
  });

  it('a truncated gzip file is refused naming the file, no output', async () => {
    const gz = gzipSync(quoted(20000));
    const p = file('cut.csv.gz', gz.subarray(0, gz.length >> 1));
    const out = join(dir, 'cut.arrow');
    await expect(ingestCsv(p, out)).rejects.toMatchObject({ code: 'E_GZIP', message: expect.stringContaining(p) });
    expect(readdirSync(dir).filter((f) => f.startsWith('cut.arrow'))).toEqual([]);
  });

  it('an output folder that does not exist: E_IO naming it', async () => {
    const p = file('io.csv', 'a\n1\n');
    const out = join(dir, 'no-such-dir', 'x.arrow');
    await expect(ingestCsv(p, out)).rejects.toMatchObject({ code: 'E_IO', message: expect.stringContaining(out) });
  });
});
