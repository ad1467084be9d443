// M4 line decimation (Jugel et al., VLDB 2014): per pixel column of an x range and per series, the
// row of smallest x (first), of largest x (last), of smallest y and of largest y — all a line drawn
// at that width needs to be pixel-exact — in one parallel pass over the x column and the y columns
// (several y columns, or one y split by an integer / dictionary category column). Two more slots
// per series keep the last point left of the range and the first one right of it, so the drawn
// line runs on to the plot's edges. Rows with a null or non-finite x or y are skipped and counted.
//
// On request (`blockRows`, an unfiltered pass over whole columns) the same pass also keeps each
// y column's M4 per block of rows ([b * blockRows, (b + 1) * blockRows), rows numbered from 0):
// main/engine/line.ts merges the blocks that fall inside one pixel column straight from these
// summaries and reads only the rest, so a later view of a billion rows reads a few million.
//
// Each thread fills its own slots (series x (width + 2) of 104 bytes); morsels reach threads in no
// fixed order, so ties are broken by row number, which makes the result independent of the
// schedule: first = smallest (x, row), last = largest (x, row), min = smallest (y, row), max =
// largest y, then smallest row. Slots merge at the end with the same comparisons.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <mutex>

#include "plan.h"

namespace cdx {
namespace {

struct Slot {
  double n = 0;
  double fx = std::numeric_limits<double>::infinity(), fy = 0;
  double lx = -std::numeric_limits<double>::infinity(), ly = 0;
  double mnx = 0, mny = std::numeric_limits<double>::infinity();
  double mxx = 0, mxy = -std::numeric_limits<double>::infinity();
  int64_t fr = INT64_MAX, lr = -1, mnr = INT64_MAX, mxr = INT64_MAX;

  inline void Add(double x, double y, int64_t r) {
    n += 1;
    if (x < fx || (x == fx && r < fr)) { fx = x; fy = y; fr = r; }
    if (x > lx || (x == lx && r > lr)) { lx = x; ly = y; lr = r; }
    if (y < mny || (y == mny && r < mnr)) { mny = y; mnx = x; mnr = r; }
    if (y > mxy || (y == mxy && r < mxr)) { mxy = y; mxx = x; mxr = r; }
  }
  void Merge(const Slot& o) {
    if (o.n == 0) return;
    n += o.n;
    if (o.fx < fx || (o.fx == fx && o.fr < fr)) { fx = o.fx; fy = o.fy; fr = o.fr; }
    if (o.lx > lx || (o.lx == lx && o.lr > lr)) { lx = o.lx; ly = o.ly; lr = o.lr; }
    if (o.mny < mny || (o.mny == mny && o.mnr < mnr)) { mny = o.mny; mnx = o.mnx; mnr = o.mnr; }
    if (o.mxy > mxy || (o.mxy == mxy && o.mxr < mxr)) { mxy = o.mxy; mxx = o.mxx; mxr = o.mxr; }
  }
};

struct Counts {
  uint64_t used = 0, nan = 0, filtered = 0, uncategorized = 0;
  char pad[32];
};

class M4Worker : public PromiseWorker {
 public:
  explicit M4Worker(Napi::Env env) : PromiseWorker(env, "cdx.m4") {}
  Plan plan;
  double x0 = 0, x1 = 1, scale = 1;
  uint32_t width = 1;
  int nY = 1;          // y columns: plan.cols[1 .. nY]
  int catCol = -1;     // split column (one y only)
  uint32_t categories = 0;
  void SetJob(JobPtr j) { job_ = std::move(j); }

  uint64_t blockRows = 0;  // > 0: keep per-block summaries of each y column
  std::vector<Slot> blocks;  // nY * nBlocks
  uint64_t nBlocks = 0;
  std::mutex blockMu;

  uint32_t S = 1;  // series
  std::vector<Slot> out;  // S * (width + 2): slot 0 = left of x0, 1..width = pixel columns, width + 1 = right of x1
  Counts total;

