/**
 * Database locations as the renderer builds and reads them (the connection dialog, the SQL editor,
 * the catalog's badges). The engine's own parser is main/engine/sql/url.ts; this is the small part
 * the UI needs, written to give the same canonical connection text as the engine's
 * `connectionLabel` (`postgresql://user@host:5432/db`), so that a saved connection's URL and the
 * one the dialog builds from its fields compare equal. A query is `URL::(SQL)`; an E_SQL error's
 * `position` counts from the first character of the SQL as sent, which is the trimmed text.
 */

export type DbKind = 'postgresql' | 'clickhouse';

export const DB_KINDS: readonly { kind: DbKind; label: string; port: number }[] = [
  { kind: 'postgresql', label: 'PostgreSQL', port: 5432 },
  { kind: 'clickhouse', label: 'ClickHouse', port: 8123 },
];

export const defaultPort = (kind: DbKind): number => (kind === 'clickhouse' ? 8123 : 5432);
export const kindLabel = (kind: string): string => DB_KINDS.find((k) => k.kind === kind)?.label ?? kind;

/** The dialog's fields for one connection (port as typed). */
export interface ConnectionFields {
  kind: DbKind;
  host: string;
  port: string;
  database: string;
  user: string;
}

/** Is this location a database URL (not a file path)? */
export function isDbLocation(location: string): boolean {
  return /^(postgres|postgresql|clickhouse):\/\//i.test(location.trim());
}

