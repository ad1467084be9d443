/**
 * Where things are on disk: the app root (the checkout, or the packaged app), bundled resources,
 * and the per-user data folder (catalog, cache). `CDX_HOME` overrides the data folder.
 */
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | null = null;

/** The folder holding the project's package.json, found by walking up from this module. */
export function appRoot(): string {
  if (root) return root;
  if (process.env.CDX_APP_ROOT) return (root = process.env.CDX_APP_ROOT);
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if (JSON.parse(readFileSync(pkg, 'utf8')).name === 'continuum-data-explorer') return (root = dir);
      } catch {
        /* keep walking */
      }
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error('Cannot find the Continuum Data Explorer install folder (set CDX_APP_ROOT).');
    dir = up;
  }
}

export function resourcesDir(): string {
  if (process.env.CDX_RESOURCES) return process.env.CDX_RESOURCES;
  // a packaged desktop app: the code sits in resources/app.asar, the sample beside it in
  // resources/sample/, unpacked (electron-builder.yml extraResources: the engine memory-maps it,
  // which it cannot do inside an asar)
  const root = appRoot();
  if (path.basename(root) === 'app.asar') return path.dirname(root);
  return path.join(root, 'resources');
}

export function sampleDatasetPath(): string {
  return path.join(resourcesDir(), 'sample', 'trips.arrow');
}

/** The platform's per-user data folder for CDX (Electron passes its userData in CDX_HOME). */
export function dataHome(): string {
  if (process.env.CDX_HOME) return process.env.CDX_HOME;
  const home = os.homedir();
  switch (process.platform) {
    case 'win32':
      return path.join(process.env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), 'Continuum Data Explorer');
    case 'darwin':
      return path.join(home, 'Library', 'Application Support', 'Continuum Data Explorer');
    default:
      return path.join(process.env.XDG_DATA_HOME ?? path.join(home, '.local', 'share'), 'continuum-data-explorer');
  }
}

export function appVersion(): string {
  try {
    return JSON.parse(readFileSync(path.join(appRoot(), 'package.json'), 'utf8')).version;
  } catch {
    return '0.0.0';
  }
}
