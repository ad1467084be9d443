// Column summary in one pass (a second pass only for the histogram, whose range must be known):
// rows, nulls, NaN, ±Inf, min, max (exact for 64-bit integers), mean and std (Chan-merged moments
// over finite values), distinct (exact for small cardinalities, HyperLogLog beyond), quantiles (exact up to
// exactQuantileRows rows, a KLL-style sketch beyond), equal-width histogram, top-k for strings and low-cardinality integers, min/max string
// length (in Unicode code points). Threads fill their own partials, merged at the end.
// Several columns are summarised in the same two scans: a thread takes a morsel of rows and runs
// every column's batch of it (the filter evaluated once a batch for all of them); the histogram
// scan makes every column's histogram together. Extremes, moments and counts are taken in one
// vectorised sweep a batch; values are copied out of the mapping before use (faster than in place).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <atomic>
#include <new>
#include <string>
#include <limits>
#include <string_view>
#include <unordered_map>

#include "plan.h"
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include "sketches.h"

namespace cdx {
namespace {

struct SvHash {
  size_t operator()(std::string_view s) const { return HashBytes(reinterpret_cast<const uint8_t*>(s.data()), s.size()); }
};

// Heavy-hitter counter for strings: exact up to `cap` distinct keys, then Misra-Gries with batch
// decrement (subtract the median count, drop keys at zero) -> counts are lower bounds with error
// <= n / (cap / 2).
struct StrCounter {
  std::unordered_map<std::string_view, uint64_t, SvHash> m;
  size_t cap = 1 << 16;
  bool approximate = false;
  void Add(std::string_view s, uint64_t c = 1) {
    auto it = m.find(s);
    if (it != m.end()) { it->second += c; return; }
    m.emplace(s, c);
    if (m.size() > cap) Shrink();
  }
  void Shrink() {
    approximate = true;
    std::vector<uint64_t> cs;
    cs.reserve(m.size());
    for (auto& kv : m) cs.push_back(kv.second);
    std::nth_element(cs.begin(), cs.begin() + cs.size() / 2, cs.end());
    const uint64_t med = cs[cs.size() / 2];
    for (auto it = m.begin(); it != m.end();) {
      if (it->second <= med) it = m.erase(it);
      else { it->second -= med; ++it; }
    }
  }
  void Merge(const StrCounter& o) {
    approximate |= o.approximate;
    for (auto& kv : o.m) Add(kv.first, kv.second);
  }
};

struct Partial {
  uint64_t rows = 0, nulls = 0, nan = 0, posInf = 0, negInf = 0;
  double min = INFINITY, max = -INFINITY;
  double fmin = INFINITY, fmax = -INFINITY;  // over finite values
  int64_t imin = std::numeric_limits<int64_t>::max(), imax = std::numeric_limits<int64_t>::min();
  uint64_t umin = std::numeric_limits<uint64_t>::max(), umax = 0;
  uint64_t minLen = std::numeric_limits<uint64_t>::max(), maxLen = 0;
  // lexicographic (byte-wise = code point order for UTF-8) extremes of strings; views into the mapping
  std::string_view smin, smax;
  bool anyStr = false;
  bool corrupt = false;
  Moments mom;
  HLL hll;
  QuantileSketch qs;
  IntCounter ints;  // integers by value; floats by bit pattern (exact distinct only)
  StrCounter strs;
  std::vector<uint64_t> dictCounts;
  std::vector<double> hist;
  Partial(uint32_t distinctLimit, uint64_t seed) : qs(1024, seed), ints(distinctLimit) {}
};

inline uint64_t Utf8Len(const uint8_t* p, uint64_t n) {
  uint64_t c = 0;
  for (uint64_t i = 0; i < n; i++) c += (p[i] & 0xC0) != 0x80;
  return c;
}

// Statistics of a block of doubles in one branchless sweep with independent lanes (no loop-carried
// chain through one accumulator; the compiler vectorises the lanes): min/max over non-NaN values
// (a NaN never wins a `<` comparison), min/max/sum over finite values, NaN and finite counts.
struct BlockStats {
  double mn = INFINITY, mx = -INFINITY, fmn = INFINITY, fmx = -INFINITY, sum = 0;
  uint32_t nan = 0, fin = 0;
};
inline BlockStats Sweep(const double* d, uint32_t m) {
  BlockStats b;
  uint32_t i = 0;
#if defined(__SSE2__)
  // two vectors of two lanes (SSE2 is part of x86-64); min_pd(x, a) is a when x is NaN
  const __m128d inf = _mm_set1_pd(INFINITY), ninf = _mm_set1_pd(-INFINITY), zero = _mm_setzero_pd(), one = _mm_set1_pd(1.0);
  __m128d mn[2] = {inf, inf}, mx[2] = {ninf, ninf}, fmn[2] = {inf, inf}, fmx[2] = {ninf, ninf};
  __m128d s[2] = {zero, zero}, nanc[2] = {zero, zero}, finc[2] = {zero, zero};
  for (; i + 4 <= m; i += 4)
    for (int j = 0; j < 2; j++) {
      const __m128d x = _mm_loadu_pd(d + i + 2 * j);
      const __m128d fin = _mm_cmpeq_pd(_mm_sub_pd(x, x), zero);
      mn[j] = _mm_min_pd(x, mn[j]);
      mx[j] = _mm_max_pd(x, mx[j]);
      const __m128d fx = _mm_and_pd(fin, x);
      fmn[j] = _mm_min_pd(_mm_or_pd(fx, _mm_andnot_pd(fin, inf)), fmn[j]);
      fmx[j] = _mm_max_pd(_mm_or_pd(fx, _mm_andnot_pd(fin, ninf)), fmx[j]);
      s[j] = _mm_add_pd(s[j], fx);
      nanc[j] = _mm_add_pd(nanc[j], _mm_and_pd(_mm_cmpunord_pd(x, x), one));
      finc[j] = _mm_add_pd(finc[j], _mm_and_pd(fin, one));
    }
  alignas(16) double t[2];
  auto lanes = [&t](__m128d v, auto f) { _mm_store_pd(t, v); f(t[0]); f(t[1]); };
  for (int j = 0; j < 2; j++) {
    lanes(mn[j], [&](double v) { b.mn = std::min(b.mn, v); });
    lanes(mx[j], [&](double v) { b.mx = std::max(b.mx, v); });
    lanes(fmn[j], [&](double v) { b.fmn = std::min(b.fmn, v); });
    lanes(fmx[j], [&](double v) { b.fmx = std::max(b.fmx, v); });
    lanes(s[j], [&](double v) { b.sum += v; });
    lanes(nanc[j], [&](double v) { b.nan += static_cast<uint32_t>(v); });
    lanes(finc[j], [&](double v) { b.fin += static_cast<uint32_t>(v); });
  }
#endif
  for (; i < m; i++) {
    const double x = d[i];
    b.mn = x < b.mn ? x : b.mn;
    b.mx = x > b.mx ? x : b.mx;
    if ((x - x) == 0) { b.fmn = std::min(b.fmn, x); b.fmx = std::max(b.fmx, x); b.sum += x; b.fin++; }
    b.nan += x != x;
  }
  return b;
}
// Sum of squared deviations from `mean` over the finite values of d[0, m).
inline double SumSq(const double* d, uint32_t m, double mean) {
  double r = 0;
  uint32_t i = 0;
#if defined(__SSE2__)
  const __m128d mu = _mm_set1_pd(mean), zero = _mm_setzero_pd();
  __m128d s[2] = {zero, zero};
  for (; i + 4 <= m; i += 4)
    for (int j = 0; j < 2; j++) {
      const __m128d x = _mm_loadu_pd(d + i + 2 * j);
      const __m128d e = _mm_and_pd(_mm_cmpeq_pd(_mm_sub_pd(x, x), zero), _mm_sub_pd(x, mu));
      s[j] = _mm_add_pd(s[j], _mm_mul_pd(e, e));
    }
  alignas(16) double t[2];
  _mm_store_pd(t, _mm_add_pd(s[0], s[1]));
  r = t[0] + t[1];
#endif
  for (; i < m; i++) {
    const double x = d[i];
    const double e = (x - x) == 0 ? x - mean : 0.0;
    r += e * e;
  }
  return r;
}

// One column of a summary: its settings, its per-thread partials during the passes, its results.
struct ColSummary {
  ColumnPtr colp;
  const Column* col = nullptr;
  Kind kind = Kind::NUMERIC;
  DType dtype = DType::INVALID;
  bool isStr = false, isInt = false, wantHist = false;
  bool exactQ = false;
  double exactQuantiles[7] = {NAN, NAN, NAN, NAN, NAN, NAN, NAN};
  // the kept values: one uninitialised block of `rows` doubles, filled by the threads through an
  // atomic cursor (no per-thread growth, no merge copy; a block this large is mapped and unmapped
  // by malloc, so the memory goes back to the system at the end of the pass)
  std::unique_ptr<double[]> qvals;
  std::atomic<uint64_t> qfill{0};
  std::vector<std::unique_ptr<Partial>> parts;  // per thread
  std::vector<std::vector<uint64_t>> hs;         // per thread: 4 interleaved copies of bins + 1 (the last one a trash bin)
  StringColumnReader dictReader;

