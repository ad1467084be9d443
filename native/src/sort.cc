// sortRows: the row permutation of a sort by one or more columns (the table view's sort).
//
// sortRows(columns[], { desc: bool[], limit? }, filter?, job?) -> { rowIds: Float64Array, total }:
// the global row numbers of the rows passing the filter, ordered by the columns, each ascending or
// descending; `total` counts the passing rows, `rowIds` holds the first `limit` of them (all
// without one). The order is the one SQL engines give with NULLS LAST (DuckDB's):
//  - nulls last whatever the direction;
//  - floats: NaN is the greatest value (last ascending, first descending), -0 equals +0;
//  - integers exact (int64 and uint64 over their whole range), bools false < true, dates and
//    timestamps by their stored integers;
//  - text by bytes (UTF-8 code points); dictionary text by its value (each dictionary entry's rank
//    among the dictionary's sorted texts is computed once);
//  - ties by row number (the sort is stable).
//
// How: every key is encoded as an order-preserving uint64 (direction applied). Two parallel passes
// over the columns: one counts the passing rows of each segment (non-null and null first key,
// keeping the filter's verdicts), the next writes (first key, position) pairs at their final
// places — positions follow row order, so comparing positions breaks ties by row number — and the
// encoded later keys beside them. Rows with a null first key are kept apart (they go last). The
// pairs are then sorted in parallel (a sample sort: splitters from a sorted sample cut the pairs
// into buckets, which threads then sort on their own — by an LSD radix sort over the bytes that
// differ, for one non-text key); text keys compare their first 8 bytes in the pair and the rest only on a tie. With a
// limit well below the rows each thread selects its own best `limit` (nth_element) and only those
// candidates are sorted: no full sort.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <atomic>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <sys/mman.h>
#include <unistd.h>


#include "plan.h"

namespace cdx {
namespace {

enum class SKind : uint8_t { INT, UINT, FLOAT, STR, DICT };

struct Pair {
  uint64_t key;
  uint64_t pos;
};

// An uninitialised array in anonymous memory with huge pages asked for: the sort's arrays hold
// 8-24 bytes a row, and touching hundreds of MiB in 4 KiB page faults (and zeroing them, as a
// std::vector would) costs more than the sort itself in a VM.
template <class T>
struct Buf {
  T* p = nullptr;
  size_t n = 0;
  Buf() = default;
  Buf(const Buf&) = delete;
  Buf& operator=(const Buf&) = delete;
  ~Buf() { Free(); }
  void Free() {
    if (p) munmap(p, std::max<size_t>(n, 1) * sizeof(T));
    p = nullptr;
    n = 0;
  }
  void Alloc(size_t count) {
    Free();
    const size_t bytes = std::max<size_t>(count, 1) * sizeof(T);
    void* m = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
    if (bytes >= (4u << 20)) madvise(m, bytes, MADV_HUGEPAGE);
#endif
    p = static_cast<T*>(m);
    n = count;
  }
  T& operator[](size_t i) { return p[i]; }
  const T& operator[](size_t i) const { return p[i]; }
  T* data() { return p; }
  const T* data() const { return p; }
  size_t size() const { return n; }
};

inline uint64_t EncF(double d, bool desc) {
  if (d == 0) d = 0;
  if (d != d) d = std::numeric_limits<double>::quiet_NaN();
  uint64_t u;
  std::memcpy(&u, &d, 8);
  u = (u >> 63) ? ~u : (u | (1ULL << 63));
  return desc ? ~u : u;
}
// EncF of a batch, without branches (the same bits: -0 as +0, every NaN as the quiet NaN), so that
// the compiler vectorises it; `flip` is ~0 for a descending key. Top-N encodes every row's key.
inline uint64_t EncFBits(uint64_t u) {
  u = u == (1ULL << 63) ? 0 : u;                                                                 // -0
  u = static_cast<int64_t>(u & ~(1ULL << 63)) > 0x7ff0000000000000LL ? 0x7ff8000000000000ULL : u;  // NaN
  return u ^ ((0 - (u >> 63)) | (1ULL << 63));  // negative: ~u; positive: the sign bit set
}
static void EncFBatchBase(const double* src, uint32_t n, uint64_t flip, uint64_t* out) {
  for (uint32_t i = 0; i < n; i++) {
    uint64_t u;
    std::memcpy(&u, &src[i], 8);
    out[i] = EncFBits(u) ^ flip;
  }
}
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("avx2"))) static void EncFBatchAvx2(const double* src, uint32_t n, uint64_t flip, uint64_t* out) {
  for (uint32_t i = 0; i < n; i++) {
    uint64_t u;
    std::memcpy(&u, &src[i], 8);
    out[i] = EncFBits(u) ^ flip;
  }
}
static void EncFBatch(const double* src, uint32_t n, uint64_t flip, uint64_t* out) {
  static const bool avx2 = __builtin_cpu_supports("avx2");
  if (avx2) EncFBatchAvx2(src, n, flip, out);
  else EncFBatchBase(src, n, flip, out);
}
#else
static void EncFBatch(const double* src, uint32_t n, uint64_t flip, uint64_t* out) { EncFBatchBase(src, n, flip, out); }
#endif

