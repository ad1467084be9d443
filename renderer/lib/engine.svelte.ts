/**
 * The window's connection to the engine, as a Svelte 5 rune class: the typed client, the engine's
 * state for the status bar, and a `generation` that goes up whenever a new engine process is
 * serving us (views refetch then). The state arrives only as the contract's ENGINE_STATE_EVENT on
 * the connection itself (Electron and web mode alike); when it says the engine that held our calls
 * is gone (crashed, hung), every call in flight is rejected with the code it carries
 * (E_ENGINE_DIED, E_ENGINE_HUNG) and the status bar shows why.
 */
import { RpcClient, type Client } from '../../shared/rpc';
import { ENGINE_STATE_EVENT, type EngineApi, type EngineInfo, type EngineStateEvent } from '../../shared/api';
import { electronHost, onElectronPorts, openWebSocket } from './transport';

export type LinkState = EngineStateEvent['state'] | 'connecting' | 'disconnected';

export class EngineConnection {
  link = $state<LinkState>('connecting');
  detail = $state<string | null>(null);
  info = $state.raw<EngineInfo | null>(null);
  generation = $state(0);
  readonly mode: 'electron' | 'web';
  private client = new RpcClient<EngineApi>();
  readonly api: Client<EngineApi> = this.client.api;
  private lastPid: number | undefined;
  /** why the last engine went away (crashed, hung), kept for the status bar once a new one serves */
  private lastReason: string | null = null;

  constructor() {
    this.mode = electronHost() ? 'electron' : 'web';
    this.client.on(ENGINE_STATE_EVENT, (d) => this.onState(d as EngineStateEvent));
  }

  start(): void {
    const host = electronHost();
    if (host) {
      onElectronPorts((port, engine) => {
        this.client.attach(port);
        if (engine) void this.refreshInfo();
      });
      void host.reconnect();
    } else {
      void this.connectWeb();
    }
  }

  private async connectWeb(delay = 0): Promise<void> {
    if (delay) await new Promise((r) => setTimeout(r, delay));
    this.link = 'connecting';
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    try {
      const port = await openWebSocket(`${proto}//${location.host}/ws`);
      port.onClose((reason) => {
        this.link = 'disconnected';
        this.detail = `Lost the connection to the CDX server (${reason}). Retrying…`;
        void this.connectWeb(1000);
      });
      this.client.attach(port);
      await this.refreshInfo();
    } catch (e) {
      this.link = 'disconnected';
      this.detail = `Cannot reach the CDX server: ${(e as Error).message}. Retrying…`;
      void this.connectWeb(Math.min(5000, (delay || 500) * 2));
    }
  }

  private onState(s: EngineStateEvent): void {
    this.link = s.state;
    if (s.failCalls) {
      this.detail = this.lastReason = s.reason ?? 'The engine stopped.';
      this.client.failAll({ code: s.failCalls, message: `${s.reason ?? 'The engine stopped.'} The request did not complete.` });
      this.info = null;
    } else if (s.state === 'ready') {
      if (s.pid !== undefined && s.pid !== this.lastPid) void this.refreshInfo();
    }
  }

  async refreshInfo(): Promise<void> {
    try {
      const info = await this.api.info({});
      this.info = info;
      this.link = 'ready';
      if (info.pid !== this.lastPid) {
        if (this.lastPid !== undefined) this.detail = `The engine was restarted (now pid ${info.pid}).${this.lastReason ? ` ${this.lastReason}` : ''}`;
        this.lastPid = info.pid;
        this.generation++;
      }
    } catch {
      /* state events will tell */
    }
  }
}
