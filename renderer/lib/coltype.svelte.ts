/**
 * Changing one column's type from its menu ("Change type…"), as a Svelte 5 rune class: the
 * engine's setColumnType through one `Request` (progress, cancel), then the dataset's overview and
 * summary loaded again so that every view reads the new type; the outcome as a sentence that says
 * how many values did not convert (they are null now) and the first of them with their rows.
 */
import { COLUMN_TYPE_CHOICES, type ColumnTypeChoice, type SetColumnTypeResult } from '../../shared/api';
import type { DatasetView } from './dataset.svelte';
import { Request } from './request.svelte';

/** What each choice is called in the menu. */
export const TYPE_LABELS: Record<ColumnTypeChoice, string> = {
  string: 'text (string)',
  category: 'category (labels)',
  int64: 'integer (int64)',
  float64: 'number (float64)',
  bool: 'true/false (bool)',
  date: 'date',
  timestamp: 'date and time (timestamp)',
};

/** The sentence saying how a change went. */
export function changeMessage(r: SetColumnTypeResult, chosen: ColumnTypeChoice | null): string {
  const what = chosen ? TYPE_LABELS[chosen] : `${r.type}, as the file reads`;
  if (!r.unconverted) return `${r.column} is read as ${what}; every value converted.`;
  const n = r.unconverted;
  const first = (r.warning?.samples ?? []).map((s) => `row ${s.row.toLocaleString('en-US')}: ${JSON.stringify(s.value)}`).join(', ');
  return `${r.column} is read as ${what}; ${n.toLocaleString('en-US')} value${n === 1 ? '' : 's'} did not convert and ${n === 1 ? 'is' : 'are'} empty now${first ? ` (${first}${n > (r.warning?.samples?.length ?? 0) ? ', …' : ''})` : ''}.`;
}

export class ColumnTypeChange {
  result = $state.raw<SetColumnTypeResult | null>(null);
  message = $state<string | null>(null);
  progress = $state(0);
  private req = new Request<SetColumnTypeResult>();

  constructor(
    readonly view: DatasetView,
    readonly name: string,
  ) {}

  get busy(): boolean {
    return this.req.busy;
  }

  get error(): string | null {
    return this.req.error?.message ?? null;
  }

  /** the type the user chose for the column before (null: the reader's) */
  get chosen(): ColumnTypeChoice | null {
    return this.view.overview?.typeOverrides?.[this.name] ?? null;
  }

  /** the column's type now */
  get current(): string {
    return this.view.overview?.schema.fields.find((f) => f.name === this.name)?.type ?? '';
  }

  /** the types it can be given: every choice but the one it has (category is offered to text columns too: labels) */
  get choices(): ColumnTypeChoice[] {
    const chosen = this.chosen;
    return COLUMN_TYPE_CHOICES.filter((c) => c !== chosen && !(chosen === null && c === this.current));
  }

  /** give the column `type` (null: back to the reader's); true when it changed */
  async change(type: ColumnTypeChoice | null): Promise<boolean> {
    this.message = null;
    this.progress = 0;
    const r = await this.req.run(({ signal, current }) =>
      this.view.engine.api.setColumnType(
        { dataset: this.view.id, column: this.name, type },
        { signal, onProgress: (p) => { if (current()) this.progress = p.done; } },
      ),
    );
    if (!r) return false;
    this.result = r;
    this.message = changeMessage(r, type);
    await this.view.load();
    return true;
  }

  cancel(): void {
    this.req.cancel();
  }
}
