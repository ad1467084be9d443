// Column summary in one pass (a second pass only for the histogram, whose range must be known):
// rows, nulls, NaN, ±Inf, min, max (exact for 64-bit integers), mean and std (Chan-merged moments
// over finite values), distinct (exact for small cardinalities, HyperLogLog beyond), quantiles (exact up to
// exactQuantileRows rows, a KLL-style sketch beyond), equal-width histogram, top-k for strings and low-cardinality integers, min/max string
// length (in Unicode code points). Threads fill their own partials, merged at the end.
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

class SummaryWorker : public PromiseWorker {
 public:
  explicit SummaryWorker(Napi::Env env) : PromiseWorker(env, "cdx.summary") {}
  Plan plan;
  uint32_t bins = 20, topk = 10, lowCard = 1000;
  // numbers are counted exactly (and distinct is exact) up to this many distinct values, as strings are
  uint32_t exactDistinct = 1 << 16;
  uint32_t DistinctLimit() const { return std::max(lowCard, exactDistinct); }
  // columns of at most this many rows get exact quantiles (8 bytes a value held for the pass);
  // larger ones the sketch's (rank error well under 1 %)
  uint64_t exactQuantileRows = 10'000'000;
  bool exactQ = false;
  double exactQuantiles[7] = {NAN, NAN, NAN, NAN, NAN, NAN, NAN};
  // the kept values: one uninitialised block of `rows` doubles, filled by the threads through an
  // atomic cursor (no per-thread growth, no merge copy; a block this large is mapped and unmapped
  // by malloc, so the memory goes back to the system at the end of the pass)
  std::unique_ptr<double[]> qvals;
  std::atomic<uint64_t> qfill{0};
  void SetJob(JobPtr j) { job_ = std::move(j); }

  std::unique_ptr<Partial> res;
  std::vector<std::pair<double, double>> qsorted;
  double qtotal = 0;
  double histLo = NAN, histHi = NAN;
  std::vector<std::pair<std::string, uint64_t>> topStr;
  std::vector<std::pair<int64_t, uint64_t>> topInt;
  bool topApprox = false, topAvailable = false;
  double distinct = 0;
  bool distinctExact = false;
  std::string strMin, strMax;
  Kind kind = Kind::NUMERIC;
  DType dtype = DType::INVALID;

