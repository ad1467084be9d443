// Zone maps: per block of rows of one column, the min and max of its values (infinities included,
// NaN excluded), the min and max of its finite values, its null count and its NaN count, in one parallel pass at read bandwidth. Zones
// never cross a chunk (Arrow record batch): a chunk of r rows gives ceil(r / zoneRows) zones that
// start at the chunk's first row and every zoneRows rows after it, so that columns of the same
// batches have the same zones. The engine keeps them beside the cache (main/engine/zones.ts): the
// data range of a column without a pass, and the row blocks a zoomed view can skip.
//
//   zoneMaps(column, { zoneRows }, job?) -> Promise<{ start, rows, min, max, finiteMin, finiteMax, nulls, nans }>
//   (Float64Arrays, one entry per zone; min = +Inf, max = -Inf for a zone without a number)
#include <cmath>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "plan.h"

namespace cdx {
namespace {

class ZoneMapsWorker : public PromiseWorker {
 public:
  explicit ZoneMapsWorker(Napi::Env env) : PromiseWorker(env, "cdx.zoneMaps") {}
  Plan plan;
  uint64_t zoneRows = 65536;
  void SetJob(JobPtr j) { job_ = std::move(j); }
  std::vector<double> start, rows, mn, mx, fmn, fmx, nulls, nans;

