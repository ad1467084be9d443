/**
 * Database locations as the user writes them and as the catalog keeps them:
 *   postgresql://USER@HOST:PORT/DB::SCHEMA.TABLE   (also postgres://; `::TABLE` uses the search path)
 *   clickhouse://USER@HOST:PORT/DB::TABLE          (HTTP interface, port 8123 by default; `::DB.TABLE` too)
 * Without `::INNER` the connection is a container (its tables and views are listed). A query is a
 * dataset too: `URL::(SELECT …)` — the parentheses mark it — which is how `--sql` and the SQL
 * editor's results are kept. A part after `::` may quote names with double quotes (`"my schema"."a.b"`).
 *
 * A password written in the URL (`user:secret@host`) is taken out: it is handed back separately
 * so that it can be kept as a session secret, and `formatDbLocation` never writes one.
 */
import { CdxError } from '../../../shared/errors';
import type { DbKind, DbLocation } from './types';

const SCHEMES: Record<string, DbKind> = { 'postgresql:': 'postgresql', 'postgres:': 'postgresql', 'clickhouse:': 'clickhouse' };
const DEFAULT_PORT: Record<DbKind, number> = { postgresql: 5432, clickhouse: 8123 };
/** query-string options that are never secrets (a password in the query string is refused) */
const SAFE_OPTIONS = new Set(['sslmode', 'connect_timeout', 'application_name', 'options', 'secure', 'timeout_s']);

/** Is this location a database URL (not a file path)? */
export function isDbLocation(location: string): boolean {
  return /^(postgres|postgresql|clickhouse):\/\//i.test(location.trim());
}

/** `a.b`, `"a.b"."c"` → parts, with quotes removed and doubled quotes undone. */
export function splitQualified(s: string): string[] {
  const parts: string[] = [];
  let i = 0;
  while (i <= s.length) {
    if (s[i] === '"') {
      let out = '';
      i++;
      for (;;) {
        if (i >= s.length) throw new CdxError('E_BAD_ARG', `unterminated quoted name in "${s}"`);
        if (s[i] === '"') {
          if (s[i + 1] === '"') { out += '"'; i += 2; continue; }
          i++;
          break;
        }
        out += s[i++];
      }
      parts.push(out);
      if (i < s.length && s[i] !== '.') throw new CdxError('E_BAD_ARG', `expected "." after a quoted name in "${s}"`);
      i++;
    } else {
      const j = s.indexOf('.', i);
      const end = j < 0 ? s.length : j;
      parts.push(s.slice(i, end));
      i = end + 1;
    }
  }
  if (parts.some((p) => p === '')) throw new CdxError('E_BAD_ARG', `"${s}" is not a table name (write NAME, SCHEMA.NAME, or quote names with dots: "a.b")`);
  return parts;
}

