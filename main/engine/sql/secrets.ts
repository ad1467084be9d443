/**
 * Where a database password comes from, in order — never from the catalog, never written in plain
 * text anywhere:
 *  1. this engine's session (a password typed at the CLI's prompt, written in a URL, or handed over
 *     by the app from Electron safeStorage with setSecret): memory only, gone when the engine exits;
 *  2. the OS keychain (@napi-rs/keyring: Secret Service, macOS Keychain, Windows Credential Manager)
 *     when one answers;
 *  3. each ecosystem's conventions: PostgreSQL's PGPASSWORD and ~/.pgpass (PGPASSFILE),
 *     ClickHouse's CLICKHOUSE_PASSWORD.
 * Keys are the connection label (`postgresql://user@host:port/db`), which holds no secret.
 */
import { createRequire } from 'node:module';
import { readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DbKind } from './types';

const SERVICE = 'Continuum Data Explorer';
const session = new Map<string, string>();

interface KeyringEntry {
  getPassword(): string | null;
  setPassword(p: string): void;
  deletePassword(): boolean;
}
type KeyringModule = { Entry: new (service: string, account: string) => KeyringEntry };
let keyringMod: KeyringModule | null | undefined;

function keyring(): KeyringModule | null {
  if (keyringMod !== undefined) return keyringMod;
  if (process.env.CDX_NO_KEYCHAIN) return (keyringMod = null);
  try {
    keyringMod = createRequire(import.meta.url)('@napi-rs/keyring') as KeyringModule;
  } catch {
    keyringMod = null; // no build for this platform: the other places still work
  }
  return keyringMod;
}

export function setSessionSecret(label: string, password: string): void {
  session.set(label, password);
}

export function forgetSessionSecret(label: string): void {
  session.delete(label);
}

export function hasSessionSecret(label: string): boolean {
  return session.has(label);
}

/** Keeps a password in the OS keychain; false when no keychain answers (the caller keeps it for the session). */
export function keychainSet(label: string, password: string): boolean {
  const k = keyring();
  if (!k) return false;
  try {
    new k.Entry(SERVICE, label).setPassword(password);
    return true;
  } catch {
    return false;
  }
}

export function keychainGet(label: string): string | undefined {
  const k = keyring();
  if (!k) return undefined;
  try {
    return new k.Entry(SERVICE, label).getPassword() ?? undefined;
  } catch {
    return undefined; // no Secret Service on this desktop, locked keychain, …
  }
}

export function keychainDelete(label: string): void {
  const k = keyring();
  if (!k) return;
  try {
    new k.Entry(SERVICE, label).deletePassword();
  } catch {
    /* nothing kept, or no keychain */
  }
}

/** libpq's ~/.pgpass rules: host:port:database:username:password, `*` matches anything, `\:` and `\\` escaped; ignored when readable by others. */
export function pgpassLookup(host: string, port: number, database: string, user: string, file = process.env.PGPASSFILE || path.join(os.homedir(), '.pgpass')): string | undefined {
  let text: string;
  try {
    const st = statSync(file);
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) return undefined; // as libpq: a file others can read is ignored
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split(/\r?\n/)) {
    if (!line || line.startsWith('#')) continue;
    const fields: string[] = [];
    let cur = '';
    for (let i = 0; i < line.length; i++) {
      const c = line[i]!;
      if (c === '\\' && i + 1 < line.length) cur += line[++i];
      else if (c === ':' && fields.length < 4) { fields.push(cur); cur = ''; }
      else cur += c;
    }
    fields.push(cur);
    if (fields.length !== 5) continue;
    const [h, p, d, u, pw] = fields as [string, string, string, string, string];
    const hostOk = h === '*' || h === host || (h === 'localhost' && (host === '127.0.0.1' || host === '::1'));
    if (hostOk && (p === '*' || p === String(port)) && (d === '*' || d === database) && (u === '*' || u === user)) return pw;
  }
  return undefined;
}

export type SecretSource = 'session' | 'keychain' | 'convention' | 'none';

/** Where the password of this connection would come from now. */
export function secretSource(label: string, kind: DbKind, where: { host: string; port: number; database: string; user: string }): SecretSource {
  if (session.has(label)) return 'session';
  if (keychainGet(label) !== undefined) return 'keychain';
  if (conventionPassword(kind, where) !== undefined) return 'convention';
  return 'none';
}

function conventionPassword(kind: DbKind, where: { host: string; port: number; database: string; user: string }): string | undefined {
  if (kind === 'clickhouse') return process.env.CLICKHOUSE_PASSWORD || undefined;
  return process.env.PGPASSWORD || pgpassLookup(where.host, where.port, where.database, where.user);
}

/** The password for a connection (undefined: none found; the server may not need one). */
export function passwordFor(label: string, kind: DbKind, where: { host: string; port: number; database: string; user: string }): string | undefined {
  return session.get(label) ?? keychainGet(label) ?? conventionPassword(kind, where);
}
