/**
 * The renderer's two transports for the one contract: the ports that Electron's main hands to
 * this window (via the preload: an engine port straight to the engine, and a host port on which
 * main sends the engine's state as contract events), or a WebSocket to the web host. Both become
 * one FramePort each, so engine state arrives the same way in both modes.
 */
import type { FramePort } from '../../shared/rpc';
import { BRIDGE_CHANNELS, BRIDGE_GLOBAL, type CdxHostBridge, type EnginePortsMessage } from '../../shared/bridge';

export type { CdxHostBridge } from '../../shared/bridge';

export function electronHost(): CdxHostBridge | null {
  const h = (window as unknown as Record<string, CdxHostBridge | undefined>)[BRIDGE_GLOBAL];
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

/**
 * How long the connection stays open after its engine port closed, so that main's word on why
 * (the `crashed` / `hung` state event on the host port, which fails the calls in flight with the
 * reason) arrives first: main learns of the engine's exit a moment after the port closes.
 */
const ENGINE_CLOSE_GRACE_MS = 2000;

/**
 * One FramePort over a window's two Electron ports: frames are read from both (the engine's
 * replies, the host's state events) and sent to the engine; without an engine port (none is
 * running, or it closed) sending fails at once. The connection closes a moment after its engine
 * port does.
 */
function framePortFromElectronPorts(host: MessagePort, engine: MessagePort | undefined): FramePort {
  const enginePort = engine ? framePortFromMessagePort(engine) : null;
  const hostPort = framePortFromMessagePort(host);
  let engineClosed = !enginePort;
  enginePort?.onClose(() => (engineClosed = true));
  return {
    send: (f) => {
      if (engineClosed || !enginePort) throw new Error('the engine is not running');
      enginePort.send(f);
    },
    onFrame: (l) => {
      hostPort.onFrame(l);
      enginePort?.onFrame(l);
    },
    onClose: (l) => enginePort?.onClose((reason) => setTimeout(() => l(reason), ENGINE_CLOSE_GRACE_MS)),
    close: () => {
      enginePort?.close();
      hostPort.close();
    },
  };
}

/** Wait for the connections Electron's main gives this window (one now, a new one after each restart). */
export function onElectronPorts(listener: (port: FramePort, engine: boolean) => void): void {
  window.addEventListener('message', (e) => {
    const d = e.data as EnginePortsMessage | null;
    if (e.source !== window || d?.type !== BRIDGE_CHANNELS.enginePorts || !e.ports[0]) return;
    const engine = d.engine ? e.ports[1] : undefined;
    listener(framePortFromElectronPorts(e.ports[0], engine), !!engine);
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