inline uint64_t EncI(int64_t v, bool desc) {
  const uint64_t u = static_cast<uint64_t>(v) ^ (1ULL << 63);
  return desc ? ~u : u;
}
inline uint64_t EncU(uint64_t u, bool desc) { return desc ? ~u : u; }
inline uint64_t Prefix(const uint8_t* p, uint64_t len) {
  uint64_t u = 0;
  for (uint64_t i = 0; i < 8; i++) u = (u << 8) | (i < len ? p[i] : 0);
  return u;
}
inline int CmpBytes(const uint8_t* a, uint64_t la, const uint8_t* b, uint64_t lb) {
  const int c = std::memcmp(a, b, std::min(la, lb));
  if (c) return c;
  return la < lb ? -1 : la > lb ? 1 : 0;
}

class SortWorker : public PromiseWorker {
 public:
  explicit SortWorker(Napi::Env env) : PromiseWorker(env, "cdx.sortRows") {}
  Plan plan;
  size_t nKeys = 0;
  std::vector<uint8_t> desc;
  uint64_t limit = std::numeric_limits<uint64_t>::max();
  void SetJob(JobPtr j) { job_ = std::move(j); }

 private:
  std::vector<SKind> kinds;
  std::vector<std::vector<uint64_t>> dictRank;  // DICT: index -> rank of its text
  std::vector<StringColumnReader> readers;       // STR keys by global row
  Buf<uint64_t> rowOf;                           // position -> global row
  std::vector<Buf<uint64_t>> sec;                // keys 1..: encoded, by position
  std::vector<Buf<uint8_t>> secNull;             // keys 1..: null flag, by position
  std::atomic<bool> corrupt{false};
  uint64_t total = 0;
  Buf<double> out;
  uint64_t outN = 0;

  std::string_view Str(size_t k, uint64_t row) const {
    const uint8_t* p; uint64_t len;
    if (!readers[k].Get(row, &p, &len)) { return std::string_view(); }
    return std::string_view(reinterpret_cast<const char*>(p), len);
  }
  int CmpStr(size_t k, uint64_t pa, uint64_t pb) const {
    const std::string_view a = Str(k, rowOf[pa]), b = Str(k, rowOf[pb]);
    const int c = CmpBytes(reinterpret_cast<const uint8_t*>(a.data()), a.size(), reinterpret_cast<const uint8_t*>(b.data()), b.size());
    return desc[k] ? -c : c;
  }
  // Order of positions pa, pb by keys from `from` on (the first key's encoded value is equal or
  // both null), then by position.
  bool LessFrom(size_t from, uint64_t pa, uint64_t pb) const {
    for (size_t k = from; k < nKeys; k++) {
      if (k == 0) {
        if (kinds[0] == SKind::STR) {
          const int c = CmpStr(0, pa, pb);
          if (c) return c < 0;
        }
        continue;
      }
      const uint8_t na = secNull[k][pa], nb = secNull[k][pb];
      if (na || nb) {
        if (na != nb) return nb;
        continue;
      }
      const uint64_t a = sec[k][pa], b = sec[k][pb];
      if (a != b) return a < b;
      if (kinds[k] == SKind::STR) {
        const int c = CmpStr(k, pa, pb);
        if (c) return c < 0;
      }
    }
    return pa < pb;
  }

