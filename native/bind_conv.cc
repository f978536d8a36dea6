// N-API bindings for the conv kernels: validate, then call the pure kernels.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels.h"
#include "napi_util.h"

namespace hafif {
namespace {

// geom = [batch, inH, inW, inC, outH, outW, outC, filterH, filterW, strideH, strideW, dilationH, dilationW,
//         padTop, padLeft]
ConvGeom geom_arg(const Napi::CallbackInfo& info, size_t i, const char* kernel) {
  auto v = ints_arg(info, i, kernel, "geom");
  if (v.size() != 15) {
    throw kernel_error(info.Env(), kernel,
                       "geom must have 15 entries [batch, inH, inW, inC, outH, outW, outC, filterH, filterW, "
                       "strideH, strideW, dilationH, dilationW, padTop, padLeft], got " + shape_str(v));
  }
  expect_geom_range(info.Env(), kernel, v);
  ConvGeom g{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13], v[14]};
  const bool ok = g.batch >= 0 && g.inH >= 0 && g.inW >= 0 && g.inC >= 0 && g.outH >= 0 && g.outW >= 0 &&
                  g.outC >= 0 && g.filterH >= 1 && g.filterW >= 1 && g.strideH >= 1 && g.strideW >= 1 &&
                  g.dilationH >= 1 && g.dilationW >= 1;
  if (!ok) throw kernel_error(info.Env(), kernel, "bad geom " + shape_str(v));
  return g;
}

std::vector<int64_t> x_shape(const ConvGeom& g) { return {g.batch, g.inH, g.inW, g.inC}; }
std::vector<int64_t> y_shape(const ConvGeom& g) { return {g.batch, g.outH, g.outW, g.outC}; }
std::vector<int64_t> w_shape(const ConvGeom& g) { return {g.filterH, g.filterW, g.inC, g.outC}; }

void expect_shape(Napi::Env env, const char* kernel, const char* name, const F32& a, const std::vector<int64_t>& shape) {
  const int64_t n = checked_numel(env, kernel, name, shape);
  if (static_cast<int64_t>(a.length) != n) {
    throw kernel_error(env, kernel,
                       std::string(name) + " has " + std::to_string(a.length) + " elements, expected " +
                           std::to_string(n) + " for shape " + shape_str(shape));
  }
}

// conv2d(x, filter, bias | null, out, geom, activation = 'linear', leakyreluAlpha = 0)
Napi::Value Conv2D(const Napi::CallbackInfo& info) {
  const char* k = "Conv2D";
  F32 x = f32_arg(info, 0, k, "x"), w = f32_arg(info, 1, k, "filter");
  const bool hasBias = info.Length() > 2 && !info[2].IsNull() && !info[2].IsUndefined();
  F32 bias{nullptr, 0};
  if (hasBias) bias = f32_arg(info, 2, k, "bias");
  F32 out = f32_arg(info, 3, k, "out");
  const ConvGeom g = geom_arg(info, 4, k);
  const ConvActivation act = activation_arg(info, 5, k);
  const float alpha = info.Length() > 6 ? static_cast<float>(num_arg(info, 6, k, "leakyreluAlpha")) : 0.f;
  expect_shape(info.Env(), k, "x", x, x_shape(g));
  expect_shape(info.Env(), k, "filter", w, w_shape(g));
  if (hasBias) expect_shape(info.Env(), k, "bias", bias, {g.outC});
  expect_shape(info.Env(), k, "out", out, y_shape(g));
  if (out.length == 0) return info.Env().Undefined();
  if (x.length == 0 || w.length == 0) throw kernel_error(info.Env(), k, "x or filter is empty but out is not, geom " + shape_str(x_shape(g)));
  conv2d(g, x.data, w.data, hasBias ? bias.data : nullptr, act, alpha, out.data);
  return info.Env().Undefined();
}

// conv2dBackpropInput(dy, filter, dx, geom)
Napi::Value Conv2DBackpropInput(const Napi::CallbackInfo& info) {
  const char* k = "Conv2DBackpropInput";
  F32 dy = f32_arg(info, 0, k, "dy"), w = f32_arg(info, 1, k, "filter"), dx = f32_arg(info, 2, k, "dx");
  const ConvGeom g = geom_arg(info, 3, k);
  expect_shape(info.Env(), k, "dy", dy, y_shape(g));
  expect_shape(info.Env(), k, "filter", w, w_shape(g));
  expect_shape(info.Env(), k, "dx", dx, x_shape(g));
  if (empty_output(dx.data, dx.length, dy.length == 0 || w.length == 0)) return info.Env().Undefined();
  conv2d_backprop_input(g, dy.data, w.data, dx.data);
  return info.Env().Undefined();
}

// conv2dBackpropFilter(x, dy, dw, geom, db?): db (outC floats), when given, gets the bias gradient.
Napi::Value Conv2DBackpropFilter(const Napi::CallbackInfo& info) {
  const char* k = "Conv2DBackpropFilter";
  F32 x = f32_arg(info, 0, k, "x"), dy = f32_arg(info, 1, k, "dy"), dw = f32_arg(info, 2, k, "dw");
  const ConvGeom g = geom_arg(info, 3, k);
  const bool hasDb = info.Length() > 4 && !info[4].IsNull() && !info[4].IsUndefined();
  F32 db{nullptr, 0};
  if (hasDb) db = f32_arg(info, 4, k, "db");
  expect_shape(info.Env(), k, "x", x, x_shape(g));
  expect_shape(info.Env(), k, "dy", dy, y_shape(g));
  expect_shape(info.Env(), k, "dw", dw, w_shape(g));
  if (hasDb) expect_shape(info.Env(), k, "db", db, {g.outC});
  if (empty_output(dw.data, dw.length, x.length == 0 || dy.length == 0)) {
    if (hasDb) reduce(ReduceOp::Sum, dy.data, db.data, 1, static_cast<int64_t>(dy.length) / std::max<int64_t>(g.outC, 1), g.outC);
    return info.Env().Undefined();
  }
  conv2d_backprop_filter(g, x.data, dy.data, dw.data, hasDb ? db.data : nullptr);
  return info.Env().Undefined();
}

// convWinograd(on?: boolean): whether 3x3 stride-1 convs take the Winograd path; sets it when given.
Napi::Value ConvWinograd(const Napi::CallbackInfo& info) {
  if (info.Length() > 0 && !info[0].IsUndefined()) {
    if (!info[0].IsBoolean()) throw kernel_error(info.Env(), "convWinograd", "on must be a boolean");
    conv_winograd_enable(info[0].As<Napi::Boolean>().Value());
  }
  return Napi::Boolean::New(info.Env(), conv_winograd_enabled());
}

// convWinograd4(on?: boolean): whether the Winograd convolutions take F(4x4, 3x3) tiles on outputs of
// at least 7x7 from at most 64 channels (inC; outC for the input gradient); sets it when given.
Napi::Value ConvWinograd4(const Napi::CallbackInfo& info) {
  if (info.Length() > 0 && !info[0].IsUndefined()) {
    if (!info[0].IsBoolean()) throw kernel_error(info.Env(), "convWinograd4", "on must be a boolean");
    conv_winograd4_enable(info[0].As<Napi::Boolean>().Value());
  }
  return Napi::Boolean::New(info.Env(), conv_winograd4_enabled());
}

}  // namespace

void InitConv(Napi::Env env, Napi::Object exports) {
  exports.Set("conv2d", Napi::Function::New(env, Conv2D, "conv2d"));
  exports.Set("conv2dBackpropInput", Napi::Function::New(env, Conv2DBackpropInput, "conv2dBackpropInput"));
  exports.Set("conv2dBackpropFilter", Napi::Function::New(env, Conv2DBackpropFilter, "conv2dBackpropFilter"));
  exports.Set("convWinograd", Napi::Function::New(env, ConvWinograd, "convWinograd"));
  exports.Set("convWinograd4", Napi::Function::New(env, ConvWinograd4, "convWinograd4"));
}

}  // namespace hafif
