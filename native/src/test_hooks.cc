// Test hook: testThrow(kind, where) -> a Promise rejected with what the engine makes of a C++
// exception of that kind thrown in a worker's Run() (where 'worker') or by one thread of a
// parallel scan (where 'parallel'). It exercises the classification of exceptions at the addon's
// boundary (core.h StatusOfCurrentException, ErrorSlot) through the binding, the only way to reach
// the branches no well-formed input reaches. It reads no file and holds no state.
#include <new>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "columns.h"
#include "common.h"

namespace cdx {
namespace {

// Throws an exception of `kind`; where the standard library itself throws it, it does.
[[noreturn]] void ThrowKind(const std::string& kind) {
  if (kind == "bad_alloc") throw std::bad_alloc();
  if (kind == "length_error") {
    std::vector<uint64_t> v;
    v.reserve(v.max_size() + 1);  // the library's own length_error
  }
  if (kind == "out_of_range") {
    std::string s;
    (void)s.at(1);  // the library's own out_of_range
  }
  if (kind == "invalid_argument") (void)std::stoi("not a number");
  if (kind == "runtime_error") throw std::runtime_error("test: a runtime error");
  if (kind == "system_error") throw std::system_error(std::make_error_code(std::errc::io_error), "test");
  if (kind == "exception") throw std::exception();
  throw 42;  // "other": not a std::exception at all
}

class ThrowWorker : public PromiseWorker {
 public:
  ThrowWorker(Napi::Env env) : PromiseWorker(env, "cdx.testThrow") {}
  std::string kind;
  bool parallel = false;
  void Run() override {
    if (!parallel) ThrowKind(kind);
    std::vector<Segment> segs;
    for (uint64_t r = 0; r < 64; r++) segs.push_back(Segment{r, r + 1, {}});
    status_ = ParallelScan(segs, job_.get(), "test", [&](const Segment&, uint64_t r0, uint64_t, int) {
      if (r0 == 37) ThrowKind(kind);
    });
  }
  Napi::Value Result(Napi::Env env) override { return env.Undefined(); }
};

Napi::Value TestThrow(const Napi::CallbackInfo& info) {
  auto* w = new ThrowWorker(info.Env());
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsString())
    return w->Start(Status::Error("E_BAD_ARG", "testThrow(kind: string, where: 'worker' | 'parallel')"));
  w->kind = info[0].As<Napi::String>().Utf8Value();
  w->parallel = info[1].As<Napi::String>().Utf8Value() == "parallel";
  return w->Start();
}

Export e_throw("testThrow", TestThrow);

}  // namespace
}  // namespace cdx
