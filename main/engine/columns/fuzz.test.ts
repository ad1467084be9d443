// Fuzzing of the parsers that exist only in TypeScript (the native fuzz targets are in
// native/fuzz/): the NPY header parsers (columns/npy.ts for arrays used in place, sources/npy.ts
// with its Python-literal parser) and the Arrow IPC metadata reader (columns/arrow.ts: footer,
// schema, record batch and dictionary batch metadata through apache-arrow's flatbuffer decoders,
// then every buffer checked against the file). Seeded mutations of seed files (bit flips, bytes and
// 32-bit integers set to edge values, ranges cut, copied or inserted, header tokens spliced in) for
// a bounded time: CDX_FUZZ_SECONDS per parser (default 2 s here; `npm run fuzz -- --seconds N`
// sets it). Every input must either parse into something self-consistent or be refused with a
// CdxError of the vocabulary, within a second; any other exception, or a slower answer, fails and
// leaves the input in native/build/fuzz/crashes/<npy|arrow>/ (and in base64 in the message): add it
// to native/fuzz/regressions/<npy|arrow>/ (replayed first on every run) and fix the cause.
// The seed is printed; CDX_FUZZ_SEED=n repeats a run.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CdxError, isErrorCode } from '../../../shared/errors';
import { tempDir, writeArrowFile } from '../../../native/testing/fixtures';
import { readNpyHeader as readNpySource } from '../sources/npy';
import { readArrowColumns } from './arrow';
import { NPY_MAX_COLUMNS, npyColumns, parseNpyHeader } from './npy';

