// `npm start`: the desktop app in Electron where its binary can be had and its engine can start (a
// display; better-sqlite3 built for Electron's ABI, built here first if it can be); otherwise web
// mode (the same UI served on 127.0.0.1, URL printed) with the reason. `npm start -- --web` forces
// web mode. The decision is scripts/start-plan.mjs.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { homedir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { electronSqliteStatus } from './build-electron-sqlite.mjs';
import { planStart } from './start-plan.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const forceWeb = args.includes('--web') || process.env.CDX_WEB === '1';
const passArgs = args.filter((a) => a !== '--web');

function npmRun(script) {
  const r = spawnSync('npm', ['run', script], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
if (!existsSync(join(root, 'native', 'build', 'Release', 'cdx_native.node'))) npmRun('build:native');
if (!existsSync(join(root, 'out', 'main', 'app.js')) || !existsSync(join(root, 'out', 'renderer', 'index.html'))) npmRun('build');

function electronBinary() {
  // Requiring 'electron' resolves its binary, downloading it on first use; where that cannot be
  // done it throws. Ask in a child process so a slow or failing download cannot wedge us.
  const r = spawnSync(process.execPath, ['-e', "process.stdout.write(require('electron'))"], {
    cwd: root,
    encoding: 'utf8',
    timeout: 180_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (r.status === 0 && r.stdout && existsSync(r.stdout)) return { path: r.stdout };
  const why = (r.stderr || '').trim().split('\n').filter((l) => /Error|error|failed/.test(l)).pop() || (r.error ? r.error.message : `exit ${r.status}`);
  return { error: why };
}

function webMode(reason) {
  if (reason) console.log(`Starting in web mode: ${reason}`);
  // the app on this machine (loopback) may open what its user can: their home folder is a root of
  // the page unless roots are given (`npm start -- --web --root DIR`); `cdx serve` alone has only the data folder
  const roots = passArgs.includes('--root') || passArgs.some((a) => a.startsWith('--root=')) || passArgs.some((a) => a === '-H' || a.startsWith('--host')) ? [] : ['--root', homedir()];
  const child = spawn(process.execPath, [join(root, 'bin', 'cdx.mjs'), 'serve', ...roots, ...passArgs], { cwd: root, stdio: 'inherit' });
  child.on('exit', (code) => process.exit(code ?? 0));
  for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => child.kill(s));
}

/** better-sqlite3's Electron copy: there, or built now, or why not. */
function sqliteForElectron() {
  let st = electronSqliteStatus(root);
  if (st.dest && st.exists) return { ok: true, path: st.dest };
  if (!st.dest) return { ok: false, why: st.why };
  console.log(`better-sqlite3 has no build for Electron ${st.version} (ABI ${st.modules}) yet: building it (npm run build:electron-sqlite).`);
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'build-electron-sqlite.mjs')], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  st = electronSqliteStatus(root);
  if (r.status === 0 && st.exists) return { ok: true, path: st.dest };
  const line = `${r.stdout || ''}\n${r.stderr || ''}`.split('\n').map((l) => l.trim()).filter(Boolean).pop() || `exit ${r.status}`;
  return { ok: false, why: line.replace(/^cdx build:electron-sqlite: /, '') };
}

const facts = {
  forceWeb,
  electron: forceWeb ? { error: 'not looked for' } : electronBinary(),
  display: process.platform !== 'linux' || Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY),
};
let plan = planStart(facts);
if (plan.mode === 'need-sqlite') plan = planStart({ ...facts, sqlite: sqliteForElectron() });
if (plan.mode === 'web') {
  webMode(plan.reason);
} else {
  const child = spawn(plan.binary, [root, ...passArgs], { cwd: root, stdio: 'inherit' });
  child.on('exit', (code, signal) => {
    if (code !== 0 && signal === null) console.error(`Electron exited with code ${code}. Try \`npm start -- --web\`.`);
    process.exit(code ?? 0);
  });
  for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => child.kill(s));
}
