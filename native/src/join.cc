// hashJoin: the row-id pairs of an equi-join of two mapped tables (inner or left), and joinTake,
// which gathers a side's columns through those ids (-1 gives a null: a left join's unmatched row).
//
// hashJoin(leftKeys[], rightKeys[], { how, keys: [{ cls, lmul, ldiv, rmul, rdiv }], maxPairs },
//          leftFilter?, rightFilter?, job?) ->
//   { left: Float64Array, right: Float64Array, leftRows, rightRows, matched }
//
// Semantics (SQL's, as DuckDB gives them): a null key never matches (a left join keeps its row,
// with no right row); floats compare by value with -0 = +0 and NaN = NaN (DuckDB's hash join
// matches NaN with NaN); an integer compared with a float is compared as a double (DuckDB casts
// the integer); integers of any widths compare exactly by value (int64 beyond 2^53 included; a
// uint64 above 2^63 matches only a uint64); text compares by bytes, dictionary text by its value.
// What each key compares as (`cls`: 'int', 'float' or 'text') and the scale that brings dates and
// timestamps of different units to one (value * mul / div, floored) are decided by the caller
// (main/engine/join.ts), which has the columns' logical types.
//
// Output: every pair (left row, right row) with equal keys, in left-row order and, for one left
// row, in right-row order — the result is deterministic whatever the threads do. `leftRows` and
// `rightRows` count the rows passing each side's filter, `matched` the left rows with a match.
//
// How: the hash table is built on the smaller side (the right, unless the left has under half its
// rows). One parallel scan of that side computes each passing row's key codes and hash into
// per-segment lists (row order kept); the entries are then scattered, stably, into 256 partitions
// by the hash's top bits (per-segment offsets: a parallel scatter), and each partition, in
// parallel, is made into an open-addressing region holding each distinct key once — its hash,
// codes, row count, and its row (one row) or the place of its rows (several: side by side, in row
// order, in a second array). A lookup is one random read. The other side is probed in parallel
// morsels (every row's home slot computed first, then the comparisons, prefetching 16 rows
// ahead), each thread appending to its own arenas; the morsels' pairs are concatenated in morsel
// order. With the table on the left the pairs come in right-row order and a counting sort by left
// row puts them back (a left join's unmatched rows slotted in). Memory is bounded before it is
// used: the build (about 2 x (2 + K) + 4 x (3 + K) + 1 words a row) and the pairs (`maxPairs`,
// 16 bytes each while probing and again as the result) are refused with E_TOO_LARGE naming the
// rows and the memory. The result is handed to JS without a copy where the runtime allows it.
// CDX_JOIN_TRACE=1 prints each phase's time.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <sys/mman.h>
#include <unistd.h>

#include "plan.h"
#include "rows.h"

namespace cdx {
namespace {

enum class Cls : uint8_t { INT, FLOAT, TEXT };

struct KeySpec {
  Cls cls = Cls::INT;
  int64_t mul[2] = {1, 1}, div[2] = {1, 1};  // per side (0 left, 1 right)
};

inline double CanonF(double d) {
  if (d == 0) d = 0;
  if (d != d) d = std::numeric_limits<double>::quiet_NaN();
  return d;
}

inline int64_t FloorDiv(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

constexpr double kMaxSafe = 9007199254740992.0;  // 2^53

double MachineMemory() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? static_cast<double>(pages) * static_cast<double>(page) : 0;
}

std::string MiB(double bytes) { return Thousands(static_cast<uint64_t>(bytes / (1 << 20))) + " MiB"; }

// An uninitialised array in anonymous memory with huge pages asked for (as sort.cc's): the table
// is read at random, and in a VM a TLB miss on 4 KiB pages costs more than the lookup itself.
struct Buf {
  uint64_t* p = nullptr;
  size_t n = 0;
  Buf() = default;
  Buf(const Buf&) = delete;
  Buf& operator=(const Buf&) = delete;
  ~Buf() { Free(); }
  void Free() {
    if (p) munmap(p, std::max<size_t>(n, 1) * 8);
    p = nullptr;
    n = 0;
  }
  void Alloc(size_t count, bool zero = false) {
    Free();
    const size_t bytes = std::max<size_t>(count, 1) * 8;
    void* m = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
    if (bytes >= (2u << 20)) madvise(m, bytes, MADV_HUGEPAGE);
#endif
    p = static_cast<uint64_t*>(m);
    n = count;
    (void)zero;  // (anonymous memory is zero already)
  }
  uint64_t& operator[](size_t i) { return p[i]; }
  uint64_t* data() { return p; }
};

// One side of the join: its key columns (plan columns 0..K-1) and its filter.
struct Side {
  Plan plan;
  std::vector<StringColumnReader> readers;      // TEXT keys: the column (UTF8) or its dictionary (DICT)
  std::vector<std::vector<uint64_t>> dictHash;  // DICT keys: hash of each dictionary entry
  std::vector<std::vector<uint8_t>> dictNull;   // DICT keys: entry is null or corrupt
};

class JoinWorker : public PromiseWorker {
 public:
  explicit JoinWorker(Napi::Env env) : PromiseWorker(env, "cdx.hashJoin") {}
  Side L, R;
  size_t K = 0;
  std::vector<KeySpec> keys;
  bool leftJoin = false;
  uint64_t maxPairs = 0;  // 0: from the machine's memory
  void SetJob(JobPtr j) { job_ = std::move(j); }

 private:
  size_t W = 0;  // words per build entry: hash, row, K codes
  // The table: per partition (the hash's top 8 bits) an open-addressing region of slots, one per
  // distinct key: [hash, row or first, count, K codes] (TW words). A key of one row holds that row;
  // of several, `first` indexes `dups`, which holds their rows in row order.
  Buf slots, dups;
  size_t TW = 0;
  uint64_t partBase[257] = {0}, partMask[256] = {0};
  // the result: `pairs` left row ids then `pairs` right row ids (-1: none), as doubles
  Buf out_;
  bool swapped_ = false;  // the table holds the left side's keys (the right is probed)
  Buf passL_;             // swapped: a byte per left row, 1 where it passes the left filter
  uint64_t leftRows = 0, rightRows = 0, matched = 0, pairs = 0;
  std::atomic<bool> corrupt{false};
  std::function<void(const char*)> lap_;

