/**
 * The saved database connections as a Svelte 5 rune class (the Connections dialog's state): the
 * list (no secrets: each says where its password is kept), the Add/Edit form, Test, Save and
 * Remove, each a `Request` against the engine's contract (listConnections, testConnection,
 * saveConnection, removeConnection).
 *
 * Where a password goes when "remember" is ticked: in the desktop app, when the OS offers
 * encryption, the app keeps it (Electron safeStorage, main/app/index.ts) and hands it to the engine
 * itself — the engine is told `keep: 'app'` and never writes it; otherwise (web mode, or no
 * encryption) the engine keeps it in the OS keychain when one answers, else for its session only.
 * Without "remember" it lives in the engine's memory until the engine exits. A password typed in
 * the form is never read back into it.
 */
import type { ConnectionInfo, ConnectionTest } from '../../shared/api';
import type { CdxSecretsBridge } from '../../shared/bridge';
import { SECRETS_GLOBAL } from '../../shared/bridge';
import type { EngineConnection } from './engine.svelte';
import { connectionUrl, defaultPort, fieldsProblem, parseConnectionUrl, versionText, type ConnectionFields, type DbKind } from './dburl';
import { Request } from './request.svelte';

/** The app's secret keeping (desktop only): the preload's `cdxSecrets`, null in web mode. */
export function appSecrets(): CdxSecretsBridge | null {
  if (typeof window === 'undefined') return null;
  const s = (window as unknown as Record<string, CdxSecretsBridge | undefined>)[SECRETS_GLOBAL];
  return s && typeof s.keep === 'function' ? s : null;
}

/** The Add/Edit form. */
export interface ConnectionForm extends ConnectionFields {
  /** the URL being edited (absent: a new connection) */
  editing?: string;
  /** where the edited connection's password is kept now */
  editingSecret?: ConnectionInfo['secret'];
  name: string;
  password: string;
  remember: boolean;
}

/** A test's outcome in words, for the form or a listed connection. */
export interface TestOutcome {
  ok: boolean;
  text: string;
}

/** where a connection's password is kept, in words */
export const SECRET_TEXT: Record<ConnectionInfo['secret'], string> = {
  keychain: 'password in the OS keychain',
  app: 'password kept by the app (encrypted)',
  session: 'password for this session only',
  convention: 'password from the environment (PGPASSWORD, ~/.pgpass, CLICKHOUSE_PASSWORD)',
  none: 'no password',
};

export function testText(kind: string, t: ConnectionTest): string {
  return `${versionText(kind, t.serverVersion)} · ${t.tables.toLocaleString('en-US')} ${t.tables === 1 ? 'table or view' : 'tables and views'} · ${Math.round(t.ms)} ms`;
}

export class Connections {
  list = $state.raw<ConnectionInfo[]>([]);
  form = $state<ConnectionForm | null>(null);
  /** the form's last test */
  formTest = $state.raw<TestOutcome | null>(null);
  /** the last test of each listed connection, by URL */
  tests = $state.raw<Record<string, TestOutcome>>({});
  /** why the form cannot be saved or tested (bad fields), or the save's failure */
  formError = $state<string | null>(null);
  private listing = new Request<ConnectionInfo[]>();
  private testing = new Request<ConnectionTest>();
  private saving = new Request<ConnectionInfo>();
  private removing = new Request<boolean>();
  private listTests = new Map<string, Request<ConnectionTest>>();

  constructor(
    readonly engine: EngineConnection,
    private readonly secrets: CdxSecretsBridge | null = appSecrets(),
  ) {}

  get listError(): string | null {
    return (this.listing.error ?? this.removing.error)?.message ?? null;
  }

  get busyTesting(): boolean {
    return this.testing.busy;
  }

  get busySaving(): boolean {
    return this.saving.busy;
  }

  isTesting(url: string): boolean {
    return this.listTests.get(url)?.busy ?? false;
  }

  /** the URL the form's fields make (null while they cannot make one) */
  get formUrl(): string | null {
    const f = this.form;
    return f && !fieldsProblem(f) ? connectionUrl(f) : null;
  }

  async refresh(): Promise<void> {
    const l = await this.listing.run(({ signal }) => this.engine.api.listConnections({}, { signal }));
    if (l) this.list = l;
  }

  startAdd(kind: DbKind = 'postgresql'): void {
    this.form = { kind, host: 'localhost', port: String(defaultPort(kind)), database: '', user: '', password: '', remember: true, name: '' };
    this.formTest = null;
    this.formError = null;
  }

