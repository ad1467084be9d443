// Row windows: rows [offset, offset + n) of chosen columns, decoded to host byte order, in time
// proportional to n whatever the offset (binary search for the first chunk). native/index.ts
// assembles the pieces into an Arrow record batch with apache-arrow.
#include <algorithm>

#include "plan.h"

namespace cdx {
namespace {

struct OutCol {
  std::vector<uint8_t> values;   // numeric: n * width host-endian; bool: n bytes 0/1; strings: utf8 bytes
  std::vector<int32_t> offsets;  // strings: n + 1
  std::vector<uint8_t> valid;    // n bytes 0/1
  bool anyNull = false;
  bool isStr = false;
};

class RowsWorker : public PromiseWorker {
 public:
  explicit RowsWorker(Napi::Env env) : PromiseWorker(env, "cdx.readRows") {}
  std::vector<ColumnPtr> cols;
  uint64_t offset = 0, count = 0;
  std::vector<OutCol> out;
  void SetJob(JobPtr j) { job_ = std::move(j); }

 protected:
  void Run() override {
    for (size_t i = 0; i < cols.size(); i++) {
      for (size_t j = 0; j < i && !cols[i]->file.file; j++)
        if (cols[j]->file.file && cols[j]->file.path == cols[i]->file.path) cols[i]->file.file = cols[j]->file.file;
      status_ = cols[i]->Validate();
      if (!status_.ok()) return;
    }
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
        OutCol& o = out[c];
        o.valid.assign(count, 1);
        o.isStr = col.IsString();
        const int w = col.kind == Kind::NUMERIC ? DTypeSize(col.dtype) : 1;
        if (!o.isStr) o.values.assign(count * w, 0);
        else o.offsets.assign(count + 1, 0);
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
              const uint8_t* p = nullptr; uint64_t len = 0;
              if (o.valid[done + i]) {
                if (col.kind == Kind::DICT) {
                  int64_t di = DictIndex(v, local + i);
                  if (di < 0 || !dict.Get(static_cast<uint64_t>(di), &p, &len)) { corrupt = true; return; }
                  if (!p) { o.valid[done + i] = 0; o.anyNull = true; }
                } else if (!StringAt(v, local + i, &p, &len)) {
                  corrupt = true;
                  return;
                }
              }
              if (p) o.values.insert(o.values.end(), p, p + len);
              if (o.values.size() > 0x7fffffffULL) { status_ = Status::Error("E_TOO_LARGE", "row window holds more than 2 GiB of text"); return; }
              o.offsets[done + i + 1] = static_cast<int32_t>(o.values.size());
            }
          }
          done += take;
          r += take;
        }
      }
    });
    if (!ok) status_ = Status::Error("E_TRUNCATED", cols[0]->file.path + " was truncated while being read");
    else if (corrupt) status_ = Status::Error("E_CORRUPT", "corrupt string offsets or dictionary indices in " + cols[0]->file.path);
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Array a = Napi::Array::New(env, out.size());
    for (size_t c = 0; c < out.size(); c++) {
      OutCol& o = out[c];
      Napi::Object e = Napi::Object::New(env);
      auto vals = Napi::ArrayBuffer::New(env, o.values.size());
      if (!o.values.empty()) std::memcpy(vals.Data(), o.values.data(), o.values.size());
      e.Set("values", vals);
      if (o.isStr) {
        auto off = Napi::Int32Array::New(env, o.offsets.size());
        std::memcpy(off.Data(), o.offsets.data(), o.offsets.size() * 4);
        e.Set("offsets", off);
      }
      if (o.anyNull) {
        auto v = Napi::Uint8Array::New(env, o.valid.size());
        std::memcpy(v.Data(), o.valid.data(), o.valid.size());
        e.Set("valid", v);
      }
      a.Set(static_cast<uint32_t>(c), e);
    }
    return a;
  }
};

// readRows(columns[], offset, count, job?)
Napi::Value ReadRows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* w = new RowsWorker(env);
  Status st;
  if (info.Length() < 3 || !info[0].IsArray()) return w->Start(Status::Error("E_BAD_ARG", "readRows(columns, offset, count)"));
  Napi::Array a = info[0].As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) {
    ColumnPtr c;
    if (!ParseColumn(a.Get(i), &c, &st)) return w->Start(st);
    w->cols.push_back(c);
  }
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