const SECONDS = Number(process.env.CDX_FUZZ_SECONDS ?? 2);
const SEED = Number(process.env.CDX_FUZZ_SEED ?? Date.now() % 2 ** 31);
/** vitest's limit per test: the fuzzing time plus the regressions, seeds and a slow last input */
const LIMIT = SECONDS * 1000 + 60_000;
const root = resolve(__dirname, '..', '..', '..');
const dir = tempDir('cdx-fuzz-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function mulberry32(a: number): () => number {
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const EDGE32 = [0, 1, -1, 0x7fffffff, -0x80000000, 0xffff, 0x10000, 8, 64, 0x7ffffff8];

/** One to four mutations of `b` (never longer than `max`). */
function mutate(b: Uint8Array, rnd: () => number, tokens: Uint8Array[], max: number): Uint8Array {
  let out = Uint8Array.from(b);
  const at = (n: number) => Math.floor(rnd() * Math.max(1, n));
  for (let k = 1 + at(4); k > 0; k--) {
    const op = at(8);
    if (op === 0 && out.length) out[at(out.length)]! ^= 1 << at(8);
    else if (op === 1 && out.length) out[at(out.length)] = [0, 0xff, 0x7f, 0x80, 0x30 + at(10)][at(5)]!;
    else if (op === 2 && out.length >= 4) new DataView(out.buffer).setInt32(at(out.length - 3), EDGE32[at(EDGE32.length)]!, true);
    else if (op === 3 && out.length) out = out.slice(0, at(out.length)); // truncate
    else if (op === 4 && out.length > 1) { const i = at(out.length), n = at(Math.min(64, out.length - i)); out = Uint8Array.from([...out.subarray(0, i), ...out.subarray(i + n)]); }
    else if (op === 5 && out.length) { const i = at(out.length), j = at(out.length), n = at(Math.min(32, out.length - i)); out = Uint8Array.from([...out.subarray(0, j), ...out.subarray(i, i + n), ...out.subarray(j)]); }
    else if (op === 6 && tokens.length) { const t = tokens[at(tokens.length)]!, i = at(out.length); out = Uint8Array.from([...out.subarray(0, i), ...t, ...out.subarray(i)]); }
    else if (out.length) { const i = at(out.length); out.fill(at(256), i, i + at(16)); }
  }
  return out.length > max ? out.slice(0, max) : out;
}

/** Keeps a failing input where scripts/fuzz.mjs keeps the native targets' crashes; returns its base64. */
function keep(name: string, b: Uint8Array): string {
  const d = join(root, 'native', 'build', 'fuzz', 'crashes', name);
  mkdirSync(d, { recursive: true });
  const f = join(d, `crash-${createHash('sha1').update(b).digest('hex')}`);
  writeFileSync(f, b);
  return `${f} (base64 ${Buffer.from(b).toString('base64').slice(0, 4000)})`;
}

/** Runs `check` on each regression input, then on mutations of the seeds for SECONDS. */
async function fuzz(name: string, seeds: Uint8Array[], tokens: Uint8Array[], max: number, check: (input: Uint8Array) => Promise<void> | void) {
  const regressions = join(root, 'native', 'fuzz', 'regressions', name);
  const fixed = existsSync(regressions) ? readdirSync(regressions).map((f) => new Uint8Array(readFileSync(join(regressions, f)))) : [];
  const rnd = mulberry32(SEED);
  const codes = new Map<string, number>();
  const one = async (input: Uint8Array) => {
    const t0 = performance.now();
    try {
      await check(input);
      codes.set('ok', (codes.get('ok') ?? 0) + 1);
    } catch (e) {
      if (!(e instanceof CdxError) || !isErrorCode(e.code))
        throw new Error(`${name}: not a CdxError for input ${keep(name, input)}:\n${(e as Error)?.stack ?? e}`);
      codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
    }
    const ms = performance.now() - t0;
    if (ms > 1000) throw new Error(`${name}: ${ms.toFixed(0)} ms for input ${keep(name, input)}`);
  };
  for (const s of [...fixed, ...seeds]) await one(s);
  const end = Date.now() + SECONDS * 1000;
  let runs = 0;
  while (Date.now() < end) {
    for (let i = 0; i < 50; i++, runs++) await one(mutate(seeds[Math.floor(rnd() * seeds.length)]!, rnd, tokens, max));
  }
  console.log(`fuzz ${name}: seed ${SEED}, ${fixed.length} regressions, ${runs} mutations in ${SECONDS} s: ${[...codes].map(([c, n]) => `${c} ${n}`).join(', ')}`);
  return runs;
}

// ---------------------------------------------------------------------------------------------
// NPY headers

function npyBytes(dict: string, data: number, major = 1): Uint8Array {
  const pre = major === 1 ? 10 : 12;
  const body = dict.padEnd(Math.ceil((pre + dict.length + 1) / 64) * 64 - pre - 1, ' ') + '\n';
  const out = new Uint8Array(pre + body.length + data);
  out.set([0x93, ...Buffer.from('NUMPY'), major, 0], 0);
  const dv = new DataView(out.buffer);
  if (major === 1) dv.setUint16(8, body.length, true);
  else dv.setUint32(8, body.length, true);
  out.set(Buffer.from(body, 'latin1'), pre);
  for (let i = pre + body.length; i < out.length; i++) out[i] = i * 31;
  return out;
}

const NPY_SEEDS = [
  npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (5,), }", 40),
  npyBytes("{'descr': '>i4', 'fortran_order': True, 'shape': (3, 2), }", 24),
  npyBytes("{'descr': '|b1', 'fortran_order': False, 'shape': (), }", 1),
  npyBytes("{'descr': '<M8[ms]', 'fortran_order': False, 'shape': (2,), }", 16, 2),
  npyBytes("{'descr': '<u2', 'fortran_order': False, 'shape': (0, 7), }", 0, 3),
  npyBytes("{'descr': [('id', '<i4'), ('xy', '<f4', (2,)), ('s', 'S3')], 'fortran_order': False, 'shape': (2,), }", 30),
  npyBytes("{'descr': [(('t', 'n'), '<f2'), ('', '|V2'), ('c', '<c8')], 'fortran_order': False, 'shape': (1,), }", 12),
];
const NPY_TOKENS = ["'shape': (", '99999999999999999999', '1000000', ', ', '(', ')', '[', ']', "'descr': ", "'<f8'", "'fortran_order': True", 'L', '\\x', "'", '"', '0,', '(1000000,)', "[('a', "]
  .map((t) => new Uint8Array(Buffer.from(t, 'latin1')));

