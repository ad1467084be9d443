/**
 * The first thing `cdx` runs (bin/cdx.mjs, before the CLI's own modules load): when the command
 * line names a command that computes in the engine, the engine process is started at once, so that
 * its start-up (a Node process and its modules) runs on another core while the CLI loads and parses
 * its arguments. The command's `withEngine` takes that engine (engine-client.ts); `main` stops it
 * when no command took it (the arguments did not parse, a command failed before it needed the
 * engine), and a process that exits first (commander's `--help`, a usage error) kills it.
 * This module is its own small bundle (out/main/cli-early.js): keep its imports light.
 */
import { startEngineEarly } from './engine-client';

/** The commands that run in the engine through `withEngine` (each starts one engine). */
export const ENGINE_COMMANDS: readonly string[] = ['schema', 'head', 'summary', 'group', 'sort', 'join', 'catalog', 'convert', 'plot', 'run'];
/** The commands that start an engine of their own (the web host forks it): nothing to start early. */
export const OWN_ENGINE_COMMANDS: readonly string[] = ['serve', 'open'];

/**
 * Will this command line (the arguments after `node cdx`) need an engine? The command is the first
 * argument that is not an option (the program's own options, -V and -h, take no value). Help and
 * the version need none, except `convert --help`, which lists the engine's writer options.
 */
export function commandNeedsEngine(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  const opts = end < 0 ? args : args.slice(0, end);
  const command = opts.find((a) => !a.startsWith('-'));
  if (!command || !ENGINE_COMMANDS.includes(command)) return false;
  if (opts.some((a) => a === '-V' || a === '--version')) return false;
  if (opts.some((a) => a === '-h' || a === '--help')) return command === 'convert';
  return true;
}

/** Starts the engine when the command line (process.argv) needs one; says whether it did. */
export function startEarly(argv: readonly string[] = process.argv): boolean {
  if (!commandNeedsEngine(argv.slice(2))) return false;
  startEngineEarly();
  return true;
}
