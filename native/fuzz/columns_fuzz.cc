// libFuzzer harness: the column descriptor validation (src/columns.cc Column::SetChunks and
// Validate), i.e. what the addon checks when TypeScript hands it a column descriptor — kind,
// dtype, byte order, and per chunk the offsets and lengths of the data, validity bitmap and string
// offsets — against the file it names. Built without Node under AddressSanitizer and
// UndefinedBehaviorSanitizer (build.sh).
//
// Input: [0] kind (numeric, bool, utf8, large_utf8, dict) and byte order, [1] dtype, [2] chunks
// of the column (1..4) and of a dict's dictionary (1..2), then 8 chunk fields of 4 bytes each per
// chunk (an int32, with a few codes at its top for 2^53, 2^50 + 1, 0.5 and NaN), then the file.
//
// The file is a heap block of its exact size handed over as a borrowed MappedFile (no mapping,
// which would round up to a page and hide small overreads). A descriptor that Validate() accepts
// is then read the way the kernels read it — every row's validity, value, string bytes and
// dictionary entry, and the segments of a scan — so a buffer Validate() let through that lies
// outside the file is an AddressSanitizer report.
#include <cmath>
#include <cstdlib>
#include <limits>
#include <vector>

#include "columns.h"

using namespace cdx;

namespace {

struct Reader {
  const uint8_t* p;
  size_t n;
  bool Take(size_t k, const uint8_t** out) {
    if (n < k) return false;
    *out = p;
    p += k;
    n -= k;
    return true;
  }
};

double Field(const uint8_t* b) {
  uint32_t u;
  std::memcpy(&u, b, 4);
  switch (u) {
    case 0x7fffffffu: return 9007199254740992.0;     // 2^53, the largest accepted
    case 0x7ffffffeu: return 1125899906842625.0;     // 2^50 + 1 rows: implausible
    case 0x7ffffffdu: return 0.5;                    // not an integer
    case 0x7ffffffcu: return std::numeric_limits<double>::quiet_NaN();
    default: return static_cast<double>(static_cast<int32_t>(u));
  }
}

bool ReadChunks(Reader& r, size_t n, std::vector<double>* out) {
  out->clear();
  for (size_t i = 0; i < n * 8; i++) {
    const uint8_t* b;
    if (!r.Take(4, &b)) return false;
    out->push_back(Field(b));
  }
  return true;
}

volatile uint64_t g_sink;

// Every row of every chunk, as the kernels read them.
void ReadAll(const Column& c) {
  uint64_t acc = 0;
  std::vector<uint8_t> valid(4096);
  std::vector<double> f64(4096);
  std::vector<int64_t> i64(4096);
  std::vector<long double> ld(4096);
  StringColumnReader dict;
  if (c.dict) dict.Bind(*c.dict);
  for (size_t k = 0; k < c.chunks.size(); k++) {
    View v;
    v.Bind(c, k);
    const uint64_t rows = c.chunks[k].rows;
    for (uint64_t r0 = 0; r0 < rows; r0 += 4096) {
      const uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(4096, rows - r0));
      if (ValidityBytes(v, r0, n, valid.data()))
        for (uint32_t i = 0; i < n; i++) acc += valid[i];
      for (uint32_t i = 0; i < n; i++) acc += v.Valid(r0 + i);
      switch (c.kind) {
        case Kind::NUMERIC:
        case Kind::BOOL:
          DecodeF64(v, r0, n, f64.data());
          DecodeI64(v, r0, n, i64.data());
          DecodeLD(v, r0, n, ld.data());
          for (uint32_t i = 0; i < n; i++) acc += static_cast<uint64_t>(i64[i]) + (f64[i] == f64[i]) + (ld[i] == ld[i]);
          break;
        case Kind::UTF8:
        case Kind::LARGE_UTF8:
          for (uint32_t i = 0; i < n; i++) {
            const uint8_t* p;
            uint64_t len;
            if (StringAt(v, r0 + i, &p, &len)) acc += HashBytes(p, len);
          }
          break;
        case Kind::DICT:
          DecodeI64(v, r0, n, i64.data());
          for (uint32_t i = 0; i < n; i++) {
            const int64_t d = DictIndex(v, r0 + i);
            const uint8_t* p;
            uint64_t len;
            if (d >= 0 && dict.Get(static_cast<uint64_t>(d), &p, &len) && p) acc += HashBytes(p, len);
          }
          break;
      }
    }
  }
  for (const Segment& s : MakeSegments({&c}, c.rows, 7)) acc += s.r1 - s.r0 + s.chunkIdx[0];
  g_sink = acc;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Reader r{data, size};
  const uint8_t* h;
  if (!r.Take(3, &h)) return 0;
  static const Kind kKinds[] = {Kind::NUMERIC, Kind::BOOL, Kind::UTF8, Kind::LARGE_UTF8, Kind::DICT};
  auto c = std::make_shared<Column>();
  c->name = "c";
  c->kind = kKinds[(h[0] & 7) % 5];
  c->swap = (h[0] >> 3) & 1;
  c->dtype = static_cast<DType>(h[1] % 10);  // int8..float64
  if (c->kind == Kind::BOOL) c->dtype = DType::BOOL;
  if (c->kind == Kind::UTF8 || c->kind == Kind::LARGE_UTF8) c->dtype = DType::INVALID;
  if (c->kind == Kind::DICT && IsFloat(c->dtype)) c->dtype = DType::I32;  // ParseColumn refuses float indices
  std::vector<double> f;
  if (!ReadChunks(r, 1 + (h[2] & 3), &f)) return 0;
  if (!c->SetChunks(f.data(), f.size() / 8).ok()) return 0;
  if (c->kind == Kind::DICT) {
    auto d = std::make_shared<Column>();
    d->name = "dict";
    d->kind = (h[0] >> 4) & 1 ? Kind::LARGE_UTF8 : Kind::UTF8;
    d->swap = c->swap;
    if (!ReadChunks(r, 1 + ((h[2] >> 4) & 1), &f)) return 0;
    if (!d->SetChunks(f.data(), f.size() / 8).ok()) return 0;
    c->dict = d;
  }
  // the file: a heap block of exactly its size (reads past it are AddressSanitizer reports)
  std::unique_ptr<uint8_t[]> file(new uint8_t[r.n]);
  if (r.n) std::memcpy(file.get(), r.p, r.n);
  c->file.path = "fuzz.arrow";
  c->file.file = MappedFile::Borrow(r.n ? file.get() : nullptr, r.n, "fuzz.arrow");
  if (c->dict) c->dict->file.path = "fuzz.arrow";  // Validate() shares the handle
  const Status st = c->Validate();
  if (!st.ok()) {
    if (st.code != "E_OUT_OF_RANGE" && st.code != "E_TRUNCATED") std::abort();
    return 0;
  }
  ReadAll(*c);
  return 0;
}
