/**
 * Objects in S3 and S3-compatible stores (MinIO, Ceph, R2, …) through @aws-sdk/client-s3:
 *  - locations: `s3://bucket/key`, `s3://bucket/prefix/`, globs (`s3://bucket/parts/*.parquet`) and
 *    Hive trees; a saved connection's form `s3://KEYID@bucket/prefix/?endpoint=<urlencoded>&region=<r>`
 *    is read too (a query string is taken only when it holds these names: `?` is also a glob character);
 *  - which store and which credentials, in order: the key id written in the location or a saved
 *    connection of the bucket (catalog `connections`, kind 's3'; its secret access key kept like a
 *    database password, sql/secrets.ts, under the label `s3://bucket`: session or OS keychain), else
 *    the SDK's standard chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN,
 *    AWS_PROFILE with ~/.aws/credentials and ~/.aws/config, SSO, web identity, container and instance
 *    roles). The region comes from the location or connection, else AWS_REGION or the profile, else
 *    AWS_DEFAULT_REGION, else us-east-1. An endpoint (the location's, the connection's, else
 *    AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL) means an S3-compatible store, addressed path-style;
 *  - `s3File`: one object as a RemoteFile (file.ts): HeadObject for its version, GetObject ranges
 *    that must come from that version (IfMatch, and the answer's ETag checked as well, for stores
 *    that ignore the condition: E_STALE), and a download streamed into a temporary file beside its
 *    destination, resumed after a broken stream (Range + IfMatch), renamed when whole;
 *  - `listS3` (paginated ListObjectsV2, one level with the `/` delimiter for browsing) and `testS3`
 *    for the Connections panel.
 * Every error is a CdxError naming `s3://bucket/key`, never a key id or a secret.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { renameDurable, tempBeside } from '../durable';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';

type S3Sdk = typeof import('@aws-sdk/client-s3');
let sdkLoad: Promise<S3Sdk> | null = null;
/**
 * The AWS SDK, loaded at the first S3 call: it is the largest thing the engine would otherwise load
 * at every start (about a quarter of its start-up time), which every app launch, CLI command and
 * restart after a crash paid without touching S3.
 */
function sdk(): Promise<S3Sdk> {
  return (sdkLoad ??= import('@aws-sdk/client-s3').catch((e) => {
    sdkLoad = null;
    throw e;
  }));
}
import { CdxError, type ErrorCode } from '../../../shared/errors';
import type { HttpOptions, RemoteStamp } from './http';
import type { ReadOptions, RemoteFile } from './file';
import { forgetSessionSecret, hasSessionSecret, keychainDelete, keychainGet, keychainSet, passwordFor, setSessionSecret } from '../sql/secrets';

// The SDK warns once per process that its releases after January 2027 need Node 22: a notice about
// the SDK's own support plan, not about this run, printed into the CLI's output. Its documented switch.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export function isS3Location(location: string): boolean {
  return /^s3:\/\//i.test(location);
}

export interface S3Location {
  bucket: string;
  /** an object's key, a prefix (ends with `/`, or empty: the whole bucket) or a pattern; taken literally (no %-decoding) */
  key: string;
  /** the access key id written before the bucket (`s3://KEYID@bucket/…`) */
  keyId?: string;
  /** a secret written after it (`s3://KEYID:SECRET@bucket/…`): used for the call, never shown or stored */
  secret?: string;
  /** an S3-compatible store's endpoint (`http://host:9000`) */
  endpoint?: string;
  region?: string;
}

