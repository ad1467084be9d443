/**
 * Electron main: thin. Windows, menus, the engine's utilityProcess (kept running by the one
 * supervisor, main/engine/supervisor.ts: restarts, back-off, watchdog) and the MessagePort that
 * connects each window straight to it (bulk data never passes through main). Engine state reaches
 * a window only as the contract's ENGINE_STATE_EVENT, on a host port handed over beside the engine
 * port (shared/bridge.ts). Never touches user data itself. Security: contextIsolation, sandbox,
 * no nodeIntegration, CSP (index.html), navigation and new windows denied, external links only
 * http(s) and only through the OS browser.
 */
import { app, BrowserWindow, MessageChannelMain, dialog, ipcMain, nativeTheme, safeStorage, shell, utilityProcess, type MessagePortMain, type UtilityProcess, type WebContents } from 'electron';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ENGINE_STATE_EVENT, type EngineApi, type EngineStateEvent } from '../../shared/api';
import { BRIDGE_CHANNELS, SECRET_CHANNELS } from '../../shared/bridge';
import { RpcClient, type Client, type WireMessage } from '../../shared/rpc';
import { encodeFrame } from '../../shared/wire';
import { framePortFromElectronPort, isEngineControl, type EngineControl, type HostControl } from '../engine/channel';
import { engineEntry } from '../engine/entry';
import { EngineSupervisor, type EngineProcess } from '../engine/supervisor';

const here = path.dirname(fileURLToPath(import.meta.url));
const PRELOAD = path.join(here, '..', 'preload', 'index.cjs');
const RENDERER = path.join(here, '..', 'renderer', 'index.html');

const windows = new Set<BrowserWindow>();

/** The engine as a utilityProcess, as the supervisor sees it, plus handing it a window's port. */
interface UtilityEngine extends EngineProcess {
  connect(id: string, port: MessagePortMain): void;
}

function spawnEngine(): UtilityEngine {
  const { entry, execArgv } = engineEntry();
  const child: UtilityProcess = utilityProcess.fork(entry, [], {
    serviceName: 'CDX engine',
    stdio: 'inherit',
    execArgv,
    env: { ...process.env, CDX_HOME: process.env.CDX_HOME ?? app.getPath('userData'), CDX_ENGINE_HOST: 'electron' },
  });
  return {
    get pid() {
      return child.pid;
    },
    send: (m: HostControl) => child.postMessage(m),
    connect: (id, port) => child.postMessage({ cdx: 'connect', id } satisfies HostControl, [port]),
    terminate: () => void child.kill(),
    // UtilityProcess.kill() is a polite SIGTERM; a hung engine may need SIGKILL
    kill: () => {
      if (child.pid === undefined) return void child.kill();
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        child.kill();
      }
    },
    onControl: (l: (m: EngineControl) => void) => void child.on('message', (m: unknown) => isEngineControl(m) && l(m)),
    onExit: (l) => void child.once('exit', (code) => l(`exited with code ${code}`)),
  };
}

const supervisor = new EngineSupervisor(spawnEngine);

/**
 * Each window's end of its host port: main's side of the window's connection, on which the
 * engine's state reaches the window as the contract's ENGINE_STATE_EVENT (the same event web mode
 * gets over its WebSocket). The renderer reads it together with its engine port.
 */
const hostPorts = new Map<number, MessagePortMain>();

function sendState(port: MessagePortMain, s: EngineStateEvent): void {
  port.postMessage(encodeFrame({ t: 'event', name: ENGINE_STATE_EVENT, data: s } satisfies WireMessage));
}

supervisor.onState((s) => {
  // `ready` goes out with the new connection each window gets (onReady), not on the old one
  if (s.state === 'ready') return;
  for (const port of hostPorts.values()) sendState(port, s);
});
supervisor.onReady((engine) => {
  // the kept database passwords first, so that a window's first call finds them
  connectSecrets(engine);
  for (const w of windows) if (!w.isDestroyed()) connectWindow(w.webContents);
});

