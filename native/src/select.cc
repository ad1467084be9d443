// Filtered views: the rows that pass a filter, addressed by their rank among passing rows, so the
// table can scroll through "rows k .. k+n of the filtered view" of a billion-row file.
//
//  - filterBlockCounts(filter, { blockRows, rows? }): one parallel pass over the filter's columns
//    counting the passing rows (three-valued result == true) in each block of `blockRows` rows.
//    Prefix sums of these counts (kept on the JS side) locate the block holding the k-th passing
//    row in O(log blocks).
//  - filteredRowIds(filter, { fromRow, toRow, skip, limit, rows?, blockRows?, blockCounts?, blockFirst? }):
//    global row numbers of the passing rows in [fromRow, toRow), after dropping the first `skip`,
//    at most `limit`. Scans in morsels taken in growing parallel waves and stops as soon as it has
//    enough, so time follows the rows scanned, not the file; with block counts as a hint it jumps
//    over blocks without passing rows and over whole blocks still inside `skip`.
//  - takeRows(columns, rowIds): values of arbitrary rows (ascending ids are fastest: the chunk is
//    found once per run), in the shape readRows returns.
#include <algorithm>
#include <cmath>

#include "rows.h"

namespace cdx {
namespace {

constexpr double kMaxSafe = 9007199254740992.0;  // 2^53

// Reads an optional non-negative integer (a JS number below 2^53); keeps *out when absent.
bool OptRow(const Napi::Object& o, const char* key, uint64_t* out, Status* st) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return true;
  if (!v.IsNumber()) { *st = Status::Error("E_BAD_ARG", std::string(key) + " must be a number"); return false; }
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d > kMaxSafe || d != std::floor(d)) {
    *st = Status::Error("E_BAD_ARG", std::string(key) + " must be a non-negative integer");
    return false;
  }
  *out = static_cast<uint64_t>(d);
  return true;
}

// Worker thread: open/validate the filter's columns (sharing mappings of the same path), build
// dictionary tables, check equal lengths, and settle the row count (the filter's columns, or the
// `rows` option when the filter reads no column). Unlike Plan::Prepare, makes no segments: a
// window read must not pay for the whole file.
Status PrepareFilter(Filter& f, bool haveRows, uint64_t* rows) {
  auto& cols = f.cols;
  if (cols.size() > 60) return Status::Error("E_BAD_ARG", "too many columns in one filter (max 60)");
  for (size_t i = 0; i < cols.size(); i++) {
    for (size_t j = 0; j < i && !cols[i]->file.file; j++)
      if (cols[j]->file.file && cols[j]->file.path == cols[i]->file.path) cols[i]->file.file = cols[j]->file.file;
    Status st = cols[i]->Validate();
    if (!st.ok()) return st;
  }
  Status st = f.Prepare();
  if (!st.ok()) return st;
  if (cols.empty()) {
    if (!haveRows) return Status::Error("E_BAD_ARG", "the filter reads no column: give the row count (rows)");
    return Status::Ok();
  }
  const uint64_t n = cols[0]->rows;
  for (auto& c : cols)
    if (c->rows != n)
      return Status::Error("E_BAD_ARG", "columns differ in length: " + cols[0]->name + " has " + std::to_string(n) +
                                            " rows, " + c->name + " has " + std::to_string(c->rows));
  if (haveRows && *rows != n)
    return Status::Error("E_BAD_ARG", "rows (" + std::to_string(*rows) + ") differs from the filter's columns (" + std::to_string(n) + ")");
  *rows = n;
  return Status::Ok();
}

std::string WhatOf(const Filter& f) { return f.cols.empty() ? std::string("data") : f.cols[0]->file.path; }

// Passing rows (result 2) of [r0, r1) within one chunk of every filter column: f(row) for each.
template <class F>
inline void ForPassing(const Filter& filter, const View* views, uint64_t r0, uint64_t r1, FilterScratch& s, F&& f) {
  for (uint64_t r = r0; r < r1; r += kBatch) {
    const uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(kBatch, r1 - r));
    const uint8_t* t = filter.EvalTri(views, r, n, s);
    for (uint32_t i = 0; i < n; i++)
      if (t[i] == 2) f(r + i);
  }
}

inline uint64_t CountPassing(const Filter& filter, const View* views, uint64_t r0, uint64_t r1, FilterScratch& s) {
  uint64_t c = 0;
  for (uint64_t r = r0; r < r1; r += kBatch) {
    const uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(kBatch, r1 - r));
    const uint8_t* t = filter.EvalTri(views, r, n, s);
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++) k += t[i] == 2;
    c += k;
  }
  return c;
}