 protected:
  void Run() override {
    status_ = plan.Prepare(1 << 16);
    if (!status_.ok()) return;
    const Column& col = *plan.cols[0];
    kind = col.kind;
    dtype = col.dtype;
    const bool isStr = col.IsString();
    const bool wantHist = !isStr && bins > 0;
    exactQ = !isStr && plan.rows <= exactQuantileRows;
    if (exactQ && plan.rows > 0) qvals.reset(new (std::nothrow) double[plan.rows]);
    if (exactQ && plan.rows > 0 && !qvals) exactQ = false;  // no room: the sketch
    job_->total.store(plan.rows * (wantHist ? 2 : 1));
    if (plan.rows > (64ULL << 20)) col.file.file->AdviseSequential(0, col.file.file->size());
    const int T = MaxThreads();
    std::vector<std::unique_ptr<Partial>> parts(T);
    std::vector<FilterScratch> scratch(T);
    const bool needFilter = !plan.filter.empty();
    // Every slot, up front: with dynamic scheduling, pass 2 (histogram) can run a morsel on a
    // thread that took none in pass 1, so scratch set up lazily in pass 1 would be empty there.
    if (needFilter) for (FilterScratch& s : scratch) s.Init(plan.filter.depth);
    StringColumnReader dictReader;
    if (col.kind == Kind::DICT) dictReader.Bind(*col.dict);

    auto pass1 = [&](const Segment& seg, uint64_t r0, uint64_t r1, int t) {
      if (!parts[t]) {
        parts[t] = std::make_unique<Partial>(DistinctLimit(), 0x9e3779b97f4a7c15ULL * (t + 1));
        if (col.kind == Kind::DICT) parts[t]->dictCounts.assign(col.dict->rows, 0);
      }
      Partial& P = *parts[t];
      View views[64];
      plan.Bind(seg, views);
      const View& V = views[0];
      double xs[kBatch], fin[kBatch];
      int64_t iv[kBatch];
      uint8_t valid[kBatch], mask[kBatch];
      for (uint64_t r = r0; r < r1; r += kBatch) {
        const uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(kBatch, r1 - r));
        const uint64_t local = r - V.rowStart;
        const bool hasNull = ValidityBytes(V, local, n, valid);
        if (needFilter) plan.filter.Eval(plan.FilterViews(views), r, n, mask, scratch[t]);
        auto use = [&](uint32_t i) { return !needFilter || mask[i]; };
        auto isValid = [&](uint32_t i) { return !hasNull || valid[i]; };
        if (isStr) {
          for (uint32_t i = 0; i < n; i++) {
            if (!use(i)) continue;
            P.rows++;
            if (!isValid(i)) { P.nulls++; continue; }
            if (col.kind == Kind::DICT) {
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
          continue;
        }
        DecodeF64(V, local, n, xs);
        const bool isInt = !IsFloat(col.dtype);
        if (isInt) DecodeI64(V, local, n, iv);
        // keep the rows that pass the filter and are not null, in place
        uint32_t m = n;
        if (needFilter || hasNull) {
          // branchless compaction (nulls are often unpredictable)
          m = 0;
          uint64_t rows = 0, nulls = 0;
          for (uint32_t i = 0; i < n; i++) {
            const uint32_t k = needFilter ? mask[i] : 1u;
            const uint32_t v = hasNull ? valid[i] : 1u;
            rows += k;
            nulls += k & (v ^ 1u);
            xs[m] = xs[i];
            if (isInt) iv[m] = iv[i];
            m += k & v;
          }
          P.rows += rows;
          P.nulls += nulls;
        } else {
          P.rows += n;
        }
        // non-NaN values: extremes, infinities, finite compaction for the moments
        uint32_t nf = 0, nn = 0;
        double mn = P.min, mx = P.max;
        for (uint32_t i = 0; i < m; i++) {
          const double x = xs[i];
          if (x != x) continue;
          xs[nn++] = x;
          mn = x < mn ? x : mn;
          mx = x > mx ? x : mx;
          fin[nf] = x;
          nf += (x - x) == 0;  // finite
        }
        P.min = mn; P.max = mx;
        P.nan += m - nn;
        if (nf != nn) {
          for (uint32_t i = 0; i < nn; i++) { P.posInf += xs[i] == INFINITY; P.negInf += xs[i] == -INFINITY; }
        }
        if (exactQ) {
          const uint64_t at = qfill.fetch_add(nn, std::memory_order_relaxed);
          std::memcpy(qvals.get() + at, xs, sizeof(double) * nn);
        } else {
          P.qs.AddBatch(xs, nn);
        }
        if (isInt) {
          // (integers are never NaN: nn == m and iv lines up with xs)
          if (col.dtype == DType::I64) for (uint32_t i = 0; i < m; i++) { P.imin = std::min(P.imin, iv[i]); P.imax = std::max(P.imax, iv[i]); }
          if (col.dtype == DType::U64) for (uint32_t i = 0; i < m; i++) { uint64_t u = static_cast<uint64_t>(iv[i]); P.umin = std::min(P.umin, u); P.umax = std::max(P.umax, u); }
          for (uint32_t i = 0; i < m; i++) P.hll.Add(Mix64(static_cast<uint64_t>(iv[i]) ^ 0x2545f4914f6cdd1dULL));
          if (!P.ints.overflow()) for (uint32_t i = 0; i < m; i++) P.ints.Add(iv[i]);
        } else {
          for (uint32_t i = 0; i < nn; i++) P.hll.Add(HashDouble(xs[i]));
          // exact distinct for low-cardinality floats: count bit patterns (-0.0 folded into 0.0)
          if (!P.ints.overflow())
            for (uint32_t i = 0; i < nn; i++) {
              const double x = xs[i] == 0 ? 0.0 : xs[i];
              int64_t b;
              std::memcpy(&b, &x, 8);
              P.ints.Add(b);
            }
        }
        for (uint32_t i = 0; i < nf; i++) { P.fmin = std::min(P.fmin, fin[i]); P.fmax = std::max(P.fmax, fin[i]); }
        P.mom.MergeBatch(fin, nf);
      }
    };
    status_ = ParallelScan(plan.segs, job_.get(), plan.What(), pass1);
    if (!status_.ok()) return;

    // Merge
    res = std::make_unique<Partial>(DistinctLimit(), 1);
    if (col.kind == Kind::DICT) res->dictCounts.assign(col.dict->rows, 0);
    for (auto& p : parts) {
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
    }
    parts.clear();
    if (res->corrupt) {
      status_ = Status::Error("E_CORRUPT", "column " + col.name + " of " + plan.What() + " has corrupt string offsets or dictionary indices");
      return;
    }
    if (exactQ) {
      // the k-th smallest value with k = ceil(q n) (the sketch's definition, DuckDB's quantile_disc).
      // The median first, then each half holds the quantiles on its side: about 2.5 n element
      // visits for the seven instead of 5 n for ascending selections; the halves run in parallel.
      static const double ps[] = {0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99};
      double* v = qvals.get();
      const uint64_t n = qfill.load();
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
          if (k < lo) exactQuantiles[m] = v[lo - 1];
          else if (k >= hi) exactQuantiles[m] = v[hi];
          else { std::nth_element(v + lo, v + k, v + hi); exactQuantiles[m] = v[k]; }
          sel(a, m, lo, std::min(std::max(k, lo), hi));
          sel(m + 1, b, std::min(std::max(k + 1, lo), hi), hi);
        };
        std::nth_element(v, v + ks[3], v + n);
        exactQuantiles[3] = v[ks[3]];
#pragma omp parallel sections num_threads(2)
        {
#pragma omp section
          sel(0, 3, 0, ks[3]);
#pragma omp section
          sel(4, 7, ks[3] + 1, n);
        }
      }
      qvals.reset();
    } else {
      res->qs.Sorted(&qsorted, &qtotal);
    }

