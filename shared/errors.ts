/**
 * The one error vocabulary of the contract: a closed set of codes (`ErrorCode`), one error type
 * (`CdxError`) carrying the code, a message that names the file / table / column and the problem,
 * and where relevant the file and column as fields, and helpers every layer uses instead of string
 * literals (`isCancelled`, `hasCode`). Every error that crosses a process line is an `ErrorInfo`
 * whose code is one of these; `toErrorInfo` normalises anything else (a Node system error, a bug)
 * into the vocabulary. Warnings (reader notes that do not stop a read) have their own closed set.
 *
 * The test `shared/errors.test.ts` walks every source file and checks that each code produced
 * anywhere (TypeScript and the native C++) is in this list, so a new code is added here first.
 */

/** Every error code, with what it means (the text is documentation; messages say the specifics). */
export const ERROR_CODES = {
  // calls and processes
  E_CANCELLED: 'the call was cancelled (by the user, or superseded by a newer one)',
  E_ENGINE_DIED: 'the engine process died while the call was in flight; a new one is started',
  E_ENGINE_HUNG: 'the engine stopped answering; it was replaced and the call failed',
  E_DISCONNECTED: 'the connection to the engine was lost or never made',
  E_NO_METHOD: 'the engine has no such method',
  E_BAD_REQUEST: 'a malformed request',
  E_WIRE: 'a frame on the wire could not be decoded',
  E_INTERNAL: 'a bug: an error without a code of ours',
  E_BUSY: 'the resource is in use by another call',
  E_CLOSED: 'the file handle or connection is closed',
  E_STALE: 'the data changed while being read; try again',
  E_NATIVE_MISSING: 'the native engine could not be loaded',
  E_NOMEM: 'out of memory',
  // files and folders
  ENOENT: 'no such file or folder',
  EACCES: 'permission denied',
  E_IO: 'an input/output error from the system',
  E_IS_DIR: 'a folder where a file was expected',
  E_NOT_DIR: 'a file where a folder was expected',
  E_NOT_FILE: 'not a regular file',
  E_EXISTS: 'the output exists (give force to replace it)',
  E_SAME_FILE: 'the output is the input',
  E_WRITE: 'writing the output failed',
  E_READ: 'reading the input failed',
  // formats and contents
  E_UNKNOWN_FORMAT: 'the format could not be recognised',
  E_BAD_FORMAT: 'the file is not in the format it claims',
  E_UNSUPPORTED: 'a feature of the file or request that CDX does not support',
  E_UNSUPPORTED_LAYOUT: 'a storage layout that cannot be read in place',
  E_CORRUPT: 'the file contradicts itself (bad offsets, sizes, checksums)',
  E_TRUNCATED: 'the file ends before its declared end',
  E_EMPTY: 'the file or dataset is empty',
  E_NOT_TEXT: 'binary data where text was expected',
  E_GZIP: 'the gzip stream is damaged',
  E_COMPRESSED: 'a compression that cannot be read here',
  E_ENCRYPTED: 'the file is encrypted',
  E_TOO_LARGE: 'a declared size beyond what the file or memory can hold',
  E_ROW_TOO_LARGE: 'one row is larger than the reader accepts',
  E_TOO_LONG: 'a value does not fit the output field',
  E_BAD_ROW: 'a row that cannot be parsed (strict mode)',
  E_NO_INNER: 'no such dataset inside the container',
  E_NEED_INNER: 'a container: name the dataset inside it (PATH::INNER)',
  E_NO_DATASET: 'no such dataset in the catalog',
  E_CATALOG: 'the catalog could not be read or written',
  E_CATALOG_NEWER: 'the catalog was written by a newer CDX',
  E_BAD_WORKSPACE: 'a workspace (.cdx) file that cannot be used (its step and the problem are named)',
  E_WORKSPACE_NEWER: 'the workspace was written by a newer CDX',
  // columns, values, expressions, arguments
  E_UNKNOWN_COLUMN: 'no such column',
  E_BAD_COLUMNS: 'a column list that cannot be used (duplicates, clashing names)',
  E_BAD_TYPE: 'a column type the operation cannot use',
  E_TYPE_MISMATCH: 'operands of incompatible types',
  E_BAD_VALUE: 'a value that cannot be used',
  E_OUT_OF_RANGE: 'an index, offset or window outside the data',
  E_SYNTAX: 'an expression that does not parse',
  E_BAD_EXPR: 'an expression that parses but cannot be used',
  E_BAD_FILTER: 'a filter that cannot be applied',
  E_BAD_ARG: 'a bad argument',
  E_BAD_OPTION: 'an unknown or malformed option',
  // databases (PostgreSQL, ClickHouse): the message names the connection (never its secret) and the table
  E_AUTH: 'the database refused the user or password (or needs a password that was not given)',
  E_CONNECT: 'the database server could not be reached',
  E_NO_TABLE: 'no such table or view in the database',
  E_PERMISSION: 'the database user may not read or write this',
  E_SQL: 'the database rejected the query (its message and position are given)',
  E_TIMEOUT: 'the database stopped the query at its time limit',
  E_CONNECTION_LOST: 'the connection to the database dropped during the call',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Reader and writer warnings: the read or write went on. */
export const WARNING_CODES = {
  W_BAD_ROW: 'a row that could not be parsed was skipped',
  W_BAD_ROWS: 'more bad rows than are listed one by one',
  W_WIDENED: 'a column was widened after more rows were read',
  W_NESTED_AS_JSON: 'nested values are shown as JSON text',
  W_UNSUPPORTED_TYPE: 'a column of a type the kernels skip',
  W_RESHAPED: 'an array was reshaped into columns',
  W_EMPTY: 'the dataset has no rows',
  W_ROW_COUNT: 'the row count is an estimate or disagrees with the file',
  W_OUT_OF_RANGE: 'a value outside the target type was converted',
  W_NULL_COMPARISON: 'a comparison with null matches nothing',
  W_DECIMAL_PRECISION: 'decimals beyond float64 precision',
  W_BYTESWAPPED: 'big-endian data was byte-swapped on read',
  W_UNCONVERTED: "values that did not convert to a column's chosen type became null",
} as const;

export type WarningCode = keyof typeof WARNING_CODES;

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CODES, code);
}