  std::unique_ptr<Partial> res;
  std::vector<std::pair<double, double>> qsorted;
  double qtotal = 0;
  double histLo = NAN, histHi = NAN, histScale = 0;
  bool histOn = false;
  std::vector<std::pair<std::string, uint64_t>> topStr;
  std::vector<std::pair<int64_t, uint64_t>> topInt;
  bool topApprox = false, topAvailable = false;
  double distinct = 0;
  bool distinctExact = false;
  std::string strMin, strMax;
};

class SummaryWorker : public PromiseWorker {
 public:
  explicit SummaryWorker(Napi::Env env) : PromiseWorker(env, "cdx.summary") {}
  Plan plan;
  bool many = false;  // called with a list of columns: the result is a list
  uint32_t bins = 20, topk = 10, lowCard = 1000;
  // numbers are counted exactly (and distinct is exact) up to this many distinct values, as strings are
  uint32_t exactDistinct = 1 << 16;
  uint32_t DistinctLimit() const { return std::max(lowCard, exactDistinct); }
  // columns of at most this many rows get exact quantiles (8 bytes a value held for the pass);
  // larger ones the sketch's (rank error well under 1 %)
  uint64_t exactQuantileRows = 10'000'000;
  void SetJob(JobPtr j) { job_ = std::move(j); }
  std::vector<std::unique_ptr<ColSummary>> cs;

