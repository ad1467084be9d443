// Module entry: installs the SIGBUS guard and exports every function registered with cdx::Export,
// plus nativeInfo().
#include "common.h"

#ifndef CDX_NATIVE_VERSION
#define CDX_NATIVE_VERSION "0.1.0"
#endif

namespace cdx {

static Napi::Value NativeInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
#ifdef _OPENMP
  o.Set("openmp", Napi::Boolean::New(env, true));
#else
  o.Set("openmp", Napi::Boolean::New(env, false));
#endif
  o.Set("threads", Napi::Number::New(env, MaxThreads()));
  o.Set("version", Napi::String::New(env, CDX_NATIVE_VERSION));
  return o;
}
static Export e_info("nativeInfo", NativeInfo);

}  // namespace cdx

static Napi::Object InitCdx(Napi::Env env, Napi::Object exports) {
  cdx::InstallFaultHandler();
  for (auto& [name, fn] : cdx::Exports()) exports.Set(name, Napi::Function::New(env, fn, name));
  return exports;
}

NODE_API_MODULE(cdx_native, InitCdx)
