/**
 * `cdx run WORKSPACE.cdx --out FILE`: replays a workspace saved by the app (shared/workspace.ts)
 * without the app — every step through the engine's contract, in order — and writes the final
 * dataset (that of the last step) with its filter and sort, in any format `cdx convert` writes.
 * `--dry-run` prints the steps as the app's step list reads them and writes nothing.
 *
 * Each dataset of the workspace is followed by name: its catalog id, its filter (the last
 * `filter` step's `where`) and its sort (the last `sort` step's keys). A group-by's groups become a
 * dataset of their own (saved by the engine as the Group view's "Open as dataset" does; the first
 * `limit` groups through a temporary Arrow file), and so does a join; both are forgotten from the
 * catalog at the end. Computed columns are asked of the engine by `defineColumn`: an engine
 * without it refuses the step (E_UNSUPPORTED, naming it) rather than writing something else. Plot
 * and view steps change no rows.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { warningText, type DatasetOverview, type EngineApi, type ExportResult } from '../../shared/api';
import { CdxError, errorCode, isCancelled, type ErrorCode } from '../../shared/errors';
import type { Client } from '../../shared/rpc';
import { currentDataset, describeStep, joinPairs, parseWorkspace, resolveLocation, type Step, type Workspace } from '../../shared/workspace';
import { withEngine as defaultWithEngine, type CliEngine, type WithEngineOptions } from './engine-client';
import { exactJson } from './format';

export interface RunCliHelpers {
  withEngine?<T>(fn: (e: CliEngine, signal: AbortSignal) => Promise<T>, opts?: WithEngineOptions): Promise<T>;
}

/** a dataset of the workspace as the replay holds it */
export interface ReplayedDataset {
  id: string;
  /** its filter ('' none) */
  where: string;
  /** its order ([] file order) */
  sort: string[];
  overview: DatasetOverview;
}

export interface Replay {
  datasets: Map<string, ReplayedDataset>;
  /** the dataset of the last step */
  current: string | null;
  /** catalog ids of the datasets the replay made (group-by results): forget them when done */
  made: string[];
  /** computed columns the replay defined, with what they were before (null: none): put back when done (the catalog keeps them) */
  columns: { id: string; name: string; before: string | null }[];
  /** the folder of the replay's temporary files */
  tmp: string;
}

/** the workspace file, read and checked (E_BAD_WORKSPACE naming the file, the step and the problem) */
export function readWorkspaceFile(file: string): Workspace {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw CdxError.file(code === 'ENOENT' ? 'ENOENT' : code === 'EACCES' ? 'EACCES' : code === 'EISDIR' ? 'E_IS_DIR' : 'E_READ', file, code === 'ENOENT' ? 'no such workspace file' : (e as Error).message);
  }
  return parseWorkspace(text, file);
}

/** a step's failure: the workspace file, the step and its reading in front, the code kept */
function stepError(file: string, i: number, s: Step, e: unknown): CdxError {
  if (isCancelled(e)) return e as CdxError;
  const code = (errorCode(e) ?? 'E_INTERNAL') as ErrorCode;
  return CdxError.file(code, file, `step ${i + 1} (${describeStep(s)}): ${(e as Error).message ?? String(e)}`);
}

/** a method the engine may not have yet (added by a later version of the contract): E_UNSUPPORTED naming the step */
async function optional<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    if (errorCode(e) === 'E_NO_METHOD' || (e instanceof TypeError && /not a function/.test(e.message))) throw new CdxError('E_UNSUPPORTED', `${what}: this CDX's engine cannot do it yet`);
    throw e;
  }
}

/**
 * Replays the steps of `ws` (read from `file`: relative locations are taken from its folder) on
 * the engine; `onStep` is told before each. The caller forgets `made` and removes `tmp`
 * (`cleanUp`) when done with the result.
 */
