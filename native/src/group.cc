// groupBy: parallel hash aggregation over mapped columns (Blaze's `by`).
//
// Keys are up to 8 columns of any kind the kernels read: integers (exact, 64-bit included), floats
// (+0 and -0 one group, every NaN one group), bools, dates/timestamps (their stored integers),
// strings (compared by bytes) and dictionary strings (a dictionary holding one text twice still
// makes one group). A null key is a group of its own, as in SQL.
//
// Each thread aggregates the morsels it takes into its own open-addressing table (a group: its
// hash, K key codes, a null mask, the first row that made it — strings are compared through that
// row — and every measure's state). The thread tables are then cut into 256 partitions by the top
// bits of the hash and the partitions merged in parallel, so the merge costs one pass over the
// groups, not a serial insert of every thread's table into one.
//
// Measures: count(*), count(x), sum, mean, min, max, var, std (sample, as SQL's stddev), distinct
// (count of distinct non-null values, exact up to 64-bit hash collisions) and quantiles
// (interpolated like SQL's quantile_cont / numpy's linear). The last two keep (group, value)
// pairs per thread and sort them by group after the merge: memory grows with the rows, and the
// caller's `maxGatherRows` bounds it (a clear E_TOO_LARGE beyond). Floats follow SQL engines' order:
// NaN is above every number (max is NaN when one is present; min ignores it; a sum is NaN).
// Integer sums are exact (128-bit) and reported as int64 when every group's fits, else as float64.
// The number of groups is bounded by `maxGroups` (E_TOO_LARGE naming it, never an allocation failure).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <unordered_map>

#include "plan.h"

namespace cdx {
namespace {

enum class Fn : uint8_t { ROWS, COUNT, SUM, MEAN, MIN, MAX, VAR, STD, DISTINCT, QUANTILE };

bool ParseFn(const std::string& s, Fn* out) {
  static const std::pair<const char*, Fn> names[] = {
      {"rows", Fn::ROWS}, {"count", Fn::COUNT}, {"sum", Fn::SUM}, {"mean", Fn::MEAN}, {"min", Fn::MIN},
      {"max", Fn::MAX}, {"var", Fn::VAR}, {"std", Fn::STD}, {"distinct", Fn::DISTINCT}, {"quantile", Fn::QUANTILE}};
  for (auto& [n, f] : names)
    if (s == n) { *out = f; return true; }
  return false;
}

enum class KeyKind : uint8_t { INT, FLOAT, STR, DICT };

struct Measure {
  Fn fn = Fn::ROWS;
  int col = -1;      // plan column, -1 for rows
  double q = 0.5;    // QUANTILE
  bool isFloat = false, isStr = false, isUnsigned = false;
  int gather = -1;   // DISTINCT / QUANTILE: index of its gather list
};

// Per-measure state of every group (only the vectors its function uses are sized).
struct MState {
  std::vector<uint64_t> cnt;
  std::vector<double> a, b;      // sum | mean, m2 | min | max
  std::vector<__int128> isum;    // integer sums
  std::vector<int64_t> iext;     // integer min/max (uint64 as its bit pattern)
};

constexpr uint64_t kNullCode = 0x8000000000000001ULL;

struct Table {
  int K = 0;
  std::vector<int32_t> slots;
  uint64_t mask = 0;
  std::vector<uint64_t> hashes, codes, rep;
  std::vector<uint32_t> nulls;
  std::vector<MState> ms;
  uint32_t n = 0;
};

class GroupWorker : public PromiseWorker {
 public:
  explicit GroupWorker(Napi::Env env) : PromiseWorker(env, "cdx.groupBy") {}
  Plan plan;
  size_t nKeys = 0;
  std::vector<Measure> measures;
  uint64_t maxGroups = 50'000'000, maxGatherRows = 200'000'000;
  void SetJob(JobPtr j) { job_ = std::move(j); }

 private:
  std::vector<KeyKind> kinds;
  std::vector<std::vector<uint32_t>> dictCanon;  // DICT keys: index -> first index with the same text
  std::vector<StringColumnReader> keyReaders;     // STR/DICT-dictionary access by global row
  std::vector<StringColumnReader> valueReaders;   // string measure columns (distinct)
  int nGather = 0;

  // results
  uint64_t groups = 0;
  std::vector<uint64_t> outCodes, outRep;
  std::vector<uint32_t> outNulls;
  std::vector<MState> outMs;
  std::vector<std::vector<double>> gatherOut;  // per measure with a gather: its value per group
  std::atomic<bool> corrupt{false};

  bool StrOfRep(size_t k, uint64_t row, std::string_view* s) const {
    const uint8_t* p; uint64_t len;
    if (!keyReaders[k].Get(row, &p, &len)) return false;
    *s = std::string_view(reinterpret_cast<const char*>(p), len);
    return true;
  }