  // Text of key k of side s at global row `row` (a DICT column's text through its index).
  bool TextAt(const Side& s, size_t k, const View& v, uint64_t local, std::string_view* out) const {
    const Column& c = *s.plan.cols[k];
    const uint8_t* p; uint64_t len;
    if (c.kind == Kind::DICT) {
      const int64_t di = DictIndex(v, local);
      if (di < 0 || !s.readers[k].Get(static_cast<uint64_t>(di), &p, &len)) return false;
    } else if (!StringAt(v, local, &p, &len)) {
      return false;
    }
    *out = std::string_view(reinterpret_cast<const char*>(p), len);
    return true;
  }
  bool TextAtRow(const Side& s, size_t k, uint64_t row, std::string_view* out) const {
    const Column& c = *s.plan.cols[k];
    View v;
    v.Bind(c, c.ChunkOf(row));
    return TextAt(s, k, v, row - v.rowStart, out);
  }

  // Key codes of rows [r, r+n) of side `si` into codes[k * kBatch + i]; ok[i] = 0 where a key is
  // null (or can never match: a uint64 above 2^63 against a signed column).
  void Codes(const Side& s, int si, const View* views, uint64_t r, uint32_t n, uint64_t* codes, uint8_t* ok) {
    uint8_t va[kBatch];
    double dv[kBatch];
    int64_t iv[kBatch];
    std::memset(ok, 1, n);
    for (size_t k = 0; k < K; k++) {
      const View& Vw = views[k];
      const Column& c = *s.plan.cols[k];
      const uint64_t local = r - Vw.rowStart;
      uint64_t* cd = codes + k * kBatch;
      if (ValidityBytes(Vw, local, n, va))
        for (uint32_t i = 0; i < n; i++) ok[i] &= va[i];
      const KeySpec& ks = keys[k];
      switch (ks.cls) {
        case Cls::INT: {
          DecodeI64(Vw, local, n, iv);
          const int64_t mul = ks.mul[si], div = ks.div[si];
          const bool u64 = c.kind == Kind::NUMERIC && c.dtype == DType::U64;
          const Column& o = *(si == 0 ? R : L).plan.cols[k];
          const bool otherU64 = o.kind == Kind::NUMERIC && o.dtype == DType::U64;
          for (uint32_t i = 0; i < n; i++) {
            int64_t v = iv[i];
            if (u64 && !otherU64 && v < 0) ok[i] = 0;  // above 2^63: no signed value equals it
            if (mul != 1) v *= mul;
            if (div != 1) v = FloorDiv(v, div);
            cd[i] = static_cast<uint64_t>(v);
          }
          break;
        }
        case Cls::FLOAT:
          DecodeF64(Vw, local, n, dv);
          for (uint32_t i = 0; i < n; i++) {
            const double d = CanonF(dv[i]);
            std::memcpy(&cd[i], &d, 8);
          }
          break;
        case Cls::TEXT:
          if (c.kind == Kind::DICT) {
            DecodeI64(Vw, local, n, iv);
            const auto& hs = s.dictHash[k];
            const auto& nl = s.dictNull[k];
            for (uint32_t i = 0; i < n; i++) {
              if (!ok[i]) { cd[i] = 0; continue; }
              if (iv[i] < 0 || static_cast<uint64_t>(iv[i]) >= hs.size()) { corrupt.store(true); ok[i] = 0; cd[i] = 0; continue; }
              if (nl[iv[i]]) { ok[i] = 0; cd[i] = 0; continue; }
              cd[i] = hs[iv[i]];
            }
          } else {
            for (uint32_t i = 0; i < n; i++) {
              if (!ok[i]) { cd[i] = 0; continue; }
              const uint8_t* p; uint64_t len;
              if (!StringAt(Vw, local + i, &p, &len)) { corrupt.store(true); ok[i] = 0; cd[i] = 0; continue; }
              cd[i] = HashBytes(p, len);
            }
          }
          break;
      }
    }
  }

  inline uint64_t HashOf(const uint64_t* codes, uint32_t i) const {
    uint64_t h = 0x9e3779b97f4a7c15ULL;
    for (size_t k = 0; k < K; k++) h = Mix64(h ^ (codes[k * kBatch + i] + 0x632be59bd9b4e019ULL * (k + 1)));
    return h;
  }

  Status PrepareSide(Side& s, const char* which) {
    Status st = s.plan.Prepare(1 << 16);
    if (!st.ok()) return st;
    s.readers.resize(K);
    s.dictHash.resize(K);
    s.dictNull.resize(K);
    for (size_t k = 0; k < K; k++) {
      const Column& c = *s.plan.cols[k];
      if (keys[k].cls != Cls::TEXT) {
        if (c.IsString()) return Status::Error("E_BAD_ARG", std::string("hashJoin: ") + which + " key " + c.name + " is text, the other side's is not");
        continue;
      }
      if (!c.IsString()) return Status::Error("E_BAD_ARG", std::string("hashJoin: ") + which + " key " + c.name + " is not text");
      if (c.kind == Kind::DICT) {
        s.readers[k].Bind(*c.dict);
        auto& hs = s.dictHash[k];
        auto& nl = s.dictNull[k];
        hs.assign(c.dict->rows, 0);
        nl.assign(c.dict->rows, 0);
        for (uint64_t i = 0; i < c.dict->rows; i++) {
          const uint8_t* p; uint64_t len;
          if (!s.readers[k].Get(i, &p, &len) || !p) { nl[i] = 1; continue; }
          hs[i] = HashBytes(p, len);
        }
      } else {
        s.readers[k].Bind(c);
      }
    }
    return Status::Ok();
  }

