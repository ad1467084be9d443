// A spatially ordered copy of two columns (x, y): the rows sorted by the Z-order (Morton) cell of
// (x, y) on a 2^b x 2^b grid over [x0, x1] x [y0, y1], so that consecutive rows lie close together
// in the plane and the zone maps of the copy's row blocks are small rectangles: a view of 1% of
// the extent reads a few percent of the blocks. Rows whose x or y is null or NaN go last (as NaN,
// so the binning still counts them). Counting sort in two passes over the same static split of
// the rows among threads: per-thread cell counts, then each thread scatters its rows to its own
// slots of each cell (stable within a thread's range). Two such sorts, each with few destinations:
// by the coarse cell (a 16 x 16 grid) through per-cell buffers written whole with pwrite (a
// mapping's pages would fault in one by one), then each coarse cell's rows by the rest of the key,
// read back and written again in one piece.
//
//   spatialCopy({ x, y }, { x0, x1, y0, y1, bits, out, float32 }, job?) -> Promise<{ rows, cells, nan }>
//   The output file `out` (created; removed on any failure) holds the x values of all rows, then
//   the y values, each float32 (when `float32`) or float64, little-endian. Space is reserved
//   first (posix_fallocate), so a full disk is an error, not a fault while writing.
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cmath>
#include <cstring>
#include <functional>
#include <fcntl.h>
#include <unistd.h>

#include "plan.h"

namespace cdx {
namespace {

// the bits of v (up to 16) spread to the even bit positions
inline uint32_t Spread(uint32_t v) {
  v &= 0xffff;
  v = (v | (v << 8)) & 0x00ff00ff;
  v = (v | (v << 4)) & 0x0f0f0f0f;
  v = (v | (v << 2)) & 0x33333333;
  v = (v | (v << 1)) & 0x55555555;
  return v;
}

class SpatialCopyWorker : public PromiseWorker {
 public:
  explicit SpatialCopyWorker(Napi::Env env) : PromiseWorker(env, "cdx.spatialCopy") {}
  Plan plan;
  double x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  uint32_t bits = 8;
  bool f32 = false;
  std::string out;
  uint64_t nanRows = 0;
  double sx_ = 1, sy_ = 1, top_ = 0;  // cells per unit, last cell (set by Run)
  void SetJob(JobPtr j) { job_ = std::move(j); }

 protected:
  // Z-order cell of a point, clamped to the grid (±Inf and values outside the range go to the edge
  // cells); the NaN cell 4^bits for a NaN x or y
  inline uint32_t KeyOf(double x, double y) const {
    if ((x != x) | (y != y)) return 1u << (2 * bits);
    double fx = (x - x0) * sx_, fy = (y - y0) * sy_;
    const double top = top_;
    fx = fx < 0 ? 0 : fx > top ? top : fx;
    fy = fy < 0 ? 0 : fy > top ? top : fy;
    return Spread(static_cast<uint32_t>(fx)) | (Spread(static_cast<uint32_t>(fy)) << 1);
  }

  // cell of each row of [r, r + n) (the NaN cell = 4^bits for a null or NaN x or y)
  void Keys(const View* v, uint64_t r, uint32_t n, uint32_t* key, double* xs, double* ys) const {
    uint8_t vx[kBatch], vy[kBatch];
    DecodeF64(v[0], r - v[0].rowStart, n, xs);
    DecodeF64(v[1], r - v[1].rowStart, n, ys);
    const bool nx = ValidityBytes(v[0], r - v[0].rowStart, n, vx);
    const bool ny = ValidityBytes(v[1], r - v[1].rowStart, n, vy);
    const uint32_t nanKey = 1u << (2 * bits);
    for (uint32_t i = 0; i < n; i++) {
      if ((nx && !vx[i]) | (ny && !vy[i])) xs[i] = NAN;
      key[i] = KeyOf(xs[i], ys[i]);
      if (key[i] == nanKey) { xs[i] = NAN; ys[i] = NAN; }  // a row without a point: NaN in both
    }
  }

