// Native Parquet encoder: flat columns of Arrow record batches -> a standard Parquet file
// (DataPage v1, PLAIN values, RLE/bit-packed definition levels, zstd or no compression, chunk
// statistics: null count + min/max of numeric columns), written
// by hand-rolled Thrift compact (parquet_thrift.h). native/parquet.ts is its typed wrapper and
// decides the Parquet schema (physical / converted / logical types, the embedded Arrow schema);
// this file only serializes what it is told.
//
// Flow: parquetOpen(path, spec) creates the file (O_EXCL) and returns a handle; each
// parquetWrite(handle, columns, rows, flush, job) is a PromiseWorker that splits the batch into
// pages (~1 MiB of values each, never across a call), encodes + compresses every (column, page)
// in parallel (OpenMP, dynamic schedule: string pages cost more than bool pages), and appends them
// to the row group's per-column buffers (compressed bytes only); `flush` writes the row group's
// column chunks to the file in column order. parquetFinish writes the footer. The JS side pins the
// batch's ArrayBuffers (references held by the worker) and serializes calls: one call at a time
// per writer (E_BUSY otherwise). A cancel or failure marks the writer failed; the caller removes
// the temporary file (convert.ts writes to a temp path and renames on success).
//
// zstd comes from libzstd, linked statically where its static library exists (binding.gyp prefers
// libzstd.a, $ZSTD_ROOT on Windows; the release workflow requires it with CDX_ZSTD_STATIC=1), so a
// packaged app needs no libzstd on the user's machine; otherwise the shared libzstd. Without the
// header (binding.gyp defines CDX_HAVE_ZSTD) this encoder reports zstd as unavailable and the
// writer keeps using parquet-wasm for zstd output.
#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <type_traits>

#include "common.h"
#include "parquet_thrift.h"

#ifdef CDX_HAVE_ZSTD
#include <zstd.h>
#endif

namespace cdx {
namespace {

using pq::ThriftWriter;
using pq::TType;

// Input layouts (Arrow buffers) the encoder reads.
enum class In : uint8_t { I8, I16, I32, I64, U8, U16, U32, U64, F32, F64, BOOL, UTF8, LARGE_UTF8, DATE64 };
// Parquet physical types / codecs (parquet.thrift numbering)
enum Phys : int32_t { P_BOOLEAN = 0, P_INT32 = 1, P_INT64 = 2, P_FLOAT = 4, P_DOUBLE = 5, P_BYTE_ARRAY = 6 };
enum Codec : int32_t { C_NONE = 0, C_ZSTD = 6 };
// the sort order of a column's min/max statistics (see MinMax)
enum class StatKind : uint8_t { NONE, I32, U32, I64, U64, F32, F64 };

constexpr uint64_t kPageBytes = 1 << 20;  // target uncompressed value bytes per page
constexpr uint64_t kPageRowsMax = 1 << 20;

struct ColSpec {
  std::string name;
  In in = In::I32;
  int32_t phys = P_INT32;
  int32_t converted = -1;    // ConvertedType or -1
  std::string logical;       // '', 'string', 'date', 'int', 'timestamp'
  int bitWidth = 0;          // int
  bool isSigned = true;      // int
  std::string unit;          // timestamp: ms | us | ns
  bool utc = false;          // timestamp
  bool nullable = true;
  StatKind stat = StatKind::NONE;
};

// A growable byte buffer that does not zero what it allocates (std::vector's resize memsets, which
// showed up at a few % of the encoder's profile); scratch buffers are reused per thread.
class Bytes {
 public:
  size_t size() const { return n_; }
  uint8_t* data() { return p_.get(); }
  const uint8_t* data() const { return p_.get(); }
  void clear() { n_ = 0; }
  void resize(size_t n) {
    if (n > cap_) Grow(n);
    n_ = n;
  }
  void push_back(uint8_t b) {
    if (n_ == cap_) Grow(n_ + 1);
    p_[n_++] = b;
  }
  void append(const uint8_t* p, size_t n) {
    const size_t at = n_;
    resize(n_ + n);
    if (n) std::memcpy(p_.get() + at, p, n);
  }
  std::unique_ptr<uint8_t[]> release() { n_ = cap_ = 0; return std::move(p_); }

