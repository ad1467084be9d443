/**
 * The trust checks (trust.ts) with hostile URLs: the navigation guard, the IPC sender check, the
 * engine port's hand-over, the permission policy and external links. Regressions of the file://
 * check they replace: a malformed `%` escape threw before the navigation was prevented, a sibling
 * folder `renderer-evil` passed a prefix test, and on Windows no path ever matched.
 */
import { describe, expect, it } from 'vitest';
import { externalUrl, isAppUrl, isTrustedSender, mayReceiveEnginePort, permissionAllowed } from './trust';
import { APP_INDEX_URL } from './protocol';

const HOSTILE = [
  'cdx-app://app.evil/index.html',
  'cdx-app://evil/index.html',
  'cdx-app://evil.app/index.html',
  'cdx-app://app@evil/index.html',
  'cdx-app://evil@app/index.html',
  'cdx-app://app:1/index.html',
  'cdx-app:app/index.html',
  'cdx-appx://app/index.html',
  'xcdx-app://app/index.html',
  'file:///opt/cdx/out/renderer/index.html',
  'file:///opt/cdx/out/renderer-evil/index.html',
  'file:///C:/Program%20Files/CDX/resources/app.asar/out/renderer/index.html',
  'file:///C:/Program%20Files/CDX/resources/app.asar/out/renderer-evil/index.html',
  'file://C:\\Program Files\\CDX\\out\\renderer\\index.html',
  'file:///opt/cdx/out/renderer/%E0%A4%A',
  'file:///opt/cdx/out/renderer/%',
  'cdx-app://ap%E0%A4%A/',
  'cdx-app://%/',
  'data:text/html,<script>alert(1)</script>',
  'javascript:alert(1)',
  'http://app/index.html',
  'https://cdx-app.app/index.html',
  'http://127.0.0.1:5173/index.html',
  'about:blank',
  'blob:cdx-app://app/3c2e',
  '//app/index.html',
  '/index.html',
  '',
];

describe('isAppUrl', () => {
  it('trusts the app protocol, any path, query or fragment', () => {
    for (const u of [APP_INDEX_URL, 'cdx-app://app/', 'cdx-app://app/index.html?x=%E0%A4%A#dataset=abc', 'cdx-app://app/assets/x.js', 'CDX-APP://app/index.html']) expect(isAppUrl(u), u).toBe(true);
  });
  it('trusts nothing else, and never throws (malformed escapes, odd input)', () => {
    for (const u of HOSTILE) expect(isAppUrl(u), u).toBe(false);
    for (const v of [undefined, null, 42, {}, ['cdx-app://app/']]) expect(isAppUrl(v)).toBe(false);
  });
});

describe('isTrustedSender', () => {
  it('needs our own window, its top frame, showing the app', () => {
    expect(isTrustedSender({ ownWindow: true, isMainFrame: true, frameUrl: APP_INDEX_URL })).toBe(true);
    expect(isTrustedSender({ ownWindow: false, isMainFrame: true, frameUrl: APP_INDEX_URL })).toBe(false);
    expect(isTrustedSender({ ownWindow: true, isMainFrame: false, frameUrl: APP_INDEX_URL })).toBe(false);
    expect(isTrustedSender({ ownWindow: true, isMainFrame: true, frameUrl: null })).toBe(false);
    expect(isTrustedSender({ ownWindow: true, isMainFrame: true, frameUrl: undefined })).toBe(false);
    for (const u of HOSTILE) expect(isTrustedSender({ ownWindow: true, isMainFrame: true, frameUrl: u }), u).toBe(false);
  });
});

describe('mayReceiveEnginePort', () => {
  it('only a live window showing the app gets the engine port (not one still loading, or elsewhere)', () => {
    expect(mayReceiveEnginePort({ destroyed: false, url: APP_INDEX_URL })).toBe(true);
    expect(mayReceiveEnginePort({ destroyed: true, url: APP_INDEX_URL })).toBe(false);
    expect(mayReceiveEnginePort({ destroyed: false, url: '' })).toBe(false);
    for (const u of HOSTILE) expect(mayReceiveEnginePort({ destroyed: false, url: u }), u).toBe(false);
  });
});

describe('permissionAllowed', () => {
  const ALL = [
    'clipboard-read', 'display-capture', 'fullscreen', 'geolocation', 'idle-detection', 'media', 'mediaKeySystem', 'midi', 'midiSysex', 'notifications',
    'pointerLock', 'keyboardLock', 'openExternal', 'speaker-selection', 'storage-access', 'top-level-storage-access', 'window-management', 'unknown',
    'fileSystem', 'hid', 'serial', 'usb', 'bluetooth', 'background-sync', 'persistent-storage', '',
  ];
  it('denies every permission, from the app and from anywhere else', () => {
    for (const p of ALL) {
      expect(permissionAllowed(p, APP_INDEX_URL), p).toBe(false);
      for (const u of HOSTILE) expect(permissionAllowed(p, u), `${p} ${u}`).toBe(false);
      expect(permissionAllowed(p, undefined), p).toBe(false);
    }
  });
  it('lets only the app page write (never read) the clipboard: the table’s Copy', () => {
    expect(permissionAllowed('clipboard-sanitized-write', APP_INDEX_URL)).toBe(true);
    expect(permissionAllowed('clipboard-sanitized-write', 'cdx-app://app')).toBe(true); // a check handler's origin
    for (const u of HOSTILE) expect(permissionAllowed('clipboard-sanitized-write', u), u).toBe(false);
    expect(permissionAllowed('clipboard-sanitized-write', null)).toBe(false);
    expect(permissionAllowed('clipboard-read', APP_INDEX_URL)).toBe(false);
  });
});

describe('externalUrl', () => {
  it('passes http(s) links, normalised, and nothing else', () => {
    expect(externalUrl('https://example.com/a b')).toBe('https://example.com/a%20b');
    expect(externalUrl('http://example.com')).toBe('http://example.com/');
    for (const u of ['file:///etc/passwd', 'javascript:alert(1)', 'data:text/html,x', 'cdx-app://app/', 'smb://host/share', 'https://user:pw@example.com/', 'http://%', 'mailto:a@b.c', '', undefined]) {
      expect(externalUrl(u), String(u)).toBe(null);
    }
  });
});
