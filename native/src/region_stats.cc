// regionStats: count / min / max / sum / NaN count of a typed numeric region of a mapped file,
// in parallel over fixed-size chunks (each thread fills its own partial; merged at the end).
#include <cmath>
#include <limits>

#include "common.h"

namespace cdx {
namespace {

struct Partial {
  uint64_t count = 0, nan = 0;
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  double sum = 0;
  void Merge(const Partial& o) {
    count += o.count; nan += o.nan; sum += o.sum;
    if (o.min < min) min = o.min;
    if (o.max > max) max = o.max;
  }
};

template <class T, bool Swap>
void ScanChunk(const uint8_t* p, uint64_t n, Partial* out) {
  Partial r;
  if constexpr (std::is_floating_point_v<T>) {
    double s = 0;
    T mn = std::numeric_limits<T>::infinity(), mx = -std::numeric_limits<T>::infinity();
    uint64_t nan = 0;
    for (uint64_t i = 0; i < n; i++) {
      T v = Load<T, Swap>(p + i * sizeof(T));
      if (v != v) { nan++; continue; }
      s += v;
      mn = v < mn ? v : mn;
      mx = v > mx ? v : mx;
    }
    r.sum = s; r.nan = nan; r.min = mn; r.max = mx;
  } else {
    T mn = std::numeric_limits<T>::max(), mx = std::numeric_limits<T>::lowest();
    double s = 0;
    for (uint64_t i = 0; i < n; i++) {
      T v = Load<T, Swap>(p + i * sizeof(T));
      s += static_cast<double>(v);
      mn = v < mn ? v : mn;
      mx = v > mx ? v : mx;
    }
    r.sum = s;
    if (n) { r.min = static_cast<double>(mn); r.max = static_cast<double>(mx); }
  }
  r.count = n;
  *out = r;
}

class RegionStatsWorker : public PromiseWorker {
 public:
  RegionStatsWorker(Napi::Env env) : PromiseWorker(env, "cdx.regionStats") {}
  FileRef file;
  uint64_t offset = 0, count = 0;
  DType dtype = DType::INVALID;
  bool littleEndian = true;
  Partial result;

  void SetJob(JobPtr j) { job_ = std::move(j); }

 protected:
  void Run() override {
    status_ = file.Resolve();
    if (!status_.ok()) return;
    const MappedFile& f = *file.file;
    const int w = DTypeSize(dtype);
    if (count > std::numeric_limits<uint64_t>::max() / w) {
      status_ = Status::Error("E_OUT_OF_RANGE", "region too large for " + f.path());
      return;
    }
    status_ = CheckRange(f, offset, count * w, "region");
    if (!status_.ok()) return;
    job_->total.store(count);
    const bool swap = littleEndian != HostLittleEndian();
    const uint64_t kChunk = (1u << 22) / w;  // 4 MiB of data per chunk
    const uint64_t nchunks = (count + kChunk - 1) / kChunk;
    if (count * w > (64u << 20)) f.AdviseSequential(offset, count * w);
    std::atomic<bool> fault{false};
    std::vector<Partial> parts(MaxThreads());
    const uint8_t* base = f.data() + offset;
    auto* job = job_.get();
#pragma omp parallel
    {
#ifdef _OPENMP
      Partial& mine = parts[omp_get_thread_num()];
#else
      Partial& mine = parts[0];
#endif
#pragma omp for schedule(dynamic, 1)
      for (uint64_t c = 0; c < nchunks; c++) {
        if (fault.load(std::memory_order_relaxed) || job->cancelled.load(std::memory_order_relaxed)) continue;
        const uint64_t i0 = c * kChunk;
        const uint64_t n = std::min(kChunk, count - i0);
        Partial part;
        bool ok = GuardedRun([&] {
          DispatchNumeric(dtype, [&](auto tag) {
            using T = decltype(tag);
            if (swap) ScanChunk<T, true>(base + i0 * w, n, &part);
            else ScanChunk<T, false>(base + i0 * w, n, &part);
          });
        });
        if (!ok) { fault.store(true); continue; }
        mine.Merge(part);
        job->done.fetch_add(n, std::memory_order_relaxed);
      }
    }
    if (fault.load()) {
      status_ = Status::Error("E_TRUNCATED", f.path() + " was truncated while being read");
      return;
    }
    for (auto& p : parts) result.Merge(p);
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("count", Napi::Number::New(env, static_cast<double>(result.count)));
    const bool empty = result.count == result.nan;
    o.Set("min", Napi::Number::New(env, empty ? NAN : result.min));
    o.Set("max", Napi::Number::New(env, empty ? NAN : result.max));
    o.Set("sum", Napi::Number::New(env, result.sum));
    o.Set("nanCount", Napi::Number::New(env, static_cast<double>(result.nan)));
    return o;
  }
};

// regionStats(file: string|handle, { offset, count, dtype, littleEndian }, job?) -> Promise
Napi::Value RegionStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* w = new RegionStatsWorker(env);
  Status st;
  if (info.Length() < 2 || !info[1].IsObject()) {
    st = Status::Error("E_BAD_ARG", "regionStats(file, region)");
    return w->Start(st);
  }
  if (!GetFileRef(info[0], &w->file, &st)) return w->Start(st);
  Napi::Object r = info[1].As<Napi::Object>();
  std::string dt;
  if (!GetU64(r, "offset", &w->offset, &st) || !GetU64(r, "count", &w->count, &st) ||
      !GetStr(r, "dtype", &dt, &st))
    return w->Start(st);
  w->dtype = ParseDType(dt);
  if (DTypeSize(w->dtype) == 0)
    return w->Start(Status::Error("E_BAD_TYPE", "unsupported dtype '" + dt + "' for " + w->file.path));
  GetBool(r, "littleEndian", &w->littleEndian, true);
  if (info.Length() > 2) w->SetJob(GetJob(info[2]));
  return w->Start();
}
Export e_rs("regionStats", RegionStats);

// readBandwidth(file, { offset, length }, job?) -> Promise<{ bytes, checksum }>: the plainest
// parallel read of a mapping (a sum of 64-bit words), the machine's read limit for the kernels.
class BandwidthWorker : public PromiseWorker {
 public:
  explicit BandwidthWorker(Napi::Env env) : PromiseWorker(env, "cdx.readBandwidth") {}
  FileRef file;
  uint64_t offset = 0, length = 0, sum = 0;
  void SetJob(JobPtr j) { job_ = std::move(j); }

