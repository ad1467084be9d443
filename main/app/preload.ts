/**
 * The preload bridge (sandboxed, contextIsolation): exposes `cdxHost` — the interface and channel
 * names declared once in shared/bridge.ts — and forwards the ports main hands over for this window
 * (its host port and, when an engine runs, the engine port), so the renderer talks to the engine
 * directly and hears the engine's state as contract events on the same connection.
 * contextBridge cannot pass MessagePorts, so they are re-posted to the page's window (the
 * documented Electron pattern); the renderer accepts them only from its own window.
 *
 * Beside it, `cdxDesktop` (main/app/commands.ts): menu commands and files handed to the running
 * app. Until the page registers for commands, a menu command reaches it as the keyboard shortcut
 * it already handles (a keydown on its window; DOM events cross the isolated world); until it
 * registers for paths, main reloads the page, which asks for them with initialPaths.
 * Main answers and sends only to its own windows showing the app (main/app/trust.ts).
 */
import { contextBridge, ipcRenderer, webUtils } from 'electron';
import { COMMANDS, DESKTOP_CHANNELS, DESKTOP_GLOBAL, isMenuCommand, type CdxDesktopBridge, type MenuCommand } from './commands';
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

// the menu's commands and files handed over after start (main/app/commands.ts)
let commandListener: ((c: MenuCommand) => void) | null = null;
let pathsListener: ((p: string[]) => void) | null = null;

ipcRenderer.on(DESKTOP_CHANNELS.command, (_e, command: unknown) => {
  if (!isMenuCommand(command)) return;
  if (commandListener) return commandListener(command);
  const { key, shiftKey = false } = COMMANDS[command].key;
  const mac = process.platform === 'darwin';
  window.dispatchEvent(new KeyboardEvent('keydown', { key, shiftKey, ctrlKey: !mac, metaKey: mac, bubbles: true, cancelable: true }));
});

ipcRenderer.on(DESKTOP_CHANNELS.openPaths, (_e, paths: unknown) => {
  if (Array.isArray(paths) && pathsListener) pathsListener(paths.filter((p): p is string => typeof p === 'string'));
});

const desktop = {
  onOpenPaths: (l: (paths: string[]) => void) => {
    pathsListener = l;
    void ipcRenderer.invoke(DESKTOP_CHANNELS.listening);
  },
  onCommand: (l: (command: MenuCommand) => void) => {
    commandListener = l;
  },
} satisfies CdxDesktopBridge;

contextBridge.exposeInMainWorld(DESKTOP_GLOBAL, desktop);