  // Whether group g of table A equals group h of table B in its string keys (codes already equal).
  bool SameStrings(const Table& A, uint32_t g, const Table& B, uint32_t h) const {
    for (size_t k = 0; k < nKeys; k++) {
      if (kinds[k] != KeyKind::STR || (A.nulls[g] >> k & 1)) continue;
      std::string_view x, y;
      if (!StrOfRep(k, A.rep[g], &x) || !StrOfRep(k, B.rep[h], &y)) return false;
      if (x != y) return false;
    }
    return true;
  }

  void InitStates(Table& t) const {
    t.K = static_cast<int>(nKeys);
    t.ms.assign(measures.size(), MState{});
    t.slots.assign(1024, -1);
    t.mask = 1023;
  }

  // Appends a new group to t in the free slot `slot` (states at their identity); returns its index
  // or -1 past the limit.
  int32_t NewGroup(Table& t, uint64_t slot, uint64_t h, const uint64_t* codes, uint32_t nullMask, uint64_t rep) const {
    if (t.n >= maxGroups) return -1;
    const uint32_t g = t.n++;
    t.slots[slot] = static_cast<int32_t>(g);
    t.hashes.push_back(h);
    for (size_t k = 0; k < nKeys; k++) t.codes.push_back(codes[k]);
    t.nulls.push_back(nullMask);
    t.rep.push_back(rep);
    for (size_t m = 0; m < measures.size(); m++) {
      const Measure& M = measures[m];
      MState& S = t.ms[m];
      switch (M.fn) {
        case Fn::ROWS: case Fn::COUNT: case Fn::DISTINCT: case Fn::QUANTILE: S.cnt.push_back(0); break;
        case Fn::SUM:
          S.cnt.push_back(0);
          if (M.isFloat) S.a.push_back(0); else S.isum.push_back(0);
          break;
        case Fn::MEAN: case Fn::VAR: case Fn::STD:
          S.cnt.push_back(0); S.a.push_back(0); S.b.push_back(0);
          break;
        case Fn::MIN: case Fn::MAX:
          S.cnt.push_back(0);
          if (M.isFloat) { S.a.push_back(M.fn == Fn::MIN ? INFINITY : -INFINITY); S.b.push_back(0); }
          else S.iext.push_back(0);
          break;
      }
    }
    if (static_cast<uint64_t>(t.n) * 2 > t.slots.size()) Grow(t);
    return static_cast<int32_t>(g);
  }

  static void Grow(Table& t) {
    const size_t cap = t.slots.size() * 2;
    t.slots.assign(cap, -1);
    t.mask = cap - 1;
    for (uint32_t g = 0; g < t.n; g++) {
      uint64_t s = t.hashes[g] & t.mask;
      while (t.slots[s] >= 0) s = (s + 1) & t.mask;
      t.slots[s] = static_cast<int32_t>(g);
    }
  }

  // Merges state of group h of B into group g of A.
  void MergeStates(Table& A, uint32_t g, const Table& B, uint32_t h) const {
    for (size_t m = 0; m < measures.size(); m++) {
      const Measure& M = measures[m];
      MState& S = A.ms[m];
      const MState& O = B.ms[m];
      const uint64_t n1 = S.cnt[g], n2 = O.cnt[h];
      S.cnt[g] = n1 + n2;
      switch (M.fn) {
        case Fn::ROWS: case Fn::COUNT: case Fn::DISTINCT: case Fn::QUANTILE: break;
        case Fn::SUM:
          if (M.isFloat) S.a[g] += O.a[h]; else S.isum[g] += O.isum[h];
          break;
        case Fn::MEAN: case Fn::VAR: case Fn::STD: {
          if (!n2) break;
          if (!n1) { S.a[g] = O.a[h]; S.b[g] = O.b[h]; break; }
          const double n = static_cast<double>(n1 + n2), d = O.a[h] - S.a[g];
          S.a[g] += d * static_cast<double>(n2) / n;
          S.b[g] += O.b[h] + d * d * static_cast<double>(n1) * static_cast<double>(n2) / n;
          break;
        }
        case Fn::MIN: case Fn::MAX:
          if (!n2) break;
          if (M.isFloat) {
            S.b[g] += O.b[h];  // NaN count
            S.a[g] = M.fn == Fn::MIN ? std::min(S.a[g], O.a[h]) : std::max(S.a[g], O.a[h]);
          } else if (!n1) {
            S.iext[g] = O.iext[h];
          } else if (M.isUnsigned) {
            const uint64_t x = static_cast<uint64_t>(S.iext[g]), y = static_cast<uint64_t>(O.iext[h]);
            S.iext[g] = static_cast<int64_t>(M.fn == Fn::MIN ? std::min(x, y) : std::max(x, y));
          } else {
            S.iext[g] = M.fn == Fn::MIN ? std::min(S.iext[g], O.iext[h]) : std::max(S.iext[g], O.iext[h]);
          }
          break;
      }
    }
  }