const QUERY = /\?((?:(?:endpoint|region)=[^&?]*&?)+)$/;
const GLOB = /[*?[]/;

/** Parses `s3://[KEYID@]bucket/key[?endpoint=…&region=…]`. */
export function parseS3(location: string): S3Location {
  if (!isS3Location(location)) throw new CdxError('E_BAD_ARG', `${location}: not an s3:// location`);
  let rest = location.slice(5);
  const params: Record<string, string> = {};
  const q = QUERY.exec(rest);
  if (q) {
    rest = rest.slice(0, q.index);
    for (const kv of q[1]!.split('&')) {
      const i = kv.indexOf('=');
      if (i > 0) params[kv.slice(0, i)] = decodeURIComponent(kv.slice(i + 1));
    }
  }
  const slash = rest.indexOf('/');
  let authority = slash < 0 ? rest : rest.slice(0, slash);
  const key = slash < 0 ? '' : rest.slice(slash + 1);
  let keyId: string | undefined;
  let secret: string | undefined;
  const at = authority.lastIndexOf('@');
  if (at >= 0) {
    const user = authority.slice(0, at);
    const colon = user.indexOf(':');
    keyId = decodeURIComponent(colon >= 0 ? user.slice(0, colon) : user) || undefined;
    if (colon >= 0) secret = decodeURIComponent(user.slice(colon + 1)) || undefined;
    authority = authority.slice(at + 1);
  }
  const bucket = authority;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/.test(bucket)) {
    throw new CdxError('E_BAD_ARG', `s3://${bucket}/${key}: ${bucket ? `"${bucket}" is not a bucket name` : 'no bucket named'} (s3://bucket/key)`);
  }
  const out: S3Location = { bucket, key };
  if (keyId) out.keyId = keyId;
  if (keyId && secret) out.secret = secret;
  if (params.endpoint) out.endpoint = checkEndpoint(params.endpoint, `s3://${bucket}/${key}`);
  if (params.region) out.region = params.region;
  return out;
}

function checkEndpoint(e: string, where: string): string {
  try {
    const u = new URL(e);
    if (u.protocol === 'http:' || u.protocol === 'https:') return e.replace(/\/+$/, '');
  } catch {
    /* below */
  }
  throw new CdxError('E_BAD_ARG', `${where}: the endpoint ${JSON.stringify(e)} is not an http(s) URL (e.g. http://localhost:9000)`);
}

/** `s3://bucket/key`: what every message names (no key id, no endpoint). */
export function s3Display(loc: S3Location, key = loc.key): string {
  return `s3://${loc.bucket}/${key}`;
}

/** The location as the catalog keeps it: without the key id, with the endpoint and region it was given. */
export function s3StoredLocation(loc: S3Location, key = loc.key): string {
  const q: string[] = [];
  if (loc.endpoint) q.push(`endpoint=${encodeURIComponent(loc.endpoint)}`);
  if (loc.region) q.push(`region=${encodeURIComponent(loc.region)}`);
  return s3Display(loc, key) + (q.length ? `?${q.join('&')}` : '');
}

/** A prefix, the whole bucket or a pattern: many objects as one dataset (remote/s3open.ts), not one object. */
export function isS3MultiLocation(location: string): boolean {
  if (!isS3Location(location)) return false;
  const { key } = parseS3(location);
  return key === '' || key.endsWith('/') || GLOB.test(key);
}

// ---------------------------------------------------------------------------------------------
// Saved connections and their secrets

/** The catalog's connections table, as far as this module reads and writes it. */
export interface S3ConnectionStore {
  connections(): { url: string; name: string; kind: string; keep: string; addedAt: number }[];
  saveConnection?(c: { url: string; name: string; kind: string; keep: string }): { url: string; name: string; kind: string; keep: string; addedAt: number };
  removeConnection?(url: string): boolean;
}

export interface S3Connection {
  /** `s3://KEYID@bucket/prefix/?endpoint=…&region=…` as saved */
  url: string;
  name: string;
  bucket: string;
  prefix: string;
  keyId?: string;
  endpoint?: string;
  region?: string;
  /** where its secret access key is kept: 'keychain' | 'session' | 'app' | 'convention' (no key id: the AWS chain) */
  keep: string;
  addedAt: number;
}

/** The label a bucket's secret access key is kept under (session, keychain): holds no secret. */
export function s3SecretLabel(bucket: string): string {
  return `s3://${bucket}`;
}

function connectionOf(r: { url: string; name: string; kind: string; keep: string; addedAt: number }): S3Connection | null {
  if (r.kind !== 's3' || !isS3Location(r.url)) return null;
  try {
    const l = parseS3(r.url);
    return { url: r.url, name: r.name, bucket: l.bucket, prefix: l.key, ...(l.keyId ? { keyId: l.keyId } : {}), ...(l.endpoint ? { endpoint: l.endpoint } : {}), ...(l.region ? { region: l.region } : {}), keep: r.keep, addedAt: r.addedAt };
  } catch {
    return null; // a row written by something else: not ours to read
  }
}

