// Column descriptors over memory-mapped files, as the kernels see them: numeric arrays of either
// endianness (int8..uint64, float32/64), Arrow bit-packed bool, Arrow utf8 / large_utf8 and
// dictionary-encoded strings, each split into chunks (Arrow record batches; one chunk for NPY/raw),
// with optional Arrow validity bitmaps. Parsing happens on the JS thread into plain structs;
// Validate() checks every buffer against the file's real size before any read.
//
// Kernels iterate over Segments: row ranges that cross no chunk boundary of any of their columns,
// split into morsels that threads take dynamically.
#pragma once

#include <cmath>

#include "core.h"

namespace Napi { class Value; }

namespace cdx {

enum class Kind : uint8_t { NUMERIC, BOOL, UTF8, LARGE_UTF8, DICT };

struct Chunk {
  uint64_t rows = 0, rowStart = 0;
  uint64_t dataOff = 0, dataLen = 0;
  int64_t validityOff = -1;  // -1: no bitmap (all valid)
  uint64_t validityBit = 0;  // bit offset into the bitmap
  uint64_t offsetsOff = 0, offsetsLen = 0;  // utf8 offsets
  int64_t nullCount = -1;
};

struct Computed;  // expr.h

struct Column {
  std::string name;
  FileRef file;
  Kind kind = Kind::NUMERIC;
  DType dtype = DType::INVALID;  // numeric type, or index type for DICT
  bool swap = false;             // stored byte order differs from the host's
  std::vector<Chunk> chunks;
  uint64_t rows = 0;
  std::shared_ptr<Column> dict;  // DICT: the dictionary values (UTF8/LARGE_UTF8), chunks concatenated
  std::shared_ptr<Computed> comp;  // a computed column: each chunk evaluated when a view binds it (expr.h)
  bool IsString() const { return kind == Kind::UTF8 || kind == Kind::LARGE_UTF8 || kind == Kind::DICT; }
  // Sets `chunks` and `rows` from 8 numbers per chunk as the descriptor holds them (rows, data
  // offset, data length, validity offset or -1, validity bit, offsets offset, offsets length,
  // null count or -1): each must be an integer in [-1, 2^53]. E_BAD_ARG otherwise.
  Status SetChunks(const double* fields, size_t nchunks);
  // Opens the file if needed and checks every buffer against its size. Worker thread OK.
  Status Validate();
  // Chunk holding global row r (binary search).
  size_t ChunkOf(uint64_t r) const;
};
using ColumnPtr = std::shared_ptr<Column>;

// Parses a descriptor made by native/index.ts (JS thread; columns_js.cc).
bool ParseColumn(const Napi::Value& v, ColumnPtr* out, Status* st);

// What the column layer calls for a computed column (expr.cc sets them at load): kept as hooks so
// that this layer builds without Node (the fuzz harnesses compile it alone).
struct View;
struct ComputedHooks {
  Status (*validate)(Column& c) = nullptr;
  void (*eval)(const Column& c, size_t chunk, View* v) = nullptr;
};
ComputedHooks& computedHooks();

// A view of one chunk for reading.
struct View {
  const Column* col = nullptr;
  const Chunk* chunk = nullptr;
  const uint8_t* data = nullptr;
  const uint8_t* validity = nullptr;  // null = all valid
  uint64_t vbit = 0;
  const uint8_t* offsets = nullptr;
  uint64_t rowStart = 0;  // global row of chunk row 0
  uint64_t dataLen = 0;   // bytes of `data` (string offsets are checked against it)
  std::shared_ptr<uint8_t> own;  // a computed column's evaluated chunk
  void Bind(const Column& c, size_t chunkIndex);
  inline bool Valid(uint64_t local) const {
    if (!validity) return true;
    uint64_t b = vbit + local;
    return (validity[b >> 3] >> (b & 7)) & 1;
  }
};

// Validity of rows [local, local+n) as bytes (1 valid); returns false when none can be null.
bool ValidityBytes(const View& v, uint64_t local, uint32_t n, uint8_t* out);
// Values of a NUMERIC/BOOL/DICT(index) chunk as doubles (nulls give whatever bytes hold).
void DecodeF64(const View& v, uint64_t local, uint32_t n, double* out);
// The same, exact for 64-bit integers where long double has a 64-bit mantissa (x86).
void DecodeLD(const View& v, uint64_t local, uint32_t n, long double* out);
// Integer values (integer / bool / dict index columns) as int64 (uint64 bit pattern for uint64).
void DecodeI64(const View& v, uint64_t local, uint32_t n, int64_t* out);
// Dictionary index (DICT) of a row.
int64_t DictIndex(const View& v, uint64_t local);
// String bytes of a UTF8/LARGE_UTF8 row; false if the offsets are corrupt.
bool StringAt(const View& v, uint64_t local, const uint8_t** p, uint64_t* len);
// Whole-column string access for dictionaries (global row of the dictionary column).
struct StringColumnReader {
  std::vector<View> views;
  const Column* col = nullptr;
  void Bind(const Column& c);
  bool Get(uint64_t row, const uint8_t** p, uint64_t* len) const;
};

// Row segments within which every listed column stays in one chunk.
struct Segment {
  uint64_t r0, r1;
  std::vector<uint32_t> chunkIdx;  // per column
};
std::vector<Segment> MakeSegments(const std::vector<const Column*>& cols, uint64_t rows, uint64_t morselRows);

// Hashing (for HyperLogLog / hash maps).
inline uint64_t Mix64(uint64_t x) {
  x ^= x >> 30; x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27; x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}
uint64_t HashBytes(const uint8_t* p, uint64_t n);
// Canonical hash of a numeric value: equal values hash equal (+0 == -0; ints by value).
inline uint64_t HashDouble(double d) {
  if (d == 0) d = 0;
  uint64_t u; std::memcpy(&u, &d, 8);
  return Mix64(u ^ 0x9e3779b97f4a7c15ULL);
}

// Run a per-morsel body over segments in parallel with fault guard, cancellation and progress.
// body(const Segment&, uint64_t r0, uint64_t r1, int thread) — must not throw.
// Returns E_TRUNCATED / E_CANCELLED statuses, or the first exception's (StatusOfCurrentException).
template <class Body>
Status ParallelScan(const std::vector<Segment>& segs, JobState* job, const std::string& what, Body&& body) {
  std::atomic<bool> fault{false};
  ErrorSlot error;
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t s = 0; s < static_cast<int64_t>(segs.size()); s++) {
    if (fault.load(std::memory_order_relaxed) || error.failed() ||
        job->cancelled.load(std::memory_order_relaxed))
      continue;
    const Segment& seg = segs[s];
#ifdef _OPENMP
    const int t = omp_get_thread_num();
#else
    const int t = 0;
#endif
    bool ok = true;
    try {
      ok = GuardedRun([&] { body(seg, seg.r0, seg.r1, t); });
    } catch (...) {
      error.Capture("reading " + what);
    }
    if (!ok) fault.store(true);
    job->done.fetch_add(seg.r1 - seg.r0, std::memory_order_relaxed);
  }
  if (fault.load()) return Status::Error("E_TRUNCATED", what + " was truncated (or became unreadable) while being read");
  if (error.failed()) return error.status();
  if (job->cancelled.load()) return Status::Error("E_CANCELLED", "cancelled");
  return Status::Ok();
}

}  // namespace cdx
