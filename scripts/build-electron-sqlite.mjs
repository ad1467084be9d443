// `npm run build:electron-sqlite`: a second copy of better-sqlite3 built against Electron's ABI, for
// the engine when it runs in Electron's utility process (main/engine/sqlite-binding.ts loads it
// through better-sqlite3's `nativeBinding` option). The copy in node_modules stays as npm built it,
// for Node: the CLI and web mode use it. The build runs node-gyp on a temporary copy of
// better-sqlite3's sources with Electron's headers (electronjs.org), and the result goes to
//   native/electron/<platform>-<arch>-abi<modules>/better_sqlite3.node   (+ build.json)
// where <modules> is the Electron binary's own process.versions.modules, so a copy made for another
// Electron is never loaded. It then loads the copy in that Electron (ELECTRON_RUN_AS_NODE) to check it.
//
// Options: --if-possible (postinstall: where it cannot be built, say so in one line and exit 0),
// --dry-run (print the destination and exit), --force, and for testing the pipeline without
// Electron: --electron-version V --modules M --nodedir DIR --runtime node --out ROOT --no-verify.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const projectRoot = resolve(here, '..');

/** native/electron/<platform>-<arch>-abi<modules>/better_sqlite3.node (as sqlite-binding.ts). */
export function electronSqlitePath(root, platform, arch, modules) {
  return join(root, 'native', 'electron', `${platform}-${arch}-abi${modules}`, 'better_sqlite3.node');
}

/** The installed Electron: { version, binary?, why? } (binary only where its dist/ exists; never downloads). */
export function electronInstall(root = projectRoot) {
  const pkgFile = join(root, 'node_modules', 'electron', 'package.json');
  if (!existsSync(pkgFile)) return { why: 'the electron package is not installed' };
  const version = JSON.parse(readFileSync(pkgFile, 'utf8')).version;
  const dir = join(root, 'node_modules', 'electron');
  const dist = process.env.ELECTRON_OVERRIDE_DIST_PATH || join(dir, 'dist');
  const pathTxt = join(dir, 'path.txt');
  if (!existsSync(dist)) return { version, why: `no Electron binary (${dist} is missing: its download did not happen)` };
  const rel = existsSync(pathTxt) ? readFileSync(pathTxt, 'utf8').trim() : process.platform === 'win32' ? 'electron.exe' : process.platform === 'darwin' ? 'Electron.app/Contents/MacOS/Electron' : 'electron';
  const binary = join(dist, rel);
  if (!existsSync(binary)) return { version, why: `no Electron binary (${binary} is missing)` };
  return { version, binary };
}

