// Implementation of the shared infrastructure declared in common.h.
#include "common.h"

#include <cerrno>
#include <cstdlib>
#include <csignal>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace cdx {

Napi::Error MakeError(Napi::Env env, const Status& s) {
  Napi::Error e = Napi::Error::New(env, s.message.empty() ? s.code : s.message);
  e.Value().Set("code", Napi::String::New(env, s.code));
  return e;
}

Napi::Value RejectedPromise(Napi::Env env, const Status& s) {
  auto d = Napi::Promise::Deferred::New(env);
  d.Reject(MakeError(env, s).Value());
  return d.Promise();
}

// ---------------------------------------------------------------------------------------------
std::shared_ptr<MappedFile> MappedFile::Open(const std::string& path, Status* st) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    std::string code = e == ENOENT ? "ENOENT" : e == EACCES ? "EACCES" : e == EISDIR ? "EISDIR" : "E_IO";
    *st = Status::Error(code, "cannot open " + path + ": " + std::strerror(e));
    return nullptr;
  }
  struct stat sb;
  if (fstat(fd, &sb) != 0) {
    int e = errno;
    ::close(fd);
    *st = Status::Error("E_IO", "cannot stat " + path + ": " + std::strerror(e));
    return nullptr;
  }
  if (S_ISDIR(sb.st_mode)) {
    ::close(fd);
    *st = Status::Error("EISDIR", path + " is a directory");
    return nullptr;
  }
  std::shared_ptr<MappedFile> f(new MappedFile());
  f->path_ = path;
  f->fd_ = fd;
  f->size_ = static_cast<uint64_t>(sb.st_size);
  if (f->size_ > 0) {
    void* p = mmap(nullptr, f->size_, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
      int e = errno;
      *st = Status::Error("E_IO", "cannot map " + path + ": " + std::strerror(e));
      return nullptr;  // destructor closes fd
    }
    f->data_ = static_cast<const uint8_t*>(p);
  }
  return f;
}

MappedFile::~MappedFile() {
  if (data_) munmap(const_cast<uint8_t*>(data_), size_);
  if (fd_ >= 0) ::close(fd_);
}

uint64_t MappedFile::CurrentSize() const {
  // Test hook: pretend the file still has its mapped size, so that tests reach the SIGBUS guard
  // deterministically (the early size check would otherwise catch a truncation first).
  static const bool skip = std::getenv("CDX_TEST_SKIP_SIZE_CHECK") != nullptr;
  if (skip) return size_;
  struct stat sb;
  if (fstat(fd_, &sb) != 0) return 0;
  return static_cast<uint64_t>(sb.st_size);
}

static uint64_t PageSize() {
  static uint64_t ps = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  return ps;
}

void MappedFile::AdviseSequential(uint64_t off, uint64_t len) const {
  if (!data_ || off >= size_) return;
  uint64_t a = off & ~(PageSize() - 1);
  uint64_t end = std::min(size_, off + len);
  madvise(const_cast<uint8_t*>(data_) + a, end - a, MADV_SEQUENTIAL);
}

void MappedFile::AdviseDontNeed(uint64_t off, uint64_t len) const {
  if (!data_ || off >= size_) return;
  // only whole pages inside the range
  uint64_t a = (off + PageSize() - 1) & ~(PageSize() - 1);
  uint64_t end = std::min(size_, off + len) & ~(PageSize() - 1);
  if (end > a) madvise(const_cast<uint8_t*>(data_) + a, end - a, MADV_DONTNEED);
}

