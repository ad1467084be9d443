/**
 * Benchmark `remote_parquet` (issue 15): a Parquet file of --remote-rows rows (default 2.2e7, about
 * 1 GB: id int64, fare double, payment string of 13 values, flag bool, maybe double with nulls, pad
 * string, four random doubles) summarised on 3 columns (fare, payment, maybe) through the engine's
 * handlers exactly as the app calls them (open, then summary of those columns), from a URL on
 * loopback — Debian's nginx serving the file (main/engine/remote/testing; the small Node server of
 * the tests where nginx is missing) — against the same file opened from the disk. Each run uses a
 * fresh catalog (nothing cached), the file is page-cached for both; the median of --reps runs each.
 *   value: the remote open + summary, seconds;
 *   vs.local = the local file's open + summary (the product's local path: a local Parquet file is
 *     ingested whole into the columnar cache on open) / the remote time (target ≥ 0.7);
 *   vs.local_reader = the local file read by the same column reader as the remote one (footer, then
 *     the three columns' chunks, through main/engine/remote/columns.ts) / the remote time: what the
 *     loopback transport itself costs, the same work on both sides.
 * The note gives the bytes the server sent against the file's size.
 *
 *   npx tsx bench/run.ts --only remote [--remote-rows 1e7] [--reps 3]   (or npx tsx bench/remote.ts …)
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Figure } from './figure';
import type { HandlerContext } from '../shared/rpc';
import { createEngineHandlers } from '../main/engine/service';
import { nginxBinary, startNginx, startNodeServer, type Served } from '../main/engine/remote/testing/servers';
import { open } from 'node:fs/promises';
import type { RemoteFile } from '../main/engine/remote/file';
import type { RemoteStamp } from '../main/engine/remote/http';
import { RemoteColumns } from '../main/engine/remote/columns';
import { openParquetBytes } from '../main/engine/sources/parquet';
import { summarizeColumns } from '../main/engine/summarize';
import type { ColumnDesc } from '../native/index';
import { isSupported, readArrowColumns } from '../main/engine/columns/arrow';

const ctx = (): HandlerContext => ({ signal: new AbortController().signal, progress: () => {}, connection: 'bench' });
const COLUMNS = ['fare', 'payment', 'maybe'];

function median(a: number[]): number {
  const s = [...a].sort((p, q) => p - q);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function makeParquet(file: string, rows: number): Promise<void> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const inst = await DuckDBInstance.create(':memory:');
  const con = await inst.connect();
  try {
    await con.run(`COPY (SELECT i AS id, (i * 7919) % 100000 / 100.0 AS fare, 'k' || (i % 13) AS payment, i % 5 = 0 AS flag,
      CASE WHEN i % 11 = 0 THEN NULL ELSE (i * 0.5)::DOUBLE END AS maybe, repeat('x', (i % 40)::INT) AS pad,
      random() AS r1, random() AS r2, random() AS r3, random() AS r4 FROM range(${rows}) t(i))
      TO '${file.replace(/'/g, "''")}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)`);
  } finally {
    con.closeSync();
    inst.closeSync();
  }
}

async function timeOne(location: string, dir: string): Promise<number> {
  const home = mkdtempSync(join(dir, 'remote-home-'));
  const h = createEngineHandlers({ home, samplePath: null });
  try {
    const t0 = performance.now();
    const ov = await h.open({ location }, ctx());
    await h.summary({ dataset: ov.entry.id, columns: COLUMNS }, ctx());
    return (performance.now() - t0) / 1000;
  } finally {
    h.close();
    rmSync(home, { recursive: true, force: true });
  }
}

/** The local file as a RemoteFile (file.ts): the same column reader as a remote one, over the disk. */
function localFile(file: string): RemoteFile {
  const st = statSync(file);
  const stamp: RemoteStamp = { size: st.size, etag: null, lastModified: new Date(st.mtimeMs).toUTCString(), ranges: true };
  return {
    display: file,
    name: file.split('/').pop()!,
    stat: async () => stamp,
    read: async (start, end) => {
      const fh = await open(file, 'r');
      try {
        const b = new Uint8Array(end - start);
        await fh.read(b, 0, b.length, start);
        return b;
      } finally {
        await fh.close();
      }
    },
    download: async () => stamp,
  };
}