/** process.versions.modules of an Electron: asked of its binary, else from node-abi's table. */
export function electronModules(install) {
  if (install.binary) {
    const r = spawnSync(install.binary, ['-p', 'process.versions.modules'], {
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    const m = (r.stdout || '').trim();
    if (r.status === 0 && /^\d+$/.test(m)) return m;
  }
  try {
    return String(createRequire(import.meta.url)('node-abi').getAbi(install.version, 'electron'));
  } catch {
    return undefined;
  }
}

/** What the Electron copy's state is: { version, binary, modules, dest, exists } or { why }. */
export function electronSqliteStatus(root = projectRoot) {
  const install = electronInstall(root);
  if (!install.binary) return { why: install.why, version: install.version };
  const modules = electronModules(install);
  if (!modules) return { why: `cannot tell the ABI of Electron ${install.version}`, version: install.version };
  const dest = electronSqlitePath(root, process.platform, process.arch, modules);
  return { ...install, modules, dest, exists: existsSync(dest) };
}

function parseArgs(argv) {
  const o = { ifPossible: false, dryRun: false, force: false, verify: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => argv[++i];
    if (a === '--if-possible') o.ifPossible = true;
    else if (a === '--dry-run') o.dryRun = true;
    else if (a === '--force') o.force = true;
    else if (a === '--no-verify') o.verify = false;
    else if (a === '--electron-version') o.version = val();
    else if (a === '--modules') o.modules = val();
    else if (a === '--nodedir') o.nodedir = val();
    else if (a === '--runtime') o.runtime = val();
    else if (a === '--out') o.out = resolve(val());
    else throw new Error(`unknown option ${a}`);
  }
  return o;
}

/** A build that cannot happen here: said in one line; not a failure under --if-possible. */
class Cannot extends Error {}

function main() {
  const o = parseArgs(process.argv.slice(2));
  const say = (line) => console.log(`cdx build:electron-sqlite: ${line}`);
  const cannot = (line) => {
    throw new Cannot(`${line}. The desktop app's engine needs it (\`npm start\` uses web mode meanwhile); the CLI and web mode do not`);
  };
  const outRoot = o.out ?? projectRoot;
  let version = o.version, modules = o.modules, binary;
  if (!version || !modules) {
    const st = electronInstall(projectRoot);
    if (!st.binary) return cannot(`skipped: ${st.why}`);
    version ??= st.version;
    binary = st.binary;
    modules ??= electronModules(st);
    if (!modules) return cannot(`skipped: cannot tell the ABI of Electron ${version}`);
  }
  const dest = electronSqlitePath(outRoot, process.platform, process.arch, modules);
  if (o.dryRun) {
    console.log(dest);
    return;
  }
  const req = createRequire(join(projectRoot, 'package.json'));
  const sqlitePkgFile = req.resolve('better-sqlite3/package.json');
  const sqliteDir = dirname(sqlitePkgFile);
  const sqliteVersion = JSON.parse(readFileSync(sqlitePkgFile, 'utf8')).version;
  const stampFile = join(dirname(dest), 'build.json');
  const runtime = o.runtime ?? 'electron';
  const stamp = { runtime, version, modules, betterSqlite3: sqliteVersion, platform: process.platform, arch: process.arch };
  if (!o.force && existsSync(dest) && existsSync(stampFile)) {
    try {
      const old = JSON.parse(readFileSync(stampFile, 'utf8'));
      if (Object.keys(stamp).every((k) => old[k] === stamp[k])) return say(`up to date (${dest})`);
    } catch { /* rebuild */ }
  }

  // node-gyp on a temporary copy, so node_modules/better-sqlite3/build (Node's) is never touched
  const work = mkdtempSync(join(os.tmpdir(), 'cdx-electron-sqlite-'));
  const log = join(os.tmpdir(), `cdx-electron-sqlite-${process.pid}.log`);
  try {
    for (const f of ['package.json', 'binding.gyp', 'src', 'deps']) cpSync(join(sqliteDir, f), join(work, f), { recursive: true });
    const env = { ...process.env };
    // npm passes the user's nodedir (here /usr: Node's own headers) to scripts; with it node-gyp
    // would silently build for Node's ABI. Electron's headers come from --dist-url instead.
    for (const k of Object.keys(env)) if (/^npm_config_(nodedir|target|runtime|disturl|dist_url)$/i.test(k)) delete env[k];
    const gyp = req.resolve('node-gyp/bin/node-gyp.js');
    const args = [gyp, 'rebuild', '--release', `--target=${version}`, `--arch=${process.arch}`];
    if (o.nodedir) args.push(`--nodedir=${resolve(o.nodedir)}`);
    if (runtime === 'electron') {
      args.push('--runtime=electron', '--dist-url=https://electronjs.org/headers', `--devdir=${join(os.homedir(), '.electron-gyp')}`);
    }
    say(`building better-sqlite3 ${sqliteVersion} for ${runtime} ${version} (ABI ${modules}, ${process.platform}-${process.arch}); log: ${log}`);
    const r = spawnSync(process.execPath, args, { cwd: work, env, encoding: 'utf8', maxBuffer: 64 << 20 });
    writeFileSync(log, `${process.execPath} ${args.join(' ')}\n${r.stdout ?? ''}\n${r.stderr ?? ''}`);
    const built = join(work, 'build', 'Release', 'better_sqlite3.node');
    if (r.status !== 0 || !existsSync(built)) {
      const lines = `${r.stderr ?? ''}\n${r.stdout ?? ''}`.split('\n').map((l) => l.trim()).filter(Boolean);
      const why = lines.find((l) => /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|getaddrinfo|403|404|certificate/i.test(l)) ?? lines.filter((l) => /err/i.test(l)).pop() ?? `node-gyp exit ${r.status}`;
      return cannot(`could not build better-sqlite3 for Electron ${version} (${why.replace(/^gyp ERR! /, '')}; full log ${log})`);
    }
    if (o.verify && binary) {
      const v = spawnSync(binary, ['-e', `require(${JSON.stringify(built)}); process.stdout.write(process.versions.modules)`], {
        env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
        encoding: 'utf8',
        timeout: 60_000,
      });
      if (v.status !== 0) return cannot(`the copy built for Electron ${version} does not load in it (${(v.stderr || '').trim().split('\n')[0]})`);
    }
    mkdirSync(dirname(dest), { recursive: true });
    const tmp = `${dest}.tmp-${process.pid}`;
    copyFileSync(built, tmp);
    renameSync(tmp, dest);
    writeFileSync(stampFile, JSON.stringify({ ...stamp, builtAt: new Date().toISOString() }, null, 2) + '\n');
    say(`built ${dest}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main();
  } catch (e) {
    const line = `cdx build:electron-sqlite: ${e instanceof Error ? e.message : e}`;
    if (e instanceof Cannot) console.log(line);
    else console.error(line);
    process.exitCode = process.argv.includes('--if-possible') ? 0 : 1;
  }
}
