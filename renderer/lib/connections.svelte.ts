/**
 * The saved connections as a Svelte 5 rune class (the Connections panel's state): databases
 * (PostgreSQL, ClickHouse), http(s) bases and S3 buckets in one list (no secrets: each says where
 * its password or secret key is kept), the Add/Edit form whose fields follow the kind, Test, Save
 * and Remove, each a `Request` against the engine's contract (listConnections, testConnection,
 * saveConnection, removeConnection), and the browser of one connection (remotebrowse.svelte.ts).
 *
 * Where a password (an S3 secret key) goes when "remember" is ticked: in the desktop app, when the
 * OS offers encryption, the app keeps it (Electron safeStorage, main/app/index.ts) and hands it to
 * the engine itself — the engine is told `keep: 'app'` and never writes it; otherwise (web mode,
 * or no encryption) the engine keeps it in the OS keychain when one answers, else for its session
 * only. Without "remember" it lives in the engine's memory until the engine exits. A password typed
 * in the form is never read back into it. An http(s) connection has none.
 */
import type { ConnectionInfo, ConnectionTest } from '../../shared/api';
import type { CdxSecretsBridge } from '../../shared/bridge';
import { SECRETS_GLOBAL } from '../../shared/bridge';
import type { EngineConnection } from './engine.svelte';
import { connectionUrl, defaultPort, fieldsProblem, kindLabel, parseConnectionUrl, versionText, type ConnectionFields, type DbKind } from './dburl';
import { httpBaseUrl, httpProblem, parseS3Url, s3Problem, s3Url, type RemoteKind, type S3Fields } from './remoteurl';
import { RemoteBrowser } from './remotebrowse.svelte';
import { Request } from './request.svelte';

/** every kind of connection the panel holds */
export type ConnKind = DbKind | RemoteKind;

export const CONNECTION_KINDS: readonly { kind: ConnKind; label: string }[] = [
  { kind: 'postgresql', label: 'PostgreSQL' },
  { kind: 'clickhouse', label: 'ClickHouse' },
  { kind: 'http', label: 'HTTP(S) folder' },
  { kind: 's3', label: 'S3 bucket' },
];

/** a kind as the list's badge says it */
export const connKindLabel = (kind: string): string => (kind === 'http' ? 'HTTP' : kind === 's3' ? 'S3' : kindLabel(kind));

const isDbKind = (k: ConnKind): k is DbKind => k === 'postgresql' || k === 'clickhouse';

/** The app's secret keeping (desktop only): the preload's `cdxSecrets`, null in web mode. */
export function appSecrets(): CdxSecretsBridge | null {
  if (typeof window === 'undefined') return null;
  const s = (window as unknown as Record<string, CdxSecretsBridge | undefined>)[SECRETS_GLOBAL];
  return s && typeof s.keep === 'function' ? s : null;
}