 protected:
  // pass 1 over one batch of a string column
  void StrBatch(ColSummary& C, Partial& P, const View& V, uint64_t local, uint32_t n, bool needFilter, const uint8_t* mask,
                bool hasNull, const uint8_t* valid) {
    for (uint32_t i = 0; i < n; i++) {
      if (needFilter && !mask[i]) continue;
      P.rows++;
      if (hasNull && !valid[i]) { P.nulls++; continue; }
      if (C.kind == Kind::DICT) {
        int64_t k = DictIndex(V, local + i);
        if (k < 0 || static_cast<uint64_t>(k) >= P.dictCounts.size()) { P.corrupt = true; continue; }
        P.dictCounts[k]++;
        continue;
      }
      const uint8_t* p; uint64_t len;
      if (!StringAt(V, local + i, &p, &len)) { P.corrupt = true; continue; }
      P.hll.Add(HashBytes(p, len));
      const uint64_t cl = Utf8Len(p, len);
      P.minLen = std::min(P.minLen, cl);
      P.maxLen = std::max(P.maxLen, cl);
      const std::string_view sv(reinterpret_cast<const char*>(p), len);
      if (!P.anyStr) { P.smin = P.smax = sv; P.anyStr = true; }
      else if (sv < P.smin) P.smin = sv;
      else if (sv > P.smax) P.smax = sv;
      P.strs.Add(sv);
    }
  }

  // pass 1 over one batch of a numeric column; xs, ys, iv: kBatch-sized scratch
  void NumBatch(ColSummary& C, Partial& P, const View& V, uint64_t local, uint32_t n, bool needFilter, const uint8_t* mask,
                bool hasNull, const uint8_t* valid, double* xs, double* ys, int64_t* iv) {
    // (copied first even where the values could be read in place: a bulk copy streams from memory
    // faster than the loops' own loads, measured 10-50% on whole passes)
    DecodeF64(V, local, n, xs);
    const double* src = xs;
    const bool isInt = C.isInt;
    if (isInt) DecodeI64(V, local, n, iv);
    // keep the rows that pass the filter and are not null (branchless: nulls are often unpredictable)
    const double* d = src;
    uint32_t m = n;
    if (needFilter || hasNull) {
      m = 0;
      uint64_t rows = 0, nulls = 0;
      for (uint32_t i = 0; i < n; i++) {
        const uint32_t k = needFilter ? mask[i] : 1u;
        const uint32_t v = hasNull ? valid[i] : 1u;
        rows += k;
        nulls += k & (v ^ 1u);
        xs[m] = src[i];  // (in place when src is xs: m <= i)
        if (isInt) iv[m] = iv[i];
        m += k & v;
      }
      P.rows += rows;
      P.nulls += nulls;
      d = xs;
    } else {
      P.rows += n;
    }
    if (m == 0) return;
    const BlockStats b = Sweep(d, m);
    P.min = std::min(P.min, b.mn); P.max = std::max(P.max, b.mx);
    P.fmin = std::min(P.fmin, b.fmn); P.fmax = std::max(P.fmax, b.fmx);
    P.nan += b.nan;
    uint32_t nn = m;
    if (b.nan) {  // (floats only) the non-NaN values, in order
      nn = 0;
      for (uint32_t i = 0; i < m; i++) { const double x = d[i]; ys[nn] = x; nn += x == x; }
      d = ys;
    }
    if (b.fin != nn)
      for (uint32_t i = 0; i < nn; i++) { P.posInf += d[i] == INFINITY; P.negInf += d[i] == -INFINITY; }
    if (b.fin) {
      const double mean = b.sum / b.fin;
      P.mom.Merge(Moments{static_cast<double>(b.fin), mean, SumSq(d, nn, mean)});
    }
    if (C.exactQ) {
      const uint64_t at = C.qfill.fetch_add(nn, std::memory_order_relaxed);
      std::memcpy(C.qvals.get() + at, d, sizeof(double) * nn);
    } else {
      P.qs.AddBatch(d, nn);
    }
    if (isInt) {
      // (integers are never NaN: nn == m and iv lines up with d)
      if (C.dtype == DType::I64) for (uint32_t i = 0; i < m; i++) { P.imin = std::min(P.imin, iv[i]); P.imax = std::max(P.imax, iv[i]); }
      if (C.dtype == DType::U64) for (uint32_t i = 0; i < m; i++) { uint64_t u = static_cast<uint64_t>(iv[i]); P.umin = std::min(P.umin, u); P.umax = std::max(P.umax, u); }
      for (uint32_t i = 0; i < m; i++) P.hll.Add(Mix64(static_cast<uint64_t>(iv[i]) ^ 0x2545f4914f6cdd1dULL));
      if (!P.ints.overflow()) for (uint32_t i = 0; i < m; i++) P.ints.Add(iv[i]);
    } else {
      for (uint32_t i = 0; i < nn; i++) P.hll.Add(HashDouble(d[i]));
      // exact distinct for low-cardinality floats: count bit patterns (-0.0 folded into 0.0)
      if (!P.ints.overflow())
        for (uint32_t i = 0; i < nn; i++) {
          const double x = d[i] == 0 ? 0.0 : d[i];
          int64_t bits;
          std::memcpy(&bits, &x, 8);
          P.ints.Add(bits);
        }
    }
  }

