// Shared infrastructure of the CDX native engine, Node-API side: error values as JS errors, the
// job handle passed from JS, a Promise-returning AsyncWorker base, JS argument helpers, and a
// registry through which each .cc file exports its functions. What needs no Node-API (Status,
// mappings, the SIGBUS guard, job state, dtypes) is in core.h, included here.
//
// Rules kept here for every kernel: inputs are copied into plain structs on the JS thread;
// Execute() never touches JS values; no C++ exception crosses Node-API or leaves an OpenMP region.
#pragma once

#include <napi.h>

#include "core.h"

namespace cdx {

// ---------------------------------------------------------------------------------------------
// Errors as JS values (a `code` property)
Napi::Error MakeError(Napi::Env env, const Status& s);

// ---------------------------------------------------------------------------------------------
// The job handle passed from JS (an External made by createJob) or a fresh one.
JobPtr GetJob(const Napi::Value& v);

// ---------------------------------------------------------------------------------------------
// AsyncWorker that settles a Promise. Subclasses implement Run() (worker thread, no JS) and
// Result() (JS thread). Any C++ exception from Run() becomes an error value, classified by
// StatusOfCurrentException (core.h): bad_alloc is E_NOMEM, a refused size or index E_CORRUPT.
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

// JS argument helpers (JS thread only). They never throw; a bad argument yields a Status.
bool GetU64(const Napi::Object& o, const char* key, uint64_t* out, Status* st, bool required = true);
bool GetF64(const Napi::Object& o, const char* key, double* out, Status* st, bool required = true);
bool GetStr(const Napi::Object& o, const char* key, std::string* out, Status* st, bool required = true);
bool GetBool(const Napi::Object& o, const char* key, bool* out, bool dflt);

// A FileRef (core.h) from a path string or a mapFile() handle.
bool GetFileRef(const Napi::Value& v, FileRef* out, Status* st);

}  // namespace cdx