 protected:
  void Run() override {
    // CDX_JOIN_TRACE=1: each phase's time on stderr
    const bool trace = std::getenv("CDX_JOIN_TRACE") != nullptr;
    auto t0 = std::chrono::steady_clock::now();
    lap_ = [trace, t0](const char* what) mutable {
      if (!trace) return;
      auto t1 = std::chrono::steady_clock::now();
      std::fprintf(stderr, "hashJoin %s: %.1f ms\n", what, std::chrono::duration<double, std::milli>(t1 - t0).count());
      t0 = t1;
    };
    status_ = PrepareSide(L, "left");
    if (!status_.ok()) return;
    status_ = PrepareSide(R, "right");
    if (!status_.ok()) return;
    job_->total.store(L.plan.rows + R.plan.rows);
    W = 2 + K;
    const double mem = MachineMemory();
    // the hash table on the smaller side (by rows before the filters): the right, unless the left
    // has under half its rows (then the pairs are put in left-row order afterwards)
    swapped_ = L.plan.rows * 2 < R.plan.rows;
    Side& b = swapped_ ? L : R;
    // the build: entries (W words a row) twice during the scatter, the slots (3 + K words, up to
    // four a row: regions are powers of two at least twice their rows), the duplicates' rows
    const double buildBytes = static_cast<double>(b.plan.rows) * (W * 8 * 2 + 4 * (3 + K) * 8 + 8);
    if (mem > 0 && buildBytes > mem * 0.5) {
      status_ = Status::Error("E_TOO_LARGE", b.plan.What() + ": the join's hash table over " + Thousands(b.plan.rows) + " rows needs about " + MiB(buildBytes) +
                                                 ", more than half this machine's memory (" + MiB(mem) + "); filter the " + (swapped_ ? "left" : "right") + " side first");
      return;
    }
    if (maxPairs == 0) maxPairs = mem > 0 ? static_cast<uint64_t>(mem * 0.4 / 32) : (1ULL << 31);
    lap_("prepare");
    if (!Build()) return;
    Probe();
    lap_("probe");
  }

