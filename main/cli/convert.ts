/**
 * `cdx convert IN OUT`: any readable dataset to CSV/TSV, Parquet, Arrow/Feather, SQLite, HDF5,
 * NPY/NPZ or NDJSON, whole or filtered, run in this process (a one-pass stream needs no engine and
 * no cache). The fidelity report (what happens to each column) is printed by --dry-run, and on
 * stderr before writing. Ctrl+C cancels and leaves nothing behind.
 */
import { Command, InvalidArgumentError } from 'commander';
import { warningText } from '../../shared/api';
import { convert, formatReport } from '../engine/writers/convert';
import { writers } from '../engine/writers/registry';
import { exactJson } from './format';

export interface ConvertCliHelpers {
  /** a progress bar on a terminal (stderr), nothing when piped — index.ts's progressBar */
  progressBar?: (label: string) => { update(p: { done: number; detail?: unknown }): void; stop(): void };
}

function collectOption(v: string, prev: Record<string, string>): Record<string, string> {
  const i = v.indexOf('=');
  if (i <= 0) throw new InvalidArgumentError('an option is key=value, e.g. compression=zstd');
  return { ...prev, [v.slice(0, i).trim()]: v.slice(i + 1) };
}

function list(v: string): string[] {
  return v.split(',').map((x) => x.trim()).filter(Boolean);
}

function optionsHelp(): string {
  const lines = ['', 'Formats and their --option keys:'];
  for (const w of writers) {
    lines.push(`  ${w.format} (.${w.extensions.join(', .')})${w.container ? ' — OUT::NAME adds a table/group to an existing file' : ''}`);
    for (const [k, d] of Object.entries(w.options)) lines.push(`      ${k}: ${d}`);
  }
  return lines.join('\n');
}

export function registerConvert(program: Command, helpers: ConvertCliHelpers = {}): Command {
  return program
    .command('convert')
    .description('convert a dataset to another format (whole, filtered or some columns), streaming, with a fidelity report')
    .argument('<in>', 'a file, or PATH::INNER for a dataset inside a container')
    .argument('<out>', 'the output file (OUT::TABLE for SQLite, OUT::/GROUP for HDF5); the format comes from its extension')
    .option('-f, --format <format>', 'csv, tsv, parquet, arrow (feather), sqlite, hdf5, npy, npz, ndjson')
    .option('--where <expr>', 'only rows where EXPR holds, e.g. "price > 100 and country in (\'US\', \'CA\')"')
    .option('--columns <a,b>', 'only these columns, in this order', list)
    .option('-o, --option <key=value>', 'a writer option (repeatable), e.g. compression=zstd', collectOption, {})
    .option('--force', 'replace an existing output (file, table or group)')
    .option('--dry-run', 'print the fidelity report and write nothing')
    .option('--json', 'print the result (or the dry run\'s report) as JSON')
    .option('-q, --quiet', 'do not print the fidelity report before writing')
    .addHelpText('after', optionsHelp())
    .action(async (input: string, output: string, o: {
      format?: string; where?: string; columns?: string[]; option: Record<string, string>; force?: boolean; dryRun?: boolean; json?: boolean; quiet?: boolean;
    }) => {
      const ac = new AbortController();
      const onInt = () => ac.abort();
      process.once('SIGINT', onInt);
      const bar = o.dryRun ? undefined : helpers.progressBar?.('converting');
      try {
        const r = await convert({
          input, output, format: o.format === 'tsv' ? 'csv' : o.format, where: o.where, columns: o.columns,
          options: o.format === 'tsv' && !o.option.delimiter ? { ...o.option, delimiter: 'tab' } : o.option,
          force: o.force, dryRun: o.dryRun, signal: ac.signal,
          onReport: (rep) => {
            if (!o.quiet && !o.json) process.stderr.write(formatReport(rep, output) + '\n');
          },
          onProgress: (done, rows) => bar?.update({ done, detail: `${rows.toLocaleString('en-US')} rows` }),
        });
        bar?.stop();
        if (o.json) {
          console.log(exactJson(r, 2));
        } else if (r.dryRun) {
          console.log(formatReport(r.report, output));
          console.log(`(dry run: nothing written)`);
        } else {
          console.log(`wrote ${r.rows.toLocaleString('en-US')} rows to ${output} (${r.format})${o.where ? ` — ${r.rowsRead.toLocaleString('en-US')} read` : ''}`);
        }
        for (const w of r.warnings) console.error(`warning: ${warningText(w)}`);
      } finally {
        bar?.stop();
        process.off('SIGINT', onInt);
      }
    });
}
