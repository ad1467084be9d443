// Mergeable sketches used by the summary kernel:
//  - Moments: count / mean / M2 merged with Chan et al.'s parallel formula (numerically stable).
//  - HyperLogLog (p = 16, 65536 registers, std error ~0.4%) with Ertl's improved estimator
//    (no empirical bias tables; unbiased from tiny to huge cardinalities).
//  - QuantileSketch: a KLL-style hierarchy of compactors with equal level capacity k and random
//    compaction offsets; total weight is preserved exactly; rank error std ~ n / (1.4 k)
//    (k = 1024 -> ~0.07% of n), far inside the 1% bound; exact while n <= k. Mergeable level by level.
//    Past ~k * 2^6 items a KLL-style sampler feeds it (adds rank error std <= n / 512, ~0.2%).
//  - IntCounter: exact counts for low-cardinality integers (open addressing; gives up past a limit).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace cdx {

struct Moments {
  double n = 0, mean = 0, m2 = 0;
  void MergeBatch(const double* x, uint32_t cnt) {
    if (!cnt) return;
    double s = 0;
    for (uint32_t i = 0; i < cnt; i++) s += x[i];
    const double mb = s / cnt;
    double m2b = 0;
    for (uint32_t i = 0; i < cnt; i++) { const double d = x[i] - mb; m2b += d * d; }
    Merge(Moments{static_cast<double>(cnt), mb, m2b});
  }
  void Merge(const Moments& o) {
    if (o.n == 0) return;
    if (n == 0) { *this = o; return; }
    const double tot = n + o.n, d = o.mean - mean;
    mean += d * (o.n / tot);
    m2 += o.m2 + d * d * (n * o.n / tot);
    n = tot;
  }
};

struct HLL {
  static constexpr int P = 16;
  static constexpr uint32_t M = 1u << P;
  std::vector<uint8_t> reg = std::vector<uint8_t>(M, 0);
  inline void Add(uint64_t h) {
    const uint32_t idx = static_cast<uint32_t>(h >> (64 - P));
    const uint64_t w = (h << P) | (uint64_t(1) << (P - 1));  // sentinel bounds the rank at 64-P+1
    const uint8_t r = static_cast<uint8_t>(__builtin_clzll(w) + 1);
    // a store only when the register grows: after the first few values per register that is rare
    // (and well predicted), and an unconditional store of every value chains the loads of
    // registers hit again soon after (store forwarding) and costs the cache a write per value
    if (__builtin_expect(r > reg[idx], 0)) reg[idx] = r;
  }
  void Merge(const HLL& o) { for (uint32_t i = 0; i < M; i++) reg[i] = std::max(reg[i], o.reg[i]); }
  double Estimate() const {
    const int q = 64 - P;
    std::vector<double> C(q + 2, 0);
    for (uint8_t r : reg) C[std::min<int>(r, q + 1)] += 1;
    const double m = M;
    auto sigma = [](double x) {
      if (x == 1) return static_cast<double>(INFINITY);
      double y = 1, z = x, zp;
      do { x *= x; zp = z; z += x * y; y += y; } while (z != zp);
      return z;
    };
    auto tau = [](double x) {
      if (x == 0 || x == 1) return 0.0;
      double y = 1, z = 1 - x, zp;
      do { x = std::sqrt(x); zp = z; y *= 0.5; z -= (1 - x) * (1 - x) * y; } while (z != zp);
      return z / 3;
    };
    double z = m * tau(1 - C[q + 1] / m);
    for (int k = q; k >= 1; k--) z = 0.5 * (z + C[k]);
    z += m * sigma(C[0] / m);
    if (!std::isfinite(z)) return 0;
    return (m / (2 * std::log(2.0))) * m / z;
  }
};

class QuantileSketch {
 public:
  explicit QuantileSketch(uint32_t k = 1024, uint64_t seed = 0x5eed) : k_(k), rng_(seed | 1) { levels_.resize(1); levels_[0].reserve(k); }
  // Items arrive through a sampler once the sketch is deep (KLL's own trick for its lowest
  // levels): with shift s, one uniformly chosen item of every block of 2^s enters level s with
  // weight 2^s. s = max(0, levels - kFullLevels), so at most ~k * 2^kFullLevels items are ever
  // sorted; the sampler adds rank error std <= n / (2 sqrt(k 2^kFullLevels)) (~0.1% of n).
  inline void Add(double v) {
    if (shift_ == 0) {
      levels_[0].push_back(v);
      if (levels_[0].size() >= k_) Compress();
      return;
    }
    chosen_ = blockPos_ == pick_ ? v : chosen_;
    if (++blockPos_ == (uint64_t(1) << shift_)) {
      levels_[shift_].push_back(chosen_);
      blockPos_ = 0;
      pick_ = NextRand() & ((uint64_t(1) << shift_) - 1);
      if (levels_[shift_].size() >= k_) Compress();
    }
  }
  // Same as Add() for each value, but O(n / 2^shift) once the sampler is on.
  void AddBatch(const double* x, uint32_t n) {
    uint32_t i = 0;
    while (i < n) {
      if (shift_ == 0) {
        Add(x[i++]);
        continue;
      }
      const uint64_t bs = uint64_t(1) << shift_;
      const uint64_t take = std::min<uint64_t>(bs - blockPos_, n - i);
      if (pick_ >= blockPos_ && pick_ < blockPos_ + take) chosen_ = x[i + (pick_ - blockPos_)];
      blockPos_ += take;
      i += static_cast<uint32_t>(take);
      if (blockPos_ == bs) {
        levels_[shift_].push_back(chosen_);
        blockPos_ = 0;
        pick_ = NextRand() & (bs - 1);
        if (levels_[shift_].size() >= k_) Compress();
      }
    }
  }
  void Merge(const QuantileSketch& o) {
    // a partially filled sampler block is dropped (< 2^shift items of weight 1 each: negligible
    // against the stated error and keeps the total weight a sum of whole items)
    if (o.levels_.size() > levels_.size()) levels_.resize(o.levels_.size());
    for (size_t h = 0; h < o.levels_.size(); h++) levels_[h].insert(levels_[h].end(), o.levels_[h].begin(), o.levels_[h].end());
    Compress();
  }
  // Weighted items sorted by value, for quantile queries.
  void Sorted(std::vector<std::pair<double, double>>* out, double* total) const {
    out->clear();
    double w = 1, tot = 0;
    for (const auto& lv : levels_) {
      for (double v : lv) out->emplace_back(v, w);
      tot += w * lv.size();
      w *= 2;
    }
    std::sort(out->begin(), out->end());
    *total = tot;
  }
  // Value at rank q*n (smallest item whose cumulative weight reaches q*n).
  static double Query(const std::vector<std::pair<double, double>>& s, double total, double q) {
    if (s.empty()) return NAN;
    const double target = q * total;
    double cum = 0;
    for (const auto& [v, w] : s) {
      cum += w;
      if (cum >= target) return v;
    }
    return s.back().first;
  }