 private:
  void Grow(size_t need) {
    size_t cap = std::max(need, cap_ + cap_ / 2 + 64);
    std::unique_ptr<uint8_t[]> q(new uint8_t[cap]);  // uninitialized
    if (n_) std::memcpy(q.get(), p_.get(), n_);
    p_ = std::move(q);
    cap_ = cap;
  }
  std::unique_ptr<uint8_t[]> p_;
  size_t n_ = 0, cap_ = 0;
};

// One encoded page: its Thrift header and its (compressed) body, kept apart so neither is copied
// again before the row group is written (writev).
struct PageBytes {
  std::vector<uint8_t> header;
  std::unique_ptr<uint8_t[]> body;
  size_t bodyLen = 0;
  size_t size() const { return header.size() + bodyLen; }
};

// min/max statistics, in the column's sort order (TypeDefinedOrder: unsigned for UINT_32/64),
// kept as the PLAIN bytes of the physical type. Floats: NaN is skipped, and a zero bound is
// written as -0.0 (min) / +0.0 (max), as the Parquet spec asks. Strings and bools: none.
struct MinMax {
  bool has = false;
  uint8_t min[8] = {0}, max[8] = {0};
};

template <class T>
void MergeMinMax(MinMax& into, const MinMax& from) {
  if (!from.has) return;
  T a, b;
  if (!into.has) { into = from; return; }
  std::memcpy(&a, into.min, sizeof(T)); std::memcpy(&b, from.min, sizeof(T));
  if (b < a) std::memcpy(into.min, from.min, sizeof(T));
  std::memcpy(&a, into.max, sizeof(T)); std::memcpy(&b, from.max, sizeof(T));
  if (b > a) std::memcpy(into.max, from.max, sizeof(T));
  if constexpr (std::is_floating_point_v<T>) {
    T lo, hi;
    std::memcpy(&lo, into.min, sizeof(T)); std::memcpy(&hi, into.max, sizeof(T));
    if (lo == 0) { lo = -T(0); std::memcpy(into.min, &lo, sizeof(T)); }
    if (hi == 0) { hi = T(0); std::memcpy(into.max, &hi, sizeof(T)); }
  }
}
void Merge(StatKind k, MinMax& into, const MinMax& from) {
  switch (k) {
    case StatKind::I32: MergeMinMax<int32_t>(into, from); break;
    case StatKind::U32: MergeMinMax<uint32_t>(into, from); break;
    case StatKind::I64: MergeMinMax<int64_t>(into, from); break;
    case StatKind::U64: MergeMinMax<uint64_t>(into, from); break;
    case StatKind::F32: MergeMinMax<float>(into, from); break;
    case StatKind::F64: MergeMinMax<double>(into, from); break;
    default: break;
  }
}
// min/max of `n` PLAIN values of type T at p (host little-endian assumed for the stats pass)
template <class T>
MinMax PageMinMax(const uint8_t* p, uint64_t n) {
  MinMax m;
  T lo{}, hi{};
  uint64_t i = 0;
  for (; i < n; i++) {
    T v; std::memcpy(&v, p + i * sizeof(T), sizeof(T));
    if constexpr (std::is_floating_point_v<T>) { if (v != v) continue; }
    lo = hi = v; m.has = true; i++;
    break;
  }
  for (; i < n; i++) {
    T v; std::memcpy(&v, p + i * sizeof(T), sizeof(T));
    if constexpr (std::is_floating_point_v<T>) { if (v != v) continue; }
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
  }
  if (!m.has) return m;
  if constexpr (std::is_floating_point_v<T>) {
    if (lo == 0) lo = -T(0);
    if (hi == 0) hi = T(0);
  }
  std::memcpy(m.min, &lo, sizeof(T));
  std::memcpy(m.max, &hi, sizeof(T));
  return m;
}
int StatWidth(StatKind k) { return k == StatKind::I32 || k == StatKind::U32 || k == StatKind::F32 ? 4 : 8; }

struct ChunkState {
  std::vector<PageBytes> pages;  // the open row group's pages of this column
  int64_t bytes = 0;             // their size in the file
  int64_t values = 0, uncompressed = 0, nulls = 0;
  MinMax mm;
};
struct ChunkMeta {
  int64_t offset = 0, compressed = 0, uncompressed = 0, values = 0, nulls = 0;
  MinMax mm;
};
struct GroupMeta {
  int64_t rows = 0, offset = 0, compressed = 0, uncompressed = 0;
  std::vector<ChunkMeta> cols;
};

struct PqWriter {
  std::string path;
  int fd = -1;
  int64_t pos = 0;
  std::vector<ColSpec> cols;
  int32_t codec = C_ZSTD;
  int level = 1;
  std::string createdBy;
  std::vector<std::pair<std::string, std::string>> kv;
  std::vector<ChunkState> chunks;
  int64_t groupRows = 0, totalRows = 0;
  std::vector<GroupMeta> groups;
  std::atomic<bool> busy{false};
  bool finished = false;
  Status failure;  // set once: every later call rejects with it
  ~PqWriter() {
    if (fd >= 0) ::close(fd);
  }
  void Close() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  int64_t Buffered() const {
    int64_t n = 0;
    for (auto& c : chunks) n += c.bytes;
    return n;
  }
};
using WriterPtr = std::shared_ptr<PqWriter>;

// One column of one batch, as plain pointers into pinned ArrayBuffers.
struct ColIn {
  const uint8_t* values = nullptr;
  uint64_t valuesLen = 0;
  const uint8_t* offsets = nullptr;  // utf8: int32[rows+1], large_utf8: int64[rows+1]
  const uint8_t* validity = nullptr;  // null: no nulls
  uint64_t bitOffset = 0;             // of validity and of bool values (Arrow slice offset)
};

int InWidth(In t) {
  switch (t) {
    case In::I8: case In::U8: return 1;
    case In::I16: case In::U16: return 2;
    case In::I32: case In::U32: case In::F32: return 4;
    case In::I64: case In::U64: case In::F64: case In::DATE64: return 8;
    default: return 0;
  }
}
int OutWidth(const ColSpec& c) {
  switch (c.phys) {
    case P_INT32: case P_FLOAT: return 4;
    case P_INT64: case P_DOUBLE: return 8;
    default: return 0;
  }
}

inline bool Bit(const uint8_t* p, uint64_t i) { return (p[i >> 3] >> (i & 7)) & 1; }

// ------------------------------------------------------------------------------- page encoding

void PutVarint(Bytes& o, uint64_t v) {
  while (v >= 0x80) { o.push_back(static_cast<uint8_t>(v | 0x80)); v >>= 7; }
  o.push_back(static_cast<uint8_t>(v));
}
inline void PutU32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v); p[1] = static_cast<uint8_t>(v >> 8);
  p[2] = static_cast<uint8_t>(v >> 16); p[3] = static_cast<uint8_t>(v >> 24);
}

// n bits of `src` starting at bit `s`, packed LSB-first into ceil(n/8) bytes at dst (tail bits 0).
void CopyBits(const uint8_t* src, uint64_t s, uint64_t n, uint8_t* dst) {
  const uint64_t nb = (n + 7) / 8;
  if ((s & 7) == 0) {
    std::memcpy(dst, src + (s >> 3), nb);
  } else {
    const unsigned sh = s & 7;
    const uint8_t* p = src + (s >> 3);
    const uint64_t avail = (s + n + 7) / 8 - (s >> 3);  // source bytes that hold the range
    for (uint64_t i = 0; i < nb; i++) {
      unsigned lo = p[i] >> sh;
      unsigned hi = i + 1 < avail ? p[i + 1] << (8 - sh) : 0;
      dst[i] = static_cast<uint8_t>(lo | hi);
    }
  }
  if (n & 7) dst[nb - 1] &= static_cast<uint8_t>((1u << (n & 7)) - 1);
}

uint64_t CountNulls(const uint8_t* v, uint64_t s, uint64_t n) {
  if (!v) return 0;
  uint64_t set = 0, i = 0;
  for (; i < n && ((s + i) & 7); i++) set += Bit(v, s + i);
  for (; i + 64 <= n; i += 64) {
    uint64_t w;
    std::memcpy(&w, v + ((s + i) >> 3), 8);
    if (!HostLittleEndian()) w = __builtin_bswap64(w);
    set += __builtin_popcountll(w);
  }
  for (; i < n; i++) set += Bit(v, s + i);
  return n - set;
}

