/**
 * `cdx`, the command line: the same engine as the app, JSON for scripts, readable text otherwise.
 * Exit 0 on success; otherwise non-zero with one line naming the file and the problem (a syntax
 * error in an expression or in a database query adds the line with a caret under the position).
 * Databases are locations too: `postgresql://USER@HOST:PORT/DB::SCHEMA.TABLE`,
 * `clickhouse://USER@HOST:PORT/DB::TABLE`; `--sql "SELECT …"` on a connection opens a query;
 * `cdx schema URL` lists a connection's tables and views.
 */
import { Command, InvalidArgumentError } from 'commander';
import { COLUMN_TYPE_CHOICES, warningText, type ColumnTypeChoice, type DatasetOverview } from '../../shared/api';
import { CdxError } from '../../shared/errors';
import { parseJoinOn } from '../../shared/join';
import { SingleBar, Presets } from 'cli-progress';
import { appVersion, clientFor, isDbUrl, queryLocation, querySqlOf, redactUrl, splitDbUrl, stopEarlyEngine, withEngine, type CliEngine, type WithEngineOptions } from './engine-client';
import { registerConvert } from './convert';
import { registerPlot } from './plot';
import { registerRun } from './run';
import { cell, columnCells, exactJson, grouped, relationsText, sqlErrorWithCaret, SqlErrorWithCaret, summaryJson, summaryText, table } from './format';
import type { Progress } from '../../shared/rpc';

