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
// groups, not a serial insert of every thread's table into one. With many groups (most keys of a
// sample of rows distinct) the threads split the groups instead of the rows: each reads every row
// and keeps the groups whose hash falls to it, so there is nothing to merge and each group's
// record is made (a page cleared, a cache miss) once, not once per thread.
// Rows are taken a batch at a time: the hashes first, each slot prefetched, then the probes, each
// prefetching a later row's record, so the cache misses of many rows overlap.
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
#include <type_traits>
#include <unordered_map>
#include <sys/mman.h>

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
  int value = -1;    // index among the value columns
  double q = 0.5;    // QUANTILE
  bool isFloat = false, isStr = false, isUnsigned = false;
  int gather = -1;   // DISTINCT / QUANTILE: index of its gather list
  // In a group's record: its count at `off` (a word of its own, or the group's row count when
  // its column has no nulls — a count per measure would only repeat it), its state from `st`.
  size_t off = 0, st = 0;
  bool own = false;  // the count is a word of its own
};

constexpr uint64_t kNullCode = 0x8000000000000001ULL;
constexpr uint64_t kTag = 0xffffffff00000000ULL;

inline double GetD(const uint64_t* w) { double d; std::memcpy(&d, w, 8); return d; }
inline void SetD(uint64_t* w, double d) { std::memcpy(w, &d, 8); }
inline __int128 GetI(const uint64_t* w) { __int128 v; std::memcpy(&v, w, 16); return v; }
inline void SetI(uint64_t* w, __int128 v) { std::memcpy(w, &v, 16); }

// Zeroed memory reserved up front and faulted in only where touched (anonymous mmap, huge pages
// asked for): a table sized for its worst case costs only the pages its groups use, and never
// grows by copying (in a VM each page fault and each copy of a big table is dear).
struct Region {
  uint64_t* p = nullptr;
  size_t words = 0;
  Region() = default;
  Region(const Region&) = delete;
  Region& operator=(const Region&) = delete;
  Region(Region&& o) noexcept : p(o.p), words(o.words) { o.p = nullptr; o.words = 0; }
  Region& operator=(Region&& o) noexcept { Free(); p = o.p; words = o.words; o.p = nullptr; o.words = 0; return *this; }
  ~Region() { Free(); }
  void Free() {
    if (p) munmap(p, words * 8);
    p = nullptr;
    words = 0;
  }
  bool Reserve(size_t n) {
    Free();
    if (!n) n = 1;
    void* m = mmap(nullptr, n * 8, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) return false;
#ifdef MADV_HUGEPAGE
    if (n * 8 >= (4u << 20)) madvise(m, n * 8, MADV_HUGEPAGE);
#endif
    p = static_cast<uint64_t*>(m);
    words = n;
    return true;
  }
};

// A hash table of groups. Each group is one record of W words — hash, K key codes, null mask,
// first row, then every measure's state — so finding a group and updating its measures touch one
// place in memory (with millions of groups each touch is a cache miss). A slot holds the hash's
// high 32 bits beside the group's index, so a probe reads a record only when they match. Slots
// and records are reserved for the most groups the table may hold (`cap`), so it never grows.
struct Table {
  Region slots, rec;
  uint64_t mask = 0;
  uint64_t cap = 0;
  uint32_t n = 0;
};

class GroupWorker : public PromiseWorker {
 public:
  explicit GroupWorker(Napi::Env env) : PromiseWorker(env, "cdx.groupBy") {}
  Plan plan;
  size_t nKeys = 0, nValues = 0;
  std::vector<Measure> measures;
  uint64_t maxGroups = 50'000'000, maxGatherRows = 200'000'000;
  // top: only the groups that can be among the first `topLimit` by measure `topMeasure` are
  // returned (see SelectTop)
  int topMeasure = -1;
  bool topDesc = false;
  uint64_t topLimit = 0;
  void SetJob(JobPtr j) { job_ = std::move(j); }

 private:
  std::vector<KeyKind> kinds;
  std::vector<std::vector<uint32_t>> dictCanon;  // DICT keys: index -> first index with the same text
  std::vector<StringColumnReader> keyReaders;     // STR key / DICT dictionary access by global row
  std::vector<StringColumnReader> valueReaders;   // dictionaries of text measure columns
  int nGather = 0;
  size_t W = 0;  // words per record
  bool anyStrKey = false;

  // results
  uint64_t groups = 0;
  std::vector<Table> kept;                 // the thread tables, whose records the result reads
  std::vector<const uint64_t*> recs;       // every group's record, in result order
  std::vector<uint8_t> sumFits;            // per measure: an integer sum that fits int64 in every group
  std::vector<std::vector<double>> gatherOut;  // per measure with a gather: its value per group
  std::atomic<bool> corrupt{false};
  std::vector<uint32_t> sel;  // SelectTop's groups, in result order
  bool selected = false;

  bool StrOfRep(size_t k, uint64_t row, std::string_view* s) const {
    const uint8_t* p; uint64_t len;
    if (!keyReaders[k].Get(row, &p, &len)) return false;
    *s = std::string_view(reinterpret_cast<const char*>(p), len);
    return true;
  }

  // Records a and b (same hash, null mask and codes) hold equal strings in their text keys.
  bool SameStrings(const uint64_t* a, const uint64_t* b) const {
    for (size_t k = 0; k < nKeys; k++) {
      if (kinds[k] != KeyKind::STR || (a[nKeys + 1] >> k & 1)) continue;
      std::string_view x, y;
      if (!StrOfRep(k, a[nKeys + 1] >> 8, &x) || !StrOfRep(k, b[nKeys + 1] >> 8, &y)) return false;
      if (x != y) return false;
    }
    return true;
  }

  // Reserves t for up to `cap` groups: the slots for its worst case (a power of two at least
  // twice that) of which only a prefix is in use, doubled as the groups come (so a few groups touch
  // a few pages); the records appended in order.
  // `expect`: the groups it is expected to get (slots for them in use from the start, so that a
  // big table is not grown, re-placing every group, many times over).
  bool Init(Table& t, uint64_t cap, uint64_t expect = 0) const {
    cap = std::max<uint64_t>(cap, 1);
    uint64_t slots = 1024;
    while (slots < cap * 2) slots <<= 1;
    uint64_t use = 1024;
    while (use < expect * 2 && use < slots) use <<= 1;
    t.cap = cap;
    t.mask = use - 1;
    t.n = 0;
    return t.slots.Reserve(slots) && t.rec.Reserve(cap * W);
  }

  // Doubles the slots in use and places every group again (records stay where they are).
  void Grow(Table& t) const {
    const uint64_t size = (t.mask + 1) * 2;
    if (size > t.slots.words) return;
    std::memset(t.slots.p, 0, size * 8);
    t.mask = size - 1;
    for (uint32_t g = 0; g < t.n; g++) {
      const uint64_t h = t.rec.p[static_cast<size_t>(g) * W];
      uint64_t s = h & t.mask;
      while (t.slots.p[s]) s = (s + 1) & t.mask;
      t.slots.p[s] = (h & kTag) | (g + 1);
    }
  }