    if (col.kind == Kind::DICT) {
      // Fold dictionary counts into string counts (dictionary entries may repeat).
      StrCounter sc;
      sc.cap = std::numeric_limits<size_t>::max();
      for (uint64_t k = 0; k < res->dictCounts.size(); k++) {
        if (!res->dictCounts[k]) continue;
        const uint8_t* p; uint64_t len;
        if (!dictReader.Get(k, &p, &len)) { status_ = Status::Error("E_CORRUPT", "corrupt dictionary of column " + col.name); return; }
        if (!p) { res->nulls += res->dictCounts[k]; continue; }  // null dictionary entry
        const std::string_view sv(reinterpret_cast<const char*>(p), len);
        if (!res->anyStr) { res->smin = res->smax = sv; res->anyStr = true; }
        else if (sv < res->smin) res->smin = sv;
        else if (sv > res->smax) res->smax = sv;
        sc.Add(sv, res->dictCounts[k]);
        const uint64_t cl = Utf8Len(p, len);
        res->minLen = std::min(res->minLen, cl);
        res->maxLen = std::max(res->maxLen, cl);
      }
      res->strs = std::move(sc);
      distinct = static_cast<double>(res->strs.m.size());
      distinctExact = true;
    } else {
      distinct = std::round(res->hll.Estimate());
      // small cardinalities are known exactly from the counters; only larger ones are estimates
      if (isStr && !res->strs.approximate) { distinct = static_cast<double>(res->strs.m.size()); distinctExact = true; }
      if (!isStr && !res->ints.overflow()) {
        double d = 0;
        res->ints.ForEach([&](int64_t, uint64_t) { d += 1; });
        distinct = d;
        distinctExact = true;
      }
    }
    if (res->anyStr) { strMin.assign(res->smin); strMax.assign(res->smax); }
    // an estimate never exceeds the values counted
    distinct = std::min(distinct, static_cast<double>(res->rows - res->nulls));
    // Top-k
    if (isStr) {
      std::vector<std::pair<std::string_view, uint64_t>> v(res->strs.m.begin(), res->strs.m.end());
      std::sort(v.begin(), v.end(), [](auto& a, auto& b) { return a.second != b.second ? a.second > b.second : a.first < b.first; });
      for (size_t i = 0; i < v.size() && i < topk; i++) topStr.emplace_back(std::string(v[i].first), v[i].second);
      topApprox = res->strs.approximate;
      topAvailable = true;
    } else if (!IsFloat(col.dtype) && !res->ints.overflow() && res->ints.size() <= lowCard) {
      res->ints.ForEach([&](int64_t k, uint64_t c) { topInt.emplace_back(k, c); });
      std::sort(topInt.begin(), topInt.end(), [](auto& a, auto& b) { return a.second != b.second ? a.second > b.second : a.first < b.first; });
      if (topInt.size() > topk) topInt.resize(topk);
      topAvailable = true;
    }

