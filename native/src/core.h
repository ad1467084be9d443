// The part of the engine's shared infrastructure that needs no Node-API: error values (Status) and
// the classification of C++ exceptions into them, read-only memory mappings with a SIGBUS guard (a
// file truncated while mapped becomes E_TRUNCATED instead of killing the process), job state for
// progress/cancellation, numeric types and endian-aware loads. common.h adds the Node-API side.
//
// Why a header of its own: the parsers and the column validation are compiled without Node for
// the libFuzzer harnesses (native/fuzz/), which include this and never napi.h.
#pragma once

#include <atomic>
#include <csetjmp>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace cdx {

// ---------------------------------------------------------------------------------------------
// Errors as values
struct Status {
  std::string code;     // empty = ok
  std::string message;
  bool ok() const { return code.empty(); }
  static Status Ok() { return {}; }
  static Status Error(std::string c, std::string m) { return Status{std::move(c), std::move(m)}; }
};

// The exception being handled, as a Status (call only inside a catch block). `context` (a file,
// a column; may be empty) prefixes the message:
//   std::bad_alloc                                   -> E_NOMEM "out of memory"
//   std::length_error / out_of_range / invalid_argument / domain_error / range_error /
//   overflow_error / other std::runtime_error         -> E_CORRUPT with the exception's text (a
//                                                       size, index or value taken from the input
//                                                       that the standard library refused)
//   std::system_error                                -> E_IO with its text
//   any other std::exception                         -> E_INTERNAL with its text
//   anything else                                    -> E_INTERNAL "unknown native exception"
Status StatusOfCurrentException(const std::string& context);

// The first exception thrown by any thread of a parallel region, kept as a Status: each thread's
// catch (...) calls Capture(); the region's caller reads status() after the region (its barrier
// orders the writes). No exception may leave an OpenMP region: it would terminate the process.
class ErrorSlot {
 public:
  void Capture(const std::string& context) {
    if (!taken_.exchange(true)) st_ = StatusOfCurrentException(context);
  }
  bool failed() const { return taken_.load(); }
  const Status& status() const { return st_; }

 private:
  std::atomic<bool> taken_{false};
  Status st_;
};

// ---------------------------------------------------------------------------------------------
// Memory-mapped file. The fd stays open so the current size can be re-checked (fstat) before a
// scan; the mapping keeps a deleted file's data alive.
class MappedFile {
 public:
  static std::shared_ptr<MappedFile> Open(const std::string& path, Status* st);
  // A view of `size` bytes at `data` that the caller keeps alive, named `path`: no file, no
  // mapping (the fuzz harnesses hand it a heap buffer of the exact size, so AddressSanitizer
  // reports any read past its end, which a page-rounded mapping would hide).
  static std::shared_ptr<MappedFile> Borrow(const uint8_t* data, uint64_t size, const std::string& path);
  ~MappedFile();
  const uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }           // size at open time (= mapping length)
  const std::string& path() const { return path_; }
  // Current size of the file on disk (fstat on the open fd); a shrink means truncation.
  uint64_t CurrentSize() const;
  // Hints for a sequential scan / release of pages behind it (no-ops where unsupported).
  void AdviseSequential(uint64_t off, uint64_t len) const;
  void AdviseDontNeed(uint64_t off, uint64_t len) const;

 private:
  MappedFile() = default;
  std::string path_;
  int fd_ = -1;
  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
  bool mapped_ = false;  // data_ is our mapping (not a borrowed view)
};
using FilePtr = std::shared_ptr<MappedFile>;

// Checks [off, off+len) lies within the file (now and at map time); E_OUT_OF_RANGE / E_TRUNCATED.
Status CheckRange(const MappedFile& f, uint64_t off, uint64_t len, const char* what);

// A file given as a path string or as a handle from mapFile(); opened now if it is a handle,
// lazily (in Execute) if it is a path. (GetFileRef in common.h reads one from JS.)
struct FileRef {
  std::string path;
  FilePtr file;
  Status Resolve();  // opens by path if needed (worker thread OK)
};

