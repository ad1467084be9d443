/**
 * The preload bridge (sandboxed, contextIsolation): exposes a minimal `cdxHost` to the renderer and
 * forwards the engine MessagePort that main hands over, so the renderer talks to the engine
 * directly. contextBridge cannot pass MessagePorts, so the port is re-posted to the page's window
 * (the documented Electron pattern); the renderer accepts it only from its own window.
 */
import { contextBridge, ipcRenderer, webUtils } from 'electron';

ipcRenderer.on('cdx:engine-port', (event) => {
  const [port] = event.ports;
  if (port) window.postMessage({ type: 'cdx:engine-port' }, '*', [port]);
});

const stateListeners = new Set<(s: unknown) => void>();
let lastState: unknown = null;
ipcRenderer.on('cdx:engine-state', (_e, s) => {
  lastState = s;
  for (const l of stateListeners) l(s);
});

contextBridge.exposeInMainWorld('cdxHost', {
  kind: 'electron',
  platform: process.platform,
  onEngineState(listener: (s: unknown) => void): () => void {
    stateListeners.add(listener);
    if (lastState) listener(lastState);
    return () => stateListeners.delete(listener);
  },
  reconnect(): Promise<boolean> {
    return ipcRenderer.invoke('cdx:reconnect');
  },
  /** File › Open: the OS dialog; resolves the chosen paths ([] when cancelled) */
  openDialog(): Promise<string[]> {
    return ipcRenderer.invoke('cdx:open-dialog');
  },
  /** the real path of a file dropped on the window */
  pathForFile(file: File): string {
    return webUtils.getPathForFile(file);
  },
  /** paths given to the app (command line, file association, `cdx open`), once */
  initialPaths(): Promise<string[]> {
    return ipcRenderer.invoke('cdx:initial-paths');
  },
});
