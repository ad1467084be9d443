/**
 * ForkedEngine: the engine as a child Node process, for the web host and the CLI (Electron runs it
 * as a utilityProcess, main/app). The restart policy, state machine and watchdog are the
 * supervisor's (supervisor.ts); this host adds what is particular to a forked child: clients get
 * FramePorts multiplexed over the child's IPC channel, each connection is told the engine's state
 * as the contract's ENGINE_STATE_EVENT (the current state when it connects, then every change),
 * and frames sent while no engine is ready wait for the next one.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { encodeFrame } from '../../shared/wire';
import type { FramePort, WireMessage } from '../../shared/rpc';
import { ENGINE_STATE_EVENT, type EngineStateEvent } from '../../shared/api';
import { isEngineControl, type EngineControl } from './channel';
import { engineEntry } from './entry';
import { EngineSupervisor, type EngineProcess, type SupervisorOptions } from './supervisor';

export interface ForkedEngineOptions extends SupervisorOptions {
  /** the engine's entry module (default: engineEntry(), the built bundle or the source through tsx) */
  entry?: string;
  execArgv?: string[];
  env?: NodeJS.ProcessEnv;
}

interface Conn {
  frames: ((f: Uint8Array) => void)[];
  closes: ((r: string) => void)[];
  closed: boolean;
}

/** A forked engine as the supervisor sees it. */
function forkedProcess(child: ChildProcess): EngineProcess {
  return {
    get pid() {
      return child.pid;
    },
    send: (m) => {
      if (child.connected) child.send(m);
    },
    terminate: () => void child.kill('SIGTERM'),
    kill: () => void child.kill('SIGKILL'),
    onControl: (l: (m: EngineControl) => void) => void child.on('message', (m: unknown) => isEngineControl(m) && l(m)),
    onExit: (l) => void child.once('exit', (code, signal) => l(signal ? `was killed by ${signal}` : `exited with code ${code}`)),
  };
}

export class ForkedEngine {
  private child: ChildProcess | null = null;
  private conns = new Map<string, Conn>();
  private queue: { c: string; f: Uint8Array }[] = [];
  private nextConn = 1;
  private supervisor: EngineSupervisor;
  private stateListeners = new Set<(s: EngineStateEvent) => void>();

  constructor(private opts: ForkedEngineOptions = {}) {
    this.supervisor = new EngineSupervisor(() => this.spawn(), opts);
    this.supervisor.onState((s) => {
      // the clients fail their calls in flight on this event: what is queued for them goes too
      if (s.failCalls) this.queue = [];
      const frame = stateFrame(s);
      for (const conn of this.conns.values()) for (const l of conn.frames) l(frame);
      for (const l of this.stateListeners) l(s);
    });
    this.supervisor.onReady(() => {
      const child = this.child;
      if (child) for (const q of this.queue.splice(0)) child.send(q);
    });
    // frames sent while no engine is ready wait for the next one
    this.supervisor.onExit(() => {
      this.child = null;
    });
  }

  get state(): EngineStateEvent {
    return this.supervisor.state;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Every change of the engine's state (tests, logs). */
  onState(l: (s: EngineStateEvent) => void): () => void {
    this.stateListeners.add(l);
    return () => this.stateListeners.delete(l);
  }

  start(): void {
    this.supervisor.start();
  }

  private spawn(): EngineProcess {
    const { entry, execArgv } = this.opts.entry ? { entry: this.opts.entry, execArgv: this.opts.execArgv ?? [] } : engineEntry();
    const child = fork(entry, [], {
      execArgv,
      env: { ...process.env, ...this.opts.env, CDX_ENGINE_HOST: 'fork' },
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child = child;
    child.on('message', (raw: unknown) => {
      const msg = raw as { c?: string; f?: Uint8Array; close?: boolean } | null;
      if (!msg || typeof msg.c !== 'string' || this.child !== child) return;
      const conn = this.conns.get(msg.c);
      if (!conn) return;
      if (msg.close) return this.dropConn(msg.c, 'closed by the engine');
      if (msg.f) {
        const f = msg.f instanceof Uint8Array ? msg.f : new Uint8Array(msg.f as ArrayBuffer);
        for (const l of conn.frames) l(f);
      }
    });
    // a failure to start shows as an exit; nothing else to do with the error here
    child.on('error', () => undefined);
    return forkedProcess(child);
  }

  /** A new client connection to the engine; it is told the engine's state first. */
  connect(): FramePort {
    const id = `c${this.nextConn++}`;
    const conn: Conn = { frames: [], closes: [], closed: false };
    this.conns.set(id, conn);
    // after the caller has attached its listeners (they do so right after connect returns)
    queueMicrotask(() => {
      if (conn.closed) return;
      const frame = stateFrame(this.supervisor.state);
      for (const l of conn.frames) l(frame);
    });
    return {
      send: (f) => {
        if (conn.closed) throw new Error('connection closed');
        const child = this.child;
        if (child && this.supervisor.current) child.send({ c: id, f });
        else if (this.queue.length < 1000) this.queue.push({ c: id, f });
        else throw new Error('the engine is not running');
      },
      onFrame: (l) => void conn.frames.push(l),
      onClose: (l) => void conn.closes.push(l),
      close: () => {
        if (conn.closed) return;
        this.dropConn(id, 'closed');
        if (this.child?.connected) this.child.send({ c: id, close: true });
      },
    };
  }

  private dropConn(id: string, reason: string): void {
    const conn = this.conns.get(id);
    if (!conn || conn.closed) return;
    conn.closed = true;
    this.conns.delete(id);
    for (const l of conn.closes) l(reason);
  }

  /** Kill the current engine process (tests; the supervisor restarts it). */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.child?.kill(signal);
  }

  async stop(): Promise<void> {
    for (const id of [...this.conns.keys()]) this.dropConn(id, 'engine stopped');
    await this.supervisor.stop();
  }
}

function stateFrame(s: EngineStateEvent): Uint8Array {
  return encodeFrame({ t: 'event', name: ENGINE_STATE_EVENT, data: s } satisfies WireMessage);
}
