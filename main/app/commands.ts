/**
 * The app's commands that the native menu carries, declared once for main (the menu, its
 * accelerators) and the preload (which hands a command to the page). No imports: the sandboxed
 * preload bundles this file.
 *
 * Each command is one of the renderer's own keyboard shortcuts (renderer/App.svelte's onKey), and
 * the preload delivers a menu command to the page as that very shortcut (a keydown on the page's
 * window), so one handler in the renderer serves the keyboard and the menu alike. A key pressed
 * while the page has focus is handled by the page first (it calls preventDefault, so Electron does
 * not fire the menu item's accelerator as well); a click on the menu item goes through the preload.
 */

export const MENU_COMMANDS = ['open', 'filter', 'view-summary', 'view-table', 'view-info', 'view-plot', 'view-group', 'add-column', 'join', 'close', 'databases', 'save-workspace', 'open-workspace'] as const;
export type MenuCommand = (typeof MENU_COMMANDS)[number];

export interface CommandSpec {
  label: string;
  /** Electron accelerator: CmdOrCtrl is Cmd on macOS, Ctrl elsewhere (App.svelte accepts either) */
  accelerator: string;
  /** the keydown the renderer's shortcut handler expects */
  key: { key: string; shiftKey?: boolean };
}

export const COMMANDS: Record<MenuCommand, CommandSpec> = {
  open: { label: 'Open…', accelerator: 'CmdOrCtrl+O', key: { key: 'o' } },
  filter: { label: 'Filter', accelerator: 'CmdOrCtrl+F', key: { key: 'f' } },
  'view-summary': { label: 'Summary', accelerator: 'CmdOrCtrl+1', key: { key: '1' } },
  'view-table': { label: 'Table', accelerator: 'CmdOrCtrl+2', key: { key: '2' } },
  'view-info': { label: 'Info', accelerator: 'CmdOrCtrl+3', key: { key: '3' } },
  'view-plot': { label: 'Plot', accelerator: 'CmdOrCtrl+4', key: { key: '4' } },
  'view-group': { label: 'Group', accelerator: 'CmdOrCtrl+5', key: { key: '5' } },
  'add-column': { label: 'Add Column…', accelerator: 'CmdOrCtrl+Shift+E', key: { key: 'E', shiftKey: true } },
  join: { label: 'Join…', accelerator: 'CmdOrCtrl+J', key: { key: 'j' } },
  close: { label: 'Close Dataset', accelerator: 'CmdOrCtrl+W', key: { key: 'w' } },
  databases: { label: 'Connections…', accelerator: 'CmdOrCtrl+Shift+D', key: { key: 'D', shiftKey: true } },
  'save-workspace': { label: 'Save Workspace…', accelerator: 'CmdOrCtrl+S', key: { key: 's' } },
  'open-workspace': { label: 'Open Workspace…', accelerator: 'CmdOrCtrl+Shift+O', key: { key: 'O', shiftKey: true } },
};

export function isMenuCommand(v: unknown): v is MenuCommand {
  return typeof v === 'string' && (MENU_COMMANDS as readonly string[]).includes(v);
}

// the desktop bridge's channels and shape live with the others in shared/bridge.ts (the page uses them)
export { DESKTOP_CHANNELS, DESKTOP_GLOBAL } from '../../shared/bridge';
import type { CdxDesktopBridge as Bridge } from '../../shared/bridge';
/** What the preload exposes as `window.cdxDesktop`, with this app's menu commands. */
export type CdxDesktopBridge = Bridge<MenuCommand>;
