/**
 * Exporting a dataset (or its filtered view, or some columns) to a file, as a Svelte 5 rune class:
 * the formats the engine writes, the fidelity report for what is chosen now (a dry run that writes
 * nothing, re-asked on every change, the stale one cancelled), and the export itself with progress,
 * cancel, and the confirmation an existing output needs. Each is a `Request`.
 */
import type { ExportFormat, ExportResult, FidelityReport } from '../../shared/api';
import { hasCode } from '../../shared/errors';
import type { DatasetView } from './dataset.svelte';
import { Request } from './request.svelte';

export interface ExportChoice {
  output: string;
  format: string;
  where?: string;
  columns?: string[];
  options: Record<string, string>;
}

export class ExportJob {
  formats = $state.raw<ExportFormat[]>([]);
  report = $state.raw<FidelityReport | null>(null);
  done = $state.raw<ExportResult | null>(null);
  progress = $state(0);
  /** the output exists: the user decides whether to replace it */
  needsConfirm = $state(false);
  private formatsReq = new Request<ExportFormat[]>();
  private dryRun = new Request<FidelityReport>();
  private writing = new Request<ExportResult>();

  constructor(readonly view: DatasetView) {}

  get running(): boolean {
    return this.writing.busy;
  }

  get error(): string | null {
    if (this.writing.cancelled) return 'Export cancelled; nothing was written.';
    const e = (hasCode(this.writing.error, 'E_EXISTS') ? null : this.writing.error) ?? this.dryRun.error ?? this.formatsReq.error;
    return e?.message ?? null;
  }

  async loadFormats(): Promise<void> {
    const f = await this.formatsReq.run(({ signal }) => this.view.engine.api.exportFormats({}, { signal }));
    if (f) this.formats = f;
  }

  /** the fidelity report for `c` (nothing is written) */
  async check(c: ExportChoice): Promise<void> {
    const r = await this.dryRun.run(async ({ signal }) => (await this.view.engine.api.exportDataset({ dataset: this.view.id, ...c, dryRun: true, force: true }, { signal })).report);
    if (r) this.report = r;
  }

  /** writes the export; resolves to the result, or undefined (failed, cancelled, or the output exists: `needsConfirm`) */
  async run(c: ExportChoice, opts: { force: boolean; addToCatalog: boolean }): Promise<ExportResult | undefined> {
    this.progress = 0;
    this.needsConfirm = false;
    const done = await this.writing.run(({ signal, current }) =>
      this.view.engine.api.exportDataset(
        { dataset: this.view.id, ...c, force: opts.force, addToCatalog: opts.addToCatalog },
        { signal, onProgress: (p) => current() && (this.progress = p.done) },
      ),
    );
    if (done) this.done = done;
    else if (hasCode(this.writing.error, 'E_EXISTS')) this.needsConfirm = true;
    return done;
  }

  cancel(): void {
    this.writing.cancel();
  }

  /** the dialog closes: stop asking for reports */
  dispose(): void {
    this.formatsReq.cancel();
    this.dryRun.cancel();
  }
}