/** The Add/Edit form: every kind's fields (the panel shows the kind's own). */
export interface ConnectionForm extends Omit<ConnectionFields, 'kind'>, S3Fields {
  kind: ConnKind;
  /** http(s): the folder's URL */
  baseUrl: string;
  /** the URL being edited (absent: a new connection) */
  editing?: string;
  /** where the edited connection's password is kept now */
  editingSecret?: ConnectionInfo['secret'];
  name: string;
  /** a database's password; an S3 secret access key */
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

const S3_SECRET_TEXT: Record<ConnectionInfo['secret'], string> = {
  keychain: 'secret key in the OS keychain',
  app: 'secret key kept by the app (encrypted)',
  session: 'secret key for this session only',
  convention: 'credentials from the AWS chain (environment, ~/.aws)',
  none: 'no secret key kept: give it under Edit',
};

/** where a connection's secret is kept, in words, for its kind */
export function secretText(c: Pick<ConnectionInfo, 'kind' | 'secret'>): string {
  if (c.kind === 'http') return 'no credentials (files as the server gives them to anyone)';
  return c.kind === 's3' ? S3_SECRET_TEXT[c.secret] : SECRET_TEXT[c.secret];
}

const plural = (n: number, one: string, many: string) => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

export function testText(kind: string, t: ConnectionTest): string {
  const ms = `${Math.round(t.ms)} ms`;
  if (kind === 'http') {
    const what = t.listed ? plural(t.tables, 'entry listed', 'entries listed') : 'lists nothing here (open files by their path)';
    return `${t.serverVersion} · HTTP ${t.status ?? '?'} · ${what} · ${ms}`;
  }
  if (kind === 's3') return `${t.serverVersion} · ${plural(t.tables, 'object', 'objects')} under the prefix · ${ms}`;
  return `${versionText(kind, t.serverVersion)} · ${plural(t.tables, 'table or view', 'tables and views')} · ${ms}`;
}

/** What is wrong with the form's fields for its kind, in words; null when a URL can be made from them. */
export function formProblem(f: ConnectionForm): string | null {
  if (f.kind === 'http') return httpProblem(f.baseUrl);
  if (f.kind === 's3') {
    const p = s3Problem(f);
    if (p) return p;
    if (f.password && !f.keyId.trim()) return 'A secret key needs its access key id.';
    return null;
  }
  return fieldsProblem(f as ConnectionFields);
}

/** The canonical connection URL of the form's fields (call when formProblem says none). */
export function formConnectionUrl(f: ConnectionForm): string {
  if (f.kind === 'http') return httpBaseUrl(f.baseUrl);
  if (f.kind === 's3') return s3Url(f);
  return connectionUrl(f as ConnectionFields);
}

function blankForm(kind: ConnKind): ConnectionForm {
  return {
    kind, host: 'localhost', port: isDbKind(kind) ? String(defaultPort(kind)) : '5432', database: '', user: '',
    baseUrl: '', bucket: '', prefix: '', keyId: '', endpoint: '', region: '',
    password: '', remember: true, name: '',
  };
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
  /** the connection being browsed (the panel's third view beside the list and the form) */
  browser = $state.raw<RemoteBrowser | null>(null);

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
    return f && !formProblem(f) ? formConnectionUrl(f) : null;
  }

  async refresh(): Promise<void> {
    const l = await this.listing.run(({ signal }) => this.engine.api.listConnections({}, { signal }));
    if (l) this.list = l;
  }

  startAdd(kind: ConnKind = 'postgresql'): void {
    this.browser = null;
    this.form = blankForm(kind);
    this.formTest = null;
    this.formError = null;
  }

  startEdit(c: ConnectionInfo): void {
    const base = blankForm(c.kind);
    let fields: Partial<ConnectionForm> | null;
    if (c.kind === 'http') fields = { baseUrl: c.url };
    else if (c.kind === 's3') fields = parseS3Url(c.url);
    else fields = parseConnectionUrl(c.url);
    if (!fields) return;
    this.browser = null;
    this.form = { ...base, ...fields, kind: c.kind, editing: c.url, editingSecret: c.secret, name: c.name, password: '', remember: c.secret === 'keychain' || c.secret === 'app' };
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

  /** the kind changed: a port still at the old database kind's default follows to the new one */
  setKind(kind: ConnKind): void {
    const f = this.form;
    if (!f || f.kind === kind) return;
    if (isDbKind(kind) && (!f.port.trim() || !isDbKind(f.kind) || f.port.trim() === String(defaultPort(f.kind)))) f.port = String(defaultPort(kind));
    f.kind = kind;
    this.formTest = null;
    this.formError = null;
  }

  /** Test with the form's fields and the password typed (or, when none is typed, the one kept). */
  async testForm(): Promise<void> {
    const f = this.form;
    if (!f) return;
    const problem = formProblem(f);
    this.formError = problem;
    this.formTest = null;
    if (problem) return;
    const url = formConnectionUrl(f);
    const password = (f.kind !== 'http' && f.password) || undefined;
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
    const problem = formProblem(f);
    this.formError = problem;
    if (problem) return null;
    const url = formConnectionUrl(f);
    const name = f.name.trim() || undefined;
    const password = (f.kind !== 'http' && f.password) || undefined;
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
    if (this.browser?.conn.url === c.url) this.browser = null;
    const { [c.url]: _gone, ...rest } = this.tests;
    this.tests = rest;
    await this.refresh();
  }

  /** Browses a connection: its top level first (a database's tables, a bucket's prefix, a server's folder). */
  browse(c: ConnectionInfo): RemoteBrowser {
    this.cancelForm();
    const b = new RemoteBrowser(this.engine, c);
    this.browser = b;
    void b.load();
    return b;
  }

  closeBrowser(): void {
    this.browser?.stop();
    this.browser = null;
  }
}