/**
 * Database passwords the app keeps (issue #12): encrypted with Electron safeStorage (the OS's key:
 * Keychain, DPAPI, libsecret/kwallet) in `db-secrets.json` in userData, as base64 ciphertext by
 * connection URL (which holds no secret); never plain text on disk, never in the engine's catalog.
 * Each engine that starts gets them with setSecret over main's own connection to it (memory only);
 * the renderer asks through the preload's `cdxSecrets` (keep / forget / available) and tells the
 * engine `saveConnection({ keep: 'app' })`. Where the OS offers no real encryption (Linux's
 * 'basic_text' backend is a fixed key), `available` is false and the engine's own keychain or
 * session handling applies. Untested here: there is no Electron binary in CI.
 */
let secretsApi: Client<EngineApi> | null = null;
const secretsFile = (): string => path.join(app.getPath('userData'), 'db-secrets.json');
const DB_URL = /^(postgres|postgresql|clickhouse):\/\/[^\s:@/]+@[^\s/]+\/[^\s]*$/i;

function secretsUsable(): boolean {
  if (!safeStorage.isEncryptionAvailable()) return false;
  return process.platform !== 'linux' || safeStorage.getSelectedStorageBackend() !== 'basic_text';
}

function readSecrets(): Record<string, string> {
  try {
    const v = JSON.parse(readFileSync(secretsFile(), 'utf8')) as unknown;
    if (!v || typeof v !== 'object' || Array.isArray(v)) return {};
    return Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string'));
  } catch {
    return {};
  }
}

function writeSecrets(all: Record<string, string>): void {
  const f = secretsFile();
  writeFileSync(f + '.tmp', JSON.stringify(all, null, 1), { mode: 0o600 });
  renameSync(f + '.tmp', f);
}

/** main's own connection to a (new) engine, and every kept password handed to it */
function connectSecrets(engine: UtilityEngine): void {
  const { port1, port2 } = new MessageChannelMain();
  engine.connect('app-secrets', port1);
  const api = new RpcClient<EngineApi>(framePortFromElectronPort(port2)).api;
  secretsApi = api;
  if (!secretsUsable()) return;
  for (const [url, enc] of Object.entries(readSecrets())) {
    let password: string;
    try {
      password = safeStorage.decryptString(Buffer.from(enc, 'base64'));
    } catch {
      continue; // encrypted under another OS key (a copied profile): the user types it again
    }
    api.setSecret({ url, password }).catch(() => undefined);
  }
}

ipcMain.handle(SECRET_CHANNELS.available, (e) => !!trusted(e) && secretsUsable());

ipcMain.handle(SECRET_CHANNELS.keep, async (e, url: unknown, password: unknown) => {
  if (!trusted(e) || typeof url !== 'string' || typeof password !== 'string' || !DB_URL.test(url) || url.slice(url.indexOf('/', url.indexOf('://') + 3)).includes('::') || !secretsUsable()) return false;
  const api = secretsApi;
  if (!api) return false;
  const all = readSecrets();
  all[url] = safeStorage.encryptString(password).toString('base64');
  writeSecrets(all);
  await api.setSecret({ url, password });
  return true;
});

ipcMain.handle(SECRET_CHANNELS.forget, (e, url: unknown) => {
  if (!trusted(e) || typeof url !== 'string') return;
  const all = readSecrets();
  if (!(url in all)) return;
  delete all[url];
  writeSecrets(all);
});

/**
 * Give a window a fresh connection: a host port always, and an engine port (straight to the
 * engine, so bulk data never passes through main) when an engine is ready.
 */