/** An error as it crosses a process line (the contract's Result envelope). */
export interface ErrorInfo {
  code: ErrorCode;
  message: string;
  /** the file (or URL, without secrets) the error is about */
  file?: string;
  /** the column the error is about */
  column?: string;
  /** 0-based character offset in an expression (syntax errors) */
  position?: number;
}

export interface CdxErrorDetail {
  file?: string;
  column?: string;
  position?: number;
  cause?: unknown;
}

/**
 * The one error type. `message` is complete as it stands (it names the file or column already);
 * `file` / `column` are there for programs (the UI highlights the column, the CLI's exit line).
 */
export class CdxError extends Error {
  readonly code: ErrorCode;
  readonly file?: string;
  readonly column?: string;
  readonly position?: number;
  constructor(code: ErrorCode, message: string, detail: CdxErrorDetail = {}) {
    super(message, detail.cause !== undefined ? { cause: detail.cause } : undefined);
    this.name = 'CdxError';
    this.code = code;
    if (detail.file !== undefined) this.file = detail.file;
    if (detail.column !== undefined) this.column = detail.column;
    if (detail.position !== undefined) this.position = detail.position;
  }

  /** An error about a file: the message is `FILE: problem`. */
  static file(code: ErrorCode, file: string, problem: string, detail: Omit<CdxErrorDetail, 'file'> = {}): CdxError {
    return new CdxError(code, `${file}: ${problem}`, { ...detail, file });
  }

  static cancelled(what = 'the call'): CdxError {
    return new CdxError('E_CANCELLED', `${what} was cancelled`);
  }

  static fromInfo(info: ErrorInfo): CdxError {
    const { code, message, ...detail } = info;
    return new CdxError(code, message, detail);
  }
}

/** The code of an error of ours, or undefined. */
export function errorCode(err: unknown): string | undefined {
  const c = (err as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : undefined;
}

export function hasCode(err: unknown, code: ErrorCode): boolean {
  return errorCode(err) === code;
}

/** A cancellation, whichever layer raised it (our code, an AbortSignal's DOMException). */
export function isCancelled(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  return errorCode(err) === 'E_CANCELLED' || (err as { name?: unknown }).name === 'AbortError';
}

/** Throws E_CANCELLED when the signal is aborted. */
export function throwIfCancelled(signal: AbortSignal | undefined, what?: string): void {
  if (signal?.aborted) throw CdxError.cancelled(what);
}

/** Node's system error codes, mapped into the vocabulary. */
const SYSTEM_CODES: Record<string, ErrorCode> = {
  ENOENT: 'ENOENT',
  ENOTDIR: 'ENOENT',
  EACCES: 'EACCES',
  EPERM: 'EACCES',
  EROFS: 'EACCES',
  EISDIR: 'E_IS_DIR',
  EEXIST: 'E_EXISTS',
  ENOMEM: 'E_NOMEM',
  ENOSPC: 'E_WRITE',
  EDQUOT: 'E_WRITE',
  EBUSY: 'E_BUSY',
  ABORT_ERR: 'E_CANCELLED',
};

/** Any thrown value as an ErrorInfo in the vocabulary (unknown codes: system errors to E_IO, others to E_INTERNAL). */
export function toErrorInfo(err: unknown): ErrorInfo {
  if (err && typeof err === 'object') {
    const e = err as { code?: unknown; message?: unknown; name?: unknown; file?: unknown; column?: unknown; position?: unknown; errno?: unknown; syscall?: unknown };
    const raw = typeof e.code === 'string' ? e.code : undefined;
    let code: ErrorCode;
    if (isErrorCode(raw)) code = raw;
    else if (e.name === 'AbortError') code = 'E_CANCELLED';
    else if (raw && SYSTEM_CODES[raw]) code = SYSTEM_CODES[raw];
    else if (raw && (typeof e.errno === 'number' || typeof e.syscall === 'string' || /^E[A-Z]+$/.test(raw))) code = 'E_IO';
    else code = 'E_INTERNAL';
    const info: ErrorInfo = { code, message: typeof e.message === 'string' ? e.message : String(err) };
    if (typeof e.file === 'string') info.file = e.file;
    if (typeof e.column === 'string') info.column = e.column;
    if (typeof e.position === 'number') info.position = e.position;
    return info;
  }
  return { code: 'E_INTERNAL', message: String(err) };
}

/** Re-throws anything as a CdxError in the vocabulary (keeps a CdxError as it is). */
export function asCdxError(err: unknown): CdxError {
  if (err instanceof CdxError) return err;
  const info = toErrorInfo(err);
  const e = CdxError.fromInfo(info);
  if (err instanceof Error && err.stack) e.stack = err.stack;
  return e;
}