  // Pairs [src, src + n) in position order sorted by key into dst (stable, so ties stay in
  // position order): an LSD radix sort over the key's bytes that differ within the range, ping-
  // ponging between src and dst; ends in dst.
  static void RadixInto(Pair* src, Pair* dst, uint64_t n) {
    if (n == 0) return;
    uint64_t diff = 0;
    const uint64_t k0 = src[0].key;
    for (uint64_t i = 1; i < n; i++) diff |= src[i].key ^ k0;
    Pair* a = src;
    Pair* b = dst;
    uint64_t cnt[256];
    for (int byte = 0; byte < 8; byte++) {
      const int sh = byte * 8;
      if (!((diff >> sh) & 0xff)) continue;
      std::memset(cnt, 0, sizeof cnt);
      for (uint64_t i = 0; i < n; i++) cnt[(a[i].key >> sh) & 0xff]++;
      uint64_t acc = 0;
      for (int d = 0; d < 256; d++) { const uint64_t c = cnt[d]; cnt[d] = acc; acc += c; }
      for (uint64_t i = 0; i < n; i++) b[cnt[(a[i].key >> sh) & 0xff]++] = a[i];
      std::swap(a, b);
    }
    if (a != dst) std::memcpy(dst, a, n * sizeof(Pair));
  }

  template <class Cmp>
  void SortRange(Pair* b, Pair* e, uint64_t k, Cmp cmp, bool radix = false) {
    const uint64_t n = static_cast<uint64_t>(e - b);
    const int T = MaxThreads();
    if (k >= n) {
      if (n < 200000 || T <= 1) { std::sort(b, e, cmp); return; }
      // sample sort: splitters from a sorted sample cut the pairs into buckets (each thread counts
      // its share's buckets, then scatters it to the buckets' places), the buckets sorted in parallel
      const int B = std::min<int>(4096, T * 32);
      std::vector<Pair> sample;
      const uint64_t per = 32;
      sample.reserve(static_cast<size_t>(B) * per);
      uint64_t x = 0x9e3779b97f4a7c15ULL;
      for (uint64_t i = 0; i < static_cast<uint64_t>(B) * per; i++) {
        x = Mix64(x + i);
        sample.push_back(b[x % n]);
      }
      std::sort(sample.begin(), sample.end(), cmp);
      std::vector<Pair> split(B - 1);
      for (int i = 1; i < B; i++) split[i - 1] = sample[static_cast<size_t>(i) * per];
      Buf<uint16_t> bucket;
      bucket.Alloc(n);
      std::vector<uint64_t> cnt(static_cast<size_t>(T) * B, 0);
#pragma omp parallel for schedule(static, 1)
      for (int t = 0; t < T; t++) {
        const uint64_t s0 = n * t / T, s1 = n * (t + 1) / T;
        uint64_t* c = cnt.data() + static_cast<size_t>(t) * B;
        for (uint64_t i = s0; i < s1; i++) {
          const uint16_t bk = static_cast<uint16_t>(std::upper_bound(split.begin(), split.end(), b[i], cmp) - split.begin());
          bucket[i] = bk;
          c[bk]++;
        }
      }
      std::vector<uint64_t> start(B + 1, 0), at(static_cast<size_t>(T) * B);
      uint64_t acc = 0;
      for (int bk = 0; bk < B; bk++) {
        start[bk] = acc;
        for (int t = 0; t < T; t++) { at[static_cast<size_t>(t) * B + bk] = acc; acc += cnt[static_cast<size_t>(t) * B + bk]; }
      }
      start[B] = acc;
      Buf<Pair> tmp;
      tmp.Alloc(n);
#pragma omp parallel for schedule(static, 1)
      for (int t = 0; t < T; t++) {
        const uint64_t s0 = n * t / T, s1 = n * (t + 1) / T;
        uint64_t* a = at.data() + static_cast<size_t>(t) * B;
        for (uint64_t i = s0; i < s1; i++) tmp[a[bucket[i]]++] = b[i];
      }
      bucket.Free();
      // (each bucket holds its pairs in position order: the scatter keeps each thread's share in
      // order and the shares in thread order — so a stable radix sort by key alone is exact)
#pragma omp parallel for schedule(dynamic, 1)
      for (int bk = 0; bk < B; bk++) {
        Pair* t0 = tmp.data() + start[bk];
        const uint64_t m = start[bk + 1] - start[bk];
        if (radix && m > 256) {
          RadixInto(t0, b + start[bk], m);
        } else {
          std::sort(t0, t0 + m, cmp);
          std::memcpy(b + start[bk], t0, m * sizeof(Pair));
        }
      }
      return;
    }
    // top-k: each thread's best k of its share, then the best k of those candidates
    if (k == 0) return;
    if (n < 65536 || T <= 1 || k * 4 > n / static_cast<uint64_t>(T)) {
      std::nth_element(b, b + k, e, cmp);
      std::sort(b, b + k, cmp);
      return;
    }
    std::vector<Pair> cand(static_cast<size_t>(T) * k);
    std::vector<uint64_t> got(T, 0);
#pragma omp parallel for schedule(static, 1)
    for (int t = 0; t < T; t++) {
      Pair* s = b + n * t / T;
      Pair* f = b + n * (t + 1) / T;
      const uint64_t m = std::min<uint64_t>(k, static_cast<uint64_t>(f - s));
      if (m < static_cast<uint64_t>(f - s)) std::nth_element(s, s + m, f, cmp);
      std::copy(s, s + m, cand.begin() + static_cast<size_t>(t) * k);
      got[t] = m;
    }
    size_t w = 0;
    for (int t = 0; t < T; t++) {
      std::copy(cand.begin() + static_cast<size_t>(t) * k, cand.begin() + static_cast<size_t>(t) * k + got[t], cand.begin() + w);
      w += got[t];
    }
    cand.resize(w);
    std::nth_element(cand.begin(), cand.begin() + std::min<size_t>(k, w), cand.end(), cmp);
    std::sort(cand.begin(), cand.begin() + std::min<size_t>(k, w), cmp);
    std::copy(cand.begin(), cand.begin() + std::min<size_t>(k, w), b);
  }