function quotePart(p: string): string {
  return /^[A-Za-z_][A-Za-z0-9_$]*$/.test(p) ? p : '"' + p.replace(/"/g, '""') + '"';
}

export interface ParsedDbLocation {
  location: DbLocation;
  /** a password that was written in the URL (kept as a session secret, never stored) */
  password?: string;
}

export function parseDbLocation(raw: string): ParsedDbLocation {
  const text = raw.trim();
  const m = /^([a-z]+:)\/\//i.exec(text);
  const kind = m ? SCHEMES[m[1]!.toLowerCase()] : undefined;
  if (!kind) throw new CdxError('E_BAD_ARG', `"${redact(text)}" is not a database URL (postgresql://USER@HOST:PORT/DB::TABLE or clickhouse://USER@HOST:PORT/DB::TABLE)`);
  const after = text.slice(m![0].length);
  // the first `::` outside an IPv6 host's brackets (`postgresql://u@[::1]:5432/db::t`)
  const close = after.startsWith('[') || /@\[/.test(after) ? after.indexOf(']') : -1;
  const sep = after.indexOf('::', close + 1);
  const head = sep >= 0 ? after.slice(0, sep) : after;
  const inner = sep >= 0 ? after.slice(sep + 2).trim() : undefined;
  let u: URL;
  try {
    u = new URL(`http://${head}`);
  } catch {
    throw new CdxError('E_BAD_ARG', `"${redact(text)}" is not a database URL: cannot read its host and port`);
  }
  if (!u.hostname) throw new CdxError('E_BAD_ARG', `"${redact(text)}" names no host`);
  const options: Record<string, string> = {};
  for (const [k, v] of u.searchParams) {
    if (/pass|secret|token|key/i.test(k)) throw new CdxError('E_BAD_ARG', `${kind} URL: give the password through ${kind === 'postgresql' ? 'PGPASSWORD or ~/.pgpass' : 'CLICKHOUSE_PASSWORD'} or the connection dialog, not in the URL's "${k}" parameter`);
    if (!SAFE_OPTIONS.has(k)) throw new CdxError('E_BAD_ARG', `${kind} URL: unknown option "${k}" (known: ${[...SAFE_OPTIONS].join(', ')})`);
    options[k] = v;
  }
  const user = decodeURIComponent(u.username) || (kind === 'clickhouse' ? 'default' : process.env.PGUSER || process.env.USER || 'postgres');
  const password = u.password ? decodeURIComponent(u.password) : undefined;
  const database = decodeURIComponent(u.pathname.replace(/^\//, '')) || (kind === 'clickhouse' ? 'default' : process.env.PGDATABASE || user);
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  const loc: DbLocation = { kind, user, host, port: u.port ? Number(u.port) : DEFAULT_PORT[kind], database, options };
  if (inner !== undefined && inner !== '') {
    if (inner.startsWith('(')) {
      if (!inner.endsWith(')')) throw new CdxError('E_BAD_ARG', `a query after "::" is written in parentheses: URL::(SELECT …)`);
      loc.sql = inner.slice(1, -1).trim();
      if (!loc.sql) throw new CdxError('E_BAD_ARG', 'the query is empty');
    } else {
      const parts = splitQualified(inner);
      if (parts.length > 2) throw new CdxError('E_BAD_ARG', `"${inner}": write TABLE or ${kind === 'postgresql' ? 'SCHEMA' : 'DATABASE'}.TABLE (quote a name that holds a dot)`);
      loc.table = parts.length === 2 ? { schema: parts[0]!, name: parts[1]! } : { name: parts[0]! };
    }
  }
  return { location: loc, ...(password !== undefined ? { password } : {}) };
}

/** The connection part alone, as the user names it (no secret, no table). */
export function connectionLabel(l: Pick<DbLocation, 'kind' | 'user' | 'host' | 'port' | 'database'>): string {
  const host = l.host.includes(':') ? `[${l.host}]` : l.host;
  return `${l.kind}://${encodeURIComponent(l.user)}@${host}:${l.port}/${encodeURIComponent(l.database)}`;
}

/** The canonical text of a location: what the catalog keeps (never a secret). */
export function formatDbLocation(l: DbLocation): string {
  let s = connectionLabel(l);
  const opts = Object.entries(l.options);
  if (opts.length) s += '?' + opts.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
  if (l.sql !== undefined) s += `::(${l.sql})`;
  else if (l.table) s += '::' + (l.table.schema !== undefined ? quotePart(l.table.schema) + '.' : '') + quotePart(l.table.name);
  return s;
}

/** The location's table or query as a short name (the catalog's display name). */
export function dbDatasetName(l: DbLocation): string {
  if (l.sql !== undefined) {
    const one = l.sql.replace(/\s+/g, ' ');
    return one.length > 60 ? one.slice(0, 57) + '…' : one;
  }
  if (l.table) return (l.table.schema !== undefined ? l.table.schema + '.' : '') + l.table.name;
  return `${l.database} on ${l.host}`;
}

/** Text safe to show: a password written in a URL is replaced by `***`. */
export function redact(text: string): string {
  return text.replace(/^([a-z]+:\/\/[^/@:]*):[^@/]*@/i, '$1:***@');
}