 private:
  static constexpr int kFullLevels = 6;
  uint64_t NextRand() { rng_ ^= rng_ << 13; rng_ ^= rng_ >> 7; rng_ ^= rng_ << 17; return rng_; }
  void Compress() {
    for (size_t h = 0; h < levels_.size(); h++) {
      if (levels_[h].size() < k_) continue;
      if (h + 1 == levels_.size()) levels_.emplace_back();  // before taking references: may reallocate
      auto& lv = levels_[h];
      std::sort(lv.begin(), lv.end());
      const size_t even = lv.size() & ~size_t(1);
      rng_ ^= rng_ << 13; rng_ ^= rng_ >> 7; rng_ ^= rng_ << 17;
      const size_t off = rng_ & 1;
      auto& up = levels_[h + 1];
      for (size_t i = off; i < even; i += 2) up.push_back(lv[i]);
      const bool odd = lv.size() & 1;
      const double last = odd ? lv.back() : 0;
      lv.clear();
      if (odd) lv.push_back(last);
    }
    const int want = std::max<int>(0, static_cast<int>(levels_.size()) - kFullLevels);
    if (want > shift_) {
      shift_ = want;
      if (static_cast<size_t>(shift_) >= levels_.size()) levels_.resize(shift_ + 1);
      blockPos_ = 0;
      pick_ = NextRand() & ((uint64_t(1) << shift_) - 1);
    }
  }
  int shift_ = 0;
  uint64_t blockPos_ = 0, pick_ = 0;
  double chosen_ = 0;
  uint32_t k_;
  uint64_t rng_;
  std::vector<std::vector<double>> levels_;
};

class IntCounter {
 public:
  // exact up to `limit` distinct keys; the table starts small and doubles as keys arrive, so a
  // high limit costs nothing for columns that never reach it
  explicit IntCounter(uint32_t limit = 1000) : limit_(limit) {
    uint32_t cap = 16;
    while (cap < 1024 && cap < limit * 2 + 2) cap <<= 1;
    keys_.assign(cap, 0); counts_.assign(cap, 0); mask_ = cap - 1;
  }
  bool overflow() const { return overflow_; }
  uint32_t size() const { return size_; }
  inline void Add(int64_t key, uint64_t c = 1) {
    if (overflow_) return;
    uint64_t h = static_cast<uint64_t>(key) * 0x9e3779b97f4a7c15ULL;
    uint32_t i = static_cast<uint32_t>(h >> 40) & mask_;
    for (;;) {
      if (counts_[i] == 0) {
        if (size_ >= limit_) { GiveUp(); return; }
        if ((size_ + 1) * 2 > mask_ + 1) { Grow(); Add(key, c); return; }
        keys_[i] = key; counts_[i] = c; size_++;
        return;
      }
      if (keys_[i] == key) { counts_[i] += c; return; }
      i = (i + 1) & mask_;
    }
  }
  void Merge(const IntCounter& o) {
    if (o.overflow_) GiveUp();
    for (size_t i = 0; i < o.keys_.size() && !overflow_; i++) if (o.counts_[i]) Add(o.keys_[i], o.counts_[i]);
  }
  template <class F> void ForEach(F&& f) const { for (size_t i = 0; i < keys_.size(); i++) if (counts_[i]) f(keys_[i], counts_[i]); }

 private:
  // past the limit the counts are of no use: their memory goes back (up to 2 MB a column and thread)
  void GiveUp() {
    overflow_ = true;
    std::vector<int64_t>().swap(keys_);
    std::vector<uint64_t>().swap(counts_);
  }
  void Grow() {
    std::vector<int64_t> k(std::move(keys_));
    std::vector<uint64_t> c(std::move(counts_));
    const size_t cap = k.size() * 2;
    keys_.assign(cap, 0); counts_.assign(cap, 0); mask_ = static_cast<uint32_t>(cap - 1); size_ = 0;
    for (size_t j = 0; j < k.size(); j++) if (c[j]) Add(k[j], c[j]);
  }
  uint32_t limit_, mask_ = 0, size_ = 0;
  bool overflow_ = false;
  std::vector<int64_t> keys_;
  std::vector<uint64_t> counts_;
};

}  // namespace cdx
