// N-API bindings for the depthwise conv kernels (depthwise.cc): validate, then call.
#include <string>

#include "kernels.h"
#include "napi_util.h"

namespace hafif {
namespace {

// geom = [batch, inH, inW, inC, outH, outW, chMul, filterH, filterW, strideH, strideW, dilationH,
// dilationW, padTop, padLeft]
DepthwiseGeom geom_arg(const Napi::CallbackInfo& info, size_t i, const char* k) {
  auto v = ints_arg(info, i, k, "geom");
  if (v.size() != 15) throw kernel_error(info.Env(), k, "geom must have 15 integers, got " + shape_str(v));
  expect_geom_range(info.Env(), k, v);
  DepthwiseGeom g{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13], v[14]};
  const bool ok = g.batch >= 0 && g.inH >= 0 && g.inW >= 0 && g.inC >= 0 && g.outH >= 0 && g.outW >= 0 &&
                  g.chMul >= 1 && g.filterH >= 1 && g.filterW >= 1 && g.strideH >= 1 && g.strideW >= 1 &&
                  g.dilationH >= 1 && g.dilationW >= 1;
  if (!ok) throw kernel_error(info.Env(), k, "bad geom " + shape_str(v));
  return g;
}

// Element counts; an overflowing product is an error naming the kernel.
int64_t x_size(Napi::Env env, const char* k, const DepthwiseGeom& g) {
  return checked_numel(env, k, "x", {g.batch, g.inH, g.inW, g.inC});
}
int64_t y_size(Napi::Env env, const char* k, const DepthwiseGeom& g) {
  return checked_numel(env, k, "out", {g.batch, g.outH, g.outW, g.inC, g.chMul});
}
int64_t w_size(Napi::Env env, const char* k, const DepthwiseGeom& g) {
  return checked_numel(env, k, "filter", {g.filterH, g.filterW, g.inC, g.chMul});
}

// depthwiseConv2d(x, filter, out, geom, bias = null, activation = 'linear', leakyreluAlpha = 0)
Napi::Value Forward(const Napi::CallbackInfo& info) {
  const char* k = "DepthwiseConv2dNative";
  F32 x = f32_arg(info, 0, k, "x"), w = f32_arg(info, 1, k, "filter"), y = f32_arg(info, 2, k, "out");
  const DepthwiseGeom g = geom_arg(info, 3, k);
  const bool hasBias = info.Length() > 4 && !info[4].IsNull() && !info[4].IsUndefined();
  F32 bias{nullptr, 0};
  if (hasBias) bias = f32_arg(info, 4, k, "bias");
  const ConvActivation act = activation_arg(info, 5, k);
  const float alpha = info.Length() > 6 ? static_cast<float>(num_arg(info, 6, k, "leakyreluAlpha")) : 0.f;
  expect_length(info.Env(), k, "x", x.length, x_size(info.Env(), k, g));
  expect_length(info.Env(), k, "filter", w.length, w_size(info.Env(), k, g));
  expect_length(info.Env(), k, "out", y.length, y_size(info.Env(), k, g));
  if (hasBias) expect_length(info.Env(), k, "bias", bias.length, g.inC * g.chMul);
  if (y.length == 0) return info.Env().Undefined();
  if (x.length == 0 || w.length == 0) throw kernel_error(info.Env(), k, "x or filter is empty but out is not");
  depthwise_conv2d(g, x.data, w.data, hasBias ? bias.data : nullptr, act, alpha, y.data);
  return info.Env().Undefined();
}

// depthwiseImpl() -> 'blocked' | 'general'; depthwiseImpl(name) picks the 3×3 kernels' implementation.
Napi::Value Impl(const Napi::CallbackInfo& info) {
  if (info.Length() > 0 && !info[0].IsUndefined()) {
    const std::string s = info[0].IsString() ? std::string(info[0].As<Napi::String>()) : std::string("?");
    if (s != "blocked" && s != "general") {
      throw kernel_error(info.Env(), "depthwiseImpl", "expected 'blocked' or 'general', got " + s);
    }
    depthwise_set_blocked(s == "blocked");
  }
  return Napi::String::New(info.Env(), depthwise_blocked() ? "blocked" : "general");
}

// depthwiseConv2dBackpropInput(dy, filter, dx, geom)
Napi::Value BackpropInput(const Napi::CallbackInfo& info) {
  const char* k = "DepthwiseConv2dNativeBackpropInput";
  F32 dy = f32_arg(info, 0, k, "dy"), w = f32_arg(info, 1, k, "filter"), dx = f32_arg(info, 2, k, "dx");
  const DepthwiseGeom g = geom_arg(info, 3, k);
  expect_length(info.Env(), k, "dy", dy.length, y_size(info.Env(), k, g));
  expect_length(info.Env(), k, "filter", w.length, w_size(info.Env(), k, g));
  expect_length(info.Env(), k, "dx", dx.length, x_size(info.Env(), k, g));
  if (empty_output(dx.data, dx.length, dy.length == 0 || w.length == 0)) return info.Env().Undefined();
  depthwise_conv2d_backprop_input(g, dy.data, w.data, dx.data);
  return info.Env().Undefined();
}

// depthwiseConv2dBackpropFilter(x, dy, dw, geom)
Napi::Value BackpropFilter(const Napi::CallbackInfo& info) {
  const char* k = "DepthwiseConv2dNativeBackpropFilter";
  F32 x = f32_arg(info, 0, k, "x"), dy = f32_arg(info, 1, k, "dy"), dw = f32_arg(info, 2, k, "dw");
  const DepthwiseGeom g = geom_arg(info, 3, k);
  expect_length(info.Env(), k, "x", x.length, x_size(info.Env(), k, g));
  expect_length(info.Env(), k, "dy", dy.length, y_size(info.Env(), k, g));
  expect_length(info.Env(), k, "dw", dw.length, w_size(info.Env(), k, g));
  if (empty_output(dw.data, dw.length, x.length == 0 || dy.length == 0)) return info.Env().Undefined();
  depthwise_conv2d_backprop_filter(g, x.data, dy.data, dw.data);
  return info.Env().Undefined();
}

}  // namespace

void InitDepthwise(Napi::Env env, Napi::Object exports) {
  exports.Set("depthwiseConv2d", Napi::Function::New(env, Forward, "depthwiseConv2d"));
  exports.Set("depthwiseImpl", Napi::Function::New(env, Impl, "depthwiseImpl"));
  exports.Set("depthwiseConv2dBackpropInput", Napi::Function::New(env, BackpropInput, "depthwiseConv2dBackpropInput"));
  exports.Set("depthwiseConv2dBackpropFilter",
              Napi::Function::New(env, BackpropFilter, "depthwiseConv2dBackpropFilter"));
}

}  // namespace hafif