function connectWindow(contents: WebContents): void {
  const host = new MessageChannelMain();
  const ports = [host.port2];
  const engine = supervisor.current;
  if (engine) {
    const { port1, port2 } = new MessageChannelMain();
    engine.connect(`w${contents.id}`, port1);
    ports.push(port2);
  }
  const id = contents.id;
  const old = hostPorts.get(id);
  if (old) old.close();
  else
    contents.once('destroyed', () => {
      hostPorts.get(id)?.close();
      hostPorts.delete(id);
    });
  hostPorts.set(id, host.port1);
  contents.postMessage(BRIDGE_CHANNELS.enginePorts, { engine: !!engine }, ports);
  host.port1.start();
  sendState(host.port1, supervisor.state);
}

function isAppUrl(url: string): boolean {
  return url.startsWith('file://') && decodeURI(new URL(url).pathname).startsWith(path.dirname(RENDERER).replace(/\\/g, '/'));
}

function createWindow(): BrowserWindow {
  const win = new BrowserWindow({
    width: 1280,
    height: 820,
    minWidth: 720,
    minHeight: 480,
    title: 'Continuum Data Explorer',
    backgroundColor: nativeTheme.shouldUseDarkColors ? '#16181d' : '#ffffff',
    show: false,
    webPreferences: {
      preload: PRELOAD,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      spellcheck: false,
    },
  });
  windows.add(win);
  win.on('closed', () => windows.delete(win));
  win.once('ready-to-show', () => win.show());
  const contents = win.webContents;
  contents.setWindowOpenHandler(({ url }) => {
    openExternal(url);
    return { action: 'deny' };
  });
  contents.on('will-navigate', (e, url) => {
    if (!isAppUrl(url)) e.preventDefault();
  });
  contents.on('will-attach-webview', (e) => e.preventDefault());
  void win.loadFile(RENDERER);
  return win;
}

function openExternal(url: string): void {
  try {
    const u = new URL(url);
    if (u.protocol === 'https:' || u.protocol === 'http:') void shell.openExternal(u.toString());
  } catch {
    /* not a URL: ignore */
  }
}

app.on('web-contents-created', (_e, contents) => {
  contents.on('will-navigate', (e, url) => {
    if (!isAppUrl(url)) e.preventDefault();
  });
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
});

ipcMain.handle(BRIDGE_CHANNELS.reconnect, (e) => {
  // a window asks for its connection (on load, after a reload); only our own windows may ask
  if (!trusted(e)) return false;
  connectWindow(e.sender);
  return true;
});

/** only our own windows, loaded from our own files, may use the bridge */
function trusted(e: Electron.IpcMainInvokeEvent): BrowserWindow | null {
  const win = BrowserWindow.fromWebContents(e.sender);
  return win && windows.has(win) && isAppUrl(e.senderFrame?.url ?? '') ? win : null;
}

ipcMain.handle(BRIDGE_CHANNELS.openDialog, async (e) => {
  const win = trusted(e);
  if (!win) return [];
  const r = await dialog.showOpenDialog(win, {
    title: 'Open a dataset',
    properties: ['openFile', 'multiSelections'],
    filters: [
      { name: 'Data files', extensions: ['csv', 'tsv', 'txt', 'gz', 'parquet', 'arrow', 'feather', 'ipc', 'h5', 'hdf5', 'npy', 'npz', 'sqlite', 'sqlite3', 'db', 'json', 'ndjson', 'jsonl'] },
      { name: 'All files', extensions: ['*'] },
    ],
  });
  return r.canceled ? [] : r.filePaths;
});

// a path given on the command line (`cdx open PATH`, a file association) opens on start
let initialPaths = process.argv.slice(app.isPackaged ? 1 : 2).filter((a) => !a.startsWith('-') && existsSync(a) && a !== app.getAppPath());
ipcMain.handle(BRIDGE_CHANNELS.initialPaths, (e) => {
  if (!trusted(e)) return [];
  const p = initialPaths;
  initialPaths = [];
  return p;
});
app.on('open-file', (ev, p) => {
  ev.preventDefault();
  initialPaths.push(p);
});

void app.whenReady().then(() => {
  supervisor.start();
  createWindow();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow();
  });
});

app.on('before-quit', () => {
  void supervisor.stop();
});

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});

