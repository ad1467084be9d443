/**
 * Durable writes and what a crash leaves (durable.ts):
 *  - the temporary names every writer uses are recognised as ours, with the pid that wrote them;
 *  - the sweep removes those of a process that is gone (a real child, SIGKILLed) in the cache and
 *    the outputs its journal noted, keeps a live process's and every name that is not ours;
 *  - a torn cache file (cut short, its footer zeroed, another copy's rows) is read again from the
 *    source on the next open, not reported: the values equal DuckDB's reading of the CSV;
 *  - an ingest that needs more room than the cache's disk has fails before reading, naming the
 *    folder and both sizes (a sparse file larger than the disk: no space is really used).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import {
  closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync, writeSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readRows } from '../../native/index';
import { Datasets } from './datasets';
import { freeBytes, noteTemp, pidAlive, renameDurable, setTempJournal, sweepTemps, tempBeside, tempOwner, writeFileDurable, writeFileDurableSync } from './durable';
import { tempPathFor } from './writers/convert';
import { duckdb } from './sources/testing/oracle';

let dir = '';
let csv = '';
const ROWS = 20_000;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cdx-durable-'));
  csv = path.join(dir, 'data.csv');
  const lines = ['id,x,y,s'];
  for (let i = 0; i < ROWS; i++) lines.push(`${i},${(i * 7919) % 1000 - 500},${(i / 7).toFixed(3)},w${i % 97}`);
  writeFileSync(csv, lines.join('\n') + '\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A child that creates `files` (paths with PID replaced by its pid) and waits; killed by the caller. */
