/**
 * Remote locations as the renderer builds and reads them, beside the databases of dburl.ts: an
 * http(s) base (`https://host/data/`, a folder) and an S3 connection
 * (`s3://KEYID@bucket/prefix/?endpoint=<urlencoded endpoint>&region=<region>`). The canonical texts
 * are the engine's own (main/engine/remote/connections.ts httpBase / formatS3Url), so a saved
 * connection's URL and the one the panel builds from its fields compare equal. Also what the
 * catalog list shows of a remote entry: its kind (for the icon) and its host.
 */
import { hostOf as dbHostOf, isDbLocation } from './dburl';
import { formatBytes, formatNumber } from './format';

export type RemoteKind = 'http' | 's3';
/** what an entry of the catalog is, for its icon: null for a single local file */
export type SourceKind = 'database' | 'http' | 's3' | 'folder';

export const isHttpUrl = (s: string): boolean => /^https?:\/\//i.test(s.trim());
export const isS3Url = (s: string): boolean => /^s3:\/\//i.test(s.trim());
/** an http(s) or S3 location: a file (or folder) that is not on the engine's disk */
export const isRemoteFileUrl = (s: string): boolean => isHttpUrl(s) || isS3Url(s);

/** What is wrong with an http(s) base as typed; null when it makes one. */
export function httpProblem(text: string): string | null {
  const t = text.trim();
  if (!t) return 'Give the URL of a folder on the server (https://host/data/).';
  let u: URL;
  try {
    u = new URL(t);
  } catch {
    return `"${t}" is not a URL (https://host/data/).`;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return `"${t}" is not an http(s) URL.`;
  if (u.username || u.password) return 'An http(s) connection keeps no user or password: write the URL without them.';
  return null;
}

/** The canonical base: no fragment, a path that ends in `/`. */
export function httpBaseUrl(text: string): string {
  const u = new URL(text.trim());
  u.hash = '';
  if (!u.pathname.endsWith('/')) u.pathname += '/';
  return u.toString();
}

/** The panel's fields for an S3 connection. */
export interface S3Fields {
  bucket: string;
  prefix: string;
  /** the access key id; empty: the AWS chain (environment, ~/.aws) */
  keyId: string;
  /** empty: AWS itself; an S3-compatible store: http(s)://host:port */
  endpoint: string;
  region: string;
}

export function s3Problem(f: S3Fields): string | null {
  const b = f.bucket.trim();
  if (!b) return 'Give the bucket.';
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/.test(b)) return `"${b}" is not a bucket name (letters, digits, dots, hyphens and underscores).`;
  const e = f.endpoint.trim();
  if (e) {
    let u: URL;
    try {
      u = new URL(e);
    } catch {
      return `The endpoint "${e}" is not a URL (http://host:9000).`;
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return `The endpoint "${e}" is not an http(s) URL.`;
  }
  if (/[\s/@:]/.test(f.keyId.trim())) return 'The access key id holds no spaces, slashes, colons or @.';
  if (/[?#]/.test(f.prefix)) return 'The prefix holds no ? or #.';
  return null;
}

/**
 * The canonical S3 connection URL made from the fields, as the engine writes it (formatS3Url):
 * the prefix as written (S3 keys are taken literally), endpoint and region %-encoded.
 */
export function s3Url(f: S3Fields): string {
  const q: string[] = [];
  const e = f.endpoint.trim().replace(/\/+$/, '');
  if (e) q.push(`endpoint=${encodeURIComponent(e)}`);
  if (f.region.trim()) q.push(`region=${encodeURIComponent(f.region.trim())}`);
  let prefix = f.prefix.trim().replace(/^\/+/, '');
  if (prefix && !prefix.endsWith('/')) prefix += '/';
  const id = f.keyId.trim();
  return `s3://${id ? `${encodeURIComponent(id)}@` : ''}${f.bucket.trim()}/${prefix}${q.length ? `?${q.join('&')}` : ''}`;
}

const S3_QUERY = /\?((?:(?:endpoint|region)=[^&?]*&?)+)$/;

const decode = (s: string) => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

/** The parts of an S3 location (for Edit, and the catalog's host); null when it is not one. */
export function parseS3Url(url: string): S3Fields | null {
  const t = url.trim();
  if (!isS3Url(t)) return null;
  let rest = t.slice(5);
  let query = '';
  const m = S3_QUERY.exec(rest);
  if (m) {
    query = m[1]!;
    rest = rest.slice(0, m.index);
  }
  const slash = rest.indexOf('/');
  let authority = slash < 0 ? rest : rest.slice(0, slash);
  const prefix = slash < 0 ? '' : rest.slice(slash + 1);
  let keyId = '';
  const at = authority.lastIndexOf('@');
  if (at >= 0) {
    keyId = decode(authority.slice(0, at).replace(/:.*$/, ''));
    authority = authority.slice(at + 1);
  }
  if (!authority) return null;
  const params: Record<string, string> = {};
  for (const kv of query.split('&')) {
    const i = kv.indexOf('=');
    if (i > 0) params[kv.slice(0, i)] = decode(kv.slice(i + 1));
  }
  return { keyId, bucket: authority, prefix, endpoint: params.endpoint ?? '', region: params.region ?? '' };
}

/**
 * A path typed under a folder (relative to it, or absolute from the server's root for http):
 * its location. An S3 folder's query (endpoint, region) stays with it.
 */
export function childUrl(folder: string, rel: string): string {
  const r = rel.trim();
  if (isRemoteFileUrl(r)) return r;
  if (isS3Url(folder)) {
    const q = folder.indexOf('?');
    const head = q < 0 ? folder : folder.slice(0, q);
    const tail = q < 0 ? '' : folder.slice(q);
    // S3 keys are taken literally (no %-encoding)
    const path = r.replace(/^\/+/, '');
    return `${head.endsWith('/') ? head : head + '/'}${path}${tail}`;
  }
  return new URL(r.split('/').map((s) => (s === '..' || s === '.' ? s : encodeURIComponent(s))).join('/'), folder).toString();
}

/** What a catalog entry is, for its icon (null: a single local file). */
export function sourceKind(d: { path: string; files?: number }): SourceKind | null {
  if (d.files !== undefined && d.files > 1) return 'folder';
  if (isDbLocation(d.path)) return 'database';
  if (isHttpUrl(d.path)) return 'http';
  if (isS3Url(d.path)) return 's3';
  if (d.files !== undefined) return 'folder';
  return null;
}

/** The host a remote entry comes from, as the catalog list shows it (null: on this disk). */
export function remoteHost(path: string): string | null {
  if (isDbLocation(path)) return dbHostOf(path);
  if (isHttpUrl(path)) {
    try {
      return new URL(path).host;
    } catch {
      return null;
    }
  }
  if (isS3Url(path)) {
    const f = parseS3Url(path);
    if (!f) return null;
    let where = '';
    try {
      if (f.endpoint) where = ` · ${new URL(f.endpoint).host}`;
    } catch {
      /* shown without it */
    }
    return `s3://${f.bucket}${where}`;
  }
  return null;
}

/** The last name of a location's path (a folder's own name for a URL ending in `/`). */
export function lastName(location: string): string {
  const noQuery = isRemoteFileUrl(location) ? location.replace(/[?#].*$/, '') : location;
  const parts = noQuery.replace(/::.*$/, '').split(/[/\\]/).filter(Boolean);
  const last = parts.at(-1) ?? location;
  try {
    // an http(s) path is %-encoded; an S3 key is written as it is
    return isHttpUrl(location) ? decodeURIComponent(last) : last;
  } catch {
    return last;
  }
}

/**
 * The line under a remote or many-file entry's name in the catalog list: where it comes from
 * (host:port, the server, the bucket; a database's format when its host is unknown), and its size
 * (files) or its file count (folders) and its rows. Two parts, so that a long host can be cut short
 * while the facts stay whole.
 */
export function sourceFacts(d: { path: string; format: string; size: number; rows?: number | null; files?: number }, kind: SourceKind): { host: string | null; facts: string } {
  const parts: string[] = [];
  let host = remoteHost(d.path);
  if (!host && kind === 'database') host = d.format;
  if (kind === 'folder') parts.push(`${formatNumber(d.files ?? 0)} files`, formatBytes(d.size));
  else if (kind !== 'database') parts.push(formatBytes(d.size));
  if (d.rows != null) parts.push(`${formatNumber(d.rows)} rows`);
  return { host, facts: parts.join(' · ') };
}

/** sourceFacts as one line of text */
export function sourceFactsText(d: Parameters<typeof sourceFacts>[0], kind: SourceKind): string {
  const { host, facts } = sourceFacts(d, kind);
  return [host, facts].filter(Boolean).join(' · ');
}