template <class T, class O, class Conv>
void PutFixed(const ColIn& in, uint64_t r0, uint64_t n, bool anyNull, Bytes& o, Conv conv) {
  const size_t at = o.size();
  o.resize(at + n * sizeof(O));
  uint8_t* d = o.data() + at;
  const uint8_t* src = in.values + r0 * sizeof(T);
  uint64_t k = 0;
  if (!anyNull) {
    if constexpr (std::is_same_v<T, O>) {
      if (HostLittleEndian()) { std::memcpy(d, src, n * sizeof(T)); return; }
    }
    for (uint64_t i = 0; i < n; i++) {
      T v; std::memcpy(&v, src + i * sizeof(T), sizeof(T));
      O x = conv(v);
      if (!HostLittleEndian()) x = ByteSwap(x);
      std::memcpy(d + k++ * sizeof(O), &x, sizeof(O));
    }
  } else {
    for (uint64_t i = 0; i < n; i++) {
      if (!Bit(in.validity, in.bitOffset + r0 + i)) continue;
      T v; std::memcpy(&v, src + i * sizeof(T), sizeof(T));
      O x = conv(v);
      if (!HostLittleEndian()) x = ByteSwap(x);
      std::memcpy(d + k++ * sizeof(O), &x, sizeof(O));
    }
  }
  o.resize(at + k * sizeof(O));
}

template <class Off>
Status PutStrings(const ColSpec& c, const ColIn& in, uint64_t r0, uint64_t n, bool anyNull, Bytes& o) {
  const uint8_t* offp = in.offsets + r0 * sizeof(Off);
  auto off = [&](uint64_t i) { Off v; std::memcpy(&v, offp + i * sizeof(Off), sizeof(Off)); return v; };
  // exact size first (one pass over the offsets), then one resize
  uint64_t bytes = 0;
  for (uint64_t i = 0; i < n; i++) {
    if (anyNull && !Bit(in.validity, in.bitOffset + r0 + i)) continue;
    const Off a = off(i), b = off(i + 1);
    if (a < 0 || b < a || static_cast<uint64_t>(b) > in.valuesLen)
      return Status::Error("E_CORRUPT", "column " + c.name + ": string offsets out of order or past the data (row " + std::to_string(r0 + i) + ")");
    if (static_cast<uint64_t>(b - a) > 0x7fffffffULL - 4)
      return Status::Error("E_TOO_LARGE", "column " + c.name + ": a string of " + std::to_string(b - a) + " bytes does not fit a Parquet page");
    bytes += 4 + static_cast<uint64_t>(b - a);
  }
  const size_t at = o.size();
  o.resize(at + bytes);
  uint8_t* d = o.data() + at;
  for (uint64_t i = 0; i < n; i++) {
    if (anyNull && !Bit(in.validity, in.bitOffset + r0 + i)) continue;
    const Off a = off(i);
    const uint32_t len = static_cast<uint32_t>(off(i + 1) - a);
    PutU32(d, len);
    std::memcpy(d + 4, in.values + a, len);
    d += 4 + len;
  }
  return Status::Ok();
}

inline int32_t FloorDays(int64_t ms) {
  int64_t q = ms / 86400000, r = ms % 86400000;
  if (r < 0) q--;
  return static_cast<int32_t>(q);
}

// The uncompressed page body (definition levels + PLAIN values) of rows [r0, r0+n) into `o`.
Status EncodeBody(const ColSpec& c, const ColIn& in, uint64_t r0, uint64_t n, uint64_t nulls, Bytes& o) {
  o.clear();
  const bool anyNull = nulls > 0;
  if (c.nullable) {
    // definition levels, bit width 1: one RLE run when all present, else one bit-packed run whose
    // bytes are the validity bits themselves (same LSB-first order as Arrow)
    o.resize(4);
    if (!anyNull) {
      PutVarint(o, n << 1);
      o.push_back(1);
    } else {
      const uint64_t groups = (n + 7) / 8;
      PutVarint(o, (groups << 1) | 1);
      const size_t at = o.size();
      o.resize(at + groups);
      CopyBits(in.validity, in.bitOffset + r0, n, o.data() + at);
    }
    PutU32(o.data(), static_cast<uint32_t>(o.size() - 4));
  }
  auto id = [](auto v) { return v; };
  switch (c.in) {
    case In::I8: PutFixed<int8_t, int32_t>(in, r0, n, anyNull, o, [](int8_t v) { return int32_t(v); }); break;
    case In::I16: PutFixed<int16_t, int32_t>(in, r0, n, anyNull, o, [](int16_t v) { return int32_t(v); }); break;
    case In::I32: PutFixed<int32_t, int32_t>(in, r0, n, anyNull, o, id); break;
    case In::I64: PutFixed<int64_t, int64_t>(in, r0, n, anyNull, o, id); break;
    case In::U8: PutFixed<uint8_t, int32_t>(in, r0, n, anyNull, o, [](uint8_t v) { return int32_t(v); }); break;
    case In::U16: PutFixed<uint16_t, int32_t>(in, r0, n, anyNull, o, [](uint16_t v) { return int32_t(v); }); break;
    case In::U32: PutFixed<uint32_t, uint32_t>(in, r0, n, anyNull, o, id); break;  // INT32 bit pattern
    case In::U64: PutFixed<uint64_t, uint64_t>(in, r0, n, anyNull, o, id); break;  // INT64 bit pattern
    case In::F32: PutFixed<float, float>(in, r0, n, anyNull, o, id); break;        // NaN payloads, -0.0 kept
    case In::F64: PutFixed<double, double>(in, r0, n, anyNull, o, id); break;
    case In::DATE64: PutFixed<int64_t, int32_t>(in, r0, n, anyNull, o, FloorDays); break;
    case In::BOOL: {
      const size_t at = o.size();
      o.resize(at + (n + 7) / 8);
      uint8_t* d = o.data() + at;
      std::memset(d, 0, (n + 7) / 8);
      if (!anyNull) {
        CopyBits(in.values, in.bitOffset + r0, n, d);
      } else {
        uint64_t k = 0;
        for (uint64_t i = 0; i < n; i++) {
          const uint64_t b = in.bitOffset + r0 + i;
          if (!Bit(in.validity, b)) continue;
          if (Bit(in.values, b)) d[k >> 3] |= static_cast<uint8_t>(1u << (k & 7));
          k++;
        }
        o.resize(at + (k + 7) / 8);
      }
      break;
    }
    case In::UTF8: return PutStrings<int32_t>(c, in, r0, n, anyNull, o);
    case In::LARGE_UTF8: return PutStrings<int64_t>(c, in, r0, n, anyNull, o);
  }
  return Status::Ok();
}

