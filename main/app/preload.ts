/**
 * The preload bridge (sandboxed, contextIsolation): exposes `cdxHost` — the interface and channel
 * names declared once in shared/bridge.ts — and forwards the ports main hands over for this window
 * (its host port and, when an engine runs, the engine port), so the renderer talks to the engine
 * directly and hears the engine's state as contract events on the same connection.
 * contextBridge cannot pass MessagePorts, so they are re-posted to the page's window (the
 * documented Electron pattern); the renderer accepts them only from its own window.
 */
import { contextBridge, ipcRenderer, webUtils } from 'electron';
import { BRIDGE_CHANNELS, BRIDGE_GLOBAL, SECRET_CHANNELS, SECRETS_GLOBAL, type CdxHostBridge, type CdxSecretsBridge, type EnginePortsMessage } from '../../shared/bridge';

ipcRenderer.on(BRIDGE_CHANNELS.enginePorts, (event, data: { engine?: boolean } | null) => {
  if (!event.ports.length) return;
  const msg: EnginePortsMessage = { type: BRIDGE_CHANNELS.enginePorts, engine: !!data?.engine && event.ports.length > 1 };
  window.postMessage(msg, '*', event.ports);
});

const bridge = {
  kind: 'electron',
  platform: process.platform,
  reconnect: () => ipcRenderer.invoke(BRIDGE_CHANNELS.reconnect),
  openDialog: () => ipcRenderer.invoke(BRIDGE_CHANNELS.openDialog),
  pathForFile: (file: File) => webUtils.getPathForFile(file),
  initialPaths: () => ipcRenderer.invoke(BRIDGE_CHANNELS.initialPaths),
} satisfies CdxHostBridge;

contextBridge.exposeInMainWorld(BRIDGE_GLOBAL, bridge);

// database passwords kept by the app (safeStorage in main), a bridge of its own beside cdxHost
const secrets = {
  available: () => ipcRenderer.invoke(SECRET_CHANNELS.available),
  keep: (url: string, password: string) => ipcRenderer.invoke(SECRET_CHANNELS.keep, url, password),
  forget: (url: string) => ipcRenderer.invoke(SECRET_CHANNELS.forget, url),
} satisfies CdxSecretsBridge;

contextBridge.exposeInMainWorld(SECRETS_GLOBAL, secrets);