  // A new group in free slot `slot`, its record copied from `proto` (hash, codes, nulls, row;
  // states at their identity unless `copyStates`); -1 past the limit.
  int64_t NewGroup(Table& t, uint64_t slot, const uint64_t* proto, bool copyStates) const {
    if (t.n >= t.cap) return -1;
    const uint32_t g = t.n++;
    uint64_t* r = t.rec.p + static_cast<size_t>(g) * W;
    const size_t head = nKeys + 3;
    std::memcpy(r, proto, (copyStates ? W : head) * 8);
    if (!copyStates) {
      for (const Measure& M : measures) {
        if (M.fn != Fn::MIN && M.fn != Fn::MAX) continue;
        // extremes start at their identity, so that no update needs to know whether it is the first
        if (M.isFloat) SetD(r + M.st, M.fn == Fn::MIN ? INFINITY : -INFINITY);
        else if (M.isUnsigned) r[M.st] = M.fn == Fn::MIN ? UINT64_MAX : 0;
        else r[M.st] = static_cast<uint64_t>(M.fn == Fn::MIN ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min());
      }
    }
    t.slots.p[slot] = (proto[0] & kTag) | (g + 1);
    if (static_cast<uint64_t>(t.n) * 2 > t.mask + 1) Grow(t);
    return g;
  }

  // The K key codes at a and b are equal (a loop: std::equal called memcmp for 8 bytes)
  bool SameCodes(const uint64_t* a, const uint64_t* b) const {
    for (size_t k = 0; k < nKeys; k++)
      if (a[k] != b[k]) return false;
    return true;
  }

  // Finds the group of record `key` (hash, codes, nulls, row) in t: its index, or -1 with the free slot in *slot.
  template <class SameText>
  int64_t Find(const Table& t, const uint64_t* key, uint64_t* slot, SameText&& sameText) const {
    const uint64_t h = key[0], tag = h & kTag;
    uint64_t s = h & t.mask;
    for (;;) {
      const uint64_t e = t.slots.p[s];
      if (!e) { *slot = s; return -1; }
      if ((e & kTag) == tag) {
        const uint32_t c = static_cast<uint32_t>(e) - 1;
        const uint64_t* r = t.rec.p + static_cast<size_t>(c) * W;
        if (r[0] == h && !((r[nKeys + 1] ^ key[nKeys + 1]) & 0xff) && SameCodes(key + 1, r + 1) && (!anyStrKey || sameText(r)))
          return c;
      }
      s = (s + 1) & t.mask;
    }
  }

  // The key codes of rows [r, r + n) as the table compares them (integers as themselves, floats
  // with -0 and NaN made one value, dictionary indices made canonical, text as its hash) and
  // their validity, key by key, kBatch apart.
  void BatchKeys(const View* views, uint64_t r, uint32_t n, uint64_t* codesP, uint8_t* validP, int64_t* iv, double* dv) {
    for (size_t k = 0; k < nKeys; k++) {
      const View& Vw = views[k];
      const uint64_t local = r - Vw.rowStart;
      uint64_t* cd = codesP + k * kBatch;
      uint8_t* va = validP + k * kBatch;
      if (!ValidityBytes(Vw, local, n, va)) std::memset(va, 1, n);
      switch (kinds[k]) {
        case KeyKind::INT:
          DecodeI64(Vw, local, n, reinterpret_cast<int64_t*>(cd));
          break;
        case KeyKind::FLOAT:
          DecodeF64(Vw, local, n, dv);
          for (uint32_t i = 0; i < n; i++) {
            double d = dv[i];
            if (d == 0) d = 0;
            if (d != d) d = std::numeric_limits<double>::quiet_NaN();
            std::memcpy(&cd[i], &d, 8);
          }
          break;
        case KeyKind::DICT: {
          DecodeI64(Vw, local, n, iv);
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
            if (!StringAt(Vw, local + i, &p, &len)) { corrupt.store(true); va[i] = 0; cd[i] = 0; continue; }
            cd[i] = HashBytes(p, len);
          }
          break;
      }
    }
  }

  // The hash of row i's key (codes and validity as BatchKeys leaves them).
  uint64_t RowHash(const uint64_t* codesP, const uint8_t* validP, uint32_t i) const {
    uint64_t h = 0x9e3779b97f4a7c15ULL;
    for (size_t k = 0; k < nKeys; k++) {
      const bool ok = validP[k * kBatch + i];
      h = Mix64(h ^ ((ok ? codesP[k * kBatch + i] : kNullCode) + 0x632be59bd9b4e019ULL * (k + 1)));
    }
    return h;
  }

  static constexpr int64_t kNotMine = -2;  // a direct code whose group another thread keeps
  int shares = 1;
  // The thread (share of the groups) that keeps the group of hash h when the threads split them.
  uint32_t ShareOf(uint64_t h) const { return static_cast<uint32_t>(((h >> 40) & 0xffff) * static_cast<uint64_t>(shares) >> 16); }

