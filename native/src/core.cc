// Implementation of the Node-API-free infrastructure declared in core.h: exception
// classification, mappings, the SIGBUS guard, dtypes.
#include "core.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <new>
#include <stdexcept>
#include <sys/mman.h>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

namespace cdx {

// ---------------------------------------------------------------------------------------------
Status StatusOfCurrentException(const std::string& context) {
  const std::string pre = context.empty() ? std::string() : context + ": ";
  try {
    throw;
  } catch (const std::bad_alloc&) {
    return Status::Error("E_NOMEM", pre + "out of memory");
  } catch (const std::system_error& e) {
    return Status::Error("E_IO", pre + e.what());
  } catch (const std::length_error& e) {
    return Status::Error("E_CORRUPT", pre + "a size the file declares was refused (" + e.what() + ")");
  } catch (const std::out_of_range& e) {
    return Status::Error("E_CORRUPT", pre + "an index or offset outside the data (" + e.what() + ")");
  } catch (const std::invalid_argument& e) {
    return Status::Error("E_CORRUPT", pre + "a value that cannot be read (" + e.what() + ")");
  } catch (const std::logic_error& e) {  // domain_error, future_error...
    return Status::Error("E_INTERNAL", pre + e.what());
  } catch (const std::runtime_error& e) {  // range_error, overflow_error, ...
    return Status::Error("E_CORRUPT", pre + e.what());
  } catch (const std::exception& e) {
    return Status::Error("E_INTERNAL", pre + "native error: " + e.what());
  } catch (...) {
    return Status::Error("E_INTERNAL", pre + "unknown native exception");
  }
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
    f->mapped_ = true;
  }
  return f;
}

std::shared_ptr<MappedFile> MappedFile::Borrow(const uint8_t* data, uint64_t size, const std::string& path) {
  std::shared_ptr<MappedFile> f(new MappedFile());
  f->path_ = path;
  f->data_ = data;
  f->size_ = size;
  return f;
}

MappedFile::~MappedFile() {
  if (data_ && mapped_) munmap(const_cast<uint8_t*>(data_), size_);
  if (fd_ >= 0) ::close(fd_);
}

uint64_t MappedFile::CurrentSize() const {
  // Test hook: pretend the file still has its mapped size, so that tests reach the SIGBUS guard
  // deterministically (the early size check would otherwise catch a truncation first).
  static const bool skip = std::getenv("CDX_TEST_SKIP_SIZE_CHECK") != nullptr;
  if (skip || fd_ < 0) return size_;
  struct stat sb;
  if (fstat(fd_, &sb) != 0) return 0;
  return static_cast<uint64_t>(sb.st_size);
}

static uint64_t PageSize() {
  static uint64_t ps = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  return ps;
}

void MappedFile::AdviseSequential(uint64_t off, uint64_t len) const {
  if (!data_ || !mapped_ || off >= size_) return;
  uint64_t a = off & ~(PageSize() - 1);
  uint64_t end = std::min(size_, off + len);
  madvise(const_cast<uint8_t*>(data_) + a, end - a, MADV_SEQUENTIAL);
}

void MappedFile::AdviseDontNeed(uint64_t off, uint64_t len) const {
  if (!data_ || !mapped_ || off >= size_) return;
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
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;  // see GuardedRun
  sigemptyset(&sa.sa_mask);
  sigaction(SIGBUS, &sa, &g_prev_bus);
}

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

Status FileRef::Resolve() {
  if (file) return Status::Ok();
  Status st;
  file = MappedFile::Open(path, &st);
  return st;
}

}  // namespace cdx
