// N-API bindings for the activation gradients: validate, then call the pure kernels in activation_grad.cc.
#include <limits>

#include "kernels.h"
#include "napi_util.h"

namespace hafif {
namespace {

// reluGrad(x, dy, dx, maxValue?): maxValue omitted or null = no upper clip.
Napi::Value ReluGrad(const Napi::CallbackInfo& info) {
  const char* k = "reluGrad";
  F32 x = f32_arg(info, 0, k, "x"), dy = f32_arg(info, 1, k, "dy"), dx = f32_arg(info, 2, k, "dx");
  expect_length(info.Env(), k, "dy", dy.length, static_cast<int64_t>(x.length));
  expect_length(info.Env(), k, "dx", dx.length, static_cast<int64_t>(x.length));
  float max_value = std::numeric_limits<float>::infinity();
  if (info.Length() > 3 && !info[3].IsUndefined() && !info[3].IsNull()) {
    max_value = static_cast<float>(num_arg(info, 3, k, "maxValue"));
  }
  relu_grad(x.data, dy.data, dx.data, static_cast<int64_t>(x.length), max_value);
  return info.Env().Undefined();
}

// leakyReluGrad(x, dy, dx, alpha)
Napi::Value LeakyReluGrad(const Napi::CallbackInfo& info) {
  const char* k = "leakyReluGrad";
  F32 x = f32_arg(info, 0, k, "x"), dy = f32_arg(info, 1, k, "dy"), dx = f32_arg(info, 2, k, "dx");
  expect_length(info.Env(), k, "dy", dy.length, static_cast<int64_t>(x.length));
  expect_length(info.Env(), k, "dx", dx.length, static_cast<int64_t>(x.length));
  const float alpha = static_cast<float>(num_arg(info, 3, k, "alpha"));
  leaky_relu_grad(x.data, dy.data, dx.data, static_cast<int64_t>(x.length), alpha);
  return info.Env().Undefined();
}

// clipByValueGrad(x, dy, dx, lo, hi)
Napi::Value ClipByValueGrad(const Napi::CallbackInfo& info) {
  const char* k = "clipByValueGrad";
  F32 x = f32_arg(info, 0, k, "x"), dy = f32_arg(info, 1, k, "dy"), dx = f32_arg(info, 2, k, "dx");
  expect_length(info.Env(), k, "dy", dy.length, static_cast<int64_t>(x.length));
  expect_length(info.Env(), k, "dx", dx.length, static_cast<int64_t>(x.length));
  const float lo = static_cast<float>(num_arg(info, 3, k, "lo")), hi = static_cast<float>(num_arg(info, 4, k, "hi"));
  clip_by_value_grad(x.data, dy.data, dx.data, static_cast<int64_t>(x.length), lo, hi);
  return info.Env().Undefined();
}

}  // namespace

void InitActivationGrad(Napi::Env env, Napi::Object exports) {
  exports.Set("reluGrad", Napi::Function::New(env, ReluGrad, "reluGrad"));
  exports.Set("leakyReluGrad", Napi::Function::New(env, LeakyReluGrad, "leakyReluGrad"));
  exports.Set("clipByValueGrad", Napi::Function::New(env, ClipByValueGrad, "clipByValueGrad"));
}

}  // namespace hafif