 protected:
  void Run() override {
    status_ = plan.Prepare(1 << 16);
    if (!status_.ok()) return;
    const uint64_t rows = plan.rows;
    job_->total.store(rows);
    // key kinds, dictionaries made canonical, string readers
    kinds.resize(nKeys);
    dictCanon.resize(nKeys);
    keyReaders.resize(nKeys);
    for (size_t k = 0; k < nKeys; k++) {
      const Column& c = *plan.cols[k];
      if (c.kind == Kind::DICT) {
        kinds[k] = KeyKind::DICT;
        keyReaders[k].Bind(*c.dict);
        std::unordered_map<std::string_view, uint32_t> seen;
        auto& canon = dictCanon[k];
        canon.resize(c.dict->rows);
        for (uint64_t i = 0; i < c.dict->rows; i++) {
          std::string_view s;
          if (!StrOfRep(k, i, &s)) { status_ = Status::Error("E_CORRUPT", "the dictionary of column " + c.name + " of " + plan.What() + " has corrupt offsets"); return; }
          canon[i] = seen.emplace(s, static_cast<uint32_t>(i)).first->second;
        }
      } else if (c.kind == Kind::UTF8 || c.kind == Kind::LARGE_UTF8) {
        kinds[k] = KeyKind::STR;
        keyReaders[k].Bind(c);
      } else {
        kinds[k] = c.kind == Kind::NUMERIC && IsFloat(c.dtype) ? KeyKind::FLOAT : KeyKind::INT;
      }
    }
    valueReaders.resize(plan.cols.size());
    for (Measure& M : measures) {
      if (M.col < 0) continue;
      const Column& c = *plan.cols[M.col];
      M.isStr = c.IsString();
      M.isFloat = c.kind == Kind::NUMERIC && IsFloat(c.dtype);
      M.isUnsigned = c.kind == Kind::NUMERIC && IsUnsigned(c.dtype);
      if (M.isStr && M.fn != Fn::COUNT && M.fn != Fn::DISTINCT) {
        status_ = Status::Error("E_BAD_TYPE", "column " + c.name + " is text: only count and distinct apply to it");
        return;
      }
      if (M.isStr) {
        if (c.kind == Kind::DICT) valueReaders[M.col].Bind(*c.dict);
        else valueReaders[M.col].Bind(c);
      }
    }

    const int T = MaxThreads();
    std::vector<Table> tables(T);
    for (Table& t : tables) InitStates(t);
    std::vector<std::vector<std::vector<std::pair<uint32_t, uint64_t>>>> gathers(T, std::vector<std::vector<std::pair<uint32_t, uint64_t>>>(nGather));
    std::vector<FilterScratch> scratch(T);
    const bool needFilter = !plan.filter.empty();
    if (needFilter) for (FilterScratch& s : scratch) s.Init(plan.filter.depth);
    std::atomic<bool> overGroups{false}, overGather{false};
    std::atomic<uint64_t> gathered{0};

    auto body = [&](const Segment& seg, uint64_t r0, uint64_t r1, int t) {
      if (overGroups.load(std::memory_order_relaxed) || overGather.load(std::memory_order_relaxed)) return;
      View views[64];
      plan.Bind(seg, views);
      Table& tab = tables[t];
      static thread_local std::vector<uint64_t> codes;
      static thread_local std::vector<uint8_t> valid;
      codes.resize(static_cast<size_t>(nKeys) * kBatch);
      valid.resize(static_cast<size_t>(nKeys) * kBatch);
      double dv[kBatch];
      int64_t iv[kBatch];
      uint8_t mask[kBatch], vv[kBatch];
      int32_t gid[kBatch];
      uint64_t hs[kBatch];
      for (uint64_t r = r0; r < r1; r += kBatch) {
        const uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(kBatch, r1 - r));
        if (needFilter) plan.filter.Eval(plan.FilterViews(views), r, n, mask, scratch[t]);
        else std::memset(mask, 1, n);
        // key codes of the batch
        for (size_t k = 0; k < nKeys; k++) {
          const View& V = views[k];
          const uint64_t local = r - V.rowStart;
          uint64_t* cd = codes.data() + k * kBatch;
          uint8_t* va = valid.data() + k * kBatch;
          if (!ValidityBytes(V, local, n, va)) std::memset(va, 1, n);
          switch (kinds[k]) {
            case KeyKind::INT:
              DecodeI64(V, local, n, iv);
              for (uint32_t i = 0; i < n; i++) cd[i] = static_cast<uint64_t>(iv[i]);
              break;
            case KeyKind::FLOAT:
              DecodeF64(V, local, n, dv);
              for (uint32_t i = 0; i < n; i++) {
                double d = dv[i];
                if (d == 0) d = 0;
                if (d != d) d = std::numeric_limits<double>::quiet_NaN();
                std::memcpy(&cd[i], &d, 8);
              }
              break;
            case KeyKind::DICT: {
              DecodeI64(V, local, n, iv);
              const auto& canon = dictCanon[k];
              for (uint32_t i = 0; i < n; i++) {
                if (!va[i]) { cd[i] = 0; continue; }
                if (iv[i] < 0 || static_cast<uint64_t>(iv[i]) >= canon.size()) { corrupt.store(true); va[i] = 0; cd[i] = 0; continue; }
                cd[i] = canon[iv[i]];
              }
              break;
            }
            case KeyKind::STR:
              for (uint32_t i = 0; i < n; i++) {
                if (!va[i]) { cd[i] = 0; continue; }
                const uint8_t* p; uint64_t len;
                if (!StringAt(V, local + i, &p, &len)) { corrupt.store(true); va[i] = 0; cd[i] = 0; continue; }
                cd[i] = HashBytes(p, len);
              }
              break;
          }
        }
        // hashes, then the groups
        for (uint32_t i = 0; i < n; i++) {
          uint64_t h = 0x9e3779b97f4a7c15ULL;
          for (size_t k = 0; k < nKeys; k++) {
            const uint64_t c = valid[k * kBatch + i] ? codes[k * kBatch + i] : kNullCode;
            h = Mix64(h ^ (c + 0x632be59bd9b4e019ULL * (k + 1)));
          }
          hs[i] = h;
        }
        uint64_t key[8];
        for (uint32_t i = 0; i < n; i++) {
          if (!mask[i]) { gid[i] = -1; continue; }
          uint32_t nm = 0;
          for (size_t k = 0; k < nKeys; k++) {
            const bool ok = valid[k * kBatch + i];
            key[k] = ok ? codes[k * kBatch + i] : 0;
            nm |= (ok ? 0u : 1u) << k;
          }
          const uint64_t h = hs[i];
          uint64_t s = h & tab.mask;
          int32_t g = -1;
          for (;;) {
            const int32_t c = tab.slots[s];
            if (c < 0) break;
            if (tab.hashes[c] == h && tab.nulls[c] == nm &&
                std::equal(key, key + nKeys, tab.codes.begin() + static_cast<size_t>(c) * nKeys)) {
              bool same = true;
              for (size_t k = 0; k < nKeys && same; k++) {
                if (kinds[k] != KeyKind::STR || (nm >> k & 1)) continue;
                const uint8_t* p; uint64_t len;
                std::string_view x;
                if (!StringAt(views[k], r - views[k].rowStart + i, &p, &len) || !StrOfRep(k, tab.rep[c], &x)) { same = false; break; }
                same = x == std::string_view(reinterpret_cast<const char*>(p), len);
              }
              if (same) { g = c; break; }
            }
            s = (s + 1) & tab.mask;
          }
          if (g < 0) {
            g = NewGroup(tab, s, h, key, nm, r + i);
            if (g < 0) { overGroups.store(true); return; }
          }
          gid[i] = g;
        }
        // the measures
        for (size_t m = 0; m < measures.size(); m++) {
          const Measure& M = measures[m];
          MState& S = tab.ms[m];
          if (M.fn == Fn::ROWS) {
            for (uint32_t i = 0; i < n; i++) if (gid[i] >= 0) S.cnt[gid[i]]++;
            continue;
          }
          const View& V = views[M.col];
          const uint64_t local = r - V.rowStart;
          if (!ValidityBytes(V, local, n, vv)) std::memset(vv, 1, n);
          if (M.fn == Fn::COUNT) {
            for (uint32_t i = 0; i < n; i++) if (gid[i] >= 0 && vv[i]) S.cnt[gid[i]]++;
            continue;
          }
          if (M.isStr) {  // DISTINCT of text: the hash of its bytes
            auto& out = gathers[t][M.gather];
            const bool dict = V.col->kind == Kind::DICT;
            if (dict) DecodeI64(V, local, n, iv);
            for (uint32_t i = 0; i < n; i++) {
              if (gid[i] < 0 || !vv[i]) continue;
              const uint8_t* p; uint64_t len;
              bool ok = dict ? (iv[i] >= 0 && valueReaders[M.col].Get(static_cast<uint64_t>(iv[i]), &p, &len)) : StringAt(V, local + i, &p, &len);
              if (!ok) { corrupt.store(true); continue; }
              S.cnt[gid[i]]++;
              out.emplace_back(static_cast<uint32_t>(gid[i]), HashBytes(p, len));
            }
            continue;
          }
          const bool asFloat = M.isFloat || M.fn == Fn::MEAN || M.fn == Fn::VAR || M.fn == Fn::STD || M.fn == Fn::QUANTILE;
          if (asFloat) DecodeF64(V, local, n, dv);
          else DecodeI64(V, local, n, iv);
          switch (M.fn) {
            case Fn::SUM:
              if (M.isFloat) { for (uint32_t i = 0; i < n; i++) if (gid[i] >= 0 && vv[i]) { S.cnt[gid[i]]++; S.a[gid[i]] += dv[i]; } }
              else if (M.isUnsigned) { for (uint32_t i = 0; i < n; i++) if (gid[i] >= 0 && vv[i]) { S.cnt[gid[i]]++; S.isum[gid[i]] += static_cast<__int128>(static_cast<uint64_t>(iv[i])); } }
              else { for (uint32_t i = 0; i < n; i++) if (gid[i] >= 0 && vv[i]) { S.cnt[gid[i]]++; S.isum[gid[i]] += iv[i]; } }
              break;
            case Fn::MEAN: case Fn::VAR: case Fn::STD:
              for (uint32_t i = 0; i < n; i++) {
                if (gid[i] < 0 || !vv[i]) continue;
                const int32_t g = gid[i];
                const double c = static_cast<double>(++S.cnt[g]);
                const double d = dv[i] - S.a[g];
                S.a[g] += d / c;
                S.b[g] += d * (dv[i] - S.a[g]);
              }
              break;
            case Fn::MIN: case Fn::MAX:
              for (uint32_t i = 0; i < n; i++) {
                if (gid[i] < 0 || !vv[i]) continue;
                const int32_t g = gid[i];
                const bool first = S.cnt[g]++ == 0;
                if (M.isFloat) {
                  const double d = dv[i];
                  if (d != d) { S.b[g] += 1; continue; }
                  S.a[g] = M.fn == Fn::MIN ? std::min(S.a[g], d) : std::max(S.a[g], d);
                } else if (first) {
                  S.iext[g] = iv[i];
                } else if (M.isUnsigned) {
                  const uint64_t x = static_cast<uint64_t>(S.iext[g]), y = static_cast<uint64_t>(iv[i]);
                  S.iext[g] = static_cast<int64_t>(M.fn == Fn::MIN ? std::min(x, y) : std::max(x, y));
                } else {
                  S.iext[g] = M.fn == Fn::MIN ? std::min(S.iext[g], iv[i]) : std::max(S.iext[g], iv[i]);
                }
              }
              break;
            case Fn::DISTINCT: case Fn::QUANTILE: {
              auto& out = gathers[t][M.gather];
              uint64_t added = 0;
              for (uint32_t i = 0; i < n; i++) {
                if (gid[i] < 0 || !vv[i]) continue;
                S.cnt[gid[i]]++;
                uint64_t bits;
                if (M.fn == Fn::QUANTILE) std::memcpy(&bits, &dv[i], 8);
                else if (M.isFloat) bits = HashDouble(dv[i] != dv[i] ? std::numeric_limits<double>::quiet_NaN() : dv[i]);
                else bits = Mix64(static_cast<uint64_t>(iv[i]));
                out.emplace_back(static_cast<uint32_t>(gid[i]), bits);
                added++;
              }
              if (gathered.fetch_add(added, std::memory_order_relaxed) + added > maxGatherRows) { overGather.store(true); return; }
              break;
            }
            default: break;
          }
        }
      }
    };
    status_ = ParallelScan(plan.segs, job_.get(), plan.What(), body);
    if (!status_.ok()) return;
    if (overGroups.load()) {
      status_ = Status::Error("E_TOO_LARGE", plan.What() + ": more than " + std::to_string(maxGroups) + " groups (the limit of groups held in memory); group by fewer or coarser keys, or filter first");
      return;
    }
    if (overGather.load()) {
      status_ = Status::Error("E_TOO_LARGE", plan.What() + ": distinct counts and quantiles keep every value, and more than " + std::to_string(maxGatherRows) + " values (the limit) would be kept; filter first or drop those measures");
      return;
    }
    if (corrupt.load()) {
      status_ = Status::Error("E_CORRUPT", plan.What() + " has corrupt string offsets or dictionary indices in a key or measure column");
      return;
    }
    Merge(tables, gathers);
  }