  // pass 2 over one batch of a numeric column: the histogram over [histLo, histHi]
  void HistBatch(const ColSummary& C, uint64_t* h, const View& V, uint64_t local, uint32_t n, bool needFilter, const uint8_t* mask,
                 double* xs, uint8_t* valid, uint32_t* idx) const {
    const bool hasNull = ValidityBytes(V, local, n, valid);
    // (copied first, as in pass 1: measured 2x faster on this pass than reading in place)
    DecodeF64(V, local, n, xs);
    const double* src = xs;
    const double lo = C.histLo, scale = C.histScale;
    const uint32_t B = bins;
    const double top = static_cast<double>(B - 1);
    // branchless (nulls are often unpredictable): the scaled value clamped to [0, B - 1] before the
    // conversion (NaN and ±Inf included, so it is always defined); rows not counted go to bin B
    auto binOf = [lo, scale, B, top](double x, uint32_t use) -> uint32_t {
      double f = (x - lo) * scale;
      f = f > 0.0 ? f : 0.0;  // (NaN -> 0)
      f = f < top ? f : top;  // hi itself goes in the last bin
      const uint32_t b = static_cast<uint32_t>(static_cast<int32_t>(f));
      const uint32_t ok = use & static_cast<uint32_t>((x - x) == 0);  // finite
      const uint32_t keep = 0u - ok;                                   // all ones when counted
      return (b & keep) | (B & ~keep);
    };
    if (needFilter && hasNull) for (uint32_t i = 0; i < n; i++) idx[i] = binOf(src[i], mask[i] & valid[i]);
    else if (needFilter) for (uint32_t i = 0; i < n; i++) idx[i] = binOf(src[i], mask[i]);
    else if (hasNull) for (uint32_t i = 0; i < n; i++) idx[i] = binOf(src[i], valid[i]);
    else for (uint32_t i = 0; i < n; i++) idx[i] = binOf(src[i], 1u);
    // 4 interleaved copies: no store->load chain on a hot bin
    const uint32_t stride = B + 1;
    uint64_t* h0 = h;
    uint64_t* h1 = h + stride;
    uint64_t* h2 = h + 2 * stride;
    uint64_t* h3 = h + 3 * stride;
    uint32_t i = 0;
    for (; i + 4 <= n; i += 4) { h0[idx[i]]++; h1[idx[i + 1]]++; h2[idx[i + 2]]++; h3[idx[i + 3]]++; }
    for (; i < n; i++) h0[idx[i]]++;
  }

