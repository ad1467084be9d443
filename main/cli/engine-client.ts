/**
 * The CLI's connection to the engine: the same forked engine process and contract as web mode, so
 * the command line computes exactly what the app shows (and a crash in native code, or an engine
 * that stops answering, is reported, not fatal to the terminal). Ctrl+C cancels the call in flight:
 * the engine stops the work (a blocking library call's worker is killed), and the command exits
 * at once with a line that says it was interrupted.
 *
 * Databases: a location is `postgresql://USER@HOST:PORT/DB[::INNER]` or `clickhouse://…`; `--sql`
 * turns a connection into a query dataset (`URL::(SELECT …)`, see `queryLocation`). When the server
 * refuses the login (E_AUTH) and no password was given (none in the URL, no PGPASSWORD /
 * CLICKHOUSE_PASSWORD) and stdin and stderr are a terminal, the command asks for the password
 * without echo, hands it to the engine's session (`setSecret`, memory only) and runs once more.
 * The password is never printed; a password written in a URL is never shown back (`redactUrl`).
 */
import { ForkedEngine } from '../engine/forked';
import { RpcClient, type Client } from '../../shared/rpc';
import { ENGINE_STATE_EVENT, type EngineApi, type EngineStateEvent } from '../../shared/api';
import { CdxError, hasCode, isCancelled } from '../../shared/errors';

// the CLI reaches the engine side only through this module (scripts/check-layers.mjs)
export { appVersion } from '../engine/paths';

export interface CliEngine {
  api: Client<EngineApi>;
  close(): Promise<void>;
}

/** The engine started before the command was parsed (`startEngineEarly`), not yet taken by a command. */
let early: ForkedEngine | null = null;
/** Every engine this process started and has not stopped: killed if the process exits first. */
const running = new Set<ForkedEngine>();
let exitHook = false;

function newEngine(): ForkedEngine {
  // one command, one engine: a crash or a hang ends the command (no restart); it starts no
  // background work (a spatial copy) that would outlive the command (main/engine/spatial.ts)
  const engine = new ForkedEngine({ maxCrashes: 0, env: { CDX_BACKGROUND_WORK: '0' } });
  running.add(engine);
  if (!exitHook) {
    exitHook = true;
    // process.exit (commander's --help, a parse error) must not leave an engine behind waiting for
    // its host to disconnect: kill what is still running, synchronously
    process.on('exit', () => {
      for (const e of running) e.kill('SIGKILL');
    });
  }
  engine.start();
  return engine;
}

async function stopEngine(engine: ForkedEngine): Promise<void> {
  try {
    await engine.stop();
  } finally {
    running.delete(engine);
  }
}

/**
 * Starts the engine now, before the command line is parsed and the CLI's modules load, so that the
 * engine's start-up (a process, its modules) overlaps the CLI's; the command's `withEngine` takes
 * it. Nothing happens when one is already waiting. `stopEarlyEngine` stops it if no command took it.
 */
export function startEngineEarly(): void {
  early ??= newEngine();
}

/** The early engine's process id while no command has taken it (tests). */
export function earlyEnginePid(): number | undefined {
  return early?.pid;
}

/** Stops the early engine if no command took it (the command needed none, or failed before). */
export async function stopEarlyEngine(): Promise<void> {
  const e = early;
  early = null;
  if (e) await stopEngine(e);
}

export function startCliEngine(): CliEngine {
  const engine = early ?? newEngine();
  early = null;
  const { api } = clientFor(engine);
  return { api, close: () => stopEngine(engine) };
}

/** A contract client on a new connection to `engine`; a crash or hang rejects its calls in flight. */
export function clientFor(engine: ForkedEngine): { api: Client<EngineApi> } {
  const client = new RpcClient<EngineApi>(engine.connect());
  client.on(ENGINE_STATE_EVENT, (d) => {
    const s = d as EngineStateEvent;
    if (s.failCalls) client.failAll({ code: s.failCalls, message: s.reason ?? 'the engine stopped' });
  });
  return { api: client.api };
}

/** How a command asks for a database password (tests inject their own). */
export interface PasswordAsker {
  /** may we ask now (a terminal on stdin and stderr)? */
  canAsk(): boolean;
  /** the typed password, or undefined when the user gave none (empty line, end of input) */
  ask(prompt: string): Promise<string | undefined>;
}

