/**
 * filter_computed (issue 17): a computed column in a filter against the plain filter it replaces,
 * through the engine's requests as the app makes them — the first window of a filtered table
 * (`rows({ where })`, which counts the rows that pass), on an Arrow file as the ingest lays it out
 * (262,144-row record batches, bench/group.ts's data):
 *   - filter_plain:    x > T and y < 50
 *   - filter_computed: x2 > 2T − 0.5 and y < 50, with x2 defined as `x * 2 - 0.5` (defineColumn):
 *                      the same rows, x2 evaluated per chunk as the kernels read it
 * vs.plain = plain's time / computed's (the issue's target: a computed column costs ≤ 1.5× the
 * plain filter, i.e. vs.plain ≥ 0.67); vs.duckdb = DuckDB's count(*) with the same expression on
 * its own table, same threads / ours. T moves a hair each run so no count is reused.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { Figure } from './figure';
import { BATCH_ROWS } from './plot';
import { writeData } from './group';
import { nativeInfo } from '../native/index';

export async function benchExpr(opts: { dir: string; rows: number; reps: number; duckdb: boolean; log: (m: string) => void }): Promise<Figure[]> {
  mkdirSync(opts.dir, { recursive: true });
  const path = join(opts.dir, `group-${opts.rows}.arrow`);
  if (!existsSync(path)) {
    opts.log(`filter_computed: writing ${opts.rows.toExponential(2)} rows to ${path}`);
    await writeData(path, opts.rows);
  }
  const threads = nativeInfo().threads ?? 2;
  const { createEngineHandlers } = await import('../main/engine/service');
  const home = mkdtempSync(join(tmpdir(), 'cdx-bench-expr-'));
  const h = createEngineHandlers({ home, samplePath: null });
  const ctx = { signal: new AbortController().signal, progress: () => {}, connection: 'bench' };
  const reps = Math.max(1, opts.reps);
  const plain: number[] = [], computed: number[] = [];
  let passed = 0;
  try {
    const ov = await h.open({ location: path }, ctx);
    await h.defineColumn({ dataset: ov.entry.id, name: 'x2', expr: 'x * 2 - 0.5' }, ctx);
    for (let k = 0; k <= reps; k++) {
      const T = 0.25 + k * 1e-9;
      let t = performance.now();
      const a = await h.rows({ dataset: ov.entry.id, offset: 0, limit: 100, where: `x > ${T} and y < 50` }, ctx);
      const pm = performance.now() - t;
      t = performance.now();
      const b = await h.rows({ dataset: ov.entry.id, offset: 0, limit: 100, where: `x2 > ${2 * T - 0.5} and y < 50` }, ctx);
      const cm = performance.now() - t;
      if (a.total !== b.total) throw new Error(`filter_computed: ${b.total} rows pass the computed filter, ${a.total} the plain one`);
      passed = a.total;
      if (k > 0) {
        plain.push(pm);
        computed.push(cm);
      }
    }
  } finally {
    h.close();
    rmSync(home, { recursive: true, force: true });
  }
  const duck: number[] = [];
  if (opts.duckdb) {
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const inst = await DuckDBInstance.create(':memory:', { threads: String(threads) });
    const con = await inst.connect();
    await con.run(`CREATE TABLE t AS SELECT random() AS x, random() * 100 AS y FROM range(${opts.rows})`);
    for (let k = 0; k <= reps; k++) {
      const t = performance.now();
      await con.runAndReadAll(`SELECT count(*) FROM t WHERE x * 2 - 0.5 > ${2 * (0.25 + k * 1e-9) - 0.5} AND y < 50`);
      if (k > 0) duck.push(performance.now() - t);
    }
    con.closeSync?.();
    inst.closeSync?.();
  }
  const med = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1]!;
  const p = med(plain), c = med(computed), d = duck.length ? med(duck) : NaN;
  opts.log(`filter_computed: plain ${plain.map((x) => x.toFixed(0)).join(' ')} ms; computed ${computed.map((x) => x.toFixed(0)).join(' ')} ms; DuckDB ${duck.map((x) => x.toFixed(0)).join(' ')} ms`);
  const note = `${opts.rows.toExponential(2)} rows in ${BATCH_ROWS}-row batches, ${passed.toLocaleString('en-US')} pass, first window of the filtered table, ${threads} threads; median of ${plain.length}`;
  return [
    { name: 'filter_plain', value: +(p / 1000).toFixed(3), unit: 's', vs: {}, note },
    {
      name: 'filter_computed', value: +(c / 1000).toFixed(3), unit: 's',
      vs: { plain: +(p / c).toFixed(2), ...(Number.isFinite(d) ? { duckdb: +(d / c).toFixed(2) } : {}) },
      note: `${note}; x2 = x * 2 - 0.5 (computed per chunk, not stored)${Number.isFinite(d) ? `; DuckDB (own table, ${threads} threads) ${d.toFixed(0)} ms` : ''}`,
    },
  ];
}