    // Pass 2: histogram over the finite range.
    if (wantHist && res->mom.n > 0) {
      double lo = res->fmin, hi = res->fmax;
      if (!(hi > lo)) hi = lo + 1;  // single value: one bin [v, v+1) holds it
      histLo = lo; histHi = hi;
      const double scale = bins / (hi - lo);
      std::vector<std::vector<double>> hs(T);
      auto pass2 = [&](const Segment& seg, uint64_t r0, uint64_t r1, int t) {
        if (hs[t].empty()) hs[t].assign(static_cast<size_t>(bins) * 4, 0.0);
        View views[64];
        plan.Bind(seg, views);
        const View& V = views[0];
        double xs[kBatch];
        uint8_t valid[kBatch], mask[kBatch];
        double* h = hs[t].data();
        for (uint64_t r = r0; r < r1; r += kBatch) {
          const uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(kBatch, r1 - r));
          const uint64_t local = r - V.rowStart;
          const bool hasNull = ValidityBytes(V, local, n, valid);
          if (needFilter) plan.filter.Eval(plan.FilterViews(views), r, n, mask, scratch[t]);
          DecodeF64(V, local, n, xs);
          for (uint32_t i = 0; i < n; i++) {  // branchless: nulls are often unpredictable
            const double x = xs[i];
            const bool ok = (!needFilter || mask[i]) & (!hasNull || valid[i]) & ((x - x) == 0);  // finite
            const double f = ok ? (x - lo) * scale : 0.0;
            int64_t b = static_cast<int64_t>(f);
            b = b < 0 ? 0 : (b >= bins ? bins - 1 : b);  // hi itself goes in the last bin
            h[(i & 3) * bins + b] += ok ? 1.0 : 0.0;  // 4 interleaved copies: no store->load chain on a hot bin
          }
        }
      };
      status_ = ParallelScan(plan.segs, job_.get(), plan.What(), pass2);
      if (!status_.ok()) return;
      res->hist.assign(bins, 0.0);
      for (auto& h : hs)
        if (!h.empty())
          for (uint32_t b = 0; b < bins; b++) res->hist[b] += h[b] + h[bins + b] + h[2 * bins + b] + h[3 * bins + b];
    }
  }

  Napi::Value Result(Napi::Env env) override {
    const Partial& R = *res;
    Napi::Object o = Napi::Object::New(env);
    const bool isStr = kind == Kind::UTF8 || kind == Kind::LARGE_UTF8 || kind == Kind::DICT;
    o.Set("rows", static_cast<double>(R.rows));
    o.Set("nulls", static_cast<double>(R.nulls));
    o.Set("count", static_cast<double>(R.rows - R.nulls));
    o.Set("distinct", distinct);
    o.Set("distinctExact", distinctExact);
    if (topAvailable) {
      Napi::Array a = Napi::Array::New(env);
      uint32_t i = 0;
      for (auto& [s, c] : topStr) {
        Napi::Object e = Napi::Object::New(env);
        e.Set("value", Napi::String::New(env, s));
        e.Set("count", static_cast<double>(c));
        a.Set(i++, e);
      }
      for (auto& [k, c] : topInt) {
        Napi::Object e = Napi::Object::New(env);
        if (dtype == DType::I64) e.Set("value", Napi::BigInt::New(env, k));
        else if (dtype == DType::U64) e.Set("value", Napi::BigInt::New(env, static_cast<uint64_t>(k)));
        else e.Set("value", static_cast<double>(k));
        e.Set("count", static_cast<double>(c));
        a.Set(i++, e);
      }
      o.Set("topk", a);
      o.Set("topkApproximate", topApprox);
    }
    if (isStr) {
      const bool any = R.maxLen > 0 || R.minLen != std::numeric_limits<uint64_t>::max();
      o.Set("minLength", any ? static_cast<double>(R.minLen) : NAN);
      o.Set("maxLength", any ? static_cast<double>(R.maxLen) : NAN);
      if (R.anyStr) {
        o.Set("minString", Napi::String::New(env, strMin));
        o.Set("maxString", Napi::String::New(env, strMax));
      }
      return o;
    }
    const bool any = R.rows - R.nulls - R.nan > 0;
    o.Set("nanCount", static_cast<double>(R.nan));
    o.Set("posInfCount", static_cast<double>(R.posInf));
    o.Set("negInfCount", static_cast<double>(R.negInf));
    o.Set("min", any ? R.min : NAN);
    o.Set("max", any ? R.max : NAN);
    if (any && dtype == DType::I64) { o.Set("minExact", Napi::BigInt::New(env, R.imin)); o.Set("maxExact", Napi::BigInt::New(env, R.imax)); }
    if (any && dtype == DType::U64) { o.Set("minExact", Napi::BigInt::New(env, R.umin)); o.Set("maxExact", Napi::BigInt::New(env, R.umax)); }
    o.Set("mean", R.mom.n > 0 ? R.mom.mean : NAN);
    o.Set("std", R.mom.n > 1 ? std::sqrt(R.mom.m2 / (R.mom.n - 1)) : NAN);
    Napi::Object q = Napi::Object::New(env);
    static const double ps[] = {0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99};
    static const char* names[] = {"p1", "p5", "p25", "p50", "p75", "p95", "p99"};
    for (int i = 0; i < 7; i++) q.Set(names[i], exactQ ? exactQuantiles[i] : QuantileSketch::Query(qsorted, qtotal, ps[i]));
    o.Set("quantiles", q);
    o.Set("quantilesExact", exactQ);
    if (!R.hist.empty()) {
      Napi::Object h = Napi::Object::New(env);
      h.Set("lo", histLo);
      h.Set("hi", histHi);
      auto c = Napi::Float64Array::New(env, R.hist.size());
      std::memcpy(c.Data(), R.hist.data(), R.hist.size() * 8);
      h.Set("counts", c);
      o.Set("histogram", h);
    }
    return o;
  }
};

// summary(column, { bins?, topk?, lowCardinality?, exactDistinct?, exactQuantileRows? }, filter?, job?)
Napi::Value Summary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* w = new SummaryWorker(env);
  Status st;
  ColumnPtr c;
  if (info.Length() < 1 || !ParseColumn(info[0], &c, &st)) return w->Start(st.ok() ? Status::Error("E_BAD_ARG", "summary(column, options)") : st);
  w->plan.Add(c);
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