  bool Build() {
    Side& s = swapped_ ? L : R;
    const int side = swapped_ ? 0 : 1;
    uint8_t* pass = nullptr;
    if (swapped_ && leftJoin) {
      passL_.Alloc((L.plan.rows + 7) / 8);
      pass = reinterpret_cast<uint8_t*>(passL_.p);
    }
    const size_t S = s.plan.segs.size();
    std::vector<std::vector<uint64_t>> seg(S);
    std::vector<uint64_t> segRows(S, 0);
    const int T = MaxThreads();
    std::vector<FilterScratch> scratch(T);
    const bool needFilter = !s.plan.filter.empty();
    if (needFilter) for (FilterScratch& f : scratch) f.Init(s.plan.filter.depth);
    // segment index of each segment (ParallelScan hands the segment itself)
    const Segment* base = s.plan.segs.data();
    status_ = ParallelScan(s.plan.segs, job_.get(), s.plan.What(), [&](const Segment& sg, uint64_t r0, uint64_t r1, int t) {
      const size_t si = &sg - base;
      View views[64];
      s.plan.Bind(sg, views);
      static thread_local std::vector<uint64_t> codesV;
      codesV.resize(K * kBatch);
      uint64_t* const codes = codesV.data();  // in a register: a thread-local's every use is a __tls_get_addr call here
      uint8_t mask[kBatch], ok[kBatch];
      auto& out = seg[si];
      out.reserve((r1 - r0) * W);
      uint64_t passed = 0;
      for (uint64_t r = r0; r < r1; r += kBatch) {
        const uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(kBatch, r1 - r));
        if (needFilter) s.plan.filter.Eval(s.plan.FilterViews(views), r, n, mask, scratch[t]);
        else std::memset(mask, 1, n);
        Codes(s, side, views, r, n, codes, ok);
        for (uint32_t i = 0; i < n; i++) {
          if (!mask[i]) continue;
          passed++;
          if (pass) pass[r + i] = 1;
          if (!ok[i]) continue;
          out.push_back(HashOf(codes, i));
          out.push_back(r + i);
          for (size_t k = 0; k < K; k++) out.push_back(codes[k * kBatch + i]);
        }
      }
      segRows[si] = passed;
    });
    if (!status_.ok()) return false;
    if (corrupt.load()) { status_ = Status::Error("E_CORRUPT", s.plan.What() + " has corrupt string offsets or dictionary indices in a join key"); return false; }
    for (uint64_t x : segRows) (swapped_ ? leftRows : rightRows) += x;
    lap_("build scan");
    uint64_t n = 0;
    for (auto& v : seg) n += v.size() / W;
    // stable scatter into 256 partitions by the hash's top bits: per-segment counts, offsets in segment order
    constexpr int LP = 8, P = 1 << LP;
    std::vector<uint64_t> cnt(S * P, 0);
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t si = 0; si < static_cast<int64_t>(S); si++) {
      const auto& v = seg[si];
      for (size_t e = 0; e < v.size(); e += W) cnt[si * P + (v[e] >> (64 - LP))]++;
    }
    std::vector<uint64_t> partStart(P + 1, 0);
    {
      uint64_t at = 0;
      for (int p = 0; p < P; p++) {
        partStart[p] = at;
        for (size_t si = 0; si < S; si++) {
          const uint64_t c = cnt[si * P + p];
          cnt[si * P + p] = at;
          at += c;
        }
      }
      partStart[P] = at;
    }
    lap_("build counts");
    Buf tmp;
    tmp.Alloc(n * W);
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t si = 0; si < static_cast<int64_t>(S); si++) {
      auto& v = seg[si];
      uint64_t* off = &cnt[si * P];
      for (size_t e = 0; e < v.size(); e += W) {
        const uint64_t p = v[e] >> (64 - LP);
        std::memcpy(&tmp[off[p]++ * W], &v[e], W * 8);
      }
      std::vector<uint64_t>().swap(v);
    }
    lap_("build scatter");
    // each partition's region: a power of two at least twice its rows (so probes stay short)
    TW = 3 + K;
    for (int p = 0; p < P; p++) {
      const uint64_t m = partStart[p + 1] - partStart[p];
      uint64_t size = 16;
      while (size < m * 2) size <<= 1;
      partMask[p] = size - 1;
      partBase[p + 1] = partBase[p] + size;
    }
    slots.Alloc(partBase[P] * TW);
    dups.Alloc(n);
    bool anyText = false;
    for (const KeySpec& k : keys) anyText |= k.cls == Cls::TEXT;
    const Side& bs = s;
#pragma omp parallel for schedule(dynamic, 1)
    for (int p = 0; p < P; p++) {
      const uint64_t e0 = partStart[p], e1 = partStart[p + 1];
      if (e0 == e1) continue;
      uint64_t* T0 = slots.p + partBase[p] * TW;
      const uint64_t mask = partMask[p];
      std::vector<uint32_t> slotOf(e1 - e0);  // (a partition holds under 2^31 rows: the build is bounded by memory)
      // the distinct keys, each with its first row and its count (rows in row order)
      for (uint64_t e = e0; e < e1; e++) {
        const uint64_t* en = &tmp[e * W];
        const uint64_t h = en[0];
        uint64_t sl = h & mask;
        for (;;) {
          uint64_t* t = T0 + sl * TW;
          if (!t[2]) {
            t[0] = h;
            t[1] = en[1];
            t[2] = 1;
            std::memcpy(t + 3, en + 2, K * 8);
            break;
          }
          if (t[0] == h && std::equal(en + 2, en + 2 + K, t + 3)) {
            bool eq = true;
            if (anyText) {
              for (size_t k = 0; k < K && eq; k++) {
                if (keys[k].cls != Cls::TEXT) continue;
                std::string_view x, y;
                if (!TextAtRow(bs, k, en[1], &x) || !TextAtRow(bs, k, t[1], &y)) { corrupt.store(true); eq = false; break; }
                eq = x == y;
              }
            }
            if (eq) { t[2]++; break; }
          }
          sl = (sl + 1) & mask;
        }
        slotOf[e - e0] = static_cast<uint32_t>(sl);
      }
      // keys of several rows: their rows side by side in `dups`, in row order
      uint64_t at = e0;
      std::vector<uint64_t> fill;
      for (uint64_t e = e0; e < e1; e++) {
        uint64_t* t = T0 + static_cast<uint64_t>(slotOf[e - e0]) * TW;
        if (t[2] < 2) continue;
        if (t[1] & (1ULL << 63)) {  // (marked: its place already given; t[1] is then its cursor)
          dups[t[1] & ~(1ULL << 63)] = tmp[e * W + 1];
          t[1]++;
          continue;
        }
        const uint64_t first = at;
        at += t[2];
        dups[first] = tmp[e * W + 1];
        t[1] = (first + 1) | (1ULL << 63);
      }
      // cursors back to first places
      for (uint64_t sl = 0; sl <= mask; sl++) {
        uint64_t* t = T0 + sl * TW;
        if (t[2] >= 2) t[1] = (t[1] & ~(1ULL << 63)) - t[2];
      }
    }
    lap_("build table");
    return true;
  }

  void Probe() {
    Side& s = swapped_ ? R : L;
    const Side& bs = swapped_ ? L : R;
    const int side = swapped_ ? 1 : 0;
    const bool emitUnmatched = leftJoin && !swapped_;
    const size_t S = s.plan.segs.size();
    // each thread appends its segments' pairs to its own arenas (address space reserved for the
    // most pairs allowed, faulted in as written, huge pages), remembering where each segment's are
    const int TT = MaxThreads();
    std::vector<Buf> arenaL(TT), arenaR(TT);
    std::vector<uint64_t> used(TT, 0);
    for (int t = 0; t < TT; t++) { arenaL[t].Alloc(maxPairs + kBatch); arenaR[t].Alloc(maxPairs + kBatch); }
    std::vector<int> segThread(S, 0);
    std::vector<uint64_t> segStart(S, 0), segCount(S, 0);
    std::vector<uint64_t> segRows(S, 0), segMatched(S, 0);
    const int T = MaxThreads();
    std::vector<FilterScratch> scratch(T);
    const bool needFilter = !s.plan.filter.empty();
    if (needFilter) for (FilterScratch& f : scratch) f.Init(s.plan.filter.depth);
    bool anyText = false;
    for (const KeySpec& k : keys) anyText |= k.cls == Cls::TEXT;
    std::atomic<uint64_t> total{0};
    std::atomic<bool> over{false};
    const Segment* base = s.plan.segs.data();
    const uint64_t* SL = slots.p;
    const uint64_t* D = dups.p;
    const size_t tw = TW;
    status_ = ParallelScan(s.plan.segs, job_.get(), s.plan.What(), [&](const Segment& sg, uint64_t r0, uint64_t r1, int t) {
      if (over.load(std::memory_order_relaxed)) return;
      const size_t si = &sg - base;
      View views[64];
      s.plan.Bind(sg, views);
      static thread_local std::vector<uint64_t> codesV, hsV, loV;
      codesV.resize(K * kBatch);
      hsV.resize(kBatch);
      loV.resize(kBatch);
      uint64_t* codes = codesV.data();
      uint64_t* hs = hsV.data();
      uint64_t* lo = loV.data();
      uint8_t mask[kBatch], ok[kBatch];
      double* outL = reinterpret_cast<double*>(arenaL[t].p);
      double* outR = reinterpret_cast<double*>(arenaR[t].p);
      uint64_t at = used[t];  // (a local copy: threads' counters side by side would share a cache line)
      const uint64_t first = at;
      segThread[si] = t;
      segStart[si] = first;
      uint64_t passed = 0, hit = 0;
      for (uint64_t r = r0; r < r1; r += kBatch) {
        const uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(kBatch, r1 - r));
        if (needFilter) s.plan.filter.Eval(s.plan.FilterViews(views), r, n, mask, scratch[t]);
        else std::memset(mask, 1, n);
        Codes(s, side, views, r, n, codes, ok);
        const uint64_t before = at;
        // two passes over the batch so that the table's cache misses overlap (a lookup is a random
        // read once the table outgrows the cache): every row's hash and home slot; then the
        // comparisons, each prefetching the home slot of the row kPrefetch rows ahead (a bounded
        // number in flight: prefetching the whole batch at once evicts lines before their use)
        constexpr uint32_t kPrefetch = 16;
        for (uint32_t i = 0; i < n; i++) {
          if (!mask[i] || !ok[i]) { lo[i] = 0; continue; }
          const uint64_t h = HashOf(codes, i);
          const uint64_t p = h >> 56;
          hs[i] = h;
          lo[i] = partBase[p] + (h & partMask[p]);
        }
        for (uint32_t i = 0; i < kPrefetch && i < n; i++) __builtin_prefetch(SL + lo[i] * tw);
        for (uint32_t i = 0; i < n; i++) {
          if (i + kPrefetch < n) __builtin_prefetch(SL + lo[i + kPrefetch] * tw);
          if (!mask[i]) continue;
          passed++;
          bool any = false;
          if (ok[i]) {
            const uint64_t h = hs[i], p = h >> 56, pb = partBase[p], pm = partMask[p];
            uint64_t sl = lo[i] - pb;
            for (;;) {
              const uint64_t* t = SL + (pb + sl) * tw;
              if (!t[2]) break;
              bool eq = t[0] == h;
              for (size_t k = 0; k < K && eq; k++) eq = t[3 + k] == codes[k * kBatch + i];
              if (eq && anyText) {
                const uint64_t row = t[2] == 1 ? t[1] : D[t[1]];
                for (size_t k = 0; k < K && eq; k++) {
                  if (keys[k].cls != Cls::TEXT) continue;
                  std::string_view x, y;
                  if (!TextAt(s, k, views[k], r + i - views[k].rowStart, &x) || !TextAtRow(bs, k, row, &y)) { corrupt.store(true); eq = false; break; }
                  eq = x == y;
                }
              }
              if (!eq) { sl = (sl + 1) & pm; continue; }
              const uint64_t c = t[2];
              if (at + c > maxPairs) { over.store(true); return; }
              const double self = static_cast<double>(r + i);
              if (c == 1) {
                outL[at] = swapped_ ? static_cast<double>(t[1]) : self;
                outR[at++] = swapped_ ? self : static_cast<double>(t[1]);
              } else {
                for (uint64_t j = t[1], e = t[1] + c; j < e; j++) {
                  outL[at] = swapped_ ? static_cast<double>(D[j]) : self;
                  outR[at++] = swapped_ ? self : static_cast<double>(D[j]);
                }
              }
              any = true;
              break;
            }
          }
          if (any) hit++;
          else if (emitUnmatched) {
            if (at >= maxPairs) { over.store(true); return; }
            outL[at] = static_cast<double>(r + i);
            outR[at++] = -1;
          }
        }
        const uint64_t added = at - before;
        if (added && total.fetch_add(added, std::memory_order_relaxed) + added > maxPairs) { over.store(true); return; }
      }
      segRows[si] = passed;
      segMatched[si] = hit;
      segCount[si] = at - first;
      used[t] = at;
    });
    if (!status_.ok()) return;
    if (over.load()) {
      status_ = Status::Error("E_TOO_LARGE", L.plan.What() + " joined with " + R.plan.What() + ": more than " + Thousands(maxPairs) +
                                                 " result rows (the limit held in memory, about " + MiB(static_cast<double>(maxPairs) * 32) + " of " +
                                                 MiB(MachineMemory()) + "); filter either side first, or join on more selective keys");
      return;
    }
    if (corrupt.load()) { status_ = Status::Error("E_CORRUPT", s.plan.What() + " has corrupt string offsets or dictionary indices in a join key"); return; }
    for (size_t i = 0; i < S; i++) (swapped_ ? rightRows : leftRows) += segRows[i];
    if (!swapped_) for (size_t i = 0; i < S; i++) matched += segMatched[i];
    pairs = total.load();
    slots.Free();
    dups.Free();
    if (swapped_) { Reorder(arenaL, arenaR, segThread, segStart, segCount); return; }
    // the segments' pairs in segment (= left row) order, left ids then right ids
    std::vector<uint64_t> put(S + 1, 0);
    for (size_t i = 0; i < S; i++) put[i + 1] = put[i] + segCount[i];
    out_.Alloc(2 * pairs);
    double* L0 = reinterpret_cast<double*>(out_.p);
    double* R0 = L0 + pairs;
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t i = 0; i < static_cast<int64_t>(S); i++) {
      if (!segCount[i]) continue;
      const int t = segThread[i];
      std::memcpy(L0 + put[i], reinterpret_cast<double*>(arenaL[t].p) + segStart[i], segCount[i] * 8);
      std::memcpy(R0 + put[i], reinterpret_cast<double*>(arenaR[t].p) + segStart[i], segCount[i] * 8);
    }
    job_->done.store(job_->total.load());
  }

  // The table was built on the left: the pairs came in right-row order. A counting sort by left row
  // (placing the pairs segment by segment, so one left row's stay in right-row order), with a left
  // join's unmatched left rows (passing its filter) given one row with no right row.
  void Reorder(std::vector<Buf>& arenaL, std::vector<Buf>& arenaR, const std::vector<int>& segThread, const std::vector<uint64_t>& segStart, const std::vector<uint64_t>& segCount) {
    const uint64_t NL = L.plan.rows;
    const size_t S = segCount.size();
    Buf cnt;
    cnt.Alloc(NL + 1);
    uint64_t* c = cnt.p;
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t i = 0; i < static_cast<int64_t>(S); i++) {
      const double* a = reinterpret_cast<const double*>(arenaL[segThread[i]].p) + segStart[i];
      for (uint64_t j = 0; j < segCount[i]; j++) __atomic_fetch_add(&c[static_cast<uint64_t>(a[j])], 1, __ATOMIC_RELAXED);
    }
    const uint8_t* pass = reinterpret_cast<const uint8_t*>(passL_.p);
    uint64_t at = 0;
    matched = 0;
    for (uint64_t l = 0; l < NL; l++) {
      const uint64_t n = c[l];
      matched += n > 0;
      c[l] = at;  // (now the first place of left row l)
      at += n ? n : (leftJoin && pass[l] ? 1 : 0);
    }
    c[NL] = at;
    pairs = at;
    out_.Alloc(2 * pairs);
    double* L0 = reinterpret_cast<double*>(out_.p);
    double* R0 = L0 + pairs;
    if (leftJoin) {
      // a slot for every left row that has one; matched rows' slots are all overwritten below
#pragma omp parallel for schedule(static)
      for (int64_t l = 0; l < static_cast<int64_t>(NL); l++)
        if (c[l] < c[l + 1]) { L0[c[l]] = static_cast<double>(l); R0[c[l]] = -1; }
    }
    for (size_t i = 0; i < S; i++) {
      const double* a = reinterpret_cast<const double*>(arenaL[segThread[i]].p) + segStart[i];
      const double* b = reinterpret_cast<const double*>(arenaR[segThread[i]].p) + segStart[i];
      for (uint64_t j = 0; j < segCount[i]; j++) {
        const uint64_t pos = c[static_cast<uint64_t>(a[j])]++;
        L0[pos] = a[j];
        R0[pos] = b[j];
      }
    }
    passL_.Free();
    job_->done.store(job_->total.load());
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    // handed to JS without a copy where the runtime allows memory it did not allocate (Node);
    // copied where it does not (Electron's V8 sandbox refuses external buffers)
    const size_t bytes = std::max<size_t>(2 * pairs, 1) * 8;
    napi_value ab = nullptr;
    Buf* keep = new Buf();
    keep->p = out_.p;
    keep->n = out_.n;
    const napi_status st = napi_create_external_arraybuffer(
        env, out_.p, bytes, [](napi_env e, void*, void* hint) {
          Buf* b = static_cast<Buf*>(hint);
          int64_t adjusted = 0;
          napi_adjust_external_memory(e, -static_cast<int64_t>(std::max<size_t>(b->n, 1) * 8), &adjusted);
          delete b;
        }, keep, &ab);
    Napi::ArrayBuffer buf;
    if (st == napi_ok) {
      out_.p = nullptr;  // (owned by the ArrayBuffer now)
      out_.n = 0;
      int64_t adjusted = 0;
      napi_adjust_external_memory(env, static_cast<int64_t>(bytes), &adjusted);
      buf = Napi::ArrayBuffer(env, ab);
    } else {
      keep->p = nullptr;
      delete keep;
      if (env.IsExceptionPending()) env.GetAndClearPendingException();
      buf = Napi::ArrayBuffer::New(env, bytes);
      if (pairs) std::memcpy(buf.Data(), out_.p, 2 * pairs * 8);
      out_.Free();
    }
    lap_("result");
    o.Set("left", Napi::Float64Array::New(env, pairs, buf, 0));
    o.Set("right", Napi::Float64Array::New(env, pairs, buf, pairs * 8));
    o.Set("leftRows", Napi::Number::New(env, static_cast<double>(leftRows)));
    o.Set("rightRows", Napi::Number::New(env, static_cast<double>(rightRows)));
    o.Set("matched", Napi::Number::New(env, static_cast<double>(matched)));
    return o;
  }

  friend Napi::Value HashJoin(const Napi::CallbackInfo& info);
};

