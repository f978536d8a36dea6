// N-API entry point: each kernel family registers its functions on the exports object.
#include <napi.h>

#include <atomic>
#include <new>
#include <stdexcept>
#include <string>

#include "isa.h"
#include "napi_util.h"
#include "parallel.h"

namespace hafif {
void InitGemm(Napi::Env env, Napi::Object exports);
void InitDepthwise(Napi::Env env, Napi::Object exports);
void InitSmallConv(Napi::Env env, Napi::Object exports);
void InitConv(Napi::Env env, Napi::Object exports);
void InitPool(Napi::Env env, Napi::Object exports);
void InitElementwise(Napi::Env env, Napi::Object exports);
void InitReduce(Napi::Env env, Napi::Object exports);
void InitOptim(Napi::Env env, Napi::Object exports);
void InitBatchNorm(Napi::Env env, Napi::Object exports);
void InitActivationGrad(Napi::Env env, Napi::Object exports);
void InitPoolPositions(Napi::Env env, Napi::Object exports);
void InitPointwise(Napi::Env env, Napi::Object exports);
}  // namespace hafif

namespace {

Napi::Value NumThreads(const Napi::CallbackInfo& info) {
  if (info.Length() > 0 && !info[0].IsUndefined()) {
    const int64_t n = hafif::int_arg(info, 0, "numThreads", "n");
    if (n < 1 || n > 1024) throw hafif::kernel_error(info.Env(), "numThreads", "n must be in [1, 1024], got " + std::to_string(n));
    hafif::set_num_threads(static_cast<int>(n));
  }
  return Napi::Number::New(info.Env(), hafif::num_threads());
}

// parallelSelfTest(n, throwAt): a parallel_for over [0, n) in chunks of one index; the chunk
// holding index throwAt throws (a std::runtime_error, or std::bad_alloc when `badAlloc`). Returns
// the sum of the indices visited, for tests of the pool's exception path and of concurrent callers.
Napi::Value ParallelSelfTest(const Napi::CallbackInfo& info) {
  const char* k = "parallelSelfTest";
  const int64_t n = hafif::int_arg(info, 0, k, "n"), throw_at = hafif::int_arg(info, 1, k, "throwAt");
  const bool bad_alloc = info.Length() > 2 && info[2].ToBoolean();
  if (n < 0 || n > (int64_t{1} << 30)) throw hafif::kernel_error(info.Env(), k, "n out of range: " + std::to_string(n));
  std::atomic<int64_t> sum{0};
  hafif::parallel_for(n, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      if (i == throw_at) {
        if (bad_alloc) throw std::bad_alloc();
        throw std::runtime_error("parallelSelfTest: chunk " + std::to_string(i) + " threw");
      }
      sum.fetch_add(i, std::memory_order_relaxed);
    }
  });
  return Napi::Number::New(info.Env(), static_cast<double>(sum.load()));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("numThreads", Napi::Function::New(env, NumThreads, "numThreads"));
  exports.Set("isa", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
    return Napi::String::New(info.Env(), hafif::isa_name(hafif::active_isa()));
  }, "isa"));
  exports.Set("isaNote", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
    return Napi::String::New(info.Env(), hafif::isa_note());
  }, "isaNote"));
  exports.Set("parallelSelfTest", Napi::Function::New(env, ParallelSelfTest, "parallelSelfTest"));
  hafif::InitGemm(env, exports);
  hafif::InitDepthwise(env, exports);
  hafif::InitSmallConv(env, exports);
  hafif::InitConv(env, exports);
  hafif::InitPool(env, exports);
  hafif::InitElementwise(env, exports);
  hafif::InitReduce(env, exports);
  hafif::InitOptim(env, exports);
  hafif::InitBatchNorm(env, exports);
  hafif::InitActivationGrad(env, exports);
  hafif::InitPoolPositions(env, exports);
  hafif::InitPointwise(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(hafif_native, Init)