// Result of a filter that reads no column (constant): 2 passes every row, else none.
uint8_t ConstResult(const Filter& f) {
  if (f.empty()) return 2;
  FilterScratch s;
  s.Init(f.depth);
  return f.EvalTri(nullptr, 0, 1, s)[0];
}

// ---------------------------------------------------------------------------------------------
class BlockCountsWorker : public PromiseWorker {
 public:
  explicit BlockCountsWorker(Napi::Env env) : PromiseWorker(env, "cdx.filterBlockCounts") {}
  Plan plan;
  uint64_t blockRows = 65536, rows = 0;
  bool haveRows = false;
  std::vector<uint32_t> counts;
  void SetJob(JobPtr j) { job_ = std::move(j); }

 protected:
  void Run() override {
    status_ = PrepareFilter(plan.filter, haveRows, &rows);
    if (!status_.ok()) return;
    const uint64_t nBlocks = (rows + blockRows - 1) / blockRows;
    if (nBlocks > (1ULL << 26)) {
      status_ = Status::Error("E_BAD_ARG", "blockRows " + std::to_string(blockRows) + " makes too many blocks for " + std::to_string(rows) + " rows");
      return;
    }
    counts.assign(nBlocks, 0);
    job_->total.store(rows);
    const Filter& f = plan.filter;
    if (f.cols.empty()) {
      // constant filter: every block is full or empty
      const bool all = ConstResult(f) == 2;
      for (uint64_t b = 0; b < nBlocks; b++) counts[b] = all ? static_cast<uint32_t>(std::min(blockRows, rows - b * blockRows)) : 0;
      job_->done.store(rows);
      if (Cancelled()) status_ = Status::Error("E_CANCELLED", "cancelled");
      return;
    }
    // Segments as the other kernels cut them (no chunk boundary inside; morsels of 64Ki rows);
    // a morsel may straddle block boundaries, so it is cut again at each one.
    std::vector<const Column*> cp;
    for (auto& c : f.cols) cp.push_back(c.get());
    const std::vector<Segment> segs = MakeSegments(cp, rows, 1 << 16);
    const int T = MaxThreads();
    std::vector<FilterScratch> scratch(T);
    for (FilterScratch& s : scratch) s.Init(f.depth);
    std::vector<std::atomic<uint32_t>> acc(nBlocks);
    for (auto& a : acc) a.store(0, std::memory_order_relaxed);
    if (rows > (64ULL << 20)) for (auto& c : f.cols) if (c->file.file) c->file.file->AdviseSequential(0, c->file.file->size());
    auto body = [&](const Segment& seg, uint64_t r0, uint64_t r1, int t) {
      View views[64];
      for (size_t c = 0; c < f.cols.size(); c++) views[c].Bind(*f.cols[c], seg.chunkIdx[c]);
      for (uint64_t a = r0; a < r1;) {
        const uint64_t b = a / blockRows;
        const uint64_t e = std::min(r1, (b + 1) * blockRows);
        const uint64_t c = CountPassing(f, views, a, e, scratch[t]);
        if (c) acc[b].fetch_add(static_cast<uint32_t>(c), std::memory_order_relaxed);
        a = e;
      }
    };
    status_ = ParallelScan(segs, job_.get(), WhatOf(f), body);
    if (!status_.ok()) return;
    for (uint64_t b = 0; b < nBlocks; b++) counts[b] = acc[b].load(std::memory_order_relaxed);
  }

  Napi::Value Result(Napi::Env env) override {
    auto a = Napi::Uint32Array::New(env, counts.size());
    if (!counts.empty()) std::memcpy(a.Data(), counts.data(), counts.size() * 4);
    return a;
  }
};

// filterBlockCounts(filter, { blockRows, rows? }, job?)
Napi::Value FilterBlockCounts(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* w = new BlockCountsWorker(env);
  Status st;
  if (info.Length() < 2 || !info[1].IsObject()) return w->Start(Status::Error("E_BAD_ARG", "filterBlockCounts(filter, { blockRows })"));
  if (!w->plan.AddFilter(info[0], &st)) return w->Start(st);
  Napi::Object o = info[1].As<Napi::Object>();
  if (!OptRow(o, "blockRows", &w->blockRows, &st)) return w->Start(st);
  if (w->blockRows < 1 || w->blockRows > 0xffffffffULL) return w->Start(Status::Error("E_BAD_ARG", "blockRows must be in [1, 2^32)"));
  if (!o.Get("rows").IsUndefined() && !o.Get("rows").IsNull()) {
    if (!OptRow(o, "rows", &w->rows, &st)) return w->Start(st);
    w->haveRows = true;
  }
  if (info.Length() > 2) w->SetJob(GetJob(info[2]));
  return w->Start();
}
Export e_blockCounts("filterBlockCounts", FilterBlockCounts);