export async function replayWorkspace(
  api: Client<EngineApi>,
  ws: Workspace,
  file: string,
  signal: AbortSignal,
  onStep: (i: number, s: Step) => void = () => {},
): Promise<Replay> {
  const datasets = new Map<string, ReplayedDataset>();
  const r: Replay = { datasets, current: currentDataset(ws.steps), made: [], columns: [], tmp: mkdtempSync(path.join(tmpdir(), 'cdx-run-')) };
  const get = (name: string) => datasets.get(name)!; // (parseWorkspace checked every name is made before it is used)
  try {
    for (const [i, s] of ws.steps.entries()) {
      onStep(i, s);
      try {
        switch (s.kind) {
          case 'open': {
            const ov = await api.open({ location: resolveLocation(s.location, file) }, { signal });
            datasets.set(s.as, { id: ov.entry.id, where: '', sort: [], overview: ov });
            break;
          }
          case 'filter':
            get(s.dataset).where = s.where;
            break;
          case 'sort':
            get(s.dataset).sort = s.keys.slice();
            break;
          case 'column': {
            const d = get(s.dataset);
            if (!r.columns.some((c) => c.id === d.id && c.name === s.name)) r.columns.push({ id: d.id, name: s.name, before: d.overview.schema.fields.find((f) => f.name === s.name)?.expr ?? null });
            d.overview = await optional('computed columns', () => api.defineColumn({ dataset: d.id, name: s.name, expr: s.expr }, { signal }));
            break;
          }
          case 'group': {
            const d = get(s.dataset);
            const pivot = s.pivot ? { pivot: s.pivot } : {};
            let id: string;
            if (s.limit === undefined) {
              // every group, saved by the engine as a dataset (the Group view's "Open as dataset"); none sent here
              const g = await api.groupBy({ dataset: d.id, by: s.by, agg: s.agg, where: s.where || undefined, sort: s.sort, limit: 1, save: { name: s.as }, ...pivot }, { signal });
              id = g.saved!.id;
            } else {
              // the first `limit` groups: as an Arrow file, opened like any other
              const g = await api.groupBy({ dataset: d.id, by: s.by, agg: s.agg, where: s.where || undefined, sort: s.sort, limit: s.limit, ...pivot }, { signal });
              const tmp = path.join(r.tmp, `${i + 1}-group.arrow`);
              const { tableFromIPC, tableToIPC } = await import('apache-arrow');
              writeFileSync(tmp, tableToIPC(tableFromIPC(g.ipc), 'file'));
              id = (await api.open({ location: tmp }, { signal })).entry.id;
            }
            r.made.push(id);
            datasets.set(s.as, { id, where: '', sort: [], overview: await api.overview({ dataset: id }, { signal }) });
            break;
          }
          case 'join': {
            // (each side under its own filter, as the app joins them; `a=b` pairs a left and a right column)
            const l = get(s.left), rt = get(s.right);
            const j = await api.join({ left: l.id, right: rt.id, on: joinPairs(s.on), how: s.how, whereLeft: l.where || undefined, whereRight: rt.where || undefined, columns: s.columns, name: s.as }, { signal });
            r.made.push(j.overview.entry.id);
            datasets.set(s.as, { id: j.overview.entry.id, where: '', sort: [], overview: j.overview });
            break;
          }
          case 'plot':
          case 'view':
            break; // the app's views: no rows change
        }
      } catch (e) {
        throw stepError(file, i, s, e);
      }
    }
    return r;
  } catch (e) {
    await cleanUp(api, r);
    throw e;
  }
}

/** puts back the computed columns the replay changed, forgets the datasets it made and removes its temporary files */
export async function cleanUp(api: Client<EngineApi>, r: Replay): Promise<void> {
  for (const c of r.columns.reverse()) await api.defineColumn({ dataset: c.id, name: c.name, expr: c.before }).catch(() => {});
  r.columns = [];
  for (const id of r.made) await api.removeDataset({ dataset: id }).catch(() => {});
  r.made = [];
  rmSync(r.tmp, { recursive: true, force: true });
}

/** Writes a replayed dataset — its rows under its filter, in its order — to `output`. */
export async function writeReplayed(
  api: Client<EngineApi>,
  r: Replay,
  name: string,
  out: { output: string; format?: string; options?: Record<string, string>; force?: boolean },
  signal: AbortSignal,
): Promise<ExportResult> {
  const d = r.datasets.get(name)!;
  return api.exportDataset(
    { dataset: d.id, where: d.where || undefined, sort: d.sort.length ? d.sort : undefined, output: out.output, format: out.format, options: out.options, force: out.force },
    { signal },
  );
}

