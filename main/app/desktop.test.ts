/**
 * Desktop integration logic (desktop.ts) with Electron's objects faked at the edge: which argv
 * entries are files (flags, `--`, the app path, relative paths against the launching directory,
 * Windows paths, file:// URLs), the hand-over of paths to the window (queued before ready and until
 * the page asks, pushed or reloaded after, focus on a second launch, a window opened when none is
 * left), the file association list and the Open dialog's filters from the reader registry.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { FALLBACK_FORMATS, FILE_ASSOCIATION_EXTENSIONS, OpenRequests, dialogFilters, pathsFromArgv, secondInstance, type OpenTarget } from './desktop';
import { providers } from '../engine/sources/registry';

let dir: string;
const isFile = (p: string) => {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
};

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cdx-desk-'));
  mkdirSync(path.join(dir, 'data'));
  for (const f of ['a.csv', 'b c.parquet', '-dash.csv', 'data/x.npy']) writeFileSync(path.join(dir, f), 'x');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('pathsFromArgv', () => {
  const pkg = { platform: 'linux', isPackaged: true, isFile };
  it('packaged: skips the executable and flags, resolves relative paths against the launch directory', () => {
    const argv = ['/opt/CDX/cdx', '--no-sandbox', '-psn_0_1234', '--enable-features=X', 'a.csv', 'data/x.npy', path.join(dir, 'b c.parquet'), 'missing.csv', 'data'];
    expect(pathsFromArgv(argv, { ...pkg, cwd: dir })).toEqual([path.join(dir, 'a.csv'), path.join(dir, 'data', 'x.npy'), path.join(dir, 'b c.parquet')]);
  });
  it('after `--` every argument is a path, even one that starts with a dash', () => {
    expect(pathsFromArgv(['/opt/CDX/cdx', '--', '-dash.csv', '--'], { ...pkg, cwd: dir })).toEqual([path.join(dir, '-dash.csv')]);
    expect(pathsFromArgv(['/opt/CDX/cdx', '-dash.csv'], { ...pkg, cwd: dir })).toEqual([]);
  });
  it('unpackaged: the first plain argument is the app (`electron . file`), and the app path never opens', () => {
    const ctx = { platform: 'linux', isPackaged: false, appPath: dir, isFile: () => true, cwd: dir };
    expect(pathsFromArgv(['electron', '--inspect=0', '.', 'a.csv'], ctx)).toEqual([path.join(dir, 'a.csv')]);
    expect(pathsFromArgv(['electron', '.', dir, './a.csv', 'a.csv'], ctx)).toEqual([path.join(dir, 'a.csv')]);
  });
  it('file:// URLs (a desktop entry’s %U) become paths; duplicates open once', () => {
    const u = pathToFileURL(path.join(dir, 'b c.parquet')).href;
    expect(pathsFromArgv(['cdx', u, u, 'file://%zz'], { ...pkg, cwd: '/' })).toEqual([path.join(dir, 'b c.parquet')]);
  });
  it('Windows: drive and UNC paths stay as they are, relative ones resolve against the second instance’s directory', () => {
    const seen: string[] = [];
    const ctx = { platform: 'win32', isPackaged: true, cwd: 'D:\\work', isFile: (p: string) => (seen.push(p), true) };
    const argv = ['C:\\Program Files\\CDX\\CDX.exe', '--allow-file-access-from-files', 'C:\\data\\a.csv', 'sub\\b.parquet', '..\\c.npy', '\\\\server\\share\\d.h5', 'e.db'];
    const want = ['C:\\data\\a.csv', 'D:\\work\\sub\\b.parquet', 'D:\\c.npy', '\\\\server\\share\\d.h5', 'D:\\work\\e.db'];
    expect(pathsFromArgv(argv, ctx)).toEqual(want);
    expect(seen).toEqual(want);
  });
});

/** a window, as the hand-over sees it, recording what happens to it */
function fakeWindow(log: string[], name: string): OpenTarget {
  return { send: (p) => void log.push(`${name} send ${p.join(',')}`), reload: () => void log.push(`${name} reload`), focus: () => void log.push(`${name} focus`) };
}

