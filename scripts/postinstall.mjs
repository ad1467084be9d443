// npm install's last step: build the native engine (node-gyp) and the app (electron-vite), so that
// `npm start`, `npx cdx` and `npm test` work right after `npm install`. The Electron binary is NOT
// needed here (it cannot be downloaded on every machine; `npm start` falls back to web mode).
// Where it is installed, a second copy of better-sqlite3 is built for Electron's ABI
// (scripts/build-electron-sqlite.mjs); where that cannot be done it says so in one line and the
// install carries on. In an installed package (npm pack's tarball) there is no native/binding.gyp:
// the addon ships prebuilt in prebuilds/ and the app in out/, so this does nothing.
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
// never fatal: --if-possible prints one line and exits 0 where there is no binary or no headers
spawnSync(process.execPath, [join(root, 'scripts', 'build-electron-sqlite.mjs'), '--if-possible'], { cwd: root, stdio: 'inherit' });