// ---------------------------------------------------------------------------------------------
class RowIdsWorker : public PromiseWorker {
 public:
  explicit RowIdsWorker(Napi::Env env) : PromiseWorker(env, "cdx.filteredRowIds") {}
  Filter filter;
  uint64_t fromRow = 0, toRow = UINT64_MAX, skip = 0, limit = 100000000ULL, rows = 0;
  bool haveRows = false;
  uint64_t blockRows = 0;              // 0: no hint
  uint64_t blockFirst = 0;             // block index of blockCounts[0]
  std::vector<uint32_t> blockCounts;   // hint: passing rows per block
  std::vector<double> ids;
  uint64_t scanned = 0;
  void SetJob(JobPtr j) { job_ = std::move(j); }

 protected:
  struct Morsel {
    uint64_t r0, r1;
    uint32_t chunk[64];
  };

  void Run() override {
    status_ = PrepareFilter(filter, haveRows, &rows);
    if (!status_.ok()) return;
    if (fromRow > rows) {
      status_ = Status::Error("E_OUT_OF_RANGE", "fromRow " + std::to_string(fromRow) + " is past the end (" + std::to_string(rows) + " rows)");
      return;
    }
    toRow = std::min(toRow, rows);
    if (blockRows) {
      // the hint covers blocks [blockFirst, blockFirst + size): all of [fromRow, toRow) must lie there
      const uint64_t nBlocks = (rows + blockRows - 1) / blockRows;
      const uint64_t end = blockFirst + blockCounts.size();
      const bool covers = end <= nBlocks && (fromRow >= toRow || (fromRow / blockRows >= blockFirst && (toRow - 1) / blockRows < end));
      if (!covers) {
        status_ = Status::Error("E_BAD_ARG", "blockCounts (blocks " + std::to_string(blockFirst) + ".." + std::to_string(end) + " of " +
                                                 std::to_string(nBlocks) + ", " + std::to_string(blockRows) + " rows each) do not cover rows " +
                                                 std::to_string(fromRow) + ".." + std::to_string(toRow));
        return;
      }
    }
    if (fromRow >= toRow || limit == 0) return;
    job_->total.store(toRow - fromRow);
    const Filter& f = filter;
    const size_t nc = f.cols.size();
    if (nc == 0) {
      // constant filter: all rows or none
      if (ConstResult(f) != 2) return;
      const uint64_t a = fromRow + std::min(skip, toRow - fromRow);
      const uint64_t e = a + std::min(limit, toRow - a);
      ids.reserve(e - a);
      for (uint64_t r = a; r < e; r++) ids.push_back(static_cast<double>(r));
      job_->done.store(toRow - fromRow);
      return;
    }

    // Cursor over [fromRow, toRow): morsels that cross no chunk boundary (and no block boundary
    // when block counts are given), taken in waves of 1, 2, 4, ... up to 4 per thread.
    constexpr uint64_t kMorsel = 16384;
    uint64_t cur = fromRow;
    uint64_t skipLeft = skip;
    const int T = MaxThreads();
    const size_t maxWave = static_cast<size_t>(std::max(1, T)) * 4;
    std::vector<FilterScratch> scratch(T);
    for (FilterScratch& s : scratch) s.Init(f.depth);
    std::vector<Morsel> wave;
    std::vector<std::vector<double>> found;
    size_t waveSize = 1;
    bool fault = false;
    ErrorSlot error;

    while (cur < toRow && ids.size() < limit) {
      if (Cancelled()) { status_ = Status::Error("E_CANCELLED", "cancelled"); return; }
      // build the wave
      wave.clear();
      while (wave.size() < waveSize && cur < toRow) {
        uint64_t end = std::min(toRow, cur + kMorsel);
        if (blockRows) {
          const uint64_t b = cur / blockRows;
          const uint64_t bs = b * blockRows, be = std::min(rows, bs + blockRows);
          const uint32_t c = blockCounts[b - blockFirst];
          // nothing passes here; or (before any pending morsel) the whole block is still skipped
          if (c == 0 || (wave.empty() && cur == bs && be <= toRow && skipLeft >= c)) {
            if (c) skipLeft -= c;
            job_->done.fetch_add(std::min(be, toRow) - cur, std::memory_order_relaxed);
            cur = std::min(be, toRow);
            continue;
          }
          end = std::min(end, be);
        }
        Morsel m;
        m.r0 = cur;
        for (size_t c = 0; c < nc; c++) {
          const Column& col = *f.cols[c];
          const size_t k = col.ChunkOf(cur);
          m.chunk[c] = static_cast<uint32_t>(k);
          end = std::min(end, col.chunks[k].rowStart + col.chunks[k].rows);
        }
        if (end <= cur) { status_ = Status::Error("E_CORRUPT", "inconsistent chunks in " + WhatOf(f)); return; }
        m.r1 = end;
        wave.push_back(m);
        cur = end;
      }
      if (wave.empty()) break;
      if (found.size() < wave.size()) found.resize(wave.size());
      const int64_t W = static_cast<int64_t>(wave.size());
#pragma omp parallel for schedule(dynamic, 1) if (W > 1)
      for (int64_t i = 0; i < W; i++) {
#ifdef _OPENMP
        const int t = omp_get_thread_num();
#else
        const int t = 0;
#endif
        const Morsel& m = wave[i];
        std::vector<double>& out = found[i];
        out.clear();
        bool ok = true;
        try {
          ok = GuardedRun([&] {
            View views[64];
            for (size_t c = 0; c < nc; c++) views[c].Bind(*f.cols[c], m.chunk[c]);
            ForPassing(f, views, m.r0, m.r1, scratch[t], [&](uint64_t r) { out.push_back(static_cast<double>(r)); });
          });
        } catch (...) {
          error.Capture("reading " + WhatOf(f));
        }
        if (!ok) fault = true;
        job_->done.fetch_add(m.r1 - m.r0, std::memory_order_relaxed);
      }
      if (fault) { status_ = Status::Error("E_TRUNCATED", WhatOf(f) + " was truncated (or became unreadable) while being read"); return; }
      if (error.failed()) { status_ = error.status(); return; }
      // append in row order, dropping the skipped rows
      for (size_t i = 0; i < wave.size() && ids.size() < limit; i++) {
        const std::vector<double>& v = found[i];
        if (skipLeft >= v.size()) { skipLeft -= v.size(); continue; }
        const size_t from = static_cast<size_t>(skipLeft);
        skipLeft = 0;
        const size_t take = static_cast<size_t>(std::min<uint64_t>(v.size() - from, limit - ids.size()));
        ids.insert(ids.end(), v.begin() + from, v.begin() + from + take);
      }
      waveSize = std::min(maxWave, waveSize * 2);
    }
  }

