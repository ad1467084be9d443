/**
 * electron-builder's afterPack hook (electron-builder.yml `afterPack`): sets the Electron fuses of
 * the packaged binary before it is signed and wrapped into an installer. Fuses are bits compiled
 * into Electron that only a rewrite of the binary can change, so they hold whatever the user's
 * environment says:
 *  - RunAsNode off: ELECTRON_RUN_AS_NODE cannot turn the signed app into a general Node runtime;
 *  - EnableNodeOptionsEnvironmentVariable off: NODE_OPTIONS (--require, --inspect, …) is ignored;
 *  - EnableNodeCliInspectArguments off: --inspect / --inspect-brk on the command line are ignored
 *    (the engine is a utilityProcess of the app, not a forked node, so it needs neither);
 *  - EnableCookieEncryption on: cookies on disk encrypted with the OS keychain's key;
 *  - OnlyLoadAppFromAsar on: the app is loaded only from resources/app.asar, never from a
 *    resources/app folder dropped beside it;
 *  - EnableEmbeddedAsarIntegrityValidation on: app.asar is checked against the hash that
 *    electron-builder embeds (macOS Info.plist, Windows resources; Electron does not check it on
 *    Linux).
 * Before that it checks what must sit outside the asar (checkUnpacked: the native engine, the
 * Electron build of better-sqlite3, every addon built for the target platform and architecture).
 * Why a hook rather than electron-builder's own `electronFuses` option: the fuse list is one pure
 * function here (tested by scripts/dist-config.test.ts without packaging anything) and uses the
 * project's pinned @electron/fuses. The binary's path is computed the way electron-builder's own
 * `addElectronFuses` does (platformPackager.js).
 */
'use strict';

const fs = require('node:fs');
const path = require('node:path');

/** The platforms electron-builder names in `context.electronPlatformName`. */
const BINARY_SUFFIX = { darwin: '.app', mas: '.app', win32: '.exe', linux: '' };

/** A fuse's byte in the wire when it is on (@electron/fuses FuseState.ENABLE, the character '1'). */
const FUSE_ENABLED = 0x31;

/** electron-builder's Arch enum (builder-util): 3 is arm64. */
const ARCH_ARM64 = 3;

/**
 * The fuse wire for one packaged app, keyed by @electron/fuses' FuseV1Options indices.
 * `resetAdHocDarwinSignature` on Apple silicon: flipping a fuse invalidates the ad-hoc signature
 * that an arm64 macOS binary must carry to run at all, and an unsigned build gets no other one.
 */
function fuseConfig(fuses, electronPlatformName, arch) {
  const { FuseVersion, FuseV1Options } = fuses;
  return {
    version: FuseVersion.V1,
    resetAdHocDarwinSignature: (electronPlatformName === 'darwin' || electronPlatformName === 'mas') && arch === ARCH_ARM64,
    [FuseV1Options.RunAsNode]: false,
    [FuseV1Options.EnableNodeOptionsEnvironmentVariable]: false,
    [FuseV1Options.EnableNodeCliInspectArguments]: false,
    [FuseV1Options.EnableCookieEncryption]: true,
    [FuseV1Options.OnlyLoadAppFromAsar]: true,
    [FuseV1Options.EnableEmbeddedAsarIntegrityValidation]: true,
  };
}

/** The packaged Electron binary (the .app bundle on macOS) inside `context.appOutDir`. */
function electronBinaryPath(context) {
  const platform = context.electronPlatformName;
  const suffix = BINARY_SUFFIX[platform];
  if (suffix === undefined) throw new Error(`after-pack: unknown platform ${platform}`);
  const packager = context.packager;
  // Linux: the executable is named after package.json's name (lower case, no spaces); elsewhere
  // after productName (packager.appInfo.productFilename).
  const name = platform === 'linux' ? packager.executableName : packager.appInfo.productFilename;
  return path.join(context.appOutDir, name + suffix);
}

/** builder-util's Arch enum → Node's arch names (universal: a macOS fat binary, not checked). */
const ARCH_NAMES = { 0: 'ia32', 1: 'x64', 2: 'arm', 3: 'arm64', 4: 'universal' };

/**
 * What a native binary was built for, from its header: { platform, arch } (arch null when the
 * machine type is not one we know; a macOS fat binary gives arch 'universal' and `archs`).
 * Null when the bytes are not ELF, Mach-O or PE.
 */
function binaryTarget(buf) {
  if (buf.length >= 20 && buf.readUInt32BE(0) === 0x7f454c46) {
    const le = buf[5] === 1;
    const m = le ? buf.readUInt16LE(18) : buf.readUInt16BE(18);
    return { platform: 'linux', arch: { 0x3e: 'x64', 0xb7: 'arm64', 0x28: 'arm', 0x03: 'ia32' }[m] ?? null };
  }
  const MACH = { 0x01000007: 'x64', 0x0100000c: 'arm64', 7: 'ia32', 12: 'arm' };
  if (buf.length >= 8 && (buf.readUInt32LE(0) === 0xfeedfacf || buf.readUInt32LE(0) === 0xfeedface)) {
    return { platform: 'darwin', arch: MACH[buf.readUInt32LE(4)] ?? null };
  }
  if (buf.length >= 8 && buf.readUInt32BE(0) === 0xcafebabe) {
    const n = buf.readUInt32BE(4);
    const archs = [];
    for (let i = 0; i < n && 8 + 20 * i + 8 <= buf.length; i++) archs.push(MACH[buf.readUInt32BE(8 + 20 * i)] ?? null);
    return { platform: 'darwin', arch: 'universal', archs };
  }
  if (buf.length >= 0x40 && buf.readUInt16LE(0) === 0x5a4d) {
    const pe = buf.readUInt32LE(0x3c);
    if (pe + 6 <= buf.length && buf.readUInt32LE(pe) === 0x00004550) {
      return { platform: 'win32', arch: { 0x8664: 'x64', 0xaa64: 'arm64', 0x14c: 'ia32', 0x1c4: 'arm' }[buf.readUInt16LE(pe + 4)] ?? null };
    }
  }
  return null;
}