  // With T threads and enough rows: the keys of up to 64 x 1024 rows spread over the data; when
  // most are distinct (many groups), the groups a thread is expected to keep (the threads then
  // split the groups by hash), else 0.
  uint64_t SplitEstimate(int T) {
    if (T < 2 || plan.rows < (1u << 16) || plan.segs.empty()) return 0;
    const size_t S = std::min<size_t>(plan.segs.size(), 64);
    std::vector<uint64_t> codes(nKeys * kBatch), hs;
    std::vector<uint8_t> valid(nKeys * kBatch);
    std::vector<int64_t> iv(kBatch);
    std::vector<double> dv(kBatch);
    hs.reserve(S * 1024);
    bool ok = false;
    try {
      ok = GuardedRun([&] {
        for (size_t j = 0; j < S; j++) {
          const Segment& seg = plan.segs[j * plan.segs.size() / S];
          View views[64];
          plan.Bind(seg, views);
          const uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(1024, seg.r1 - seg.r0));
          BatchKeys(views, seg.r0, n, codes.data(), valid.data(), iv.data(), dv.data());
          for (uint32_t i = 0; i < n; i++) hs.push_back(RowHash(codes.data(), valid.data(), i));
        }
      });
    } catch (...) {
      ok = false;
    }
    corrupt.store(false);  // the pass finds it again
    if (!ok || hs.empty()) return 0;
    std::sort(hs.begin(), hs.end());
    const uint64_t d = static_cast<uint64_t>(std::unique(hs.begin(), hs.end()) - hs.begin());
    if (d * 2 <= hs.size()) return 0;
    shares = T;
    // the groups in all, by the birthday rule: s keys drawn from D equally likely ones repeat in
    // about s^2 / 2D pairs (rows sampled in runs, so a clustered key repeats more and is
    // underestimated: the table then grows). Taking every row for a group made each thread's
    // slots several times the size of its groups, and every probe of them a cache miss.
    const double s = static_cast<double>(hs.size()), c = static_cast<double>(hs.size() - d);
    const uint64_t most = std::min<uint64_t>(plan.rows, maxGroups);
    const uint64_t est = c > 0 ? static_cast<uint64_t>(std::min(static_cast<double>(most), s * s / (2 * c))) : most;
    return std::max<uint64_t>(est, d) / static_cast<uint64_t>(T) + 1;
  }

  Status TooManyGroups() const {
    return Status::Error("E_TOO_LARGE", plan.What() + ": more than " + Thousands(maxGroups) + " groups (the limit of groups held in memory); group by fewer or coarser keys, or filter first");
  }

  // Merges the states of record b into record a.
  void MergeStates(uint64_t* a, const uint64_t* b) const {
    const size_t rowsAt = nKeys + 2;
    for (const Measure& M : measures) {
      // x[1], y[1]: the first state words (as when each state began with its count)
      uint64_t* x = a + M.st - 1;
      const uint64_t* y = b + M.st - 1;
      const uint64_t n1 = a[M.off], n2 = b[M.off];  // (the shared row counts are added below)
      if (M.own) a[M.off] = n1 + n2;
      if (!n2) continue;
      switch (M.fn) {
        case Fn::ROWS: case Fn::COUNT: case Fn::DISTINCT: case Fn::QUANTILE: break;
        case Fn::SUM:
          if (M.isFloat) SetD(x + 1, GetD(x + 1) + GetD(y + 1));
          else SetI(x + 1, GetI(x + 1) + GetI(y + 1));
          break;
        case Fn::MEAN:
          // a mean keeps its sum (divided by the count at the end, as DuckDB's avg): no division per row
          if (!n1) { x[1] = y[1]; break; }
          SetD(x + 1, GetD(x + 1) + GetD(y + 1));
          break;
        case Fn::VAR: case Fn::STD: {
          if (!n1) { x[1] = y[1]; x[2] = y[2]; break; }
          const double n = static_cast<double>(n1 + n2), m1 = GetD(x + 1), d = GetD(y + 1) - m1;
          SetD(x + 1, m1 + d * static_cast<double>(n2) / n);
          SetD(x + 2, GetD(x + 2) + GetD(y + 2) + d * d * static_cast<double>(n1) * static_cast<double>(n2) / n);
          break;
        }
        case Fn::MIN: case Fn::MAX:
          if (M.isFloat) {
            SetD(x + 2, GetD(x + 2) + GetD(y + 2));
            SetD(x + 1, M.fn == Fn::MIN ? std::min(GetD(x + 1), GetD(y + 1)) : std::max(GetD(x + 1), GetD(y + 1)));
          } else if (M.isUnsigned) {
            x[1] = M.fn == Fn::MIN ? std::min(x[1], y[1]) : std::max(x[1], y[1]);
          } else {
            const int64_t p = static_cast<int64_t>(x[1]), q = static_cast<int64_t>(y[1]);
            x[1] = static_cast<uint64_t>(M.fn == Fn::MIN ? std::min(p, q) : std::max(p, q));
          }
          break;
      }
    }
    a[rowsAt] += b[rowsAt];
  }

 protected:
  void Run() override {
    status_ = plan.Prepare(1 << 16);
    if (!status_.ok()) return;
    job_->total.store(plan.rows);
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
        anyStrKey = true;
      } else {
        kinds[k] = c.kind == Kind::NUMERIC && IsFloat(c.dtype) ? KeyKind::FLOAT : KeyKind::INT;
      }
    }
    // the value columns: what each must be decoded as; the record layout
    std::vector<uint8_t> needF(nValues, 0), needI(nValues, 0), needS(nValues, 0);
    valueReaders.resize(nValues);
    // a record: hash, key codes, null mask | first row << 8, row count; then the measures
    W = nKeys + 3;
    for (Measure& M : measures) {
      bool noNulls = false;
      if (M.col >= 0) {
        const Column& c = *plan.cols[M.col];
        M.isStr = c.IsString();
        M.isFloat = c.kind == Kind::NUMERIC && IsFloat(c.dtype);
        M.isUnsigned = c.kind == Kind::NUMERIC && IsUnsigned(c.dtype);
        // no validity bitmap in any chunk (a computed column's nulls are known only when evaluated)
        noNulls = !c.comp && std::all_of(c.chunks.begin(), c.chunks.end(), [](const Chunk& k) { return k.validityOff < 0; });
      }
      // its count: the group's row count when every value is there (a variance's running mean
      // needs its own count as it goes)
      M.own = M.fn != Fn::ROWS && (!noNulls || M.fn == Fn::VAR || M.fn == Fn::STD);
      M.off = M.own ? W++ : nKeys + 2;
      M.st = W;
      // the state's words: a float sum / mean's sum / integer extreme (1), an integer sum
      // (128-bit, 2), a float extreme and its NaNs, a variance's mean and M2 (2) — each word less
      // is less of the record to fetch per row when the groups are many (with count + sum + mean +
      // max of columns without nulls, a record is 64 bytes: one cache line)
      switch (M.fn) {
        case Fn::ROWS: case Fn::COUNT: case Fn::DISTINCT: case Fn::QUANTILE: break;
        case Fn::MEAN: W += 1; break;
        case Fn::SUM: W += M.isFloat ? 1 : 2; break;
        case Fn::MIN: case Fn::MAX: W += M.isFloat ? 2 : 1; break;
        case Fn::VAR: case Fn::STD: W += 2; break;
      }
      if (M.col < 0) continue;
      const Column& c = *plan.cols[M.col];
      if (M.isStr && M.fn != Fn::COUNT && M.fn != Fn::DISTINCT) {
        status_ = Status::Error("E_BAD_TYPE", "column " + c.name + " is text: only count and distinct apply to it");
        return;
      }
      if (M.fn == Fn::COUNT) continue;
      if (M.isStr) {
        needS[M.value] = 1;
        if (c.kind == Kind::DICT) valueReaders[M.value].Bind(*c.dict);
      } else if (M.isFloat || M.fn == Fn::MEAN || M.fn == Fn::VAR || M.fn == Fn::STD || M.fn == Fn::QUANTILE) {
        needF[M.value] = 1;
      } else {
        needI[M.value] = 1;
      }
    }

    const int T = MaxThreads();
    std::vector<Table> tables(T);
    // One integer key (or dictionary text): each thread remembers the group of every small code it
    // has met in a direct array, so a repeated key costs one load instead of a hash and a probe
    // (low-cardinality keys: a weekday, a borough, a year).
    constexpr int64_t kDirect = 1 << 16, kDirectLo = -(1 << 15);
    const bool direct = nKeys == 1 && (kinds[0] == KeyKind::INT || kinds[0] == KeyKind::DICT);
    std::vector<std::vector<int64_t>> directOf(direct ? T : 0);
    // Many groups (most of a sample's keys distinct): each thread reads every row but keeps only the
    // groups whose hash falls to it, so no group is in two tables — nothing to merge, and fewer
    // records in all (with the rows split, most groups of a high-cardinality key are met by every
    // thread and so made, faulted in and merged once per thread). Re-reading a row's key costs far
    // less than a group's record, which is a cache miss (and, the first time, a page to clear).
    const uint64_t expect = SplitEstimate(T);
    const bool split = expect > 0;
    // a thread's table may hold a group for each row (at most maxGroups): reserved, faulted as used
    for (Table& t : tables)
      if (!Init(t, std::min<uint64_t>(plan.rows, maxGroups), expect)) { status_ = Status::Error("E_NOMEM", plan.What() + ": no address space for the group table"); return; }
    using Pairs = std::vector<std::pair<uint32_t, uint64_t>>;
    std::vector<std::vector<Pairs>> gathers(T, std::vector<Pairs>(nGather));
    std::vector<FilterScratch> scratch(T);
    const bool needFilter = !plan.filter.empty();
    if (needFilter) for (FilterScratch& s : scratch) s.Init(plan.filter.depth);
    std::atomic<bool> overGroups{false}, overGather{false};
    std::atomic<uint64_t> gathered{0};
    const size_t K = nKeys, V = nValues;

    auto body = [&](const Segment& seg, uint64_t r0, uint64_t r1, int t) {
      if (overGroups.load(std::memory_order_relaxed) || overGather.load(std::memory_order_relaxed)) return;
      View views[64];
      plan.Bind(seg, views);
      Table& tab = tables[t];
      static thread_local std::vector<uint64_t> tlsCodes, tlsVi, tlsVs;
      static thread_local std::vector<double> tlsVd;
      static thread_local std::vector<uint8_t> tlsValid, tlsVvalid;
      // bound once per morsel: each use of a thread_local in the loops below was a __tls_get_addr
      // call in this shared library (9 % of a low-cardinality group-by's time in perf)
      auto& codes = tlsCodes;
      auto& vi = tlsVi;
      auto& vs = tlsVs;
      auto& vd = tlsVd;
      auto& valid = tlsValid;
      auto& vvalid = tlsVvalid;
      codes.resize(K * kBatch);
      valid.resize(K * kBatch);
      vd.resize(V * kBatch);
      vi.resize(V * kBatch);
      vs.resize(V * kBatch);
      vvalid.resize(V * kBatch);
      // raw pointers in registers: the loops below store through uint64_t pointers, so the
      // compiler would otherwise reload each vector's data pointer from thread-local memory
      uint64_t* const codesP = codes.data();
      uint8_t* const validP = valid.data();
      double* const vdP = vd.data();
      uint64_t* const viP = vi.data();
      uint64_t* const vsP = vs.data();
      uint8_t* const vvalidP = vvalid.data();
      double dv[kBatch];
      int64_t iv[kBatch];
      uint8_t mask[kBatch];
      // per value column: where the batch's values are (in place or decoded), whether none is null
      const double* fcol[64];
      const uint64_t* icol[64];
      bool allValid[64];
      uint64_t key[8 + 3];
      for (uint64_t r = r0; r < r1; r += kBatch) {
        const uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(kBatch, r1 - r));
        if (needFilter) plan.filter.Eval(plan.FilterViews(views), r, n, mask, scratch[t]);
        else std::memset(mask, 1, n);
        BatchKeys(views, r, n, codesP, validP, iv, dv);
        // the value columns of the batch, decoded once for all the measures that read them; a
        // float64 / 64-bit integer column in native byte order is read where it lies (copying it
        // was a quarter of a low-cardinality group-by's time), and a column without nulls in the
        // batch has its validity test dropped from the update loops (allValid)
        for (size_t v = 0; v < V; v++) {
          const View& Vw = views[K + v];
          const uint64_t local = r - Vw.rowStart;
          uint8_t* va = vvalidP + v * kBatch;
          // (a bitmap without a null in the batch counts as none: ingested files keep their bitmaps)
          allValid[v] = !ValidityBytes(Vw, local, n, va) || !std::memchr(va, 0, n);
          if (allValid[v] && needS[v]) std::memset(va, 1, n);  // the text hashing below reads it
          const Column& vc = *Vw.col;
          const uint8_t* at = Vw.data ? Vw.data + local * 8 : nullptr;
          const bool inPlace = vc.kind == Kind::NUMERIC && !vc.swap && at && (reinterpret_cast<uintptr_t>(at) & 7) == 0;
          fcol[v] = vdP + v * kBatch;
          icol[v] = viP + v * kBatch;
          if (needF[v]) {
            if (inPlace && vc.dtype == DType::F64) fcol[v] = reinterpret_cast<const double*>(at);
            else DecodeF64(Vw, local, n, vdP + v * kBatch);
          }
          if (needI[v]) {
            if (inPlace && (vc.dtype == DType::I64 || vc.dtype == DType::U64)) icol[v] = reinterpret_cast<const uint64_t*>(at);
            else DecodeI64(Vw, local, n, reinterpret_cast<int64_t*>(viP + v * kBatch));
          }
          if (needS[v]) {
            uint64_t* hs = vsP + v * kBatch;
            const bool dict = Vw.col->kind == Kind::DICT;
            if (dict) DecodeI64(Vw, local, n, iv);
            for (uint32_t i = 0; i < n; i++) {
              if (!va[i]) continue;
              const uint8_t* p; uint64_t len;
              const bool ok = dict ? (iv[i] >= 0 && valueReaders[v].Get(static_cast<uint64_t>(iv[i]), &p, &len)) : StringAt(Vw, local + i, &p, &len);
              if (!ok) { corrupt.store(true); va[i] = 0; continue; }
              hs[i] = HashBytes(p, len);
            }
          }
        }
        uint64_t added = 0;
        int64_t* dir = nullptr;
        if (direct) {
          auto& d = directOf[t];
          if (d.empty()) d.assign(kDirect, -1);
          dir = d.data();
        }
        // first every row's hash (a direct code already met needs none), its slot prefetched;
        // then the rows left find (or make) their groups, the record of a row a few places on
        // prefetched through its slot: the slots' and records' cache misses overlap instead of
        // coming one after another (with millions of groups they are most of the time)
        int64_t gid[kBatch];
        uint64_t hash[kBatch];
        int32_t dirOf[kBatch];
        uint32_t pend[kBatch];
        uint32_t np = 0;
        constexpr int32_t kKnown = -2;  // dirOf: the row's group is known already
        for (uint32_t i = 0; i < n; i++) {
          gid[i] = -1;
          if (!mask[i]) continue;
          int32_t di = -1;
          if (dir && validP[i]) {
            const int64_t c = static_cast<int64_t>(codesP[i]) - kDirectLo;
            if (c >= 0 && c < kDirect) {
              const int64_t g = dir[c];
              if (g == kNotMine) continue;
              if (g >= 0) {
                gid[i] = g;
                // (many groups: measured in the runs of the pending rows, so it must be one of them)
                if (split) { hash[i] = 0; dirOf[i] = kKnown; pend[np++] = i; }
                continue;
              }
              di = static_cast<int32_t>(c);
            }
          }
          const uint64_t h = RowHash(codesP, validP, i);
          // split by hash: another thread's group (and, for a direct code, remembered as such)
          if (split && ShareOf(h) != static_cast<uint32_t>(t)) {
            if (di >= 0) dir[di] = kNotMine;
            continue;
          }
          hash[i] = h;
          dirOf[i] = di;
          pend[np++] = i;
        }
        // The measures of rows rowList[q0..q1) (rows q0..q1 without a list), measure by measure: one
        // kind of update in each loop (the switch decided once per measure, not per row), each
        // group's values still in row order. Few groups: once over the batch. Many groups: in runs
        // of kRun rows just after their groups are found, while their records are in L1 (the
        // batch's records, met again a loop per measure, had left it).
        uint64_t* const recP = tab.rec.p;  // (records never move: the table is reserved whole)
        // (the record width in a register: read from the worker, every store through a uint64_t*
        // made the compiler load it again for each row)
        const size_t Wr = W;
        auto measureRows = [&](auto listed, const uint32_t* rowList, uint32_t q0, uint32_t q1) {
        // (what the loops read, as locals: through the closure the compiler reloaded them for every
        // row, each store through a uint64_t* possibly changing them)
        constexpr bool kListed = decltype(listed)::value;
        const int64_t* const gidL = gid;
        uint64_t* const recL = recP;
        const size_t WL = Wr;
        {
          const size_t rowsAt = K + 2;
          for (uint32_t qq = q0; qq < q1; qq++) {
            const uint32_t i = kListed ? rowList[qq] : qq;
            if (gidL[i] >= 0) recL[static_cast<size_t>(gidL[i]) * WL + rowsAt]++;
          }
        }
        for (const Measure& M : measures) {
          const size_t off = M.off, st1 = M.st - 1;
          const bool own = M.own;
          const size_t mv = static_cast<size_t>(M.value < 0 ? 0 : M.value);
          const uint8_t* const va = vvalidP + mv * kBatch;
          const bool noNull = M.value >= 0 && allValid[mv];
          const double* const xd = V ? fcol[mv] : vdP;
          const uint64_t* const xi = V ? icol[mv] : viP;
          // the loop over the batch's rows of its groups, `f(state, i)` for each valid value
          // (without the validity test when the batch's values have no null)
#define CDX_LOOP(SKIP, ...)                                                 \
  for (uint32_t qq = q0; qq < q1; qq++) {                                  \
    const uint32_t i = kListed ? rowList[qq] : qq;                          \
    const int64_t g = gidL[i];                                              \
    if (SKIP) continue;                                                     \
    uint64_t* const rec = recL + static_cast<size_t>(g) * WL;               \
    if (own) rec[off]++;                                                    \
    uint64_t* const s = rec + st1;                                          \
    (void)s;                                                                \
    __VA_ARGS__                                                             \
  }
#define CDX_EACH(...)                                                       \
  if (noNull) { CDX_LOOP(g < 0, __VA_ARGS__) }                              \
  else { CDX_LOOP(g < 0 || !va[i], __VA_ARGS__) }
          // (s[1]: the state's first word; s[0], the count, only for a variance, whose count is its own)
          switch (M.fn) {
            case Fn::ROWS:
              break;  // the row count, above
            case Fn::COUNT:
              if (own) { CDX_EACH() }
              break;
            case Fn::SUM:
              if (M.isFloat) { CDX_EACH(SetD(s + 1, GetD(s + 1) + xd[i]);) }
              else if (M.isUnsigned) { CDX_EACH(SetI(s + 1, GetI(s + 1) + static_cast<__int128>(xi[i]));) }
              else { CDX_EACH(SetI(s + 1, GetI(s + 1) + static_cast<__int128>(static_cast<int64_t>(xi[i])));) }
              break;
            case Fn::MEAN:
              CDX_EACH(SetD(s + 1, GetD(s + 1) + xd[i]);)
              break;
            case Fn::VAR: case Fn::STD:
              CDX_EACH(const double x = xd[i], m = GetD(s + 1), d = x - m, m2 = m + d / static_cast<double>(s[0]);
                       SetD(s + 1, m2);
                       SetD(s + 2, GetD(s + 2) + d * (x - m2));)
              break;
            case Fn::MIN: case Fn::MAX: {
              const bool isMin = M.fn == Fn::MIN;
              if (M.isFloat) {
                CDX_EACH(const double x = xd[i];
                         if (x != x) { SetD(s + 2, GetD(s + 2) + 1); continue; }
                         SetD(s + 1, isMin ? std::min(GetD(s + 1), x) : std::max(GetD(s + 1), x));)
              } else if (M.isUnsigned) {
                CDX_EACH(s[1] = isMin ? std::min(s[1], xi[i]) : std::max(s[1], xi[i]);)
              } else {
                CDX_EACH(const int64_t p = static_cast<int64_t>(s[1]), q = static_cast<int64_t>(xi[i]);
                         s[1] = static_cast<uint64_t>(isMin ? std::min(p, q) : std::max(p, q));)
              }
              break;
            }
            case Fn::DISTINCT: case Fn::QUANTILE: {
              auto& list = gathers[t][M.gather];
              const uint64_t* const xs = vsP + static_cast<size_t>(M.value) * kBatch;
              CDX_EACH(uint64_t bits;
                       if (M.isStr) bits = xs[i];
                       else if (M.fn == Fn::QUANTILE) std::memcpy(&bits, &xd[i], 8);
                       else if (M.isFloat) bits = HashDouble(xd[i] != xd[i] ? std::numeric_limits<double>::quiet_NaN() : xd[i]);
                       else bits = Mix64(xi[i]);
                       list.emplace_back(static_cast<uint32_t>(g), bits);
                       added++;)
              break;
            }
          }
#undef CDX_EACH
#undef CDX_LOOP
        }
        };
        // a pipeline: the slot of the row 2A places on is prefetched, the record of the row A places
        // on (through its slot, prefetched A rows ago), so about 2A misses are in flight at once —
        // prefetching every slot of the batch first flooded the miss buffers, and most came late
        constexpr uint32_t kAhead = 8;
        for (uint32_t j = 0; j < np && j < 2 * kAhead; j++) __builtin_prefetch(tab.slots.p + (hash[pend[j]] & tab.mask));
        constexpr uint32_t kRun = 64;
        uint32_t measured = 0;  // (many groups) pend rows whose measures are updated
        for (uint32_t j = 0; j < np; j++) {
          if (split && j - measured == kRun) { measureRows(std::true_type(), pend, measured, j); measured = j; }
          if (j + 2 * kAhead < np) __builtin_prefetch(tab.slots.p + (hash[pend[j + 2 * kAhead]] & tab.mask));
          if (j + kAhead < np) {
            const uint64_t e = tab.slots.p[hash[pend[j + kAhead]] & tab.mask];
            if (e) {
              const uint64_t* rp = tab.rec.p + static_cast<size_t>(static_cast<uint32_t>(e) - 1) * W;
              __builtin_prefetch(rp);
              __builtin_prefetch(rp + W - 1);
            }
          }
          const uint32_t i = pend[j];
          const int32_t di = dirOf[i];
          if (di == kKnown) continue;  // a direct code's group, found in the first loop
          if (di >= 0 && dir[di] >= 0) { gid[i] = dir[di]; continue; }  // made by an earlier row of this batch
          uint32_t nm = 0;
          for (size_t k = 0; k < K; k++) {
            const bool ok = validP[k * kBatch + i];
            key[1 + k] = ok ? codesP[k * kBatch + i] : 0;
            nm |= (ok ? 0u : 1u) << k;
          }
          key[0] = hash[i];
          key[K + 1] = nm | (r + i) << 8;
          key[K + 2] = 0;  // the row count
          uint64_t slot = 0;
          int64_t g = Find(tab, key, &slot, [&](const uint64_t* rr) {
            for (size_t k = 0; k < K; k++) {
              if (kinds[k] != KeyKind::STR || (nm >> k & 1)) continue;
              const uint8_t* p; uint64_t len;
              std::string_view x;
              if (!StringAt(views[k], r - views[k].rowStart + i, &p, &len) || !StrOfRep(k, rr[K + 1] >> 8, &x)) return false;
              if (x != std::string_view(reinterpret_cast<const char*>(p), len)) return false;
            }
            return true;
          });
          if (g < 0) {
            g = NewGroup(tab, slot, key, false);
            if (g < 0) { overGroups.store(true); return; }
          }
          if (di >= 0) dir[di] = g;
          gid[i] = g;
        }
        if (split) measureRows(std::true_type(), pend, measured, np);
        else measureRows(std::false_type(), nullptr, 0, n);
        if (added && gathered.fetch_add(added, std::memory_order_relaxed) + added > maxGatherRows) { overGather.store(true); return; }
      }
    };
    if (split) {
      // share s (tables[s]) read by one thread over every segment; progress counted on share 0
      std::atomic<bool> fault{false};
      ErrorSlot error;
      JobState* job = job_.get();
#pragma omp parallel num_threads(T)
      {
#ifdef _OPENMP
        const int first = omp_get_thread_num(), step = omp_get_num_threads();
#else
        const int first = 0, step = 1;
#endif
        for (int s = first; s < T; s += step) {
          for (const Segment& seg : plan.segs) {
            if (fault.load(std::memory_order_relaxed) || error.failed() || job->cancelled.load(std::memory_order_relaxed)) break;
            bool ok = true;
            try {
              ok = GuardedRun([&] { body(seg, seg.r0, seg.r1, s); });
            } catch (...) {
              error.Capture("reading " + plan.What());
            }
            if (!ok) fault.store(true);
            if (s == 0) job->done.fetch_add(seg.r1 - seg.r0, std::memory_order_relaxed);
          }
        }
      }
      if (fault.load()) status_ = Status::Error("E_TRUNCATED", plan.What() + " was truncated (or became unreadable) while being read");
      else if (error.failed()) status_ = error.status();
      else if (job->cancelled.load()) status_ = Status::Error("E_CANCELLED", "cancelled");
    } else {
      status_ = ParallelScan(plan.segs, job_.get(), plan.What(), body);
    }
    if (!status_.ok()) return;
    if (overGroups.load()) {
      status_ = TooManyGroups();
      return;
    }
    if (overGather.load()) {
      status_ = Status::Error("E_TOO_LARGE", plan.What() + ": distinct counts and quantiles keep every value, and more than " + Thousands(maxGatherRows) + " values (the limit) would be kept; filter first or drop those measures");
      return;
    }
    if (corrupt.load()) {
      status_ = Status::Error("E_CORRUPT", plan.What() + " has corrupt string offsets or dictionary indices in a key or measure column");
      return;
    }
    if (split) MergeDisjoint(tables, gathers);
    else Merge(tables, gathers);
    if (status_.ok() && topMeasure >= 0) SelectTop();
  }

  // Measure m of group g as a double (its value as the result holds it, rounded) and whether it is
  // non-null: what the caller's top-N threshold compares.
  double MeasureValue(size_t m, size_t g, bool* valid) const {
    const Measure& M = measures[m];
    const uint64_t* st = recs[g] + M.st - 1;  // st[1]: the state's first word
    const uint64_t cnt = recs[g][M.off];
    *valid = cnt > 0;
    switch (M.fn) {
      case Fn::ROWS: case Fn::COUNT: *valid = true; return static_cast<double>(cnt);
      case Fn::DISTINCT: *valid = true; return cnt ? static_cast<double>(static_cast<int64_t>(gatherOut[m][g])) : 0;
      case Fn::QUANTILE: return gatherOut[m][g];
      case Fn::MEAN: return cnt ? GetD(st + 1) / static_cast<double>(cnt) : 0;
      case Fn::VAR: case Fn::STD: {
        *valid = cnt > 1;
        const double x = cnt > 1 ? std::max(0.0, GetD(st + 2) / static_cast<double>(cnt - 1)) : NAN;
        return M.fn == Fn::STD ? std::sqrt(x) : x;
      }
      case Fn::SUM:
        if (M.isFloat) return GetD(st + 1);
        if (sumFits[m]) return static_cast<double>(static_cast<int64_t>(GetI(st + 1)));
        return static_cast<double>(GetI(st + 1));
      case Fn::MIN: case Fn::MAX:
        if (M.isFloat) {
          const double nans = GetD(st + 2);
          return (M.fn == Fn::MAX && nans > 0) || (M.fn == Fn::MIN && nans == static_cast<double>(cnt)) ? std::numeric_limits<double>::quiet_NaN() : GetD(st + 1);
        }
        return M.isUnsigned ? static_cast<double>(st[1]) : static_cast<double>(static_cast<int64_t>(st[1]));
    }
    return NAN;
  }

  // Top-N of many groups (the caller sorts by a measure and keeps `topLimit`): only the groups whose
  // measure is a number at or better than the topLimit-th best (ties included) are returned, in the
  // result's order, so the caller sorts those few instead of building and sorting every group. The
  // same candidates as the caller's own threshold (main/engine/group.ts order): applied only past
  // 4096 groups with the limit under an eighth of them, nulls and NaN never candidates, and nothing
  // cut when fewer than topLimit groups have a number.
  void SelectTop() {
    const uint64_t G = groups, k = topLimit;
    if (G <= 4096 || k == 0 || !(static_cast<double>(k) < static_cast<double>(G) / 8)) return;
    const double sign = topDesc ? -1 : 1;
    std::vector<double> key(G);
    uint64_t numbers = 0;
#pragma omp parallel for reduction(+ : numbers) schedule(static)
    for (int64_t g = 0; g < static_cast<int64_t>(G); g++) {
      bool valid;
      const double v = MeasureValue(static_cast<size_t>(topMeasure), static_cast<size_t>(g), &valid) * sign;
      key[g] = valid ? v : NAN;
      if (key[g] == key[g]) numbers++;
    }
    if (numbers < k) return;
    std::vector<double> nums;
    nums.reserve(numbers);
    for (double v : key)
      if (v == v) nums.push_back(v);
    std::nth_element(nums.begin(), nums.begin() + (k - 1), nums.end());
    const double t = nums[k - 1];
    for (uint64_t g = 0; g < G; g++)
      if (key[g] <= t) sel.push_back(static_cast<uint32_t>(g));
    selected = true;
  }

  // Thread tables -> one result, partition by partition; then the gathered values per group.
  void Merge(std::vector<Table>& tables, std::vector<std::vector<std::vector<std::pair<uint32_t, uint64_t>>>>& gathers) {
    const int T = static_cast<int>(tables.size());
    constexpr int P = 256;
    std::vector<std::vector<std::vector<uint32_t>>> byPart(T, std::vector<std::vector<uint32_t>>(P));
#pragma omp parallel for schedule(dynamic, 1)
    for (int t = 0; t < T; t++)
      for (uint32_t g = 0; g < tables[t].n; g++) byPart[t][tables[t].rec.p[static_cast<size_t>(g) * W] >> 56].push_back(g);
    // a partition's groups are references (thread << 32 | index) to records in the thread tables:
    // a group met again in a later thread merges its states into the first one's record, in place,
    // so no record is copied
    std::vector<std::vector<uint64_t>> refs(P);
    std::vector<std::vector<uint64_t>> where(T);  // (partition << 32 | index) of each thread group
    for (int t = 0; t < T; t++) where[t].assign(tables[t].n, 0);
    auto recOf = [&](uint64_t ref) { return tables[ref >> 32].rec.p + static_cast<size_t>(ref & 0xffffffffu) * W; };
#pragma omp parallel for schedule(dynamic, 1)
    for (int p = 0; p < P; p++) {
      uint64_t most = 0;
      for (int t = 0; t < T; t++) most += byPart[t][p].size();
      uint64_t size = 16;
      while (size < most * 2) size <<= 1;
      std::vector<uint64_t> slots(size, 0);  // tag | (reference index + 1)
      const uint64_t mask = size - 1;
      auto& list = refs[p];
      list.reserve(most);
      for (int t = 0; t < T; t++) {
        for (uint32_t g : byPart[t][p]) {
          uint64_t* r = tables[t].rec.p + static_cast<size_t>(g) * W;
          const uint64_t h = r[0], tag = h & kTag;
          uint64_t sl = h & mask;
          int64_t found = -1;
          for (;;) {
            const uint64_t e = slots[sl];
            if (!e) break;
            if ((e & kTag) == tag) {
              const uint32_t c = static_cast<uint32_t>(e) - 1;
              const uint64_t* o = recOf(list[c]);
              if (o[0] == h && !((o[nKeys + 1] ^ r[nKeys + 1]) & 0xff) && SameCodes(r + 1, o + 1) && (!anyStrKey || SameStrings(o, r))) { found = c; break; }
            }
            sl = (sl + 1) & mask;
          }
          if (found < 0) {
            found = static_cast<int64_t>(list.size());
            list.push_back((static_cast<uint64_t>(t) << 32) | g);
            slots[sl] = tag | static_cast<uint64_t>(found + 1);
          } else {
            MergeStates(recOf(list[found]), r);
          }
          where[t][g] = (static_cast<uint64_t>(p) << 32) | static_cast<uint32_t>(found);
        }
      }
    }
    std::vector<uint64_t> base(P + 1, 0);
    for (int p = 0; p < P; p++) base[p + 1] = base[p] + refs[p].size();
    groups = base[P];
    if (groups > maxGroups) {
      status_ = TooManyGroups();
      return;
    }
    // every group's record, in result order (the thread tables stay until the result is made):
    // in memory order where no gathered values need the partitions' order, so that reading the
    // result streams through the tables
    recs.resize(groups);
    if (nGather == 0) {
      std::vector<std::vector<uint8_t>> mark(T);
      for (int t = 0; t < T; t++) mark[t].assign(tables[t].n, 0);
#pragma omp parallel for schedule(dynamic, 1)
      for (int p = 0; p < P; p++)
        for (uint64_t ref : refs[p]) mark[ref >> 32][ref & 0xffffffffu] = 1;
      size_t o = 0;
      for (int t = 0; t < T; t++)
        for (uint32_t g = 0; g < tables[t].n; g++)
          if (mark[t][g]) recs[o++] = tables[t].rec.p + static_cast<size_t>(g) * W;
    } else {
#pragma omp parallel for schedule(dynamic, 1)
      for (int p = 0; p < P; p++)
        for (size_t i = 0; i < refs[p].size(); i++) recs[base[p] + i] = recOf(refs[p][i]);
    }
    Finish(tables, gathers, [&](int t, uint32_t g) {
      const uint64_t w = where[t][g];
      return base[w >> 32] + (w & 0xffffffffu);
    });
  }

  // The threads split the groups by hash (no group is in two tables): the result is every table's
  // groups in turn, in memory order; nothing to merge.
  void MergeDisjoint(std::vector<Table>& tables, std::vector<std::vector<std::vector<std::pair<uint32_t, uint64_t>>>>& gathers) {
    const int T = static_cast<int>(tables.size());
    std::vector<uint64_t> base(T + 1, 0);
    for (int t = 0; t < T; t++) base[t + 1] = base[t] + tables[t].n;
    groups = base[T];
    if (groups > maxGroups) {
      status_ = TooManyGroups();
      return;
    }
    recs.resize(groups);
    for (int t = 0; t < T; t++)
      for (uint32_t g = 0; g < tables[t].n; g++) recs[base[t] + g] = tables[t].rec.p + static_cast<size_t>(g) * W;
    Finish(tables, gathers, [&](int t, uint32_t g) { return base[t] + g; });
  }

  // After the merge (recs in result order): which integer sums fit int64, the thread tables kept
  // for the result, and the gathered values per group (`indexOf(thread, group)`: its result index).
  template <class IndexOf>
  void Finish(std::vector<Table>& tables, std::vector<std::vector<std::vector<std::pair<uint32_t, uint64_t>>>>& gathers, IndexOf&& indexOf) {
    const int T = static_cast<int>(tables.size());
    sumFits.assign(measures.size(), 1);
    for (size_t m = 0; m < measures.size(); m++) {
      const Measure& M = measures[m];
      if (M.fn != Fn::SUM || M.isFloat) continue;
      bool fits = true;
      for (size_t g = 0; g < groups && fits; g++) {
        const __int128 v = GetI(recs[g] + M.st);
        fits = v >= std::numeric_limits<int64_t>::min() && v <= std::numeric_limits<int64_t>::max();
      }
      sumFits[m] = fits;
    }
    kept = std::move(tables);
    // gathered values: counting sort by group, then per group the distinct count or the quantile
    gatherOut.assign(measures.size(), {});
    for (size_t m = 0; m < measures.size(); m++) {
      const Measure& M = measures[m];
      if (M.gather < 0) continue;
      std::vector<uint64_t> start(groups + 1, 0);
      for (int t = 0; t < T; t++)
        for (auto& [g, bits] : gathers[t][M.gather]) start[indexOf(t, g) + 1]++;
      for (uint64_t g = 0; g < groups; g++) start[g + 1] += start[g];
      std::vector<uint64_t> vals(start[groups]);
      std::vector<uint64_t> fill(start.begin(), start.end() - 1);
      for (int t = 0; t < T; t++) {
        for (auto& [g, bits] : gathers[t][M.gather]) vals[fill[indexOf(t, g)]++] = bits;
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
    // the groups returned: every one, or SelectTop's (their count as `rows`)
    const size_t G = selected ? sel.size() : groups, K = nKeys, Mn = measures.size();
    if (selected) {
      o.Set("rows", Napi::Number::New(env, static_cast<double>(G)));
      std::vector<const uint64_t*> kept(G);
      for (size_t i = 0; i < G; i++) kept[i] = recs[sel[i]];
      recs.swap(kept);
      for (auto& out : gatherOut)
        if (!out.empty()) {
          std::vector<double> part(G);
          for (size_t i = 0; i < G; i++) part[i] = out[sel[i]];
          out.swap(part);
        }
      selected = false;
    }
    // the output arrays first; then one pass over the groups reads each record once and fills
    // every key and measure (a pass per column would read every record once per column)
    Napi::Array keys = Napi::Array::New(env, K);
    std::vector<uint8_t*> kValid(K);
    std::vector<double*> kF(K, nullptr);
    std::vector<uint64_t*> kI(K, nullptr);
    for (size_t k = 0; k < K; k++) {
      Napi::Object ko = Napi::Object::New(env);
      auto valid = Napi::Uint8Array::New(env, G);
      kValid[k] = valid.Data();
      ko.Set("valid", valid);
      if (kinds[k] == KeyKind::STR || kinds[k] == KeyKind::DICT) {
        std::string bytes;
        auto offsets = Napi::Float64Array::New(env, G + 1);
        double* off = offsets.Data();
        off[0] = 0;
        for (size_t g = 0; g < G; g++) {
          if (!(recs[g][K + 1] >> k & 1)) {
            std::string_view sv;
            const uint64_t row = kinds[k] == KeyKind::DICT ? recs[g][1 + k] : recs[g][K + 1] >> 8;
            if (StrOfRep(k, row, &sv)) bytes.append(sv);
          }
          off[g + 1] = static_cast<double>(bytes.size());
        }
        auto b = Napi::Uint8Array::New(env, bytes.size());
        if (!bytes.empty()) std::memcpy(b.Data(), bytes.data(), bytes.size());
        ko.Set("bytes", b);
        ko.Set("offsets", offsets);
      } else if (kinds[k] == KeyKind::FLOAT) {
        auto a = Napi::Float64Array::New(env, G);
        kF[k] = a.Data();
        ko.Set("float", a);
      } else {
        auto buf = Napi::ArrayBuffer::New(env, G * 8);
        kI[k] = static_cast<uint64_t*>(buf.Data());
        ko.Set("int", buf);
      }
      keys[k] = ko;
    }
    o.Set("keys", keys);
    Napi::Array ms = Napi::Array::New(env, Mn);
    std::vector<uint8_t*> mValid(Mn);
    std::vector<double*> mF(Mn, nullptr);
    std::vector<int64_t*> mI(Mn, nullptr);
    for (size_t m = 0; m < Mn; m++) {
      const Measure& M = measures[m];
      Napi::Object mo = Napi::Object::New(env);
      auto valid = Napi::Uint8Array::New(env, G);
      mValid[m] = valid.Data();
      mo.Set("valid", valid);
      const bool asInt = M.fn == Fn::ROWS || M.fn == Fn::COUNT || M.fn == Fn::DISTINCT || (M.fn == Fn::SUM && !M.isFloat && sumFits[m]) ||
                         ((M.fn == Fn::MIN || M.fn == Fn::MAX) && !M.isFloat);
      if (asInt) {
        auto buf = Napi::ArrayBuffer::New(env, G * 8);
        mI[m] = static_cast<int64_t*>(buf.Data());
        mo.Set("int", buf);
      } else {
        auto a = Napi::Float64Array::New(env, G);
        mF[m] = a.Data();
        mo.Set("float", a);
      }
      ms[m] = mo;
    }
    o.Set("measures", ms);
    for (size_t g = 0; g < G; g++) {
      const uint64_t* r = recs[g];
      const uint64_t nm = r[K + 1] & 0xff;
      for (size_t k = 0; k < K; k++) {
        kValid[k][g] = (nm >> k & 1) ? 0 : 1;
        if (kF[k]) std::memcpy(&kF[k][g], &r[1 + k], 8);
        else if (kI[k]) kI[k][g] = r[1 + k];
      }
      for (size_t m = 0; m < Mn; m++) {
        const Measure& M = measures[m];
        const uint64_t* st = r + M.st - 1;  // st[1]: the state's first word
        const uint64_t cnt = r[M.off];
        uint8_t& v = mValid[m][g];
        v = cnt > 0 ? 1 : 0;
        switch (M.fn) {
          case Fn::ROWS: case Fn::COUNT: v = 1; mI[m][g] = static_cast<int64_t>(cnt); break;
          case Fn::DISTINCT: v = 1; mI[m][g] = cnt ? static_cast<int64_t>(gatherOut[m][g]) : 0; break;
          case Fn::QUANTILE: mF[m][g] = gatherOut[m][g]; break;
          case Fn::MEAN: mF[m][g] = cnt ? GetD(st + 1) / static_cast<double>(cnt) : 0; break;
          case Fn::VAR: case Fn::STD: {
            v = cnt > 1 ? 1 : 0;
            const double x = cnt > 1 ? std::max(0.0, GetD(st + 2) / static_cast<double>(cnt - 1)) : NAN;
            mF[m][g] = M.fn == Fn::STD ? std::sqrt(x) : x;
            break;
          }
          case Fn::SUM:
            if (M.isFloat) mF[m][g] = GetD(st + 1);
            else if (mI[m]) mI[m][g] = static_cast<int64_t>(GetI(st + 1));
            else mF[m][g] = static_cast<double>(GetI(st + 1));
            break;
          case Fn::MIN: case Fn::MAX:
            if (M.isFloat) {
              const double nans = GetD(st + 2);
              mF[m][g] = (M.fn == Fn::MAX && nans > 0) || (M.fn == Fn::MIN && nans == static_cast<double>(cnt)) ? std::numeric_limits<double>::quiet_NaN() : GetD(st + 1);
            } else {
              mI[m][g] = static_cast<int64_t>(st[1]);
            }
            break;
        }
      }
    }
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
  w->nValues = values.Length();
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
      M.value = static_cast<int>(v);
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
    if (o.Get("top").IsObject()) {
      Napi::Object t = o.Get("top").As<Napi::Object>();
      uint64_t m, limit;
      if (!GetU64(t, "measure", &m, &st) || !GetU64(t, "limit", &limit, &st)) return w->Start(st);
      if (m >= w->measures.size()) return w->Start(Status::Error("E_BAD_ARG", "groupBy: top measure index out of range"));
      w->topMeasure = static_cast<int>(m);
      w->topLimit = limit;
      w->topDesc = t.Get("desc").ToBoolean().Value();
    }
  }
  if (info.Length() > 4 && !info[4].IsUndefined() && !info[4].IsNull() && !w->plan.AddFilter(info[4], &st)) return w->Start(st);
  if (info.Length() > 5) w->SetJob(GetJob(info[5]));
  return w->Start();
}
Export e_group("groupBy", GroupBy);

}  // namespace
}  // namespace cdx
