/**
 * The UI's remembered preferences (the last folder exported to, the last folder browsed), as a
 * Svelte 5 rune class. In web mode they are kept by the web host (GET / PUT /prefs): they name the
 * host's folders, and the page's origin changes with the port `cdx serve` picks, so the browser's
 * own storage would forget them between sessions. In the desktop app the window's localStorage
 * keeps them. Reading before `load()` has finished gives undefined; writes are fire-and-forget (a
 * preference that could not be saved is only a default the user types again).
 */
import { electronHost } from './transport';

/** sqlHistory: the SQL editor's last queries per connection (JSON, lib/dburl.ts) */
export type PrefKey = 'exportDir' | 'browseDir' | 'sqlHistory';

const LOCAL_PREFIX = 'cdx.pref.';

export class Prefs {
  private values = $state<Partial<Record<PrefKey, string>>>({});
  loaded = $state(false);
  private loading: Promise<void> | null = null;

  constructor(private readonly web: boolean) {}

  get(key: PrefKey): string | undefined {
    return this.values[key];
  }

  /** loads once (later calls share the first) */
  load(): Promise<void> {
    this.loading ??= (async () => {
      try {
        if (this.web) {
          const r = await fetch('/prefs', { cache: 'no-store' });
          if (r.ok) {
            const v = (await r.json()) as Record<string, unknown>;
            for (const [k, x] of Object.entries(v)) if (typeof x === 'string') this.values[k as PrefKey] = x;
          }
        } else {
          for (const k of ['exportDir', 'browseDir', 'sqlHistory'] as PrefKey[]) {
            const x = localStorage.getItem(LOCAL_PREFIX + k);
            if (x !== null) this.values[k] = x;
          }
        }
      } catch {
        /* no preferences: the defaults apply */
      } finally {
        this.loaded = true;
      }
    })();
    return this.loading;
  }

  set(key: PrefKey, value: string): void {
    if (this.values[key] === value) return;
    this.values[key] = value;
    try {
      if (this.web) void fetch('/prefs', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ [key]: value }) }).catch(() => undefined);
      else localStorage.setItem(LOCAL_PREFIX + key, value);
    } catch {
      /* kept for this session only */
    }
  }
}

/** the window's preferences */
export const prefs = new Prefs(typeof window !== 'undefined' && !electronHost());

/** the folder part of a host path (either separator), or '' for a bare name */
export function folderOf(p: string): string {
  const file = p.replace(/::.*$/, '');
  const i = Math.max(file.lastIndexOf('/'), file.lastIndexOf('\\'));
  return i < 0 ? '' : i === 0 ? file.slice(0, 1) : file.slice(0, i);
}

/** `dir` joined with `name`, with the separator `dir` already uses */
export function joinPath(dir: string, name: string): string {
  if (!dir) return name;
  const sep = dir.includes('\\') && !dir.includes('/') ? '\\' : '/';
  return dir.endsWith(sep) ? dir + name : dir + sep + name;
}
