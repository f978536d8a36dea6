// N-API bindings for the pool kernels: validate, then call the pure kernels.
// Every function takes geom = [batch, inH, inW, channels, outH, outW, filterH, filterW, strideH,
// strideW, padTop, padLeft] (from tfjs computePool2DInfo) after its arrays.
#include <string>

#include "kernels.h"
#include "bind_pool_geom.h"
#include "napi_util.h"

namespace hafif {
namespace {

std::string in_shape(const Pool2DGeom& g) { return shape_str({g.batch, g.inH, g.inW, g.channels}); }
std::string out_shape(const Pool2DGeom& g) { return shape_str({g.batch, g.outH, g.outW, g.channels}); }

void expect_in(Napi::Env env, const char* k, const char* name, const F32& a, const Pool2DGeom& g) {
  if (static_cast<int64_t>(a.length) != checked_numel(env, k, name, {g.batch, g.inH, g.inW, g.channels})) {
    throw kernel_error(env, k, std::string(name) + " has " + std::to_string(a.length) + " elements, expected input shape " +
                                   in_shape(g));
  }
}

void expect_out(Napi::Env env, const char* k, const char* name, const F32& a, const Pool2DGeom& g) {
  if (static_cast<int64_t>(a.length) != checked_numel(env, k, name, {g.batch, g.outH, g.outW, g.channels})) {
    throw kernel_error(env, k, std::string(name) + " has " + std::to_string(a.length) +
                                   " elements, expected output shape " + out_shape(g));
  }
}

// maxPool(x, y, geom) / avgPool(x, y, geom)
template <void (*Kernel)(const Pool2DGeom&, const float*, float*)>
Napi::Value Forward(const Napi::CallbackInfo& info, const char* k) {
  F32 x = f32_arg(info, 0, k, "x"), y = f32_arg(info, 1, k, "y");
  Pool2DGeom g = pool_geom_arg(info, 2, k);
  expect_in(info.Env(), k, "x", x, g);
  expect_out(info.Env(), k, "y", y, g);
  if (y.length == 0) return info.Env().Undefined();
  if (x.length == 0) throw kernel_error(info.Env(), k, "x is empty but y is not, geom input " + in_shape(g));
  Kernel(g, x.data, y.data);
  return info.Env().Undefined();
}

Napi::Value MaxPool(const Napi::CallbackInfo& info) { return Forward<max_pool>(info, "MaxPool"); }
Napi::Value AvgPool(const Napi::CallbackInfo& info) { return Forward<avg_pool>(info, "AvgPool"); }

// maxPoolGrad(x, dy, dx, geom)
Napi::Value MaxPoolGrad(const Napi::CallbackInfo& info) {
  const char* k = "MaxPoolGrad";
  F32 x = f32_arg(info, 0, k, "x"), dy = f32_arg(info, 1, k, "dy"), dx = f32_arg(info, 2, k, "dx");
  Pool2DGeom g = pool_geom_arg(info, 3, k);
  expect_in(info.Env(), k, "x", x, g);
  expect_out(info.Env(), k, "dy", dy, g);
  expect_in(info.Env(), k, "dx", dx, g);
  if (empty_output(dx.data, dx.length, dy.length == 0)) return info.Env().Undefined();
  max_pool_grad(g, x.data, dy.data, dx.data);
  return info.Env().Undefined();
}

// avgPoolGrad(dy, dx, geom)
Napi::Value AvgPoolGrad(const Napi::CallbackInfo& info) {
  const char* k = "AvgPoolGrad";
  F32 dy = f32_arg(info, 0, k, "dy"), dx = f32_arg(info, 1, k, "dx");
  Pool2DGeom g = pool_geom_arg(info, 2, k);
  expect_out(info.Env(), k, "dy", dy, g);
  expect_in(info.Env(), k, "dx", dx, g);
  if (empty_output(dx.data, dx.length, dy.length == 0)) return info.Env().Undefined();
  avg_pool_grad(g, dy.data, dx.data);
  return info.Env().Undefined();
}

}  // namespace

void InitPool(Napi::Env env, Napi::Object exports) {
  exports.Set("maxPool", Napi::Function::New(env, MaxPool, "maxPool"));
  exports.Set("avgPool", Napi::Function::New(env, AvgPool, "avgPool"));
  exports.Set("maxPoolGrad", Napi::Function::New(env, MaxPoolGrad, "maxPoolGrad"));
  exports.Set("avgPoolGrad", Napi::Function::New(env, AvgPoolGrad, "avgPoolGrad"));
}

}  // namespace hafif