export interface WithEngineOptions {
  /** the database URLs the command names (to tell whether a password was given in one) */
  urls?: string[];
  /** how to ask for a password (default: the terminal, when stdin and stderr are one) */
  asker?: PasswordAsker | null;
}

/** Runs `fn` with a fresh engine, always stopping it; Ctrl+C (SIGINT) cancels the call in flight. */
export async function withEngine<T>(fn: (e: CliEngine, signal: AbortSignal) => Promise<T>, opts: WithEngineOptions = {}): Promise<T> {
  const engine = startCliEngine();
  const ac = new AbortController();
  const onInt = () => ac.abort();
  process.once('SIGINT', onInt);
  try {
    const asker = opts.asker === undefined ? terminalAsker() : opts.asker;
    return await withPasswordRetry(() => fn(engine, ac.signal), {
      asker, urls: opts.urls ?? [], setSecret: async (url, password) => void (await engine.api.setSecret({ url, password })),
    });
  } catch (e) {
    // the client's own "open was cancelled" says nothing to a user who pressed Ctrl+C; an error
    // that names its file (a conversion saying nothing was written) says more, and is kept
    // (after Ctrl+C any failure is the interruption's doing: a reader that saw the signal too, say)
    if (ac.signal.aborted && !(isCancelled(e) && e instanceof CdxError && e.file)) {
      throw new CdxError('E_CANCELLED', 'interrupted (Ctrl+C): the command was cancelled.');
    }
    throw e;
  } finally {
    process.off('SIGINT', onInt);
    await engine.close();
  }
}

// ------------------------------------------------------------------------------------------------
// database locations, as far as the CLI needs to read them (the engine parses them for real)

const DB_URL = /^(postgres|postgresql|clickhouse):\/\//i;

/** Is this location a database URL (not a file path)? */
export function isDbUrl(location: string): boolean {
  return DB_URL.test(location.trim());
}

/** Text safe to show: a password written in a database URL becomes `***` (also inside longer text). */
export function redactUrl(text: string): string {
  return text.replace(/\b((?:postgres|postgresql|clickhouse):\/\/[^/@:\s]*):[^@/\s]*@/gi, '$1:***@');
}

