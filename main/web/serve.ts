/**
 * `cdx serve` and the web-mode fallback of `npm start`: a forked engine plus the web host.
 */
import { ForkedEngine } from '../engine/forked';
import { rendererDir } from '../engine/entry';
import { startWebServer, type WebServer } from './server';

export interface ServeOptions {
  host?: string;
  port?: number;
  token?: string;
  extraHosts?: string[];
  rendererDir?: string;
  env?: NodeJS.ProcessEnv;
}

export async function serve(opts: ServeOptions = {}): Promise<{ server: WebServer; engine: ForkedEngine; stop(): Promise<void> }> {
  const engine = new ForkedEngine({ env: opts.env });
  engine.start();
  const server = await startWebServer({
    engine,
    rendererDir: opts.rendererDir ?? rendererDir(),
    host: opts.host,
    port: opts.port,
    token: opts.token,
    extraHosts: opts.extraHosts,
  });
  return {
    server,
    engine,
    stop: async () => {
      await server.close();
      await engine.stop();
    },
  };
}