Status CheckRange(const MappedFile& f, uint64_t off, uint64_t len, const char* what) {
  if (off > f.size() || len > f.size() - off) {
    return Status::Error("E_OUT_OF_RANGE", std::string(what) + " [" + std::to_string(off) + ", " +
                                               std::to_string(off + len) + ") lies past the end of " +
                                               f.path() + " (" + std::to_string(f.size()) + " bytes)");
  }
  uint64_t now = f.CurrentSize();
  if (off + len > now) {
    return Status::Error("E_TRUNCATED", f.path() + " was truncated to " + std::to_string(now) +
                                            " bytes while open; " + what + " needs " +
                                            std::to_string(off + len));
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
FaultGuard*& CurrentGuard() {
  static thread_local FaultGuard* g = nullptr;
  return g;
}

static struct sigaction g_prev_bus;
static std::atomic<bool> g_installed{false};

static void OnSigbus(int sig, siginfo_t* info, void* uc) {
  FaultGuard* g = CurrentGuard();
  if (g && g->active) {
    g->active = 0;
    siglongjmp(g->buf, 1);
  }
  // Not ours: hand over to the previous disposition.
  if (g_prev_bus.sa_flags & SA_SIGINFO) {
    if (g_prev_bus.sa_sigaction) { g_prev_bus.sa_sigaction(sig, info, uc); return; }
  } else if (g_prev_bus.sa_handler != SIG_DFL && g_prev_bus.sa_handler != SIG_IGN && g_prev_bus.sa_handler) {
    g_prev_bus.sa_handler(sig);
    return;
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

void InstallFaultHandler() {
  bool expected = false;
  if (!g_installed.compare_exchange_strong(expected, true)) return;
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = OnSigbus;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGBUS, &sa, &g_prev_bus);
}

// ---------------------------------------------------------------------------------------------
static void FinalizeJob(Napi::Env, JobPtr* p) { delete p; }

JobPtr GetJob(const Napi::Value& v) {
  if (v.IsExternal()) {
    auto ext = v.As<Napi::External<JobPtr>>();
    if (ext.Data()) return *ext.Data();
  }
  return std::make_shared<JobState>();
}

static Napi::Value CreateJob(const Napi::CallbackInfo& info) {
  return Napi::External<JobPtr>::New(info.Env(), new JobPtr(std::make_shared<JobState>()), FinalizeJob);
}
static Napi::Value CancelJob(const Napi::CallbackInfo& info) {
  if (info.Length() > 0 && info[0].IsExternal()) {
    auto* p = info[0].As<Napi::External<JobPtr>>().Data();
    if (p && *p) (*p)->cancelled.store(true);
  }
  return info.Env().Undefined();
}
static Napi::Value JobProgress(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto arr = Napi::Float64Array::New(env, 2);
  if (info.Length() > 0 && info[0].IsExternal()) {
    auto* p = info[0].As<Napi::External<JobPtr>>().Data();
    if (p && *p) {
      arr[0] = static_cast<double>((*p)->done.load());
      arr[1] = static_cast<double>((*p)->total.load());
    }
  }
  return arr;
}
static Export e_create("createJob", CreateJob);
static Export e_cancel("cancelJob", CancelJob);
static Export e_progress("jobProgress", JobProgress);

// ---------------------------------------------------------------------------------------------
Napi::Value PromiseWorker::Start(const Status& pre) {
  Napi::Env env = Env();
  Napi::Promise p = Promise();
  if (!pre.ok()) {
    deferred_.Reject(MakeError(env, pre).Value());
    delete this;  // never queued
    return p;
  }
  Queue();
  return p;
}

void PromiseWorker::Execute() {
  try {
    Run();
  } catch (const std::bad_alloc&) {
    status_ = Status::Error("E_NOMEM", "out of memory");
  } catch (const std::exception& e) {
    status_ = Status::Error("E_INTERNAL", e.what());
  } catch (...) {
    status_ = Status::Error("E_INTERNAL", "unknown native error");
  }
  if (status_.ok() && Cancelled()) status_ = Status::Error("E_CANCELLED", "cancelled");
}

void PromiseWorker::OnOK() {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  if (!status_.ok()) {
    deferred_.Reject(MakeError(env, status_).Value());
    return;
  }
  Napi::Value v = Result(env);
  if (env.IsExceptionPending()) {
    Napi::Error e = env.GetAndClearPendingException();
    deferred_.Reject(e.Value());
    return;
  }
  deferred_.Resolve(v);
}

void PromiseWorker::OnError(const Napi::Error& e) {
  Napi::HandleScope scope(Env());
  deferred_.Reject(e.Value());
}

// ---------------------------------------------------------------------------------------------
std::vector<std::pair<const char*, ExportFn>>& Exports() {
  static std::vector<std::pair<const char*, ExportFn>> list;
  return list;
}
Export::Export(const char* name, ExportFn fn) { Exports().emplace_back(name, fn); }

// ---------------------------------------------------------------------------------------------
static const char* kNames[] = {"int8",   "int16",  "int32",   "int64",   "uint8", "uint16",
                               "uint32", "uint64", "float32", "float64", "bool",  "invalid"};
DType ParseDType(const std::string& s) {
  for (int i = 0; i < static_cast<int>(DType::INVALID); i++)
    if (s == kNames[i]) return static_cast<DType>(i);
  return DType::INVALID;
}
const char* DTypeName(DType t) { return kNames[static_cast<int>(t)]; }
int DTypeSize(DType t) {
  switch (t) {
    case DType::I8: case DType::U8: return 1;
    case DType::I16: case DType::U16: return 2;
    case DType::I32: case DType::U32: case DType::F32: return 4;
    case DType::I64: case DType::U64: case DType::F64: return 8;
    default: return 0;
  }
}

int MaxThreads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

// ---------------------------------------------------------------------------------------------
bool GetU64(const Napi::Object& o, const char* key, uint64_t* out, Status* st, bool required) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) {
    if (required) *st = Status::Error("E_BAD_ARG", std::string("missing ") + key);
    return !required;
  }
  double d;
  if (v.IsNumber()) d = v.As<Napi::Number>().DoubleValue();
  else if (v.IsBigInt()) {
    bool lossless;
    *out = v.As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless) { *st = Status::Error("E_BAD_ARG", std::string(key) + " out of range"); return false; }
    return true;
  } else { *st = Status::Error("E_BAD_ARG", std::string(key) + " must be a number"); return false; }
  if (!(d >= 0) || d > 18446744073709549568.0 || d != static_cast<double>(static_cast<uint64_t>(d))) {
    *st = Status::Error("E_BAD_ARG", std::string(key) + " must be a non-negative integer");
    return false;
  }
  *out = static_cast<uint64_t>(d);
  return true;
}