/** A database URL split at its first `::` (outside an IPv6 host's brackets): the connection and the part after. */
export function splitDbUrl(url: string): { connection: string; inner?: string } {
  const text = url.trim();
  const m = DB_URL.exec(text);
  if (!m) return { connection: text };
  const after = text.slice(m[0].length);
  const close = after.startsWith('[') || /@\[/.test(after) ? after.indexOf(']') : -1;
  const sep = after.indexOf('::', close + 1);
  if (sep < 0) return { connection: text };
  return { connection: text.slice(0, m[0].length + sep), inner: after.slice(sep + 2).trim() };
}

/** The query of a `URL::(SELECT …)` location, as the engine reads it (positions in errors count in it); undefined otherwise. */
export function querySqlOf(location: string): string | undefined {
  const { inner } = splitDbUrl(location);
  if (inner === undefined || !inner.startsWith('(') || !inner.endsWith(')')) return undefined;
  return inner.slice(1, -1).trim();
}

/**
 * The dataset `--sql QUERY` names on `location`: `URL::(QUERY)`. Refused, clearly, on a file path
 * and on a URL that already names a table or query. A trailing `;` is dropped (the query is run
 * as a subquery). Without `sql`, the location as given.
 */
export function queryLocation(location: string, sql: string | undefined): string {
  if (sql === undefined) return location;
  if (!isDbUrl(location)) {
    throw new CdxError('E_BAD_ARG', `--sql runs a query on a database: give a connection URL (postgresql://USER@HOST:PORT/DB or clickhouse://USER@HOST:PORT/DB), not "${redactUrl(location)}"`);
  }
  const { connection, inner } = splitDbUrl(location);
  if (inner !== undefined && inner !== '') {
    throw new CdxError('E_BAD_ARG', `--sql runs its own query: give the connection without "::${inner.startsWith('(') ? '(…)' : inner}" (${redactUrl(connection)}), or drop --sql to open ${inner.startsWith('(') ? 'that query' : 'the table'}`);
  }
  const q = sql.trim().replace(/(\s*;)+$/, '').trim();
  if (!q) throw new CdxError('E_BAD_ARG', '--sql: the query is empty');
  return `${connection}::(${q})`;
}

/** Does this URL carry a password (`user:secret@host`)? */
function hasUrlPassword(url: string): boolean {
  return /^[a-z]+:\/\/[^/@:]*:[^@/]*@/i.test(url.trim());
}

/**
 * Was a password for this connection given (so that a refusal means it is wrong, and asking again
 * would not help): written in one of the command's URLs, or in the ecosystem's variable.
 */
export function passwordGiven(label: string, urls: string[], env: NodeJS.ProcessEnv = process.env): boolean {
  const kind = /^clickhouse:/i.test(label) ? 'clickhouse' : 'postgresql';
  if (urls.some((u) => isDbUrl(u) && hasUrlPassword(u) && /^clickhouse:/i.test(u.trim()) === (kind === 'clickhouse'))) return true;
  return kind === 'clickhouse' ? !!env.CLICKHOUSE_PASSWORD : !!env.PGPASSWORD;
}

/**
 * Runs `run`; when it fails with E_AUTH for a connection (the error's `file` is its label, which
 * holds no secret) whose password was not given, and `asker` may ask, asks
 * `Password for LABEL: `, hands the answer to the engine and runs once more. Otherwise (no
 * terminal, a password that was given and is wrong, nothing typed) the E_AUTH error as it came.
 */
export async function withPasswordRetry<T>(
  run: () => Promise<T>,
  o: { asker: PasswordAsker | null; urls: string[]; setSecret(url: string, password: string): Promise<void>; env?: NodeJS.ProcessEnv },
): Promise<T> {
  try {
    return await run();
  } catch (e) {
    if (!hasCode(e, 'E_AUTH') || !o.asker) throw e;
    const label = (e as CdxError).file;
    if (!label || !isDbUrl(label) || passwordGiven(label, o.urls, o.env) || !o.asker.canAsk()) throw e;
    const password = await o.asker.ask(`Password for ${redactUrl(label)}: `);
    if (password === undefined || password === '') throw e;
    await o.setSecret(label, password);
    return await run();
  }
}

/** The terminal's asker: stdin and stderr must both be a terminal. */
export function terminalAsker(): PasswordAsker {
  return {
    canAsk: () => !!process.stdin.isTTY && !!process.stderr.isTTY,
    ask: (prompt) => readPassword(prompt, { input: process.stdin, output: process.stderr }),
  };
}

/** What readPassword reads from: a terminal's stdin (raw mode), or any readable stream in tests. */
export interface PasswordInput extends NodeJS.EventEmitter {
  isTTY?: boolean;
  setRawMode?(raw: boolean): unknown;
  isRaw?: boolean;
  resume(): unknown;
  pause(): unknown;
}

/**
 * Reads one line from `input` without echo: the prompt on `output`, the terminal in raw mode while
 * typing (no character is written back), backspace erases, Enter ends, Ctrl+C cancels (E_CANCELLED),
 * Ctrl+D on an empty line or the end of the input gives undefined. A newline is written after.
 */
export function readPassword(prompt: string, io: { input: PasswordInput; output: NodeJS.WritableStream }): Promise<string | undefined> {
  const { input, output } = io;
  // echo off before the prompt shows: what is typed as soon as it appears must not be echoed
  const wasRaw = !!input.isRaw;
  if (input.isTTY && input.setRawMode) input.setRawMode(true);
  output.write(prompt);
  return new Promise((resolve, reject) => {
    let typed = '';
    const done = (err: Error | null, value?: string) => {
      input.off('data', onData);
      input.off('end', onEnd);
      input.off('error', onError);
      if (input.isTTY && input.setRawMode) input.setRawMode(wasRaw);
      input.pause();
      output.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: Buffer | string) => {
      for (const ch of String(chunk)) {
        if (ch === '\r' || ch === '\n') return done(null, typed);
        if (ch === '\u0003') return done(new CdxError('E_CANCELLED', 'interrupted (Ctrl+C): the command was cancelled.'));
        if (ch === '\u0004') {
          if (!typed) return done(null, undefined);
          continue;
        }
        if (ch === '\u007f' || ch === '\b') typed = [...typed].slice(0, -1).join('');
        else if (ch === '\u0015') typed = ''; // Ctrl+U: erase the line
        else if (ch >= ' ') typed += ch;
      }
    };
    const onEnd = () => done(null, typed || undefined);
    const onError = (err: Error) => done(err);
    input.on('data', onData);
    input.on('end', onEnd);
    input.on('error', onError);
    input.resume();
  });
}