struct Page {
  PageBytes bytes;             // header + compressed body
  int64_t uncompressed = 0;    // header + body before compression
  int64_t rows = 0, nulls = 0;
  MinMax mm;
  Status st;
};

struct Scratch {
  Bytes body;
#ifdef CDX_HAVE_ZSTD
  ZSTD_CCtx* cctx = nullptr;
  ~Scratch() { if (cctx) ZSTD_freeCCtx(cctx); }
#endif
};
Scratch& ThreadScratch() {
  static thread_local Scratch s;
  return s;
}

Status EncodePage(const PqWriter& w, size_t ci, const ColIn& in, uint64_t r0, uint64_t n, Page& p) {
  const ColSpec& c = w.cols[ci];
  Scratch& s = ThreadScratch();
  const uint64_t nulls = in.validity ? CountNulls(in.validity, in.bitOffset + r0, n) : 0;
  if (nulls && !c.nullable)
    return Status::Error("E_BAD_VALUE", "column " + c.name + " is declared non-nullable but holds nulls");
  Status st = EncodeBody(c, in, r0, n, nulls, s.body);
  if (!st.ok()) return st;
  if (c.stat != StatKind::NONE && HostLittleEndian()) {
    // the values are the last (n - nulls) * width bytes of the body
    const uint64_t k = n - nulls;
    const uint8_t* v = s.body.data() + s.body.size() - k * StatWidth(c.stat);
    switch (c.stat) {
      case StatKind::I32: p.mm = PageMinMax<int32_t>(v, k); break;
      case StatKind::U32: p.mm = PageMinMax<uint32_t>(v, k); break;
      case StatKind::I64: p.mm = PageMinMax<int64_t>(v, k); break;
      case StatKind::U64: p.mm = PageMinMax<uint64_t>(v, k); break;
      case StatKind::F32: p.mm = PageMinMax<float>(v, k); break;
      case StatKind::F64: p.mm = PageMinMax<double>(v, k); break;
      default: break;
    }
  }
  if (s.body.size() > 0x7fffffffULL) return Status::Error("E_TOO_LARGE", "column " + c.name + ": a page exceeds 2 GiB");
  size_t plen = s.body.size();
  if (w.codec == C_ZSTD) {
#ifdef CDX_HAVE_ZSTD
    if (!s.cctx) s.cctx = ZSTD_createCCtx();
    if (!s.cctx) throw std::bad_alloc();
    const size_t bound = ZSTD_compressBound(plen);
    p.bytes.body.reset(new uint8_t[bound]);  // untouched tail pages are never faulted in
    size_t r = ZSTD_compressCCtx(s.cctx, p.bytes.body.get(), bound, s.body.data(), plen, w.level);
    if (ZSTD_isError(r)) return Status::Error("E_INTERNAL", std::string("zstd: ") + ZSTD_getErrorName(r));
    plen = r;
#else
    return Status::Error("E_UNSUPPORTED", "this build has no zstd encoder");
#endif
  } else {
    p.bytes.body.reset(new uint8_t[plen ? plen : 1]);
    if (plen) std::memcpy(p.bytes.body.get(), s.body.data(), plen);
  }
  p.bytes.bodyLen = plen;
  std::vector<uint8_t>& hdrBytes = p.bytes.header;
  hdrBytes.clear();
  ThriftWriter t(&hdrBytes);
  t.I32(1, 0);  // DATA_PAGE
  t.I32(2, static_cast<int32_t>(s.body.size()));
  t.I32(3, static_cast<int32_t>(plen));
  t.BeginStruct(5);  // DataPageHeader
  t.I32(1, static_cast<int32_t>(n));
  t.I32(2, 0);  // PLAIN
  t.I32(3, 3);  // RLE definition levels
  t.I32(4, 3);  // RLE repetition levels (none: flat columns)
  t.EndStruct();
  t.EndTop();
  p.uncompressed = static_cast<int64_t>(hdrBytes.size() + s.body.size());
  p.rows = static_cast<int64_t>(n);
  p.nulls = static_cast<int64_t>(nulls);
  return Status::Ok();
}

// Page cuts for one column of `rows` rows: ~kPageBytes of values each.
void PlanPages(const ColSpec& c, const ColIn& in, uint64_t rows, std::vector<std::pair<uint64_t, uint64_t>>& out) {
  if (c.in == In::UTF8 || c.in == In::LARGE_UTF8) {
    const int ow = c.in == In::UTF8 ? 4 : 8;
    auto off = [&](uint64_t i) -> int64_t {
      if (ow == 4) { int32_t v; std::memcpy(&v, in.offsets + i * 4, 4); return v; }
      int64_t v; std::memcpy(&v, in.offsets + i * 8, 8); return v;
    };
    uint64_t r = 0;
    while (r < rows) {
      // largest e with off(e) - off(r) <= kPageBytes (binary search; bad offsets are caught later)
      uint64_t lo = r + 1, hi = std::min(rows, r + kPageRowsMax);
      const int64_t base = off(r);
      while (lo < hi) {
        uint64_t mid = lo + (hi - lo + 1) / 2;
        if (off(mid) - base <= static_cast<int64_t>(kPageBytes)) lo = mid; else hi = mid - 1;
      }
      out.emplace_back(r, lo - r);
      r = lo;
    }
    return;
  }
  const uint64_t per = c.in == In::BOOL ? kPageRowsMax : std::min<uint64_t>(kPageRowsMax, kPageBytes / OutWidth(c));
  for (uint64_t r = 0; r < rows; r += per) out.emplace_back(r, std::min(per, rows - r));
}

Status WriteAll(PqWriter& w, const uint8_t* p, size_t n) {
  while (n) {
    ssize_t k = ::write(w.fd, p, n);
    if (k < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      return Status::Error(e == ENOSPC ? "ENOSPC" : "E_IO", "cannot write " + w.path + ": " + std::strerror(e));
    }
    p += k;
    n -= static_cast<size_t>(k);
    w.pos += k;
  }
  return Status::Ok();
}

