/**
 * The native menu's template (menu.ts): every command the renderer has a shortcut for is there with
 * that shortcut as its accelerator, a click sends that command to the window it was made in, no
 * two items share an accelerator, and the commands' keys are the ones renderer/App.svelte handles.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { BaseWindow, MenuItemConstructorOptions } from 'electron';
import { menuTemplate } from './menu';
import { COMMANDS, MENU_COMMANDS, isMenuCommand, type MenuCommand } from './commands';

function items(t: MenuItemConstructorOptions[]): MenuItemConstructorOptions[] {
  return t.flatMap((i) => [i, ...(Array.isArray(i.submenu) ? items(i.submenu) : [])]);
}

const EXPECTED: Record<MenuCommand, string> = {
  open: 'CmdOrCtrl+O', filter: 'CmdOrCtrl+F', 'view-summary': 'CmdOrCtrl+1', 'view-table': 'CmdOrCtrl+2', 'view-info': 'CmdOrCtrl+3',
  'view-plot': 'CmdOrCtrl+4', 'view-group': 'CmdOrCtrl+5', 'add-column': 'CmdOrCtrl+Shift+E', join: 'CmdOrCtrl+J', close: 'CmdOrCtrl+W', databases: 'CmdOrCtrl+Shift+D',
  'save-workspace': 'CmdOrCtrl+S', 'open-workspace': 'CmdOrCtrl+Shift+O',
};

describe('menuTemplate', () => {
  for (const platform of ['darwin', 'win32', 'linux']) {
    it(`${platform}: each command once, with its accelerator; a click sends it to the window`, () => {
      const sent: [MenuCommand, BaseWindow | undefined][] = [];
      const t = menuTemplate({ platform, isPackaged: true, send: (c, w) => void sent.push([c, w]) });
      const all = items(t);
      const win = { id: 7 } as unknown as BaseWindow;
      for (const c of MENU_COMMANDS) {
        const found = all.filter((i) => i.id === c);
        expect(found.length, c).toBe(1);
        expect(found[0]!.accelerator, c).toBe(EXPECTED[c]);
        (found[0]!.click as (i: unknown, w: BaseWindow | undefined, e: unknown) => void)({}, win, {});
        expect(sent.at(-1)).toEqual([c, win]);
      }
      // no accelerator twice (the 'windowMenu' role's Close Window on Ctrl+W is left out for this)
      const accels = all.map((i) => i.accelerator).filter(Boolean);
      expect(new Set(accels).size).toBe(accels.length);
      expect(all.some((i) => i.role === 'close' || i.role === 'windowMenu' || i.role === 'fileMenu')).toBe(false);
      expect(all.some((i) => i.role === 'editMenu')).toBe(true);
      expect(all.some((i) => i.role === 'appMenu')).toBe(platform === 'darwin');
      expect(all.some((i) => i.role === 'quit')).toBe(platform !== 'darwin');
      expect(all.some((i) => i.role === 'toggleDevTools')).toBe(false);
    });
  }

  it('developer items only in an unpackaged build', () => {
    const all = items(menuTemplate({ platform: 'linux', isPackaged: false, send: () => undefined }));
    expect(all.some((i) => i.role === 'toggleDevTools')).toBe(true);
  });

  it('the keys the preload sends for each command are the shortcuts renderer/App.svelte handles', () => {
    const app = readFileSync(path.join(__dirname, '..', '..', 'renderer', 'App.svelte'), 'utf8');
    for (const c of MENU_COMMANDS) {
      const { key, shiftKey } = COMMANDS[c].key;
      expect(app.includes(`e.key === '${key}'`), `${c}: ${key}`).toBe(true);
      // the accelerator and the key agree
      expect(EXPECTED[c].toLowerCase().endsWith(`+${key.toLowerCase()}`), c).toBe(true);
      expect(EXPECTED[c].includes('Shift'), c).toBe(!!shiftKey);
    }
    expect(isMenuCommand('open')).toBe(true);
    expect(isMenuCommand('rm -rf')).toBe(false);
    expect(isMenuCommand(undefined)).toBe(false);
  });
});
