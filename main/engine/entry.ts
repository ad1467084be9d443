/**
 * Where the engine's modules are, and how to start them — computed here only, for every host
 * (Electron's main, the web host, the CLI) and for the engine's own killable workers:
 *  - built: the bundles beside this one in out/main (`engine.js`, `blocking-worker.js`), plain Node;
 *  - from source (tests, tsx): main/engine/<name>.ts, which Node runs through tsx (a child process
 *    gets `--import tsx`; a worker thread registers tsx first, see `startModuleThread`).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { appRoot } from './paths';

/** The modules of the engine that run as their own process or thread. */
export type EngineModule = 'engine' | 'blocking-worker';

export interface ModuleEntry {
  /** the file to run */
  entry: string;
  /** Node options a child process needs to run it (tsx from source) */
  execArgv: string[];
  /** true when `entry` is TypeScript source (run through tsx) */
  source: boolean;
}

const SOURCE_FILE: Record<EngineModule, string> = { engine: 'index.ts', 'blocking-worker': 'blocking-worker.ts' };

/** The tsx loader, by absolute URL so that a child started from any working folder finds it. */
function tsxImport(specifier: 'tsx' | 'tsx/esm/api'): string {
  try {
    return import.meta.resolve(specifier);
  } catch {
    return specifier; // resolved against the working folder instead
  }
}

export function engineModule(name: EngineModule): ModuleEntry {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.ts')) {
    return { entry: path.join(appRoot(), 'main', 'engine', SOURCE_FILE[name]), execArgv: ['--import', tsxImport('tsx')], source: true };
  }
  // this code is bundled into out/main/*.js or out/main/chunks/*.js
  for (const dir of [path.dirname(here), path.dirname(path.dirname(here))]) {
    const built = path.join(dir, `${name}.js`);
    if (existsSync(built)) return { entry: built, execArgv: [], source: false };
  }
  return { entry: path.join(appRoot(), 'out', 'main', `${name}.js`), execArgv: [], source: false };
}

/** The engine process's entry module. */
export function engineEntry(): ModuleEntry {
  return engineModule('engine');
}

/**
 * A worker thread running one of the engine's modules. From source, the thread first registers
 * tsx (a worker does not inherit the parent's `--import` loader hooks), then imports the module.
 */
export function startModuleThread(name: EngineModule, options: WorkerOptions = {}): Worker {
  const m = engineModule(name);
  if (!m.source) return new Worker(m.entry, options);
  const boot = `
    const { workerData } = require('node:worker_threads');
    import(workerData.__tsx).then((tsx) => { tsx.register(); return import(workerData.__module); });`;
  const workerData = { ...(options.workerData as object | undefined), __tsx: tsxImport('tsx/esm/api'), __module: pathToFileURL(m.entry).href };
  return new Worker(boot, { ...options, eval: true, workerData });
}

export function rendererDir(): string {
  return path.join(appRoot(), 'out', 'renderer');
}
