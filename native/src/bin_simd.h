// AVX2 cell indexing for the density grids (runtime-dispatched: the binary stays baseline x86-64;
// __builtin_cpu_supports picks this path only on CPUs that have AVX2). Same arithmetic as the
// scalar path, lane by lane: in-viewport test with ordered compares (NaN fails), cell =
// floor((v - lo) * scale) in double, clamped to the last cell; rejected lanes get one of
// kBinDummies spare cells after the grid (discarded), so no compaction is needed. Why several: a
// zoomed-in view rejects most points, and bumping one shared spare counter would chain every
// rejected point's increment on the previous one (store-to-load latency per point).
#pragma once

#include <cstdint>

namespace cdx {
// spare counters after a density grid for rows the SIMD path rejects (see below)
constexpr uint32_t kBinDummies = 16;
}  // namespace cdx

#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
#define CDX_HAVE_AVX2_PATH 1
#include <immintrin.h>

namespace cdx {

struct SimdBin {
  double x0, x1, y0, y1, sx, sy;
  uint32_t W, H, cells;
};

inline bool CpuHasAvx2() {
  static const bool has = __builtin_cpu_supports("avx2");
  return has;
}

template <class T>
__attribute__((target("avx2"))) static inline __m256d LoadPd(const T* p);
template <>
__attribute__((target("avx2"))) inline __m256d LoadPd<float>(const float* p) { return _mm256_cvtps_pd(_mm_loadu_ps(p)); }
template <>
__attribute__((target("avx2"))) inline __m256d LoadPd<double>(const double* p) { return _mm256_loadu_pd(p); }

// Fills idx[0..n) (rejected rows: b.cells + 0..15); returns the binned count. keep: three-valued
// filter result (2 = passes) or null. *nan += kept NaN rows; *kept += kept rows.
template <class T>
__attribute__((target("avx2"))) uint32_t CellsAvx2(const T* __restrict X, const T* __restrict Y, uint32_t n,
                                                  const uint8_t* __restrict keep, uint32_t* __restrict idx,
                                                  const SimdBin& b, uint64_t* nan, uint64_t* keptOut) {
  const __m256d x0 = _mm256_set1_pd(b.x0), x1 = _mm256_set1_pd(b.x1), y0 = _mm256_set1_pd(b.y0), y1 = _mm256_set1_pd(b.y1);
  const __m256d sx = _mm256_set1_pd(b.sx), sy = _mm256_set1_pd(b.sy);
  const __m128i wm1 = _mm_set1_epi32(static_cast<int>(b.W - 1)), hm1 = _mm_set1_epi32(static_cast<int>(b.H - 1));
  const __m128i wv = _mm_set1_epi32(static_cast<int>(b.W));
  // spare cells b.cells + 0..15: lane l of iteration k uses 4 * (k & 3) + l
  const __m128i dummy0 = _mm_add_epi32(_mm_set1_epi32(static_cast<int>(b.cells)), _mm_setr_epi32(0, 1, 2, 3));
  const __m128i two = _mm_set1_epi32(2);
  uint64_t binned = 0, nn = 0, kept = 0;
  const __m256i lo32 = _mm256_setr_epi32(0, 2, 4, 6, 0, 0, 0, 0);  // 64-bit lane masks -> 32-bit
  __m128i okCount = _mm_setzero_si128();  // per-lane count of binned rows (subtracting -1 masks)
  uint32_t i = 0;
  uint32_t sinceFlush = 0;
  for (; i + 4 <= n; i += 4) {
    const __m256d x = LoadPd<T>(X + i), y = LoadPd<T>(Y + i);
    const __m256d in = _mm256_and_pd(_mm256_and_pd(_mm256_cmp_pd(x, x0, _CMP_GE_OQ), _mm256_cmp_pd(x, x1, _CMP_LT_OQ)),
                                     _mm256_and_pd(_mm256_cmp_pd(y, y0, _CMP_GE_OQ), _mm256_cmp_pd(y, y1, _CMP_LT_OQ)));
    // out-of-range lanes are zeroed before the conversion, then replaced by the dummy cell
    const __m256d fx = _mm256_and_pd(in, _mm256_mul_pd(_mm256_sub_pd(x, x0), sx));
    const __m256d fy = _mm256_and_pd(in, _mm256_mul_pd(_mm256_sub_pd(y, y0), sy));
    const __m128i bi = _mm_min_epi32(_mm256_cvttpd_epi32(fx), wm1);
    const __m128i bj = _mm_min_epi32(_mm256_cvttpd_epi32(fy), hm1);
    const __m128i cell = _mm_add_epi32(_mm_mullo_epi32(bj, wv), bi);
    __m128i ok = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(_mm256_castpd_si256(in), lo32));
    int keepBits = 0xF;
    if (keep) {
      int32_t k4;
      std::memcpy(&k4, keep + i, 4);
      const __m128i kv = _mm_cmpeq_epi32(_mm_cvtepu8_epi32(_mm_cvtsi32_si128(k4)), two);
      ok = _mm_and_si128(ok, kv);
      keepBits = _mm_movemask_ps(_mm_castsi128_ps(kv));
      kept += __builtin_popcount(keepBits);
    }
    const __m128i dummy = _mm_add_epi32(dummy0, _mm_set1_epi32(static_cast<int>(i & 12)));  // 4 * ((i / 4) & 3)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(idx + i), _mm_blendv_epi8(dummy, cell, ok));
    okCount = _mm_sub_epi32(okCount, ok);
    // NaN rows (x or y), branch-free: in a zoomed view in/out lanes are random, so a branch on
    // "some lane out" would be mispredicted about every other iteration; a NaN lane is never in
    nn += __builtin_popcount(_mm256_movemask_pd(_mm256_cmp_pd(x, y, _CMP_UNORD_Q)) & keepBits);
    if (++sinceFlush == (1u << 28)) {  // never overflows a lane in practice; keep it exact anyway
      alignas(16) uint32_t c[4];
      _mm_store_si128(reinterpret_cast<__m128i*>(c), okCount);
      binned += uint64_t(c[0]) + c[1] + c[2] + c[3];
      okCount = _mm_setzero_si128();
      sinceFlush = 0;
    }
  }
  {
    alignas(16) uint32_t c[4];
    _mm_store_si128(reinterpret_cast<__m128i*>(c), okCount);
    binned += uint64_t(c[0]) + c[1] + c[2] + c[3];
  }
  if (!keep) kept += i;
  for (; i < n; i++) {
    const double x = static_cast<double>(X[i]), y = static_cast<double>(Y[i]);
    const bool in = (x >= b.x0) & (x < b.x1) & (y >= b.y0) & (y < b.y1);
    const bool k = keep ? (keep[i] >> 1) != 0 : true;
    uint32_t c = b.cells;
    if (in & k) {
      uint32_t bi = static_cast<uint32_t>((x - b.x0) * b.sx), bj = static_cast<uint32_t>((y - b.y0) * b.sy);
      bi = bi < b.W ? bi : b.W - 1;
      bj = bj < b.H ? bj : b.H - 1;
      c = bj * b.W + bi;
      binned++;
    }
    idx[i] = c;
    kept += k;
    nn += (!in) & k & ((x != x) | (y != y));
  }
  *nan += nn;
  *keptOut += kept;
  return static_cast<uint32_t>(binned);
}

}  // namespace cdx
#endif