bool GetF64(const Napi::Object& o, const char* key, double* out, Status* st, bool required) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) {
    if (required) *st = Status::Error("E_BAD_ARG", std::string("missing ") + key);
    return !required;
  }
  if (!v.IsNumber()) { *st = Status::Error("E_BAD_ARG", std::string(key) + " must be a number"); return false; }
  *out = v.As<Napi::Number>().DoubleValue();
  return true;
}

bool GetStr(const Napi::Object& o, const char* key, std::string* out, Status* st, bool required) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) {
    if (required) *st = Status::Error("E_BAD_ARG", std::string("missing ") + key);
    return !required;
  }
  if (!v.IsString()) { *st = Status::Error("E_BAD_ARG", std::string(key) + " must be a string"); return false; }
  *out = v.As<Napi::String>().Utf8Value();
  return true;
}

bool GetBool(const Napi::Object& o, const char* key, bool* out, bool dflt) {
  Napi::Value v = o.Get(key);
  *out = v.IsBoolean() ? v.As<Napi::Boolean>().Value() : dflt;
  return true;
}

Status FileRef::Resolve() {
  if (file) return Status::Ok();
  Status st;
  file = MappedFile::Open(path, &st);
  return st;
}

static void FinalizeFile(Napi::Env, FilePtr* p) { delete p; }

bool GetFileRef(const Napi::Value& v, FileRef* out, Status* st) {
  if (v.IsString()) { out->path = v.As<Napi::String>().Utf8Value(); return true; }
  if (v.IsExternal()) {
    auto* p = v.As<Napi::External<FilePtr>>().Data();
    if (p && *p) { out->file = *p; out->path = (*p)->path(); return true; }
    *st = Status::Error("E_CLOSED", "file handle was closed");
    return false;
  }
  *st = Status::Error("E_BAD_ARG", "file must be a path or a handle from mapFile()");
  return false;
}

// mapFile(path) -> { handle, size } synchronously (open + fstat + mmap: no data is read).
static Napi::Value MapFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    Napi::TypeError::New(env, "mapFile(path: string)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Status st;
  FilePtr f = MappedFile::Open(info[0].As<Napi::String>().Utf8Value(), &st);
  if (!st.ok()) {
    MakeError(env, st).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("handle", Napi::External<FilePtr>::New(env, new FilePtr(f), FinalizeFile));
  o.Set("size", Napi::Number::New(env, static_cast<double>(f->size())));
  return o;
}
// unmapFile(handle): drops this handle's reference now (running kernels keep their own).
static Napi::Value UnmapFile(const Napi::CallbackInfo& info) {
  if (info.Length() > 0 && info[0].IsExternal()) {
    auto* p = info[0].As<Napi::External<FilePtr>>().Data();
    if (p) p->reset();
  }
  return info.Env().Undefined();
}
static Export e_map("mapFile", MapFile);
static Export e_unmap("unmapFile", UnmapFile);

}  // namespace cdx
