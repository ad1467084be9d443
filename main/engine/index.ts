/**
 * The engine process's entry point. Runs as Electron's utilityProcess (app) or a forked Node child
 * (web mode, CLI); never imports 'electron'. Serves the contract on every connection its host
 * opens, and tells the host when it is ready.
 */
import { serveRpc } from '../../shared/rpc';
import type { EngineApi } from '../../shared/api';
import { createEngineHandlers } from './service';
import { listenToHost } from './channel';

const handlers = createEngineHandlers();
process.on('exit', () => handlers.close());

const listening = listenToHost((port, connection) => {
  serveRpc<EngineApi>(handlers, port, connection);
});

if (!listening) {
  console.error('The CDX engine is started by the app, `cdx serve` or the CLI; it cannot run on its own.');
  process.exit(2);
}

// A failure that escapes every handler must not leave a half-dead engine: report and exit, the
// host starts a new one.
process.on('uncaughtException', (err) => {
  console.error('cdx engine: uncaught exception:', err);
  process.exit(70);
});
process.on('unhandledRejection', (err) => {
  console.error('cdx engine: unhandled rejection:', err);
});

const parentPort = (process as unknown as { parentPort?: { postMessage(m: unknown): void } }).parentPort;
if (parentPort) parentPort.postMessage({ type: 'ready', pid: process.pid });
else process.send?.({ ready: true, pid: process.pid });
