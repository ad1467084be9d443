/**
 * `cdx serve` and the web-mode fallback of `npm start`: a forked engine plus the web host.
 */
import { readFileSync } from 'node:fs';
import { ForkedEngine } from '../engine/forked';
import { rendererDir } from '../engine/entry';
import { dataHome } from '../engine/paths';
import { CdxError } from '../../shared/errors';
import { startWebServer, type WebServer } from './server';

/** what `cdx serve` prints and parses, from the host's modules (main/cli reaches main/web only through this file) */
export { exposureWarning, parseSize } from './server';
export { isLoopback } from './guard';

export interface ServeOptions {
  host?: string;
  port?: number;
  token?: string;
  extraHosts?: string[];
  rendererDir?: string;
  env?: NodeJS.ProcessEnv;
  /** more folders the page may use beside the data folder (`--root DIR`) */
  roots?: string[];
  /** PEM files: serve https */
  tlsCert?: string;
  tlsKey?: string;
  /** a non-loopback address without TLS */
  insecure?: boolean;
  maxUploadBytes?: number;
  uploadQuotaBytes?: number;
}

function readPem(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw CdxError.file('ENOENT', file, `cannot read the TLS ${what}: ${(e as Error).message}`);
  }
}

export async function serve(opts: ServeOptions = {}): Promise<{ server: WebServer; engine: ForkedEngine; stop(): Promise<void> }> {
  if (!!opts.tlsCert !== !!opts.tlsKey) throw new CdxError('E_BAD_OPTION', 'https needs both --tls-cert FILE and --tls-key FILE');
  const tls = opts.tlsCert && opts.tlsKey ? { cert: readPem(opts.tlsCert, 'certificate'), key: readPem(opts.tlsKey, 'key') } : undefined;
  const engine = new ForkedEngine({ env: opts.env });
  engine.start();
  let server: WebServer;
  try {
    server = await startWebServer({
      engine,
      rendererDir: opts.rendererDir ?? rendererDir(),
      host: opts.host,
      port: opts.port,
      token: opts.token,
      extraHosts: opts.extraHosts,
      // the engine's data folder (its CDX_HOME when the caller gives it another environment)
      dataDir: opts.env?.CDX_HOME ?? dataHome(),
      roots: opts.roots,
      tls,
      insecure: opts.insecure,
      maxUploadBytes: opts.maxUploadBytes,
      uploadQuotaBytes: opts.uploadQuotaBytes,
    });
  } catch (e) {
    await engine.stop();
    throw e;
  }
  return {
    server,
    engine,
    stop: async () => {
      await server.close();
      await engine.stop();
    },
  };
}