  void Run() override {
    status_ = plan.Prepare(1 << 16);
    if (!status_.ok()) return;
    const size_t K = plan.nKernel;
    const int T = MaxThreads();
    cs.clear();
    bool anyHist = false;
    for (size_t c = 0; c < K; c++) {
      auto C = std::make_unique<ColSummary>();
      C->colp = plan.cols[c];
      C->col = C->colp.get();
      const Column& col = *C->col;
      C->kind = col.kind;
      C->dtype = col.dtype;
      C->isStr = col.IsString();
      C->isInt = !C->isStr && !IsFloat(col.dtype);
      C->wantHist = !C->isStr && bins > 0;
      C->exactQ = !C->isStr && plan.rows <= exactQuantileRows;
      if (C->exactQ && plan.rows > 0) C->qvals.reset(new (std::nothrow) double[plan.rows]);
      if (C->exactQ && plan.rows > 0 && !C->qvals) C->exactQ = false;  // no room: the sketch
      C->parts.resize(T);
      if (col.kind == Kind::DICT) C->dictReader.Bind(*col.dict);
      anyHist |= C->wantHist;
      if (col.file.file && plan.rows > (64ULL << 20)) col.file.file->AdviseSequential(0, col.file.file->size());
      cs.push_back(std::move(C));
    }
    job_->total.store(plan.rows * (anyHist ? 2 : 1));
    std::vector<FilterScratch> scratch(T);
    const bool needFilter = !plan.filter.empty();
    // Every slot, up front: with dynamic scheduling, pass 2 (histogram) can run a morsel on a
    // thread that took none in pass 1, so scratch set up lazily in pass 1 would be empty there.
    if (needFilter) for (FilterScratch& s : scratch) s.Init(plan.filter.depth);

    // Pass 1: every column of a morsel while its rows are at hand (the filter evaluated once)
    auto pass1 = [&](const Segment& seg, uint64_t r0, uint64_t r1, int t) {
      View views[64];
      plan.Bind(seg, views);
      double xs[kBatch], ys[kBatch];
      int64_t iv[kBatch];
      uint8_t valid[kBatch], mask[kBatch];
      for (uint64_t r = r0; r < r1; r += kBatch) {
        const uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(kBatch, r1 - r));
        if (needFilter) plan.filter.Eval(plan.FilterViews(views), r, n, mask, scratch[t]);
        for (size_t c = 0; c < K; c++) {
          ColSummary& C = *cs[c];
          if (!C.parts[t]) {
            C.parts[t] = std::make_unique<Partial>(DistinctLimit(), 0x9e3779b97f4a7c15ULL * (t + 1) + c);
            if (C.kind == Kind::DICT) C.parts[t]->dictCounts.assign(C.col->dict->rows, 0);
          }
          const View& V = views[c];
          const uint64_t local = r - V.rowStart;
          const bool hasNull = ValidityBytes(V, local, n, valid);
          if (C.isStr) StrBatch(C, *C.parts[t], V, local, n, needFilter, mask, hasNull, valid);
          else NumBatch(C, *C.parts[t], V, local, n, needFilter, mask, hasNull, valid, xs, ys, iv);
        }
      }
    };
    status_ = ParallelScan(plan.segs, job_.get(), plan.What(), pass1);
    if (!status_.ok()) return;

    bool pass2 = false;
    for (auto& C : cs) {
      status_ = Finish(*C);
      if (!status_.ok()) return;
      pass2 |= C->histOn;
    }
    if (!pass2) return;

    // Pass 2: the histograms over the finite ranges, every column of a morsel together
    for (auto& C : cs) if (C->histOn) C->hs.resize(T);
    auto pass2body = [&](const Segment& seg, uint64_t r0, uint64_t r1, int t) {
      View views[64];
      plan.Bind(seg, views);
      double xs[kBatch];
      uint32_t idx[kBatch];
      uint8_t valid[kBatch], mask[kBatch];
      for (uint64_t r = r0; r < r1; r += kBatch) {
        const uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(kBatch, r1 - r));
        if (needFilter) plan.filter.Eval(plan.FilterViews(views), r, n, mask, scratch[t]);
        for (size_t c = 0; c < K; c++) {
          ColSummary& C = *cs[c];
          if (!C.histOn) continue;
          auto& h = C.hs[t];
          if (h.empty()) h.assign(static_cast<size_t>(bins + 1) * 4, 0);
          const View& V = views[c];
          HistBatch(C, h.data(), V, r - V.rowStart, n, needFilter, mask, xs, valid, idx);
        }
      }
    };
    status_ = ParallelScan(plan.segs, job_.get(), plan.What(), pass2body);
    if (!status_.ok()) return;
    for (auto& C : cs) {
      if (!C->histOn) continue;
      std::vector<double> hist(bins, 0.0);
      const uint32_t stride = bins + 1;
      for (auto& h : C->hs)
        if (!h.empty())
          for (uint32_t b = 0; b < bins; b++) hist[b] += static_cast<double>(h[b] + h[stride + b] + h[2 * stride + b] + h[3 * stride + b]);
      C->res->hist = std::move(hist);
      C->hs.clear();
    }
  }