 protected:
  void Run() override {
    status_ = plan.Prepare(1 << 16);
    if (!status_.ok()) return;
    job_->total.store(plan.rows);
    for (int c = 0; c <= nY; c++)
      if (plan.cols[c]->IsString()) {
        status_ = Status::Error("E_BAD_TYPE", "a line plot needs numeric or date/time columns (" + plan.cols[c]->name + ")");
        return;
      }
    if (catCol >= 0 && plan.cols[catCol]->kind != Kind::DICT && (plan.cols[catCol]->IsString() || IsFloat(plan.cols[catCol]->dtype))) {
      status_ = Status::Error("E_BAD_TYPE", "split column " + plan.cols[catCol]->name + " must be integer or dictionary-encoded");
      return;
    }
    for (auto& c : plan.cols)
      if (c->file.file && c->rows > (64ULL << 20)) c->file.file->AdviseSequential(0, c->file.file->size());
    S = catCol >= 0 ? categories : static_cast<uint32_t>(nY);
    const size_t W2 = width + 2;
    const int T = MaxThreads();
    std::vector<std::vector<Slot>> slots(T);
    std::vector<Counts> ctr(T);
    std::vector<FilterScratch> scratch(T);
    std::vector<char> inited(T, 0);
    const bool needFilter = !plan.filter.empty();
    if (blockRows) {
      nBlocks = (plan.rows + blockRows - 1) / blockRows;
      blocks.assign(static_cast<size_t>(nY) * nBlocks, Slot());
    }

    auto body = [&](const Segment& seg, uint64_t r0, uint64_t r1, int t) {
      if (!inited[t]) {
        slots[t].assign(S * W2, Slot());
        scratch[t].Init(plan.filter.depth);
        inited[t] = 1;
      }
      View views[64];
      plan.Bind(seg, views);
      if (!blockRows) {
        Scan(views, r0, r1, slots[t].data(), ctr[t], scratch[t], needFilter, nullptr, 0, 0);
        return;
      }
      // this morsel's blocks, kept locally: a block wholly inside it is this thread's alone; one it
      // shares with a neighbouring morsel (chunks not a multiple of blockRows long) merges under a lock
      const uint64_t b0 = r0 / blockRows, b1 = (r1 - 1) / blockRows, nb = b1 - b0 + 1;
      std::vector<Slot> local(static_cast<size_t>(nY) * nb);
      Scan(views, r0, r1, slots[t].data(), ctr[t], scratch[t], needFilter, local.data(), b0, nb);
      for (uint64_t b = b0; b <= b1; b++) {
        const bool whole = b * blockRows >= r0 && std::min((b + 1) * blockRows, plan.rows) <= r1;
        for (int yi = 0; yi < nY; yi++) {
          const Slot& q = local[static_cast<size_t>(yi) * nb + (b - b0)];
          Slot& d = blocks[static_cast<size_t>(yi) * nBlocks + b];
          if (whole) d = q;
          else {
            std::lock_guard<std::mutex> g(blockMu);
            d.Merge(q);
          }
        }
      }
    };
    status_ = ParallelScan(plan.segs, job_.get(), plan.What(), body);
    if (!status_.ok()) return;
    out.assign(S * W2, Slot());
    for (int t = 0; t < T; t++) {
      if (slots[t].empty()) continue;
      const Slot* p = slots[t].data();
      for (size_t i = 0; i < out.size(); i++) out[i].Merge(p[i]);
    }
    for (auto& c : ctr) {
      total.used += c.used; total.nan += c.nan; total.filtered += c.filtered; total.uncategorized += c.uncategorized;
    }
  }

  // Pixel slot of x: 0 left of the range, 1..width inside, width + 1 right of it.
  inline size_t SlotOf(double x) const {
    if (x < x0) return 0;
    if (!(x < x1)) return width + 1;
    int64_t i = static_cast<int64_t>((x - x0) * scale);
    return 1 + static_cast<size_t>(i >= width ? width - 1 : i);
  }