async function writerChild(files: string[]): Promise<{ child: ChildProcess; paths: string[] }> {
  const code = `
    const fs = require('node:fs');
    const out = JSON.parse(process.argv[1]).map((p) => p.split('PID').join(String(process.pid)));
    for (const p of out) { if (p.endsWith('/')) fs.mkdirSync(p, { recursive: true }); else fs.writeFileSync(p, 'partial'); }
    process.stdout.write(JSON.stringify(out) + '\\n');
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['-e', code, JSON.stringify(files)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((res, rej) => {
    let buf = '';
    child.stdout!.on('data', (d) => {
      buf += d;
      if (buf.includes('\n')) res(buf.split('\n')[0]!);
    });
    child.once('exit', () => rej(new Error('the child exited early')));
  });
  return { child, paths: JSON.parse(line) as string[] };
}

async function killed(child: ChildProcess): Promise<void> {
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await gone;
}

describe('durable writes', () => {
  it('writeFileDurable / renameDurable leave the whole file at the name and nothing beside it', async () => {
    const d = path.join(dir, 'w');
    mkdirSync(d);
    await writeFileDurable(path.join(d, 'a.json'), '{"a":1}');
    writeFileDurableSync(path.join(d, 'b.bin'), new Uint8Array([1, 2, 3]));
    const tmp = tempBeside(path.join(d, 'c.txt'));
    writeFileSync(tmp, 'whole');
    await renameDurable(tmp, path.join(d, 'c.txt'));
    expect(readdirSync(d).sort()).toEqual(['a.json', 'b.bin', 'c.txt']);
    expect(readFileSync(path.join(d, 'a.json'), 'utf8')).toBe('{"a":1}');
    expect([...readFileSync(path.join(d, 'b.bin'))]).toEqual([1, 2, 3]);
    expect(readFileSync(path.join(d, 'c.txt'), 'utf8')).toBe('whole');
    // a failed write leaves nothing (the folder does not exist)
    await expect(writeFileDurable(path.join(d, 'missing', 'x'), 'x')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(readdirSync(d).length).toBe(3);
  });

  it('every temporary name of the engine is recognised with its pid; other names are not', () => {
    const pid = process.pid;
    const names = [
      path.basename(tempBeside('/c/abc.arrow')), // cache ingest, downloads, spatial, manifests
      `abc.arrow.tmp-${pid}-${Date.now()}`, // native CSV ingest
      `x.zones.tmp-${pid}-k3j9a0`, // (older zone files)
      path.basename(tempPathFor('/out/result.parquet')), // an export's output
      path.basename(tempPathFor('/out/result.csv')) + '.arrow', // its staged CSV copy
      path.basename(tempPathFor('/out/result.csv')) + `.arrow.tmp-${pid}-${Date.now()}`,
      path.basename(tempPathFor('/out/r.npz')) + '.3.npy',
      path.basename(tempPathFor('/out/r.parquet')) + '.part1',
      `s3-0123456789abcdef-${pid}-0a1b2c3d`, // an S3 prefix's staging folder
    ];
    for (const n of names) expect([n, tempOwner(n)]).toEqual([n, pid]);
    for (const n of ['abc.arrow', 'manifest.json', 'data.csv.tmp', '.hidden', 'a.partial', 'x.tmp-abc-1', 'report.tmp-12', '.a.cdx-12-zz.tmp', 's3-0123-1-2']) {
      expect([n, tempOwner(n)]).toEqual([n, null]);
    }
  });

  it("the sweep removes a killed process's temporary files (cache and noted outputs) and keeps a live one's and every other name", async () => {
    const home = path.join(dir, 'sweep');
    const cache = path.join(home, 'cache');
    const out = path.join(dir, 'sweep-out');
    for (const d of [cache, path.join(cache, 'zones'), path.join(cache, 'remote', 'u.cols'), out]) mkdirSync(d, { recursive: true });
    const journal = path.join(cache, 'inflight');
    const theirs = [
      path.join(cache, 'a.arrow.partial-PID-0a0b0c0d'),
      path.join(cache, 'a.arrow.tmp-PID-1700000000000'),
      path.join(cache, 'zones', 'k.zones.partial-PID-01020304'),
      path.join(cache, 'remote', 'u.cols', 'manifest.json.partial-PID-0a0b0c0d'),
      path.join(cache, 'remote', 's3-0123456789abcdef-PID-0a1b2c3d') + '/',
      path.join(out, '.result.parquet.cdx-PID-0a0b0c0d.tmp'),
      path.join(out, '.result.parquet.cdx-PID-0a0b0c0d.tmp.part1'),
    ];
    const dead = await writerChild(theirs);
    const alive = await writerChild([path.join(cache, 'b.arrow.partial-PID-0a0b0c0d'), path.join(out, '.live.csv.cdx-PID-0a0b0c0d.tmp')]);
    // the outputs are noted in the journal as the export would (one note per output, named by the writer's pid)
    mkdirSync(journal, { recursive: true });
    writeFileSync(path.join(journal, `${dead.child.pid}-00aa.json`), JSON.stringify({ tmp: dead.paths[5] }));
    writeFileSync(path.join(journal, `${alive.child.pid}-00bb.json`), JSON.stringify({ tmp: alive.paths[1] }));
    // a note that names a file that is not ours is dropped without touching the file
    const precious = path.join(out, 'precious.txt');
    writeFileSync(precious, 'keep');
    writeFileSync(path.join(journal, '999999999-00cc.json'), JSON.stringify({ tmp: precious }));
    const keep = [path.join(cache, 'a.arrow'), path.join(cache, 'remote', 'u.cols', 'manifest.json'), path.join(out, 'result.parquet')];
    for (const k of keep) writeFileSync(k, 'whole');
    try {
      await killed(dead.child);
      expect(pidAlive(dead.child.pid!)).toBe(false);
      for (const p of dead.paths) expect(existsSync(p)).toBe(true);
      const r = sweepTemps(cache, { journal });
      for (const p of dead.paths) expect([p, existsSync(p)]).toEqual([p, false]);
      expect(r.removed.length).toBe(6); // five in the cache, the noted output (with its part)
      for (const p of [...alive.paths, ...keep, precious]) expect([p, existsSync(p)]).toEqual([p, true]);
      expect(readdirSync(journal).sort()).toEqual([`${alive.child.pid}-00bb.json`]);
      // once the live one is gone too, the next sweep takes its files
      await killed(alive.child);
      sweepTemps(cache, { journal });
      for (const p of alive.paths) expect(existsSync(p)).toBe(false);
      expect(readdirSync(journal)).toEqual([]);
    } finally {
      dead.child.kill('SIGKILL');
      alive.child.kill('SIGKILL');
    }
  });

  it('noteTemp notes an output in progress in the journal and removes the note when done', () => {
    const journal = path.join(dir, 'journal');
    setTempJournal(journal);
    try {
      const done = noteTemp(path.join(dir, '.x.csv.cdx-1-0a0b0c0d.tmp'));
      const notes = readdirSync(journal);
      expect(notes).toHaveLength(1);
      expect(notes[0]).toMatch(new RegExp(`^${process.pid}-[0-9a-f]+\\.json$`));
      done();
      expect(readdirSync(journal)).toEqual([]);
    } finally {
      setTempJournal(null);
    }
  });
});

/** Every row of the dataset as text, in id order (numbers as DuckDB prints them). */
async function rowsOf(store: Datasets, id: string): Promise<string[]> {
  const ds = await store.get(id);
  const cols = ['id', 'x', 'y', 's'].map((n) => ds.columns.get(n)!);
  const t = await readRows(cols, 0, ds.rows);
  const out: string[] = [];
  const vs = ['id', 'x', 'y', 's'].map((n) => t.getChild(n)!);
  for (let i = 0; i < t.numRows; i++) out.push(vs.map((v) => String(v.get(i))).join('|'));
  return out;
}

describe('a torn cache file', () => {
  const damages: [string, (file: string) => void][] = [
    ['cut in half', (f) => truncateSync(f, Math.floor(statSync(f).size / 2))],
    ['its last bytes cut (no footer magic)', (f) => truncateSync(f, statSync(f).size - 3)],
    ['its footer zeroed', (f) => {
      const fd = openSync(f, 'r+');
      const size = statSync(f).size;
      writeSync(fd, Buffer.alloc(64), 0, 64, size - 64);
      closeSync(fd);
    }],
    ['emptied', (f) => truncateSync(f, 0)],
  ];

  it.each(damages)('%s: the next open reads the source again and its values equal DuckDB', async (_what, damage) => {
    const db = await duckdb();
    if (!db) return;
    const home = path.join(dir, `torn-${_what.replace(/\W+/g, '-')}`);
    let store = new Datasets(home, null);
    const first = await store.open(csv);
    expect(first.storage.kind).toBe('cache');
    const cacheFile = first.storage.path;
    const want = (await db.all(`SELECT id, x, y, s FROM read_csv('${csv}') ORDER BY id`)).map((r) => r.map((v) => String(v)).join('|'));
    db.close();
    expect(await rowsOf(store, first.id)).toEqual(want);
    store.close();
    damage(cacheFile);
    store = new Datasets(home, null);
    try {
      const again = await store.open(csv);
      expect(again.id).toBe(first.id);
      expect(again.rows).toBe(ROWS);
      expect(again.storage.path).toBe(cacheFile);
      expect(statSync(cacheFile).size).toBeGreaterThan(1000);
      expect(await rowsOf(store, again.id)).toEqual(want);
      expect(store.catalog.list().filter((e) => e.location === csv)).toHaveLength(1);
    } finally {
      store.close();
    }
  });

  it('a cache file that is another copy (other rows) is not used: read again', async () => {
    const home = path.join(dir, 'torn-other');
    const other = path.join(dir, 'other.csv');
    writeFileSync(other, 'id,x,y,s\n1,2,3.5,a\n');
    let store = new Datasets(home, null);
    const a = await store.open(csv);
    const b = await store.open(other);
    store.close();
    writeFileSync(a.storage.path, readFileSync(b.storage.path));
    store = new Datasets(home, null);
    try {
      const again = await store.open(csv);
      expect(again.rows).toBe(ROWS);
      const rows = await rowsOf(store, again.id);
      expect(rows[0]).toBe('0|-500|0|w0');
      expect(rows.at(-1)).toBe(`${ROWS - 1}|${((ROWS - 1) * 7919) % 1000 - 500}|${((ROWS - 1) / 7).toFixed(3).replace(/\.?0+$/, '')}|w${(ROWS - 1) % 97}`);
    } finally {
      store.close();
    }
  });
});

describe('free space before an ingest', () => {
  it('an ingest larger than the disk fails at once, naming the cache folder and both sizes; nothing is written', async () => {
    const home = path.join(dir, 'full');
    const cache = path.join(home, 'cache');
    const free = await freeBytes(dir);
    if (free === null) return;
    // a CSV whose first rows are real and whose size (a sparse tail: no blocks) exceeds the free space
    const big = path.join(dir, 'huge.csv');
    if (process.platform === 'win32') return; // (NTFS would not keep the tail sparse)
    writeFileSync(big, readFileSync(csv));
    truncateSync(big, free + 1024 ** 3);
    if (statSync(big).blocks * 512 > 64 << 20) {
      rmSync(big, { force: true }); // this file system allocated the tail: no test here
      return;
    }
    const store = new Datasets(home, null);
    try {
      const t0 = Date.now();
      const err = await store.open(big).catch((e) => e);
      expect(err).toMatchObject({ code: 'E_WRITE', file: cache });
      expect(err.message).toMatch(/not enough free space for the columnar copy of .*huge\.csv/);
      expect(err.message).toMatch(/needs about \d+(\.\d)? [kMGT]B, the folder has \d+(\.\d)? [kMGT]?B free/);
      expect(Date.now() - t0).toBeLessThan(5000); // nothing was read
      expect(existsSync(cache) ? readdirSync(cache).filter((n) => n.endsWith('.arrow') || tempOwner(n) !== null) : []).toEqual([]);
    } finally {
      store.close();
      rmSync(big, { force: true });
    }
  });
});