bool ParseInt(const Napi::Object& o, const char* key, int64_t* out, Status* st) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return true;
  double d;
  if (!GetF64(o, key, &d, st)) return false;
  if (!(d >= 1 && d <= 9.2e18) || d != std::floor(d)) { *st = Status::Error("E_BAD_ARG", std::string("hashJoin: ") + key + " must be a positive integer"); return false; }
  *out = static_cast<int64_t>(d);
  return true;
}

// hashJoin(leftKeys: column[], rightKeys: column[], { how, keys: [{ cls, lmul?, ldiv?, rmul?, rdiv? }], maxPairs? }, leftFilter?, rightFilter?, job?)
Napi::Value HashJoin(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* w = new JoinWorker(env);
  Status st;
  const char* usage = "hashJoin(leftKeys, rightKeys, { how, keys, maxPairs? }, leftFilter?, rightFilter?, job?)";
  if (info.Length() < 3 || !info[0].IsArray() || !info[1].IsArray() || !info[2].IsObject()) return w->Start(Status::Error("E_BAD_ARG", usage));
  Napi::Array lk = info[0].As<Napi::Array>(), rk = info[1].As<Napi::Array>();
  if (lk.Length() == 0 || lk.Length() > 8 || lk.Length() != rk.Length()) return w->Start(Status::Error("E_BAD_ARG", "hashJoin: 1 to 8 key columns, as many on each side"));
  w->K = lk.Length();
  for (uint32_t i = 0; i < w->K; i++) {
    ColumnPtr a, b;
    if (!ParseColumn(lk.Get(i), &a, &st) || !ParseColumn(rk.Get(i), &b, &st)) return w->Start(st.ok() ? Status::Error("E_BAD_ARG", usage) : st);
    w->L.plan.Add(a);
    w->R.plan.Add(b);
  }
  Napi::Object o = info[2].As<Napi::Object>();
  std::string how = "inner";
  if (!o.Get("how").IsUndefined() && !GetStr(o, "how", &how, &st)) return w->Start(st);
  if (how != "inner" && how != "left") return w->Start(Status::Error("E_BAD_ARG", "hashJoin: how is 'inner' or 'left'"));
  w->leftJoin = how == "left";
  Napi::Value ks = o.Get("keys");
  if (!ks.IsArray() || ks.As<Napi::Array>().Length() != w->K) return w->Start(Status::Error("E_BAD_ARG", "hashJoin: keys must describe each key pair"));
  for (uint32_t i = 0; i < w->K; i++) {
    Napi::Value kv = ks.As<Napi::Array>().Get(i);
    if (!kv.IsObject()) return w->Start(Status::Error("E_BAD_ARG", usage));
    Napi::Object ko = kv.As<Napi::Object>();
    KeySpec k;
    std::string cls;
    if (!GetStr(ko, "cls", &cls, &st)) return w->Start(st);
    if (cls == "int") k.cls = Cls::INT;
    else if (cls == "float") k.cls = Cls::FLOAT;
    else if (cls == "text") k.cls = Cls::TEXT;
    else return w->Start(Status::Error("E_BAD_ARG", "hashJoin: a key's cls is 'int', 'float' or 'text'"));
    if (!ParseInt(ko, "lmul", &k.mul[0], &st) || !ParseInt(ko, "ldiv", &k.div[0], &st) || !ParseInt(ko, "rmul", &k.mul[1], &st) || !ParseInt(ko, "rdiv", &k.div[1], &st)) return w->Start(st);
    w->keys.push_back(k);
  }
  if (!o.Get("maxPairs").IsUndefined() && !GetU64(o, "maxPairs", &w->maxPairs, &st)) return w->Start(st);
  if (info.Length() > 3 && !info[3].IsUndefined() && !info[3].IsNull() && !w->L.plan.AddFilter(info[3], &st)) return w->Start(st);
  if (info.Length() > 4 && !info[4].IsUndefined() && !info[4].IsNull() && !w->R.plan.AddFilter(info[4], &st)) return w->Start(st);
  if (info.Length() > 5) w->SetJob(GetJob(info[5]));
  return w->Start();
}
Export e_join("hashJoin", HashJoin);