describe('fuzz: NPY headers (TypeScript)', () => {
  it('columns/npy.ts parseNpyHeader + npyColumns: consistent headers or CdxErrors', async () => {
    const runs = await fuzz('npy', NPY_SEEDS, NPY_TOKENS, 4096, (b) => {
      const h = parseNpyHeader('fuzz.npy', b.subarray(0, 65536 + 12), b.length);
      expect(Number.isSafeInteger(h.count) && h.count >= 0).toBe(true);
      expect(h.count).toBe(h.shape.reduce((a, x) => a * x, 1));
      expect(h.dataOffset + h.count * h.itemSize).toBeLessThanOrEqual(b.length);
      const cols = npyColumns(h);
      expect(cols.length).toBeLessThanOrEqual(NPY_MAX_COLUMNS);
      for (const c of cols) {
        const ch = c.chunks[0]!;
        expect(ch.data.offset + ch.data.length).toBeLessThanOrEqual(b.length);
      }
    });
    expect(runs).toBeGreaterThan(0);
  }, LIMIT);

  it('sources/npy.ts readNpyHeader (Python-literal parser, structured dtypes): consistent headers or CdxErrors', async () => {
    await fuzz('npy', NPY_SEEDS, NPY_TOKENS, 4096, async (b) => {
      const src = { size: b.length, read: async (p: number, l: number) => b.slice(p, p + l), close: async () => {} };
      const h = await readNpySource(src, 'fuzz.npy');
      expect(h.leaves.length).toBeLessThanOrEqual(100_000);
      expect(h.dataOffset + h.rows * h.itemSize * (h.structured ? 1 : h.perRow)).toBeLessThanOrEqual(b.length);
    });
  }, LIMIT);
});

// ---------------------------------------------------------------------------------------------
// Arrow IPC metadata

function arrowSeeds(): Uint8Array[] {
  const p = join(dir, 'seed.arrow');
  writeArrowFile(p, {
    i: { type: 'int32', values: [1, null, 3, 4] },
    f: { type: 'float64', values: [0.5, 1.5, null, -2] },
    s: { type: 'utf8', values: ['a', 'bc', null, ''] },
    d: { type: 'dict', values: ['x', 'y', 'x', null] },
    b: { type: 'bool', values: [true, false, null, true] },
  }, 2);
  const seeds = [new Uint8Array(readFileSync(p))];
  // Arrow's own integration files, where the shared corpus is on this machine (not copied here)
  const corpus = process.env.CDX_ARROW_TESTING ?? '/work/shared/corpus/arrow-testing/data/arrow-ipc-stream/integration';
  for (const v of ['1.0.0-littleendian', '1.0.0-bigendian']) {
    const d = join(corpus, v);
    if (!existsSync(d)) continue;
    for (const f of ['generated_primitive_no_batches', 'generated_dictionary', 'generated_nested', 'generated_custom_metadata', 'generated_null', 'generated_datetime', 'generated_primitive_large_offsets']) {
      const q = join(d, `${f}.arrow_file`);
      if (existsSync(q)) seeds.push(new Uint8Array(readFileSync(q)));
    }
  }
  return seeds;
}

describe('fuzz: Arrow IPC metadata (TypeScript)', () => {
  it('columns/arrow.ts readArrowColumns: descriptors inside the file or CdxErrors', async () => {
    const seeds = arrowSeeds();
    const p = join(dir, 'input.arrow');
    mkdirSync(dir, { recursive: true });
    await fuzz('arrow', seeds, [new Uint8Array(Buffer.from('ARROW1')), new Uint8Array([0xff, 0xff, 0xff, 0xff])], 16384, (b) => {
      writeFileSync(p, b);
      const a = readArrowColumns(p);
      for (const c of a.columns) {
        if (c.kind === 'unsupported') continue;
        for (const ch of c.chunks) {
          for (const span of [ch.data, ch.offsets]) if (span) expect(span.offset + span.length).toBeLessThanOrEqual(b.length);
        }
      }
    });
  }, LIMIT);
});