// ---------------------------------------------------------------------------------------------
// SIGBUS guard. Each thread runs its chunk under GuardedRun; a SIGBUS raised in that thread while
// reading the mapping siglongjmps back into the same thread's frame (never across an OpenMP region
// boundary) and GuardedRun returns false. Partial results of that chunk are discarded.
struct FaultGuard {
  sigjmp_buf buf;
  volatile int active = 0;
};
void InstallFaultHandler();
FaultGuard*& CurrentGuard();

template <class F>
inline bool GuardedRun(F&& f) {
  FaultGuard g;
  FaultGuard*& slot = CurrentGuard();
  FaultGuard* prev = slot;
  slot = &g;
  bool ok = true;
  // the signal mask is not saved (sigsetjmp's 1 is a system call per call, and GuardedRun runs
  // once per morsel: in a VM that call was a tenth of a filter's time); the handler runs with
  // SIGBUS unblocked (SA_NODEFER), so jumping out of it leaves the mask as it was
  if (sigsetjmp(g.buf, 0) == 0) {
    g.active = 1;
    try {
      f();
    } catch (...) {
      g.active = 0;
      slot = prev;
      throw;
    }
    g.active = 0;
  } else {
    ok = false;
  }
  slot = prev;
  return ok;
}

// n with thousands separators ("17,179,869,184"), as the app and the CLI write counts: for messages.
inline std::string Thousands(uint64_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

// ---------------------------------------------------------------------------------------------
// Job state shared by a running kernel and the JS thread (polling, cancellation).
struct JobState {
  std::atomic<bool> cancelled{false};
  std::atomic<uint64_t> done{0};
  std::atomic<uint64_t> total{0};
};
using JobPtr = std::shared_ptr<JobState>;

// ---------------------------------------------------------------------------------------------
// Numeric types and endian-aware loads.
enum class DType : uint8_t { I8, I16, I32, I64, U8, U16, U32, U64, F32, F64, BOOL, INVALID };
DType ParseDType(const std::string& s);
const char* DTypeName(DType t);
int DTypeSize(DType t);  // bytes per value; BOOL = 0 (bit-packed)
inline bool IsFloat(DType t) { return t == DType::F32 || t == DType::F64; }
inline bool IsSigned(DType t) { return t <= DType::I64; }
inline bool IsUnsigned(DType t) { return t >= DType::U8 && t <= DType::U64; }

inline bool HostLittleEndian() {
  const uint16_t x = 1;
  return *reinterpret_cast<const uint8_t*>(&x) == 1;
}

template <class T>
inline T ByteSwap(T v) {
  if constexpr (sizeof(T) == 1) {
    return v;
  } else if constexpr (sizeof(T) == 2) {
    uint16_t u; std::memcpy(&u, &v, 2); u = __builtin_bswap16(u); std::memcpy(&v, &u, 2); return v;
  } else if constexpr (sizeof(T) == 4) {
    uint32_t u; std::memcpy(&u, &v, 4); u = __builtin_bswap32(u); std::memcpy(&v, &u, 4); return v;
  } else {
    uint64_t u; std::memcpy(&u, &v, 8); u = __builtin_bswap64(u); std::memcpy(&v, &u, 8); return v;
  }
}

template <class T, bool Swap>
inline T Load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  if constexpr (Swap) v = ByteSwap(v);
  return v;
}

// Calls f(T{}) with the C++ type of a numeric dtype; returns false for other types.
template <class F>
inline bool DispatchNumeric(DType t, F&& f) {
  switch (t) {
    case DType::I8: f(int8_t{}); return true;
    case DType::I16: f(int16_t{}); return true;
    case DType::I32: f(int32_t{}); return true;
    case DType::I64: f(int64_t{}); return true;
    case DType::U8: f(uint8_t{}); return true;
    case DType::U16: f(uint16_t{}); return true;
    case DType::U32: f(uint32_t{}); return true;
    case DType::U64: f(uint64_t{}); return true;
    case DType::F32: f(float{}); return true;
    case DType::F64: f(double{}); return true;
    default: return false;
  }
}

// Number of OpenMP threads kernels use.
int MaxThreads();

}  // namespace cdx