// ---------------------------------------------------------------------------------------------
// joinTake(columns[], rowIds: Float64Array, job?): the rows `rowIds` of the columns (any order;
// -1 gives a null row), as takeRows returns them. Numeric and bool columns are gathered in
// parallel blocks; text columns one per thread (their bytes are appended in order).
class JoinTakeWorker : public PromiseWorker {
 public:
  explicit JoinTakeWorker(Napi::Env env) : PromiseWorker(env, "cdx.joinTake") {}
  std::vector<ColumnPtr> cols;
  std::vector<int64_t> ids;
  std::vector<RowsOut> out;
  // number and bool columns are written straight into buffers made on the JS thread before the
  // work was queued (kept alive by these references; nothing else touches them until Result):
  // no buffer of our own to fill, zero and then copy
  std::vector<Napi::Reference<Napi::ArrayBuffer>> jsValues;
  std::vector<Napi::Reference<Napi::Uint8Array>> jsValid;
  std::vector<uint8_t*> dvals, dvalid;
  void SetJob(JobPtr j) { job_ = std::move(j); }
  // JS thread: the direct buffers of column c (numbers: n values of its width; bools: n bytes)
  void MakeDirect(Napi::Env env, size_t c, size_t n) {
    const Column& col = *cols[c];
    const size_t width = col.kind == Kind::NUMERIC ? static_cast<size_t>(DTypeSize(col.dtype)) : 1;
    auto ab = Napi::ArrayBuffer::New(env, n * width);
    auto va = Napi::Uint8Array::New(env, n);
    dvals[c] = static_cast<uint8_t*>(ab.Data());
    dvalid[c] = va.Data();
    jsValues[c] = Napi::Persistent(ab);
    jsValid[c] = Napi::Persistent(va);
  }

