/**
 * The one service contract between the UI (renderer, CLI) and the engine process, wired generically:
 * the API is declared once as a TypeScript interface (`EngineApi`, in api.ts) and both transports
 * (Electron MessagePort, WebSocket) carry the same frames, derived here — no hand-written channel
 * per method (VS Code's ProxyChannel, electron-toolkit's typed IPC maps).
 *
 * Errors are values across the process line: every reply is a Result envelope; the client turns a
 * failed envelope into a rejected Promise with a `CdxError` (shared/errors.ts) carrying the stable `code`.
 * Long calls report progress and accept cancellation (an AbortSignal on the client side becomes a
 * `cancel` frame; the server aborts the handler's signal).
 */
import { decodeFrame, encodeFrame } from './wire';
import { CdxError, toErrorInfo, type ErrorInfo } from './errors';

export type { ErrorInfo } from './errors';

export type Result<T> = { ok: true; value: T } | { ok: false; error: ErrorInfo };

export interface Progress {
  /** fraction done, 0..1 (or -1 when unknown) */
  done: number;
  /** optional partial result or status text streamed with the progress */
  detail?: unknown;
}

/** Frames on the wire. `id` pairs a call with its progress, cancel and result. */
export type WireMessage =
  | { t: 'call'; id: number; method: string; params: unknown }
  | { t: 'cancel'; id: number }
  | { t: 'progress'; id: number; progress: Progress }
  | { t: 'result'; id: number; result: Result<unknown> }
  | { t: 'event'; name: string; data: unknown };

/** A bidirectional channel of binary frames; every transport implements this. */
export interface FramePort {
  send(frame: Uint8Array): void;
  onFrame(listener: (frame: Uint8Array) => void): void;
  onClose(listener: (reason: string) => void): void;
  close(): void;
}

export interface CallOptions {
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
}

type AnyApi = object;
type ApiMethod = (params: never) => unknown;
type ParamsOf<F> = F extends (params: infer P) => unknown ? P : never;
type ReturnOf<F> = F extends (params: never) => infer R ? Awaited<R> : never;

/** What a client sees: every API method as `(params, options?) => Promise<result>`. */
export type Client<A extends AnyApi> = {
  [K in keyof A]: A[K] extends ApiMethod ? (params: ParamsOf<A[K]>, options?: CallOptions) => Promise<ReturnOf<A[K]>> : never;
};

export interface HandlerContext {
  signal: AbortSignal;
  progress(p: Progress): void;
  /** the connection's id, for per-client state */
  connection: string;
}

/** What a server implements: every API method with a context for cancellation and progress. */
export type Handlers<A extends AnyApi> = {
  [K in keyof A]: A[K] extends ApiMethod ? (params: ParamsOf<A[K]>, ctx: HandlerContext) => Promise<ReturnOf<A[K]>> | ReturnOf<A[K]> : never;
};

interface Pending {
  resolve(v: unknown): void;
  reject(e: unknown): void;
  onProgress?: (p: Progress) => void;
  cleanup(): void;
}

/**
 * The client end. A connection manager may `attach` a new port when the old one is gone (engine
 * restarted); calls in flight on the old port are rejected by `failAll`.
 */
export class RpcClient<A extends AnyApi> {
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private port: FramePort | null = null;
  private eventListeners = new Map<string, Set<(data: unknown) => void>>();
  readonly api: Client<A>;

  constructor(port?: FramePort) {
    if (port) this.attach(port);
    this.api = new Proxy({} as Client<A>, {
      get: (_t, method) => {
        if (typeof method !== 'string' || method === 'then') return undefined;
        return (params: unknown, options?: CallOptions) => this.call(method, params, options);
      },
    });
  }

  attach(port: FramePort): void {
    this.port = port;
    port.onFrame((frame) => {
      if (this.port !== port) return;
      let msg: WireMessage;
      try {
        msg = decodeFrame(frame) as WireMessage;
      } catch {
        return; // a frame we cannot read is dropped; its call will time out or be failed
      }
      this.receive(msg);
    });
    port.onClose((reason) => {
      if (this.port !== port) return;
      this.port = null;
      this.failAll({ code: 'E_DISCONNECTED', message: `Lost the connection to the engine (${reason}).` });
    });
  }

  get connected(): boolean {
    return this.port !== null;
  }

  get inFlight(): number {
    return this.pending.size;
  }

  on(name: string, listener: (data: unknown) => void): () => void {
    let set = this.eventListeners.get(name);
    if (!set) this.eventListeners.set(name, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Reject every call in flight (the engine died, the connection dropped). */
  failAll(error: ErrorInfo): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) {
      p.cleanup();
      p.reject(CdxError.fromInfo(error));
    }
  }