  Napi::Value Result(Napi::Env env) override {
    auto a = Napi::Float64Array::New(env, ids.size());
    if (!ids.empty()) std::memcpy(a.Data(), ids.data(), ids.size() * 8);
    return a;
  }
};

// filteredRowIds(filter, { fromRow?, toRow?, skip?, limit?, rows?, blockRows?, blockCounts?, blockFirst? }, job?)
Napi::Value FilteredRowIds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* w = new RowIdsWorker(env);
  Status st;
  if (info.Length() < 2 || !info[1].IsObject()) return w->Start(Status::Error("E_BAD_ARG", "filteredRowIds(filter, { fromRow, toRow, skip, limit })"));
  if (!w->filter.Parse(info[0], &st)) return w->Start(st);
  Napi::Object o = info[1].As<Napi::Object>();
  if (!OptRow(o, "fromRow", &w->fromRow, &st) || !OptRow(o, "toRow", &w->toRow, &st) || !OptRow(o, "skip", &w->skip, &st) ||
      !OptRow(o, "limit", &w->limit, &st))
    return w->Start(st);
  if (w->limit > 100000000ULL) return w->Start(Status::Error("E_BAD_ARG", "limit must be at most 1e8"));
  if (!o.Get("rows").IsUndefined() && !o.Get("rows").IsNull()) {
    if (!OptRow(o, "rows", &w->rows, &st)) return w->Start(st);
    w->haveRows = true;
  }
  Napi::Value bc = o.Get("blockCounts");
  if (!bc.IsUndefined() && !bc.IsNull()) {
    if (!bc.IsTypedArray() || bc.As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array)
      return w->Start(Status::Error("E_BAD_ARG", "blockCounts must be a Uint32Array"));
    uint64_t br = 0;
    if (!OptRow(o, "blockRows", &br, &st)) return w->Start(st);
    if (br < 1 || br > 0xffffffffULL) return w->Start(Status::Error("E_BAD_ARG", "blockCounts needs blockRows in [1, 2^32)"));
    auto u = bc.As<Napi::Uint32Array>();
    if (!OptRow(o, "blockFirst", &w->blockFirst, &st)) return w->Start(st);
    w->blockRows = br;
    w->blockCounts.assign(u.Data(), u.Data() + u.ElementLength());
  }
  if (info.Length() > 2) w->SetJob(GetJob(info[2]));
  return w->Start();
}
Export e_rowIds("filteredRowIds", FilteredRowIds);

