/**
 * The CLI's connection to the engine: the same forked engine process and contract as web mode, so
 * the command line computes exactly what the app shows (and a crash in native code is reported,
 * not fatal to the terminal).
 */
import { ForkedEngine } from '../engine/forked';
import { engineEntry } from '../engine/entry';
import { RpcClient, type Client } from '../../shared/rpc';
import { ENGINE_STATE_EVENT, type EngineApi, type EngineStateEvent } from '../../shared/api';

export interface CliEngine {
  api: Client<EngineApi>;
  close(): Promise<void>;
}

export function startCliEngine(): CliEngine {
  const { entry, execArgv } = engineEntry();
  const engine = new ForkedEngine({ entry, execArgv, maxCrashes: 0 });
  engine.start();
  const { api } = clientFor(engine);
  return { api, close: () => engine.stop() };
}

/** A contract client on a new connection to `engine`; a crash rejects its calls in flight. */
export function clientFor(engine: ForkedEngine): { api: Client<EngineApi> } {
  const client = new RpcClient<EngineApi>(engine.connect());
  client.on(ENGINE_STATE_EVENT, (d) => {
    const s = d as EngineStateEvent;
    if (s.state === 'crashed' || s.state === 'failed') client.failAll({ code: 'E_ENGINE_DIED', message: s.reason ?? 'the engine stopped' });
  });
  return { api: client.api };
}

/** Runs `fn` with a fresh engine, always stopping it; Ctrl+C cancels the call in flight. */
export async function withEngine<T>(fn: (e: CliEngine, signal: AbortSignal) => Promise<T>): Promise<T> {
  const engine = startCliEngine();
  const ac = new AbortController();
  const onInt = () => ac.abort();
  process.once('SIGINT', onInt);
  try {
    return await fn(engine, ac.signal);
  } finally {
    process.off('SIGINT', onInt);
    await engine.close();
  }
}
