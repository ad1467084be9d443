/**
 * The native application menu: File (Open, Databases, Open/Save Workspace, Close Dataset), Edit (the OS's own editing
 * roles, which macOS needs for copy and paste in text fields), View (the views, Filter, Add Column…, Join…) and
 * Window, with the renderer's keyboard shortcuts as accelerators (commands.ts). A click sends the
 * command to the window it was made in (the focused one); index.ts checks that window before it
 * sends. Built as a plain template, so its items and accelerators are tested without Electron.
 */
import type { BaseWindow, MenuItemConstructorOptions } from 'electron';
import { COMMANDS, type MenuCommand } from './commands';

export interface MenuDeps {
  platform: string;
  /** deliver a command to the window the menu was used in (undefined: no window has focus) */
  send(command: MenuCommand, window: BaseWindow | undefined): void;
  /** developer items (reload, devtools) only outside a packaged build */
  isPackaged: boolean;
}

export function menuTemplate(deps: MenuDeps): MenuItemConstructorOptions[] {
  const mac = deps.platform === 'darwin';
  const item = (command: MenuCommand): MenuItemConstructorOptions => ({
    id: command,
    label: COMMANDS[command].label,
    accelerator: COMMANDS[command].accelerator,
    click: (_item, window) => deps.send(command, window),
  });
  const sep: MenuItemConstructorOptions = { type: 'separator' };
  const template: MenuItemConstructorOptions[] = [];
  if (mac) template.push({ role: 'appMenu' });
  template.push({
    label: '&File',
    submenu: [item('open'), item('databases'), sep, item('open-workspace'), item('save-workspace'), sep, item('close'), ...(mac ? [] : [sep, { role: 'quit' } as MenuItemConstructorOptions])],
  });
  template.push({ role: 'editMenu' });
  template.push({
    label: '&View',
    submenu: [
      item('view-summary'), item('view-table'), item('view-info'), item('view-plot'), item('view-group'), sep, item('filter'), item('add-column'), item('join'),
      ...(deps.isPackaged ? [] : [sep, { role: 'reload' } as MenuItemConstructorOptions, { role: 'toggleDevTools' } as MenuItemConstructorOptions]),
      sep,
      { role: 'togglefullscreen' },
    ],
  });
  // not the 'windowMenu' role: off macOS it holds Close Window on Ctrl+W, which is Close Dataset here
  template.push({
    label: '&Window',
    submenu: mac ? [{ role: 'minimize' }, { role: 'zoom' }, sep, { role: 'front' }] : [{ role: 'minimize' }],
  });
  return template;
}