 protected:
  void Run() override {
    status_ = file.Resolve();
    if (!status_.ok()) return;
    const MappedFile& f = *file.file;
    status_ = CheckRange(f, offset, length, "range");
    if (!status_.ok()) return;
    const uint64_t words = length / 8, kChunk = 1 << 19;
    const uint64_t nchunks = (words + kChunk - 1) / kChunk;
    const uint8_t* base = f.data() + offset;
    std::atomic<bool> fault{false};
    uint64_t total = 0;
    auto* job = job_.get();
    job->total.store(length);
#pragma omp parallel for schedule(dynamic, 1) reduction(+ : total)
    for (uint64_t c = 0; c < nchunks; c++) {
      if (fault.load(std::memory_order_relaxed) || job->cancelled.load(std::memory_order_relaxed)) continue;
      const uint64_t w0 = c * kChunk, n = std::min(kChunk, words - w0);
      uint64_t s = 0;
      if (!GuardedRun([&] {
            const uint8_t* p = base + w0 * 8;
            uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
            uint64_t i = 0;
            for (; i + 4 <= n; i += 4) {
              a0 += Load<uint64_t, false>(p + i * 8);
              a1 += Load<uint64_t, false>(p + i * 8 + 8);
              a2 += Load<uint64_t, false>(p + i * 8 + 16);
              a3 += Load<uint64_t, false>(p + i * 8 + 24);
            }
            for (; i < n; i++) a0 += Load<uint64_t, false>(p + i * 8);
            s = a0 + a1 + a2 + a3;
          })) {
        fault.store(true);
        continue;
      }
      total += s;
      job->done.fetch_add(n * 8, std::memory_order_relaxed);
    }
    if (fault.load()) status_ = Status::Error("E_TRUNCATED", f.path() + " was truncated while being read");
    sum = total;
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("bytes", static_cast<double>(length / 8 * 8));
    o.Set("checksum", static_cast<double>(sum & ((1ULL << 53) - 1)));
    return o;
  }
};

Napi::Value ReadBandwidth(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* w = new BandwidthWorker(env);
  Status st;
  if (info.Length() < 2 || !info[1].IsObject()) return w->Start(Status::Error("E_BAD_ARG", "readBandwidth(file, range)"));
  if (!GetFileRef(info[0], &w->file, &st)) return w->Start(st);
  Napi::Object r = info[1].As<Napi::Object>();
  if (!GetU64(r, "offset", &w->offset, &st) || !GetU64(r, "length", &w->length, &st)) return w->Start(st);
  if (info.Length() > 2) w->SetJob(GetJob(info[2]));
  return w->Start();
}
Export e_bw("readBandwidth", ReadBandwidth);

}  // namespace
}  // namespace cdx
