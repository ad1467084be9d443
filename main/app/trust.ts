/**
 * Who the app trusts, decided in one place: a URL is the app's own when its parsed scheme and host
 * are the app protocol's (protocol.ts) — compared as parsed values, never as string prefixes, so a
 * sibling folder (`renderer-evil`), a look-alike host (`app.evil`), credentials or a port, and the
 * platform's path spelling (Windows drive letters, backslashes) play no part. Parsing is inside
 * try/catch: a malformed URL or `%` escape is simply not trusted, it never throws past a check that
 * must prevent a navigation. Pure (Electron's objects are reduced to the values the checks need).
 */
import { APP_HOST, APP_SCHEME } from './protocol';

/** true only for `cdx-app://app/…` (no user, password or port) */
export function isAppUrl(url: unknown): boolean {
  if (typeof url !== 'string' || !url) return false;
  try {
    const u = new URL(url);
    return u.protocol === `${APP_SCHEME}:` && u.host === APP_HOST && !u.username && !u.password;
  } catch {
    return false;
  }
}

/**
 * An IPC sender may use the bridge when it is one of our own windows, the message comes from that
 * window's top frame, and the frame shows the app (not a page it was navigated to).
 */
export function isTrustedSender(s: { ownWindow: boolean; isMainFrame: boolean; frameUrl: string | undefined | null }): boolean {
  return s.ownWindow && s.isMainFrame && isAppUrl(s.frameUrl);
}

/**
 * A window gets an engine port (the way to the user's data) only while it shows the app; a window
 * still loading (empty URL) gets its port when its page asks (reconnect), after the same check.
 */
export function mayReceiveEnginePort(w: { destroyed: boolean; url: string }): boolean {
  return !w.destroyed && isAppUrl(w.url);
}

/**
 * Permission requests and checks (camera, microphone, geolocation, notifications, MIDI, HID,
 * serial, clipboard reading, fullscreen, …): all refused. The one exception is writing to the
 * clipboard from the app's own page (the table's Copy, renderer/views/TableView.svelte, uses
 * navigator.clipboard.writeText, which Chromium gates by the 'clipboard-sanitized-write'
 * permission): sanitized text the page itself chose, never reading the clipboard back.
 */
export function permissionAllowed(permission: string, requestingUrl: string | undefined | null): boolean {
  return permission === 'clipboard-sanitized-write' && isAppUrl(requestingUrl);
}

/** Links the page opens go to the OS browser only when they are http(s) and carry no credentials. */
export function externalUrl(url: unknown): string | null {
  if (typeof url !== 'string') return null;
  try {
    const u = new URL(url);
    if ((u.protocol !== 'https:' && u.protocol !== 'http:') || u.username || u.password) return null;
    return u.toString();
  } catch {
    return null;
  }
}