/** The saved connections of kind 's3'. */
export function s3Connections(store: S3ConnectionStore): S3Connection[] {
  return store.connections().map(connectionOf).filter((c): c is S3Connection => c !== null);
}

/**
 * The saved connection that serves `bucket` (and `key`: of several, the one whose prefix is the
 * longest that the key starts with; an endpoint named in the location must be the connection's).
 */
export function s3ConnectionFor(bucket: string, store: S3ConnectionStore, key = '', endpoint?: string): S3Connection | null {
  let best: S3Connection | null = null;
  for (const c of s3Connections(store)) {
    if (c.bucket !== bucket) continue;
    if (endpoint && c.endpoint && c.endpoint !== endpoint) continue;
    const fits = key.startsWith(c.prefix);
    const bestFits = best ? key.startsWith(best.prefix) : false;
    if (!best || (fits && (!bestFits || c.prefix.length > best.prefix.length))) best = c;
  }
  return best;
}

/** Keeps a bucket's secret access key: in the OS keychain when `remember` and one answers, and for this engine's session in any case. */
export function setS3Secret(bucket: string, secret: string, opts: { remember?: boolean } = {}): 'keychain' | 'session' {
  const label = s3SecretLabel(bucket);
  setSessionSecret(label, secret);
  return opts.remember && keychainSet(label, secret) ? 'keychain' : 'session';
}

export function forgetS3Secret(bucket: string): void {
  const label = s3SecretLabel(bucket);
  forgetSessionSecret(label);
  keychainDelete(label);
}

/** Where a bucket's secret would come from now. */
export function s3SecretSource(bucket: string): 'session' | 'keychain' | 'none' {
  const label = s3SecretLabel(bucket);
  if (hasSessionSecret(label)) return 'session';
  return keychainGet(label) !== undefined ? 'keychain' : 'none';
}

/** the secret kept for a bucket: session first, then the keychain */
function keptSecret(bucket: string): string | undefined {
  const label = s3SecretLabel(bucket);
  return sessionSecret(label) ?? keychainGet(label);
}

/**
 * The session's value for a label. secrets.ts keeps its session map to itself and answers through
 * passwordFor, whose first place is the session: asked only when the session holds the label, that
 * is the value (the database conventions after it are never reached).
 */
function sessionSecret(label: string): string | undefined {
  if (!hasSessionSecret(label)) return undefined;
  return passwordFor(label, 'clickhouse', { host: '', port: 0, database: '', user: '' });
}

// ---------------------------------------------------------------------------------------------
// Clients

export interface S3Options {
  /** the catalog's connections (a saved connection of the bucket gives its endpoint, region and key) */
  connections?: S3ConnectionStore;
  /** a secret access key for this call only (the Connections panel's Test before saving) */
  secret?: string;
  /** tries for a read whose stream breaks, the first included (default 4); the SDK retries requests on its own */
  tries?: number;
  /** the first back-off wait of those tries (default 250 ms), doubled each time */
  backoffMs?: number;
}

interface Resolved {
  client: S3Client;
  /** the SDK's commands */
  sdk: S3Sdk;
  /** the endpoint as shown (an S3-compatible store's, or AWS's for the region) */
  endpoint: string;
  /** where the credentials come from, for the hint of an E_AUTH (never the key id or the secret) */
  from: string;
  /** a key id and secret written in no message */
  secrets: string[];
}

const clients = new Map<string, S3Client>();

/** Drops every client (their sockets): after a change of credentials, and when the engine closes. */
export function closeS3Clients(): void {
  for (const c of clients.values()) c.destroy();
  clients.clear();
}

const regionCache = new Map<string, string>();

