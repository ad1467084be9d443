/**
 * Electron main: thin. Windows, menus, the engine's utilityProcess (kept running by the one
 * supervisor, main/engine/supervisor.ts: restarts, back-off, watchdog) and the MessagePort that
 * connects each window straight to it (bulk data never passes through main). Engine state reaches
 * a window only as the contract's ENGINE_STATE_EVENT, on a host port handed over beside the engine
 * port (shared/bridge.ts). Never touches user data itself. Security: contextIsolation, sandbox,
 * no nodeIntegration; the renderer served from the app protocol `cdx-app://app/` (protocol.ts: only
 * the renderer build, each file with web mode's headers, the page's CSP and the plot worker's own);
 * every permission refused but the page's clipboard writes (trust.ts); navigation and new windows
 * denied; the bridge, the engine port and menu commands only for our own windows showing the app
 * (trust.ts: scheme and host compared as parsed values); external links only http(s), only through
 * the OS browser. Desktop: one instance (a second launch hands its files over), files from argv and
 * macOS open-file, recent documents, the native menu (desktop.ts, menu.ts, commands.ts).
 */
import { app, BrowserWindow, Menu, MessageChannelMain, dialog, ipcMain, nativeTheme, protocol, safeStorage, session, shell, utilityProcess, type MessagePortMain, type UtilityProcess, type WebContents } from 'electron';
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { readFile, realpath } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ENGINE_STATE_EVENT, type EngineApi, type EngineStateEvent } from '../../shared/api';
import { BRIDGE_CHANNELS, SECRET_CHANNELS } from '../../shared/bridge';
import { RpcClient, type Client, type WireMessage } from '../../shared/rpc';
import { encodeFrame } from '../../shared/wire';
import { framePortFromElectronPort, isEngineControl, type EngineControl, type HostControl } from '../engine/channel';
import { engineEntry } from '../engine/entry';
import { EngineSupervisor, type EngineProcess } from '../engine/supervisor';
import { APP_INDEX_URL, APP_SCHEME, APP_SCHEME_PRIVILEGES, createAppProtocolHandler } from './protocol';
import { externalUrl, isAppUrl, isTrustedSender, mayReceiveEnginePort, permissionAllowed } from './trust';
import { FALLBACK_FORMATS, OpenRequests, dialogFilters, pathsFromArgv, secondInstance, type OpenTarget, type ReaderFormatInfo } from './desktop';
import { DESKTOP_CHANNELS } from './commands';
import { menuTemplate } from './menu';

const here = path.dirname(fileURLToPath(import.meta.url));
const PRELOAD = path.join(here, '..', 'preload', 'index.cjs');
const RENDERER_DIR = path.join(here, '..', 'renderer');

// before `ready`, or the scheme is not standard and secure (relative URLs, origin, secure context)
protocol.registerSchemesAsPrivileged([APP_SCHEME_PRIVILEGES]);

// one instance: a second launch hands its files to this one (second-instance below) and quits
const primary = app.requestSingleInstanceLock();
if (!primary) app.quit();

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
  connectMain(engine);
  // a window still loading gets its ports when its page asks (reconnect), after the same check
  for (const w of windows) if (mayReceiveEnginePort({ destroyed: w.isDestroyed(), url: w.isDestroyed() ? '' : w.webContents.getURL() })) connectWindow(w.webContents);
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
let engineApi: Client<EngineApi> | null = null;
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

/**
 * main's own connection to a (new) engine: every kept password handed to it, and the readers'
 * formats asked for the Open dialog
 */
function connectMain(engine: UtilityEngine): void {
  const { port1, port2 } = new MessageChannelMain();
  engine.connect('app-main', port1);
  const api = new RpcClient<EngineApi>(framePortFromElectronPort(port2)).api;
  engineApi = api;
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
  const api = engineApi;
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
  // the engine port is the way to the user's data: only for a page that shows the app
  if (!mayReceiveEnginePort({ destroyed: contents.isDestroyed(), url: contents.isDestroyed() ? '' : contents.getURL() })) return;
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
  // a page loading again has not asked for its paths yet: hold them until it does
  contents.on('did-start-loading', () => requests.lost(targetOf(win)));
  win.once('closed', () => requests.lost(targetOf(win)));
  void win.loadURL(APP_INDEX_URL);
  return win;
}

