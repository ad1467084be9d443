// npm install's last step: build the native engine (node-gyp) and the app (electron-vite), so that
// `npm start`, `npx cdx` and `npm test` work right after `npm install`. The Electron binary is NOT
// needed here (it cannot be downloaded on every machine; `npm start` falls back to web mode).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
if (!existsSync(join(root, 'native', 'binding.gyp')) || process.env.CDX_SKIP_POSTINSTALL) process.exit(0);

function run(label, cmd, args) {
  console.log(`cdx postinstall: ${label}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  if (r.status !== 0) {
    console.error(`cdx postinstall: ${label} failed (exit ${r.status}). Fix the error above and run \`npm run ${label}\`.`);
    process.exit(r.status ?? 1);
  }
}
run('build:native', 'npm', ['run', 'build:native']);
run('build', 'npm', ['run', 'build']);
