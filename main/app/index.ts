/**
 * Electron main: thin. Windows, menus, the engine's utilityProcess and the MessagePort that
 * connects each window straight to it (bulk data never passes through main). Never touches user
 * data itself. Security: contextIsolation, sandbox, no nodeIntegration, CSP (index.html),
 * navigation and new windows denied, external links only http(s) and only through the OS browser.
 */
import { app, BrowserWindow, MessageChannelMain, dialog, ipcMain, nativeTheme, shell, utilityProcess, type UtilityProcess, type WebContents } from 'electron';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ENGINE_STATE_EVENT, type EngineStateEvent } from '../../shared/api';

const here = path.dirname(fileURLToPath(import.meta.url));
const ENGINE_ENTRY = path.join(here, 'engine.js');
const PRELOAD = path.join(here, '..', 'preload', 'index.cjs');
const RENDERER = path.join(here, '..', 'renderer', 'index.html');

let engine: UtilityProcess | null = null;
let engineState: EngineStateEvent = { state: 'starting' };
let restarts = 0;
let crashTimes: number[] = [];
const windows = new Set<BrowserWindow>();

function broadcastState(s: EngineStateEvent): void {
  engineState = s;
  for (const w of windows) if (!w.isDestroyed()) w.webContents.send('cdx:engine-state', s);
}

function connectWindow(contents: WebContents): void {
  if (!engine) return;
  const { port1, port2 } = new MessageChannelMain();
  engine.postMessage({ type: 'connect', id: `w${contents.id}` }, [port1]);
  contents.postMessage('cdx:engine-port', null, [port2]);
}

function startEngine(): void {
  const child = utilityProcess.fork(ENGINE_ENTRY, [], {
    serviceName: 'CDX engine',
    stdio: 'inherit',
    env: { ...process.env, CDX_HOME: process.env.CDX_HOME ?? app.getPath('userData'), CDX_ENGINE_HOST: 'electron' },
  });
  engine = child;
  broadcastState({ state: restarts ? 'restarting' : 'starting', restarts });
  child.on('message', (m: { type?: string }) => {
    if (m?.type === 'ready') {
      broadcastState({ state: 'ready', pid: child.pid, restarts });
      for (const w of windows) if (!w.isDestroyed()) connectWindow(w.webContents);
    }
  });
  child.on('exit', (code) => {
    if (engine !== child) return;
    engine = null;
    if (quitting) return;
    const now = Date.now();
    crashTimes = [...crashTimes.filter((t) => now - t < 30_000), now];
    if (crashTimes.length > 5) {
      broadcastState({ state: 'failed', reason: `The engine process exited with code ${code} ${crashTimes.length} times in a row; not restarting.` });
      return;
    }
    restarts++;
    broadcastState({ state: 'crashed', reason: `The engine process stopped (exit code ${code}); starting a new one.`, restarts });
    setTimeout(startEngine, 100 * crashTimes.length);
  });
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
  contents.on('did-finish-load', () => {
    contents.send('cdx:engine-state', engineState);
    if (engineState.state === 'ready') connectWindow(contents);
  });
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

let quitting = false;

app.on('web-contents-created', (_e, contents) => {
  contents.on('will-navigate', (e, url) => {
    if (!isAppUrl(url)) e.preventDefault();
  });
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
});

ipcMain.handle('cdx:reconnect', (e) => {
  // a window asks for a fresh port (after a reload); only our own windows may ask
  if (!trusted(e)) return false;
  if (engineState.state === 'ready') connectWindow(e.sender);
  return true;
});

/** only our own windows, loaded from our own files, may use the bridge */
function trusted(e: Electron.IpcMainInvokeEvent): BrowserWindow | null {
  const win = BrowserWindow.fromWebContents(e.sender);
  return win && windows.has(win) && isAppUrl(e.senderFrame?.url ?? '') ? win : null;
}

ipcMain.handle('cdx:open-dialog', async (e) => {
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
ipcMain.handle('cdx:initial-paths', (e) => {
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
  startEngine();
  createWindow();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow();
  });
});

app.on('before-quit', () => {
  quitting = true;
  engine?.kill();
});

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});

export { ENGINE_STATE_EVENT };