// The pages' headers and bodies in order, by writev (at most IOV_MAX pieces per call).
Status WritePages(PqWriter& w, const std::vector<PageBytes>& pages) {
  std::vector<iovec> iov;
  iov.reserve(pages.size() * 2);
  for (auto& pg : pages) {
    iov.push_back({const_cast<uint8_t*>(pg.header.data()), pg.header.size()});
    if (pg.bodyLen) iov.push_back({pg.body.get(), pg.bodyLen});
  }
  size_t i = 0;
  while (i < iov.size()) {
    const int cnt = static_cast<int>(std::min<size_t>(iov.size() - i, 512));
    ssize_t k = ::writev(w.fd, iov.data() + i, cnt);
    if (k < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      return Status::Error(e == ENOSPC ? "ENOSPC" : "E_IO", "cannot write " + w.path + ": " + std::strerror(e));
    }
    w.pos += k;
    // skip what was written (a short write leaves a partial iovec)
    size_t left = static_cast<size_t>(k);
    while (i < iov.size() && left >= iov[i].iov_len) { left -= iov[i].iov_len; i++; }
    if (left) { iov[i].iov_base = static_cast<uint8_t*>(iov[i].iov_base) + left; iov[i].iov_len -= left; }
  }
  return Status::Ok();
}

Status FlushGroup(PqWriter& w) {
  if (w.groupRows == 0) return Status::Ok();
  GroupMeta g;
  g.rows = w.groupRows;
  g.offset = w.pos;
  for (auto& ch : w.chunks) {
    ChunkMeta m;
    m.offset = w.pos;
    m.compressed = ch.bytes;
    m.uncompressed = ch.uncompressed;
    m.values = ch.values;
    m.nulls = ch.nulls;
    m.mm = ch.mm;
    Status st = WritePages(w, ch.pages);
    if (!st.ok()) return st;
    g.compressed += m.compressed;
    g.uncompressed += m.uncompressed;
    g.cols.push_back(m);
    std::vector<PageBytes>().swap(ch.pages);
    ch.bytes = 0;
    ch.values = ch.uncompressed = ch.nulls = 0;
    ch.mm = MinMax();
  }
  w.groups.push_back(std::move(g));
  w.groupRows = 0;
  return Status::Ok();
}

void WriteSchemaElement(ThriftWriter& t, const ColSpec& c) {
  t.BeginListStruct();
  t.I32(1, c.phys);
  t.I32(3, c.nullable ? 1 : 0);  // OPTIONAL / REQUIRED
  t.Binary(4, c.name);
  if (c.converted >= 0) t.I32(6, c.converted);
  if (!c.logical.empty()) {
    t.BeginStruct(10);  // LogicalType union
    if (c.logical == "string") { t.BeginStruct(1); t.EndStruct(); }
    else if (c.logical == "date") { t.BeginStruct(6); t.EndStruct(); }
    else if (c.logical == "timestamp") {
      t.BeginStruct(8);
      t.Bool(1, c.utc);
      t.BeginStruct(2);  // TimeUnit union
      t.BeginStruct(c.unit == "ms" ? 1 : c.unit == "us" ? 2 : 3);
      t.EndStruct();
      t.EndStruct();
      t.EndStruct();
    } else if (c.logical == "int") {
      t.BeginStruct(10);
      t.I8(1, static_cast<int8_t>(c.bitWidth));
      t.Bool(2, c.isSigned);
      t.EndStruct();
    }
    t.EndStruct();
  }
  t.EndStruct();
}

Status WriteFooter(PqWriter& w) {
  std::vector<uint8_t> out;
  ThriftWriter t(&out);
  t.I32(1, 1);  // version
  t.BeginList(2, pq::T_STRUCT, w.cols.size() + 1);
  t.BeginListStruct();
  t.Binary(4, "arrow_schema");
  t.I32(5, static_cast<int32_t>(w.cols.size()));
  t.EndStruct();
  for (auto& c : w.cols) WriteSchemaElement(t, c);
  t.I64(3, w.totalRows);
  t.BeginList(4, pq::T_STRUCT, w.groups.size());
  for (size_t gi = 0; gi < w.groups.size(); gi++) {
    const GroupMeta& g = w.groups[gi];
    t.BeginListStruct();
    t.BeginList(1, pq::T_STRUCT, g.cols.size());
    for (size_t ci = 0; ci < g.cols.size(); ci++) {
      const ChunkMeta& m = g.cols[ci];
      const ColSpec& c = w.cols[ci];
      t.BeginListStruct();  // ColumnChunk
      t.I64(2, m.offset + m.compressed);  // file_offset (deprecated): end of the chunk, as arrow-rs writes
      t.BeginStruct(3);     // ColumnMetaData
      t.I32(1, c.phys);
      t.BeginList(2, pq::T_I32, 2);
      t.ListI32Item(0);  // PLAIN
      t.ListI32Item(3);  // RLE (levels)
      t.BeginList(3, pq::T_BINARY, 1);
      t.ListBinaryItem(c.name);
      t.I32(4, w.codec);
      t.I64(5, m.values);
      t.I64(6, m.uncompressed);
      t.I64(7, m.compressed);
      t.I64(9, m.offset);
      t.BeginStruct(12);  // Statistics: null count, max_value, min_value
      t.I64(3, m.nulls);
      if (m.mm.has) {
        const int sw = StatWidth(c.stat);
        t.Binary(5, std::string(reinterpret_cast<const char*>(m.mm.max), sw));
        t.Binary(6, std::string(reinterpret_cast<const char*>(m.mm.min), sw));
      }
      t.EndStruct();
      t.EndStruct();
      t.EndStruct();
    }
    t.I64(2, g.uncompressed);
    t.I64(3, g.rows);
    t.I64(5, g.offset);
    t.I64(6, g.compressed);
    t.I16(7, static_cast<int16_t>(gi));
    t.EndStruct();
  }
  if (!w.kv.empty()) {
    t.BeginList(5, pq::T_STRUCT, w.kv.size());
    for (auto& [k, v] : w.kv) {
      t.BeginListStruct();
      t.Binary(1, k);
      t.Binary(2, v);
      t.EndStruct();
    }
  }
  t.Binary(6, w.createdBy);
  t.BeginList(7, pq::T_STRUCT, w.cols.size());
  for (size_t i = 0; i < w.cols.size(); i++) {
    t.BeginListStruct();  // ColumnOrder union: TYPE_ORDER
    t.BeginStruct(1);
    t.EndStruct();
    t.EndStruct();
  }
  t.EndTop();
  uint8_t tail[8];
  PutU32(tail, static_cast<uint32_t>(out.size()));
  std::memcpy(tail + 4, "PAR1", 4);
  out.insert(out.end(), tail, tail + 8);
  return WriteAll(w, out.data(), out.size());
}