describe('OpenRequests (the hand-over)', () => {
  function setup() {
    const log: string[] = [];
    const recent: string[] = [];
    let win: OpenTarget | null = null;
    const req = new OpenRequests({ addRecent: (p) => void recent.push(p), target: () => win, createWindow: () => void log.push('create') });
    return { log, recent, req, setWin: (w: OpenTarget | null) => (win = w) };
  }

  it('queues paths before ready (open-file, argv) and gives them to the page when it asks, once', () => {
    const { log, recent, req, setWin } = setup();
    req.add(['/a.csv'], { ready: false });
    req.add(['/b.csv'], { ready: false, focus: true });
    expect(log).toEqual([]);
    const w = fakeWindow(log, 'w');
    setWin(w);
    expect(req.take(w)).toEqual(['/a.csv', '/b.csv']);
    expect(req.take(w)).toEqual([]);
    expect(recent).toEqual(['/a.csv', '/b.csv']);
  });

  it('after ready, while the page has not asked yet, paths wait (no reload of a loading page)', () => {
    const { log, req, setWin } = setup();
    const w = fakeWindow(log, 'w');
    setWin(w);
    req.add(['/a.csv'], { focus: true });
    expect(log).toEqual(['w focus']);
    expect(req.take(w)).toEqual(['/a.csv']);
  });

  it('a second launch focuses the running window and pushes its files to a page that listens', () => {
    const { log, recent, req, setWin } = setup();
    const w = fakeWindow(log, 'w');
    setWin(w);
    req.take(w);
    req.listen(w);
    const got = secondInstance(req, ['/opt/CDX/cdx', '--flag', 'a.csv', 'nope.csv'], dir, { platform: 'linux', isPackaged: true, isFile });
    expect(got).toEqual([path.join(dir, 'a.csv')]);
    expect(log).toEqual(['w focus', `w send ${path.join(dir, 'a.csv')}`]);
    expect(recent).toEqual([path.join(dir, 'a.csv')]);
    expect(req.waiting).toEqual([]);
  });

  it('a second launch without files still brings the window to the front', () => {
    const { log, req, setWin } = setup();
    const w = fakeWindow(log, 'w');
    setWin(w);
    req.take(w);
    secondInstance(req, ['/opt/CDX/cdx'], dir, { platform: 'linux', isPackaged: true, isFile });
    expect(log).toEqual(['w focus']);
  });

  it('a page that took its paths but does not listen is reloaded and takes the new ones', () => {
    const { log, req, setWin } = setup();
    const w = fakeWindow(log, 'w');
    setWin(w);
    req.take(w);
    req.add(['/n.csv'], { focus: true });
    expect(log).toEqual(['w focus', 'w reload']);
    // more arrive while it reloads: they wait with the first, no second reload
    req.add(['/m.csv']);
    expect(log).toEqual(['w focus', 'w reload']);
    expect(req.take(w)).toEqual(['/n.csv', '/m.csv']);
  });

  it('a page loading again (or closed) stops getting pushes until it asks', () => {
    const { log, req, setWin } = setup();
    const w = fakeWindow(log, 'w');
    setWin(w);
    req.take(w);
    req.listen(w);
    req.lost(w);
    req.add(['/a.csv']);
    expect(log).toEqual([]);
    expect(req.take(w)).toEqual(['/a.csv']);
  });

  it('with no window left (macOS), a file opened from the Finder opens a window that takes it', () => {
    const { log, req, setWin } = setup();
    req.add(['/a.csv'], { focus: true });
    expect(log).toEqual(['create']);
    const w = fakeWindow(log, 'w');
    setWin(w);
    expect(req.take(w)).toEqual(['/a.csv']);
  });

  it('pushes go to the window that listens, not another', () => {
    const { log, req, setWin } = setup();
    const a = fakeWindow(log, 'a');
    const b = fakeWindow(log, 'b');
    req.take(a);
    req.listen(a);
    setWin(b);
    req.add(['/x.csv']);
    expect(log).toEqual([]);
    expect(req.take(b)).toEqual(['/x.csv']);
  });
});

describe('file types', () => {
  it('associates the issue’s extensions, each one a reader opens', () => {
    expect([...FILE_ASSOCIATION_EXTENSIONS].sort()).toEqual(['arrow', 'csv', 'db', 'feather', 'h5', 'hdf5', 'json', 'ndjson', 'npy', 'npz', 'parquet', 'sqlite', 'tsv']);
    const read = new Set(providers.flatMap((p) => p.extensions));
    for (const e of FILE_ASSOCIATION_EXTENSIONS) expect(read.has(e), e).toBe(true);
  });

  it('the Open dialog offers every reader’s extensions, all together, per format, then all files', () => {
    const formats = providers.map((p) => ({ format: p.format, extensions: p.extensions }));
    const f = dialogFilters(formats, 'linux');
    expect(f[0]!.name).toBe('Data files');
    expect(new Set(f[0]!.extensions)).toEqual(new Set(providers.flatMap((p) => p.extensions)));
    expect(f.at(-1)).toEqual({ name: 'All files', extensions: ['*'] });
    expect(f.slice(1, -1).map((x) => x.extensions)).toEqual(providers.map((p) => [...new Set(p.extensions)]));
    expect(f.find((x) => x.name === 'Parquet')!.extensions).toContain('parquet');
    // macOS matches the last part of a name: csv.gz is offered as gz there
    const mac = dialogFilters(formats, 'darwin');
    expect(mac[0]!.extensions).toContain('gz');
    expect(mac[0]!.extensions.some((e) => e.includes('.'))).toBe(false);
    // without an engine: the associated types
    expect(dialogFilters(FALLBACK_FORMATS, 'win32')[0]!.extensions).toEqual([...FILE_ASSOCIATION_EXTENSIONS]);
  });
});