  // Thread tables -> one result, partition by partition; then the gathered values per group.
  void Merge(std::vector<Table>& tables, std::vector<std::vector<std::vector<std::pair<uint32_t, uint64_t>>>>& gathers) {
    const int T = static_cast<int>(tables.size());
    constexpr int P = 256;
    // per thread table: its groups by partition
    std::vector<std::vector<std::vector<uint32_t>>> byPart(T, std::vector<std::vector<uint32_t>>(P));
#pragma omp parallel for schedule(dynamic, 1)
    for (int t = 0; t < T; t++)
      for (uint32_t g = 0; g < tables[t].n; g++) byPart[t][tables[t].hashes[g] >> 56].push_back(g);
    std::vector<Table> parts(P);
    // where each thread's group went: (partition, index)
    std::vector<std::vector<uint64_t>> where(T);
    for (int t = 0; t < T; t++) where[t].assign(tables[t].n, 0);
    std::atomic<bool> over{false};
#pragma omp parallel for schedule(dynamic, 1)
    for (int p = 0; p < P; p++) {
      Table& out = parts[p];
      InitStates(out);
      for (int t = 0; t < T; t++) {
        const Table& in = tables[t];
        for (uint32_t g : byPart[t][p]) {
          const uint64_t h = in.hashes[g];
          uint64_t s = h & out.mask;
          int32_t found = -1;
          for (;;) {
            const int32_t c = out.slots[s];
            if (c < 0) break;
            if (out.hashes[c] == h && out.nulls[c] == in.nulls[g] &&
                std::equal(in.codes.begin() + static_cast<size_t>(g) * nKeys, in.codes.begin() + static_cast<size_t>(g + 1) * nKeys,
                           out.codes.begin() + static_cast<size_t>(c) * nKeys) &&
                SameStrings(out, c, in, g)) { found = c; break; }
            s = (s + 1) & out.mask;
          }
          if (found < 0) {
            found = NewGroup(out, s, h, &in.codes[static_cast<size_t>(g) * nKeys], in.nulls[g], in.rep[g]);
            if (found < 0) { over.store(true); break; }
          }
          MergeStates(out, found, in, g);
          where[t][g] = (static_cast<uint64_t>(p) << 32) | static_cast<uint32_t>(found);
        }
      }
    }
    std::vector<uint64_t> base(P + 1, 0);
    for (int p = 0; p < P; p++) base[p + 1] = base[p] + parts[p].n;
    groups = base[P];
    if (over.load() || groups > maxGroups) {
      status_ = Status::Error("E_TOO_LARGE", plan.What() + ": more than " + std::to_string(maxGroups) + " groups (the limit of groups held in memory); group by fewer or coarser keys, or filter first");
      return;
    }
    for (int t = 0; t < T; t++) { tables[t] = Table{}; }
    // concatenate the partitions
    outCodes.resize(groups * nKeys);
    outRep.resize(groups);
    outNulls.resize(groups);
    outMs.assign(measures.size(), MState{});
    for (size_t m = 0; m < measures.size(); m++) {
      MState& S = outMs[m];
      S.cnt.resize(groups);
      const Fn fn = measures[m].fn;
      if (fn == Fn::MEAN || fn == Fn::VAR || fn == Fn::STD || (measures[m].isFloat && (fn == Fn::SUM || fn == Fn::MIN || fn == Fn::MAX))) {
        S.a.resize(groups); S.b.resize(groups);
      }
      S.isum.resize(measures[m].fn == Fn::SUM && !measures[m].isFloat ? groups : 0);
      S.iext.resize((measures[m].fn == Fn::MIN || measures[m].fn == Fn::MAX) && !measures[m].isFloat ? groups : 0);
    }
#pragma omp parallel for schedule(dynamic, 1)
    for (int p = 0; p < P; p++) {
      const Table& in = parts[p];
      const uint64_t b = base[p];
      std::copy(in.codes.begin(), in.codes.end(), outCodes.begin() + b * nKeys);
      std::copy(in.rep.begin(), in.rep.end(), outRep.begin() + b);
      std::copy(in.nulls.begin(), in.nulls.end(), outNulls.begin() + b);
      for (size_t m = 0; m < measures.size(); m++) {
        const MState& I = in.ms[m];
        MState& O = outMs[m];
        std::copy(I.cnt.begin(), I.cnt.end(), O.cnt.begin() + b);
        if (!I.a.empty() && !O.a.empty()) std::copy(I.a.begin(), I.a.end(), O.a.begin() + b);
        if (!I.b.empty() && !O.b.empty()) std::copy(I.b.begin(), I.b.end(), O.b.begin() + b);
        if (!I.isum.empty()) std::copy(I.isum.begin(), I.isum.end(), O.isum.begin() + b);
        if (!I.iext.empty()) std::copy(I.iext.begin(), I.iext.end(), O.iext.begin() + b);
      }
    }
    parts.clear();
    // gathered values: counting sort by group, then per group the distinct count or the quantile
    gatherOut.assign(measures.size(), {});
    for (size_t m = 0; m < measures.size(); m++) {
      const Measure& M = measures[m];
      if (M.gather < 0) continue;
      std::vector<uint64_t> start(groups + 1, 0);
      for (int t = 0; t < T; t++)
        for (auto& [g, bits] : gathers[t][M.gather]) {
          const uint64_t w = where[t][g];
          start[base[w >> 32] + (w & 0xffffffffu) + 1]++;
        }
      for (uint64_t g = 0; g < groups; g++) start[g + 1] += start[g];
      std::vector<uint64_t> vals(start[groups]);
      std::vector<uint64_t> fill(start.begin(), start.end() - 1);
      for (int t = 0; t < T; t++) {
        for (auto& [g, bits] : gathers[t][M.gather]) {
          const uint64_t w = where[t][g];
          vals[fill[base[w >> 32] + (w & 0xffffffffu)]++] = bits;
        }
        std::vector<std::pair<uint32_t, uint64_t>>().swap(gathers[t][M.gather]);
      }
      auto& res = gatherOut[m];
      res.assign(groups, NAN);
#pragma omp parallel for schedule(dynamic, 256)
      for (int64_t g = 0; g < static_cast<int64_t>(groups); g++) {
        uint64_t* b = vals.data() + start[g];
        uint64_t* e = vals.data() + start[g + 1];
        const uint64_t n = e - b;
        if (!n) continue;
        if (M.fn == Fn::DISTINCT) {
          std::sort(b, e);
          res[g] = static_cast<double>(std::unique(b, e) - b);
          continue;
        }
        // quantile_cont over doubles, NaN above every number
        double* d = reinterpret_cast<double*>(b);
        auto less = [](double x, double y) { return x != x ? false : (y != y ? true : x < y); };
        const double pos = M.q * static_cast<double>(n - 1);
        const uint64_t lo = static_cast<uint64_t>(std::floor(pos));
        const double frac = pos - static_cast<double>(lo);
        std::nth_element(d, d + lo, d + n, less);
        const double x = d[lo];
        if (frac == 0 || lo + 1 >= n) { res[g] = x; continue; }
        const double y = *std::min_element(d + lo + 1, d + n, less);
        res[g] = x + (y - x) * frac;
      }
    }
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("groups", Napi::Number::New(env, static_cast<double>(groups)));
    const size_t G = groups;
    Napi::Array keys = Napi::Array::New(env, nKeys);
    for (size_t k = 0; k < nKeys; k++) {
      Napi::Object ko = Napi::Object::New(env);
      auto valid = Napi::Uint8Array::New(env, G);
      for (size_t g = 0; g < G; g++) valid[g] = (outNulls[g] >> k & 1) ? 0 : 1;
      ko.Set("valid", valid);
      if (kinds[k] == KeyKind::STR || kinds[k] == KeyKind::DICT) {
        std::string bytes;
        auto offsets = Napi::Float64Array::New(env, G + 1);
        offsets[0] = 0;
        for (size_t g = 0; g < G; g++) {
          if (!(outNulls[g] >> k & 1)) {
            std::string_view s;
            const uint64_t row = kinds[k] == KeyKind::DICT ? outCodes[g * nKeys + k] : outRep[g];
            if (StrOfRep(k, row, &s)) bytes.append(s);
          }
          offsets[g + 1] = static_cast<double>(bytes.size());
        }
        auto b = Napi::Uint8Array::New(env, bytes.size());
        if (!bytes.empty()) std::memcpy(b.Data(), bytes.data(), bytes.size());
        ko.Set("bytes", b);
        ko.Set("offsets", offsets);
      } else if (kinds[k] == KeyKind::FLOAT) {
        auto a = Napi::Float64Array::New(env, G);
        for (size_t g = 0; g < G; g++) std::memcpy(&a[g], &outCodes[g * nKeys + k], 8);
        ko.Set("float", a);
      } else {
        auto buf = Napi::ArrayBuffer::New(env, G * 8);
        auto* p = static_cast<uint64_t*>(buf.Data());
        for (size_t g = 0; g < G; g++) p[g] = outCodes[g * nKeys + k];
        ko.Set("int", buf);
      }
      keys[k] = ko;
    }
    o.Set("keys", keys);
    Napi::Array ms = Napi::Array::New(env, measures.size());
    for (size_t m = 0; m < measures.size(); m++) {
      const Measure& M = measures[m];
      const MState& S = outMs[m];
      Napi::Object mo = Napi::Object::New(env);
      auto valid = Napi::Uint8Array::New(env, G);
      auto f = [&](auto get) {
        auto a = Napi::Float64Array::New(env, G);
        for (size_t g = 0; g < G; g++) a[g] = get(g);
        mo.Set("float", a);
      };
      for (size_t g = 0; g < G; g++) valid[g] = S.cnt[g] > 0 ? 1 : 0;
      switch (M.fn) {
        case Fn::ROWS: case Fn::COUNT: case Fn::DISTINCT: {  // counts: int64
          for (size_t g = 0; g < G; g++) valid[g] = 1;
          auto buf = Napi::ArrayBuffer::New(env, G * 8);
          auto* p = static_cast<int64_t*>(buf.Data());
          for (size_t g = 0; g < G; g++) p[g] = M.fn == Fn::DISTINCT ? (S.cnt[g] ? static_cast<int64_t>(gatherOut[m][g]) : 0) : static_cast<int64_t>(S.cnt[g]);
          mo.Set("int", buf);
          break;
        }
        case Fn::QUANTILE: f([&](size_t g) { return gatherOut[m][g]; }); break;
        case Fn::MEAN: f([&](size_t g) { return S.a[g]; }); break;
        case Fn::VAR: case Fn::STD:
          for (size_t g = 0; g < G; g++) valid[g] = S.cnt[g] > 1 ? 1 : 0;
          f([&](size_t g) {
            const double v = S.cnt[g] > 1 ? S.b[g] / static_cast<double>(S.cnt[g] - 1) : NAN;
            return M.fn == Fn::STD ? std::sqrt(std::max(0.0, v)) : std::max(0.0, v);
          });
          break;
        case Fn::SUM:
          if (M.isFloat) {
            f([&](size_t g) { return S.a[g]; });
          } else {
            bool fits = true;
            for (size_t g = 0; g < G && fits; g++)
              fits = S.isum[g] >= std::numeric_limits<int64_t>::min() && S.isum[g] <= std::numeric_limits<int64_t>::max();
            if (fits) {
              auto buf = Napi::ArrayBuffer::New(env, G * 8);
              auto* p = static_cast<int64_t*>(buf.Data());
              for (size_t g = 0; g < G; g++) p[g] = static_cast<int64_t>(S.isum[g]);
              mo.Set("int", buf);
            } else {
              f([&](size_t g) { return static_cast<double>(S.isum[g]); });
            }
          }
          break;
        case Fn::MIN: case Fn::MAX:
          if (M.isFloat) {
            f([&](size_t g) {
              if (M.fn == Fn::MAX && S.b[g] > 0) return std::numeric_limits<double>::quiet_NaN();
              if (M.fn == Fn::MIN && S.b[g] == static_cast<double>(S.cnt[g])) return std::numeric_limits<double>::quiet_NaN();
              return S.a[g];
            });
          } else {
            auto buf = Napi::ArrayBuffer::New(env, G * 8);
            auto* p = static_cast<int64_t*>(buf.Data());
            for (size_t g = 0; g < G; g++) p[g] = S.iext[g];
            mo.Set("int", buf);
          }
          break;
      }
      mo.Set("valid", valid);
      ms[m] = mo;
    }
    o.Set("measures", ms);
    return o;
  }

