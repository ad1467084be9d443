/**
 * One remote file (an object behind an http(s) URL or in an S3 bucket), whatever carries it: its
 * version (size, ETag, Last-Modified), byte ranges of exactly that version, and a whole-file
 * download into the cache. open.ts reads Parquet and Arrow files through `read` (the footer first,
 * then only the row groups and columns a request needs) and downloads the rest; the transport
 * modules (http.ts, s3.ts) implement it.
 */
import type { HttpOptions, RemoteStamp } from './http';

export interface ReadOptions {
  signal?: AbortSignal;
  /**
   * the version the bytes must come from: a read of any other version fails with E_STALE (HTTP
   * `If-Match` on the ETag, else `If-Unmodified-Since`; S3 `IfMatch`) instead of mixing two versions
   */
  version?: RemoteStamp;
  /** called with the bytes received for this read (progress counts bytes) */
  onBytes?: (n: number) => void;
}

export interface RemoteFile {
  /** the location as shown and stored: never with credentials */
  readonly display: string;
  /** the file name at the end of the location (readers that go by extension need it) */
  readonly name: string;
  /** size, ETag, Last-Modified, and whether ranges are answered */
  stat(opts?: HttpOptions): Promise<RemoteStamp>;
  /**
   * bytes [start, end) (end exclusive, clamped to the size); E_TRUNCATED when the file is shorter,
   * E_STALE when the file is no longer `opts.version`; transient failures retried with back-off
   */
  read(start: number, end: number, opts?: ReadOptions): Promise<Uint8Array>;
  /** the whole file into `dest` (temporary file and rename; resumed, retried); its version */
  download(dest: string, opts?: HttpOptions): Promise<RemoteStamp>;
}
