/**
 * `cdx plot --kind line` on a CSV time series: the CSV of decimated points is DuckDB's M4 of the
 * same file (per pixel column: the first and last point by time, the lowest and highest value),
 * the PNG has one pixel column per M4 column with the line drawn, the SVG holds the lines as paths
 * and the axes as text, and bad requests get errors naming the file, the column or the option.
 * The command runs in this process (the engine from source), with its own data folder.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { inflateSync } from 'node:zlib';
import os from 'node:os';
import path from 'node:path';
import { duckQuery } from '../engine/sources/testing/oracle';
import { cdx } from './testing/cdx';

const sq = (s: string) => "'" + s.replace(/'/g, "''") + "'";
let dir = '';
let input = '';
const oldHome = process.env.CDX_HOME;
const N = 50_000;
const T0 = Date.UTC(2024, 0, 1);


beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cdx-plotline-'));
  process.env.CDX_HOME = path.join(dir, 'home');
  input = path.join(dir, 'series.csv');
  // one reading a minute, unique times; two values, a station name; an empty value every 50th row
  const lines = ['t,temp,load,station'];
  let s = 42, temp = 10, load = 100;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (let i = 0; i < N; i++) {
    temp += (rnd() - 0.5) * 0.8;
    load = 100 + 15 * Math.sin(i / 700) + (rnd() - 0.5) * 5;
    lines.push(`${new Date(T0 + i * 60_000).toISOString().replace('.000Z', 'Z')},${i % 50 === 0 ? '' : temp.toFixed(3)},${load.toFixed(2)},${i % 3 === 0 ? 'north' : 'south'}`);
  }
  writeFileSync(input, lines.join('\n') + '\n');
});

afterAll(() => {
  if (oldHome === undefined) delete process.env.CDX_HOME;
  else process.env.CDX_HOME = oldHome;
  rmSync(dir, { recursive: true, force: true });
});

/** DuckDB's M4 of `col` over [x0, x1) ms at W columns: per column the points that must be in the line */
async function duckM4(col: string, x0: number, x1: number, W: number, where = 'true'): Promise<Map<number, { first: string; last: string; min: number; max: number }>> {
  const ms = `epoch_ms(t::TIMESTAMP)`;
  const px = `least(floor((${ms} - ${x0}) * ${W} / ${x1 - x0})::BIGINT, ${W - 1})`;
  const rows = await duckQuery(
    `SELECT ${px} AS p, arg_min(${ms}, ${ms})::VARCHAR || ',' || arg_min(${col}, ${ms})::VARCHAR, arg_max(${ms}, ${ms})::VARCHAR || ',' || arg_max(${col}, ${ms})::VARCHAR, min(${col}), max(${col})
     FROM read_csv(${sq(input)}) WHERE ${col} IS NOT NULL AND ${ms} >= ${x0} AND ${ms} < ${x1} AND ${where} GROUP BY p`,
  );
  return new Map(rows.map((r) => [Number(r[0]), { first: String(r[1]), last: String(r[2]), min: Number(r[3]), max: Number(r[4]) }]));
}