  void Scan(View* views, uint64_t r0, uint64_t r1, Slot* slots, Counts& k, FilterScratch& s, bool needFilter, Slot* blk, uint64_t b0, uint64_t nb) {
    double xs[kBatch], ys[kBatch];
    uint8_t mask[kBatch], vx[kBatch], vy[kBatch], ok[kBatch];
    uint32_t slot[kBatch];
    int32_t cat[kBatch];
    const size_t W2 = width + 2;
    for (uint64_t r = r0; r < r1; r += kBatch) {
      const uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(kBatch, r1 - r));
      const View& X = views[0];
      DecodeF64(X, r - X.rowStart, n, xs);
      const bool nx = ValidityBytes(X, r - X.rowStart, n, vx);
      if (needFilter) plan.filter.Eval(plan.FilterViews(views), r, n, mask, s);
      uint32_t live = 0;
      for (uint32_t i = 0; i < n; i++) {
        const bool pass = !needFilter || mask[i];
        const bool good = pass && !(nx && !vx[i]) && std::isfinite(xs[i]);
        if (!pass) k.filtered += static_cast<uint64_t>(nY);
        else if (!good) k.nan += static_cast<uint64_t>(nY);
        ok[i] = good;
        live += good;
        slot[i] = good ? static_cast<uint32_t>(SlotOf(xs[i])) : 0;
      }
      if (!live) continue;
      if (catCol >= 0) {
        const View& Cv = views[catCol];
        uint8_t vc[kBatch];
        const bool nc = ValidityBytes(Cv, r - Cv.rowStart, n, vc);
        if (Cv.col->kind == Kind::DICT) {
          for (uint32_t i = 0; i < n; i++) cat[i] = static_cast<int32_t>(std::min<int64_t>(DictIndex(Cv, r - Cv.rowStart + i), 1 << 30));
        } else {
          double tmp[kBatch];
          DecodeF64(Cv, r - Cv.rowStart, n, tmp);
          for (uint32_t i = 0; i < n; i++) cat[i] = tmp[i] >= 0 && tmp[i] < 1e9 ? static_cast<int32_t>(tmp[i]) : -1;
        }
        if (nc) for (uint32_t i = 0; i < n; i++) if (!vc[i]) cat[i] = -1;
      }
      for (int yi = 0; yi < nY; yi++) {
        const View& Y = views[1 + yi];
        DecodeF64(Y, r - Y.rowStart, n, ys);
        const bool ny = ValidityBytes(Y, r - Y.rowStart, n, vy);
        Slot* base = slots + (catCol >= 0 ? 0 : static_cast<size_t>(yi) * W2);
        for (uint32_t i = 0; i < n; i++) {
          if (!ok[i]) continue;
          const double y = ys[i];
          if ((ny && !vy[i]) || !std::isfinite(y)) { k.nan++; continue; }
          Slot* b = base;
          if (catCol >= 0) {
            if (cat[i] < 0 || static_cast<uint32_t>(cat[i]) >= categories) { k.uncategorized++; continue; }
            b = slots + static_cast<size_t>(cat[i]) * W2;
          }
          const uint32_t sl = slot[i];
          b[sl].Add(xs[i], y, static_cast<int64_t>(r + i));
          if (sl != 0 && sl != width + 1) k.used++;
          if (blk) blk[static_cast<size_t>(yi) * nb + ((r + i) / blockRows - b0)].Add(xs[i], y, static_cast<int64_t>(r + i));
        }
      }
    }
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    const size_t W2 = width + 2;
    Napi::Array series = Napi::Array::New(env, S);
    const double nan = std::numeric_limits<double>::quiet_NaN();
    for (uint32_t s = 0; s < S; s++) {
      Napi::Object so = Napi::Object::New(env);
      const Slot* p = out.data() + static_cast<size_t>(s) * W2;
      const char* names[13] = {"count", "firstX", "firstY", "lastX", "lastY", "minX", "minY", "maxX", "maxY", "firstRow", "lastRow", "minRow", "maxRow"};
      Napi::Float64Array a[13];
      for (int k = 0; k < 13; k++) {
        a[k] = Napi::Float64Array::New(env, width);
        so.Set(names[k], a[k]);
      }
      for (uint32_t i = 0; i < width; i++) {
        const Slot& q = p[1 + i];
        const bool any = q.n > 0;
        a[0][i] = q.n;
        a[1][i] = any ? q.fx : nan; a[2][i] = any ? q.fy : nan;
        a[3][i] = any ? q.lx : nan; a[4][i] = any ? q.ly : nan;
        a[5][i] = any ? q.mnx : nan; a[6][i] = any ? q.mny : nan;
        a[7][i] = any ? q.mxx : nan; a[8][i] = any ? q.mxy : nan;
        a[9][i] = any ? static_cast<double>(q.fr) : nan; a[10][i] = any ? static_cast<double>(q.lr) : nan;
        a[11][i] = any ? static_cast<double>(q.mnr) : nan; a[12][i] = any ? static_cast<double>(q.mxr) : nan;
      }
      const Slot& L = p[0];
      const Slot& R = p[width + 1];
      if (L.n > 0) {
        Napi::Array b = Napi::Array::New(env, 2);
        b.Set(0u, L.lx); b.Set(1u, L.ly);
        so.Set("before", b);
        so.Set("beforeRow", static_cast<double>(L.lr));
      } else so.Set("before", env.Null());
      if (R.n > 0) {
        Napi::Array b = Napi::Array::New(env, 2);
        b.Set(0u, R.fx); b.Set(1u, R.fy);
        so.Set("after", b);
        so.Set("afterRow", static_cast<double>(R.fr));
      } else so.Set("after", env.Null());
      series.Set(s, so);
    }
    o.Set("series", series);
    if (blockRows) {
      // per y column: the M4 of each block, 13 values per block (count, first x y row, last x y row,
      // min x y row, max x y row; rows as doubles), block-major
      Napi::Array bl = Napi::Array::New(env, nY);
      for (int yi = 0; yi < nY; yi++) {
        auto a = Napi::Float64Array::New(env, nBlocks * 13);
        double* d = a.Data();
        for (uint64_t b = 0; b < nBlocks; b++) {
          const Slot& q = blocks[static_cast<size_t>(yi) * nBlocks + b];
          double* o13 = d + b * 13;
          o13[0] = q.n;
          o13[1] = q.fx; o13[2] = q.fy; o13[3] = static_cast<double>(q.fr);
          o13[4] = q.lx; o13[5] = q.ly; o13[6] = static_cast<double>(q.lr);
          o13[7] = q.mnx; o13[8] = q.mny; o13[9] = static_cast<double>(q.mnr);
          o13[10] = q.mxx; o13[11] = q.mxy; o13[12] = static_cast<double>(q.mxr);
        }
        bl.Set(static_cast<uint32_t>(yi), a);
      }
      o.Set("blocks", bl);
      o.Set("blockRows", static_cast<double>(blockRows));
    }
    o.Set("rows", static_cast<double>(plan.rows));
    o.Set("used", static_cast<double>(total.used));
    o.Set("nan", static_cast<double>(total.nan));
    o.Set("filtered", static_cast<double>(total.filtered));
    o.Set("uncategorized", static_cast<double>(total.uncategorized));
    return o;
  }
};

// m4({ x, ys: [...], category? } descriptors, { x0, x1, width, categories? }, filter?, job?)
Napi::Value M4(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* w = new M4Worker(env);
  Status st;
  if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsObject()) return w->Start(Status::Error("E_BAD_ARG", "m4(columns, options)"));
  Napi::Object cols = info[0].As<Napi::Object>(), opt = info[1].As<Napi::Object>();
  ColumnPtr x;
  if (!ParseColumn(cols.Get("x"), &x, &st)) return w->Start(st);
  w->plan.Add(x);
  if (!cols.Get("ys").IsArray()) return w->Start(Status::Error("E_BAD_ARG", "m4: ys must be an array of columns"));
  Napi::Array ys = cols.Get("ys").As<Napi::Array>();
  if (ys.Length() < 1 || ys.Length() > 16) return w->Start(Status::Error("E_BAD_ARG", "m4: 1 to 16 y columns"));
  for (uint32_t i = 0; i < ys.Length(); i++) {
    ColumnPtr y;
    if (!ParseColumn(ys.Get(i), &y, &st)) return w->Start(st);
    w->plan.Add(y);
  }
  w->nY = static_cast<int>(ys.Length());
  uint64_t width = 0;
  if (!GetF64(opt, "x0", &w->x0, &st) || !GetF64(opt, "x1", &w->x1, &st) || !GetU64(opt, "width", &width, &st)) return w->Start(st);
  if (!std::isfinite(w->x0) || !std::isfinite(w->x1) || !(w->x1 > w->x0)) return w->Start(Status::Error("E_BAD_ARG", "m4: range [x0, x1) must be finite and non-empty"));
  if (width < 1 || width > 16384) return w->Start(Status::Error("E_BAD_ARG", "m4: width must be 1..16384"));
  w->width = static_cast<uint32_t>(width);
  w->scale = width / (w->x1 - w->x0);
  if (!std::isfinite(w->scale)) return w->Start(Status::Error("E_BAD_ARG", "m4: range too small"));
  if (!cols.Get("category").IsUndefined()) {
    if (w->nY != 1) return w->Start(Status::Error("E_BAD_ARG", "m4: a split needs exactly one y column"));
    ColumnPtr c;
    if (!ParseColumn(cols.Get("category"), &c, &st)) return w->Start(st);
    w->catCol = static_cast<int>(w->plan.cols.size());
    w->plan.Add(c);
    uint64_t k = 0;
    if (!GetU64(opt, "categories", &k, &st)) return w->Start(st);
    if (k < 1 || k > 256) return w->Start(Status::Error("E_BAD_ARG", "m4: categories must be 1..256"));
    w->categories = static_cast<uint32_t>(k);
  }
  if (opt.Has("blockRows") && !opt.Get("blockRows").IsUndefined()) {
    uint64_t b = 0;
    if (!GetU64(opt, "blockRows", &b, &st)) return w->Start(st);
    if (b < 64 || b > (1u << 24)) return w->Start(Status::Error("E_BAD_ARG", "m4: blockRows must be 64..16777216"));
    if (w->catCol >= 0) return w->Start(Status::Error("E_BAD_ARG", "m4: block summaries are kept per y column, not per split value"));
    w->blockRows = b;
  }
  if (info.Length() > 2 && !w->plan.AddFilter(info[2], &st)) return w->Start(st);
  if (w->blockRows && !w->plan.filter.empty()) return w->Start(Status::Error("E_BAD_ARG", "m4: block summaries are of unfiltered rows"));
  if (info.Length() > 3) w->SetJob(GetJob(info[3]));
  return w->Start();
}

Export e_m4("m4", M4);

}  // namespace
}  // namespace cdx
