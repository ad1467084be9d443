/**
 * Engine API handlers for Export (spread into service.ts's handlers): `exportDataset` converts a
 * dataset (whole, a filtered view, a selection expressed as a filter, some columns) to a file, with
 * progress and cancel, optionally adding the result to the catalog; `exportFormats` lists the
 * writers and their options for the Export dialog and `cdx convert --help`. With `dryRun` it
 * returns the fidelity report only (the dialog shows it before the user confirms); otherwise the
 * report comes first as progress detail (`cdx convert` prints it before writing).
 *
 * The dataset is a catalog id (the app) or a location (`cdx convert IN`). A location is never
 * added to the catalog — converting files must not fill the user's list of datasets — but when the
 * catalog has it up to date (a fresh cache, or the file mapped in place) it is read from there. A
 * mapped dataset's rows are read by the native filter and gather kernels (mapped.ts), sharing the
 * table view's filter counts; anything else is streamed from its file (convert.ts).
 *
 * A sorted export (`sort`, the table's order) reads the mapped columns through the sort's
 * permutation, shared with the table's sorted view; a location not in the catalog is opened for
 * it (ingested into the cache where it cannot be mapped as it stands) and forgotten afterwards,
 * so that converting still leaves the catalog as it was. A database's rows come in its ORDER BY.
 */
import type { HandlerContext } from '../../../shared/rpc';
import type { ExportFormat, ExportParams, ExportReportDetail, ExportResult } from '../../../shared/api';
import { CdxError } from '../../../shared/errors';
import type { Datasets, OpenedDataset } from '../datasets';
import type { Selections } from '../selection';
import { parseSort, type Sorts } from '../sort';
import { convert } from './convert';
import { columnsOf, parseExpr } from '../../../shared/expr/index';
import type { MappedInput } from './mapped';
import { writers } from './registry';
import type { Source } from '../sources/types';

/** A database table or query to export: its rows streamed from the server with the filter pushed down (service.ts). */
export type RemoteExportInput = (p: ExportParams, signal: AbortSignal) => Promise<{ input: string; name: string; source: Source } | null>;

/** What the native read of a mapped dataset needs from the engine (service.ts). */
export interface ExportNative {
  /** the table view's filtered windows: an export of the filter the table shows reuses its counts */
  selections: Selections;
  /** the native form of a (non-empty) filter over the dataset's columns; throws when it has none */
  compile(ds: OpenedDataset, where: string): ReturnType<MappedInput['compile']>;
  /** the table view's sorted views: an export in the order the table shows reuses its permutation */
  sorts?: Sorts;
}

/**
 * Handlers closing over the engine's Datasets store (service.ts: `...exportHandlers(store, native)`).
 * Without `native`, every export streams from the source.
 */
/** The columns an export reads (undefined: all of them): those asked for and those its filter names. */
function exportColumns(p: ExportParams): string[] | undefined {
  if (!p.columns?.length) return undefined;
  let used: string[] = [];
  try {
    used = p.where?.trim() ? columnsOf(parseExpr(p.where)) : [];
  } catch {
    return undefined; // convert's own check says what is wrong with the filter
  }
  return [...new Set([...p.columns, ...used])];
}

export function exportHandlers(store: () => Datasets, native?: ExportNative, remote?: RemoteExportInput, openRemote?: (location: string, signal: AbortSignal) => Promise<string | null>) {
  const mappedInput = (ds: OpenedDataset): MappedInput | undefined =>
    native && { dataset: ds, selections: native.selections, compile: (where) => native.compile(ds, where), ...(native.sorts ? { sorts: native.sorts } : {}) };

  return {
    exportFormats(): ExportFormat[] {
      return writers.map((w) => ({ format: w.format, extensions: w.extensions, options: w.options, container: !!w.container }));
    },

    async exportDataset(p: ExportParams, ctx: HandlerContext): Promise<ExportResult> {
      let ds: OpenedDataset | null = null;
      let input: string;
      const sort = p.sort?.length ? parseSort(p.sort) : undefined;
      /** a location opened for a sorted conversion only: forgotten afterwards */
      let transient: string | null = null;
      const db = await remote?.(p, ctx.signal);
      if (db) {
        input = db.input;
      } else if (p.dataset !== undefined) {
        ds = await store().get(p.dataset, { signal: ctx.signal });
        input = ds.location;
      } else if (p.location !== undefined) {
        // a remote Parquet read by ranges fetches only the columns the export and its filter need
        ds = await store().openIfCatalogued(p.location, { signal: ctx.signal, columns: exportColumns(p) });
        if (!ds && sort && native?.sorts) {
          // the sort reads mapped columns: the file is opened as the app opens it, for this export only
          const known = new Set(store().list().map((e) => e.id));
          ds = await store().open(p.location, { signal: ctx.signal, onProgress: (done, stage) => ctx.progress({ done: 0, detail: `${stage} ${Math.round(done * 100)}%` }) });
          if (!known.has(ds.id)) transient = ds.id;
        }
        input = p.location;
      } else {
        throw new CdxError('E_BAD_ARG', 'exportDataset needs a dataset id or a location');
      }
      let r: Awaited<ReturnType<typeof convert>>;
      try {
        r = await convert({
          input, output: p.output, format: p.format, where: db ? undefined : p.where, columns: p.columns, options: p.options,
          ...(db ? { source: db.source, sourceName: db.name } : sort ? { sort } : {}),
          force: p.force, dryRun: p.dryRun, signal: ctx.signal, mapped: ds ? mappedInput(ds) : undefined,
          onReport: (report) => ctx.progress({ done: 0, detail: { report } satisfies ExportReportDetail }),
          onProgress: (done, rows) => ctx.progress({ done, detail: `${rows.toLocaleString('en-US')} rows written` }),
        });
      } finally {
        if (transient) {
          native?.sorts?.forget(transient);
          native?.selections.forget(transient);
          await store().remove(transient).catch(() => undefined);
        }
      }
      let added: string | undefined;
      if (p.addToCatalog && !r.dryRun) {
        const loc = r.inner ? `${r.output}::${r.inner}` : r.output;
        // a table written into a database is opened there (computed by it); a file is read as usual
        added = (await openRemote?.(loc, ctx.signal)) ?? (await store().open(loc, { signal: ctx.signal })).id;
      }
      return {
        input: r.input, output: r.output, ...(r.inner ? { inner: r.inner } : {}), format: r.format, rows: r.rows, rowsRead: r.rowsRead,
        report: r.report, dryRun: r.dryRun, via: r.via, warnings: r.warnings, ...(added ? { added } : {}),
      };
    },
  };
}