  friend Napi::Value GroupBy(const Napi::CallbackInfo& info);
};

// groupBy(keys: column[], values: column[], measures: { fn, value?: index, q? }[], { maxGroups?, maxGatherRows? }, filter?, job?)
Napi::Value GroupBy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* w = new GroupWorker(env);
  Status st;
  const char* usage = "groupBy(keys, values, measures, options, filter?, job?)";
  if (info.Length() < 4 || !info[0].IsArray() || !info[1].IsArray() || !info[2].IsArray()) return w->Start(Status::Error("E_BAD_ARG", usage));
  Napi::Array keys = info[0].As<Napi::Array>(), values = info[1].As<Napi::Array>(), ms = info[2].As<Napi::Array>();
  if (keys.Length() == 0 || keys.Length() > 8) return w->Start(Status::Error("E_BAD_ARG", "groupBy: 1 to 8 key columns"));
  for (uint32_t i = 0; i < keys.Length(); i++) {
    ColumnPtr c;
    if (!ParseColumn(keys.Get(i), &c, &st)) return w->Start(st.ok() ? Status::Error("E_BAD_ARG", usage) : st);
    w->plan.Add(c);
  }
  w->nKeys = keys.Length();
  for (uint32_t i = 0; i < values.Length(); i++) {
    ColumnPtr c;
    if (!ParseColumn(values.Get(i), &c, &st)) return w->Start(st.ok() ? Status::Error("E_BAD_ARG", usage) : st);
    w->plan.Add(c);
  }
  if (ms.Length() == 0 || ms.Length() > 64) return w->Start(Status::Error("E_BAD_ARG", "groupBy: 1 to 64 measures"));
  for (uint32_t i = 0; i < ms.Length(); i++) {
    if (!ms.Get(i).IsObject()) return w->Start(Status::Error("E_BAD_ARG", usage));
    Napi::Object m = ms.Get(i).As<Napi::Object>();
    Measure M;
    std::string fn;
    if (!GetStr(m, "fn", &fn, &st)) return w->Start(st);
    if (!ParseFn(fn, &M.fn)) return w->Start(Status::Error("E_BAD_ARG", "groupBy: unknown measure '" + fn + "'"));
    if (M.fn != Fn::ROWS) {
      uint64_t v;
      if (!GetU64(m, "value", &v, &st)) return w->Start(st);
      if (v >= values.Length()) return w->Start(Status::Error("E_BAD_ARG", "groupBy: measure value index out of range"));
      M.col = static_cast<int>(w->nKeys + v);
    }
    if (M.fn == Fn::QUANTILE) {
      if (!GetF64(m, "q", &M.q, &st)) return w->Start(st);
      if (!(M.q >= 0 && M.q <= 1)) return w->Start(Status::Error("E_BAD_ARG", "groupBy: a quantile is between 0 and 1"));
    }
    if (M.fn == Fn::DISTINCT || M.fn == Fn::QUANTILE) M.gather = w->nGather++;
    w->measures.push_back(M);
  }
  if (info[3].IsObject()) {
    Napi::Object o = info[3].As<Napi::Object>();
    if (!o.Get("maxGroups").IsUndefined() && !GetU64(o, "maxGroups", &w->maxGroups, &st)) return w->Start(st);
    if (!o.Get("maxGatherRows").IsUndefined() && !GetU64(o, "maxGatherRows", &w->maxGatherRows, &st)) return w->Start(st);
    w->maxGroups = std::min<uint64_t>(w->maxGroups, 0x7fffffff);
  }
  if (info.Length() > 4 && !info[4].IsUndefined() && !info[4].IsNull() && !w->plan.AddFilter(info[4], &st)) return w->Start(st);
  if (info.Length() > 5) w->SetJob(GetJob(info[5]));
  return w->Start();
}
Export e_group("groupBy", GroupBy);

}  // namespace
}  // namespace cdx
