/**
 * Workspace files on the engine's host (workspace-file.ts): saved with the locations inside the
 * workspace's folder relative to it and read back full — also after the folder moved; an existing
 * file kept unless forced; a bad or missing file named; and in web mode both calls only inside the
 * folders the page may use (main/web/confine.ts).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WORKSPACE_VERSION, type Workspace } from '../../shared/workspace';
import { Roots, checkCall } from '../web/confine';
import { readWorkspace, saveWorkspace } from './workspace-file';

const dir = mkdtempSync(path.join(os.tmpdir(), 'cdx-wsfile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ws = (data: string): Workspace => ({
  cdx: 'workspace', version: WORKSPACE_VERSION, steps: [
    { kind: 'open', as: 'trips', location: path.join(data, 'trips.csv') },
    { kind: 'open', as: 'zones', location: '/elsewhere/zones.parquet' },
    { kind: 'open', as: 'db', location: 'postgresql://ana:secret@db:5432/geo::public.t' },
    { kind: 'filter', dataset: 'trips', where: 'fare > 1' },
  ],
});

describe('workspace files', () => {
  it('keep locations in their folder relative, others absolute, no password; read back full, also after a move', async () => {
    const proj = path.join(dir, 'proj');
    mkdirSync(path.join(proj, 'data'), { recursive: true });
    const r = await saveWorkspace(path.join(proj, 'analysis'), ws(path.join(proj, 'data')));
    expect(r.path).toBe(path.join(proj, 'analysis.cdx'));
    const saved = JSON.parse(readFileSync(r.path, 'utf8'));
    expect(saved.steps.map((s: { location?: string }) => s.location)).toEqual(['data/trips.csv', '/elsewhere/zones.parquet', 'postgresql://ana@db:5432/geo::public.t', undefined]);
    expect(r.bytes).toBe(readFileSync(r.path).length);
    const back = await readWorkspace(r.path);
    expect(back.workspace.steps[0]).toEqual({ kind: 'open', as: 'trips', location: path.join(proj, 'data', 'trips.csv') });
    // the folder moved: its data is found at the new place
    const moved = path.join(dir, 'moved');
    renameSync(proj, moved);
    expect((await readWorkspace(path.join(moved, 'analysis.cdx'))).workspace.steps[0]).toMatchObject({ location: path.join(moved, 'data', 'trips.csv') });
  });

  it('an existing file is replaced only when forced; what cannot be a workspace is refused, named', async () => {
    const f = path.join(dir, 'w.cdx');
    await saveWorkspace(f, ws(dir));
    await expect(saveWorkspace(f, ws(dir))).rejects.toMatchObject({ code: 'E_EXISTS', message: `${f}: exists (save with force to replace it)` });
    await saveWorkspace(f, { ...ws(dir), steps: [] }, true);
    expect(JSON.parse(readFileSync(f, 'utf8')).steps).toEqual([]);
    // steps that do not hold together are not written
    await expect(saveWorkspace(path.join(dir, 'bad.cdx'), { cdx: 'workspace', version: 1, steps: [{ kind: 'sort', dataset: 'x', keys: [] }] })).rejects.toMatchObject({ code: 'E_BAD_WORKSPACE' });
    await expect(readWorkspace(path.join(dir, 'none.cdx'))).rejects.toMatchObject({ code: 'ENOENT', message: `${path.join(dir, 'none.cdx')}: no such workspace file` });
    await expect(readWorkspace(dir)).rejects.toMatchObject({ code: 'E_IS_DIR' });
    writeFileSync(path.join(dir, 'x.cdx'), 'id,x\n1,2\n');
    await expect(readWorkspace(path.join(dir, 'x.cdx'))).rejects.toMatchObject({ code: 'E_BAD_WORKSPACE' });
  });

  it('web mode: saved and read only inside the folders the page may use', () => {
    const root = path.join(dir, 'root');
    mkdirSync(root, { recursive: true });
    const roots = new Roots({ roots: [root] });
    expect(checkCall(roots, 'saveWorkspace', { path: path.join(root, 'w.cdx'), workspace: ws(root) })).toMatchObject({ params: { path: path.join(root, 'w.cdx') } });
    expect(checkCall(roots, 'saveWorkspace', { path: path.join(dir, 'w.cdx'), workspace: ws(root) })).toMatchObject({ error: { code: 'EACCES' } });
    expect(checkCall(roots, 'readWorkspace', { path: '/etc/passwd' })).toMatchObject({ error: { code: 'EACCES' } });
  });
});
