/**
 * The Electron bridge, declared once: what the sandboxed preload (main/app/preload.ts) exposes to
 * the renderer as `window.cdxHost`, and the names of the IPC channels between Electron's main and
 * the preload. The preload is typed against `CdxHostBridge` (`satisfies`), main uses the channel
 * names, the renderer uses the type (renderer/lib/transport.ts).
 *
 * Engine state is not part of the bridge: it travels only as the contract's ENGINE_STATE_EVENT on
 * the window's engine connection (main hands the window a host port beside the engine port and
 * sends the event frames there; see main/app/index.ts).
 */

/** IPC channel names (main <-> preload). */
export const BRIDGE_CHANNELS = {
  /** main -> preload: the window's connection, ports [host, engine?] (engine absent while none is running) */
  enginePorts: 'cdx:engine-ports',
  /** preload -> main (invoke): hand this window a fresh connection */
  reconnect: 'cdx:reconnect',
  /** preload -> main (invoke): File › Open, the OS dialog */
  openDialog: 'cdx:open-dialog',
  /** preload -> main (invoke): paths given to the app on start, once */
  initialPaths: 'cdx:initial-paths',
} as const;

/**
 * The `window.postMessage` the preload uses to hand the ports to the page (contextBridge cannot
 * pass MessagePorts). `ports[0]` is the host port, `ports[1]` the engine port when `engine` is true.
 */
export interface EnginePortsMessage {
  type: typeof BRIDGE_CHANNELS.enginePorts;
  engine: boolean;
}

/** What the preload exposes to the renderer as `window.cdxHost`. */
export interface CdxHostBridge {
  kind: 'electron';
  platform: string;
  /** ask main for a fresh connection to the engine (the ports arrive as an EnginePortsMessage) */
  reconnect(): Promise<boolean>;
  /** File › Open: the OS dialog; resolves the chosen paths ([] when cancelled) */
  openDialog(): Promise<string[]>;
  /** the real path of a file dropped on the window */
  pathForFile(file: File): string;
  /** paths given to the app (command line, file association, `cdx open`), once */
  initialPaths(): Promise<string[]>;
}

/** The name under which the preload exposes the bridge. */
export const BRIDGE_GLOBAL = 'cdxHost';

/**
 * Database passwords the desktop app keeps (Electron safeStorage: encrypted with the OS's key, in a
 * file in the app's userData; main/app/index.ts) and hands to the engine with setSecret. Exposed by
 * the preload as its own global, beside `cdxHost`, so that the host bridge stays as it is.
 */
export const SECRET_CHANNELS = {
  /** preload -> main (invoke): can the app keep passwords here (safeStorage with a real OS key)? */
  available: 'cdx:secrets-available',
  /** preload -> main (invoke): keep (url, password) and hand it to the engine */
  keep: 'cdx:secrets-keep',
  /** preload -> main (invoke): forget the password kept for url */
  forget: 'cdx:secrets-forget',
} as const;

export interface CdxSecretsBridge {
  /** false where the OS offers no encryption (the engine's keychain / session handling applies then) */
  available(): Promise<boolean>;
  /** encrypts and keeps the password of a connection URL (no secret in it) and gives it to the engine; false when it could not */
  keep(url: string, password: string): Promise<boolean>;
  forget(url: string): Promise<void>;
}

/** The name under which the preload exposes the secrets bridge. */
export const SECRETS_GLOBAL = 'cdxSecrets';

/**
 * IPC channels of the desktop integration (main <-> preload): menu commands and files handed to
 * the running app (a second launch, macOS open-file). The page reaches them through the preload's
 * `cdxDesktop` global, beside `cdxHost`.
 */
export const DESKTOP_CHANNELS = {
  /** main -> preload: a menu command for this window */
  command: 'cdx:menu-command',
  /** main -> preload: paths handed to the running app (a second launch, macOS open-file) */
  openPaths: 'cdx:open-paths',
  /** preload -> main (invoke): the page listens for openPaths itself (no reload needed to hand them over) */
  listening: 'cdx:open-paths-listening',
} as const;

/** What the preload exposes as `window.cdxDesktop` (the renderer may use it; it need not). */
export interface CdxDesktopBridge<Command extends string = string> {
  /** paths handed to the running app after start; registering also tells main the page listens */
  onOpenPaths(listener: (paths: string[]) => void): void;
  /** menu commands; while none is registered they arrive as the matching keyboard shortcut */
  onCommand(listener: (command: Command) => void): void;
}

export const DESKTOP_GLOBAL = 'cdxDesktop';