  // The rows of thread t of T (a static share of the segments, the same in both passes), a batch
  // at a time: body(key, xs, ys, n). Stops early on a fault, a cancel or `stop`.
  template <class Body>
  void ScanShare(int t, int T, std::atomic<bool>& fault, const std::function<bool()>& stop, Body&& body) {
    const size_t S = plan.segs.size(), a = S * t / T, b = S * (t + 1) / T;
    uint32_t key[kBatch];
    double xs[kBatch], ys[kBatch];
    for (size_t s = a; s < b && !fault.load(std::memory_order_relaxed) && !job_->cancelled.load(std::memory_order_relaxed) && !stop(); s++) {
      const Segment& seg = plan.segs[s];
      if (!GuardedRun([&] {
            View v[2];
            plan.Bind(seg, v);
            for (uint64_t r = seg.r0; r < seg.r1; r += kBatch) {
              const uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(kBatch, seg.r1 - r));
              Keys(v, r, n, key, xs, ys);
              body(key, xs, ys, n);
            }
          }))
        fault.store(true);
      job_->done.fetch_add(seg.r1 - seg.r0, std::memory_order_relaxed);
    }
  }

  void Run() override {
    status_ = plan.Prepare(1 << 16);
    if (!status_.ok()) return;
    for (int c = 0; c < 2; c++)
      if (plan.cols[c]->kind != Kind::NUMERIC) {
        status_ = Status::Error("E_BAD_TYPE", "a spatial copy needs numeric columns (" + plan.cols[c]->name + ")");
        return;
      }
    const uint64_t rows = plan.rows;
    job_->total.store(rows * 2);
    const double side = static_cast<double>(1u << bits);
    sx_ = side / (x1 - x0); sy_ = side / (y1 - y0); top_ = side - 1;
    // Two counting sorts, each with few enough destinations to stay in cache: first by the coarse
    // cell (the key's top 2*hb bits: the Z-order cell of a 2^hb grid) into the output, then each
    // coarse cell's rows by the rest of the key, in place through a per-thread buffer.
    const uint32_t hb = std::min<uint32_t>(bits, 4), shift = 2 * (bits - hb);
    const uint32_t K = (1u << (2 * hb)) + 1;  // coarse cells + the NaN cell
    // one core fewer than the kernels use: the copy is built in the background while the user works
    const int T = std::max(1, MaxThreads() - 1);
    std::vector<std::vector<uint64_t>> counts(T);
    std::atomic<bool> fault{false};
    auto* job = job_.get();

    const bool dbg = std::getenv("CDX_SPATIAL_DEBUG") != nullptr;
    auto tick = [t0 = std::chrono::steady_clock::now()]() mutable { auto n = std::chrono::steady_clock::now(); double ms = std::chrono::duration<double, std::milli>(n - t0).count(); t0 = n; return ms; };
    // pass 1: counts per thread and cell
#pragma omp parallel num_threads(T)
    {
#ifdef _OPENMP
      const int t = omp_get_thread_num();
#else
      const int t = 0;
#endif
      std::vector<uint64_t>& cnt = counts[t];
      cnt.assign(K, 0);
      ScanShare(t, T, fault, [] { return false; }, [&](const uint32_t* key, const double*, const double*, uint32_t n) {
        for (uint32_t i = 0; i < n; i++) cnt[key[i] >> shift]++;
      });
    }
    if (fault.load()) { status_ = Status::Error("E_TRUNCATED", plan.What() + " was truncated (or became unreadable) while being read"); return; }
    if (job->cancelled.load()) { status_ = Status::Error("E_CANCELLED", "cancelled"); return; }

    if (dbg) fprintf(stderr, "spatial: count %.0f ms\n", tick());
    // where each thread's rows of each cell go: cells in Z order, threads in row order within a cell
    std::vector<std::vector<uint64_t>> pos(T, std::vector<uint64_t>(K));
    uint64_t at = 0;
    for (uint32_t k = 0; k < K; k++)
      for (int t = 0; t < T; t++) { pos[t][k] = at; at += counts[t][k]; }
    for (int t = 0; t < T; t++) nanRows += counts[t][K - 1];
    std::vector<uint64_t> bucketStart(K + 1);
    for (uint32_t k = 0; k < K; k++) bucketStart[k] = pos[0][k];
    bucketStart[K] = rows;
    std::vector<std::vector<uint64_t>>().swap(counts);

    // the output, its space reserved
    const uint64_t w = f32 ? 4 : 8, bytes = rows * w * 2;
    const int fd = ::open(out.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) { status_ = Status::Error("E_WRITE", out + ": cannot create (" + std::strerror(errno) + ")"); return; }
    auto fail = [&](const std::string& code, const std::string& msg) {
      ::close(fd);
      ::unlink(out.c_str());
      status_ = Status::Error(code, msg);
    };
    if (bytes) {
      const int e = posix_fallocate(fd, 0, static_cast<off_t>(bytes));
      if (e) return fail(e == ENOSPC ? "ENOSPC" : "E_WRITE", out + ": cannot reserve " + std::to_string(bytes) + " bytes (" + std::strerror(e) + ")");
    }
    std::atomic<int> ioErr{0};
    // positional writes and reads of the output (no mapping: its pages would fault in one by one)
    auto io = [&](bool write, void* buf, uint64_t len, uint64_t off) {
      uint8_t* q = static_cast<uint8_t*>(buf);
      while (len) {
        const ssize_t k = write ? ::pwrite(fd, q, len, static_cast<off_t>(off)) : ::pread(fd, q, len, static_cast<off_t>(off));
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) { ioErr.store(k < 0 ? errno : EIO); return; }
        q += k; off += static_cast<uint64_t>(k); len -= static_cast<uint64_t>(k);
      }
    };
    auto writeAt = [&](void* buf, uint64_t len, uint64_t off) { io(true, buf, len, off); };
    auto readAt = [&](void* buf, uint64_t len, uint64_t off) { io(false, buf, len, off); };
    const uint64_t yBase = rows * w;  // byte offset of the y values

