/**
 * Workspace files (`.cdx`, shared/workspace.ts) on the engine's host: the app saves its steps to a
 * path there and opens one from there (the desktop app's files; in web mode a file in the folders
 * the page may use — the web host checks the path like any other). Saving keeps each location
 * inside the workspace's folder relative to it, so a folder of data and its workspace can move
 * together; opening makes them full again. The file is written durably (a temporary file beside
 * it, renamed), never over an existing one unless asked.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { CdxError, toErrorInfo } from '../../shared/errors';
import { parseWorkspace, resolveLocations, serializeWorkspace, storeLocations, WORKSPACE_EXTENSION, type Workspace } from '../../shared/workspace';
import { writeFileDurable } from './durable';

/** a workspace file is small: one larger than this is not one */
const MAX_BYTES = 16 * 1024 * 1024;

function fileError(e: unknown, file: string, doing: string): CdxError {
  if (e instanceof CdxError) return e;
  const info = toErrorInfo(e);
  return CdxError.file(info.code, file, `${doing}: ${(e as Error).message ?? info.message}`);
}

/** reads and checks the workspace at `file`; its relative locations made full from its folder */
export async function readWorkspace(file: string): Promise<{ path: string; workspace: Workspace }> {
  const abs = path.resolve(file);
  let text: string;
  try {
    const st = await stat(abs);
    if (st.isDirectory()) throw CdxError.file('E_IS_DIR', abs, 'a folder, not a workspace file');
    if (st.size > MAX_BYTES) throw CdxError.file('E_BAD_WORKSPACE', abs, `not a CDX workspace (${st.size} bytes; a workspace is a small JSON file)`);
    text = await readFile(abs, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw CdxError.file('ENOENT', abs, 'no such workspace file');
    throw fileError(e, abs, 'could not read the workspace');
  }
  return { path: abs, workspace: resolveLocations(parseWorkspace(text, abs), abs) };
}

/**
 * Writes `workspace` to `file` (`.cdx` added when it has no extension): checked first (the same
 * validation as reading it back), locations inside its folder kept relative. An existing file is
 * replaced only with `force` (E_EXISTS otherwise).
 */
export async function saveWorkspace(file: string, workspace: Workspace, force = false): Promise<{ path: string; bytes: number }> {
  let abs = path.resolve(file);
  if (!path.extname(abs)) abs += WORKSPACE_EXTENSION;
  // what is written must read back (the steps came over the wire: check them as a file would be)
  const text = serializeWorkspace(storeLocations(parseWorkspace(JSON.stringify(workspace), abs), abs));
  try {
    const st = await stat(abs);
    if (st.isDirectory()) throw CdxError.file('E_IS_DIR', abs, 'a folder: give a file name for the workspace');
    if (!force) throw CdxError.file('E_EXISTS', abs, 'exists (save with force to replace it)');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw fileError(e, abs, 'could not save the workspace');
  }
  try {
    await writeFileDurable(abs, text);
  } catch (e) {
    throw fileError(e, abs, 'could not save the workspace');
  }
  return { path: abs, bytes: Buffer.byteLength(text) };
}
