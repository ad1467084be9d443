// Binning kernels: bin2d (density grids for plots: count per cell, optional sum/mean of a value
// column, optional per-category counts) and hist1d (1-D histogram over a range). Each thread fills
// its own grid (or, when per-thread grids would exceed the memory budget, all threads add
// atomically into one); grids merge at the end. Bin i covers [lo + i*d, lo + (i+1)*d); points
// outside, NaN or null are skipped and counted.
#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "plan.h"
#include "bin_simd.h"

namespace cdx {
namespace {

struct Axis {
  double lo = 0, hi = 1, scale = 1;
  uint32_t n = 1;
  void Init() { scale = n / (hi - lo); }
  // Bin index of v, or -1 if outside [lo, hi) (NaN included).
  inline int64_t Index(double v) const {
    if (!(v >= lo && v < hi)) return -1;
    int64_t i = static_cast<int64_t>((v - lo) * scale);
    return i >= n ? n - 1 : i;
  }
};

// Counters kept per thread.
struct Counters {
  uint64_t binned = 0, nan = 0, filtered = 0, uncategorized = 0;
  char pad[32];
};

static size_t kGridBudget = size_t(1) << 30;  // bytes of per-thread grids before switching to atomics

class Bin2dWorker : public PromiseWorker {
 public:
  explicit Bin2dWorker(Napi::Env env) : PromiseWorker(env, "cdx.bin2d") {}
  Plan plan;
  Axis ax, ay;
  int valueCol = -1, catCol = -1;
  uint32_t categories = 0;
  bool mean = false;
  bool oneD = false;  // hist1d: only x
  void SetJob(JobPtr j) { job_ = std::move(j); }

  // results
  std::vector<uint32_t> counts;   // C * H * W (C = max(categories, 1))
  std::vector<double> counts64;   // hist1d
  std::vector<double> sums;       // H * W
  std::vector<uint32_t> vcount;   // H * W (mean)
  Counters total;

