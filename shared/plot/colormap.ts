/**
 * Colour maps for density plots as 256-entry RGBA lookup tables (packed little-endian Uint32, so a
 * LUT entry can be written into an RGBA pixel buffer in one store), plus a categorical palette.
 * viridis and magma come from d3-scale-chromatic; fire is colorcet's linear_kryw_0_100_c71
 * (CC-BY 4.0, holoviz/colorcet), reduced to control points and interpolated linearly; grays runs
 * from light grey (few) to black (many) so that sparse cells stay visible on a white plot.
 */
import { interpolateMagma, interpolateViridis } from 'd3-scale-chromatic';

export type ColormapName = 'viridis' | 'magma' | 'fire' | 'grays';
export const COLORMAPS: ColormapName[] = ['viridis', 'magma', 'fire', 'grays'];

/** colorcet fire at LUT index -> [r, g, b] in 0..1 */
const FIRE_STOPS: [number, number, number, number][] = [
  [0, 0, 0, 0], [16, 0.1975, 0.0015, 0], [32, 0.2923, 0.0027, 0], [64, 0.4857, 0.0086, 0], [96, 0.687, 0.0214, 0],
  [128, 0.8976, 0.0589, 0], [138, 0.9609, 0.1382, 0], [144, 0.9793, 0.2085, 0], [150, 0.9894, 0.2761, 0],
  [160, 0.9972, 0.3756, 0], [170, 1, 0.4943, 0], [200, 1, 0.7063, 0.0087], [230, 1, 0.8938, 0.0528],
  [240, 1, 0.9533, 0.1415], [245, 1, 0.9799, 0.3288], [250, 1, 0.9963, 0.6599], [255, 1, 1, 1],
];

function fireAt(i: number): [number, number, number] {
  let k = 0;
  while (k < FIRE_STOPS.length - 2 && FIRE_STOPS[k + 1]![0] < i) k++;
  const a = FIRE_STOPS[k]!, b = FIRE_STOPS[k + 1]!;
  const t = b[0] === a[0] ? 0 : (i - a[0]) / (b[0] - a[0]);
  return [a[1] + t * (b[1] - a[1]), a[2] + t * (b[2] - a[2]), a[3] + t * (b[3] - a[3])];
}

function parseRgb(s: string): [number, number, number] {
  if (s.startsWith('#')) return [parseInt(s.slice(1, 3), 16), parseInt(s.slice(3, 5), 16), parseInt(s.slice(5, 7), 16)];
  const m = s.match(/(\d+(?:\.\d+)?)/g) ?? ['0', '0', '0'];
  return [Number(m[0]), Number(m[1]), Number(m[2])];
}

/** pack r, g, b, a (0..255) as one little-endian RGBA word */
export function packRGBA(r: number, g: number, b: number, a = 255): number {
  return ((a & 255) << 24 | (b & 255) << 16 | (g & 255) << 8 | (r & 255)) >>> 0;
}

export function unpackRGBA(v: number): [number, number, number, number] {
  return [v & 255, (v >>> 8) & 255, (v >>> 16) & 255, v >>> 24];
}

const lutCache = new Map<string, Uint32Array>();

/** The 256-entry LUT of a colour map (index 0 = fewest, 255 = most). */
export function colormapLUT(name: ColormapName): Uint32Array {
  const hit = lutCache.get(name);
  if (hit) return hit;
  const lut = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let rgb: [number, number, number];
    if (name === 'viridis') rgb = parseRgb(interpolateViridis(i / 255));
    else if (name === 'magma') rgb = parseRgb(interpolateMagma(i / 255));
    else if (name === 'fire') rgb = fireAt(i).map((v) => Math.round(v * 255)) as [number, number, number];
    else if (name === 'grays') {
      const v = Math.round(216 - (216 * i) / 255);
      rgb = [v, v, v];
    } else throw new Error(`unknown colour map "${name as string}" (known: ${COLORMAPS.join(', ')})`);
    lut[i] = packRGBA(rgb[0], rgb[1], rgb[2], 255);
  }
  lutCache.set(name, lut);
  return lut;
}

export function isColormap(s: string): s is ColormapName {
  return (COLORMAPS as string[]).includes(s);
}

/** CSS colour of a LUT entry */
export function cssColor(v: number): string {
  const [r, g, b, a] = unpackRGBA(v);
  return a === 255 ? `rgb(${r},${g},${b})` : `rgba(${r},${g},${b},${(a / 255).toFixed(3)})`;
}

/** A categorical palette (Tableau 10, as in d3's schemeTableau10), cycled beyond 10 categories. */
export const CATEGORY_PALETTE: [number, number, number][] = [
  [0x4e, 0x79, 0xa7], [0xf2, 0x8e, 0x2c], [0xe1, 0x57, 0x59], [0x76, 0xb7, 0xb2], [0x59, 0xa1, 0x4f],
  [0xed, 0xc9, 0x48], [0xb0, 0x7a, 0xa1], [0xff, 0x9d, 0xa7], [0x9c, 0x75, 0x5f], [0xba, 0xb0, 0xac],
];

export function categoryColor(k: number): [number, number, number] {
  return CATEGORY_PALETTE[((k % CATEGORY_PALETTE.length) + CATEGORY_PALETTE.length) % CATEGORY_PALETTE.length]!;
}
