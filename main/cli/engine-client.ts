/**
 * The CLI's connection to the engine: the same forked engine process and contract as web mode, so
 * the command line computes exactly what the app shows (and a crash in native code, or an engine
 * that stops answering, is reported, not fatal to the terminal). Ctrl+C cancels the call in flight:
 * the engine stops the work (a blocking library call's worker is killed), and the command exits
 * at once with a line that says it was interrupted.
 */
import { ForkedEngine } from '../engine/forked';
import { RpcClient, type Client } from '../../shared/rpc';
import { ENGINE_STATE_EVENT, type EngineApi, type EngineStateEvent } from '../../shared/api';
import { CdxError, isCancelled } from '../../shared/errors';

// the CLI reaches the engine side only through this module (scripts/check-layers.mjs)
export { appVersion } from '../engine/paths';

export interface CliEngine {
  api: Client<EngineApi>;
  close(): Promise<void>;
}

export function startCliEngine(): CliEngine {
  // one command, one engine: a crash or a hang ends the command (no restart)
  const engine = new ForkedEngine({ maxCrashes: 0 });
  engine.start();
  const { api } = clientFor(engine);
  return { api, close: () => engine.stop() };
}

/** A contract client on a new connection to `engine`; a crash or hang rejects its calls in flight. */
export function clientFor(engine: ForkedEngine): { api: Client<EngineApi> } {
  const client = new RpcClient<EngineApi>(engine.connect());
  client.on(ENGINE_STATE_EVENT, (d) => {
    const s = d as EngineStateEvent;
    if (s.failCalls) client.failAll({ code: s.failCalls, message: s.reason ?? 'the engine stopped' });
  });
  return { api: client.api };
}

/** Runs `fn` with a fresh engine, always stopping it; Ctrl+C (SIGINT) cancels the call in flight. */
export async function withEngine<T>(fn: (e: CliEngine, signal: AbortSignal) => Promise<T>): Promise<T> {
  const engine = startCliEngine();
  const ac = new AbortController();
  const onInt = () => ac.abort();
  process.once('SIGINT', onInt);
  try {
    return await fn(engine, ac.signal);
  } catch (e) {
    // the client's own "open was cancelled" says nothing to a user who pressed Ctrl+C; an error
    // that names its file (a conversion saying nothing was written) says more, and is kept
    // (after Ctrl+C any failure is the interruption's doing: a reader that saw the signal too, say)
    if (ac.signal.aborted && !(isCancelled(e) && e instanceof CdxError && e.file)) {
      throw new CdxError('E_CANCELLED', 'interrupted (Ctrl+C): the command was cancelled.');
    }
    throw e;
  } finally {
    process.off('SIGINT', onInt);
    await engine.close();
  }
}
