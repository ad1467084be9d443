/**
 * Web mode's host file browser, as a Svelte 5 rune class: the listing of one folder on the host
 * (the page cannot see that disk) and the folder field. A later listing (typed, clicked) wins over
 * a slow earlier one (`Request`); the field follows the listing shown unless the user has typed
 * in it since. It opens in the last folder listed (remembered across sessions, prefs.svelte.ts),
 * or the home folder when that one is gone.
 */
import type { BrowseResult } from '../../shared/api';
import type { EngineConnection } from './engine.svelte';
import { Request } from './request.svelte';
import { prefs } from './prefs.svelte';

export class FolderBrowser {
  listing = $state.raw<BrowseResult | null>(null);
  /** the folder field */
  dirText = $state('');
  /** the name filter over the listing */
  filter = $state('');
  private edited = false;
  private req = new Request<BrowseResult>();

  constructor(readonly engine: EngineConnection) {}

  get error(): string | null {
    return this.req.error?.message ?? null;
  }

  /** the entries that pass the name filter */
  get shown(): BrowseResult['entries'] {
    const l = this.listing;
    const f = this.filter.toLowerCase();
    return l ? l.entries.filter((e) => !f || e.name.toLowerCase().includes(f)) : [];
  }

  /** the user typed in the folder field */
  typed(): void {
    this.edited = true;
  }

  /** lists `dir`. `fromUser`: a submit or a click (the field may follow the new listing again) */
  async go(dir?: string, fromUser = true): Promise<void> {
    if (fromUser) this.edited = false;
    const r = await this.req.run(({ signal }) => this.engine.api.browse({ dir }, { signal }));
    if (!r) return;
    this.listing = r;
    if (!this.edited) this.dirText = r.dir;
    this.filter = '';
    prefs.set('browseDir', r.dir);
  }

  /** the first listing: `start`, else the last folder used, else the home folder (also when the last one is gone) */
  async begin(start?: string): Promise<void> {
    if (start) return this.go(start, false);
    await prefs.load();
    const last = prefs.get('browseDir');
    await this.go(last, false);
    if (last && !this.listing && !this.req.busy) await this.go(undefined, false);
  }
}
