import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { Type, util, type Data, type RecordBatch } from 'apache-arrow';
import { arrowProvider } from './arrow';
import { corpusDir, drain, hostileCopies, readOrClearError, tempDir, withTimeout } from './testing/util';
import { CdxError } from '../../../shared/errors';
import { lz4FrameDecode } from './codecs';

const integ = corpusDir('arrow-testing/data/arrow-ipc-stream/integration');

/** Files refused on purpose, with the reason the refusal must give. */
const EXPECTED_REFUSALS: [RegExp, RegExp][] = [
  [/generated_list_view\./, /ListView is not supported/],
  [/generated_run_end_encoded\./, /RunEndEncoded is not supported/],
  [/0\.17\.1\/generated_union\./, /pre-1\.0 union/],
];

const UNITS: Record<string, string> = { SECOND: 's', MILLISECOND: 'ms', MICROSECOND: 'us', NANOSECOND: 'ns' };

/** The DataShape type the .json.gz's field description should map to. */
function expectedType(ef: any): Record<string, unknown> | undefined {
  const t = ef.type;
  switch (t.name) {
    case 'int': return { type: `${t.isSigned ? 'int' : 'uint'}${t.bitWidth}` };
    case 'floatingpoint': return { type: t.precision === 'HALF' ? 'float16' : t.precision === 'SINGLE' ? 'float32' : 'float64' };
    case 'bool': return { type: 'bool' };
    case 'utf8': case 'largeutf8': case 'utf8view': return { type: 'string' };
    case 'binary': case 'largebinary': case 'binaryview': case 'fixedsizebinary': return { type: 'binary' };
    case 'date': return { type: 'date' };
    case 'time': return { type: 'time', unit: UNITS[t.unit] };
    case 'timestamp': return t.timezone ? { type: 'timestamp', unit: UNITS[t.unit], tz: t.timezone } : { type: 'timestamp', unit: UNITS[t.unit] };
    case 'duration': return { type: 'duration', unit: UNITS[t.unit] };
    case 'decimal': return { type: 'decimal', precision: t.precision, scale: t.scale };
    case 'interval': return { type: 'interval' };
    case 'null': return { type: 'string' };
    case 'list': case 'largelist': case 'fixedsizelist': case 'struct': case 'map': case 'union': case 'listview': case 'largelistview':
      return ef.dictionary ? undefined : { type: 'json' };
    default: return undefined;
  }
}

function hexOrText(s: string): string {
  return /^[0-9A-Fa-f]*$/.test(s) ? s.toUpperCase() : hex(new TextEncoder().encode(s));
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex').toUpperCase();
}

/** The stored (physical) value of row i, in the JSON integration format's notation. */
function rawValue(data: Data, i: number): unknown {
  if (!data.getValid(i)) return null;
  const t = data.type as any;
  const v = data.values as any;
  switch (t.typeId as Type) {
    case Type.Bool: return ((v[(data.offset + i) >> 3] >> ((data.offset + i) & 7)) & 1) === 1;
    case Type.Decimal: {
      const words = t.bitWidth / 32;
      let x = 0n;
      for (let w = words - 1; w >= 0; w--) x = (x << 32n) | BigInt(v[(i) * words + w] >>> 0);
      return String(BigInt.asIntN(t.bitWidth, x));
    }
    case Type.Float: {
      const x = v[i];
      return t.precision === 0 ? util.uint16ToFloat64(x) : x;
    }
    case Type.Int: case Type.Date: case Type.Time: case Type.Timestamp: case Type.Duration: {
      const x = v[i];
      return typeof x === 'bigint' ? String(x) : x;
    }
    default:
      return undefined;
  }
}

function sameValue(ours: unknown, exp: unknown, t: any): boolean {
  if (typeof exp === 'number' && typeof ours === 'number') {
    if (t.typeId === Type.Float) return Math.abs(ours - exp) <= 1e-3 * Math.max(1, Math.abs(exp));
    return ours === exp;
  }
  if (typeof exp === 'string' && typeof ours === 'number') return String(ours) === exp;
  return ours === exp;
}