 protected:
  void Run() override {
    // CDX_SORT_TRACE=1: each phase's time on stderr (where a sort's time goes: page faults in a VM)
    const bool trace = std::getenv("CDX_SORT_TRACE") != nullptr;
    auto t0 = std::chrono::steady_clock::now();
    auto lap = [&](const char* what) {
      if (!trace) return;
      auto t1 = std::chrono::steady_clock::now();
      std::fprintf(stderr, "sortRows %s: %.1f ms\n", what, std::chrono::duration<double, std::milli>(t1 - t0).count());
      t0 = t1;
    };
    status_ = plan.Prepare(1 << 16);
    if (!status_.ok()) return;
    job_->total.store(plan.rows * 2);
    kinds.resize(nKeys);
    dictRank.resize(nKeys);
    readers.resize(nKeys);
    for (size_t k = 0; k < nKeys; k++) {
      const Column& c = *plan.cols[k];
      if (c.kind == Kind::DICT) {
        kinds[k] = SKind::DICT;
        StringColumnReader rd;
        rd.Bind(*c.dict);
        const uint64_t D = c.dict->rows;
        std::vector<std::string_view> s(D);
        for (uint64_t i = 0; i < D; i++) {
          const uint8_t* p; uint64_t len;
          if (!rd.Get(i, &p, &len)) { status_ = Status::Error("E_CORRUPT", "the dictionary of column " + c.name + " of " + plan.What() + " has corrupt offsets"); return; }
          s[i] = std::string_view(reinterpret_cast<const char*>(p), len);
        }
        std::vector<uint32_t> idx(D);
        for (uint64_t i = 0; i < D; i++) idx[i] = static_cast<uint32_t>(i);
        std::sort(idx.begin(), idx.end(), [&](uint32_t a, uint32_t b) { return s[a] < s[b]; });  // string_view compares bytes as unsigned char
        auto& rank = dictRank[k];
        rank.assign(D, 0);
        uint64_t r = 0;
        for (uint64_t i = 0; i < D; i++) {
          if (i && s[idx[i]] != s[idx[i - 1]]) r++;
          rank[idx[i]] = r;
        }
      } else if (c.kind == Kind::UTF8 || c.kind == Kind::LARGE_UTF8) {
        kinds[k] = SKind::STR;
        readers[k].Bind(c);
      } else if (c.kind == Kind::NUMERIC && IsFloat(c.dtype)) {
        kinds[k] = SKind::FLOAT;
      } else if (c.kind == Kind::NUMERIC && IsUnsigned(c.dtype)) {
        kinds[k] = SKind::UINT;
      } else {
        kinds[k] = SKind::INT;
      }
    }
    if (nKeys == 1 && kinds[0] != SKind::STR && limit <= 1'000'000 && limit * 8 < plan.rows) {
      TopN();
      lap("top-N");
      return;
    }
    const size_t S = plan.segs.size();
    const bool needFilter = !plan.filter.empty();
    if (!needFilter && TooLarge(plan.rows)) return;  // (known before any pass)
    const int T = MaxThreads();
    std::vector<FilterScratch> scratch(T);
    if (needFilter) for (FilterScratch& s : scratch) s.Init(plan.filter.depth);
    // pass 1: passing rows with a non-null / null first key, per segment; the filter's verdicts kept
    std::vector<uint64_t> cntA(S, 0), cntB(S, 0);
    std::vector<std::vector<uint8_t>> masks(needFilter ? S : 0);
    const Segment* seg0 = plan.segs.data();
    status_ = ParallelScan(plan.segs, job_.get(), plan.What(), [&](const Segment& seg, uint64_t r0, uint64_t r1, int t) {
      const size_t si = static_cast<size_t>(&seg - seg0);
      View views[64];
      plan.Bind(seg, views);
      uint8_t* m = nullptr;
      if (needFilter) { masks[si].resize(r1 - r0); m = masks[si].data(); }
      uint8_t va[kBatch];
      uint64_t a = 0, b = 0;
      for (uint64_t r = r0; r < r1; r += kBatch) {
        const uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(kBatch, r1 - r));
        if (needFilter) plan.filter.Eval(plan.FilterViews(views), r, n, m + (r - r0), scratch[t]);
        if (!ValidityBytes(views[0], r - views[0].rowStart, n, va)) std::memset(va, 1, n);
        for (uint32_t i = 0; i < n; i++) {
          const bool pass = !needFilter || m[r - r0 + i];
          a += pass && va[i];
          b += pass && !va[i];
        }
      }
      cntA[si] = a;
      cntB[si] = b;
    });
    if (!status_.ok()) return;
    lap("count");
    std::vector<uint64_t> offA(S + 1, 0), offB(S + 1, 0);
    for (size_t s = 0; s < S; s++) { offA[s + 1] = offA[s] + cntA[s]; offB[s + 1] = offB[s] + cntB[s]; }
    const uint64_t NA = offA[S], NB = offB[S];
    total = NA + NB;
    if (TooLarge(total)) return;
    rowOf.Alloc(total);
    Buf<Pair> pairs;
    pairs.Alloc(NA);
    std::vector<uint64_t> tail(NB);  // positions (NA + j) of rows with a null first key
    sec = std::vector<Buf<uint64_t>>(nKeys);
    secNull = std::vector<Buf<uint8_t>>(nKeys);
    for (size_t k = 1; k < nKeys; k++) { sec[k].Alloc(total); secNull[k].Alloc(total); }
    lap("allocate");
    // pass 2: encoded keys at their positions
    status_ = ParallelScan(plan.segs, job_.get(), plan.What(), [&](const Segment& seg, uint64_t r0, uint64_t r1, int) {
      const size_t si = static_cast<size_t>(&seg - seg0);
      View views[64];
      plan.Bind(seg, views);
      const uint8_t* m = needFilter ? masks[si].data() : nullptr;
      uint64_t pa = offA[si], pb = offB[si];
      uint8_t va[kBatch], vk[kBatch];
      double dv[kBatch];
      int64_t iv[kBatch];
      uint64_t enc[kBatch];
      uint64_t posOf[kBatch];
      for (uint64_t r = r0; r < r1; r += kBatch) {
        const uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(kBatch, r1 - r));
        if (!ValidityBytes(views[0], r - views[0].rowStart, n, va)) std::memset(va, 1, n);
        // positions of this batch's passing rows (-1: not passing)
        for (uint32_t i = 0; i < n; i++) {
          if (m && !m[r - r0 + i]) { posOf[i] = ~0ULL; continue; }
          const uint64_t p = va[i] ? pa++ : NA + pb++;
          posOf[i] = p;
          rowOf[p] = r + i;
          if (!va[i]) tail[p - NA] = p;
        }
        for (size_t k = 0; k < nKeys; k++) {
          const View& Vw = views[k];
          const uint64_t local = r - Vw.rowStart;
          const bool d = desc[k];
          if (k > 0 && !ValidityBytes(Vw, local, n, vk)) std::memset(vk, 1, n);
          const uint8_t* valid = k == 0 ? va : vk;
          switch (kinds[k]) {
            case SKind::FLOAT:
              DecodeF64(Vw, local, n, dv);
              for (uint32_t i = 0; i < n; i++) enc[i] = EncF(dv[i], d);
              break;
            case SKind::INT:
              DecodeI64(Vw, local, n, iv);
              for (uint32_t i = 0; i < n; i++) enc[i] = EncI(iv[i], d);
              break;
            case SKind::UINT:
              DecodeI64(Vw, local, n, iv);
              for (uint32_t i = 0; i < n; i++) enc[i] = EncU(static_cast<uint64_t>(iv[i]), d);
              break;
            case SKind::DICT: {
              DecodeI64(Vw, local, n, iv);
              const auto& rank = dictRank[k];
              for (uint32_t i = 0; i < n; i++) {
                if (!valid[i] || posOf[i] == ~0ULL) { enc[i] = 0; continue; }
                if (iv[i] < 0 || static_cast<uint64_t>(iv[i]) >= rank.size()) { corrupt.store(true); enc[i] = 0; continue; }
                enc[i] = EncU(rank[iv[i]], d);
              }
              break;
            }
            case SKind::STR:
              for (uint32_t i = 0; i < n; i++) {
                if (!valid[i] || posOf[i] == ~0ULL) { enc[i] = 0; continue; }
                const uint8_t* p; uint64_t len;
                if (!StringAt(Vw, local + i, &p, &len)) { corrupt.store(true); enc[i] = 0; continue; }
                enc[i] = EncU(Prefix(p, len), d);
              }
              break;
          }
          if (k == 0) {
            for (uint32_t i = 0; i < n; i++)
              if (posOf[i] < NA) pairs[posOf[i]] = Pair{enc[i], posOf[i]};
          } else {
            uint64_t* se = sec[k].data();
            uint8_t* sn = secNull[k].data();
            for (uint32_t i = 0; i < n; i++)
              if (posOf[i] != ~0ULL) { se[posOf[i]] = enc[i]; sn[posOf[i]] = !valid[i]; }
          }
        }
      }
    });
    if (!status_.ok()) return;
    lap("encode");
    if (corrupt.load()) {
      status_ = Status::Error("E_CORRUPT", plan.What() + " has corrupt string offsets or dictionary indices in a sort column");
      return;
    }
    if (Cancelled()) { status_ = Status::Error("E_CANCELLED", "cancelled"); return; }
    const uint64_t want = std::min<uint64_t>(limit, total);
    const bool simple = nKeys == 1 && kinds[0] != SKind::STR;
    if (simple) {
      SortRange(pairs.data(), pairs.data() + NA, want, [](const Pair& a, const Pair& b) { return a.key < b.key || (a.key == b.key && a.pos < b.pos); }, true);
    } else {
      SortRange(pairs.data(), pairs.data() + NA, want, [this](const Pair& a, const Pair& b) {
        if (a.key != b.key) return a.key < b.key;
        return LessFrom(0, a.pos, b.pos);
      });
    }
    lap("sort");
    out.Alloc(want);
    outN = want;
    const uint64_t fromA = std::min<uint64_t>(want, NA);