function openExternal(url: string): void {
  const u = externalUrl(url);
  if (u) void shell.openExternal(u);
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

/** only our own windows, their top frame showing the app, may use the bridge */
function trusted(e: Electron.IpcMainInvokeEvent): BrowserWindow | null {
  const win = BrowserWindow.fromWebContents(e.sender);
  const frame = e.senderFrame;
  return win && isTrustedSender({ ownWindow: windows.has(win), isMainFrame: !!frame && frame.parent === null, frameUrl: frame?.url }) ? win : null;
}

ipcMain.handle(BRIDGE_CHANNELS.openDialog, async (e) => {
  const win = trusted(e);
  if (!win) return [];
  const r = await dialog.showOpenDialog(win, {
    title: 'Open a dataset',
    properties: ['openFile', 'multiSelections'],
    filters: dialogFilters(await readerFormats(), process.platform),
  });
  if (r.canceled) return [];
  for (const p of r.filePaths) app.addRecentDocument(p);
  return r.filePaths;
});

/** the readers' formats, from the engine (the registry); the associated types while none answers */
let formatsKnown: ReaderFormatInfo[] | null = null;
async function readerFormats(): Promise<readonly ReaderFormatInfo[]> {
  if (formatsKnown) return formatsKnown;
  const api = engineApi;
  if (!api) return FALLBACK_FORMATS;
  let timer: NodeJS.Timeout | undefined;
  try {
    // an engine that is busy or hung must not hold the dialog back
    const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), 1500)));
    const got = await Promise.race([api.readerFormats({}), late]);
    if (got && got.length) formatsKnown = got;
  } catch {
    /* an engine without readerFormats, or restarting: the fallback */
  } finally {
    clearTimeout(timer);
  }
  return formatsKnown ?? FALLBACK_FORMATS;
}

/**
 * Files handed to the app (argv on start and on a second launch, macOS open-file, also before
 * ready) wait in `requests` until the window's page asks for them (initialPaths), and then go
 * straight to it (desktop.ts). Each goes to the OS's recent documents.
 */
const targets = new WeakMap<BrowserWindow, OpenTarget>();
function targetOf(win: BrowserWindow): OpenTarget {
  let t = targets.get(win);
  if (!t) {
    t = {
      send: (paths) => {
        if (!win.isDestroyed() && isAppUrl(win.webContents.getURL())) win.webContents.send(DESKTOP_CHANNELS.openPaths, paths);
      },
      reload: () => void (!win.isDestroyed() && win.webContents.reload()),
      focus: () => {
        if (win.isDestroyed()) return;
        if (win.isMinimized()) win.restore();
        win.show();
        win.focus();
      },
    };
    targets.set(win, t);
  }
  return t;
}

function mainWindow(): BrowserWindow | null {
  const focused = BrowserWindow.getFocusedWindow();
  if (focused && windows.has(focused)) return focused;
  for (const w of windows) if (!w.isDestroyed()) return w;
  return null;
}

const requests = new OpenRequests({
  addRecent: (p) => app.addRecentDocument(p),
  target: () => {
    const w = mainWindow();
    return w ? targetOf(w) : null;
  },
  createWindow: () => void createWindow(),
});

const isFile = (p: string): boolean => {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
};
const argvContext = () => ({ platform: process.platform, isPackaged: app.isPackaged, appPath: app.getAppPath(), isFile });

ipcMain.handle(BRIDGE_CHANNELS.initialPaths, (e) => {
  const win = trusted(e);
  return win ? requests.take(targetOf(win)) : [];
});
ipcMain.handle(DESKTOP_CHANNELS.listening, (e) => {
  const win = trusted(e);
  if (win) requests.listen(targetOf(win));
});

if (primary) {
  // a path given on the command line (`cdx open PATH`, a file association) opens on start
  requests.add(pathsFromArgv(process.argv, { ...argvContext(), cwd: process.cwd() }), { ready: false });
  app.on('open-file', (ev, p) => {
    ev.preventDefault();
    requests.add([p], { focus: true, ready: app.isReady() });
  });
  app.on('second-instance', (_e, argv, workingDirectory) => {
    if (!app.isReady()) return void requests.add(pathsFromArgv(argv, { ...argvContext(), cwd: workingDirectory }), { ready: false });
    secondInstance(requests, argv, workingDirectory, argvContext());
  });

  void app.whenReady().then(() => {
    // no permission for any page (camera, microphone, location, notifications, devices …) but the
    // app page's clipboard writes (trust.ts)
    const ses = session.defaultSession;
    ses.setPermissionRequestHandler((_wc, permission, callback, details) => callback(permissionAllowed(permission, details.requestingUrl)));
    ses.setPermissionCheckHandler((_wc, permission, origin, details) => permissionAllowed(permission, details.requestingUrl ?? origin));
    ses.setDevicePermissionHandler(() => false);
    protocol.handle(APP_SCHEME, createAppProtocolHandler({ root: RENDERER_DIR, fs: { readFile, realpath } }));
    Menu.setApplicationMenu(
      Menu.buildFromTemplate(
        menuTemplate({
          platform: process.platform,
          isPackaged: app.isPackaged,
          send: (command, w) => {
            const win = w instanceof BrowserWindow ? w : BrowserWindow.getFocusedWindow();
            if (win && windows.has(win) && !win.isDestroyed() && isAppUrl(win.webContents.getURL())) win.webContents.send(DESKTOP_CHANNELS.command, command);
          },
        }),
      ),
    );
    supervisor.start();
    createWindow();
    app.on('activate', () => {
      if (BrowserWindow.getAllWindows().length === 0) createWindow();
    });
  });
}

app.on('before-quit', () => {
  void supervisor.stop();
});

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});

