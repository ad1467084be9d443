/**
 * Where the engine's entry module is, and how to start it: the built bundle next to this one
 * (out/main/engine.js), or, when running from source (tests, tsx), main/engine/index.ts through tsx.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { appRoot } from './paths';

export function engineEntry(): { entry: string; execArgv: string[] } {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.ts')) {
    return { entry: path.join(appRoot(), 'main', 'engine', 'index.ts'), execArgv: ['--import', 'tsx'] };
  }
  const built = path.join(path.dirname(here), 'engine.js');
  if (existsSync(built)) return { entry: built, execArgv: [] };
  return { entry: path.join(appRoot(), 'out', 'main', 'engine.js'), execArgv: [] };
}

export function rendererDir(): string {
  return path.join(appRoot(), 'out', 'renderer');
}