 protected:
  void Run() override {
    status_ = plan.Prepare(1 << 16);
    if (!status_.ok()) return;
    job_->total.store(plan.rows);
    const Column& cx = *plan.cols[0];
    if (cx.IsString() || (!oneD && plan.cols[1]->IsString())) {
      status_ = Status::Error("E_BAD_TYPE", "binning needs numeric columns (" + cx.name + ")");
      return;
    }
    if (valueCol >= 0 && plan.cols[valueCol]->IsString()) {
      status_ = Status::Error("E_BAD_TYPE", "value column " + plan.cols[valueCol]->name + " must be numeric");
      return;
    }
    if (catCol >= 0 && plan.cols[catCol]->kind != Kind::DICT && (plan.cols[catCol]->IsString() || IsFloat(plan.cols[catCol]->dtype))) {
      status_ = Status::Error("E_BAD_TYPE", "category column " + plan.cols[catCol]->name + " must be integer or dictionary-encoded");
      return;
    }
    for (auto& c : plan.cols)
      if (c->file.file && c->rows > (64ULL << 20)) c->file.file->AdviseSequential(0, c->file.file->size());

    const int T = MaxThreads();
    const uint32_t C = std::max<uint32_t>(categories, 1);
    const size_t cells = static_cast<size_t>(ax.n) * ay.n;
    const size_t gridCells = cells * C;
    const bool shared = !oneD && static_cast<double>(gridCells) * 4 * T > static_cast<double>(kGridBudget);
    const int G = shared ? 1 : T;
    std::vector<std::vector<uint32_t>> grids(G);
    std::vector<std::vector<double>> grids64(oneD ? T : 0);
    std::vector<std::vector<double>> sumg(valueCol >= 0 ? G : 0);
    std::vector<std::vector<uint32_t>> vcg(valueCol >= 0 && mean ? G : 0);
    std::vector<Counters> ctr(T);
    std::vector<FilterScratch> scratch(T);

    // Per-thread allocation happens lazily inside the scan (first touch on the thread's core).
    std::vector<char> inited(T, 0);
    std::vector<std::vector<uint8_t>> g8(T);
    const bool needFilter = !plan.filter.empty();

    auto body = [&](const Segment& seg, uint64_t r0, uint64_t r1, int t) {
      if (!inited[t]) {
        const int g = shared ? 0 : t;
        if (oneD) grids64[t].assign(ax.n, 0.0);
        else if (valueCol < 0 && catCol < 0 && !shared) {
          g8[t].assign(gridCells + kBinDummies, 0);  // + spare cells for rejected rows (SIMD path)
          grids[t].assign(gridCells + kBinDummies, 0);
        } else if (!shared || t == 0) {
          if (grids[g].empty()) grids[g].assign(gridCells, 0);
          if (valueCol >= 0 && sumg[g].empty()) sumg[g].assign(cells, 0.0);
          if (valueCol >= 0 && mean && vcg[g].empty()) vcg[g].assign(cells, 0);
        }
        scratch[t].Init(plan.filter.depth);
        inited[t] = 1;
      }
      View views[64];
      plan.Bind(seg, views);
      Counters& k = ctr[t];
      const int g = shared ? 0 : t;
      if (oneD) {
        ScanHist(views, r0, r1, grids64[t].data(), k, scratch[t], needFilter);
        return;
      }
      // Counts only (the density-plot case): cell indices per batch, then byte counters per thread
      // (a quarter of the cache footprint of uint32 counters; overflow carried into the uint32 grid).
      if (valueCol < 0 && catCol < 0 && !shared) {
        CountBin(views, r0, r1, grids[t].data(), g8[t], k, scratch[t], needFilter);
        return;
      }
      GenericBin(views, r0, r1, g, grids, sumg, vcg, k, scratch[t], needFilter, shared);
    };
    grids.resize(G);
    // Pre-size the shared grid on this thread (others may start before thread 0 runs).
    if (shared) {
      grids[0].assign(gridCells, 0);
      if (valueCol >= 0) sumg[0].assign(cells, 0.0);
      if (valueCol >= 0 && mean) vcg[0].assign(cells, 0);
    }
    status_ = ParallelScan(plan.segs, job_.get(), plan.What(), body);
    if (!status_.ok()) return;

    // fold the byte counters into the uint32 grids
    for (int t = 0; t < T; t++) {
      if (g8[t].empty()) continue;
      uint32_t* d = grids[t].data();
      const uint8_t* b = g8[t].data();
      for (size_t c = 0; c < gridCells; c++) d[c] += b[c];
      std::vector<uint8_t>().swap(g8[t]);
      grids[t].resize(gridCells);  // drop the spare cells
    }
    for (auto& c : ctr) {
      total.binned += c.binned; total.nan += c.nan; total.filtered += c.filtered; total.uncategorized += c.uncategorized;
    }
    if (oneD) {
      counts64.assign(ax.n, 0.0);
      for (auto& gv : grids64) if (!gv.empty()) for (uint32_t i = 0; i < ax.n; i++) counts64[i] += gv[i];
      return;
    }
    // Merge per-thread grids into the first non-empty one (parallel over cells).
    std::vector<int> live;
    for (int i = 0; i < G; i++) if (!grids[i].empty()) live.push_back(i);
    if (live.empty()) {
      counts.assign(gridCells, 0);
      if (valueCol >= 0) sums.assign(cells, 0.0);
      if (valueCol >= 0 && mean) vcount.assign(cells, 0);
      return;
    }
    const int d = live[0];
    if (live.size() > 1) {
      uint32_t* dst = grids[d].data();
#pragma omp parallel for schedule(static)
      for (int64_t c = 0; c < static_cast<int64_t>(gridCells); c++) {
        uint32_t s = dst[c];
        for (size_t l = 1; l < live.size(); l++) s += grids[live[l]][c];
        dst[c] = s;
      }
      if (valueCol >= 0) {
        for (size_t l = 1; l < live.size(); l++) {
          double* sd = sumg[d].data(); const double* ss = sumg[live[l]].data();
          for (size_t c = 0; c < cells; c++) sd[c] += ss[c];
          if (mean) { uint32_t* vd = vcg[d].data(); const uint32_t* vs = vcg[live[l]].data(); for (size_t c = 0; c < cells; c++) vd[c] += vs[c]; }
        }
      }
    }
    counts.swap(grids[d]);
    if (valueCol >= 0) sums.swap(sumg[d]);
    if (valueCol >= 0 && mean) vcount.swap(vcg[d]);
  }