function collectOption(v: string, prev: Record<string, string>): Record<string, string> {
  const i = v.indexOf('=');
  if (i <= 0) throw new InvalidArgumentError('an option is key=value, e.g. compression=zstd');
  return { ...prev, [v.slice(0, i).trim()]: v.slice(i + 1) };
}

export function registerRun(program: Command, helpers: RunCliHelpers = {}): Command {
  const withEngine = helpers.withEngine ?? defaultWithEngine;
  return program
    .command('run')
    .description('replay a workspace saved by the app (.cdx: open, filter, computed columns, sort, group-by, join) and write its final dataset')
    .argument('<workspace>', 'the workspace file (.cdx)')
    .option('--out <file>', 'write the final dataset (the last step\'s, with its filter and sort) here; the format from its extension')
    .option('-f, --format <format>', 'csv, tsv, parquet, arrow (feather), sqlite, hdf5, npy, npz, ndjson')
    .option('-o, --option <key=value>', 'a writer option (repeatable), e.g. compression=zstd', collectOption, {})
    .option('--dataset <name>', 'write this dataset of the workspace instead of the last step\'s')
    .option('--force', 'replace an existing --out file')
    .option('--dry-run', 'print the steps and write nothing')
    .option('--json', 'print the result as JSON')
    .action(async (file: string, o: { out?: string; format?: string; option: Record<string, string>; dataset?: string; force?: boolean; dryRun?: boolean; json?: boolean }) => {
      const ws = readWorkspaceFile(file);
      const name = o.dataset ?? currentDataset(ws.steps);
      if (o.dataset && !ws.steps.some((s) => (s.kind === 'open' || s.kind === 'group' || s.kind === 'join') && s.as === o.dataset)) {
        throw CdxError.file('E_BAD_ARG', file, `no dataset "${o.dataset}" in the workspace`);
      }
      if (o.dryRun) {
        if (o.json) console.log(exactJson({ workspace: file, version: ws.version, steps: ws.steps.map((s) => ({ ...s, text: describeStep(s) })), dataset: name, output: o.out ?? null }, 2));
        else {
          ws.steps.forEach((s, i) => console.log(`${String(i + 1).padStart(3)}. ${describeStep(s)}`));
          console.log(name ? `(dry run: would write ${name}${o.out ? ` to ${o.out}` : ''}; nothing written)` : '(dry run: the workspace makes no dataset)');
        }
        return;
      }
      if (!name) throw CdxError.file('E_EMPTY', file, 'the workspace opens no dataset: nothing to write');
      if (!o.out) throw new CdxError('E_BAD_ARG', 'give --out FILE for the final dataset (or --dry-run to see the steps)');
      const locations = ws.steps.flatMap((s) => (s.kind === 'open' ? [resolveLocation(s.location, file)] : []));
      await withEngine(async (e, signal) => {
        const r = await replayWorkspace(e.api, ws, file, signal, (i, s) => {
          if (!o.json && process.stderr.isTTY) process.stderr.write(`${String(i + 1).padStart(3)}. ${describeStep(s)}\n`);
        });
        try {
          const format = o.format === 'tsv' ? 'csv' : o.format;
          const options = o.format === 'tsv' && !o.option.delimiter ? { ...o.option, delimiter: 'tab' } : o.option;
          const w = await writeReplayed(e.api, r, name, { output: o.out!, format, options, force: o.force }, signal);
          const d = r.datasets.get(name)!;
          if (o.json) console.log(exactJson({ workspace: file, steps: ws.steps.length, dataset: name, where: d.where || null, sort: d.sort, output: w.output, format: w.format, rows: w.rows }, 2));
          else console.log(`wrote ${w.rows.toLocaleString('en-US')} rows of ${name} to ${o.out} (${w.format}) — ${ws.steps.length} step${ws.steps.length === 1 ? '' : 's'} replayed`);
          for (const x of w.warnings) console.error(`warning: ${warningText(x)}`);
          for (const d of r.datasets.values()) for (const x of d.overview.warnings) console.error(`warning: ${warningText(x)}`);
        } catch (err) {
          if (isCancelled(err)) throw CdxError.file('E_CANCELLED', o.out!, 'cancelled; nothing was written');
          throw err;
        } finally {
          await cleanUp(e.api, r);
        }
      }, { urls: locations });
    });
}