async function checkAgainstJson(file: string, jsonPath: string): Promise<void> {
  const expected = JSON.parse(gunzipSync(readFileSync(jsonPath)).toString('utf8'));
  const src = await arrowProvider.open(file);
  const { info, batches, rows } = await drain(src);
  const expRows = expected.batches.reduce((s: number, b: any) => s + b.count, 0);
  expect(info.rows, 'row count from headers').toBe(expRows);
  expect(rows, 'rows scanned').toBe(expRows);
  expect(info.schema.fields.map((f) => f.name)).toEqual(expected.schema.fields.map((f: any) => f.name));
  expected.schema.fields.forEach((ef: any, i: number) => {
    const want = expectedType(ef);
    if (want) expect(info.schema.fields[i], `${file}: ${ef.name}`).toMatchObject(want);
  });
  // flatten expected columns across batches
  const nonEmpty = expected.batches.filter((b: any) => b.count > 0);
  let checked = 0;
  expected.schema.fields.forEach((ef: any, ci: number) => {
    const ours = info.schema.fields[ci];
    const expNullable = ef.nullable;
    expect(ours.nullable || ours.type === 'json' || !expNullable).toBe(true);
    let row = 0;
    const ourCells: { data: Data; i: number }[] = [];
    for (const b of batches as RecordBatch[]) {
      const d = b.getChildAt(ci)!.data[0];
      for (let i = 0; i < b.numRows; i++) ourCells.push({ data: d, i });
    }
    for (const eb of nonEmpty) {
      const col = eb.columns[ci];
      for (let i = 0; i < eb.count; i++, row++) {
        const valid = col.VALIDITY ? col.VALIDITY[i] === 1 : true;
        const cell = ourCells[row];
        if (ef.type.name === 'null') { expect(cell.data.getValid(cell.i)).toBe(false); continue; }
        // dictionary values and union children carry their own nulls: the decoded value may be null
        if (!ef.dictionary && col.VALIDITY) expect(cell.data.getValid(cell.i), `${ef.name}[${row}] validity`).toBe(valid);
        if (!cell.data.getValid(cell.i)) continue;
        if (!valid) continue;
        if (ours.type === 'json') {
          const text = (b2s(cell));
          expect(() => JSON.parse(text)).not.toThrow();
          continue;
        }
        if (ef.dictionary) continue; // DATA holds dictionary indices
        const tn = ef.type.name;
        if (tn === 'utf8' || tn === 'largeutf8' || tn === 'utf8view') {
          const exp = col.DATA?.[i] ?? col.VIEWS?.[i]?.INLINED;
          if (exp === undefined) continue;
          expect(b2s(cell), `${ef.name}[${row}]`).toBe(exp);
        } else if (tn === 'binary' || tn === 'largebinary' || tn === 'fixedsizebinary' || tn === 'binaryview') {
          const v = vecGet(cell);
          const exp = col.DATA?.[i] ?? col.VIEWS?.[i]?.INLINED;
          if (exp === undefined) continue; // out-of-line view: checked through the row count only
          expect(hex(v), `${ef.name}[${row}]`).toBe(tn === 'binaryview' && col.VIEWS ? hexOrText(exp) : String(exp).toUpperCase());
        } else if (['int', 'floatingpoint', 'bool', 'date', 'time', 'timestamp', 'duration', 'decimal'].includes(tn)) {
          const v = rawValue(cell.data, cell.i);
          if (!sameValue(v, col.DATA[i], cell.data.type)) {
            throw new Error(`${file}: ${ef.name}[${row}] = ${String(v)}, expected ${JSON.stringify(col.DATA[i])}`);
          }
        } else {
          continue;
        }
        checked++;
      }
    }
  });
  if (rows > 0 && /primitive\.|datetime|decimal\.|lz4|zstd/.test(file)) expect(checked).toBeGreaterThan(0);
  await src.close();
}

function vecGet(cell: { data: Data; i: number }): any {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return makeVec(cell.data).get(cell.i);
}
import { makeVector } from 'apache-arrow';
function makeVec(d: Data) { return makeVector(d); }
function b2s(cell: { data: Data; i: number }): string {
  const v = vecGet(cell);
  return typeof v === 'string' ? v : String(v);
}

describe('arrow IPC corpus', () => {
  if (!integ) { it.skip('corpus absent', () => {}); return; }
  const files: string[] = [];
  for (const d of readdirSync(integ)) for (const f of readdirSync(join(integ, d))) {
    if (!f.endsWith('.json.gz')) files.push(join(integ, d, f));
  }
  it('finds the integration files', () => expect(files.length).toBeGreaterThan(100));
  for (const file of files) {
    const rel = file.slice(integ.length + 1);
    it(rel, async () => {
      const refusal = EXPECTED_REFUSALS.find(([re]) => re.test(rel));
      if (refusal) {
        const err = await (async () => { await drain(await arrowProvider.open(file)); return null; })().catch((e) => e);
        const e2 = err ?? new Error('read although expected to be refused');
        expect(e2).toBeInstanceOf(CdxError);
        expect((e2 as CdxError).code).toBe('E_UNSUPPORTED');
        expect((e2 as Error).message).toMatch(refusal[1]);
        return;
      }
      const json = file.replace(/\.(arrow_file|stream)$/, '.json.gz');
      await checkAgainstJson(file, json);
      const info = await (await arrowProvider.open(file)).info();
      if (file.endsWith('.arrow_file') && !/compression|bigendian/.test(file)) expect(info.inPlace).toEqual({ kind: 'arrow', path: file });
      else expect(info.inPlace).toBeUndefined();
    });
  }
});

describe('arrow hostile input', () => {
  if (!integ) { it.skip('corpus absent', () => {}); return; }
  for (const name of ['1.0.0-littleendian/generated_primitive.arrow_file', '1.0.0-littleendian/generated_nested.stream',
    '2.0.0-compression/generated_lz4.arrow_file', '2.0.0-compression/generated_zstd.stream']) {
    it(`truncated and bit-flipped copies of ${name}`, async () => {
      const { dir, cleanup } = tempDir();
      try {
        const copies = hostileCopies(join(integ, name), dir, { flips: 24 });
        const results = [];
        for (const p of copies) {
          results.push(await withTimeout(readOrClearError(() => arrowProvider.open(p), p), 10_000, p));
        }
        // truncations are refused (the footer or the end of a body is missing)
        expect(results.slice(0, 3).every((r) => r !== 'ok')).toBe(true);
      } finally {
        cleanup();
      }
    }, 60_000);
  }
});

describe('lz4 frame codec', () => {
  it('decodes literal-only and match blocks and refuses bad offsets', () => {
    // one block in a frame of independent 64 KiB blocks (header checksum 0x82)
    const frame = (blk: number[]) => new Uint8Array([0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82, blk.length, 0, 0, 0, ...blk, 0, 0, 0, 0]);
    // token: 4 literals, then match offset 4 len 4+4, then the closing literal-only token
    const blk = [0x44, 1, 2, 3, 4, 4, 0, 0x00];
    expect(Array.from(lz4FrameDecode(frame(blk)))).toEqual([1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4]);
    expect(() => lz4FrameDecode(frame([0x10, 9, 9, 0]))).toThrow(/offset/);
    expect(() => lz4FrameDecode(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]))).toThrow(/magic/);
  });
});