describe('cdx plot --kind line', () => {
  it('the CSV of decimated points is the M4 of every row (DuckDB), per pixel column', async () => {
    const out = path.join(dir, 'temp.csv');
    const text = await cdx(['plot', input, '--kind', 'line', '--x', 't', '--y', 'temp', '--width', '400', '--out', out]);
    expect(text).toMatch(/^wrote .*temp\.csv \(400x600, 49,000 points drawn\)$/);
    const pts = readFileSync(out, 'utf8').trim().split('\n');
    expect(pts[0]).toBe('series,x,y');
    const x0 = T0, x1 = T0 + (N - 1) * 60_000 + 1;
    const m4 = await duckM4('temp', x0, x1, 400);
    const got = pts.slice(1).map((l) => l.split(','));
    expect(got.every((c) => c[0] === 'temp')).toBe(true);
    const keyed = new Set(got.map((c) => `${Date.parse(c[1]!)},${Number(c[2])}`));
    expect(m4.size).toBe(400);
    for (const [p, m] of m4) {
      const [fx, fy] = m.first.split(',').map(Number);
      const [lx, ly] = m.last.split(',').map(Number);
      expect(keyed.has(`${fx},${fy}`), `column ${p} first`).toBe(true);
      expect(keyed.has(`${lx},${ly}`), `column ${p} last`).toBe(true);
    }
    // per column, the lowest and highest value drawn are DuckDB's
    const byCol = new Map<number, number[]>();
    for (const c of got) {
      const p = Math.min(399, Math.floor(((Date.parse(c[1]!) - x0) * 400) / (x1 - x0)));
      byCol.set(p, [...(byCol.get(p) ?? []), Number(c[2])]);
    }
    for (const [p, m] of m4) {
      expect(Math.min(...byCol.get(p)!), `column ${p}`).toBe(m.min);
      expect(Math.max(...byCol.get(p)!), `column ${p}`).toBe(m.max);
    }
    expect(got.length).toBeLessThanOrEqual(4 * 400);
  });

  it('a filter, two series and a time range; the split gives a series per value', async () => {
    const out = path.join(dir, 'two.csv');
    const x0 = T0 + 10_000 * 60_000, x1 = T0 + 12_000 * 60_000;
    const iso = (v: number) => new Date(v).toISOString();
    await cdx(['plot', input, '--kind', 'line', '--x', 't', '--y', 'temp,load', '--xlim', `${iso(x0)},${iso(x1)}`, '--where', 'load > 90', '--width', '100', '--out', out]);
    const got = readFileSync(out, 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
    expect(new Set(got.map((c) => c[0]))).toEqual(new Set(['temp', 'load']));
    const m4 = await duckM4('load', x0, x1, 100, 'load > 90');
    expect(m4.size).toBeGreaterThan(50);
    const loads = got.filter((c) => c[0] === 'load');
    for (const [, m] of m4) expect(loads.some((c) => Number(c[2]) === m.max)).toBe(true);
    // the neighbours beyond the range are the first and last points
    expect(Date.parse(loads[0]![1]!)).toBeLessThan(x0);
    expect(Date.parse(loads[loads.length - 1]![1]!)).toBeGreaterThanOrEqual(x1);
    const split = path.join(dir, 'split.csv');
    await cdx(['plot', input, '--kind', 'line', '--x', 't', '--y', 'load', '--split', 'station', '--width', '50', '--out', split]);
    expect(new Set(readFileSync(split, 'utf8').trim().split('\n').slice(1).map((l) => l.split(',')[0]))).toEqual(new Set(['load · north', 'load · south']));
  });

  it('PNG: W x H, one pixel column per M4 column, a line in every column; SVG: paths and text axes', async () => {
    const png = path.join(dir, 'temp.png');
    await cdx(['plot', input, '--kind', 'line', '--x', 't', '--y', 'temp', '--width', '300', '--height', '120', '--out', png]);
    const b = readFileSync(png);
    expect(b.subarray(1, 4).toString()).toBe('PNG');
    expect(b.readUInt32BE(16)).toBe(300);
    expect(b.readUInt32BE(20)).toBe(120);
    // decode (colour type 6, filter 0 on every line: shared/plot/encode.ts) and count inked columns
    const chunks: Buffer[] = [];
    for (let o = 8; o < b.length;) {
      const len = b.readUInt32BE(o), type = b.subarray(o + 4, o + 8).toString();
      if (type === 'IDAT') chunks.push(b.subarray(o + 8, o + 8 + len));
      o += 12 + len;
    }
    const raw = inflateSync(Buffer.concat(chunks));
    const inked = new Set<number>();
    for (let j = 0; j < 120; j++) for (let i = 0; i < 300; i++) {
      const o = j * (300 * 4 + 1) + 1 + i * 4;
      if (raw[o] !== 255 || raw[o + 1] !== 255 || raw[o + 2] !== 255) inked.add(i);
    }
    expect(inked.size).toBe(300);
    const svg = path.join(dir, 'temp.svg');
    await cdx(['plot', input, '--kind', 'line', '--x', 't', '--y', 'temp,load', '--area', '--out', svg]);
    const text = readFileSync(svg, 'utf8');
    expect(text.match(/<path class="series"/g)).toHaveLength(2);
    expect(text.match(/<path class="area"/g)).toHaveLength(2);
    expect(text).toContain('>2024</text>');
    expect(text).not.toContain('<image');
  });

  it('bad requests: errors name the option, the file or the column, and nothing is written', async () => {
    const out = path.join(dir, 'bad.png');
    await expect(cdx(['plot', input, '--kind', 'pie', '--x', 't', '--y', 'temp', '--out', out])).rejects.toThrow(/--kind pie: one of density, line/);
    await expect(cdx(['plot', input, '--kind', 'line', '--x', 't', '--y', 'station', '--out', out])).rejects.toThrow(/series\.csv.*"station"/);
    await expect(cdx(['plot', input, '--kind', 'line', '--x', 't', '--y', 'nope', '--out', out])).rejects.toThrow(/"nope"/);
    await expect(cdx(['plot', input, '--kind', 'line', '--x', 't', '--y', 'temp', '--out', path.join(dir, 'x.npy')])).rejects.toThrow(/\.png, \.svg or \.csv/);
    await expect(cdx(['plot', input, '--kind', 'line', '--x', 't', '--y', 'temp,load', '--split', 'station', '--out', out])).rejects.toThrow(/exactly one y/);
    await expect(cdx(['plot', input, '--x', 't', '--y', 'temp', '--split', 'station', '--out', out])).rejects.toThrow(/--kind line/);
    expect(existsSync(out)).toBe(false);
  });
});