/** What is wrong with the fields, in words; null when a URL can be made from them. */
export function fieldsProblem(f: ConnectionFields): string | null {
  if (!f.host.trim()) return 'Give the host (a name or an address).';
  if (/[\s/@?#]/.test(f.host.trim())) return `"${f.host.trim()}" is not a host name.`;
  const p = f.port.trim();
  if (p && !(/^\d+$/.test(p) && Number(p) >= 1 && Number(p) <= 65535)) return `The port must be a number from 1 to 65535, not "${p}".`;
  return null;
}

/** The canonical connection URL (no secret, no table) made from the fields; empty user/database take the kind's usual defaults. */
export function connectionUrl(f: ConnectionFields): string {
  const host = f.host.trim();
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  const port = f.port.trim() ? Number(f.port.trim()) : defaultPort(f.kind);
  const user = f.user.trim() || (f.kind === 'clickhouse' ? 'default' : 'postgres');
  const db = f.database.trim() || (f.kind === 'clickhouse' ? 'default' : user);
  return `${f.kind}://${encodeURIComponent(user)}@${h}:${port}/${encodeURIComponent(db)}`;
}

/** The fields of a connection URL (for Edit); null when it is not one. */
export function parseConnectionUrl(url: string): ConnectionFields | null {
  const m = /^(postgres|postgresql|clickhouse):\/\/(.*)$/i.exec(connectionOf(url).trim());
  if (!m) return null;
  const kind: DbKind = m[1]!.toLowerCase() === 'clickhouse' ? 'clickhouse' : 'postgresql';
  let u: URL;
  try {
    u = new URL(`http://${m[2]}`);
  } catch {
    return null;
  }
  return {
    kind,
    host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: u.port || String(defaultPort(kind)),
    database: decodeURIComponent(u.pathname.replace(/^\//, '')),
    user: decodeURIComponent(u.username),
  };
}

/** The connection part of a location (`URL::TABLE` → `URL`; an IPv6 host's `[::1]` is not a separator). */
export function connectionOf(location: string): string {
  const scheme = location.indexOf('://');
  const slash = scheme < 0 ? -1 : location.indexOf('/', scheme + 3);
  const i = location.indexOf('::', slash < 0 ? 0 : slash);
  return i < 0 ? location : location.slice(0, i);
}

/** `host:port` of a database location, for the catalog's badge; null for a file. */
export function hostOf(location: string): string | null {
  if (!isDbLocation(location)) return null;
  const f = parseConnectionUrl(location);
  return f ? `${f.host}:${f.port}` : null;
}

/** A table's location: `URL::INNER` (the engine lists INNER already quoted where a name needs it). */
export function tableLocation(url: string, inner: string): string {
  return `${connectionOf(url)}::${inner}`;
}

/** A name as a location part: double quotes around a name with dots, spaces or quotes (doubled). */
export function quoteName(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_$]*$/.test(name) ? name : '"' + name.replace(/"/g, '""') + '"';
}

/** A query's location, `URL::(SQL)`, with the SQL trimmed (positions in errors count from its first character). */
export function queryLocation(url: string, sql: string): string {
  return `${connectionOf(url)}::(${sql.trim()})`;
}

/** Where an error's position (into the trimmed SQL) falls in the text as the user wrote it. */
export interface SqlSpot {
  /** offset into the user's text */
  offset: number;
  /** 0-based line and column */
  line: number;
  col: number;
  /** the line's text, for the caret line under it */
  lineText: string;
}

export function sqlSpot(text: string, position: number): SqlSpot {
  const lead = text.length - text.trimStart().length;
  const offset = Math.max(0, Math.min(text.length, lead + Math.max(0, Math.floor(position))));
  const before = text.slice(0, offset);
  const line = before.split('\n').length - 1;
  const start = before.lastIndexOf('\n') + 1;
  const end = text.indexOf('\n', start);
  const lineText = text.slice(start, end < 0 ? text.length : end);
  return { offset, line, col: offset - start, lineText };
}

/** `^` under column `col` of `lineText`, keeping its tabs so the caret lines up in monospace. */
export function caretLine(lineText: string, col: number): string {
  return lineText.slice(0, col).replace(/[^\t]/g, ' ') + '^';
}

/** The server's version as a person reads it: `PostgreSQL 15.4` (the kind in front unless it is there). */
export function versionText(kind: string, serverVersion: string): string {
  const label = kindLabel(kind);
  return serverVersion.toLowerCase().startsWith(label.toLowerCase()) ? serverVersion : `${label} ${serverVersion}`;
}

/**
 * The last queries per connection, as kept in one preference (a JSON object url → queries, newest
 * first). The web host keeps preferences of at most 4,096 characters: older queries are dropped
 * (first the oldest of the longest list) until the text fits.
 */
export const HISTORY_PER_CONNECTION = 10;
export const HISTORY_MAX_CHARS = 4000;

export function parseHistory(text: string | undefined): Record<string, string[]> {
  if (!text) return {};
  try {
    const v = JSON.parse(text) as unknown;
    if (!v || typeof v !== 'object' || Array.isArray(v)) return {};
    const out: Record<string, string[]> = {};
    for (const [k, qs] of Object.entries(v)) if (Array.isArray(qs)) out[k] = qs.filter((q): q is string => typeof q === 'string');
    return out;
  } catch {
    return {};
  }
}

export function addToHistory(history: Record<string, string[]>, url: string, sql: string): { history: Record<string, string[]>; text: string } {
  const q = sql.trim();
  const next: Record<string, string[]> = { ...history, [url]: [q, ...(history[url] ?? []).filter((x) => x !== q)].slice(0, HISTORY_PER_CONNECTION) };
  let text = JSON.stringify(next);
  while (text.length > HISTORY_MAX_CHARS) {
    // drop the oldest query of the longest list; a single query longer than the limit is cut off last
    const [k, list] = Object.entries(next).sort((a, b) => JSON.stringify(b[1]).length - JSON.stringify(a[1]).length)[0]!;
    if (list.length > 1) next[k] = list.slice(0, -1);
    else if (k !== url) delete next[k];
    else next[k] = [list[0]!.slice(0, Math.max(0, list[0]!.length - (text.length - HISTORY_MAX_CHARS) - 10))];
    text = JSON.stringify(next);
  }
  return { history: next, text };
}
