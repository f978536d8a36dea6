// N-API bindings of the pointwise conv backward (pointwise.cc): validate, then call.
#include <string>

#include "kernels.h"
#include "napi_util.h"

namespace hafif {
namespace {

ConvGeom pointwise_geom_arg(const Napi::CallbackInfo& info, size_t i, const char* k) {
  auto v = ints_arg(info, i, k, "geom");
  if (v.size() != 15) throw kernel_error(info.Env(), k, "geom must have 15 integers, got " + shape_str(v));
  expect_geom_range(info.Env(), k, v);
  return ConvGeom{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13], v[14]};
}

// pointwiseBackwardApplies(geom): whether pointwiseBackward takes this conv2d geometry.
Napi::Value PointwiseBackwardApplies(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), pointwise_backward_applies(pointwise_geom_arg(info, 0, "pointwiseBackwardApplies")));
}

// pointwiseBackward(x, dy, filter, dx | null, dw, geom): dw and (when given) dx of a pointwise conv,
// the values conv2dBackpropFilter and conv2dBackpropInput give it.
Napi::Value PointwiseBackward(const Napi::CallbackInfo& info) {
  const char* k = "pointwiseBackward";
  F32 x = f32_arg(info, 0, k, "x"), dy = f32_arg(info, 1, k, "dy"), w = f32_arg(info, 2, k, "filter");
  const bool hasDx = info.Length() > 3 && !info[3].IsNull() && !info[3].IsUndefined();
  F32 dx{nullptr, 0};
  if (hasDx) dx = f32_arg(info, 3, k, "dx");
  F32 dw = f32_arg(info, 4, k, "dw");
  const ConvGeom g = pointwise_geom_arg(info, 5, k);
  if (!pointwise_backward_applies(g)) {
    throw kernel_error(info.Env(), k, "needs a 1x1 stride-1 unpadded conv with inC and outC divisible by 16 and at most " +
                                          std::to_string(kPointwiseMaxWeights) + " filter values, got geom " +
                                          shape_str(ints_arg(info, 5, k, "geom")));
  }
  const int64_t xn = checked_numel(info.Env(), k, "x", {g.batch, g.inH, g.inW, g.inC});
  expect_length(info.Env(), k, "x", x.length, xn);
  expect_length(info.Env(), k, "dy", dy.length, checked_numel(info.Env(), k, "dy", {g.batch, g.outH, g.outW, g.outC}));
  expect_length(info.Env(), k, "filter", w.length, g.inC * g.outC);
  expect_length(info.Env(), k, "dw", dw.length, g.inC * g.outC);
  if (hasDx) {
    expect_length(info.Env(), k, "dx", dx.length, xn);
    if (dx.data == dy.data || dx.data == x.data || dx.data == w.data) {
      throw kernel_error(info.Env(), k, "dx shares memory with x, dy or filter");
    }
  }
  if (dw.data == dy.data || dw.data == x.data || dw.data == w.data) {
    throw kernel_error(info.Env(), k, "dw shares memory with x, dy or filter");
  }
  pointwise_backward(g, x.data, dy.data, w.data, hasDx ? dx.data : nullptr, dw.data);
  return info.Env().Undefined();
}

}  // namespace

void InitPointwise(Napi::Env env, Napi::Object exports) {
  exports.Set("pointwiseBackwardApplies", Napi::Function::New(env, PointwiseBackwardApplies, "pointwiseBackwardApplies"));
  exports.Set("pointwiseBackward", Napi::Function::New(env, PointwiseBackward, "pointwiseBackward"));
}

}  // namespace hafif
