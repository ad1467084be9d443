// `npm start`: the desktop app in Electron where its binary can be had; otherwise web mode (the same
// UI served on 127.0.0.1, URL printed) with the reason. `npm start -- --web` forces web mode.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

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
  const child = spawn(process.execPath, [join(root, 'bin', 'cdx.mjs'), 'serve', ...passArgs], { cwd: root, stdio: 'inherit' });
  child.on('exit', (code) => process.exit(code ?? 0));
  for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => child.kill(s));
}

if (forceWeb) {
  webMode('asked for (--web).');
} else {
  const bin = electronBinary();
  if (bin.error) {
    webMode(`the Electron binary is not available here (${bin.error}).`);
  } else if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
    webMode('no display (neither DISPLAY nor WAYLAND_DISPLAY is set) for the Electron window.');
  } else {
    const child = spawn(bin.path, [root, ...passArgs], { cwd: root, stdio: 'inherit' });
    child.on('exit', (code, signal) => {
      if (code !== 0 && signal === null) console.error(`Electron exited with code ${code}. Try \`npm start -- --web\`.`);
      process.exit(code ?? 0);
    });
    for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => child.kill(s));
  }
}
