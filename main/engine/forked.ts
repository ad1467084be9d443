/**
 * ForkedEngine: runs the engine as a child Node process and keeps it running, for the web host and
 * the CLI (Electron uses utilityProcess, see main/app). Clients get FramePorts multiplexed over the
 * child's IPC channel. When the child dies (a segfault in native code, killed, out of memory) every
 * connected client is told at once — an `engine-state: crashed` event, which makes its calls in
 * flight reject with E_ENGINE_DIED — and a new child is started; frames sent meanwhile wait for it.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { encodeFrame } from '../../shared/wire';
import type { FramePort, WireMessage } from '../../shared/rpc';
import { ENGINE_STATE_EVENT, type EngineStateEvent } from '../../shared/api';

export interface ForkedEngineOptions {
  /** the engine's entry module (built .js, or .ts with execArgv ['--import', 'tsx']) */
  entry: string;
  execArgv?: string[];
  env?: NodeJS.ProcessEnv;
  /** give up after this many crashes within `crashWindowMs` */
  maxCrashes?: number;
  crashWindowMs?: number;
}

interface Conn {
  frames: ((f: Uint8Array) => void)[];
  closes: ((r: string) => void)[];
  closed: boolean;
}

export class ForkedEngine extends EventEmitter {
  private child: ChildProcess | null = null;
  private conns = new Map<string, Conn>();
  private queue: { c: string; f: Uint8Array }[] = [];
  private ready = false;
  private nextConn = 1;
  private crashes: number[] = [];
  private stopping = false;
  private restarts = 0;
  state: EngineStateEvent = { state: 'starting' };

  constructor(private opts: ForkedEngineOptions) {
    super();
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    this.stopping = false;
    this.spawn();
  }

  private setState(s: EngineStateEvent): void {
    this.state = s;
    this.emit('state', s);
    const frame = encodeFrame({ t: 'event', name: ENGINE_STATE_EVENT, data: s } satisfies WireMessage);
    for (const conn of this.conns.values()) for (const l of conn.frames) l(frame);
  }

  private spawn(): void {
    this.ready = false;
    const child = fork(this.opts.entry, [], {
      execArgv: this.opts.execArgv ?? [],
      env: { ...process.env, ...this.opts.env, CDX_ENGINE_HOST: 'fork' },
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child = child;
    this.setState({ state: this.restarts ? 'restarting' : 'starting', pid: child.pid, restarts: this.restarts });
    child.on('message', (raw: unknown) => {
      const msg = raw as { c?: string; f?: Uint8Array; close?: boolean; ready?: boolean } | null;
      if (!msg) return;
      if (msg.ready) {
        this.ready = true;
        for (const q of this.queue.splice(0)) child.send(q);
        this.setState({ state: 'ready', pid: child.pid, restarts: this.restarts });
        return;
      }
      if (typeof msg.c !== 'string') return;
      const conn = this.conns.get(msg.c);
      if (!conn) return;
      if (msg.close) return this.dropConn(msg.c, 'closed by the engine');
      if (msg.f) {
        const f = msg.f instanceof Uint8Array ? msg.f : new Uint8Array(msg.f as ArrayBuffer);
        for (const l of conn.frames) l(f);
      }
    });
    child.on('exit', (code, signal) => {
      if (this.child !== child) return;
      this.child = null;
      this.ready = false;
      this.queue = [];
      if (this.stopping) return;
      const how = signal ? `killed by ${signal}` : `exited with code ${code}`;
      const now = Date.now();
      this.crashes = [...this.crashes.filter((t) => now - t < (this.opts.crashWindowMs ?? 30_000)), now];
      if (this.crashes.length > (this.opts.maxCrashes ?? 5)) {
        this.setState({ state: 'failed', reason: `The engine process ${how}, and has crashed ${this.crashes.length} times in a row; not restarting.` });
        return;
      }
      this.restarts++;
      this.setState({ state: 'crashed', reason: `The engine process ${how}; starting a new one.`, restarts: this.restarts });
      setTimeout(() => !this.stopping && !this.child && this.spawn(), 100 * this.crashes.length);
    });
    child.on('error', (err) => this.emit('error', err));
  }

  /** A new client connection to the engine. */
  connect(): FramePort {
    const id = `c${this.nextConn++}`;
    const conn: Conn = { frames: [], closes: [], closed: false };
    this.conns.set(id, conn);
    return {
      send: (f) => {
        if (conn.closed) throw new Error('connection closed');
        if (this.child && this.ready) this.child.send({ c: id, f });
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

  /** Kill the current engine process (tests; the host restarts it). */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.child?.kill(signal);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const child = this.child;
    for (const id of [...this.conns.keys()]) this.dropConn(id, 'engine stopped');
    if (!child) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 2000).unref();
    });
  }
}