/** Footer, the three columns through the column reader, their summary: the remote path's work, over any RemoteFile. */
async function timeReader(rf: RemoteFile, dir: string): Promise<number> {
  const home = mkdtempSync(join(dir, 'remote-reader-'));
  try {
    const t0 = performance.now();
    const stamp = await rf.stat();
    const cols = new RemoteColumns(join(home, 'cols'), rf, stamp, (s, _k, fields) => {
      const a = readArrowColumns(s.path);
      const columns = new Map<string, ColumnDesc>(a.columns.filter((c) => isSupported(c) && fields.some((f) => f.name === c.name)).map((c) => [c.name, c as ColumnDesc]));
      return { columns, unsupported: new Map(), rows: a.rows };
    });
    const src = await openParquetBytes(cols.reader);
    cols.adopt(src);
    const info = await src.info();
    const target = { location: rf.display, schema: info.schema, columns: new Map<string, ColumnDesc>(), unsupported: new Map<string, string>() };
    await cols.ensure(target, COLUMNS);
    await summarizeColumns(COLUMNS.map((n) => ({ field: info.schema.fields.find((f) => f.name === n)!, col: target.columns.get(n)! })), {});
    await cols.close();
    return (performance.now() - t0) / 1000;
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

export async function benchRemote(o: { dir: string; rows: number; reps: number; log: (m: string) => void }): Promise<Figure[]> {
  const data = join(o.dir, 'remote');
  mkdirSync(data, { recursive: true });
  const file = join(data, `data-v2-${o.rows}.parquet`);
  if (!existsSync(file)) {
    o.log(`remote: writing ${o.rows} rows to ${file}`);
    await makeParquet(file, o.rows);
  }
  const size = statSync(file).size;
  readFileSync(file); // page-cached for both sides
  const server: Served = nginxBinary() ? await startNginx(data) : await startNodeServer(data);
  const by = nginxBinary() ? 'nginx' : 'a Node server';
  try {
    const url = `${server.base}/${file.split('/').pop()}`;
    const local: number[] = [];
    const remote: number[] = [];
    const reader: number[] = [];
    let sent = 0;
    for (let i = 0; i < o.reps; i++) {
      local.push(await timeOne(file, o.dir));
      const n0 = server.log().length;
      remote.push(await timeOne(url, o.dir));
      sent = server.log().slice(n0).reduce((n, l) => n + l.bytes, 0);
      reader.push(await timeReader(localFile(file), o.dir));
      o.log(`remote: local ${local[i]!.toFixed(3)} s, local by the column reader ${reader[i]!.toFixed(3)} s, over http ${remote[i]!.toFixed(3)} s (${sent} bytes sent)`);
    }
    const l = median(local);
    const r = median(remote);
    const lr = median(reader);
    return [{
      name: 'remote_parquet',
      value: +r.toFixed(3),
      unit: 's',
      vs: { local: +(l / r).toFixed(2), local_reader: +(lr / r).toFixed(2) },
      note: `${o.rows.toLocaleString('en-US')} rows, ${(size / 1e6).toFixed(1)} MB Parquet, summary of ${COLUMNS.join(', ')} over loopback http from ${by} `
        + `(${(sent / 1e6).toFixed(1)} MB sent, ${((100 * sent) / size).toFixed(1)}% of the file: the footer and those columns' chunks); `
        + `local (whole file ingested) ${l.toFixed(3)} s; local by the same column reader ${lr.toFixed(3)} s; median of ${o.reps}`,
    }];
  } finally {
    await server.stop();
  }
}

if (process.argv[1] && /bench[\\/]remote\.ts$/.test(process.argv[1])) {
  const argv = process.argv.slice(2);
  const opt = (name: string, d: number) => (argv.includes(`--${name}`) ? Number(argv[argv.indexOf(`--${name}`) + 1]) : d);
  const dir = argv.includes('--dir') ? argv[argv.indexOf('--dir') + 1]! : join(tmpdir(), 'cdx-bench');
  const figs = await benchRemote({ dir, rows: opt('rows', 2.2e7), reps: opt('reps', 3), log: (m) => process.stderr.write(`[bench] ${m}\n`) });
  for (const f of figs) console.log(argv.includes('--json') ? JSON.stringify(f) : f);
}
