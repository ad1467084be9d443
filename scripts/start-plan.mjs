// What `npm start` opens, decided from what it found (scripts/start.mjs gathers the facts): the
// Electron window only where its engine can start — a binary, a display, and better-sqlite3 built
// for Electron's ABI (the engine's catalog refuses Node's copy there) — otherwise web mode, with the
// reason and the fix. A pure function so that each fallback is tested (scripts/start-plan.test.ts).

/**
 * @param {{
 *   forceWeb: boolean,
 *   electron: { path: string } | { error: string },
 *   display: boolean,
 *   sqlite?: { ok: true, path: string } | { ok: false, why: string },
 * }} facts  `sqlite` is only looked at (and only needs gathering) when the others allow a window
 * @returns {{ mode: 'electron', binary: string } | { mode: 'web', reason: string } | { mode: 'need-sqlite' }}
 */
export function planStart(facts) {
  if (facts.forceWeb) return { mode: 'web', reason: 'asked for (--web).' };
  if ('error' in facts.electron) return { mode: 'web', reason: `the Electron binary is not available here (${facts.electron.error}).` };
  if (!facts.display) return { mode: 'web', reason: 'no display (neither DISPLAY nor WAYLAND_DISPLAY is set) for the Electron window.' };
  if (!facts.sqlite) return { mode: 'need-sqlite' };
  if (!facts.sqlite.ok) {
    return {
      mode: 'web',
      reason:
        `better-sqlite3 is not built for this Electron and cannot be built now (${facts.sqlite.why}); ` +
        'a window would open on an engine that cannot start. Run `npm run build:electron-sqlite` where Electron\'s headers can be downloaded, then `npm start`.',
    };
  }
  return { mode: 'electron', binary: facts.electron.path };
}