/** AWS_REGION or the profile's region (the SDK's own lookup), else AWS_DEFAULT_REGION (as the aws CLI), else us-east-1. */
async function chainRegion(): Promise<string> {
  const env = process.env;
  const k = [env.AWS_REGION, env.AWS_DEFAULT_REGION, env.AWS_PROFILE, env.AWS_CONFIG_FILE].join('\u0000');
  const known = regionCache.get(k);
  if (known) return known;
  const probe = new (await sdk()).S3Client({});
  let region: string;
  try {
    region = await probe.config.region();
  } catch {
    region = env.AWS_DEFAULT_REGION || 'us-east-1';
  } finally {
    probe.destroy();
  }
  regionCache.set(k, region);
  return region;
}

function hash(s: string | undefined): string {
  return s === undefined ? '' : createHash('sha256').update(s).digest('hex').slice(0, 16);
}

async function resolve(loc: S3Location, o: S3Options): Promise<Resolved> {
  const env = process.env;
  const conn = !loc.keyId && o.connections ? s3ConnectionFor(loc.bucket, o.connections, loc.key, loc.endpoint) : null;
  const keyId = loc.keyId ?? conn?.keyId;
  const endpointSetting = loc.endpoint ?? conn?.endpoint ?? (env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined);
  const endpoint = endpointSetting ? checkEndpoint(endpointSetting, s3Display(loc)) : undefined;
  const region = loc.region ?? conn?.region ?? (await chainRegion());
  let credentials: S3ClientConfig['credentials'];
  let from: string;
  const secrets: string[] = [];
  if (keyId) {
    const secret = o.secret ?? loc.secret ?? keptSecret(loc.bucket);
    if (!secret) {
      throw CdxError.file('E_AUTH', s3Display(loc),
        `no secret access key is kept for ${s3SecretLabel(loc.bucket)}: save the connection again with its secret (Connections), or give it for this session`);
    }
    credentials = { accessKeyId: keyId, secretAccessKey: secret };
    secrets.push(keyId, secret);
    from = conn ? `the saved connection for ${s3SecretLabel(loc.bucket)} (its key id, and the secret kept in the ${s3SecretSource(loc.bucket) === 'keychain' ? 'OS keychain' : "engine's session"})` : 'the key id in the location';
    if (o.secret || loc.secret) from = 'the key id and secret given';
  } else {
    from = env.AWS_ACCESS_KEY_ID
      ? 'the environment (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)'
      : `the AWS credential chain (profile ${env.AWS_PROFILE || 'default'} in ${env.AWS_SHARED_CREDENTIALS_FILE || '~/.aws/credentials'} and ${env.AWS_CONFIG_FILE || '~/.aws/config'}, SSO, instance roles)`;
    for (const v of [env.AWS_ACCESS_KEY_ID, env.AWS_SECRET_ACCESS_KEY, env.AWS_SESSION_TOKEN]) if (v) secrets.push(v);
  }
  const key = JSON.stringify([endpoint, region, keyId, hash(credentials ? (credentials as { secretAccessKey: string }).secretAccessKey : undefined),
    keyId ? '' : [env.AWS_ACCESS_KEY_ID, hash(env.AWS_SECRET_ACCESS_KEY), hash(env.AWS_SESSION_TOKEN), env.AWS_PROFILE, env.AWS_SHARED_CREDENTIALS_FILE, env.AWS_CONFIG_FILE].join('\u0000')]);
  const mod = await sdk();
  let client = clients.get(key);
  if (!client) {
    client = new mod.S3Client({
      region,
      ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
      ...(credentials ? { credentials } : {}),
      maxAttempts: 4,
      // a store that does not answer at all is told quickly; a slow body is the read's own business
      requestHandler: { connectionTimeout: 10_000, requestTimeout: 120_000 },
    });
    clients.set(key, client);
    // a handful of stores and keys at a time: the oldest client (and its sockets) goes
    if (clients.size > 16) {
      const [k0, c0] = clients.entries().next().value as [string, S3Client];
      clients.delete(k0);
      c0.destroy();
    }
  }
  return { client, sdk: mod, endpoint: endpoint ?? `https://s3.${region}.amazonaws.com`, from, secrets };
}

// ---------------------------------------------------------------------------------------------
// Errors

interface SdkError {
  name?: string;
  Code?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  cause?: unknown;
}

