/**
 * The renderer's two transports for the one contract: the MessagePort that Electron's main hands
 * to this window (via the preload), or a WebSocket to the web host. Both become FramePorts.
 */
import type { FramePort } from '../../shared/rpc';
import type { EngineStateEvent } from '../../shared/api';

export interface CdxHostBridge {
  kind: 'electron';
  platform: string;
  onEngineState(listener: (s: EngineStateEvent) => void): () => void;
  reconnect(): Promise<boolean>;
  openDialog(): Promise<string[]>;
  pathForFile(file: File): string;
  initialPaths(): Promise<string[]>;
}

export function electronHost(): CdxHostBridge | null {
  const h = (window as unknown as { cdxHost?: CdxHostBridge }).cdxHost;
  return h && h.kind === 'electron' ? h : null;
}

export function framePortFromMessagePort(port: MessagePort): FramePort {
  const frames: ((f: Uint8Array) => void)[] = [];
  const closes: ((r: string) => void)[] = [];
  port.onmessage = (e) => {
    const d = e.data;
    const bytes = d instanceof Uint8Array ? d : d instanceof ArrayBuffer ? new Uint8Array(d) : null;
    if (bytes) for (const l of frames) l(bytes);
  };
  port.addEventListener('close', () => closes.forEach((l) => l('port closed')));
  port.start();
  return {
    send: (f) => port.postMessage(f, [f.buffer as ArrayBuffer]),
    onFrame: (l) => void frames.push(l),
    onClose: (l) => void closes.push(l),
    close: () => {
      port.close();
      closes.forEach((l) => l('closed'));
    },
  };
}

/** Wait for the ports Electron's main sends to this window (one now, a new one after each restart). */
export function onElectronPorts(listener: (port: FramePort) => void): void {
  window.addEventListener('message', (e) => {
    if (e.source !== window || e.data?.type !== 'cdx:engine-port' || !e.ports[0]) return;
    listener(framePortFromMessagePort(e.ports[0]));
  });
}

export function openWebSocket(url: string): Promise<FramePort> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    const frames: ((f: Uint8Array) => void)[] = [];
    const closes: ((r: string) => void)[] = [];
    let opened = false;
    ws.onopen = () => {
      opened = true;
      resolve({
        send: (f) => ws.send(f),
        onFrame: (l) => void frames.push(l),
        onClose: (l) => void closes.push(l),
        close: () => ws.close(),
      });
    };
    ws.onmessage = (e) => {
      if (e.data instanceof ArrayBuffer) {
        const bytes = new Uint8Array(e.data);
        for (const l of frames) l(bytes);
      }
    };
    ws.onclose = (e) => {
      if (!opened) reject(new Error(`WebSocket refused (${e.code})`));
      else closes.forEach((l) => l(e.reason || `socket closed (${e.code})`));
    };
  });
}
