/**
 * `cdx convert IN OUT`: any readable dataset to CSV/TSV, Parquet, Arrow/Feather, SQLite, HDF5,
 * NPY/NPZ or NDJSON, whole or filtered, by the engine's `exportDataset` (like every other command,
 * the CLI only talks to the engine): IN is not added to the catalog; when the catalog already has
 * it, its mapped columns are read by the native kernels, otherwise the file is streamed (a sorted
 * conversion, --sort, reads mapped columns: a file not in the catalog is opened for it and
 * forgotten afterwards; a database's rows come in its ORDER BY). The
 * fidelity report (what happens to each column) is printed by --dry-run, and on stderr before
 * writing. Ctrl+C cancels and leaves nothing behind.
 */
import { Command, InvalidArgumentError } from 'commander';
import { warningText, type EngineApi, type ExportFormat, type ExportReportDetail } from '../../shared/api';
import { CdxError, isCancelled } from '../../shared/errors';
import type { Client, Progress } from '../../shared/rpc';
import { queryLocation, querySqlOf, redactUrl, withEngine as defaultWithEngine, type WithEngineOptions } from './engine-client';
import { exactJson, formatReport, sqlErrorWithCaret } from './format';

export interface ConvertCliHelpers {
  /** a progress bar on a terminal (stderr), nothing when piped — index.ts's progressBar */
  progressBar?: (label: string) => { update(p: Progress): void; stop(): void };
  /** runs `fn` with an engine (engine-client.ts's withEngine) */
  withEngine?<T>(fn: (e: { api: Client<EngineApi> }, signal: AbortSignal) => Promise<T>, opts?: WithEngineOptions): Promise<T>;
}

function collectOption(v: string, prev: Record<string, string>): Record<string, string> {
  const i = v.indexOf('=');
  if (i <= 0) throw new InvalidArgumentError('an option is key=value, e.g. compression=zstd');
  return { ...prev, [v.slice(0, i).trim()]: v.slice(i + 1) };
}

/** The output as shown: a password written in a database URL is left out (the engine keeps it for the session). */
function shown(output: string): string {
  return redactUrl(output.replace(/^((?:postgres|postgresql|clickhouse):\/\/[^/@:]*):[^@/]*@/i, '$1@'));
}

function list(v: string): string[] {
  return v.split(',').map((x) => x.trim()).filter(Boolean);
}

/** The formats and their --option keys, as the engine's writers declare them (exportFormats). */
function formatsHelp(formats: ExportFormat[] | undefined): string {
  if (!formats) return '\nFormats: csv, tsv, parquet, arrow (feather), sqlite, hdf5, npy, npz, ndjson (`cdx convert --help` lists their --option keys).';
  const lines = ['', 'Formats and their --option keys:'];
  for (const w of formats) {
    lines.push(`  ${w.format} (.${w.extensions.join(', .')})${w.container ? ' — OUT::NAME adds a table/group to an existing file' : ''}`);
    for (const [k, d] of Object.entries(w.options)) lines.push(`      ${k}: ${d}`);
  }
  return lines.join('\n');
}

