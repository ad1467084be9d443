/**
 * `cdx`, the command line: the same engine as the app, JSON for scripts, readable text otherwise.
 * Exit 0 on success; otherwise non-zero with one line naming the file and the problem.
 */
import { Command, InvalidArgumentError } from 'commander';
import { appVersion } from '../engine/paths';
import { serve } from '../web/serve';

function parsePort(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('a port is a whole number from 0 to 65535.');
  return n;
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('cdx')
    .description('Continuum Data Explorer: see what is in a dataset, from the command line or in the app.')
    .version(appVersion(), '-V, --version', 'print the version')
    .showHelpAfterError();

  program
    .command('serve')
    .description('serve the app in a browser (web mode) on 127.0.0.1 and print its URL with the access token')
    .option('-p, --port <n>', 'port to listen on (0 = a free port)', parsePort, 0)
    .option('-H, --host <address>', 'address to bind (another address than 127.0.0.1 exposes the app to the network; the token is still required)', '127.0.0.1')
    .option('--allow-host <name>', 'also accept this Host name (e.g. the machine\'s DNS name when bound to 0.0.0.0)', collect, [])
    .action(async (o: { port: number; host: string; allowHost: string[] }) => {
      const { server, stop } = await serve({ host: o.host, port: o.port, extraHosts: o.allowHost });
      if (o.host !== '127.0.0.1' && o.host !== 'localhost' && o.host !== '::1') {
        console.error(`warning: listening on ${o.host}: anyone who can reach this address and has the token can read your files.`);
      }
      console.log(`Continuum Data Explorer (web mode) is running at:\n\n  ${server.urlWithToken}\n\nOpen that URL in a browser. Press Ctrl+C to stop.`);
      const shutdown = async () => {
        await stop();
        process.exit(0);
      };
      process.once('SIGINT', shutdown);
      process.once('SIGTERM', shutdown);
    });

  return program;
}

export async function main(argv = process.argv): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (e) {
    const err = e as { message?: string; code?: string };
    console.error(`cdx: ${err.message ?? String(e)}`);
    process.exitCode = 1;
  }
}

// run when executed directly (the built out/main/cli.js is imported by bin/cdx.mjs, which calls main)
