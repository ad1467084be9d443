/**
 * The SQL editor on a database connection, as a Svelte 5 rune class: the query text, Run (which
 * opens `URL::(SQL)` through the catalog, so the result is a dataset with every view: summary,
 * table, plots, export), the server's error with where it points (E_SQL's `position`, mapped back
 * onto the text as typed: line, column, the line's text for a caret under it), and the last
 * queries of each connection, kept in one preference (`sqlHistory`).
 */
import type { CdxError } from '../../shared/errors';
import { addToHistory, parseHistory, queryLocation, sqlSpot, type SqlSpot } from './dburl';

/** What the editor needs of the catalog: open a location, and the failure of the last open. */
export interface QueryOpener {
  open(location: string): Promise<boolean>;
  readonly openFailure: CdxError | null;
  readonly openError: string | null;
}

/** Where the history is kept (the window's preferences). */
export interface HistoryStore {
  get(): string | undefined;
  set(text: string): void;
}

export interface SqlError {
  code: string;
  message: string;
  /** where the server says the query went wrong, on the text as it was run */
  spot?: SqlSpot;
}

export class SqlEditor {
  text = $state('');
  running = $state(false);
  error = $state.raw<SqlError | null>(null);
  /** this connection's last queries, newest first */
  history = $state.raw<string[]>([]);
  /** the text of the last run that opened */
  lastRun = $state<string | null>(null);

  constructor(
    readonly url: string,
    private readonly opener: QueryOpener,
    private readonly store: HistoryStore,
  ) {
    this.loadHistory();
    this.text = this.history[0] ?? '';
  }

  /** (re)reads the history (the preferences may have loaded after the editor was made) */
  loadHistory(): void {
    this.history = parseHistory(this.store.get())[this.url] ?? [];
  }

  get canRun(): boolean {
    return this.text.trim() !== '' && !this.running;
  }

  /** the text changed: a marker for the old text would point at the wrong place */
  edited(): void {
    if (this.error?.spot) this.error = { code: this.error.code, message: this.error.message };
  }

  /** Runs the query: resolves true when its result opened as a dataset. */
  async run(): Promise<boolean> {
    const sql = this.text;
    if (!sql.trim()) return false;
    this.running = true;
    this.error = null;
    try {
      const ok = await this.opener.open(queryLocation(this.url, sql));
      if (ok) {
        this.lastRun = sql;
        const { history, text } = addToHistory(parseHistory(this.store.get()), this.url, sql);
        this.store.set(text);
        this.history = history[this.url] ?? [];
        return true;
      }
      const e = this.opener.openFailure;
      if (e) this.error = { code: e.code, message: e.message, ...(e.position !== undefined && e.code === 'E_SQL' ? { spot: sqlSpot(sql, e.position) } : {}) };
      else if (this.opener.openError) this.error = { code: 'E_CANCELLED', message: this.opener.openError };
      return false;
    } finally {
      this.running = false;
    }
  }

  /** puts an earlier query back in the editor */
  recall(sql: string): void {
    this.text = sql;
    this.error = null;
  }
}
