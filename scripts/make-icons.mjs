// `node scripts/make-icons.mjs`: the installers' icons in build/, made from the app's one icon
// (renderer/public/icon.svg, the page's favicon) so the window, the installers and the file
// manager show the same picture. Chromium rasterises the SVG at every size (a small size drawn
// from the vector, not scaled down from a big bitmap); this script then packs the PNGs into
//   build/icon.png           1024 px (electron-builder's fallback for every platform)
//   build/icons/NxN.png      16 … 512 px (Linux: AppImage and deb install them under hicolor/)
//   build/icon.ico           16 … 256 px, PNG entries (Windows Vista and later read them)
//   build/icon.icns          16 … 1024 px, PNG entries (macOS 10.7 and later)
// The results are committed: building an installer never needs a browser. Rerun after changing
// the SVG. CDX_CHROMIUM names the browser (default /usr/bin/chromium, as for the e2e tests).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const svg = join(root, 'renderer', 'public', 'icon.svg');
const build = join(root, 'build');
const chromium = process.env.CDX_CHROMIUM ?? '/usr/bin/chromium';

function render(size, tmp) {
  const html = join(tmp, `icon-${size}.html`);
  const png = join(tmp, `icon-${size}.png`);
  writeFileSync(html, `<!doctype html><html><body style="margin:0;background:transparent"><img src="${pathToFileURL(svg)}" style="width:${size}px;height:${size}px;display:block"></body></html>`);
  const r = spawnSync(chromium, ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--default-background-color=00000000', `--window-size=${size},${size}`, `--screenshot=${png}`, pathToFileURL(html).href], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`${chromium} failed to render ${size} px: ${r.stderr || r.error}`);
  const data = readFileSync(png);
  const w = data.readUInt32BE(16), h = data.readUInt32BE(20);
  if (w !== size || h !== size) throw new Error(`rendered ${w}x${h}, wanted ${size}x${size}`);
  return data;
}

/** An ICO holding PNG images (ICONDIR + ICONDIRENTRY per image; 0 in a size byte means 256). */
function ico(images) {
  const head = Buffer.alloc(6 + 16 * images.length);
  head.writeUInt16LE(0, 0);
  head.writeUInt16LE(1, 2);
  head.writeUInt16LE(images.length, 4);
  let offset = head.length;
  images.forEach(([size, png], i) => {
    const e = 6 + 16 * i;
    head.writeUInt8(size >= 256 ? 0 : size, e);
    head.writeUInt8(size >= 256 ? 0 : size, e + 1);
    head.writeUInt8(0, e + 2);
    head.writeUInt8(0, e + 3);
    head.writeUInt16LE(1, e + 4);
    head.writeUInt16LE(32, e + 6);
    head.writeUInt32LE(png.length, e + 8);
    head.writeUInt32LE(offset, e + 12);
    offset += png.length;
  });
  return Buffer.concat([head, ...images.map(([, png]) => png)]);
}

/** An ICNS holding PNG images under their OSType codes. */
function icns(entries) {
  const parts = entries.map(([type, png]) => {
    const h = Buffer.alloc(8);
    h.write(type, 0, 'latin1');
    h.writeUInt32BE(png.length + 8, 4);
    return Buffer.concat([h, png]);
  });
  const body = Buffer.concat(parts);
  const h = Buffer.alloc(8);
  h.write('icns', 0, 'latin1');
  h.writeUInt32BE(body.length + 8, 4);
  return Buffer.concat([h, body]);
}

const tmp = mkdtempSync(join(os.tmpdir(), 'cdx-icons-'));
try {
  const png = new Map();
  for (const size of [16, 24, 32, 48, 64, 128, 256, 512, 1024]) png.set(size, render(size, tmp));
  mkdirSync(join(build, 'icons'), { recursive: true });
  writeFileSync(join(build, 'icon.png'), png.get(1024));
  for (const size of [16, 24, 32, 48, 64, 128, 256, 512]) writeFileSync(join(build, 'icons', `${size}x${size}.png`), png.get(size));
  writeFileSync(join(build, 'icon.ico'), ico([16, 24, 32, 48, 64, 128, 256].map((s) => [s, png.get(s)])));
  writeFileSync(
    join(build, 'icon.icns'),
    icns([
      ['icp4', png.get(16)], ['icp5', png.get(32)], ['icp6', png.get(64)], ['ic07', png.get(128)],
      ['ic08', png.get(256)], ['ic09', png.get(512)], ['ic10', png.get(1024)],
      ['ic11', png.get(32)], ['ic12', png.get(64)], ['ic13', png.get(256)], ['ic14', png.get(512)],
    ]),
  );
  console.log(`icons written to ${build}`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