  startEdit(c: ConnectionInfo): void {
    const f = parseConnectionUrl(c.url);
    if (!f) return;
    this.form = { ...f, editing: c.url, editingSecret: c.secret, name: c.name, password: '', remember: c.secret === 'keychain' || c.secret === 'app', };
    this.formTest = null;
    this.formError = null;
  }

  cancelForm(): void {
    this.testing.reset();
    this.saving.reset();
    this.form = null;
    this.formTest = null;
    this.formError = null;
  }

  /** the kind changed: a port still at the old kind's default follows to the new one */
  setKind(kind: DbKind): void {
    const f = this.form;
    if (!f || f.kind === kind) return;
    if (!f.port.trim() || f.port.trim() === String(defaultPort(f.kind))) f.port = String(defaultPort(kind));
    f.kind = kind;
  }

  /** Test with the form's fields and the password typed (or, when none is typed, the one kept). */
  async testForm(): Promise<void> {
    const f = this.form;
    if (!f) return;
    const problem = fieldsProblem(f);
    this.formError = problem;
    this.formTest = null;
    if (problem) return;
    const url = connectionUrl(f);
    const password = f.password || undefined;
    const t = await this.testing.run(({ signal }) => this.engine.api.testConnection({ url, ...(password !== undefined ? { password } : {}) }, { signal }));
    if (t) this.formTest = { ok: true, text: testText(f.kind, t) };
    else if (this.testing.error) this.formTest = { ok: false, text: this.testing.error.message };
  }

  /** Test a saved connection (its kept password). */
  async test(c: ConnectionInfo): Promise<void> {
    let r = this.listTests.get(c.url);
    if (!r) this.listTests.set(c.url, (r = new Request<ConnectionTest>()));
    const req = r;
    const { [c.url]: _old, ...rest } = this.tests;
    this.tests = rest;
    const t = await req.run(({ signal }) => this.engine.api.testConnection({ url: c.url }, { signal }));
    const outcome: TestOutcome | null = t ? { ok: true, text: testText(c.kind, t) } : req.error ? { ok: false, text: req.error.message } : null;
    if (outcome) this.tests = { ...this.tests, [c.url]: outcome };
  }

  /**
   * Saves the form (a new connection, or the edited one; an edit that changes the URL forgets the
   * old one). Resolves to the saved connection, or null (then `formError` says why).
   */
  async save(): Promise<ConnectionInfo | null> {
    const f = this.form;
    if (!f) return null;
    const problem = fieldsProblem(f);
    this.formError = problem;
    if (problem) return null;
    const url = connectionUrl(f);
    const name = f.name.trim() || undefined;
    const password = f.password || undefined;
    const remember = f.remember;
    const secrets = this.secrets;
    const saved = await this.saving.run(async ({ signal }) => {
      const api = this.engine.api;
      if (password !== undefined && remember && secrets && (await secrets.available())) {
        // the app encrypts and keeps it, and hands it to the engine (setSecret); the engine writes nothing
        if (!(await secrets.keep(url, password))) throw new Error('The app could not keep the password (safeStorage); nothing was saved.');
        return api.saveConnection({ url, ...(name ? { name } : {}), keep: 'app' }, { signal });
      }
      if (password === undefined && !remember && f.editing === url && (f.editingSecret === 'app' || f.editingSecret === 'keychain')) {
        // "remember" unticked without a new password: forget the kept one, keep it for this session only
        await secrets?.forget(url);
      }
      const info = await api.saveConnection({ url, ...(name ? { name } : {}), ...(password !== undefined ? { password, remember } : {}) }, { signal });
      // a password typed now that is no longer kept by the app
      if (password !== undefined && f.editingSecret === 'app') await secrets?.forget(url);
      return info;
    });
    if (!saved) {
      this.formError = this.saving.error?.message ?? null;
      return null;
    }
    if (f.editing && f.editing !== url) {
      await this.removing.run(({ signal }) => this.engine.api.removeConnection({ url: f.editing! }, { signal }).then((r) => r.removed));
      await secrets?.forget(f.editing);
    }
    this.form = null;
    this.formTest = null;
    this.formError = null;
    await this.refresh();
    return saved;
  }

  /** Forgets a connection and its kept password (the database is not touched). */
  async remove(c: ConnectionInfo): Promise<void> {
    const ok = await this.removing.run(({ signal }) => this.engine.api.removeConnection({ url: c.url }, { signal }).then((r) => r.removed));
    if (ok === undefined) return;
    await this.secrets?.forget(c.url);
    if (this.form?.editing === c.url) this.cancelForm();
    const { [c.url]: _gone, ...rest } = this.tests;
    this.tests = rest;
    await this.refresh();
  }
}