#pragma omp parallel for schedule(static) if (fromA > 100000)
    for (int64_t i = 0; i < static_cast<int64_t>(fromA); i++) out[i] = static_cast<double>(rowOf[pairs[i].pos]);
    if (want > NA) {
      // null first keys: already in row order; sorted by the later keys when there are any
      const uint64_t k = want - NA;
      if (nKeys > 1) {
        auto cmp = [this](uint64_t a, uint64_t b) { return LessFrom(1, a, b); };
        if (k < NB) { std::nth_element(tail.begin(), tail.begin() + k, tail.end(), cmp); std::sort(tail.begin(), tail.begin() + k, cmp); }
        else std::sort(tail.begin(), tail.end(), cmp);
      }
      for (uint64_t i = 0; i < k; i++) out[NA + i] = static_cast<double>(rowOf[tail[i]]);
    }
    lap("output");
    job_->done.store(job_->total.load());
  }

  // What the sort holds at once (pairs twice, row of each position, bucket ids, the result, the
  // later keys): refused with a clear error past 80% of the machine's memory rather than left to
  // the kernel's OOM killer (the arrays are reserved lazily).
  bool TooLarge(uint64_t rows) {
    const double need = static_cast<double>(rows) * (16 * 2 + 8 + 2 + 8 + 9 * (nKeys - 1));
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    const double have = pages > 0 && page > 0 ? static_cast<double>(pages) * static_cast<double>(page) : 0;
    if (!(have > 0 && need > have * 0.8)) return false;
    status_ = Status::Error("E_TOO_LARGE", plan.What() + ": sorting " + Thousands(rows) + " rows needs about " +
                                               Thousands(static_cast<uint64_t>(need / (1 << 20))) + " MiB, more than this machine's memory allows (" +
                                               Thousands(static_cast<uint64_t>(have / (1 << 20))) + " MiB); filter first, or ask for the first rows only");
    return true;
  }

  // Top-N of one non-text key in one pass: each thread keeps the pairs at or below its threshold
  // (the k-th smallest key it has kept so far), cutting its buffer back to k whenever it reaches
  // 2k + 4096; rows with a null key are kept (their first k by row) for a view with fewer than k
  // others. Nothing the size of the table is written.
  void TopN() {
    const uint64_t k = limit;
    const int T = MaxThreads();
    const bool needFilter = !plan.filter.empty();
    const bool d = desc[0];
    const SKind kind = kinds[0];
    auto cmp = [](const Pair& a, const Pair& b) { return a.key < b.key || (a.key == b.key && a.pos < b.pos); };
    struct Local {
      std::vector<Pair> buf;
      std::vector<uint64_t> nulls;
      uint64_t thr = ~0ULL, passed = 0;
      FilterScratch scratch;
    };
    std::vector<Local> loc(T);
    for (Local& L : loc) {
      L.buf.reserve(2 * k + 4096 + kBatch);
      if (needFilter) L.scratch.Init(plan.filter.depth);
    }
    const uint64_t cap = 2 * k + 4096;
    status_ = ParallelScan(plan.segs, job_.get(), plan.What(), [&](const Segment& seg, uint64_t r0, uint64_t r1, int t) {
      Local& L = loc[t];
      View views[64];
      plan.Bind(seg, views);
      uint8_t m[kBatch], va[kBatch];
      double dv[kBatch];
      int64_t iv[kBatch];
      for (uint64_t r = r0; r < r1; r += kBatch) {
        const uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(kBatch, r1 - r));
        if (needFilter) plan.filter.Eval(plan.FilterViews(views), r, n, m, L.scratch);
        else std::memset(m, 1, n);
        const View& Vw = views[0];
        const uint64_t local = r - Vw.rowStart;
        // (a bitmap without a null in the batch counts as none: ingested files keep their bitmaps)
        const bool allValid = !ValidityBytes(Vw, local, n, va) || !std::memchr(va, 0, n);
        if (!needFilter && allValid && kind != SKind::DICT) {
          // every row of the batch passes and has a key (the common case): the keys encoded in
          // one loop the compiler vectorises, a float64 key read where it lies, then one compare
          // a row against the threshold — the per-row tests of the general loop below were most
          // of a top-N's time (355 ms for 1e8 rows against a 55 ms read)
          L.passed += n;
          if (k == 0) continue;
          uint64_t enc[kBatch];
          const Column& c = *Vw.col;
          const uint8_t* at = Vw.data + local * 8;
          if (kind == SKind::FLOAT) {
            const double* src = dv;
            if (c.kind == Kind::NUMERIC && c.dtype == DType::F64 && !c.swap && (reinterpret_cast<uintptr_t>(at) & 7) == 0) src = reinterpret_cast<const double*>(at);
            else DecodeF64(Vw, local, n, dv);
            EncFBatch(src, n, d ? ~0ULL : 0, enc);
          } else {
            DecodeI64(Vw, local, n, iv);
            if (kind == SKind::INT) for (uint32_t i = 0; i < n; i++) enc[i] = EncI(iv[i], d);
            else for (uint32_t i = 0; i < n; i++) enc[i] = EncU(static_cast<uint64_t>(iv[i]), d);
          }
          uint64_t thr = L.thr;
          for (uint32_t i = 0; i < n; i++) {
            if (enc[i] > thr) continue;
            L.buf.push_back(Pair{enc[i], r + i});
            if (L.buf.size() >= cap) {
              std::nth_element(L.buf.begin(), L.buf.begin() + (k - 1), L.buf.end(), cmp);
              L.buf.resize(k);
              thr = L.thr = std::max_element(L.buf.begin(), L.buf.end(), cmp)->key;
            }
          }
          continue;
        }
        if (allValid) std::memset(va, 1, n);
        if (kind == SKind::FLOAT) DecodeF64(Vw, local, n, dv);
        else DecodeI64(Vw, local, n, iv);
        for (uint32_t i = 0; i < n; i++) {
          if (!m[i]) continue;
          L.passed++;
          if (!va[i]) {
            // (threads take segments in any order: the first k by row, not the first k seen)
            if (k == 0) continue;
            L.nulls.push_back(r + i);
            if (L.nulls.size() >= cap) {
              std::nth_element(L.nulls.begin(), L.nulls.begin() + (k - 1), L.nulls.end());
              L.nulls.resize(k);
            }
            continue;
          }
          uint64_t e;
          switch (kind) {
            case SKind::FLOAT: e = EncF(dv[i], d); break;
            case SKind::INT: e = EncI(iv[i], d); break;
            case SKind::UINT: e = EncU(static_cast<uint64_t>(iv[i]), d); break;
            default: {
              const auto& rank = dictRank[0];
              if (iv[i] < 0 || static_cast<uint64_t>(iv[i]) >= rank.size()) { corrupt.store(true); continue; }
              e = EncU(rank[iv[i]], d);
            }
          }
          if (e > L.thr || k == 0) continue;
          L.buf.push_back(Pair{e, r + i});
          if (L.buf.size() >= cap) {
            std::nth_element(L.buf.begin(), L.buf.begin() + (k - 1), L.buf.end(), cmp);
            L.buf.resize(k);
            L.thr = std::max_element(L.buf.begin(), L.buf.end(), cmp)->key;
          }
        }
      }
    });
    if (!status_.ok()) return;
    if (corrupt.load()) {
      status_ = Status::Error("E_CORRUPT", plan.What() + " has corrupt dictionary indices in a sort column");
      return;
    }
    std::vector<Pair> all;
    std::vector<uint64_t> nulls;
    total = 0;
    for (Local& L : loc) {
      total += L.passed;
      all.insert(all.end(), L.buf.begin(), L.buf.end());
      nulls.insert(nulls.end(), L.nulls.begin(), L.nulls.end());
    }
    const uint64_t want = std::min<uint64_t>(k, total);
    const uint64_t fromA = std::min<uint64_t>(want, all.size());
    if (fromA < all.size()) std::nth_element(all.begin(), all.begin() + fromA, all.end(), cmp);
    std::sort(all.begin(), all.begin() + fromA, cmp);
    std::sort(nulls.begin(), nulls.end());
    out.Alloc(want);
    outN = want;
    for (uint64_t i = 0; i < fromA; i++) out[i] = static_cast<double>(all[i].pos);
    for (uint64_t i = fromA; i < want; i++) out[i] = static_cast<double>(nulls[i - fromA]);
    job_->done.store(job_->total.load());
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    auto a = Napi::Float64Array::New(env, outN);
    if (outN) std::memcpy(a.Data(), out.data(), outN * 8);
    out.Free();
    o.Set("rowIds", a);
    o.Set("total", Napi::Number::New(env, static_cast<double>(total)));
    return o;
  }

  friend Napi::Value SortRows(const Napi::CallbackInfo& info);
};