 protected:
  void Run() override {
    status_ = plan.Prepare(zoneRows);
    if (!status_.ok()) return;
    const Column& c = *plan.cols[0];
    if (c.kind != Kind::NUMERIC) {
      status_ = Status::Error("E_BAD_TYPE", "zone maps need a numeric column (" + c.name + ")");
      return;
    }
    job_->total.store(plan.rows);
    if (c.file.file && c.rows > (64ULL << 20)) c.file.file->AdviseSequential(0, c.file.file->size());
    const size_t Z = plan.segs.size();
    start.assign(Z, 0); rows.assign(Z, 0); mn.assign(Z, INFINITY); mx.assign(Z, -INFINITY); fmn.assign(Z, INFINITY); fmx.assign(Z, -INFINITY); nulls.assign(Z, 0); nans.assign(Z, 0);
    const Segment* base = plan.segs.data();
    const bool isFloat = IsFloat(c.dtype) && c.kind == Kind::NUMERIC;
    status_ = ParallelScan(plan.segs, job_.get(), plan.What(), [&](const Segment& seg, uint64_t r0, uint64_t r1, int) {
      const size_t z = static_cast<size_t>(&seg - base);
      View v;
      plan.Bind(seg, &v);
      double lo = INFINITY, hi = -INFINITY;
      uint64_t nn = 0, nan = 0;
      if (!v.validity && !c.swap && c.kind == Kind::NUMERIC && (c.dtype == DType::F32 || c.dtype == DType::F64)) {
        // the common case, straight over the mapped values (no decode buffer)
        const uint64_t n = r1 - r0, off = r0 - v.rowStart;
        auto scan = [&](auto* p) {
          using T = std::remove_const_t<std::remove_pointer_t<decltype(p)>>;
          T a = std::numeric_limits<T>::infinity(), b = -std::numeric_limits<T>::infinity();
          uint64_t k = 0, i = 0;
#if defined(__SSE2__)
          // four (two) lanes of min / max / NaN count: min(x, a) keeps a when x is NaN (a zone has
          // at most 2^30 rows, so a lane's 32-bit count cannot overflow)
          if constexpr (std::is_same_v<T, float>) {
            // two accumulators each: min/max latency is not a chain through every vector
            __m128 va = _mm_set1_ps(a), vb = _mm_set1_ps(b), va2 = va, vb2 = vb;
            __m128i vk = _mm_setzero_si128(), vk2 = vk;
            for (; i + 8 <= n; i += 8) {
              const __m128 x = _mm_loadu_ps(p + i), x2 = _mm_loadu_ps(p + i + 4);
              va = _mm_min_ps(x, va);
              vb = _mm_max_ps(x, vb);
              va2 = _mm_min_ps(x2, va2);
              vb2 = _mm_max_ps(x2, vb2);
              vk = _mm_sub_epi32(vk, _mm_castps_si128(_mm_cmpunord_ps(x, x)));
              vk2 = _mm_sub_epi32(vk2, _mm_castps_si128(_mm_cmpunord_ps(x2, x2)));
            }
            va = _mm_min_ps(va, va2); vb = _mm_max_ps(vb, vb2); vk = _mm_add_epi32(vk, vk2);
            alignas(16) float la[4], lb[4]; alignas(16) uint32_t c4[4];
            _mm_store_ps(la, va); _mm_store_ps(lb, vb); _mm_store_si128(reinterpret_cast<__m128i*>(c4), vk);
            for (int l = 0; l < 4; l++) { a = la[l] < a ? la[l] : a; b = lb[l] > b ? lb[l] : b; }
            k += uint64_t(c4[0]) + c4[1] + c4[2] + c4[3];
          } else {
            __m128d va = _mm_set1_pd(a), vb = _mm_set1_pd(b), va2 = va, vb2 = vb;
            __m128i vk = _mm_setzero_si128(), vk2 = vk;
            for (; i + 4 <= n; i += 4) {
              const __m128d x = _mm_loadu_pd(p + i), x2 = _mm_loadu_pd(p + i + 2);
              va = _mm_min_pd(x, va);
              vb = _mm_max_pd(x, vb);
              va2 = _mm_min_pd(x2, va2);
              vb2 = _mm_max_pd(x2, vb2);
              vk = _mm_sub_epi64(vk, _mm_castpd_si128(_mm_cmpunord_pd(x, x)));
              vk2 = _mm_sub_epi64(vk2, _mm_castpd_si128(_mm_cmpunord_pd(x2, x2)));
            }
            va = _mm_min_pd(va, va2); vb = _mm_max_pd(vb, vb2); vk = _mm_add_epi64(vk, vk2);
            alignas(16) double la[2], lb[2]; alignas(16) uint64_t c2[2];
            _mm_store_pd(la, va); _mm_store_pd(lb, vb); _mm_store_si128(reinterpret_cast<__m128i*>(c2), vk);
            for (int l = 0; l < 2; l++) { a = la[l] < a ? la[l] : a; b = lb[l] > b ? lb[l] : b; }
            k += c2[0] + c2[1];
          }
#endif
          for (; i < n; i++) {
            const T x = p[i];
            k += x != x;
            a = x < a ? x : a;  // NaN compares false: never taken
            b = x > b ? x : b;
          }
          lo = a; hi = b; nan = k;
        };
        if (c.dtype == DType::F32) scan(reinterpret_cast<const float*>(v.data) + off);
        else scan(reinterpret_cast<const double*>(v.data) + off);
      } else {
        double xs[kBatch];
        uint8_t valid[kBatch];
        for (uint64_t r = r0; r < r1; r += kBatch) {
          const uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(kBatch, r1 - r));
          const uint64_t local = r - v.rowStart;
          DecodeF64(v, local, n, xs);
          const bool hasNulls = ValidityBytes(v, local, n, valid);
          for (uint32_t i = 0; i < n; i++) {
            if (hasNulls && !valid[i]) { nn++; continue; }
            const double x = xs[i];
            if (isFloat && x != x) { nan++; continue; }
            lo = x < lo ? x : lo;
            hi = x > hi ? x : hi;
          }
        }
      }
      // the finite extremes: the same unless an infinity was seen (rare: then a second look at the zone)
      double flo = lo, fhi = hi;
      if (lo <= hi && !(std::isfinite(lo) && std::isfinite(hi))) {
        flo = INFINITY; fhi = -INFINITY;
        double xs[kBatch];
        uint8_t valid[kBatch];
        for (uint64_t r = r0; r < r1; r += kBatch) {
          const uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(kBatch, r1 - r));
          const uint64_t local = r - v.rowStart;
          DecodeF64(v, local, n, xs);
          const bool hasNulls = ValidityBytes(v, local, n, valid);
          for (uint32_t i = 0; i < n; i++) {
            const double x = xs[i];
            if ((hasNulls && !valid[i]) || !std::isfinite(x)) continue;
            flo = x < flo ? x : flo;
            fhi = x > fhi ? x : fhi;
          }
        }
      }
      start[z] = static_cast<double>(r0);
      rows[z] = static_cast<double>(r1 - r0);
      fmn[z] = flo; fmx[z] = fhi;
      mn[z] = lo; mx[z] = hi; nulls[z] = static_cast<double>(nn); nans[z] = static_cast<double>(nan);
    });
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    auto put = [&](const char* name, const std::vector<double>& a) {
      auto t = Napi::Float64Array::New(env, a.size());
      if (!a.empty()) std::memcpy(t.Data(), a.data(), a.size() * 8);
      o.Set(name, t);
    };
    put("start", start); put("rows", rows); put("min", mn); put("max", mx); put("finiteMin", fmn); put("finiteMax", fmx); put("nulls", nulls); put("nans", nans);
    return o;
  }
};

Napi::Value ZoneMaps(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* w = new ZoneMapsWorker(env);
  Status st;
  if (info.Length() < 2 || !info[1].IsObject()) return w->Start(Status::Error("E_BAD_ARG", "zoneMaps(column, { zoneRows })"));
  ColumnPtr c;
  if (!ParseColumn(info[0], &c, &st)) return w->Start(st);
  w->plan.Add(c);
  uint64_t z = 0;
  if (!GetU64(info[1].As<Napi::Object>(), "zoneRows", &z, &st)) return w->Start(st);
  if (z < 1024 || z > (1ULL << 30)) return w->Start(Status::Error("E_BAD_ARG", "zoneRows must be 1024..2^30"));
  w->zoneRows = z;
  if (info.Length() > 2) w->SetJob(GetJob(info[2]));
  return w->Start();
}
Export e_zones("zoneMaps", ZoneMaps);

}  // namespace
}  // namespace cdx