// ------------------------------------------------------------------------------------ workers

class WriteWorker : public PromiseWorker {
 public:
  explicit WriteWorker(Napi::Env env) : PromiseWorker(env, "cdx.parquetWrite") {}
  ~WriteWorker() override {
    if (w) w->busy.store(false);
  }
  WriterPtr w;
  std::vector<ColIn> cols;
  std::vector<Napi::ObjectReference> pins;  // the batch's buffers stay alive while Run() reads them
  uint64_t rows = 0;
  bool flush = false;
  void SetJob(JobPtr j) { job_ = std::move(j); }

 protected:
  void Run() override {
    PqWriter& W = *w;
    status_ = Encode(W);
    if (status_.ok() && Cancelled()) status_ = Status::Error("E_CANCELLED", W.path + ": cancelled");
    if (!status_.ok()) {
      if (status_.message.find(W.path) == std::string::npos) status_.message = W.path + ": " + status_.message;
      W.failure = status_;
    }
  }
  Status Encode(PqWriter& W) {
    struct Item { size_t col; uint64_t r0, n; };
    std::vector<Item> items;
    std::vector<std::pair<uint64_t, uint64_t>> cuts;
    for (size_t c = 0; c < cols.size(); c++) {
      cuts.clear();
      PlanPages(W.cols[c], cols[c], rows, cuts);
      for (auto& [r0, n] : cuts) items.push_back({c, r0, n});
    }
    job_->total.store(items.size());
    std::vector<Page> pages(items.size());
    const int64_t nItems = static_cast<int64_t>(items.size());
#ifdef _OPENMP
    const int threads = std::max(1, std::min<int>(MaxThreads(), static_cast<int>(nItems)));
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
#endif
    for (int64_t i = 0; i < nItems; i++) {
      if (Cancelled()) continue;
      const Item& it = items[i];
      try {
        pages[i].st = EncodePage(W, it.col, cols[it.col], it.r0, it.n, pages[i]);
      } catch (...) {
        pages[i].st = StatusOfCurrentException("encoding column " + W.cols[it.col].name);
      }
      job_->done.fetch_add(1, std::memory_order_relaxed);
    }
    if (Cancelled()) return Status::Error("E_CANCELLED", W.path + ": cancelled");
    for (auto& p : pages)
      if (!p.st.ok()) return p.st;
    for (size_t i = 0; i < items.size(); i++) {
      ChunkState& ch = W.chunks[items[i].col];
      Page& p = pages[i];
      ch.bytes += static_cast<int64_t>(p.bytes.size());
      ch.pages.push_back(std::move(p.bytes));
      ch.values += p.rows;
      ch.nulls += p.nulls;
      ch.uncompressed += p.uncompressed;
      Merge(W.cols[items[i].col].stat, ch.mm, p.mm);
    }
    W.groupRows += static_cast<int64_t>(rows);
    W.totalRows += static_cast<int64_t>(rows);
    if (flush) return FlushGroup(W);
    return Status::Ok();
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("rows", Napi::Number::New(env, static_cast<double>(w->totalRows)));
    o.Set("buffered", Napi::Number::New(env, static_cast<double>(w->Buffered())));
    return o;
  }
};

class FinishWorker : public PromiseWorker {
 public:
  explicit FinishWorker(Napi::Env env) : PromiseWorker(env, "cdx.parquetFinish") {}
  ~FinishWorker() override {
    if (w) w->busy.store(false);
  }
  WriterPtr w;

 protected:
  void Run() override {
    PqWriter& W = *w;
    status_ = FlushGroup(W);
    if (status_.ok()) status_ = WriteFooter(W);
    if (status_.ok() && ::close(W.fd) != 0) {
      int e = errno;
      status_ = Status::Error("E_IO", "cannot close " + W.path + ": " + std::strerror(e));
    }
    W.fd = -1;
    if (!status_.ok()) W.failure = status_;
    W.finished = true;
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("rows", Napi::Number::New(env, static_cast<double>(w->totalRows)));
    o.Set("bytes", Napi::Number::New(env, static_cast<double>(w->pos)));
    o.Set("rowGroups", Napi::Number::New(env, static_cast<double>(w->groups.size())));
    return o;
  }
};

// ------------------------------------------------------------------------------------ exports

void FinalizeWriter(Napi::Env, WriterPtr* p) { delete p; }

bool ParseIn(const std::string& s, In* out) {
  static const char* names[] = {"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
                                "float32", "float64", "bool", "utf8", "large_utf8", "date64"};
  for (int i = 0; i < 14; i++)
    if (s == names[i]) { *out = static_cast<In>(i); return true; }
  return false;
}

Napi::Value Throw(Napi::Env env, const Status& st) {
  MakeError(env, st).ThrowAsJavaScriptException();
  return env.Undefined();
}

// parquetInfo() -> { zstd: boolean, zstdVersion?: string }
Napi::Value ParquetInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
#ifdef CDX_HAVE_ZSTD
  o.Set("zstd", Napi::Boolean::New(env, true));
  o.Set("zstdVersion", Napi::String::New(env, ZSTD_versionString()));
#else
  o.Set("zstd", Napi::Boolean::New(env, false));
#endif
  return o;
}