// sortRows(columns: column[], { desc: boolean[], limit? }, filter?, job?)
Napi::Value SortRows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* w = new SortWorker(env);
  Status st;
  const char* usage = "sortRows(columns, { desc, limit? }, filter?, job?)";
  if (info.Length() < 2 || !info[0].IsArray() || !info[1].IsObject()) return w->Start(Status::Error("E_BAD_ARG", usage));
  Napi::Array cols = info[0].As<Napi::Array>();
  if (cols.Length() == 0 || cols.Length() > 16) return w->Start(Status::Error("E_BAD_ARG", "sortRows: 1 to 16 sort columns"));
  for (uint32_t i = 0; i < cols.Length(); i++) {
    ColumnPtr c;
    if (!ParseColumn(cols.Get(i), &c, &st)) return w->Start(st.ok() ? Status::Error("E_BAD_ARG", usage) : st);
    w->plan.Add(c);
  }
  w->nKeys = cols.Length();
  Napi::Object o = info[1].As<Napi::Object>();
  Napi::Value d = o.Get("desc");
  w->desc.assign(w->nKeys, 0);
  if (!d.IsUndefined()) {
    if (!d.IsArray() || d.As<Napi::Array>().Length() != w->nKeys) return w->Start(Status::Error("E_BAD_ARG", "sortRows: desc must be an array of one boolean per column"));
    Napi::Array da = d.As<Napi::Array>();
    for (uint32_t i = 0; i < w->nKeys; i++) w->desc[i] = da.Get(i).ToBoolean().Value() ? 1 : 0;
  }
  if (!o.Get("limit").IsUndefined() && !o.Get("limit").IsNull() && !GetU64(o, "limit", &w->limit, &st)) return w->Start(st);
  if (info.Length() > 2 && !info[2].IsUndefined() && !info[2].IsNull() && !w->plan.AddFilter(info[2], &st)) return w->Start(st);
  if (info.Length() > 3) w->SetJob(GetJob(info[3]));
  return w->Start();
}
Export e_sort("sortRows", SortRows);

}  // namespace
}  // namespace cdx