  // Cell index of each kept, in-viewport point of a batch, compacted into idx; returns how many.
  // NaN (kept) points are counted in *nan.
  template <class TX, class TY, bool Keep>
  uint32_t Cells(const TX* __restrict X, const TY* __restrict Y, uint32_t n, const uint8_t* __restrict keep,
                 uint32_t* __restrict idx, uint64_t* nan, uint64_t* keptOut) const {
    const double x0 = ax.lo, x1 = ax.hi, y0 = ay.lo, y1 = ay.hi, sx = ax.scale, sy = ay.scale;
    const uint32_t W = ax.n, H = ay.n;
    uint32_t cnt = 0;
    uint64_t nn = 0, kept = 0;
    for (uint32_t i = 0; i < n; i++) {
      const double x = static_cast<double>(X[i]), y = static_cast<double>(Y[i]);
      const bool in = (x >= x0) & (x < x1) & (y >= y0) & (y < y1);
      const double fx = in ? (x - x0) * sx : 0.0, fy = in ? (y - y0) * sy : 0.0;
      uint32_t bi = static_cast<uint32_t>(fx), bj = static_cast<uint32_t>(fy);
      bi = bi < W ? bi : W - 1;
      bj = bj < H ? bj : H - 1;
      idx[cnt] = bj * W + bi;
      const bool k = Keep ? (keep[i] >> 1) != 0 : true;  // keep: three-valued filter result, 2 = passes
      cnt += in & k;
      kept += k;
      if constexpr (std::is_floating_point_v<TX> || std::is_floating_point_v<TY>) nn += (!in) & k & ((x != x) | (y != y));
    }
    *nan += nn;
    *keptOut += kept;
    return cnt;
  }

  static inline void Bump(const uint32_t* __restrict idx, uint32_t cnt, uint8_t* __restrict g8, uint32_t* __restrict g32) {
    for (uint32_t i = 0; i < cnt; i++) {
      const uint32_t c = idx[i];
      if (__builtin_expect(++g8[c] == 0, 0)) g32[c] += 256;
    }
  }

  void CountBin(View* views, uint64_t r0, uint64_t r1, uint32_t* g32, std::vector<uint8_t>& g8v, Counters& k,
                FilterScratch& s, bool needFilter) const {
    const View& X = views[0];
    const View& Y = views[1];
    uint8_t* g8 = g8v.data();
    uint32_t idx[kBatch];
    uint8_t mask[kBatch], vx[kBatch], vy[kBatch];
    const uint8_t* tri = nullptr;
    const bool direct = X.col->kind == Kind::NUMERIC && Y.col->kind == Kind::NUMERIC && X.col->dtype == Y.col->dtype &&
                        !X.col->swap && !Y.col->swap && !X.validity && !Y.validity;
    double xs[kBatch], ys[kBatch];
    uint64_t nan = 0, binned = 0, filtered = 0;
#ifdef CDX_HAVE_AVX2_PATH
    const bool simd = CpuHasAvx2() && !std::getenv("CDX_NO_SIMD");
    const SimdBin sb{ax.lo, ax.hi, ay.lo, ay.hi, ax.scale, ay.scale, ax.n, ay.n, ax.n * ay.n};
#endif
    for (uint64_t r = r0; r < r1; r += kBatch) {
      const uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(kBatch, r1 - r));
      uint32_t cnt = 0;
#ifdef CDX_HAVE_AVX2_PATH
      if (direct && simd && (X.col->dtype == DType::F32 || X.col->dtype == DType::F64)) {
        if (needFilter) tri = plan.filter.EvalTri(plan.FilterViews(views), r, n, s);
        uint64_t kept = 0;
        if (X.col->dtype == DType::F32)
          cnt = CellsAvx2<float>(reinterpret_cast<const float*>(X.data) + (r - X.rowStart), reinterpret_cast<const float*>(Y.data) + (r - Y.rowStart), n, tri, idx, sb, &nan, &kept);
        else
          cnt = CellsAvx2<double>(reinterpret_cast<const double*>(X.data) + (r - X.rowStart), reinterpret_cast<const double*>(Y.data) + (r - Y.rowStart), n, tri, idx, sb, &nan, &kept);
        if (needFilter) filtered += n - kept;
        Bump(idx, n, g8, g32);  // rejected rows bump the spare cells
        binned += cnt;
        continue;
      }
#endif
      if (direct) {
        if (needFilter) tri = plan.filter.EvalTri(plan.FilterViews(views), r, n, s);
        uint64_t kept = 0;
        DispatchNumeric(X.col->dtype, [&](auto tag) {
          using TT = decltype(tag);
          const TT* px = reinterpret_cast<const TT*>(X.data) + (r - X.rowStart);
          const TT* py = reinterpret_cast<const TT*>(Y.data) + (r - Y.rowStart);
          cnt = needFilter ? Cells<TT, TT, true>(px, py, n, tri, idx, &nan, &kept) : Cells<TT, TT, false>(px, py, n, nullptr, idx, &nan, &kept);
        });
        if (needFilter) filtered += n - kept;
      } else {
        if (needFilter) {
          plan.filter.Eval(plan.FilterViews(views), r, n, mask, s);
          uint32_t kept = 0;
          for (uint32_t i = 0; i < n; i++) kept += mask[i];
          filtered += n - kept;
          for (uint32_t i = 0; i < n; i++) mask[i] <<= 1;  // as three-valued: 2 = passes
        }
        DecodeF64(X, r - X.rowStart, n, xs);
        DecodeF64(Y, r - Y.rowStart, n, ys);
        const bool nx = ValidityBytes(X, r - X.rowStart, n, vx);
        const bool ny = ValidityBytes(Y, r - Y.rowStart, n, vy);
        if (!needFilter) std::memset(mask, 2, n);
        if (nx || ny) {
          for (uint32_t i = 0; i < n; i++) {
            const uint8_t v = (nx ? vx[i] : 1) & (ny ? vy[i] : 1);
            nan += (mask[i] >> 1) & (v ^ 1);  // null x or y: counted with NaN
            mask[i] = v ? mask[i] : 0;
          }
        }
        uint64_t kept = 0;
        cnt = Cells<double, double, true>(xs, ys, n, mask, idx, &nan, &kept);
      }
      Bump(idx, cnt, g8, g32);
      binned += cnt;
    }
    k.nan += nan;
    k.binned += binned;
    k.filtered += filtered;
  }

