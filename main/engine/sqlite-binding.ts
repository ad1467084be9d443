/**
 * Which better-sqlite3 binary the engine loads (its `nativeBinding` option).
 *
 * better-sqlite3 is a V8 addon: `npm install` compiles it for Node's ABI, and Electron's utility
 * process (where the engine runs in the desktop app) refuses an addon built for another ABI. So
 * where Electron is installed, `npm run build:electron-sqlite` (run by postinstall) builds a second
 * copy against Electron's headers into `native/electron/<platform>-<arch>-abi<modules>/`, never
 * replacing the Node copy that the CLI and web mode use. The ABI is in the folder's name so a copy
 * made for another Electron (or another architecture) is never picked up.
 *
 * The choice is a pure function of (process versions, platform, files that exist, env override)
 * so it can be tested with a simulated Electron ABI (`chooseSqliteBinding`); `sqliteOptions()` is
 * what the engine passes to `new Database(...)`.
 *
 * - `CDX_SQLITE_BINDING` (a path to better_sqlite3.node): used as it is, in Node and in Electron.
 * - Under Node: better-sqlite3's own lookup (its build/Release).
 * - Under Electron: the Electron copy next to the app (the checkout or the package root, then the
 *   packaged app's `resources/app.asar.unpacked`). electron-builder.yml has npmRebuild off (it
 *   would rebuild the checkout's node_modules in place, breaking the Node copy the CLI uses) and
 *   its after-pack hook refuses to package without this copy, built on each platform's own runner.
 * - Under Electron without the copy: E_NATIVE_MISSING, saying what to run (a checkout) or that the
 *   installation is incomplete (a packaged app) — never Node's copy, which Electron would refuse
 *   with an ABI error that says nothing useful.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CdxError } from '../../shared/errors';
import { appRoot } from './paths';

export const ELECTRON_SQLITE_FILE = 'better_sqlite3.node';

/** `native/electron/<platform>-<arch>-abi<modules>` relative to the app root. */
export function electronSqliteDir(platform: string, arch: string, modules: string): string {
  return path.join('native', 'electron', `${platform}-${arch}-abi${modules}`);
}

export interface SqliteBindingContext {
  /** process.versions (electron and modules matter) */
  versions: { electron?: string; modules?: string; node?: string };
  platform: string;
  arch: string;
  env: { CDX_SQLITE_BINDING?: string | undefined };
  /** the app's root folders, in order (the checkout / package root; Electron's resources) */
  roots: string[];
  /** running from a packaged Electron app (its code inside app.asar) */
  packaged: boolean;
  exists: (p: string) => boolean;
}

/** The binary to pass as `nativeBinding`, or undefined for better-sqlite3's default lookup. */
export function chooseSqliteBinding(ctx: SqliteBindingContext): string | undefined {
  const override = ctx.env.CDX_SQLITE_BINDING;
  if (override) {
    const p = path.resolve(override);
    if (!ctx.exists(p)) throw new CdxError('E_NATIVE_MISSING', `CDX_SQLITE_BINDING names ${p}, which does not exist (unset it, or point it at a better_sqlite3.node built for this runtime).`);
    return p;
  }
  const electron = ctx.versions.electron;
  if (!electron) return undefined;
  const modules = ctx.versions.modules ?? 'unknown';
  const rel = path.join(electronSqliteDir(ctx.platform, ctx.arch, modules), ELECTRON_SQLITE_FILE);
  const tried = [...new Set(ctx.roots.map((r) => path.join(r, rel)))];
  const found = tried.find((p) => ctx.exists(p));
  if (found) return found;
  if (ctx.packaged) {
    throw new CdxError(
      'E_NATIVE_MISSING',
      `This installation of Continuum Data Explorer lacks better-sqlite3 built for its Electron ${electron} (ABI ${modules}, ${ctx.platform}-${ctx.arch}): reinstall it. Tried:\n  ${tried.join('\n  ')}`,
    );
  }
  throw new CdxError(
    'E_NATIVE_MISSING',
    `better-sqlite3 (the catalog's SQLite) has no build for Electron ${electron} (ABI ${modules}, ${ctx.platform}-${ctx.arch}): ` +
      'the copy in node_modules is built for Node and Electron refuses it. ' +
      'Run `npm run build:electron-sqlite` in the project root (needs a C++ compiler, python3 and Electron\'s headers from electronjs.org), ' +
      'or start the app in web mode with `npm start -- --web`. Tried:\n  ' +
      tried.join('\n  '),
  );
}

function moduleIsPackaged(): boolean {
  try {
    return /[\\/]app\.asar[\\/]/.test(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

/** This process's context: real versions, files and roots. */
export function currentSqliteBindingContext(): SqliteBindingContext {
  const roots: string[] = [];
  try {
    roots.push(appRoot());
  } catch {
    /* no package.json above us: only Electron's resources below */
  }
  const rp = (process as { resourcesPath?: string }).resourcesPath;
  if (rp) roots.push(path.join(rp, 'app.asar.unpacked'), path.join(rp, 'app'), rp);
  return {
    versions: process.versions,
    platform: process.platform,
    arch: process.arch,
    env: { CDX_SQLITE_BINDING: process.env.CDX_SQLITE_BINDING },
    roots,
    packaged: moduleIsPackaged(),
    exists: existsSync,
  };
}

let chosen: { binding: string | undefined } | undefined;

/** The binding for this process (decided once; an error is thrown again on every call). */
export function sqliteNativeBinding(): string | undefined {
  if (!chosen) chosen = { binding: chooseSqliteBinding(currentSqliteBindingContext()) };
  return chosen.binding;
}

/** better-sqlite3 options with `nativeBinding` set where this runtime needs it. */
export function sqliteOptions<T extends object>(options?: T): T & { nativeBinding?: string } {
  const binding = sqliteNativeBinding();
  const out = { ...(options ?? ({} as T)) } as T & { nativeBinding?: string };
  if (binding !== undefined) out.nativeBinding = binding;
  return out;
}