 protected:
  void Run() override {
    status_ = PrepareRowColumns(cols);
    if (!status_.ok()) return;
    const uint64_t n = ids.size();
    for (const auto& c : cols)
      for (int64_t id : ids)
        if (id >= 0 && static_cast<uint64_t>(id) >= c->rows) {
          status_ = Status::Error("E_OUT_OF_RANGE", "row " + std::to_string(id) + " is past the end of column " + c->name + " (" + std::to_string(c->rows) + " rows)");
          return;
        }
    job_->total.store(n * cols.size());
    out.resize(cols.size());
    for (size_t c = 0; c < cols.size(); c++)
      if (!dvals[c]) out[c].Init(*cols[c], n);
    // tasks: (column, block of rows) for fixed-width columns, (column, all rows) for text
    constexpr uint64_t kBlock = 1 << 16;
    struct Task { size_t c; uint64_t i0, i1; };
    std::vector<Task> tasks;
    for (size_t c = 0; c < cols.size(); c++) {
      if (cols[c]->IsString()) { tasks.push_back({c, 0, n}); continue; }
      for (uint64_t i = 0; i < n; i += kBlock) tasks.push_back({c, i, std::min(n, i + kBlock)});
    }
    std::stable_partition(tasks.begin(), tasks.end(), [&](const Task& t) { return cols[t.c]->IsString(); });  // long tasks first
    std::atomic<bool> fault{false}, corrupt{false}, tooLarge{false};
    std::vector<uint8_t> anyNull(cols.size(), 0);
    ErrorSlot error;
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t ti = 0; ti < static_cast<int64_t>(tasks.size()); ti++) {
      if (fault.load(std::memory_order_relaxed) || corrupt.load(std::memory_order_relaxed) || Cancelled()) continue;
      const Task& tk = tasks[ti];
      const Column& col = *cols[tk.c];
      RowsOut& o = out[tk.c];
      bool nul = false;
      try {
        const bool ok = GuardedRun([&] {
          View v;
          uint64_t lo = 1, hi = 0;
          // numbers: the type dispatched once, a tight loop rebinding only at a chunk change
          uint8_t* const va = dvalid[tk.c];
          if (col.kind == Kind::NUMERIC) {
            DispatchNumeric(col.dtype, [&](auto tag) {
              using T = decltype(tag);
              T* dst = reinterpret_cast<T*>(dvals[tk.c]);
              for (uint64_t i = tk.i0; i < tk.i1; i++) {
                const int64_t id = ids[i];
                if (id < 0) { va[i] = 0; nul = true; continue; }
                const uint64_t r = static_cast<uint64_t>(id);
                if (r < lo || r >= hi) {
                  v.Bind(col, col.ChunkOf(r));
                  lo = v.rowStart;
                  hi = lo + v.chunk->rows;
                }
                const uint64_t local = r - lo;
                const bool ok = !v.validity || v.Valid(local);
                va[i] = ok;
                nul |= !ok;
                const uint8_t* src = v.data + local * sizeof(T);
                dst[i] = col.swap ? Load<T, true>(src) : Load<T, false>(src);
              }
            });
            return;
          }
          if (col.kind == Kind::BOOL) {
            uint8_t* dst = dvals[tk.c];
            for (uint64_t i = tk.i0; i < tk.i1; i++) {
              const int64_t id = ids[i];
              if (id < 0) { va[i] = 0; nul = true; continue; }
              const uint64_t r = static_cast<uint64_t>(id);
              if (r < lo || r >= hi) {
                v.Bind(col, col.ChunkOf(r));
                lo = v.rowStart;
                hi = lo + v.chunk->rows;
              }
              const uint64_t local = r - lo;
              const bool ok = v.Valid(local);
              va[i] = ok;
              nul |= !ok;
              dst[i] = (v.data[local >> 3] >> (local & 7)) & 1;
            }
            return;
          }
          StringColumnReader dict;
          if (col.kind == Kind::DICT) dict.Bind(*col.dict);
          for (uint64_t i = tk.i0; i < tk.i1; i++) {
            const int64_t id = ids[i];
            if (id < 0) {
              o.valid[i] = 0;
              nul = true;
              if (o.isStr) o.offsets[i + 1] = static_cast<int32_t>(o.values.size());
              continue;
            }
            const uint64_t r = static_cast<uint64_t>(id);
            if (r < lo || r >= hi) {
              v.Bind(col, col.ChunkOf(r));
              lo = v.rowStart;
              hi = lo + v.chunk->rows;
            }
            const uint64_t local = r - lo;
            if (!v.Valid(local)) { o.valid[i] = 0; nul = true; }
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
                if (!o.valid[i]) nul = true;
                if (t == RowsOut::Text::CORRUPT) { corrupt.store(true); return; }
                if (t == RowsOut::Text::TOO_LARGE) { tooLarge.store(true); return; }
              }
            }
          }
        });
        if (!ok) fault.store(true);
      } catch (...) {
        error.Capture("gathering joined rows");
      }
      if (nul) anyNull[tk.c] = 1;  // (a byte per column: any thread writing 1 is enough)
      job_->done.fetch_add(tk.i1 - tk.i0, std::memory_order_relaxed);
    }
    for (size_t c = 0; c < cols.size(); c++) out[c].anyNull = out[c].anyNull || anyNull[c];
    if (error.failed()) { status_ = error.status(); return; }
    if (tooLarge.load()) { status_ = Status::Error("E_TOO_LARGE", "joined rows hold more than 2 GiB of text in one batch"); return; }
    if (Cancelled()) { status_ = Status::Error("E_CANCELLED", "cancelled"); return; }
    status_ = RowsReadStatus(!fault.load(), corrupt.load(), cols, status_);
  }

  Napi::Value Result(Napi::Env env) override {
    // as RowsToJs gives it: { values, offsets? (text), valid? (where a row is null) } per column
    Napi::Array a = Napi::Array::New(env, cols.size());
    for (size_t c = 0; c < cols.size(); c++) {
      Napi::Object e = Napi::Object::New(env);
      if (dvals[c]) {
        e.Set("values", jsValues[c].Value());
        if (out[c].anyNull) e.Set("valid", jsValid[c].Value());
      } else {
        const RowsOut& o = out[c];
        auto vals = Napi::ArrayBuffer::New(env, o.values.size());
        if (!o.values.empty()) std::memcpy(vals.Data(), o.values.data(), o.values.size());
        e.Set("values", vals);
        auto off = Napi::Int32Array::New(env, o.offsets.size());
        if (!o.offsets.empty()) std::memcpy(off.Data(), o.offsets.data(), o.offsets.size() * 4);
        e.Set("offsets", off);
        if (o.anyNull) {
          auto v = Napi::Uint8Array::New(env, o.valid.size());
          std::memcpy(v.Data(), o.valid.data(), o.valid.size());
          e.Set("valid", v);
        }
      }
      a.Set(static_cast<uint32_t>(c), e);
    }
    return a;
  }
};

