/**
 * LZ4 frame *encoder* for compressed Arrow IPC bodies (apache-arrow JS ships no codec): lz4-napi
 * (lz4_flex behind Node-API; a prebuilt binary per platform, loaded as is by Node and Electron).
 * Frames of independent 64 KiB blocks, as Arrow's own writers make them; any LZ4 reader decodes
 * them (sources/codecs.ts here, liblz4 in Arrow C++/pyarrow, DuckDB).
 *
 * Chosen over the hand-written greedy encoder it replaces by measurement: 256 MB on the 2-core dev
 * machine, best of two, encode 2176 ms vs 4227 ms (noisy float64), 552 vs 2972 (int64 timestamps),
 * 268 vs 1364 (CSV text): 2-5x faster, the same size on the last two, 12% larger on the
 * incompressible first (its smaller blocks).
 */
import { compressFrameSync } from 'lz4-napi';

/** One LZ4 frame (magic 04 22 4D 18) holding `src`. */
export function lz4FrameEncode(src: Uint8Array): Uint8Array {
  return compressFrameSync(Buffer.from(src.buffer, src.byteOffset, src.byteLength));
}
