/**
 * The engine's supervisor: one restart policy and state machine for every host. Electron's main
 * passes a spawn function over `utilityProcess.fork`, the web host and the CLI one over
 * `child_process.fork` (main/engine/forked.ts); the rest is here, pure Node.
 *
 * States (the contract's EngineStateEvent, pushed to every client by the host):
 *   starting -> ready                      the first engine came up
 *   ready -> crashed -> restarting -> ready   it exited unexpectedly (segfault, OOM, killed)
 *   ready -> hung -> restarting -> ready      it stopped answering the watchdog; it is killed
 *   crashed | hung -> failed                 too many crashes within the window; no more restarts
 * `crashed`, `hung` and `failed` carry `failCalls`: the engine that held the clients' calls is gone,
 * so those calls fail at once (E_ENGINE_DIED, E_ENGINE_HUNG) instead of waiting forever.
 *
 * Watchdog: every `intervalMs` the host sends the engine a tiny `ping` control message that the
 * engine answers on its event loop (main/engine/channel.ts), not behind queued work; when no
 * answer has come for `timeoutMs`, the loop is blocked (a synchronous library call that never
 * returns), and the engine is killed and replaced. Back-off between restarts grows with the
 * crashes in the window.
 */
import type { EngineStateEvent } from '../../shared/api';
import type { EngineControl, HostControl } from './channel';

/** One started engine process, as its host sees it. */
export interface EngineProcess {
  readonly pid: number | undefined;
  /** a control message to the engine */
  send(msg: HostControl): void;
  /** ask it to exit (SIGTERM) */
  terminate(): void;
  /** stop it now (SIGKILL): it may be stuck */
  kill(): void;
  /** the engine's control messages (`ready`, `pong`) */
  onControl(listener: (msg: EngineControl) => void): void;
  /** it exited; `how` says how, in words (`exited with code 1`, `killed by SIGSEGV`) */
  onExit(listener: (how: string) => void): void;
}

export type SpawnEngine = () => EngineProcess;

export interface WatchdogOptions {
  /** how often the host pings the engine (default 1 s) */
  intervalMs?: number;
  /** how long the engine may go without answering before it is declared hung (default 20 s) */
  timeoutMs?: number;
}

export interface SupervisorOptions {
  /** give up after more than this many crashes within `crashWindowMs` (default 5; 0: never restart) */
  maxCrashes?: number;
  crashWindowMs?: number;
  /** the first restart waits this long, each further crash in the window once more (default 100 ms) */
  backoffMs?: number;
  /** false: no watchdog; absent: watchdogFromEnv() */
  watchdog?: WatchdogOptions | false;
  /** an engine that has not said `ready` after this long counts as hung (default 60 s) */
  startTimeoutMs?: number;
}

export const WATCHDOG_DEFAULTS: Required<WatchdogOptions> = { intervalMs: 1000, timeoutMs: 20_000 };

/**
 * The watchdog's settings when the host gives none: WATCHDOG_DEFAULTS, or the timeout in
 * `CDX_ENGINE_WATCHDOG_MS` (0 turns the watchdog off; the ping interval follows the timeout).
 */
export function watchdogFromEnv(env: NodeJS.ProcessEnv = process.env): Required<WatchdogOptions> | null {
  const raw = env.CDX_ENGINE_WATCHDOG_MS;
  if (raw === undefined || raw === '') return WATCHDOG_DEFAULTS;
  const ms = Number(raw);
  if (!Number.isFinite(ms) || ms < 0) return WATCHDOG_DEFAULTS;
  if (ms === 0) return null;
  return { timeoutMs: ms, intervalMs: Math.min(WATCHDOG_DEFAULTS.intervalMs, Math.max(20, Math.round(ms / 5))) };
}

type Listener<T> = (v: T) => void;

export class EngineSupervisor<P extends EngineProcess = EngineProcess> {
  private proc: P | null = null;
  private isReady = false;
  private stopping = false;
  private crashes: number[] = [];
  private restarts = 0;
  private hungProc: P | null = null;
  private lastAnswer = 0;
  private seq = 0;
  private watchTimer: NodeJS.Timeout | null = null;
  private startTimer: NodeJS.Timeout | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  private stateListeners = new Set<Listener<EngineStateEvent>>();
  private readyListeners = new Set<Listener<P>>();
  private exitListeners = new Set<Listener<P>>();
  state: EngineStateEvent = { state: 'starting' };

  constructor(
    private spawnEngine: () => P,
    private opts: SupervisorOptions = {},
  ) {}

  /** The running engine once it has said `ready`; null while starting, restarting or down. */
  get current(): P | null {
    return this.isReady ? this.proc : null;
  }

  /** The engine process, ready or not. */
  get process(): P | null {
    return this.proc;
  }

  onState(l: Listener<EngineStateEvent>): () => void {
    this.stateListeners.add(l);
    return () => this.stateListeners.delete(l);
  }