    if (dbg) fprintf(stderr, "spatial: reserve %.0f ms\n", tick());
    // pass 2: the same rows per thread, gathered per coarse cell in small buffers written whole
    constexpr uint32_t B = 4096;  // values per buffer
#pragma omp parallel num_threads(T)
    {
#ifdef _OPENMP
      const int t = omp_get_thread_num();
#else
      const int t = 0;
#endif
      std::vector<uint64_t>& p = pos[t];
      std::vector<uint8_t> bx(static_cast<size_t>(K) * B * w), by(static_cast<size_t>(K) * B * w);
      std::vector<uint32_t> fill(K, 0);
      auto flush = [&](uint32_t k) {
        const uint32_t m = fill[k];
        if (!m) return;
        const uint64_t first = p[k] - m;
        writeAt(bx.data() + static_cast<size_t>(k) * B * w, m * w, first * w);
        writeAt(by.data() + static_cast<size_t>(k) * B * w, m * w, yBase + first * w);
        fill[k] = 0;
      };
      ScanShare(t, T, fault, [&] { return ioErr.load(std::memory_order_relaxed) != 0; }, [&](const uint32_t* key, const double* xs, const double* ys, uint32_t n) {
        for (uint32_t i = 0; i < n; i++) {
          const uint32_t k = key[i] >> shift;
          const size_t slot = static_cast<size_t>(k) * B + fill[k];
          if (f32) {
            reinterpret_cast<float*>(bx.data())[slot] = static_cast<float>(xs[i]);
            reinterpret_cast<float*>(by.data())[slot] = static_cast<float>(ys[i]);
          } else {
            reinterpret_cast<double*>(bx.data())[slot] = xs[i];
            reinterpret_cast<double*>(by.data())[slot] = ys[i];
          }
          p[k]++;
          if (++fill[k] == B) flush(k);
        }
      });
      for (uint32_t k = 0; k < K; k++) flush(k);
    }