  // After pass 1: merge the threads' partials, quantiles, distinct, top-k; the histogram's range.
  Status Finish(ColSummary& C) {
    const Column& col = *C.col;
    auto res = std::make_unique<Partial>(DistinctLimit(), 1);
    if (col.kind == Kind::DICT) res->dictCounts.assign(col.dict->rows, 0);
    for (auto& p : C.parts) {
      if (!p) continue;
      Partial& P = *p;
      res->rows += P.rows; res->nulls += P.nulls; res->nan += P.nan; res->posInf += P.posInf; res->negInf += P.negInf;
      res->min = std::min(res->min, P.min); res->max = std::max(res->max, P.max);
      res->fmin = std::min(res->fmin, P.fmin); res->fmax = std::max(res->fmax, P.fmax);
      res->imin = std::min(res->imin, P.imin); res->imax = std::max(res->imax, P.imax);
      res->umin = std::min(res->umin, P.umin); res->umax = std::max(res->umax, P.umax);
      res->minLen = std::min(res->minLen, P.minLen); res->maxLen = std::max(res->maxLen, P.maxLen);
      if (P.anyStr) {
        if (!res->anyStr) { res->smin = P.smin; res->smax = P.smax; res->anyStr = true; }
        else { res->smin = std::min(res->smin, P.smin); res->smax = std::max(res->smax, P.smax); }
      }
      res->corrupt |= P.corrupt;
      res->mom.Merge(P.mom);
      res->hll.Merge(P.hll);
      res->qs.Merge(P.qs);
      res->ints.Merge(P.ints);
      res->strs.Merge(P.strs);
      for (size_t k = 0; k < P.dictCounts.size(); k++) res->dictCounts[k] += P.dictCounts[k];
      p.reset();  // (its memory back before the next column's merge)
    }
    C.parts.clear();
    C.res = std::move(res);
    Partial* R = C.res.get();
    if (R->corrupt) return Status::Error("E_CORRUPT", "column " + col.name + " of " + plan.What() + " has corrupt string offsets or dictionary indices");
    if (C.exactQ) {
      // the k-th smallest value with k = ceil(q n) (the sketch's definition, DuckDB's quantile_disc).
      // The median first, then each half holds the quantiles on its side: about 2.5 n element
      // visits for the seven instead of 5 n for ascending selections; the halves run in parallel.
      static const double ps[] = {0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99};
      double* v = C.qvals.get();
      const uint64_t n = C.qfill.load();
      double* out = C.exactQuantiles;
      if (n > 0) {
        uint64_t ks[7];
        for (int i = 0; i < 7; i++) {
          uint64_t k = static_cast<uint64_t>(std::ceil(ps[i] * static_cast<double>(n)));
          ks[i] = std::min<uint64_t>(k == 0 ? 0 : k - 1, n - 1);
        }
        // select ks[a..b) within v[lo, hi) (every ks in range, ascending)
        // (equal ranks in a small column: a k outside [lo, hi) is the value already placed beside it)
        std::function<void(int, int, uint64_t, uint64_t)> sel = [&](int a, int b, uint64_t lo, uint64_t hi) {
          if (a >= b) return;
          const int m = (a + b) / 2;
          const uint64_t k = ks[m];
          if (k < lo) out[m] = v[lo - 1];
          else if (k >= hi) out[m] = v[hi];
          else { std::nth_element(v + lo, v + k, v + hi); out[m] = v[k]; }
          sel(a, m, lo, std::min(std::max(k, lo), hi));
          sel(m + 1, b, std::min(std::max(k + 1, lo), hi), hi);
        };
        std::nth_element(v, v + ks[3], v + n);
        out[3] = v[ks[3]];
#pragma omp parallel sections num_threads(2)
        {
#pragma omp section
          sel(0, 3, 0, ks[3]);
#pragma omp section
          sel(4, 7, ks[3] + 1, n);
        }
      }
      C.qvals.reset();
    } else if (!C.isStr) {
      R->qs.Sorted(&C.qsorted, &C.qtotal);
    }

    if (col.kind == Kind::DICT) {
      // Fold dictionary counts into string counts (dictionary entries may repeat).
      StrCounter sc;
      sc.cap = std::numeric_limits<size_t>::max();
      for (uint64_t k = 0; k < R->dictCounts.size(); k++) {
        if (!R->dictCounts[k]) continue;
        const uint8_t* p; uint64_t len;
        if (!C.dictReader.Get(k, &p, &len)) return Status::Error("E_CORRUPT", "corrupt dictionary of column " + col.name);
        if (!p) { R->nulls += R->dictCounts[k]; continue; }  // null dictionary entry
        const std::string_view sv(reinterpret_cast<const char*>(p), len);
        if (!R->anyStr) { R->smin = R->smax = sv; R->anyStr = true; }
        else if (sv < R->smin) R->smin = sv;
        else if (sv > R->smax) R->smax = sv;
        sc.Add(sv, R->dictCounts[k]);
        const uint64_t cl = Utf8Len(p, len);
        R->minLen = std::min(R->minLen, cl);
        R->maxLen = std::max(R->maxLen, cl);
      }
      R->strs = std::move(sc);
      C.distinct = static_cast<double>(R->strs.m.size());
      C.distinctExact = true;
    } else {
      C.distinct = std::round(R->hll.Estimate());
      // small cardinalities are known exactly from the counters; only larger ones are estimates
      if (C.isStr && !R->strs.approximate) { C.distinct = static_cast<double>(R->strs.m.size()); C.distinctExact = true; }
      if (!C.isStr && !R->ints.overflow()) {
        double d = 0;
        R->ints.ForEach([&](int64_t, uint64_t) { d += 1; });
        C.distinct = d;
        C.distinctExact = true;
      }
    }
    if (R->anyStr) { C.strMin.assign(R->smin); C.strMax.assign(R->smax); }
    // an estimate never exceeds the values counted
    C.distinct = std::min(C.distinct, static_cast<double>(R->rows - R->nulls));
    // Top-k
    if (C.isStr) {
      std::vector<std::pair<std::string_view, uint64_t>> v(R->strs.m.begin(), R->strs.m.end());
      std::sort(v.begin(), v.end(), [](auto& a, auto& b) { return a.second != b.second ? a.second > b.second : a.first < b.first; });
      for (size_t i = 0; i < v.size() && i < topk; i++) C.topStr.emplace_back(std::string(v[i].first), v[i].second);
      C.topApprox = R->strs.approximate;
      C.topAvailable = true;
    } else if (!IsFloat(col.dtype) && !R->ints.overflow() && R->ints.size() <= lowCard) {
      R->ints.ForEach([&](int64_t k, uint64_t c) { C.topInt.emplace_back(k, c); });
      std::sort(C.topInt.begin(), C.topInt.end(), [](auto& a, auto& b) { return a.second != b.second ? a.second > b.second : a.first < b.first; });
      if (C.topInt.size() > topk) C.topInt.resize(topk);
      C.topAvailable = true;
    }
    // the sketches' memory is not needed past this point
    R->hll = HLL{};
    R->hll.reg.clear(); R->hll.reg.shrink_to_fit();
    R->ints = IntCounter(1);
    R->qs = QuantileSketch(1);
    R->strs = StrCounter{};
    R->dictCounts.clear(); R->dictCounts.shrink_to_fit();

    // the histogram's range: finite min and max
    if (C.wantHist && R->mom.n > 0) {
      double lo = R->fmin, hi = R->fmax;
      if (!(hi > lo)) hi = lo + 1;  // single value: one bin [v, v+1) holds it
      C.histLo = lo; C.histHi = hi;
      C.histScale = bins / (hi - lo);
      C.histOn = true;
    }
    return Status::Ok();
  }