  /** A (new) engine is ready: hosts connect their clients to it. */
  onReady(l: Listener<P>): () => void {
    this.readyListeners.add(l);
    return () => this.readyListeners.delete(l);
  }

  /** The engine process exited (whatever the reason): hosts drop what they held for it. */
  onExit(l: Listener<P>): () => void {
    this.exitListeners.add(l);
    return () => this.exitListeners.delete(l);
  }

  start(): void {
    this.stopping = false;
    if (!this.proc) this.spawn();
  }

  /** Stop the engine for good (SIGTERM, SIGKILL after `graceMs`). */
  async stop(graceMs = 2000): Promise<void> {
    this.stopping = true;
    this.clearTimers();
    const p = this.proc;
    if (!p) return;
    await new Promise<void>((resolve) => {
      p.onExit(() => resolve());
      p.terminate();
      setTimeout(() => p.kill(), graceMs).unref();
    });
  }

  private set(s: EngineStateEvent): void {
    this.state = s;
    for (const l of this.stateListeners) l(s);
  }

  private clearTimers(): void {
    for (const t of [this.watchTimer, this.startTimer, this.restartTimer]) if (t) clearTimeout(t);
    this.watchTimer = this.startTimer = this.restartTimer = null;
  }

  private watchdog(): Required<WatchdogOptions> | null {
    const w = this.opts.watchdog;
    if (w === false) return null;
    const base = watchdogFromEnv();
    return w ? { ...(base ?? WATCHDOG_DEFAULTS), ...w } : base;
  }

  private spawn(): void {
    this.restartTimer = null;
    const p = this.spawnEngine();
    this.proc = p;
    this.isReady = false;
    this.set({ state: this.restarts ? 'restarting' : 'starting', pid: p.pid, restarts: this.restarts });
    p.onControl((m) => {
      if (this.proc !== p) return;
      if (m.cdx === 'pong') this.lastAnswer = Date.now();
      else if (m.cdx === 'ready' && !this.isReady) this.ready(p);
    });
    p.onExit((how) => this.exited(p, how));
    const startTimeout = this.opts.startTimeoutMs ?? 60_000;
    this.startTimer = setTimeout(() => {
      if (this.proc === p && !this.isReady) this.hung(p, `The engine did not start within ${seconds(startTimeout)}`);
    }, startTimeout);
    this.startTimer.unref?.();
  }

  private ready(p: P): void {
    if (this.startTimer) clearTimeout(this.startTimer);
    this.startTimer = null;
    this.isReady = true;
    this.lastAnswer = Date.now();
    this.set({ state: 'ready', pid: p.pid, restarts: this.restarts });
    for (const l of this.readyListeners) l(p);
    const w = this.watchdog();
    if (!w) return;
    this.watchTimer = setInterval(() => {
      if (this.proc !== p || !this.isReady) return;
      const silent = Date.now() - this.lastAnswer;
      if (silent > w.timeoutMs) {
        this.hung(p, `The engine stopped answering for ${seconds(silent)} (something blocked it)`);
        return;
      }
      try {
        p.send({ cdx: 'ping', seq: ++this.seq });
      } catch {
        /* exiting: its exit is handled */
      }
    }, w.intervalMs);
    this.watchTimer.unref?.();
  }

  private hung(p: P, what: string): void {
    this.clearTimers();
    this.isReady = false;
    this.hungProc = p;
    this.set({ state: 'hung', pid: p.pid, reason: `${what}; it was stopped and a new one is starting.`, restarts: this.restarts, failCalls: 'E_ENGINE_HUNG' });
    p.kill();
  }

  private exited(p: P, how: string): void {
    if (this.proc !== p) return;
    this.clearTimers();
    this.proc = null;
    this.isReady = false;
    for (const l of this.exitListeners) l(p);
    if (this.stopping) return;
    const wasHung = this.hungProc === p;
    this.hungProc = null;
    const now = Date.now();
    this.crashes = [...this.crashes.filter((t) => now - t < (this.opts.crashWindowMs ?? 30_000)), now];
    if (this.crashes.length > (this.opts.maxCrashes ?? 5)) {
      const what = wasHung ? 'stopped answering and was stopped' : how;
      this.set({ state: 'failed', reason: `The engine process ${what}, and has stopped ${this.crashes.length} times in a row; not restarting.`, restarts: this.restarts, failCalls: 'E_ENGINE_DIED' });
      return;
    }
    this.restarts++;
    // a hung engine's clients were told when it was declared hung
    if (!wasHung) this.set({ state: 'crashed', reason: `The engine process ${how}; starting a new one.`, restarts: this.restarts, failCalls: 'E_ENGINE_DIED' });
    this.restartTimer = setTimeout(() => {
      if (!this.stopping && !this.proc) this.spawn();
    }, (this.opts.backoffMs ?? 100) * this.crashes.length);
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
}
