/**
 * The one interface every format writer implements (one module per format, behind a registry in
 * registry.ts): `plan` says, before anything is written, what will happen to every column (the
 * fidelity report) and checks the options; `open` returns a Writer that takes Arrow record batches
 * one at a time (bounded memory) and writes to a temporary path the pipeline renames when complete.
 */
import type { RecordBatch, Schema as ArrowSchema } from 'apache-arrow';
import type { Field } from '../../../shared/datashape';
import { CdxError } from '../../../shared/errors';

// the fidelity report crosses to the UI: its types are part of the contract
export type { ColumnFidelity, FidelityReport } from '../../../shared/api';
import type { ColumnFidelity, FidelityReport } from '../../../shared/api';

/**
 * An error a writer (or the pipeline) raised about the output `out` — CdxError.file(code, out, …):
 * passed on as it is where other failures are wrapped as "OUT: … writer failed: …".
 */
export function isOutputError(e: unknown, out: string): e is CdxError {
  return e instanceof CdxError && e.file === out;
}

export type WriteOptions = Record<string, string>;

export interface WriterContext {
  /** the final output file (the container when `inner` is set) */
  out: string;
  /** where a file-writing writer writes; the pipeline renames it to `out` when `finish` says 'rename' */
  tmp: string;
  /** the part after `::` in OUT (SQLite table, HDF5 group), if given */
  inner?: string;
  /** OUT exists already (only reaches a writer when the format is a container or --force was given) */
  outExists: boolean;
  force: boolean;
  /** a name for the dataset (the input's file stem or inner name): default table / group name */
  datasetName: string;
  /** rows expected (null when unknown before a full pass) */
  rowsHint: number | null;
  /** size of the input file in bytes (a hint when rows are unknown) */
  inputBytes?: number;
  signal?: AbortSignal;
}

export interface Writer {
  write(batch: RecordBatch): Promise<void>;
  /** 'rename': the pipeline moves ctx.tmp to ctx.out; 'done': the writer committed itself (SQLite transaction). */
  finish(): Promise<'rename' | 'done'>;
  /** undo everything (called on failure or cancel; the pipeline also removes ctx.tmp). */
  abort(): Promise<void>;
}

export interface WriterProvider {
  format: string;
  /** lower-case extensions without the dot; the first is the canonical one */
  extensions: string[];
  /** the options `--option k=v` accepts, with a one-line description each */
  options: Record<string, string>;
  /** container formats accept an existing OUT (they add a table / group to it) */
  container?: boolean;
  /** the fidelity report; throws CdxError (CdxError.file(code, out, …)) on a bad option or a column set it cannot write */
  plan(fields: Field[], opts: WriteOptions, ctx: Pick<WriterContext, 'out' | 'inner' | 'datasetName'>): FidelityReport;
  open(fields: Field[], schema: ArrowSchema, opts: WriteOptions, ctx: WriterContext): Promise<Writer>;
}

/** Checks that every option is one the writer knows. */
export function checkOptions(p: WriterProvider, opts: WriteOptions, out: string): void {
  for (const k of Object.keys(opts)) {
    if (!(k in p.options)) {
      const known = Object.keys(p.options);
      throw CdxError.file('E_BAD_OPTION', out,
        `unknown option "${k}" for ${p.format}${known.length ? ` (known: ${known.join(', ')})` : ' (it takes no options)'}`);
    }
  }
}

export function boolOption(opts: WriteOptions, key: string, dflt: boolean, out: string): boolean {
  const v = opts[key];
  if (v === undefined) return dflt;
  if (/^(1|true|yes|on)$/i.test(v)) return true;
  if (/^(0|false|no|off)$/i.test(v)) return false;
  throw CdxError.file('E_BAD_OPTION', out, `option ${key} takes true or false, not "${v}"`);
}

export function intOption(opts: WriteOptions, key: string, dflt: number, min: number, max: number, out: string): number {
  const v = opts[key];
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw CdxError.file('E_BAD_OPTION', out, `option ${key} takes a whole number from ${min} to ${max}, not "${v}"`);
  return n;
}

export function choiceOption<T extends string>(opts: WriteOptions, key: string, choices: readonly T[], dflt: T, out: string): T {
  const v = opts[key];
  if (v === undefined) return dflt;
  const c = choices.find((x) => x === v.toLowerCase());
  if (!c) throw CdxError.file('E_BAD_OPTION', out, `option ${key} takes one of ${choices.join(', ')}, not "${v}"`);
  return c;
}
