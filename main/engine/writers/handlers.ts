/**
 * Engine API handlers for Export (spread into service.ts's handlers): `exportDataset`
 * converts a catalogued dataset (whole, a filtered view, a selection expressed as a filter, some
 * columns) to a file, with progress and cancel, optionally adding the result to the catalog;
 * `exportFormats` lists the writers and their options for the Export dialog. With `dryRun` it
 * returns the fidelity report only (the dialog shows it before the user confirms).
 */
import type { HandlerContext } from '../../../shared/rpc';
import type { Datasets } from '../datasets';
import { convert, type ConvertResult } from './convert';
import { writers } from './registry';
import type { ExportFormat, ExportParams, ExportResult } from '../../../shared/api';

/** Handlers closing over the engine's Datasets store (service.ts: `...exportHandlers(store)`). */
export function exportHandlers(store: () => Datasets) {
  return {
    exportFormats(): ExportFormat[] {
      return writers.map((w) => ({ format: w.format, extensions: w.extensions, options: w.options, container: !!w.container }));
    },

    async exportDataset(p: ExportParams, ctx: HandlerContext): Promise<ExportResult> {
      const ds = await store().get(p.dataset, { signal: ctx.signal });
      const r: ConvertResult = await convert({
        input: ds.location, output: p.output, format: p.format, where: p.where, columns: p.columns, options: p.options,
        force: p.force, dryRun: p.dryRun, signal: ctx.signal,
        onProgress: (done, rows) => ctx.progress({ done, detail: `${rows} rows written` }),
      });
      let added: string | undefined;
      if (p.addToCatalog && !r.dryRun) {
        const opened = await store().open(r.inner ? `${r.output}::${r.inner}` : r.output, { signal: ctx.signal });
        added = opened.id;
      }
      return { output: r.output, format: r.format, rows: r.rows, rowsRead: r.rowsRead, report: r.report, dryRun: r.dryRun, ...(added ? { added } : {}) };
    },
  };
}