export function registerConvert(program: Command, helpers: ConvertCliHelpers = {}): Command {
  const withEngine = helpers.withEngine ?? defaultWithEngine;
  let formats: ExportFormat[] | undefined;
  const cmd = program
    .command('convert')
    .description('convert a dataset to another format (whole, filtered or some columns), streaming, with a fidelity report')
    .argument('<in>', 'a file, or PATH::INNER for a dataset inside a container, or a database URL::TABLE (or the connection with --sql)')
    .argument('<out>', 'the output file (OUT::TABLE for SQLite, OUT::/GROUP for HDF5; the format comes from its extension), or a database table: postgresql://USER@HOST:PORT/DB::SCHEMA.TABLE, clickhouse://USER@HOST:PORT/DB::DB.TABLE')
    .option('-f, --format <format>', 'csv, tsv, parquet, arrow (feather), sqlite, hdf5, npy, npz, ndjson')
    .option('--sql <query>', 'IN is a database connection (URL without ::TABLE): convert the rows of this query, e.g. "SELECT * FROM t WHERE x > 1"')
    .option('--where <expr>', 'only rows where EXPR holds, e.g. "price > 100 and country in (\'US\', \'CA\')"')
    .option('--columns <a,b>', 'only these columns, in this order', list)
    .option('--sort <cols>', 'the rows in this order, e.g. -fare,borough (-name descending; nulls last, NaN the greatest number, text by code point, ties in file order)', list)
    .option('-o, --option <key=value>', 'a writer option (repeatable), e.g. compression=zstd', collectOption, {})
    .option('--force', 'replace an existing output (file, table or group)')
    .option('--dry-run', 'print the fidelity report and write nothing')
    .option('--json', 'print the result (or the dry run\'s report) as JSON')
    .option('-q, --quiet', 'do not print the fidelity report before writing')
    .addHelpText('after', () => formatsHelp(formats))
    .action(async (inputArg: string, output: string, o: {
      format?: string; where?: string; columns?: string[]; sort?: string[]; option: Record<string, string>; force?: boolean; dryRun?: boolean; json?: boolean; quiet?: boolean; sql?: string;
    }) => {
      const input = queryLocation(inputArg, o.sql);
      await withEngine(async (e, signal) => {
        const bar = o.dryRun ? undefined : helpers.progressBar?.('converting');
        try {
          const r = await e.api.exportDataset(
            {
              location: input, output, format: o.format === 'tsv' ? 'csv' : o.format, where: o.where, columns: o.columns, ...(o.sort?.length ? { sort: o.sort } : {}),
              options: o.format === 'tsv' && !o.option.delimiter ? { ...o.option, delimiter: 'tab' } : o.option,
              force: o.force, dryRun: o.dryRun,
            },
            {
              signal,
              onProgress: (p) => {
                // the report comes first, before anything is written
                const report = (p.detail as Partial<ExportReportDetail> | undefined)?.report;
                if (!report) bar?.update(p);
                else if (!o.quiet && !o.json) process.stderr.write(formatReport(report, shown(output)) + '\n');
              },
            },
          );
          bar?.stop();
          if (o.json) {
            console.log(exactJson(r, 2));
          } else if (r.dryRun) {
            console.log(formatReport(r.report, shown(output)));
            console.log(`(dry run: nothing written)`);
          } else {
            console.log(`wrote ${r.rows.toLocaleString('en-US')} rows to ${/^[a-z]+:\/\//i.test(r.output) && r.inner ? redactUrl(`${r.output}::${r.inner}`) : shown(output)} (${r.format})${o.sort?.length ? `, sorted by ${o.sort.join(',')}` : ''}${o.where ? ` — ${r.rowsRead.toLocaleString('en-US')} read` : ''}`);
          }
          for (const w of r.warnings) console.error(`warning: ${warningText(w)}`);
        } catch (err) {
          // Ctrl+C: the call is answered here at once; the engine removes what it had begun to
          // write before it stops, and withEngine waits for it to stop before this is printed
          if (isCancelled(err)) throw CdxError.file('E_CANCELLED', shown(output), 'conversion cancelled; nothing was written');
          // a query's syntax error with a caret under the server's position
          throw sqlErrorWithCaret(err, querySqlOf(input));
        } finally {
          bar?.stop();
        }
      }, { urls: [input, output] });
    });
  // `cdx convert --help` lists each format's options as the engine's writers declare them: asked
  // of the engine only when help is wanted (commander prints help synchronously, after this hook)
  program.hook('preSubcommand', async (p, sub) => {
    if (sub !== cmd || !p.args.some((a) => a === '--help' || a === '-h')) return;
    try {
      formats = await withEngine((e) => e.api.exportFormats({}));
    } catch {
      /* no engine: the short list of formats */
    }
  });
  return cmd;
}
