/**
 * Web mode's confinement: the page may name files and folders of the host only inside its root
 * folders — the data folder and the folders given with `cdx serve --root DIR`. Whoever holds the
 * token could otherwise list any folder, read any file, and through Export with `force` replace
 * any file the user can write (`~/.bashrc`). The web host checks every path-taking call on its way
 * from the page to the engine (`checkCall`); the desktop app's calls do not pass here and are not
 * confined. Roots are fixed when the server starts: nothing the page sends can add one (a token
 * holder could widen the confinement).
 *
 * A path is resolved (relative to the engine's folder, `..` folded) and then its symbolic links
 * (the real path of the path itself, or of its nearest existing parent for an output that does not
 * exist yet), so a link inside a root that leads out of it is refused like the path it leads to.
 * Remote locations (http(s), s3, PostgreSQL, ClickHouse URLs) are not paths and pass unchecked.
 */
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { CdxError, type ErrorInfo } from '../../shared/errors';
import type { BrowseResult } from '../../shared/api';
import { browse } from '../engine/browse';

/** URL schemes the engine reads remotely: not paths of this host */
const REMOTE = /^(https?|s3|postgres|postgresql|clickhouse):\/\//i;

export function isRemoteLocation(location: string): boolean {
  return REMOTE.test(location.trim());
}

/** the real path of `p`, or of its nearest existing parent with the rest appended (an output not yet written) */
export function realPathOrParent(p: string): string {
  const rest: string[] = [];
  let cur = p;
  for (;;) {
    try {
      return path.join(realpathSync.native(cur), ...rest.reverse());
    } catch {
      const up = path.dirname(cur);
      if (up === cur) return p;
      rest.push(path.basename(cur));
      cur = up;
    }
  }
}

function inside(p: string, dir: string): boolean {
  return p === dir || p.startsWith(dir.endsWith(path.sep) ? dir : dir + path.sep);
}

export interface RootsOptions {
  /** the folders the page may use (each must exist); the data folder first */
  roots: string[];
  /** the data folder: its own files (the catalog, the preferences) and its cache are never written by a request */
  dataDir?: string;
  /** folders where outputs may also be written (web mode's download slots), not browsed or read */
  writeOnly?: string[];
  /** the folder relative paths are taken from (the engine's: this process's by default) */
  cwd?: string;
}

export class Roots {
  /** the roots as given (resolved), for messages */
  readonly shown: string[];
  private real: string[];
  private writeOnly: string[];
  private dataDir?: string;
  private cwd: string;

  constructor(opts: RootsOptions) {
    this.cwd = opts.cwd ?? process.cwd();
    this.shown = [];
    this.real = [];
    for (const r of opts.roots) {
      const abs = path.resolve(this.cwd, r);
      let real: string;
      try {
        real = realpathSync.native(abs);
      } catch {
        throw CdxError.file('ENOENT', abs, 'no such folder (a root folder of `cdx serve --root` must exist)');
      }
      if (this.real.includes(real)) continue;
      this.shown.push(abs);
      this.real.push(real);
    }
    // a root inside another adds nothing (the uploads folder inside the data folder)
    for (let i = this.real.length - 1; i >= 0; i--) {
      if (this.real.some((o, j) => j !== i && o !== this.real[i] && inside(this.real[i]!, o))) {
        this.real.splice(i, 1);
        this.shown.splice(i, 1);
      }
    }
    this.writeOnly = (opts.writeOnly ?? []).map((d) => realPathOrParent(path.resolve(this.cwd, d)));
    this.dataDir = opts.dataDir ? realPathOrParent(path.resolve(this.cwd, opts.dataDir)) : undefined;
  }

  get list(): string[] {
    return [...this.shown];
  }

  private refuse(p: string, why = `is outside the folders this web server may use (${this.shown.join(', ')})`): CdxError {
    return CdxError.file('EACCES', p, `${why}. Start \`cdx serve\` with --root DIR to allow another folder.`);
  }

  /**
   * The absolute path to hand to the engine for a path the page sent, or a CdxError (EACCES) that
   * names the path and the roots. `write`: an output (download slots allowed; the data folder's own
   * files and cache refused).
   */
  check(p: string, write = false): string {
    if (typeof p !== 'string' || !p.trim()) throw new CdxError('E_BAD_ARG', 'a path is missing');
    if (p.includes('\0')) throw new CdxError('E_BAD_ARG', 'a path with a NUL character');
    const abs = path.resolve(this.cwd, p);
    const real = realPathOrParent(abs);
    if (write && this.writeOnly.some((d) => inside(real, d))) return abs;
    const root = this.real.find((r) => inside(real, r));
    if (root === undefined) {
      // say where a link leads: the path itself, or a folder on its way
      const how = real === abs ? '' : realPathOrParent(path.dirname(abs)) === path.dirname(abs) ? `(a link to ${real}) ` : `(really ${real}) `;
      throw this.refuse(abs, `${how}is outside the folders this web server may use (${this.shown.join(', ')})`);
    }
    if (write && this.dataDir && inside(real, this.dataDir)) {
      const rel = path.relative(this.dataDir, real);
      const top = rel.split(path.sep)[0];
      if (!rel || !rel.includes(path.sep) || top === 'cache') {
        throw this.refuse(abs, `is the data folder's own file or cache (write into a folder of your own in ${this.dataDir})`);
      }
    }
    return abs;
  }