Napi::Value JoinTake(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* w = new JoinTakeWorker(env);
  Status st;
  if (info.Length() < 2 || !info[0].IsArray() || !info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    return w->Start(Status::Error("E_BAD_ARG", "joinTake(columns, rowIds: Float64Array)"));
  if (!ParseRowColumns(info[0].As<Napi::Array>(), &w->cols, &st)) return w->Start(st);
  if (w->cols.empty()) return w->Start(Status::Error("E_BAD_ARG", "joinTake: no columns"));
  auto ids = info[1].As<Napi::Float64Array>();
  const size_t n = ids.ElementLength();
  if (n > 100000000ULL) return w->Start(Status::Error("E_BAD_ARG", "at most 1e8 row ids"));
  w->ids.resize(n);
  const double* d = ids.Data();
  for (size_t i = 0; i < n; i++) {
    if (!(d[i] >= -1) || d[i] > kMaxSafe || d[i] != std::floor(d[i]))
      return w->Start(Status::Error("E_BAD_ARG", "row ids must be integers, -1 for a null row (id " + std::to_string(i) + " is not)"));
    w->ids[i] = static_cast<int64_t>(d[i]);
  }
  const size_t C = w->cols.size();
  w->jsValues.resize(C);
  w->jsValid.resize(C);
  w->dvals.assign(C, nullptr);
  w->dvalid.assign(C, nullptr);
  for (size_t c = 0; c < C; c++)
    if (w->cols[c]->kind == Kind::NUMERIC || w->cols[c]->kind == Kind::BOOL) w->MakeDirect(env, c, n);
  if (info.Length() > 2) w->SetJob(GetJob(info[2]));
  return w->Start();
}
Export e_joinTake("joinTake", JoinTake);

}  // namespace
}  // namespace cdx