  call(method: string, params: unknown, options: CallOptions = {}): Promise<unknown> {
    const { signal, onProgress } = options;
    if (signal?.aborted) return Promise.reject(new CdxError('E_CANCELLED', `${method} was cancelled.`));
    const port = this.port;
    if (!port) return Promise.reject(new CdxError('E_DISCONNECTED', 'Not connected to the engine.'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        if (!this.pending.has(id)) return;
        this.pending.delete(id);
        try {
          port.send(encodeFrame({ t: 'cancel', id } satisfies WireMessage));
        } catch {
          /* the port is gone; nothing to cancel */
        }
        reject(new CdxError('E_CANCELLED', `${method} was cancelled.`));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, {
        resolve,
        reject,
        onProgress,
        cleanup: () => signal?.removeEventListener('abort', onAbort),
      });
      try {
        port.send(encodeFrame({ t: 'call', id, method, params } satisfies WireMessage));
      } catch (err) {
        this.pending.delete(id);
        signal?.removeEventListener('abort', onAbort);
        reject(new CdxError('E_DISCONNECTED', `Could not send ${method}: ${(err as Error).message}`));
      }
    });
  }

  private receive(msg: WireMessage): void {
    if (msg.t === 'event') {
      for (const l of this.eventListeners.get(msg.name) ?? []) l(msg.data);
      return;
    }
    if (msg.t !== 'result' && msg.t !== 'progress') return;
    const p = this.pending.get(msg.id);
    if (!p) return;
    if (msg.t === 'progress') {
      p.onProgress?.(msg.progress);
      return;
    }
    this.pending.delete(msg.id);
    p.cleanup();
    if (msg.result.ok) p.resolve(msg.result.value);
    else p.reject(CdxError.fromInfo(msg.result.error));
  }
}

/**
 * The server end: dispatches calls on `port` to `handlers`. Every exception becomes an error
 * envelope; nothing thrown by a handler escapes. Returns a function that cancels every call of this
 * connection (used when the connection closes).
 */
export function serveRpc<A extends AnyApi>(
  handlers: Handlers<A>,
  port: FramePort,
  connection = 'local',
  options: { progressIntervalMs?: number } = {},
): { close(): void; emit(name: string, data: unknown): void } {
  const running = new Map<number, AbortController>();
  const interval = options.progressIntervalMs ?? 50;
  const send = (m: WireMessage) => {
    try {
      port.send(encodeFrame(m));
    } catch {
      /* the peer is gone */
    }
  };
  port.onFrame(async (frame) => {
    let msg: WireMessage;
    try {
      msg = decodeFrame(frame) as WireMessage;
    } catch {
      return;
    }
    if (msg.t === 'cancel') {
      running.get(msg.id)?.abort();
      return;
    }
    if (msg.t !== 'call') return;
    const { id, method } = msg;
    const fn = Object.prototype.hasOwnProperty.call(handlers, method)
      ? (handlers as Record<string, (p: unknown, c: HandlerContext) => unknown>)[method]
      : undefined;
    if (typeof fn !== 'function') {
      send({ t: 'result', id, result: { ok: false, error: { code: 'E_NO_METHOD', message: `The engine has no method "${method}".` } } });
      return;
    }
    const ac = new AbortController();
    running.set(id, ac);
    let lastProgress = 0;
    const ctx: HandlerContext = {
      signal: ac.signal,
      connection,
      progress: (p) => {
        const now = Date.now();
        // throttle plain progress; always pass progress that carries partial results
        if (p.detail === undefined && now - lastProgress < interval && p.done < 1) return;
        lastProgress = now;
        if (!ac.signal.aborted) send({ t: 'progress', id, progress: p });
      },
    };
    let result: Result<unknown>;
    try {
      result = { ok: true, value: await fn.call(handlers, msg.params, ctx) };
    } catch (err) {
      result = { ok: false, error: toErrorInfo(err) };
    }
    running.delete(id);
    if (!ac.signal.aborted) send({ t: 'result', id, result });
  });
  const close = () => {
    for (const ac of running.values()) ac.abort();
    running.clear();
  };
  port.onClose(close);
  return { close, emit: (name, data) => send({ t: 'event', name, data }) };
}

/** Two connected in-memory ports (tests, and in-process use). Frames are copied like a real wire. */
export function createMemoryPortPair(): [FramePort, FramePort] {
  type Side = { frames: ((f: Uint8Array) => void)[]; closes: ((r: string) => void)[]; closed: boolean };
  const a: Side = { frames: [], closes: [], closed: false };
  const b: Side = { frames: [], closes: [], closed: false };
  const make = (self: Side, other: Side): FramePort => ({
    send(frame) {
      if (self.closed) throw new Error('port closed');
      const copy = frame.slice();
      queueMicrotask(() => {
        if (!other.closed) for (const l of other.frames) l(copy);
      });
    },
    onFrame(l) {
      self.frames.push(l);
    },
    onClose(l) {
      self.closes.push(l);
    },
    close() {
      if (self.closed) return;
      self.closed = other.closed = true;
      queueMicrotask(() => {
        for (const l of self.closes) l('closed');
        for (const l of other.closes) l('closed by peer');
      });
    },
  });
  return [make(a, b), make(b, a)];
}
