// Row windows: rows [offset, offset + n) of chosen columns, decoded to host byte order, in time
// proportional to n whatever the offset (binary search for the first chunk). native/index.ts
// assembles the pieces into an Arrow record batch with apache-arrow.
#include <algorithm>

#include "rows.h"

namespace cdx {
namespace {

class RowsWorker : public PromiseWorker {
 public:
  explicit RowsWorker(Napi::Env env) : PromiseWorker(env, "cdx.readRows") {}
  std::vector<ColumnPtr> cols;
  uint64_t offset = 0, count = 0;
  std::vector<RowsOut> out;
  void SetJob(JobPtr j) { job_ = std::move(j); }

 protected:
  void Run() override {
    status_ = PrepareRowColumns(cols);
    if (!status_.ok()) return;
    out.resize(cols.size());
    bool corrupt = false;
    bool ok = GuardedRun([&] {
      for (size_t c = 0; c < cols.size(); c++) {
        const Column& col = *cols[c];
        if (offset > col.rows || count > col.rows - offset) {
          status_ = Status::Error("E_OUT_OF_RANGE", "rows [" + std::to_string(offset) + ", " + std::to_string(offset + count) +
                                                        ") past the end of column " + col.name + " (" + std::to_string(col.rows) + " rows)");
          return;
        }
        RowsOut& o = out[c];
        o.Init(col, count);
        StringColumnReader dict;
        if (col.kind == Kind::DICT) dict.Bind(*col.dict);
        uint64_t r = offset, done = 0;
        while (done < count) {
          size_t k = col.ChunkOf(r);
          View v;
          v.Bind(col, k);
          const uint64_t local = r - v.rowStart;
          const uint64_t take = std::min(count - done, v.chunk->rows - local);
          if (take == 0) break;
          for (uint64_t i = 0; i < take; i++) {
            if (!v.Valid(local + i)) { o.valid[done + i] = 0; o.anyNull = true; }
          }
          if (col.kind == Kind::NUMERIC) {
            DispatchNumeric(col.dtype, [&](auto tag) {
              using T = decltype(tag);
              T* dst = reinterpret_cast<T*>(o.values.data()) + done;
              const uint8_t* src = v.data + local * sizeof(T);
              if (col.swap) for (uint64_t i = 0; i < take; i++) dst[i] = Load<T, true>(src + i * sizeof(T));
              else std::memcpy(dst, src, take * sizeof(T));
            });
          } else if (col.kind == Kind::BOOL) {
            for (uint64_t i = 0; i < take; i++) {
              const uint64_t b = local + i;
              o.values[done + i] = (v.data[b >> 3] >> (b & 7)) & 1;
            }
          } else {
            for (uint64_t i = 0; i < take; i++) {
              const RowsOut::Text t = o.AppendText(col, v, local + i, dict, done + i);
              if (t == RowsOut::Text::CORRUPT) { corrupt = true; return; }
              if (t == RowsOut::Text::TOO_LARGE) { status_ = Status::Error("E_TOO_LARGE", "row window holds more than 2 GiB of text"); return; }
            }
          }
          done += take;
          r += take;
        }
      }
    });
    status_ = RowsReadStatus(ok, corrupt, cols, status_);
  }

  Napi::Value Result(Napi::Env env) override { return RowsToJs(env, out); }
};

// readRows(columns[], offset, count, job?)
Napi::Value ReadRows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* w = new RowsWorker(env);
  Status st;
  if (info.Length() < 3 || !info[0].IsArray()) return w->Start(Status::Error("E_BAD_ARG", "readRows(columns, offset, count)"));
  Napi::Array a = info[0].As<Napi::Array>();
  if (!ParseRowColumns(a, &w->cols, &st)) return w->Start(st);
  if (!info[1].IsNumber() || !info[2].IsNumber()) return w->Start(Status::Error("E_BAD_ARG", "offset and count must be numbers"));
  const double off = info[1].As<Napi::Number>().DoubleValue(), cnt = info[2].As<Napi::Number>().DoubleValue();
  if (!(off >= 0) || !(cnt >= 0) || off > 9007199254740992.0 || cnt > 1e9 || off != std::floor(off) || cnt != std::floor(cnt))
    return w->Start(Status::Error("E_BAD_ARG", "offset and count must be non-negative integers"));
  w->offset = static_cast<uint64_t>(off);
  w->count = static_cast<uint64_t>(cnt);
  if (info.Length() > 3) w->SetJob(GetJob(info[3]));
  return w->Start();
}
Export e_rows("readRows", ReadRows);

}  // namespace
}  // namespace cdx