const AUTH = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'ExpiredToken', 'InvalidToken', 'TokenRefreshRequired', 'CredentialsProviderError', 'InvalidClientTokenId', 'AuthorizationHeaderMalformed']);
const CONNECT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'ETIMEDOUT', 'TimeoutError', 'EPIPE']);

function scrub(msg: string, secrets: string[]): string {
  for (const s of secrets) if (s && s.length >= 3) msg = msg.split(s).join('…');
  return msg;
}

function networkCode(e: unknown): string | undefined {
  for (let x = e as SdkError | undefined, i = 0; x && i < 4; x = x.cause as SdkError | undefined, i++) {
    if (x.code && CONNECT.has(x.code)) return x.code;
    if (x.name && CONNECT.has(x.name)) return x.name;
  }
  return undefined;
}

/** An SDK failure as a CdxError naming `where` (s3://bucket/key), never a key id or secret. */
function s3Failure(e0: unknown, where: string, r: Resolved | undefined, signal?: AbortSignal, what = 'the request'): CdxError {
  if (e0 instanceof CdxError) return e0;
  const e = (e0 ?? {}) as SdkError;
  if (signal?.aborted || e.name === 'AbortError') return CdxError.cancelled(`${what} of ${where}`);
  const name = e.Code ?? e.name ?? '';
  const status = e.$metadata?.httpStatusCode;
  const secrets = r?.secrets ?? [];
  const fail = (code: ErrorCode, problem: string) => CdxError.file(code, where, scrub(problem, secrets));
  if (AUTH.has(name) || status === 401 || status === 403) {
    const why = name === 'InvalidAccessKeyId' ? 'the store does not know the access key id'
      : name === 'SignatureDoesNotMatch' ? 'the secret access key does not match the key id (the request signature was refused)'
      : name === 'CredentialsProviderError' ? 'no AWS credentials were found'
      : name === 'ExpiredToken' || name === 'TokenRefreshRequired' ? 'the session token has expired'
      : `access denied (${name && name !== 'Unknown' && name !== 'Forbidden' ? name : `HTTP ${status ?? 403}`})`;
    return fail('E_AUTH', `${why}; the credentials came from ${r?.from ?? 'the AWS credential chain'}. Set AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or AWS_PROFILE (~/.aws/credentials), or save a connection for ${where.replace(/^(s3:\/\/[^/]+).*$/, '$1')} with its key`);
  }
  if (name === 'NoSuchBucket') return fail('ENOENT', `no such bucket${r ? ` at ${r.endpoint}` : ''}`);
  if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) return fail('ENOENT', 'no such object');
  if (name === 'PreconditionFailed' || status === 412) return fail('E_STALE', 'the object changed in the store while it was read (its ETag is no longer the one read first); open it again');
  if (name === 'InvalidRange' || status === 416) return fail('E_TRUNCATED', 'the object has fewer bytes than expected: it is shorter than before');
  const net = networkCode(e0);
  if (net) return fail('E_CONNECT', `cannot reach the S3 endpoint${r ? ' ' + r.endpoint : ''} (${net}${e.message && e.message !== net ? `: ${e.message}` : ''})`);
  if (name === 'PermanentRedirect' || name === 'AuthorizationHeaderMalformed' || status === 301) return fail('E_READ', `the bucket is in another region than ${r ? r.endpoint : 'the one configured'} (set AWS_REGION or the connection's region)`);
  return fail('E_READ', `${what} failed: ${name && name !== 'Error' ? name + ': ' : ''}${e.message ?? String(e0)}${status ? ` (HTTP ${status})` : ''}`);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((res, rej) => {
    const t = setTimeout(() => { signal?.removeEventListener('abort', onAbort); res(); }, ms);
    const onAbort = () => { clearTimeout(t); rej(CdxError.cancelled('the download')); };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

// ---------------------------------------------------------------------------------------------
// One object

function stampOf(h: { ContentLength?: number; ETag?: string; LastModified?: Date; ContentRange?: string }, whole: boolean): RemoteStamp {
  let size: number | null = null;
  const cr = /\/(\d+)\s*$/.exec(h.ContentRange ?? '');
  if (cr) size = Number(cr[1]);
  else if (whole && h.ContentLength !== undefined) size = h.ContentLength;
  return { size, etag: h.ETag ?? null, lastModified: h.LastModified ? h.LastModified.toUTCString() : null, ranges: true };
}

function describeVersion(s: RemoteStamp): string {
  return s.etag ? `ETag ${s.etag}` : s.lastModified ? `Last-Modified ${s.lastModified}` : 'unknown version';
}

/** a body that broke off mid-stream: resumed or read again by our own loop (the SDK retries requests, not bodies) */
class BodyBreak extends Error {}

/** An S3 object as a RemoteFile (file.ts). */
export function s3File(location: string | S3Location, policy: S3Options = {}): RemoteFile {
  const loc = typeof location === 'string' ? parseS3(location) : location;
  if (!loc.key || loc.key.endsWith('/')) throw new CdxError('E_BAD_ARG', `${s3Display(loc)}: a prefix, not an object`);
  const display = s3Display(loc);
  const name = loc.key.split('/').pop() || 'object';
  const tries = Math.max(1, policy.tries ?? 4);
  const base = policy.backoffMs ?? 250;
  const Bucket = loc.bucket;
  const Key = loc.key;

  async function stat(opts: HttpOptions = {}): Promise<RemoteStamp> {
    let r: Resolved | undefined;
    try {
      r = await resolve(loc, policy);
      const h = await r.client.send(new r.sdk.HeadObjectCommand({ Bucket, Key }), { abortSignal: opts.signal });
      return stampOf(h, true);
    } catch (e) {
      const err = s3Failure(e, display, r, opts.signal, 'the look-up');
      // a HEAD answers 404 without a body: ask the bucket, to say which of the two is missing
      if (err.code === 'ENOENT' && r) {
        const bucketThere = await r.client.send(new r.sdk.HeadBucketCommand({ Bucket }), { abortSignal: opts.signal }).then(() => true, (b: SdkError) => (b?.$metadata?.httpStatusCode === 404 ? false : true));
        if (!bucketThere) throw CdxError.file('ENOENT', display, `no such bucket ${Bucket} at ${r.endpoint}`);
      }
      throw err;
    }
  }

  async function read(start: number, end: number, opts: ReadOptions = {}): Promise<Uint8Array> {
    if (!(end > start)) return new Uint8Array(0);
    const v = opts.version;
    for (let attempt = 1; ; attempt++) {
      let r: Resolved | undefined;
      try {
        r = await resolve(loc, policy);
        const res = await r.client.send(new r.sdk.GetObjectCommand({ Bucket, Key, Range: `bytes=${start}-${end - 1}`, ...(v?.etag ? { IfMatch: v.etag } : {}) }), { abortSignal: opts.signal });
        const now = stampOf(res, false);
        const body = res.Body as Readable | undefined;
        // a store that ignores IfMatch still says which version it sent
        if (v?.etag && now.etag && now.etag !== v.etag) {
          body?.destroy();
          throw CdxError.file('E_STALE', display, `the object changed in the store while it was read (${describeVersion(v)} → ${describeVersion(now)}); open it again`);
        }
        const m = /bytes\s+(\d+)-(\d+)/.exec(res.ContentRange ?? '');
        if (!m || Number(m[1]) !== start) {
          body?.destroy();
          throw CdxError.file('E_READ', display, `the store answered a range that was not asked for (${res.ContentRange ?? 'the whole object'})`);
        }
        const want = Math.min(end, now.size ?? end) - start;
        const buf = new Uint8Array(want);
        let got = 0;
        try {
          for await (const c of body ?? []) {
            const chunk = c as Buffer;
            const n = Math.min(chunk.length, want - got);
            if (n > 0) buf.set(chunk.subarray(0, n), got);
            got += n;
            opts.onBytes?.(n);
          }
        } catch (e) {
          if (opts.signal?.aborted) throw CdxError.cancelled(`the read of ${display}`);
          throw new BodyBreak(`the stream broke after ${got} of ${want} bytes (${(e as Error).message})`);
        }
        if (got < want) throw new BodyBreak(`the stream ended after ${got} of ${want} bytes`);
        if (end > (now.size ?? end)) throw CdxError.file('E_TRUNCATED', display, `the object has ${now.size} bytes, fewer than the ${end} expected: it is truncated or changed`);
        return buf;
      } catch (e) {
        if (!(e instanceof BodyBreak)) throw s3Failure(e, display, r, opts.signal, 'the read');
        if (attempt >= tries) throw CdxError.file('E_READ', display, `the read of bytes ${start}-${end - 1} failed ${tries} times; last: ${e.message}`);
        await sleep(base * 2 ** (attempt - 1), opts.signal);
      }
    }
  }

  async function download(dest: string, opts: HttpOptions = {}): Promise<RemoteStamp> {
    await mkdir(path.dirname(dest), { recursive: true });
    const tmp = tempBeside(dest);
    try {
      const stamp = await transfer(tmp, opts);
      await renameDurable(tmp, dest);
      return stamp;
    } catch (e) {
      await rm(tmp, { force: true }).catch(() => undefined);
      throw e;
    }
  }

  async function transfer(tmp: string, opts: HttpOptions): Promise<RemoteStamp> {
    let stamp: RemoteStamp | null = null;
    let got = 0;
    const t = Math.max(1, opts.tries ?? tries);
    const b = opts.backoffMs ?? base;
    for (let attempt = 1; ; attempt++) {
      let r: Resolved | undefined;
      try {
        r = await resolve(loc, policy);
        const resume = stamp !== null && got > 0;
        const res = await r.client.send(new r.sdk.GetObjectCommand({
          Bucket, Key,
          ...(resume ? { Range: `bytes=${got}-`, ...(stamp!.etag ? { IfMatch: stamp!.etag } : {}) } : {}),
        }), { abortSignal: opts.signal });
        const now = stampOf(res, !resume);
        const body = res.Body as Readable | undefined;
        if (resume) {
          if (stamp!.etag && now.etag && now.etag !== stamp!.etag) {
            body?.destroy();
            throw CdxError.file('E_STALE', display, `the object changed in the store while it was downloaded (${describeVersion(stamp!)} → ${describeVersion(now)}); open it again`);
          }
          const m = /bytes\s+(\d+)-/.exec(res.ContentRange ?? '');
          if (!m || Number(m[1]) !== got) {
            body?.destroy();
            throw CdxError.file('E_READ', display, `the store answered a range that was not asked for (${res.ContentRange ?? 'the whole object'})`);
          }
        } else {
          stamp = now;
          got = 0;
        }
        const at = { done: got };
        try {
          await writeBody(body, tmp, at, stamp!, opts);
        } finally {
          got = at.done;
        }
        if (stamp!.size !== null && got !== stamp!.size) throw new BodyBreak(`the stream ended after ${got} of ${stamp!.size} bytes`);
        if (stamp!.size === null) stamp!.size = got;
        return stamp!;
      } catch (e) {
        if (!(e instanceof BodyBreak)) throw s3Failure(e, display, r, opts.signal, 'the download');
        if (attempt >= t) throw CdxError.file('E_TRUNCATED', display, `the download failed ${t} times (${got} of ${stamp?.size ?? '?'} bytes); last: ${e.message}`);
        await sleep(b * 2 ** (attempt - 1), opts.signal);
      }
    }
  }

  /** Streams a body into `file` from byte `at.done`, counting in `at.done` the bytes written. */
  async function writeBody(body: Readable | undefined, file: string, at: { done: number }, stamp: RemoteStamp, opts: HttpOptions): Promise<void> {
    const out = createWriteStream(file, { flags: at.done > 0 ? 'r+' : 'w', start: at.done });
    const closed = new Promise<void>((res) => out.once('close', () => res()));
    let writeError: Error | null = null;
    out.on('error', (e) => { writeError = e; });
    try {
      try {
        for await (const c of body ?? []) {
          const chunk = c as Buffer;
          if (writeError) break;
          if (!out.write(chunk)) {
            // until the file takes more (or the stream closed on an error: writeError says so)
            await new Promise<void>((res) => {
              const done = () => { out.off('drain', done); out.off('close', done); res(); };
              out.on('drain', done);
              out.on('close', done);
            });
          }
          at.done += chunk.length;
          opts.onBytes?.(at.done, stamp.size);
        }
      } catch (e) {
        if (opts.signal?.aborted) throw CdxError.cancelled(`the download of ${display}`);
        throw new BodyBreak(`the stream broke after ${at.done} bytes (${(e as Error).message})`);
      }
      await new Promise<void>((res) => out.end(() => res()));
    } finally {
      out.destroy();
      await closed;
      body?.destroy();
    }
    if (writeError) throw CdxError.file('E_WRITE', file, `cannot write the downloaded object: ${(writeError as Error).message}`);
  }

  return { display, name, stat, read, download };
}

// ---------------------------------------------------------------------------------------------
// Listing

export interface S3Entry {
  /** the object's key (a "folder" of a delimited listing: its prefix, ending with `/`) */
  key: string;
  /** `s3://bucket/key` (with the location's endpoint and region, never its key id) */
  url: string;
  size: number;
  mtimeMs: number;
  /** a common prefix of a delimited listing (a "folder") */
  dir: boolean;
  etag?: string;
}

/**
 * The objects under a location's prefix (every page of ListObjectsV2). With `delimiter`, one level
 * as a browser shows it: the objects directly under the prefix and its "folders" (dir: true).
 * `limit` stops after that many entries.
 */
export async function listS3(url: string, opts: S3Options & { delimiter?: boolean; signal?: AbortSignal; limit?: number } = {}): Promise<S3Entry[]> {
  const loc = parseS3(url);
  return listS3Objects(loc, loc.key, opts);
}

/** listS3 for a parsed location and a prefix of its bucket (the key id and secret of the location kept). */
export async function listS3Objects(loc: S3Location, prefix: string, opts: S3Options & { delimiter?: boolean; signal?: AbortSignal; limit?: number } = {}): Promise<S3Entry[]> {
  const where = s3Display(loc, prefix);
  let r: Resolved | undefined;
  const out: S3Entry[] = [];
  try {
    r = await resolve(loc, opts);
    let token: string | undefined;
    do {
      if (opts.signal?.aborted) throw CdxError.cancelled(`the listing of ${where}`);
      const page = await r.client.send(new r.sdk.ListObjectsV2Command({
        Bucket: loc.bucket, Prefix: prefix || undefined, ContinuationToken: token,
        ...(opts.delimiter ? { Delimiter: '/' } : {}),
        ...(opts.limit ? { MaxKeys: Math.min(1000, opts.limit - out.length) } : {}),
      }), { abortSignal: opts.signal });
      for (const p of page.CommonPrefixes ?? []) {
        if (p.Prefix) out.push({ key: p.Prefix, url: s3StoredLocation(loc, p.Prefix), size: 0, mtimeMs: 0, dir: true });
      }
      for (const o of page.Contents ?? []) {
        if (!o.Key || o.Key === prefix) continue; // the prefix's own "folder" marker
        out.push({ key: o.Key, url: s3StoredLocation(loc, o.Key), size: o.Size ?? 0, mtimeMs: o.LastModified ? o.LastModified.getTime() : 0, dir: false, ...(o.ETag ? { etag: o.ETag } : {}) });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token && (!opts.limit || out.length < opts.limit));
  } catch (e) {
    throw s3Failure(e, where, r, opts.signal, 'the listing');
  }
  out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return opts.limit ? out.slice(0, opts.limit) : out;
}

/**
 * The Connections panel's Test: one listing page under the location's prefix, signed with the key
 * given (`secret`) or kept. How many objects (up to 1000), how long it took, and the endpoint asked.
 */
export async function testS3(url: string, opts: S3Options & { signal?: AbortSignal } = {}): Promise<{ objects: number; ms: number; endpoint: string }> {
  const t0 = performance.now();
  const loc = parseS3(url);
  const r = await resolve(loc, opts).catch((e) => { throw s3Failure(e, s3Display(loc), undefined, opts.signal, 'the test'); });
  const entries = await listS3(url, { ...opts, limit: 1000 });
  return { objects: entries.length, ms: Math.round(performance.now() - t0), endpoint: r.endpoint };
}
