// Implementation of the Node-API side of the shared infrastructure declared in common.h
// (core.cc holds the rest).
#include "common.h"

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
  } catch (...) {
    status_ = StatusOfCurrentException("");
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