  Napi::Value ResultOf(Napi::Env env, const ColSummary& C) const {
    const Partial& R = *C.res;
    Napi::Object o = Napi::Object::New(env);
    o.Set("rows", static_cast<double>(R.rows));
    o.Set("nulls", static_cast<double>(R.nulls));
    o.Set("count", static_cast<double>(R.rows - R.nulls));
    o.Set("distinct", C.distinct);
    o.Set("distinctExact", C.distinctExact);
    if (C.topAvailable) {
      Napi::Array a = Napi::Array::New(env);
      uint32_t i = 0;
      for (auto& [s, c] : C.topStr) {
        Napi::Object e = Napi::Object::New(env);
        e.Set("value", Napi::String::New(env, s));
        e.Set("count", static_cast<double>(c));
        a.Set(i++, e);
      }
      for (auto& [k, c] : C.topInt) {
        Napi::Object e = Napi::Object::New(env);
        if (C.dtype == DType::I64) e.Set("value", Napi::BigInt::New(env, k));
        else if (C.dtype == DType::U64) e.Set("value", Napi::BigInt::New(env, static_cast<uint64_t>(k)));
        else e.Set("value", static_cast<double>(k));
        e.Set("count", static_cast<double>(c));
        a.Set(i++, e);
      }
      o.Set("topk", a);
      o.Set("topkApproximate", C.topApprox);
    }
    if (C.isStr) {
      const bool any = R.maxLen > 0 || R.minLen != std::numeric_limits<uint64_t>::max();
      o.Set("minLength", any ? static_cast<double>(R.minLen) : NAN);
      o.Set("maxLength", any ? static_cast<double>(R.maxLen) : NAN);
      if (R.anyStr) {
        o.Set("minString", Napi::String::New(env, C.strMin));
        o.Set("maxString", Napi::String::New(env, C.strMax));
      }
      return o;
    }
    const bool any = R.rows - R.nulls - R.nan > 0;
    o.Set("nanCount", static_cast<double>(R.nan));
    o.Set("posInfCount", static_cast<double>(R.posInf));
    o.Set("negInfCount", static_cast<double>(R.negInf));
    o.Set("min", any ? R.min : NAN);
    o.Set("max", any ? R.max : NAN);
    if (any && C.dtype == DType::I64) { o.Set("minExact", Napi::BigInt::New(env, R.imin)); o.Set("maxExact", Napi::BigInt::New(env, R.imax)); }
    if (any && C.dtype == DType::U64) { o.Set("minExact", Napi::BigInt::New(env, R.umin)); o.Set("maxExact", Napi::BigInt::New(env, R.umax)); }
    o.Set("mean", R.mom.n > 0 ? R.mom.mean : NAN);
    o.Set("std", R.mom.n > 1 ? std::sqrt(R.mom.m2 / (R.mom.n - 1)) : NAN);
    Napi::Object q = Napi::Object::New(env);
    static const double ps[] = {0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99};
    static const char* names[] = {"p1", "p5", "p25", "p50", "p75", "p95", "p99"};
    for (int i = 0; i < 7; i++) q.Set(names[i], C.exactQ ? C.exactQuantiles[i] : QuantileSketch::Query(C.qsorted, C.qtotal, ps[i]));
    o.Set("quantiles", q);
    o.Set("quantilesExact", C.exactQ);
    if (!R.hist.empty()) {
      Napi::Object h = Napi::Object::New(env);
      h.Set("lo", C.histLo);
      h.Set("hi", C.histHi);
      auto c = Napi::Float64Array::New(env, R.hist.size());
      std::memcpy(c.Data(), R.hist.data(), R.hist.size() * 8);
      h.Set("counts", c);
      o.Set("histogram", h);
    }
    return o;
  }

