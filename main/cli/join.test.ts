/**
 * `cdx join` as a user runs it (the built bin, its own data folder): two CSV files joined on a key
 * (inner and left, filters on each side) — the rows DuckDB's JOIN gives, as a table, as NDJSON
 * and written with --out (read back by DuckDB); the catalog left as it was unless --keep; an
 * unknown key column is one clear line naming the file and the close name.
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { appRoot } from '../engine/paths';
import { duckQuery } from '../engine/sources/testing/oracle';

const root = appRoot();
const bin = path.join(root, 'bin', 'cdx.mjs');
const built = existsSync(path.join(root, 'out', 'main', 'cli.js'));

function cdx(args: string[], home: string): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: root, env: { ...process.env, CDX_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, out, err }));
  });
}

const sq = (s: string) => "'" + s.replace(/'/g, "''") + "'";

describe.runIf(built)('cdx join', () => {
  it('inner and left joins of two CSV files equal DuckDB (table, NDJSON, --out); --keep keeps the result in the catalog', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cdx-cli-join-'));
    try {
      const home = path.join(dir, 'home');
      const a = path.join(dir, 'trips.csv'), b = path.join(dir, 'zones.csv');
      const la = ['id,zone,fare'], lb = ['zone_id,name,fare'];
      for (let i = 0; i < 5000; i++) la.push(`${i},${i % 13 === 0 ? '' : i % 60},${(i * 7919) % 1000 / 10}`);
      for (let z = 0; z < 50; z++) lb.push(`${z},${z % 7 === 0 ? 'Zürich' : `zone ${z}`},${z}`);
      lb.push('3,three again,3'); // a duplicate key: two right rows for zone 3
      writeFileSync(a, la.join('\n') + '\n');
      writeFileSync(b, lb.join('\n') + '\n');
      const duck = (how: string, where = '') => duckQuery(`SELECT t.id::VARCHAR, z.name FROM read_csv(${sq(a)}) t ${how} JOIN read_csv(${sq(b)}) z ON t.zone = z.zone_id${where} ORDER BY t.id, z.zone_id, z.name = 'three again'`);

      // NDJSON: every row, the right's clashing `fare` as fare_1
      const r1 = await cdx(['join', a, b, '--on', 'zone=zone_id', '--json'], home);
      expect(r1.code, r1.err).toBe(0);
      const rows = r1.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      const want = await duck('INNER');
      expect(rows.map((r) => [String(r.id), r.name])).toEqual(want);
      expect(Object.keys(rows[0]!)).toEqual(['id', 'zone', 'fare', 'zone_id', 'name', 'fare_1']);

      // a left join with filters, written to Parquet; read back by DuckDB
      const out = path.join(dir, 'j.parquet');
      const r2 = await cdx(['join', a, b, '--on', 'zone=zone_id', '--how', 'left', '--where-left', 'id < 1000', '--where-right', "name != 'zone 5'", '--out', out, '--json'], home);
      expect(r2.code, r2.err).toBe(0);
      const info = JSON.parse(r2.out) as { rows: number; leftRows: number; rightRows: number; via: string };
      const back = await duckQuery(`SELECT id::VARCHAR, name FROM read_parquet(${sq(out)}) ORDER BY id, zone_id, name = 'three again'`);
      const wantLeft = await duckQuery(`SELECT t.id::VARCHAR, z.name FROM (SELECT * FROM read_csv(${sq(a)}) WHERE id < 1000) t LEFT JOIN (SELECT * FROM read_csv(${sq(b)}) WHERE name != 'zone 5') z ON t.zone = z.zone_id ORDER BY t.id, z.zone_id, z.name = 'three again'`);
      expect(back).toEqual(wantLeft);
      expect(info).toMatchObject({ rows: wantLeft.length, leftRows: 1000, rightRows: 50, via: 'native' });

      // a table on the terminal, and nothing left in the catalog; --keep keeps it
      const r3 = await cdx(['join', a, b, '--on', 'zone=zone_id', '--limit', '3'], home);
      expect(r3.code, r3.err).toBe(0);
      expect(r3.out).toMatch(/id\s+zone\s+fare\s+zone_id\s+name\s+fare_1/);
      expect(r3.out).toMatch(new RegExp(`${want.length.toLocaleString('en-US')} rows \\(inner join of 5,000 × 51 rows`));
      const list = async () => (JSON.parse((await cdx(['catalog', 'list', '--json'], home)).out) as { name: string; sample?: boolean }[]).filter((e) => !e.sample);
      expect((await list()).map((e) => e.name).sort()).toEqual(['trips.csv', 'zones.csv']);
      const r4 = await cdx(['join', a, b, '--on', 'zone=zone_id', '--keep', '--limit', '1'], home);
      expect(r4.code, r4.err).toBe(0);
      expect((await list()).map((e) => e.name)).toContain('join(trips.csv, zones.csv)');

      // an unknown key column: one line naming the file and the close name
      const r5 = await cdx(['join', a, b, '--on', 'zonee=zone_id'], home);
      expect(r5.code).not.toBe(0);
      expect(r5.err).toMatch(/trips\.csv.*no column "zonee".*did you mean 'zone'/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
