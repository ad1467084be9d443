// Shared infrastructure of the CDX native engine: error values (Status), read-only memory
// mappings with a SIGBUS guard (a file truncated while mapped becomes E_TRUNCATED instead of
// killing the process), job state for progress/cancellation polled from JS, a Promise-returning
// AsyncWorker base, and a registry through which each .cc file exports its functions.
//
// Rules kept here for every kernel: inputs are copied into plain structs on the JS thread;
// Execute() never touches JS values; no C++ exception crosses Node-API or leaves an OpenMP region.
#pragma once

#include <napi.h>

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

Napi::Error MakeError(Napi::Env env, const Status& s);

// ---------------------------------------------------------------------------------------------
// Memory-mapped file. The fd stays open so the current size can be re-checked (fstat) before a
// scan; the mapping keeps a deleted file's data alive.
class MappedFile {
 public:
  static std::shared_ptr<MappedFile> Open(const std::string& path, Status* st);
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
};
using FilePtr = std::shared_ptr<MappedFile>;

// Checks [off, off+len) lies within the file (now and at map time); E_OUT_OF_RANGE / E_TRUNCATED.
Status CheckRange(const MappedFile& f, uint64_t off, uint64_t len, const char* what);

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
  if (sigsetjmp(g.buf, 1) == 0) {
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

// ---------------------------------------------------------------------------------------------
// Job state shared by a running kernel and the JS thread (polling, cancellation).
struct JobState {
  std::atomic<bool> cancelled{false};
  std::atomic<uint64_t> done{0};
  std::atomic<uint64_t> total{0};
};
using JobPtr = std::shared_ptr<JobState>;
// The job handle passed from JS (an External made by createJob) or a fresh one.
JobPtr GetJob(const Napi::Value& v);

// ---------------------------------------------------------------------------------------------
// AsyncWorker that settles a Promise. Subclasses implement Run() (worker thread, no JS) and
// Result() (JS thread). Any C++ exception from Run() becomes an error value.
class PromiseWorker : public Napi::AsyncWorker {
 public:
  PromiseWorker(Napi::Env env, const char* name)
      : Napi::AsyncWorker(env, name), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() const { return deferred_.Promise(); }
  // Queue and return the promise (or reject immediately if `pre` is an error).
  Napi::Value Start(const Status& pre = Status::Ok());

 protected:
  virtual void Run() = 0;
  virtual Napi::Value Result(Napi::Env env) = 0;
  void Execute() override;
  void OnOK() override;
  void OnError(const Napi::Error& e) override;
  Status status_;
  JobPtr job_ = std::make_shared<JobState>();
  bool Cancelled() const { return job_->cancelled.load(std::memory_order_relaxed); }

 private:
  Napi::Promise::Deferred deferred_;
};

Napi::Value RejectedPromise(Napi::Env env, const Status& s);

// ---------------------------------------------------------------------------------------------
// Export registry: `static Export e("name", fn);` in any .cc file.
using ExportFn = Napi::Value (*)(const Napi::CallbackInfo&);
struct Export {
  Export(const char* name, ExportFn fn);
};
std::vector<std::pair<const char*, ExportFn>>& Exports();

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

// JS argument helpers (JS thread only). They never throw; a bad argument yields a Status.
bool GetU64(const Napi::Object& o, const char* key, uint64_t* out, Status* st, bool required = true);
bool GetF64(const Napi::Object& o, const char* key, double* out, Status* st, bool required = true);
bool GetStr(const Napi::Object& o, const char* key, std::string* out, Status* st, bool required = true);
bool GetBool(const Napi::Object& o, const char* key, bool* out, bool dflt);

// A file given as a path string or as a handle from mapFile(); opened now if it is a handle,
// lazily (in Execute) if it is a path.
struct FileRef {
  std::string path;
  FilePtr file;
  Status Resolve();  // opens by path if needed (worker thread OK)
};
bool GetFileRef(const Napi::Value& v, FileRef* out, Status* st);

}  // namespace cdx