  void GenericBin(View* views, uint64_t r0, uint64_t r1, int g, std::vector<std::vector<uint32_t>>& grids,
                  std::vector<std::vector<double>>& sumg, std::vector<std::vector<uint32_t>>& vcg, Counters& k,
                  FilterScratch& s, bool needFilter, bool shared) {
    double xs[kBatch], ys[kBatch], vs[kBatch];
    uint8_t mask[kBatch], vx[kBatch], vy[kBatch], vv[kBatch];
    int32_t cat[kBatch];
    uint32_t* grid = grids[g].data();
    double* sum = valueCol >= 0 ? sumg[g].data() : nullptr;
    uint32_t* vc = valueCol >= 0 && mean ? vcg[g].data() : nullptr;
    const size_t cells = static_cast<size_t>(ax.n) * ay.n;
    for (uint64_t r = r0; r < r1; r += kBatch) {
      const uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(kBatch, r1 - r));
      const View& X = views[0];
      const View& Y = views[1];
      DecodeF64(X, r - X.rowStart, n, xs);
      DecodeF64(Y, r - Y.rowStart, n, ys);
      const bool nx = ValidityBytes(X, r - X.rowStart, n, vx);
      const bool ny = ValidityBytes(Y, r - Y.rowStart, n, vy);
      if (needFilter) plan.filter.Eval(plan.FilterViews(views), r, n, mask, s);
      bool nv = false;
      if (valueCol >= 0) {
        const View& V = views[valueCol];
        DecodeF64(V, r - V.rowStart, n, vs);
        nv = ValidityBytes(V, r - V.rowStart, n, vv);
      }
      if (catCol >= 0) {
        const View& Cv = views[catCol];
        uint8_t vcat[kBatch];
        const bool nc = ValidityBytes(Cv, r - Cv.rowStart, n, vcat);
        if (Cv.col->kind == Kind::DICT) {
          for (uint32_t i = 0; i < n; i++) cat[i] = static_cast<int32_t>(std::min<int64_t>(DictIndex(Cv, r - Cv.rowStart + i), 1 << 30));
        } else {
          DecodeF64(Cv, r - Cv.rowStart, n, vs + 0);  // reuse vs only when no value column
          if (valueCol >= 0) {
            // decode again into a separate buffer to keep the value column intact
            double tmp[kBatch];
            DecodeF64(Cv, r - Cv.rowStart, n, tmp);
            for (uint32_t i = 0; i < n; i++) cat[i] = tmp[i] >= 0 && tmp[i] < 1e9 ? static_cast<int32_t>(tmp[i]) : -1;
            const View& V = views[valueCol];
            DecodeF64(V, r - V.rowStart, n, vs);
          } else {
            for (uint32_t i = 0; i < n; i++) cat[i] = vs[i] >= 0 && vs[i] < 1e9 ? static_cast<int32_t>(vs[i]) : -1;
          }
        }
        if (nc) for (uint32_t i = 0; i < n; i++) if (!vcat[i]) cat[i] = -1;
      }
      for (uint32_t i = 0; i < n; i++) {
        if (needFilter && !mask[i]) { k.filtered++; continue; }
        if ((nx && !vx[i]) || (ny && !vy[i]) || xs[i] != xs[i] || ys[i] != ys[i]) { k.nan++; continue; }
        const int64_t bi = ax.Index(xs[i]), bj = ay.Index(ys[i]);
        if (bi < 0 || bj < 0) continue;
        const size_t cell = static_cast<size_t>(bj) * ax.n + static_cast<size_t>(bi);
        size_t idx = cell;
        if (catCol >= 0) {
          if (cat[i] < 0 || static_cast<uint32_t>(cat[i]) >= categories) { k.uncategorized++; continue; }
          idx = static_cast<size_t>(cat[i]) * cells + cell;
        }
        if (shared) __atomic_fetch_add(&grid[idx], 1u, __ATOMIC_RELAXED);
        else grid[idx]++;
        k.binned++;
        if (sum && !(nv && !vv[i]) && vs[i] == vs[i]) {
          if (shared) {
            // atomic add of a double via CAS
            double* p = &sum[cell];
            double old;
            __atomic_load(p, &old, __ATOMIC_RELAXED);
            double nw;
            do { nw = old + vs[i]; } while (!__atomic_compare_exchange(p, &old, &nw, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
            if (vc) __atomic_fetch_add(&vc[cell], 1u, __ATOMIC_RELAXED);
          } else {
            sum[cell] += vs[i];
            if (vc) vc[cell]++;
          }
        }
      }
    }
  }

  void ScanHist(View* views, uint64_t r0, uint64_t r1, double* hist, Counters& k, FilterScratch& s, bool needFilter) {
    double xs[kBatch];
    uint8_t mask[kBatch], vx[kBatch];
    const View& X = views[0];
    for (uint64_t r = r0; r < r1; r += kBatch) {
      const uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(kBatch, r1 - r));
      DecodeF64(X, r - X.rowStart, n, xs);
      const bool nx = ValidityBytes(X, r - X.rowStart, n, vx);
      if (needFilter) plan.filter.Eval(plan.FilterViews(views), r, n, mask, s);
      for (uint32_t i = 0; i < n; i++) {
        if (needFilter && !mask[i]) { k.filtered++; continue; }
        if ((nx && !vx[i]) || xs[i] != xs[i]) { k.nan++; continue; }
        const int64_t bi = ax.Index(xs[i]);
        if (bi < 0) continue;
        hist[bi] += 1;
        k.binned++;
      }
    }
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    const double rows = static_cast<double>(plan.rows);
    o.Set("rows", rows);
    o.Set("binned", static_cast<double>(total.binned));
    o.Set("nan", static_cast<double>(total.nan));
    o.Set("filtered", static_cast<double>(total.filtered));
    o.Set("uncategorized", static_cast<double>(total.uncategorized));
    o.Set("outside", rows - total.binned - total.nan - total.filtered - total.uncategorized);
    if (oneD) {
      auto a = Napi::Float64Array::New(env, counts64.size());
      std::memcpy(a.Data(), counts64.data(), counts64.size() * 8);
      o.Set("counts", a);
      return o;
    }
    auto a = Napi::Uint32Array::New(env, counts.size());
    std::memcpy(a.Data(), counts.data(), counts.size() * 4);
    o.Set("counts", a);
    if (valueCol >= 0) {
      auto sv = Napi::Float64Array::New(env, sums.size());
      if (mean) {
        for (size_t c = 0; c < sums.size(); c++) sv[c] = vcount[c] ? sums[c] / vcount[c] : NAN;
        o.Set("means", sv);
      } else {
        std::memcpy(sv.Data(), sums.data(), sums.size() * 8);
        o.Set("sums", sv);
      }
    }
    return o;
  }
};

bool ParseAxis(const Napi::Object& o, const char* lo, const char* hi, const char* n, Axis* a, Status* st) {
  uint64_t nn = 0;
  if (!GetF64(o, lo, &a->lo, st) || !GetF64(o, hi, &a->hi, st) || !GetU64(o, n, &nn, st)) return false;
  if (!std::isfinite(a->lo) || !std::isfinite(a->hi) || !(a->hi > a->lo)) {
    *st = Status::Error("E_BAD_ARG", std::string("range [") + lo + ", " + hi + ") must be finite and non-empty");
    return false;
  }
  if (nn < 1 || nn > 4096 * 16) { *st = Status::Error("E_BAD_ARG", std::string(n) + " out of range"); return false; }
  a->n = static_cast<uint32_t>(nn);
  a->Init();
  if (!std::isfinite(a->scale)) { *st = Status::Error("E_BAD_ARG", "range too small"); return false; }
  return true;
}

// bin2d({ x, y, value?, category? } descriptors, { x0, x1, y0, y1, width, height, agg?, categories? }, filter?, job?)
Napi::Value Bin2d(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* w = new Bin2dWorker(env);
  Status st;
  if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsObject()) return w->Start(Status::Error("E_BAD_ARG", "bin2d(columns, options)"));
  Napi::Object cols = info[0].As<Napi::Object>(), opt = info[1].As<Napi::Object>();
  ColumnPtr x, y;
  if (!ParseColumn(cols.Get("x"), &x, &st) || !ParseColumn(cols.Get("y"), &y, &st)) return w->Start(st);
  w->plan.Add(x);
  w->plan.Add(y);
  if (!ParseAxis(opt, "x0", "x1", "width", &w->ax, &st) || !ParseAxis(opt, "y0", "y1", "height", &w->ay, &st)) return w->Start(st);
  if (w->ax.n > 4096 || w->ay.n > 4096) return w->Start(Status::Error("E_BAD_ARG", "grid larger than 4096 x 4096"));
  if (!cols.Get("value").IsUndefined()) {
    ColumnPtr v;
    if (!ParseColumn(cols.Get("value"), &v, &st)) return w->Start(st);
    w->valueCol = static_cast<int>(w->plan.cols.size());
    w->plan.Add(v);
    std::string agg = "sum";
    if (!GetStr(opt, "agg", &agg, &st, false)) return w->Start(st);
    if (agg != "sum" && agg != "mean") return w->Start(Status::Error("E_BAD_ARG", "agg must be sum or mean"));
    w->mean = agg == "mean";
  }
  if (!cols.Get("category").IsUndefined()) {
    ColumnPtr c;
    if (!ParseColumn(cols.Get("category"), &c, &st)) return w->Start(st);
    w->catCol = static_cast<int>(w->plan.cols.size());
    w->plan.Add(c);
    uint64_t k = 0;
    if (!GetU64(opt, "categories", &k, &st)) return w->Start(st);
    if (k < 1 || k > 256) return w->Start(Status::Error("E_BAD_ARG", "categories must be 1..256"));
    if (static_cast<double>(k) * w->ax.n * w->ay.n * 4 > 4.0 * 1024 * 1024 * 1024)
      return w->Start(Status::Error("E_TOO_LARGE", "categories x width x height exceeds 4 GiB of counts; use a smaller grid"));
    w->categories = static_cast<uint32_t>(k);
  }
  if (info.Length() > 2 && !w->plan.AddFilter(info[2], &st)) return w->Start(st);
  if (info.Length() > 3) w->SetJob(GetJob(info[3]));
  return w->Start();
}

// hist1d(column, { lo, hi, bins }, filter?, job?)
Napi::Value Hist1d(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* w = new Bin2dWorker(env);
  w->oneD = true;
  Status st;
  if (info.Length() < 2 || !info[1].IsObject()) return w->Start(Status::Error("E_BAD_ARG", "hist1d(column, options)"));
  ColumnPtr x;
  if (!ParseColumn(info[0], &x, &st)) return w->Start(st);
  w->plan.Add(x);
  if (!ParseAxis(info[1].As<Napi::Object>(), "lo", "hi", "bins", &w->ax, &st)) return w->Start(st);
  if (info.Length() > 2 && !w->plan.AddFilter(info[2], &st)) return w->Start(st);
  if (info.Length() > 3) w->SetJob(GetJob(info[3]));
  return w->Start();
}

Export e_bin2d("bin2d", Bin2d);
Export e_hist1d("hist1d", Hist1d);

}  // namespace
}  // namespace cdx
