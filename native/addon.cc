// N-API entry point: each kernel family registers its functions on the exports object.
#include <napi.h>

#include "parallel.h"

namespace hafif {
void InitGemm(Napi::Env env, Napi::Object exports);
void InitDepthwise(Napi::Env env, Napi::Object exports);
void InitConv(Napi::Env env, Napi::Object exports);
void InitPool(Napi::Env env, Napi::Object exports);
void InitElementwise(Napi::Env env, Napi::Object exports);
void InitReduce(Napi::Env env, Napi::Object exports);
void InitOptim(Napi::Env env, Napi::Object exports);
void InitBatchNorm(Napi::Env env, Napi::Object exports);
}  // namespace hafif

namespace {

Napi::Value NumThreads(const Napi::CallbackInfo& info) {
  if (info.Length() > 0 && info[0].IsNumber()) hafif::set_num_threads(info[0].As<Napi::Number>().Int32Value());
  return Napi::Number::New(info.Env(), hafif::num_threads());
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("numThreads", Napi::Function::New(env, NumThreads, "numThreads"));
  hafif::InitGemm(env, exports);
  hafif::InitDepthwise(env, exports);
  hafif::InitConv(env, exports);
  hafif::InitPool(env, exports);
  hafif::InitElementwise(env, exports);
  hafif::InitReduce(env, exports);
  hafif::InitOptim(env, exports);
  hafif::InitBatchNorm(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(hafif_native, Init)