  Napi::Value Result(Napi::Env env) override {
    if (!many) return ResultOf(env, *cs[0]);
    Napi::Array a = Napi::Array::New(env, cs.size());
    for (size_t i = 0; i < cs.size(); i++) a.Set(static_cast<uint32_t>(i), ResultOf(env, *cs[i]));
    return a;
  }
};

// summary(column | columns[], { bins?, topk?, lowCardinality?, exactDistinct?, exactQuantileRows? }, filter?, job?)
// A list of columns is summarised in one scan (each morsel's rows of every column together; one
// more scan for all the histograms) and gives a list of summaries in the same order.
Napi::Value Summary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* w = new SummaryWorker(env);
  Status st;
  const char* usage = "summary(column | columns, options)";
  if (info.Length() < 1) return w->Start(Status::Error("E_BAD_ARG", usage));
  if (info[0].IsArray()) {
    Napi::Array a = info[0].As<Napi::Array>();
    if (a.Length() == 0) return w->Start(Status::Error("E_BAD_ARG", "summary: no columns"));
    w->many = true;
    for (uint32_t i = 0; i < a.Length(); i++) {
      ColumnPtr c;
      if (!ParseColumn(a.Get(i), &c, &st)) return w->Start(st.ok() ? Status::Error("E_BAD_ARG", usage) : st);
      w->plan.Add(c);
    }
  } else {
    ColumnPtr c;
    if (!ParseColumn(info[0], &c, &st)) return w->Start(st.ok() ? Status::Error("E_BAD_ARG", usage) : st);
    w->plan.Add(c);
  }
  if (info.Length() > 1 && info[1].IsObject()) {
    Napi::Object o = info[1].As<Napi::Object>();
    uint64_t v;
    if (!o.Get("bins").IsUndefined()) { if (!GetU64(o, "bins", &v, &st)) return w->Start(st); w->bins = static_cast<uint32_t>(std::min<uint64_t>(v, 1 << 20)); }
    if (!o.Get("topk").IsUndefined()) { if (!GetU64(o, "topk", &v, &st)) return w->Start(st); w->topk = static_cast<uint32_t>(std::min<uint64_t>(v, 100000)); }
    if (!o.Get("exactQuantileRows").IsUndefined()) { if (!GetU64(o, "exactQuantileRows", &v, &st)) return w->Start(st); w->exactQuantileRows = v; }
    if (!o.Get("exactDistinct").IsUndefined()) { if (!GetU64(o, "exactDistinct", &v, &st)) return w->Start(st); w->exactDistinct = static_cast<uint32_t>(std::min<uint64_t>(v, 1 << 22)); }
    if (!o.Get("lowCardinality").IsUndefined()) { if (!GetU64(o, "lowCardinality", &v, &st)) return w->Start(st); w->lowCard = static_cast<uint32_t>(std::min<uint64_t>(std::max<uint64_t>(v, 1), 1 << 20)); }
  }
  if (info.Length() > 2 && !w->plan.AddFilter(info[2], &st)) return w->Start(st);
  if (info.Length() > 3) w->SetJob(GetJob(info[3]));
  return w->Start();
}
Export e_summary("summary", Summary);

}  // namespace
}  // namespace cdx