function walk(dir, out = []) {
  let entries;
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** resources/ of the packaged app (Contents/Resources in a macOS bundle). */
function resourcesDir(context) {
  const platform = context.electronPlatformName;
  if (platform === 'darwin' || platform === 'mas') return path.join(electronBinaryPath(context), 'Contents', 'Resources');
  return path.join(context.appOutDir, 'resources');
}

/**
 * What the packaged app needs outside its asar, checked before it becomes an installer:
 *  - the native engine, cdx_native.node (or a prebuild of it), unpacked;
 *  - better-sqlite3 built for Electron (native/electron/<platform>-<arch>-abi<N>/better_sqlite3.node):
 *    the catalog cannot open without it, and npmRebuild is off (electron-builder.yml says why);
 *  - every unpacked .node built for the target platform and architecture (a build on one machine
 *    for another's architecture would otherwise ship addons that cannot load).
 * Returns the list of problems (empty when the package is sound).
 */
function checkUnpacked(unpackedDir, platform, arch) {
  const problems = [];
  const files = walk(unpackedDir).map((f) => path.relative(unpackedDir, f).split(path.sep).join('/'));
  const addons = files.filter((f) => f.endsWith('.node'));
  if (!addons.some((f) => f === 'native/build/Release/cdx_native.node' || /^(native\/)?prebuilds\/[^/]+\/[^/]+\.node$/.test(f))) {
    problems.push('the native engine (native/build/Release/cdx_native.node) is not in app.asar.unpacked: run `npm run build:native`');
  }
  const sqliteDir = `native/electron/${platform === 'mas' ? 'darwin' : platform}-${arch}-abi`;
  if (!addons.some((f) => f.startsWith(sqliteDir) && f.endsWith('/better_sqlite3.node'))) {
    problems.push(`better-sqlite3 for Electron (${sqliteDir}<N>/better_sqlite3.node) is not in app.asar.unpacked: run \`npm run build:electron-sqlite\` on a ${platform}-${arch} machine`);
  }
  if (arch !== 'universal') {
    const wantPlatform = platform === 'mas' ? 'darwin' : platform;
    for (const f of addons) {
      const fd = fs.openSync(path.join(unpackedDir, f), 'r');
      const head = Buffer.alloc(4096);
      const n = fs.readSync(fd, head, 0, head.length, 0);
      fs.closeSync(fd);
      const t = binaryTarget(head.subarray(0, n));
      if (!t) problems.push(`${f} is not a native binary`);
      else if (t.platform !== wantPlatform || (t.arch === 'universal' ? !t.archs.includes(arch) : t.arch !== arch)) {
        problems.push(`${f} is built for ${t.platform}-${t.arch === 'universal' ? t.archs.join('+') : t.arch}, the package for ${wantPlatform}-${arch}`);
      }
    }
  }
  return problems;
}

/** electron-builder calls this once per packaged platform and architecture. */
async function afterPack(context) {
  const arch = ARCH_NAMES[context.arch] ?? String(context.arch);
  const problems = checkUnpacked(path.join(resourcesDir(context), 'app.asar.unpacked'), context.electronPlatformName, arch);
  if (problems.length) throw new Error(`after-pack: the package for ${context.electronPlatformName}-${arch} is not sound:\n  ${problems.join('\n  ')}`);
  const fuses = require('@electron/fuses');
  const binary = electronBinaryPath(context);
  const config = fuseConfig(fuses, context.electronPlatformName, context.arch);
  await fuses.flipFuses(binary, config);
  // read the wire back: a binary whose fuses did not take must not become an installer
  const wire = await fuses.getCurrentFuseWire(binary);
  for (const [key, want] of Object.entries(config)) {
    if (!/^\d+$/.test(key)) continue;
    const got = wire[key];
    const on = got === FUSE_ENABLED;
    if (on !== want) throw new Error(`after-pack: fuse ${fuses.FuseV1Options[key]} of ${binary} is ${got === undefined ? 'missing' : on ? 'on' : 'off'}, wanted ${want ? 'on' : 'off'}`);
  }
  console.log(`after-pack: fuses set on ${binary}`);
}

module.exports = afterPack;
module.exports.default = afterPack;
module.exports.fuseConfig = fuseConfig;
module.exports.electronBinaryPath = electronBinaryPath;
module.exports.binaryTarget = binaryTarget;
module.exports.checkUnpacked = checkUnpacked;