    if (dbg) fprintf(stderr, "spatial: scatter %.0f ms\n", tick());
    // pass 3: within each coarse cell (not the NaN cell), the rows by the key's low bits
    if (shift && !fault.load() && !ioErr.load() && !job->cancelled.load()) {
      const uint32_t L = 1u << shift, lowMask = L - 1;
#pragma omp parallel num_threads(T)
      {
        std::vector<uint8_t> ix, iy, ox, oy;
        std::vector<uint32_t> keys;
        std::vector<uint64_t> at2(L);
#pragma omp for schedule(dynamic, 1)
        for (int64_t c = 0; c < static_cast<int64_t>(K) - 1; c++) {
          const uint64_t a = bucketStart[c], n = bucketStart[c + 1] - a;
          if (n < 2 || ioErr.load(std::memory_order_relaxed) || job->cancelled.load(std::memory_order_relaxed)) continue;
          ix.resize(n * w); iy.resize(n * w); ox.resize(n * w); oy.resize(n * w); keys.resize(n);
          readAt(ix.data(), n * w, a * w);
          readAt(iy.data(), n * w, yBase + a * w);
          if (ioErr.load()) continue;
          std::fill(at2.begin(), at2.end(), 0);
          auto sortCell = [&](auto* X, auto* Y, auto* OX, auto* OY) {
            for (uint64_t i = 0; i < n; i++) {
              const uint32_t k = KeyOf(static_cast<double>(X[i]), static_cast<double>(Y[i])) & lowMask;
              keys[i] = k;
              at2[k]++;
            }
            uint64_t sum = 0;
            for (uint32_t k = 0; k < L; k++) { const uint64_t m = at2[k]; at2[k] = sum; sum += m; }
            for (uint64_t i = 0; i < n; i++) { const uint64_t d = at2[keys[i]]++; OX[d] = X[i]; OY[d] = Y[i]; }
          };
          if (f32) sortCell(reinterpret_cast<const float*>(ix.data()), reinterpret_cast<const float*>(iy.data()), reinterpret_cast<float*>(ox.data()), reinterpret_cast<float*>(oy.data()));
          else sortCell(reinterpret_cast<const double*>(ix.data()), reinterpret_cast<const double*>(iy.data()), reinterpret_cast<double*>(ox.data()), reinterpret_cast<double*>(oy.data()));
          writeAt(ox.data(), n * w, a * w);
          writeAt(oy.data(), n * w, yBase + a * w);
        }
      }
    }
    if (dbg) fprintf(stderr, "spatial: refine %.0f ms\n", tick());
    if (ioErr.load()) return fail(ioErr.load() == ENOSPC ? "ENOSPC" : "E_WRITE", out + ": " + std::strerror(ioErr.load()));
    if (fault.load()) return fail("E_TRUNCATED", plan.What() + " was truncated (or became unreadable) while being read");
    if (job->cancelled.load()) return fail("E_CANCELLED", "cancelled");
    if (::fsync(fd) != 0) return fail("E_WRITE", out + ": cannot flush (" + std::strerror(errno) + ")");
    if (dbg) fprintf(stderr, "spatial: fsync %.0f ms\n", tick());
    ::close(fd);
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("rows", static_cast<double>(plan.rows));
    o.Set("cells", static_cast<double>(1u << (2 * bits)));
    o.Set("nan", static_cast<double>(nanRows));
    return o;
  }
};

Napi::Value SpatialCopy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* w = new SpatialCopyWorker(env);
  Status st;
  if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsObject()) return w->Start(Status::Error("E_BAD_ARG", "spatialCopy({ x, y }, options)"));
  Napi::Object cols = info[0].As<Napi::Object>(), o = info[1].As<Napi::Object>();
  ColumnPtr x, y;
  if (!ParseColumn(cols.Get("x"), &x, &st) || !ParseColumn(cols.Get("y"), &y, &st)) return w->Start(st);
  w->plan.Add(x);
  w->plan.Add(y);
  uint64_t bits = 0;
  if (!GetF64(o, "x0", &w->x0, &st) || !GetF64(o, "x1", &w->x1, &st) || !GetF64(o, "y0", &w->y0, &st) || !GetF64(o, "y1", &w->y1, &st) ||
      !GetU64(o, "bits", &bits, &st) || !GetStr(o, "out", &w->out, &st))
    return w->Start(st);
  if (!(std::isfinite(w->x0) && std::isfinite(w->x1) && std::isfinite(w->y0) && std::isfinite(w->y1) && w->x1 > w->x0 && w->y1 > w->y0))
    return w->Start(Status::Error("E_BAD_ARG", "spatialCopy: the range must be finite and non-empty"));
  if (!std::isfinite((w->x1 - w->x0)) || !std::isfinite(w->y1 - w->y0))
    return w->Start(Status::Error("E_BAD_ARG", "spatialCopy: the range is too wide for a double"));
  if (bits < 1 || bits > 12) return w->Start(Status::Error("E_BAD_ARG", "spatialCopy: bits must be 1..12"));
  w->bits = static_cast<uint32_t>(bits);
  GetBool(o, "float32", &w->f32, false);
  if (info.Length() > 2) w->SetJob(GetJob(info[2]));
  return w->Start();
}
Export e_spatial("spatialCopy", SpatialCopy);

}  // namespace
}  // namespace cdx
