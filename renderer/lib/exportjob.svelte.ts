/**
 * Exporting a dataset (or its filtered, sorted view, or some columns) to a file, as a Svelte 5 rune class:
 * the formats the engine writes, the fidelity report for what is chosen now (a dry run that writes
 * nothing, re-asked on every change, the stale one cancelled), and the export itself with progress,
 * cancel, and the confirmation an existing output needs. Each is a `Request`.
 *
 * Web mode can also send the file to the browser's own machine (often another machine than the
 * host): the web host makes a download slot (POST /download, main/web/downloads.ts), the engine
 * writes the export there, and the page fetches it once (GET /download/<id>, which deletes it);
 * a failed or cancelled export abandons its slot (DELETE).
 */
import type { ExportFormat, ExportResult, FidelityReport } from '../../shared/api';
import { CdxError, hasCode } from '../../shared/errors';
import type { DatasetView } from './dataset.svelte';
import { Request } from './request.svelte';

export interface ExportChoice {
  output: string;
  format: string;
  where?: string;
  /** the rows in the table's order (rows' `sort` form) */
  sort?: string[];
  columns?: string[];
  options: Record<string, string>;
}

/** where the file goes: a path on the host, or a download to this browser (web mode) */
export type ExportDestination = 'host' | 'download';

/** what the last export did, for the dialog's message */
export interface ExportDone extends ExportResult {
  destination: ExportDestination;
  /** download: the name the browser saves it under */
  name?: string;
}

interface Slot {
  id: string;
  path: string;
  name: string;
}

async function prepareDownload(name: string): Promise<Slot> {
  const r = await fetch('/download', { method: 'POST', headers: { 'x-cdx-filename': encodeURIComponent(name) } });
  if (!r.ok) throw new Error(`The server refused to prepare the download of ${name} (${r.status}: ${(await r.text()).trim()})`);
  return (await r.json()) as Slot;
}

function abandonDownload(id: string): void {
  void fetch(`/download/${encodeURIComponent(id)}`, { method: 'DELETE' }).catch(() => undefined);
}

/** hands the written file to the browser (its own download, saved under `name`) */
function startDownload(slot: Slot): void {
  const a = document.createElement('a');
  a.href = `/download/${encodeURIComponent(slot.id)}`;
  a.download = slot.name;
  a.rel = 'noopener';
  a.style.display = 'none';
  document.body.append(a);
  a.click();
  a.remove();
}

export class ExportJob {
  formats = $state.raw<ExportFormat[]>([]);
  report = $state.raw<FidelityReport | null>(null);
  done = $state.raw<ExportDone | null>(null);
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

  /** the choice changed: the message of the previous export no longer applies */
  clearOutcome(): void {
    if (this.writing.busy) return;
    this.done = null;
    this.needsConfirm = false;
    this.writing.reset();
  }

  /**
   * Writes the export on the host (`c.output`), or, with destination 'download', into a download
   * slot and then to the browser under `c.output`'s file name. Resolves to the result, or undefined
   * (failed, cancelled, or the host output exists: `needsConfirm`).
   */
  async run(c: ExportChoice, opts: { force: boolean; addToCatalog: boolean; destination?: ExportDestination }): Promise<ExportResult | undefined> {
    const destination = opts.destination ?? 'host';
    this.progress = 0;
    this.needsConfirm = false;
    this.done = null;
    let slot: Slot | null = null;
    const done = await this.writing.run(async ({ signal, current }) => {
      let output = c.output;
      if (destination === 'download') {
        // a container's OUT::TABLE keeps its table name inside the downloaded file
        const [file, inner] = c.output.split('::') as [string, string | undefined];
        slot = await prepareDownload(file.split(/[/\\]/).pop() || 'export');
        if (signal.aborted) throw CdxError.cancelled('the export');
        output = inner ? `${slot.path}::${inner}` : slot.path;
      }
      return this.view.engine.api.exportDataset(
        { dataset: this.view.id, ...c, output, force: destination === 'download' || opts.force, addToCatalog: destination === 'host' && opts.addToCatalog },
        { signal, onProgress: (p) => current() && (this.progress = p.done) },
      );
    });
    const s = slot as Slot | null;
    if (done) {
      if (s) startDownload(s);
      this.done = { ...done, destination, ...(s ? { name: s.name } : {}) };
    } else {
      if (s) abandonDownload(s.id);
      if (hasCode(this.writing.error, 'E_EXISTS')) this.needsConfirm = true;
    }
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