// parquetOpen(path, { columns: ColSpec[], codec: 'zstd'|'none', level, createdBy, metadata: [k, v][] })
// -> handle (synchronous: creates the file with O_EXCL and writes the leading magic)
Napi::Value ParquetOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsObject())
    return Throw(env, Status::Error("E_BAD_ARG", "parquetOpen(path: string, spec: object)"));
  auto w = std::make_shared<PqWriter>();
  w->path = info[0].As<Napi::String>().Utf8Value();
  Napi::Object spec = info[1].As<Napi::Object>();
  Status st;
  std::string codec = "zstd";
  if (!GetStr(spec, "codec", &codec, &st, false)) return Throw(env, st);
  if (codec == "zstd") {
#ifndef CDX_HAVE_ZSTD
    return Throw(env, Status::Error("E_UNSUPPORTED", w->path + ": this build of the native engine has no zstd encoder"));
#endif
    w->codec = C_ZSTD;
  } else if (codec == "none") {
    w->codec = C_NONE;
  } else {
    return Throw(env, Status::Error("E_UNSUPPORTED", w->path + ": codec " + codec + " is not written natively"));
  }
  double level = 1;
  if (!GetF64(spec, "level", &level, &st, false)) return Throw(env, st);
  w->level = static_cast<int>(level);
  if (!GetStr(spec, "createdBy", &w->createdBy, &st, false)) return Throw(env, st);
  Napi::Value cv = spec.Get("columns");
  if (!cv.IsArray()) return Throw(env, Status::Error("E_BAD_ARG", "spec.columns must be an array"));
  Napi::Array ca = cv.As<Napi::Array>();
  for (uint32_t i = 0; i < ca.Length(); i++) {
    Napi::Value v = ca.Get(i);
    if (!v.IsObject()) return Throw(env, Status::Error("E_BAD_ARG", "spec.columns[i] must be an object"));
    Napi::Object o = v.As<Napi::Object>();
    ColSpec c;
    std::string in;
    double phys = 0, conv = -1, bw = 0;
    if (!GetStr(o, "name", &c.name, &st) || !GetStr(o, "input", &in, &st) || !GetF64(o, "physical", &phys, &st) ||
        !GetF64(o, "converted", &conv, &st, false) || !GetStr(o, "logical", &c.logical, &st, false) ||
        !GetF64(o, "bitWidth", &bw, &st, false) || !GetStr(o, "unit", &c.unit, &st, false))
      return Throw(env, st);
    if (!ParseIn(in, &c.in)) return Throw(env, Status::Error("E_BAD_TYPE", w->path + ": column " + c.name + ": input type " + in + " is not encoded natively"));
    c.phys = static_cast<int32_t>(phys);
    c.converted = static_cast<int32_t>(conv);
    c.bitWidth = static_cast<int>(bw);
    GetBool(o, "signed", &c.isSigned, true);
    GetBool(o, "utc", &c.utc, false);
    GetBool(o, "nullable", &c.nullable, true);
    const bool str = c.in == In::UTF8 || c.in == In::LARGE_UTF8;
    const bool ok = c.in == In::BOOL ? c.phys == P_BOOLEAN
                    : str ? c.phys == P_BYTE_ARRAY
                    : c.in == In::F32 ? c.phys == P_FLOAT
                    : c.in == In::F64 ? c.phys == P_DOUBLE
                    : c.in == In::DATE64 ? c.phys == P_INT32
                    : InWidth(c.in) == 8 ? c.phys == P_INT64 : c.phys == P_INT32;
    if (!ok) return Throw(env, Status::Error("E_BAD_TYPE", w->path + ": column " + c.name + ": input " + in + " cannot be written as physical type " + std::to_string(c.phys)));
    c.stat = c.phys == P_INT32 ? (c.in == In::U32 ? StatKind::U32 : StatKind::I32)
             : c.phys == P_INT64 ? (c.in == In::U64 ? StatKind::U64 : StatKind::I64)
             : c.phys == P_FLOAT ? StatKind::F32
             : c.phys == P_DOUBLE ? StatKind::F64 : StatKind::NONE;
    w->cols.push_back(std::move(c));
  }
  Napi::Value mv = spec.Get("metadata");
  if (mv.IsArray()) {
    Napi::Array ma = mv.As<Napi::Array>();
    for (uint32_t i = 0; i < ma.Length(); i++) {
      Napi::Value e = ma.Get(i);
      if (!e.IsArray() || e.As<Napi::Array>().Length() != 2) return Throw(env, Status::Error("E_BAD_ARG", "spec.metadata must be [key, value] pairs"));
      Napi::Value k = e.As<Napi::Array>().Get(0u), x = e.As<Napi::Array>().Get(1u);
      if (!k.IsString() || !x.IsString()) return Throw(env, Status::Error("E_BAD_ARG", "spec.metadata must be [key, value] string pairs"));
      w->kv.emplace_back(k.As<Napi::String>().Utf8Value(), x.As<Napi::String>().Utf8Value());
    }
  }
  w->chunks.resize(w->cols.size());
  w->fd = ::open(w->path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (w->fd < 0) {
    int e = errno;
    std::string code = e == ENOENT ? "ENOENT" : e == EACCES ? "EACCES" : e == EEXIST ? "EEXIST" : e == EISDIR ? "EISDIR" : "E_IO";
    return Throw(env, Status::Error(code, "cannot create " + w->path + ": " + std::strerror(e)));
  }
  st = WriteAll(*w, reinterpret_cast<const uint8_t*>("PAR1"), 4);
  if (!st.ok()) return Throw(env, st);
  return Napi::External<WriterPtr>::New(env, new WriterPtr(w), FinalizeWriter);
}

bool GetWriter(const Napi::Value& v, WriterPtr* out, Status* st) {
  if (!v.IsExternal()) { *st = Status::Error("E_BAD_ARG", "not a Parquet writer handle"); return false; }
  WriterPtr* p = v.As<Napi::External<WriterPtr>>().Data();
  if (!p || !*p) { *st = Status::Error("E_CLOSED", "the Parquet writer was closed"); return false; }
  *out = *p;
  return true;
}

bool Buffer(const Napi::Value& v, const char* what, const uint8_t** data, uint64_t* len, Status* st) {
  if (!v.IsTypedArray()) { *st = Status::Error("E_BAD_ARG", std::string(what) + " must be a typed array"); return false; }
  // the C call gives the view's own data pointer, also for a SharedArrayBuffer (which
  // Napi::ArrayBuffer::Data() refuses)
  napi_typedarray_type type;
  size_t length = 0, offset = 0;
  void* p = nullptr;
  napi_value ab;
  if (napi_get_typedarray_info(v.Env(), v, &type, &length, &p, &ab, &offset) != napi_ok) {
    *st = Status::Error("E_BAD_ARG", std::string(what) + " is not a readable typed array");
    return false;
  }
  *data = static_cast<const uint8_t*>(p);
  *len = v.As<Napi::TypedArray>().ByteLength();
  if (!*data && *len) { *st = Status::Error("E_BAD_ARG", std::string(what) + " is detached"); return false; }
  return true;
}