// ---------------------------------------------------------------------------------------------
class TakeWorker : public PromiseWorker {
 public:
  explicit TakeWorker(Napi::Env env) : PromiseWorker(env, "cdx.takeRows") {}
  std::vector<ColumnPtr> cols;
  std::vector<uint64_t> ids;
  std::vector<RowsOut> out;
  void SetJob(JobPtr j) { job_ = std::move(j); }

 protected:
  void Run() override {
    status_ = PrepareRowColumns(cols);
    if (!status_.ok()) return;
    const uint64_t n = ids.size();
    for (const auto& c : cols)
      for (uint64_t id : ids)
        if (id >= c->rows) {
          status_ = Status::Error("E_OUT_OF_RANGE", "row " + std::to_string(id) + " is past the end of column " + c->name + " (" +
                                                        std::to_string(c->rows) + " rows)");
          return;
        }
    job_->total.store(n * cols.size());
    out.resize(cols.size());
    bool corrupt = false;
    bool ok = GuardedRun([&] {
      for (size_t c = 0; c < cols.size(); c++) {
        if (Cancelled()) { status_ = Status::Error("E_CANCELLED", "cancelled"); return; }
        const Column& col = *cols[c];
        RowsOut& o = out[c];
        o.Init(col, n);
        StringColumnReader dict;
        if (col.kind == Kind::DICT) dict.Bind(*col.dict);
        View v;
        uint64_t lo = 1, hi = 0;  // rows of the bound chunk (none yet)
        for (uint64_t i = 0; i < n; i++) {
          const uint64_t r = ids[i];
          if (r < lo || r >= hi) {
            v.Bind(col, col.ChunkOf(r));
            lo = v.rowStart;
            hi = lo + v.chunk->rows;
          }
          const uint64_t local = r - lo;
          if (!v.Valid(local)) { o.valid[i] = 0; o.anyNull = true; }
          switch (col.kind) {
            case Kind::NUMERIC:
              DispatchNumeric(col.dtype, [&](auto tag) {
                using T = decltype(tag);
                T* dst = reinterpret_cast<T*>(o.values.data()) + i;
                const uint8_t* src = v.data + local * sizeof(T);
                *dst = col.swap ? Load<T, true>(src) : Load<T, false>(src);
              });
              break;
            case Kind::BOOL:
              o.values[i] = (v.data[local >> 3] >> (local & 7)) & 1;
              break;
            default: {
              const RowsOut::Text t = o.AppendText(col, v, local, dict, i);
              if (t == RowsOut::Text::CORRUPT) { corrupt = true; return; }
              if (t == RowsOut::Text::TOO_LARGE) { status_ = Status::Error("E_TOO_LARGE", "row selection holds more than 2 GiB of text"); return; }
            }
          }
        }
        job_->done.fetch_add(n, std::memory_order_relaxed);
      }
    });
    status_ = RowsReadStatus(ok, corrupt, cols, status_);
  }

  Napi::Value Result(Napi::Env env) override { return RowsToJs(env, out); }
};

// takeRows(columns[], rowIds: Float64Array, job?)
Napi::Value TakeRows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* w = new TakeWorker(env);
  Status st;
  if (info.Length() < 2 || !info[0].IsArray() || !info[1].IsTypedArray() ||
      info[1].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    return w->Start(Status::Error("E_BAD_ARG", "takeRows(columns, rowIds: Float64Array)"));
  Napi::Array a = info[0].As<Napi::Array>();
  if (!ParseRowColumns(a, &w->cols, &st)) return w->Start(st);
  auto ids = info[1].As<Napi::Float64Array>();
  const size_t n = ids.ElementLength();
  if (n > 100000000ULL) return w->Start(Status::Error("E_BAD_ARG", "at most 1e8 row ids"));
  w->ids.resize(n);
  const double* d = ids.Data();
  for (size_t i = 0; i < n; i++) {
    if (!(d[i] >= 0) || d[i] > kMaxSafe || d[i] != std::floor(d[i]))
      return w->Start(Status::Error("E_BAD_ARG", "row ids must be non-negative integers (id " + std::to_string(i) + " is not)"));
    w->ids[i] = static_cast<uint64_t>(d[i]);
  }
  if (info.Length() > 2) w->SetJob(GetJob(info[2]));
  return w->Start();
}
Export e_take("takeRows", TakeRows);

}  // namespace
}  // namespace cdx