function parsePort(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('a port is a whole number from 0 to 65535.');
  return n;
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

function parseCount(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('a row count is a whole number.');
  return n;
}

function list(v: string): string[] {
  return v.split(',').map((x) => x.trim()).filter(Boolean);
}

/** A progress bar on a terminal (stderr), nothing when piped. */
function progressBar(label: string): { update(p: Progress): void; stop(): void } {
  if (!process.stderr.isTTY) return { update() {}, stop() {} };
  const bar = new SingleBar({ format: `${label} [{bar}] {percentage}% {stage}`, stream: process.stderr, hideCursor: true, clearOnComplete: true }, Presets.shades_classic);
  bar.start(100, 0, { stage: '' });
  return {
    update: (p) => {
      if (p.done >= 0) bar.update(Math.round(p.done * 100), { stage: typeof p.detail === 'string' ? p.detail : '' });
    },
    stop: () => bar.stop(),
  };
}

/** `--type col=T` (repeatable): T one of COLUMN_TYPE_CHOICES, or `auto` for the reader's own type. */
function typeOption(v: string, prev: [string, ColumnTypeChoice | null][]): [string, ColumnTypeChoice | null][] {
  const i = v.lastIndexOf('=');
  const name = i > 0 ? v.slice(0, i) : '', t = i > 0 ? v.slice(i + 1).trim() : '';
  if (!name || !(t === 'auto' || (COLUMN_TYPE_CHOICES as readonly string[]).includes(t))) {
    throw new InvalidArgumentError(`give COLUMN=TYPE, TYPE one of ${COLUMN_TYPE_CHOICES.join(', ')} or auto (the reader's type).`);
  }
  return [...prev, [name, t === 'auto' ? null : (t as ColumnTypeChoice)]];
}

/**
 * Gives columns the types asked (the app's "Change type…": kept in the catalog for later commands
 * and the app) and says on stderr how many values did not convert; returns the new overview.
 */
async function applyTypes(e: CliEngine, ov: DatasetOverview, types: [string, ColumnTypeChoice | null][], signal: AbortSignal): Promise<DatasetOverview> {
  for (const [column, type] of types) {
    if ((ov.typeOverrides?.[column] ?? null) === type) continue;
    const bar = progressBar(`reading ${column} as ${type ?? 'found'}`);
    try {
      const r = await e.api.setColumnType({ dataset: ov.entry.id, column, type }, { signal, onProgress: bar.update });
      ov = r.overview;
    } finally {
      bar.stop();
    }
  }
  return ov;
}

async function openDataset(e: CliEngine, location: string, signal: AbortSignal) {
  const bar = progressBar('opening');
  try {
    return await e.api.open({ location }, { signal, onProgress: bar.update });
  } finally {
    bar.stop();
  }
}

const SQL_HELP = 'on a database connection (URL without ::TABLE): the rows of this query, e.g. "SELECT * FROM t WHERE x > 1"';

/**
 * Runs a command on one location with an engine: a database's refused login may ask for the
 * password (engine-client.ts), and a query's syntax error comes back with a caret under its position.
 */
async function onLocation<T>(location: string, fn: (e: CliEngine, signal: AbortSignal) => Promise<T>, opts: WithEngineOptions = {}): Promise<T> {
  try {
    return await withEngine(fn, { urls: [location], ...opts });
  } catch (e) {
    throw sqlErrorWithCaret(e, querySqlOf(location));
  }
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('cdx')
    .description('Continuum Data Explorer: see what is in a dataset, from the command line or in the app.')
    .version(appVersion(), '-V, --version', 'print the version')
    .showHelpAfterError();

  program
    .command('serve')
    .description('serve the app in a browser (web mode) on 127.0.0.1 and print its URL with a one-time access token')
    .option('-p, --port <n>', 'port to listen on (0 = a free port)', parsePort, 0)
    .option('-H, --host <address>', 'address to bind (another address than 127.0.0.1 exposes the app to the network: it needs --tls-cert and --tls-key, or --insecure)', '127.0.0.1')
    .option('--allow-host <name>', 'also accept this Host name (e.g. the machine\'s DNS name when bound to 0.0.0.0)', collect, [])
    .option('--root <dir>', 'a folder the page may browse, open, upload to and export to, beside the data folder (repeatable); nothing outside the roots is reachable from the page', collect, [])
    .option('--tls-cert <file>', 'serve https with this certificate (PEM)')
    .option('--tls-key <file>', 'the certificate\'s private key (PEM)')
    .option('--insecure', 'serve plain http on a non-loopback address (the token and your data cross the network in clear text)')
    .option('--max-upload <size>', 'the largest file the page may upload, e.g. 500M or 8G (default 8G)')
    .option('--upload-quota <size>', 'the most the uploads folder may hold, e.g. 32G (default 32G)')
    .action(async (o: { port: number; host: string; allowHost: string[]; root: string[]; tlsCert?: string; tlsKey?: string; insecure?: boolean; maxUpload?: string; uploadQuota?: string }) => {
      const { serve, exposureWarning, parseSize, isLoopback } = await import('../web/serve');
      // a fixed server token for programs (x-cdx-token header), like JUPYTER_TOKEN; random otherwise
      const token = process.env.CDX_TOKEN || undefined;
      const { server, stop } = await serve({
        host: o.host, port: o.port, extraHosts: o.allowHost, roots: o.root, token,
        tlsCert: o.tlsCert, tlsKey: o.tlsKey, insecure: o.insecure,
        maxUploadBytes: o.maxUpload !== undefined ? parseSize(o.maxUpload) : undefined,
        uploadQuotaBytes: o.uploadQuota !== undefined ? parseSize(o.uploadQuota) : undefined,
      });
      if (!isLoopback(o.host)) console.error(exposureWarning(o.host, server.secure, server.roots));
      const tty = process.stdin.isTTY;
      console.log(
        `Continuum Data Explorer (web mode) is running at:\n\n  ${server.urlWithToken}\n\n` +
          `Open that URL in a browser (it works once: it opens one browser session). The page may use the files in:\n` +
          server.roots.map((r) => `  ${r}\n`).join('') +
          `${tty ? 'Press Enter for another one-time URL, ' : ''}Ctrl+C to stop.`,
      );
      if (tty) {
        process.stdin.on('data', () => console.log(`\n  ${server.launchUrl()}\n`));
        process.stdin.resume();
      }
      const shutdown = async () => {
        await stop();
        process.exit(0);
      };
      process.once('SIGINT', shutdown);
      process.once('SIGTERM', shutdown);
    });

  program
    .command('schema')
    .description('print the dataset\'s DataShape line, e.g. `1000 * {id: int64, name: ?string}`')
    .argument('<path>', 'a file, or PATH::INNER for a dataset inside a container (HDF5, SQLite, NPZ), or a database URL (without ::TABLE: its tables and views)')
    .option('--sql <query>', SQL_HELP)
    .option('--json', 'print the schema as JSON')
    .action(async (path: string, o: { json?: boolean; sql?: string }) => {
      const location = queryLocation(path, o.sql);
      await onLocation(location, async (e, signal) => {
        // a connection without a table: its tables and views, as the app lists a container's
        if (isDbUrl(location) && !splitDbUrl(location).inner) {
          const items = await e.api.listInner({ path: location }, { signal });
          const connection = redactUrl(splitDbUrl(location).connection);
          if (o.json) console.log(exactJson({ connection, relations: items }, 2));
          else console.log(relationsText(connection, items));
          return;
        }
        const ov = await openDataset(e, location, signal);
        if (o.json) console.log(exactJson({ rows: ov.rows, fields: ov.schema.fields, metadata: ov.metadata }, 2));
        else console.log(ov.dataShape);
        for (const w of ov.warnings) console.error(`warning: ${warningText(w)}`);
      });
    });

  program
    .command('head')
    .description('print the first rows')
    .argument('<path>', 'a file, or PATH::INNER, or a database URL::TABLE')
    .option('--sql <query>', SQL_HELP)
    .option('-n, --rows <n>', 'how many rows', parseCount, 20)
    .option('--offset <n>', 'skip this many rows first (0: from the first row)', parseCount, 0)
    .option('--columns <a,b>', 'only these columns', list)
    .option('--json', 'one JSON object per row (NDJSON)')
    .option('--type <col=T>', 'read a column as T (string, category, int64, float64, bool, date, timestamp; auto: as found); kept for later', typeOption, [])
    .action(async (path: string, o: { rows: number; offset: number; columns?: string[]; json?: boolean; sql?: string; type: [string, ColumnTypeChoice | null][] }) => {
      const location = queryLocation(path, o.sql);
      await onLocation(location, async (e, signal) => {
        const ov = await applyTypes(e, await openDataset(e, location, signal), o.type, signal);
        const r = await e.api.rows({ dataset: ov.entry.id, offset: o.offset, limit: o.rows, columns: o.columns }, { signal });
        const { tableFromIPC } = await import('apache-arrow');
        const t = tableFromIPC(r.ipc);
        const names = t.schema.fields.map((f) => f.name);
        const fields = names.map((n) => ov.schema.fields.find((f) => f.name === n));
        // column by column (timestamps from their raw int64: micro- and nanoseconds kept)
        const cols = names.map((_, j) => columnCells(t.getChildAt(j)!, fields[j]?.type, fields[j]?.unit));
        const shown: unknown[][] = [];
        for (let i = 0; i < t.numRows; i++) shown.push(cols.map((c) => c[i]));
        // rows the reader skipped are in no window: say so (on stderr), as summary and schema do
        for (const w of ov.warnings) console.error(`warning: ${warningText(w)}`);
        if (o.json) {
          for (const row of shown) console.log(exactJson(Object.fromEntries(names.map((n, j) => [n, row[j]]))));
          return;
        }
        const numeric = t.schema.fields.map((f) => /Int|Float|Decimal/.test(String(f.type)));
        // row numbers count from 1, as in the app (--offset 10 starts at row 11)
        console.log(table(['#', ...names], shown.map((row, i) => [String(r.offset + i + 1), ...row.map((v) => cell(v))]), [true, ...numeric]));
        const total = grouped(ov.rows);
        console.log(r.rows ? `\nrows ${grouped(r.offset + 1)}–${grouped(r.offset + r.rows)} of ${total}` : `\nno rows at offset ${o.offset} (${total} rows)`);
      });
    });

  program
    .command('summary')
    .description('statistics of every column: count, nulls, distinct, min, max, mean, std, quantiles, top values')
    .argument('<path>', 'a file, or PATH::INNER, or a database URL::TABLE')
    .option('--sql <query>', SQL_HELP)
    .option('--json', 'print one JSON object (int64 values exact)')
    .option('--where <expr>', 'only rows where EXPR holds, e.g. "price > 100 and country in (\'US\', \'CA\')"')
    .option('--columns <a,b>', 'only these columns', list)
    .option('--strict', 'refuse a file with malformed rows instead of skipping them')
    .option('--type <col=T>', 'read a column as T (string, category, int64, float64, bool, date, timestamp; auto: as found); values that do not convert are null and counted; kept for later', typeOption, [])
    .action(async (path: string, o: { json?: boolean; where?: string; columns?: string[]; strict?: boolean; sql?: string; type: [string, ColumnTypeChoice | null][] }) => {
      const location = queryLocation(path, o.sql);
      await onLocation(location, async (e, signal) => {
        const ov = await applyTypes(e, await openDataset(e, location, signal), o.type, signal);
        if (o.strict && ov.warnings.some((w) => w.code === 'W_BAD_ROW')) {
          const first = ov.warnings.find((w) => w.code === 'W_BAD_ROW')!;
          throw CdxError.file('E_BAD_ROW', ov.entry.path, `malformed rows (first at line ${first.line}: ${first.message}); refused because of --strict`);
        }
        const bar = progressBar('summarising');
        let s;
        try {
          s = await e.api.summary({ dataset: ov.entry.id, where: o.where, columns: o.columns }, { signal, onProgress: bar.update });
        } finally {
          bar.stop();
        }
        if (o.json) console.log(exactJson(summaryJson(s)));
        else console.log(summaryText(s, ov.dataShape));
        for (const w of ov.warnings) console.error(`warning: ${warningText(w)}`);
      });
    });

  program
    .command('group')
    .description('group rows by key columns and aggregate: count(), sum, mean, min, max, std, var, distinct, median, pNN, quantile(x, q)')
    .argument('<path>', 'a file, or PATH::INNER')
    .requiredOption('--by <a,b>', 'the key columns', list)
    .option('--agg <measures>', 'the measures, e.g. "count(), mean(fare), p99(fare) as slow"', 'count()')
    .option('--where <expr>', 'only rows where EXPR holds, e.g. "price > 100"')
    .option('--sort <cols>', 'order by result columns, -name descending (default: the keys ascending; nulls last)', list)
    .option('--limit <n>', 'only the first N groups (after sorting)', parseCount)
    .option('--pivot <key>', "that key's values become columns (VALUE_MEASURE, or VALUE with one measure; at most 100 values)")
    .option('--json', 'one JSON object per group (NDJSON; int64 exact)')
    .option('--out <file>', 'write the groups to a file (any format convert writes, from its extension)')
    .option('--force', 'replace an existing --out file')
    .action(async (path: string, o: { by: string[]; agg: string; where?: string; sort?: string[]; limit?: number; pivot?: string; json?: boolean; out?: string; force?: boolean }) => {
      await onLocation(path, async (e, signal) => {
        const ov = await openDataset(e, path, signal);
        const bar = progressBar('grouping');
        let r;
        try {
          r = await e.api.groupBy({ dataset: ov.entry.id, by: o.by, agg: o.agg, where: o.where, sort: o.sort, limit: o.limit, ...(o.pivot ? { pivot: o.pivot } : {}) }, { signal, onProgress: bar.update });
        } finally {
          bar.stop();
        }
        const { tableFromIPC, tableToIPC } = await import('apache-arrow');
        const t = tableFromIPC(r.ipc);
        if (o.out) {
          // the groups as an Arrow file, converted by the engine's writers like any dataset
          const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
          const { tmpdir } = await import('node:os');
          const { join } = await import('node:path');
          const dir = mkdtempSync(join(tmpdir(), 'cdx-group-'));
          try {
            const tmp = join(dir, 'groups.arrow');
            writeFileSync(tmp, tableToIPC(t, 'file'));
            const w = await e.api.exportDataset({ location: tmp, output: o.out, force: o.force }, { signal });
            console.error(`wrote ${w.rows.toLocaleString('en-US')} groups to ${w.output} (${w.format})`);
          } finally {
            rmSync(dir, { recursive: true, force: true });
          }
          return;
        }
        const names = r.schema.map((f) => f.name);
        const cols = names.map((n, j) => columnCells(t.getChildAt(j)!, r.schema[j]!.type, r.schema[j]!.unit));
        const shown: unknown[][] = [];
        for (let i = 0; i < t.numRows; i++) shown.push(cols.map((c) => c[i]));
        if (o.json) {
          for (const row of shown) console.log(exactJson(Object.fromEntries(names.map((n, j) => [n, row[j]]))));
          return;
        }
        const numeric = r.schema.map((f) => /^(u?int|float|decimal)/.test(f.type));
        console.log(table(names, shown.map((row) => row.map((v) => cell(v))), numeric));
        const more = r.groups > r.rows ? ` (${grouped(r.rows)} shown)` : '';
        console.log(`${grouped(r.groups)} groups${more}${o.where ? ` where ${o.where}` : ''}`);
      });
    });

  program
    .command('sort')
    .description('rows sorted by columns (-name descending; nulls last, NaN the greatest number, text by code point, ties in file order)')
    .argument('<path>', 'a file, or PATH::INNER, or a database URL::TABLE')
    .requiredOption('--by <cols>', 'the sort columns, e.g. -fare,borough (or --by=-fare,borough)', list)
    .option('--where <expr>', 'only rows where EXPR holds, e.g. "price > 100"')
    .option('--limit <n>', 'only the first N rows of the order (top-N: no full sort); default 20 when printing a table, all with --json or --out', parseCount)
    .option('--columns <a,b>', 'only these columns', list)
    .option('--json', 'one JSON object per row (NDJSON; int64 exact)')
    .option('--out <file>', 'write the sorted rows to a file (any format convert writes, from its extension)')
    .option('--force', 'replace an existing --out file')
    .action(async (path: string, o: { by: string[]; where?: string; limit?: number; columns?: string[]; json?: boolean; out?: string; force?: boolean }) => {
      await onLocation(path, async (e, signal) => {
        const ov = await openDataset(e, path, signal);
        const { tableFromIPC, tableToIPC, Table } = await import('apache-arrow');
        const want = o.limit ?? (o.json || o.out ? Infinity : 20);
        // windows of the sorted view: the first is top-N; any further read through the permutation
        const batches: InstanceType<typeof Table>[] = [];
        const bar = progressBar('sorting');
        let total = 0, got = 0;
        try {
          for (;;) {
            const step = Math.min(want - got, got === 0 ? 10_000 : 262_144);
            if (step <= 0) break;
            const r = await e.api.rows({ dataset: ov.entry.id, offset: got, limit: step, columns: o.columns, where: o.where, sort: o.by }, { signal, onProgress: bar.update });
            total = r.total;
            const t = tableFromIPC(r.ipc);
            batches.push(t);
            got += r.rows;
            if (r.rows < step || got >= total) break;
          }
        } finally {
          bar.stop();
        }
        const t = batches.length === 1 ? batches[0]! : new Table(batches.flatMap((b) => b.batches));
        for (const w of ov.warnings) console.error(`warning: ${warningText(w)}`);
        if (o.out) {
          // the rows as an Arrow file, converted by the engine's writers like any dataset
          const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
          const { tmpdir } = await import('node:os');
          const { join } = await import('node:path');
          const dir = mkdtempSync(join(tmpdir(), 'cdx-sort-'));
          try {
            const tmp = join(dir, 'sorted.arrow');
            writeFileSync(tmp, tableToIPC(t, 'file'));
            const w = await e.api.exportDataset({ location: tmp, output: o.out, force: o.force }, { signal });
            console.error(`wrote ${w.rows.toLocaleString('en-US')} rows to ${w.output} (${w.format})`);
          } finally {
            rmSync(dir, { recursive: true, force: true });
          }
          return;
        }
        const names = t.schema.fields.map((f) => f.name);
        const fields = names.map((n) => ov.schema.fields.find((f) => f.name === n));
        const cols = names.map((_, j) => columnCells(t.getChildAt(j)!, fields[j]?.type, fields[j]?.unit));
        const shown: unknown[][] = [];
        for (let i = 0; i < t.numRows; i++) shown.push(cols.map((c) => c[i]));
        if (o.json) {
          for (const row of shown) console.log(exactJson(Object.fromEntries(names.map((n, j) => [n, row[j]]))));
          return;
        }
        const numeric = t.schema.fields.map((f) => /Int|Float|Decimal/.test(String(f.type)));
        console.log(table(['#', ...names], shown.map((row, i) => [String(i + 1), ...row.map((v) => cell(v))]), [true, ...numeric]));
        console.log(`\nrows 1–${grouped(t.numRows)} of ${grouped(total)} sorted by ${o.by.join(',')}${o.where ? ` where ${o.where}` : ''}`);
      });
    });

  program
    .command('join')
    .description('join two datasets on key columns (inner or left): null keys never match, NaN matches NaN; the right\'s clashing column names get _1')
    .argument('<left>', 'a file, PATH::INNER or a database URL::TABLE')
    .argument('<right>', 'a file, PATH::INNER or a database URL::TABLE')
    .requiredOption('--on <keys>', 'the key columns: k, k1,k2, or left_key=right_key')
    .option('--how <how>', 'inner or left', 'inner')
    .option('--where-left <expr>', 'only left rows where EXPR holds')
    .option('--where-right <expr>', 'only right rows where EXPR holds')
    .option('--columns <a,b>', 'only these columns of the result', list)
    .option('--limit <n>', 'rows printed (default 20)', parseCount)
    .option('--json', 'print what was made as JSON (rows, each side\'s rows, matched, how it ran); with no --out, the rows as NDJSON')
    .option('--out <file>', 'write the joined rows to a file (any format convert writes, from its extension)')
    .option('--force', 'replace an existing --out file')
    .option('--keep', 'keep the joined dataset in the catalog (as join(LEFT, RIGHT))')
    .action(async (left: string, right: string, o: { on: string; how: string; whereLeft?: string; whereRight?: string; columns?: string[]; limit?: number; json?: boolean; out?: string; force?: boolean; keep?: boolean }) => {
      if (o.how !== 'inner' && o.how !== 'left') throw new CdxError('E_BAD_ARG', `--how is inner or left, not "${o.how}"`);
      const on = parseJoinOn(o.on);
      await withEngine(async (e, signal) => {
        const a = await openDataset(e, left, signal);
        const b = await openDataset(e, right, signal);
        const bar = progressBar('joining');
        let r;
        try {
          r = await e.api.join({ left: a.entry.id, right: b.entry.id, on, how: o.how as 'inner' | 'left', whereLeft: o.whereLeft, whereRight: o.whereRight, columns: o.columns }, { signal, onProgress: bar.update });
        } finally {
          bar.stop();
        }
        const id = r.overview.entry.id;
        try {
          const info = { dataset: r.overview.entry.name, rows: r.rows, leftRows: r.leftRows, rightRows: r.rightRows, ...(r.matched !== undefined ? { matched: r.matched } : {}), via: r.via, ms: r.ms };
          if (o.out) {
            const w = await e.api.exportDataset({ dataset: id, output: o.out, force: o.force }, { signal });
            if (o.json) console.log(exactJson({ ...info, out: w.output, format: w.format }));
            else console.error(`wrote ${w.rows.toLocaleString('en-US')} rows to ${w.output} (${w.format})`);
            return;
          }
          const { tableFromIPC } = await import('apache-arrow');
          const want = o.json ? r.rows : Math.min(o.limit ?? 20, r.rows);
          const fields = r.overview.schema.fields;
          const names = fields.map((f) => f.name);
          for (let at = 0; at < want || at === 0; at += 262_144) {
            const w = await e.api.rows({ dataset: id, offset: at, limit: Math.min(262_144, want - at) }, { signal });
            const t = tableFromIPC(w.ipc);
            const cols = names.map((_, j) => columnCells(t.getChildAt(j)!, fields[j]!.type, fields[j]!.unit));
            const shown: unknown[][] = [];
            for (let i = 0; i < t.numRows; i++) shown.push(cols.map((c) => c[i]));
            if (o.json) {
              for (const row of shown) console.log(exactJson(Object.fromEntries(names.map((n, j) => [n, row[j]]))));
            } else {
              const numeric = fields.map((f) => /^(u?int|float|decimal)/.test(f.type));
              console.log(table(names, shown.map((row) => row.map((v) => cell(v))), numeric));
            }
            if (!o.json || w.rows === 0) break;
          }
          if (!o.json) {
            console.log(`\n${grouped(r.rows)} rows (${o.how} join of ${grouped(r.leftRows)} × ${grouped(r.rightRows)} rows${r.matched !== undefined ? `, ${grouped(r.matched)} left rows matched` : ''}; ${r.via}, ${r.ms} ms)${o.keep ? ` — in the catalog as ${r.overview.entry.name}` : ''}`);
          }
        } finally {
          if (!o.keep) await e.api.removeDataset({ dataset: id }, { signal });
        }
      }, { urls: [left, right] });
    });

  const catalog = program.command('catalog').description('the datasets CDX remembers');
  catalog
    .command('list')
    .description('recent first')
    .option('--search <text>', 'only entries whose name, path, format or tag matches')
    .option('--json', 'as JSON')
    .action(async (o: { search?: string; json?: boolean }) => {
      await withEngine(async (e) => {
        const l = await e.api.listDatasets({ search: o.search });
        if (o.json) return console.log(exactJson(l, 2));
        console.log(table(['id', 'name', 'format', 'rows', 'size', 'path'], l.map((d) => [d.id, d.name, d.format, d.rows == null ? '' : String(d.rows), String(d.size), d.path]), [false, false, false, true, true, false]));
      });
    });
  catalog
    .command('add')
    .description('open a dataset (ingesting it into the cache if needed) and remember it')
    .argument('<path>', 'a file, or PATH::INNER')
    .action(async (location: string) => {
      await withEngine(async (e, signal) => {
        const ov = await openDataset(e, location, signal);
        console.log(`${ov.entry.id}  ${ov.dataShape}`);
      });
    });
  catalog
    .command('set-type')
    .description("read a column as another type from now on (the app's Change type…); values that do not convert are null and counted")
    .argument('<path>', 'a file, or PATH::INNER (a CSV file)')
    .argument('<column>', 'the column')
    .argument('<type>', `${COLUMN_TYPE_CHOICES.join(', ')}, or auto (back to the type the reader finds)`)
    .action(async (location: string, column: string, type: string) => {
      await withEngine(async (e, signal) => {
        const [[, t]] = typeOption(`${column}=${type}`, []) as [[string, ColumnTypeChoice | null]];
        const ov = await openDataset(e, location, signal);
        const r = await e.api.setColumnType({ dataset: ov.entry.id, column, type: t }, { signal });
        console.log(r.overview.dataShape);
        if (r.warning) console.error(`warning: ${warningText(r.warning)}`);
      });
    });
  catalog
    .command('column')
    .description("a computed column (the app's Add column…): NAME defined as EXPR over the other columns, kept in the catalog and read like any column (summary, head, group, sort, convert, plot); without NAME, lists them")
    .argument('<path>', 'a file, or PATH::INNER')
    .argument('[name]', 'the column to define')
    .argument('[expr]', "its expression, e.g. \"fare / distance\", \"date_trunc('month', pickup)\", \"upper(city) || '-' || zone\"")
    .option('--remove', 'remove the computed column NAME')
    .option('--json', 'the columns as JSON')
    .action(async (location: string, name: string | undefined, expr: string | undefined, o: { remove?: boolean; json?: boolean }) => {
      await withEngine(async (e, signal) => {
        let ov = await openDataset(e, location, signal);
        if (name !== undefined) {
          if (!o.remove && expr === undefined) throw new CdxError('E_BAD_ARG', `give the expression of ${name}: cdx catalog column ${location} ${name} "EXPR" (or --remove)`);
          try {
            ov = await e.api.defineColumn({ dataset: ov.entry.id, name, expr: o.remove ? null : expr! }, { signal });
          } catch (err) {
            // a syntax or type error points at its position in the expression
            if (err instanceof CdxError && err.position !== undefined && expr) throw new CdxError(err.code, `${err.message.split('\n')[0]!.replace(/ \(at position \d+\)$/, '')}\n  ${expr}\n  ${' '.repeat(err.position)}^`, { file: location, column: name });
            throw err;
          }
        }
        const computed = ov.schema.fields.filter((f) => f.expr !== undefined);
        if (o.json) return console.log(exactJson(computed.map((f) => ({ name: f.name, type: f.type, expr: f.expr })), 2));
        if (!computed.length) return console.log(`${ov.entry.name} has no computed column`);
        console.log(table(['column', 'type', 'expression'], computed.map((f) => [f.name, f.type, f.expr!]), [false, false, false]));
      });
    });
  catalog
    .command('rm')
    .description('forget a dataset (and its cache file; the source is never touched)')
    .argument('<id>', 'the id shown by `cdx catalog list`')
    .action(async (id: string) => {
      await withEngine(async (e) => {
        const r = await e.api.removeDataset({ dataset: id });
        if (!r.removed) throw new CdxError('E_NO_DATASET', `no dataset with id "${id}" in the catalog`);
        console.log(`removed ${id}`);
      });
    });

  registerConvert(program, { progressBar, withEngine });
  registerPlot(program, { withEngine, openDataset, sqlHelp: SQL_HELP });
  registerRun(program, { withEngine });

  program
    .command('open')
    .description('open the app on a dataset (web mode: serve it and print the URL)')
    .argument('<path>', 'a file, or PATH::INNER')
    .option('-p, --port <n>', 'port (web mode)', parsePort, 0)
    .action(async (location: string, o: { port: number }) => {
      const { serve } = await import('../web/serve');
      // the dataset's folder is a root of the page (besides the data folder): its neighbours can be opened too
      const { existsSync } = await import('node:fs');
      const { dirname, resolve } = await import('node:path');
      const file = resolve(location.split('::')[0]!);
      const roots = !/^[a-z][a-z0-9+.-]*:\/\//i.test(location) && existsSync(file) ? [dirname(file)] : [];
      const { server, stop, engine } = await serve({ port: o.port, roots });
      const client = clientFor(engine);
      const ov = await client.api.open({ location: location });
      console.log(`Continuum Data Explorer (web mode) is running at:\n\n  ${server.urlWithToken}#dataset=${encodeURIComponent(ov.entry.id)}\n\nOpen that URL in a browser. Press Ctrl+C to stop.`);
      const shutdown = async () => {
        await stop();
        process.exit(0);
      };
      process.once('SIGINT', shutdown);
      process.once('SIGTERM', shutdown);
    });

  return program;
}

/** Where a refused login's password comes from (the message says it when it is not the prompt). */
function authHint(label: string): string {
  const ch = /^clickhouse:/i.test(label.trim());
  const from = ch ? 'the URL or CLICKHOUSE_PASSWORD' : 'the URL, PGPASSWORD or ~/.pgpass';
  return `the password comes from ${from}${process.stdin.isTTY && process.stderr.isTTY ? '' : ', or from a prompt when cdx runs on a terminal'}`;
}

export async function main(argv = process.argv): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (e) {
    const err = e as { message?: string; code?: string; file?: string };
    // one line naming the file and the problem (multi-line details are for logs); a --where syntax
    // error, or a database query's, keeps its extra lines: the text with a caret under the position
    const msg = err.message ?? String(e);
    let text = err.code === 'E_SYNTAX' || e instanceof SqlErrorWithCaret ? msg : msg.split('\n')[0]!;
    if (err.code === 'E_AUTH' && !/PGPASSWORD|CLICKHOUSE_PASSWORD/.test(text)) text += `; ${authHint(err.file ?? text)}`;
    // a password written in a URL is never shown back, whatever the message
    console.error(`cdx: ${redactUrl(text)}`);
    process.exitCode = 1;
  } finally {
    // the engine started early (early.ts) for a command that did not take it
    await stopEarlyEngine();
  }
}

// run when executed directly (the built out/main/cli.js is imported by bin/cdx.mjs, which calls main)
