/**
 * The engine process's entry point. Runs as Electron's utilityProcess (app) or a forked Node child
 * (web mode, CLI); never imports 'electron'. Serves the contract on every connection its host
 * opens, answers the host's watchdog pings (channel.ts), and tells the host when it is ready.
 */
import { serveRpc, type HandlerContext } from '../../shared/rpc';
import type { EngineApi } from '../../shared/api';
import { createEngineHandlers } from './service';
import { announceReady, listenToHost } from './channel';

const handlers = createEngineHandlers();
process.on('exit', () => handlers.close());

if (process.env.CDX_ENGINE_TEST_HOOKS === '1') {
  // Tests of the watchdog only: a call that blocks the event loop the way a synchronous library
  // call that never returns does. Not part of the contract; absent unless the host asks for it.
  Object.assign(handlers, {
    testBlockEventLoop(params: { ms: number }, _ctx: HandlerContext) {
      const end = Date.now() + params.ms;
      while (Date.now() < end) {
        /* busy: nothing else runs on this thread meanwhile */
      }
      return { blockedMs: params.ms };
    },
  });
}

const listening = listenToHost((port, connection) => {
  serveRpc<EngineApi>(handlers, port, connection);
});

if (!listening) {
  console.error('The CDX engine is started by the app, `cdx serve` or the CLI; it cannot run on its own.');
  process.exit(2);
}

// A forked engine belongs to its host: Ctrl+C in a terminal reaches the whole process group, and
// the host (the CLI cancels the call in flight, `cdx serve` shuts down) decides what happens.
if (process.env.CDX_ENGINE_HOST === 'fork') process.on('SIGINT', () => undefined);
// Stopped by its host (SIGTERM): leave through process.exit so that 'exit' handlers run — an
// export cancelled a moment before still removes its temporary files (writers/convert.ts).
process.on('SIGTERM', () => process.exit(143));

// A failure that escapes every handler must not leave a half-dead engine: report and exit, the
// host starts a new one.
process.on('uncaughtException', (err) => {
  console.error('cdx engine: uncaught exception:', err);
  process.exit(70);
});
process.on('unhandledRejection', (err) => {
  console.error('cdx engine: unhandled rejection:', err);
});

announceReady();