// parquetWrite(handle, columns: {values, offsets?, validity?, bitOffset}[], rows, flush, job?)
//   -> Promise<{ rows, buffered }>
Napi::Value ParquetWrite(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* wk = new WriteWorker(env);
  Status st;
  WriterPtr w;
  if (info.Length() < 4 || !info[1].IsArray() || !info[2].IsNumber() || !info[3].IsBoolean())
    return wk->Start(Status::Error("E_BAD_ARG", "parquetWrite(handle, columns[], rows, flush, job?)"));
  if (!GetWriter(info[0], &w, &st)) return wk->Start(st);
  if (!w->failure.ok()) return wk->Start(w->failure);
  if (w->finished || w->fd < 0) return wk->Start(Status::Error("E_CLOSED", w->path + ": the Parquet writer is closed"));
  bool expected = false;
  if (!w->busy.compare_exchange_strong(expected, true))
    return wk->Start(Status::Error("E_BUSY", w->path + ": a write is already running on this Parquet writer"));
  wk->w = w;  // the destructor releases `busy`
  const double rowsD = info[2].As<Napi::Number>().DoubleValue();
  if (!(rowsD >= 0) || rowsD > 9.0e15 || rowsD != std::floor(rowsD))
    return wk->Start(Status::Error("E_BAD_ARG", "rows must be a non-negative integer"));
  const uint64_t rows = static_cast<uint64_t>(rowsD);
  Napi::Array ca = info[1].As<Napi::Array>();
  if (ca.Length() != w->cols.size())
    return wk->Start(Status::Error("E_BAD_ARG", w->path + ": expected " + std::to_string(w->cols.size()) + " columns, got " + std::to_string(ca.Length())));
  for (uint32_t i = 0; i < ca.Length(); i++) {
    const ColSpec& c = w->cols[i];
    Napi::Value v = ca.Get(i);
    if (!v.IsObject()) return wk->Start(Status::Error("E_BAD_ARG", "columns[i] must be an object"));
    Napi::Object o = v.As<Napi::Object>();
    ColIn in;
    uint64_t bo = 0;
    if (!GetU64(o, "bitOffset", &bo, &st, false)) return wk->Start(st);
    in.bitOffset = bo;
    const std::string pre = w->path + ": column " + c.name + ": ";
    if (!Buffer(o.Get("values"), "values", &in.values, &in.valuesLen, &st)) return wk->Start(Status::Error(st.code, pre + st.message));
    wk->pins.push_back(Napi::Persistent(o.Get("values").As<Napi::Object>()));
    Napi::Value vv = o.Get("validity");
    if (!vv.IsUndefined() && !vv.IsNull()) {
      uint64_t vlen = 0;
      if (!Buffer(vv, "validity", &in.validity, &vlen, &st)) return wk->Start(Status::Error(st.code, pre + st.message));
      if ((bo + rows + 7) / 8 > vlen) return wk->Start(Status::Error("E_BAD_ARG", pre + "validity bitmap shorter than the rows"));
      wk->pins.push_back(Napi::Persistent(vv.As<Napi::Object>()));
    }
    if (c.in == In::UTF8 || c.in == In::LARGE_UTF8) {
      uint64_t olen = 0;
      if (!Buffer(o.Get("offsets"), "offsets", &in.offsets, &olen, &st)) return wk->Start(Status::Error(st.code, pre + st.message));
      if ((rows + 1) * (c.in == In::UTF8 ? 4 : 8) > olen) return wk->Start(Status::Error("E_BAD_ARG", pre + "offsets shorter than the rows"));
      wk->pins.push_back(Napi::Persistent(o.Get("offsets").As<Napi::Object>()));
    } else if (c.in == In::BOOL) {
      if ((bo + rows + 7) / 8 > in.valuesLen) return wk->Start(Status::Error("E_BAD_ARG", pre + "bool values shorter than the rows"));
    } else if (rows * InWidth(c.in) > in.valuesLen) {
      return wk->Start(Status::Error("E_BAD_ARG", pre + "values shorter than the rows"));
    }
    wk->cols.push_back(in);
  }
  wk->rows = rows;
  wk->flush = info[3].As<Napi::Boolean>().Value();
  if (info.Length() > 4) wk->SetJob(GetJob(info[4]));
  return wk->Start();
}

// parquetFinish(handle) -> Promise<{ rows, bytes, rowGroups }>: last row group, footer, close.
Napi::Value ParquetFinish(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* wk = new FinishWorker(env);
  Status st;
  WriterPtr w;
  if (info.Length() < 1 || !GetWriter(info[0], &w, &st)) return wk->Start(st.ok() ? Status::Error("E_BAD_ARG", "parquetFinish(handle)") : st);
  if (!w->failure.ok()) return wk->Start(w->failure);
  if (w->finished || w->fd < 0) return wk->Start(Status::Error("E_CLOSED", w->path + ": the Parquet writer is closed"));
  bool expected = false;
  if (!w->busy.compare_exchange_strong(expected, true))
    return wk->Start(Status::Error("E_BUSY", w->path + ": a write is still running on this Parquet writer"));
  wk->w = w;
  return wk->Start();
}

// parquetClose(handle): abandons the writer (closes the file; the caller removes it). Refused
// while a call runs (E_BUSY): abort after awaiting (or cancelling) the write in flight.
Napi::Value ParquetClose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Status st;
  WriterPtr w;
  if (info.Length() < 1 || !GetWriter(info[0], &w, &st)) return env.Undefined();
  bool expected = false;
  if (!w->busy.compare_exchange_strong(expected, true))
    return Throw(env, Status::Error("E_BUSY", w->path + ": a write is still running on this Parquet writer"));
  w->Close();
  if (w->failure.ok()) w->failure = Status::Error("E_CLOSED", w->path + ": the Parquet writer is closed");
  w->busy.store(false);
  return env.Undefined();
}

Export e_info("parquetInfo", ParquetInfo);
Export e_open("parquetOpen", ParquetOpen);
Export e_write("parquetWrite", ParquetWrite);
Export e_finish("parquetFinish", ParquetFinish);
Export e_close("parquetClose", ParquetClose);

}  // namespace
}  // namespace cdx
