/**
 * Desktop integration, as logic that does not need Electron: which command-line arguments are
 * files to open (Windows and Linux give them in argv, to the first launch and — through the
 * single-instance lock — to the running app on a second launch), the queue that hands paths to the
 * window (held until the page asks for them, then pushed), the file types the app is associated
 * with, and the Open dialog's filters from the reader registry. index.ts wires these to `app`,
 * `dialog` and the windows.
 */
import nodePath from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The file types the installers associate with the app (electron-builder `fileAssociations`
 * imports this list), without the dot.
 */
export const FILE_ASSOCIATION_EXTENSIONS = ['csv', 'tsv', 'parquet', 'arrow', 'feather', 'h5', 'hdf5', 'npy', 'npz', 'sqlite', 'db', 'json', 'ndjson'] as const;

export interface ArgvContext {
  /** process.platform of the launch (path rules: win32 or posix) */
  platform: string;
  /** the launching process's working directory (relative paths resolve against it) */
  cwd: string;
  /** app.isPackaged: unpackaged, argv[1] is the app's folder (`electron .`), not a file */
  isPackaged: boolean;
  /** app.getAppPath(): never a file to open */
  appPath?: string;
  /** keep only what exists as a file (injected; index.ts passes a stat) */
  isFile?: (p: string) => boolean;
}

/**
 * The files named on a command line: argv[0] (the executable) and, unpackaged, the app path are
 * skipped, so are flags (`-x`, `--x`, `--x=y`, macOS's `-psn_…`) until a `--`, after which every
 * argument is a path; `file://` URLs (a Linux desktop entry's %U) become paths; relative paths
 * resolve against `cwd`; what is not a file (isFile) is dropped. Duplicates are kept once.
 */
export function pathsFromArgv(argv: readonly string[], ctx: ArgvContext): string[] {
  const path = ctx.platform === 'win32' ? nodePath.win32 : nodePath.posix;
  const rest = argv.slice(1);
  const out: string[] = [];
  let flags = true;
  let appSkipped = ctx.isPackaged;
  const appPath = ctx.appPath ? path.resolve(ctx.cwd, ctx.appPath) : null;
  for (const arg of rest) {
    if (flags && arg === '--') {
      flags = false;
      continue;
    }
    if (!arg || (flags && arg.startsWith('-'))) continue;
    let p = arg;
    if (/^file:\/\//i.test(p)) {
      try {
        p = fileURLToPath(p);
      } catch {
        continue;
      }
    }
    const abs = path.resolve(ctx.cwd, p);
    if (!appSkipped) {
      // `electron . file.csv` / `electron path/to/app file.csv`: the first plain argument is the app
      appSkipped = true;
      continue;
    }
    if (appPath !== null && abs === appPath) continue;
    if (ctx.isFile && !ctx.isFile(abs)) continue;
    if (!out.includes(abs)) out.push(abs);
  }
  return out;
}

/** What the hand-over needs of the window that shows the app. */
export interface OpenTarget {
  /** push paths to the page (it listens: cdxDesktop.onOpenPaths) */
  send(paths: string[]): void;
  /** reload the page, which then asks for the waiting paths (a page that does not listen) */
  reload(): void;
  /** bring the window to the front (restore it when minimized) */
  focus(): void;
}

/**
 * Paths handed to the app — on the command line at start, by macOS's open-file (also before
 * `ready`), by a second launch — on their way to the window. They wait until the page asks for
 * them (`take`, the bridge's initialPaths, once a page has loaded and its engine serves it); after
 * that they are pushed as they come (when the page listens) or the page is reloaded and takes them.
 * Each path also goes to the OS's recent documents.
 */
export class OpenRequests {
  private pending: string[] = [];
  private taker: OpenTarget | null = null;
  private listener: OpenTarget | null = null;

  constructor(private readonly deps: { addRecent?: (p: string) => void; target: () => OpenTarget | null; createWindow: () => void }) {}

  /** paths to open; `focus` when the app was asked from outside (second launch, open-file) */
  add(paths: readonly string[], opts: { focus?: boolean; ready?: boolean } = {}): void {
    for (const p of paths) this.deps.addRecent?.(p);
    const target = opts.ready === false ? null : this.deps.target();
    if (opts.ready !== false && !target) {
      // the app runs but shows no window (macOS): open one, which takes the paths when loaded
      this.pending.push(...paths);
      this.deps.createWindow();
      return;
    }
    if (target && opts.focus) target.focus();
    if (!paths.length) return;
    if (target && this.listener === target) return target.send([...paths]);
    if (target && this.taker === target) {
      this.pending.push(...paths);
      this.taker = null;
      return target.reload();
    }
    this.pending.push(...paths);
  }

  /** the page asks for what waits (once per page load); from now on paths go to it directly */
  take(from: OpenTarget): string[] {
    this.taker = from;
    const p = this.pending;
    this.pending = [];
    return p;
  }

  /** the page said it listens for pushed paths */
  listen(from: OpenTarget): void {
    this.listener = from;
  }

  /** the page that took paths is gone (closed, or loading again): hold paths until one asks */
  lost(from: OpenTarget): void {
    if (this.taker === from) this.taker = null;
    if (this.listener === from) this.listener = null;
  }

  get waiting(): readonly string[] {
    return this.pending;
  }
}

/**
 * A second launch (Windows, Linux; macOS too when started from a terminal): Electron gives the
 * running app the second process's argv and working directory. Its files are opened and the
 * window comes to the front even when it names none.
 */
export function secondInstance(requests: OpenRequests, argv: readonly string[], workingDirectory: string, ctx: Omit<ArgvContext, 'cwd'>): string[] {
  const paths = pathsFromArgv(argv, { ...ctx, cwd: workingDirectory });
  requests.add(paths, { focus: true });
  return paths;
}

/** A reader's format and its extensions (the engine's readerFormats). */
export interface ReaderFormatInfo {
  format: string;
  extensions: readonly string[];
}

const FORMAT_NAMES: Record<string, string> = {
  csv: 'CSV and text', parquet: 'Parquet', arrow: 'Arrow / Feather', hdf5: 'HDF5', npy: 'NumPy array', npz: 'NumPy archive',
  sqlite: 'SQLite', json: 'JSON', ndjson: 'NDJSON / JSON Lines',
};

/**
 * The Open dialog's filters: every reader's extensions together first, then one filter per format,
 * then all files. macOS's panel matches the last part of a name only, so there `csv.gz` is `gz`.
 */
export function dialogFilters(formats: readonly ReaderFormatInfo[], platform: string): { name: string; extensions: string[] }[] {
  const ext = (e: string) => (platform === 'darwin' ? e.split('.').pop()! : e).toLowerCase();
  const uniq = (xs: string[]) => [...new Set(xs.filter((x) => /^[a-z0-9][a-z0-9._-]*$/.test(x)))];
  const per = formats
    .map((f) => ({ name: FORMAT_NAMES[f.format] ?? f.format, extensions: uniq(f.extensions.map(ext)) }))
    .filter((f) => f.extensions.length);
  return [{ name: 'Data files', extensions: uniq(per.flatMap((f) => f.extensions)) }, ...per, { name: 'All files', extensions: ['*'] }];
}

/** The filters when no engine answers (it is starting or restarting): the associated types. */
export const FALLBACK_FORMATS: readonly ReaderFormatInfo[] = [{ format: 'data', extensions: FILE_ASSOCIATION_EXTENSIONS }];