  /**
   * A location the engine opens: a remote URL passes as it is; a path, a folder, a glob or
   * `PATH::INNER` must lie inside the roots — the whole location and every `::`-cut left part of
   * it (the engine takes the longest left part that is a file), and for a glob the folder before
   * its first pattern character.
   */
  checkLocation(location: string, write = false): string {
    if (typeof location !== 'string') throw new CdxError('E_BAD_ARG', 'a location must be text');
    if (isRemoteLocation(location)) return location;
    const whole = this.check(location, write);
    for (let i = location.indexOf('::'); i > 0; i = location.indexOf('::', i + 2)) this.check(location.slice(0, i), write);
    const g = location.search(/[*?[]/);
    if (g >= 0) {
      const base = location.slice(0, g);
      const dir = base.endsWith('/') || base.endsWith(path.sep) ? base : path.dirname(base);
      this.check(dir || '.', write);
    }
    // the engine resolves relative paths itself (same folder): hand it the absolute form we checked
    const i = location.indexOf('::');
    return i > 0 ? path.resolve(this.cwd, location.slice(0, i)) + location.slice(i) : whole;
  }
}

/** the methods of the contract that take a host path or a location, and which fields */
const PATH_FIELDS: Record<string, { read?: string[]; write?: string[] }> = {
  open: { read: ['location'] },
  listInner: { read: ['path'] },
  exportDataset: { read: ['location'], write: ['output'] },
  readWorkspace: { read: ['path'] },
  saveWorkspace: { write: ['path'] },
  // connections take URLs; a host path here is checked like any other
  saveConnection: { read: ['url'] },
  testConnection: { read: ['url'] },
  browseRemote: { read: ['url'] },
};

/** the calls the web host answers itself (browse: the listing is clamped to the roots) */
export const HOST_METHODS = new Set(['browse']);

/**
 * A call from the page, checked: its params with every path made absolute, or the error to answer
 * with instead of forwarding it.
 */
export function checkCall(roots: Roots, method: string, params: unknown): { params: unknown } | { error: ErrorInfo } {
  const fields = PATH_FIELDS[method];
  if (!fields) return { params };
  if (!params || typeof params !== 'object' || Array.isArray(params)) return { error: { code: 'E_BAD_REQUEST', message: `${method}: the parameters must be an object` } };
  const out: Record<string, unknown> = { ...(params as Record<string, unknown>) };
  try {
    for (const [list, write] of [[fields.read ?? [], false], [fields.write ?? [], true]] as const) {
      for (const k of list) {
        if (out[k] === undefined) continue;
        if (typeof out[k] !== 'string') throw new CdxError('E_BAD_ARG', `${method}: ${k} must be text`);
        out[k] = roots.checkLocation(out[k] as string, write);
      }
    }
  } catch (e) {
    const err = e instanceof CdxError ? e : new CdxError('E_INTERNAL', String(e));
    return { error: { code: err.code, message: err.message, ...(err.file ? { file: err.file } : {}) } };
  }
  return { params: out };
}

/**
 * `browse` for the page, inside the roots: no folder given lists the only root, or with several
 * the roots themselves (`dir` ''); a folder outside them is refused; the way up stops at a root.
 */
export async function browseInRoots(roots: Roots, params: { dir?: string; showHidden?: boolean }): Promise<BrowseResult> {
  const dir = typeof params?.dir === 'string' ? params.dir : undefined;
  if (!dir || !dir.trim()) {
    if (roots.shown.length === 1) return browseInRoots(roots, { ...params, dir: roots.shown[0] });
    return {
      dir: '',
      parent: null,
      entries: roots.shown.map((r) => ({ name: r, path: r, kind: 'dir' as const })),
      truncated: false,
    };
  }
  const abs = roots.check(dir);
  const r = await browse(abs, !!params.showHidden);
  let parent = r.parent;
  if (parent !== null) {
    try {
      roots.check(parent);
    } catch {
      parent = null; // the top of a root
    }
  }
  return { ...r, parent };
}
