// N-API bindings of the small-filter conv kernels (small_conv.cc): validate, then call.
#include <string>

#include "kernels.h"
#include "napi_util.h"

namespace hafif {
namespace {

// smallConv2d(x, filter, bias | null, out, geom, activation = 'linear', leakyreluAlpha = 0); geom as conv2d's.
Napi::Value SmallConv2D(const Napi::CallbackInfo& info) {
  const char* k = "smallConv2d";
  F32 x = f32_arg(info, 0, k, "x"), w = f32_arg(info, 1, k, "filter");
  const bool hasBias = info.Length() > 2 && !info[2].IsNull() && !info[2].IsUndefined();
  F32 bias{nullptr, 0};
  if (hasBias) bias = f32_arg(info, 2, k, "bias");
  F32 out = f32_arg(info, 3, k, "out");
  auto v = ints_arg(info, 4, k, "geom");
  if (v.size() != 15) throw kernel_error(info.Env(), k, "geom must have 15 integers, got " + shape_str(v));
  expect_geom_range(info.Env(), k, v);
  const ConvGeom g{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13], v[14]};
  const bool ok = g.batch >= 0 && g.inH >= 0 && g.inW >= 0 && g.inC >= 1 && g.outH >= 0 && g.outW >= 0 &&
                  g.filterH >= 1 && g.filterW >= 1 && g.strideH >= 1 && g.strideW >= 1 && g.dilationH >= 1 &&
                  g.dilationW >= 1;
  if (!ok) throw kernel_error(info.Env(), k, "bad geom " + shape_str(v));
  if (!small_conv_applies(g)) {
    throw kernel_error(info.Env(), k, "needs outC divisible by 16 and at most " + std::to_string(kSmallConvMaxWeights) +
                                          " filter values, got geom " + shape_str(v));
  }
  const ConvActivation act = activation_arg(info, 5, k);
  const float alpha = info.Length() > 6 ? static_cast<float>(num_arg(info, 6, k, "leakyreluAlpha")) : 0.f;
  expect_length(info.Env(), k, "x", x.length, checked_numel(info.Env(), k, "x", {g.batch, g.inH, g.inW, g.inC}));
  expect_length(info.Env(), k, "filter", w.length, g.filterH * g.filterW * g.inC * g.outC);
  if (hasBias) expect_length(info.Env(), k, "bias", bias.length, g.outC);
  expect_length(info.Env(), k, "out", out.length, checked_numel(info.Env(), k, "out", {g.batch, g.outH, g.outW, g.outC}));
  small_conv2d(g, x.data, w.data, hasBias ? bias.data : nullptr, act, alpha, out.data);
  return info.Env().Undefined();
}

ConvGeom small_geom_arg(const Napi::CallbackInfo& info, size_t i, const char* k) {
  auto v = ints_arg(info, i, k, "geom");
  if (v.size() != 15) throw kernel_error(info.Env(), k, "geom must have 15 integers, got " + shape_str(v));
  expect_geom_range(info.Env(), k, v);
  const ConvGeom g{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13], v[14]};
  const bool ok = g.batch >= 0 && g.inH >= 0 && g.inW >= 0 && g.inC >= 1 && g.outH >= 0 && g.outW >= 0 &&
                  g.filterH >= 1 && g.filterW >= 1 && g.strideH >= 1 && g.strideW >= 1 && g.dilationH >= 1 &&
                  g.dilationW >= 1 && g.padTop >= 0 && g.padLeft >= 0;
  if (!ok) throw kernel_error(info.Env(), k, "bad geom " + shape_str(v));
  return g;
}

// smallConvFilterApplies(geom): whether smallConv2dBackpropFilter takes this geometry.
Napi::Value SmallConvFilterApplies(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), small_conv_filter_applies(small_geom_arg(info, 0, "smallConvFilterApplies")));
}

// smallConv2dBackpropFilter(x, y | null, dy, dw, db | null, geom): dw (and db) from dy, through
// Relu's gradient at y when y is given.
Napi::Value SmallConv2DBackpropFilter(const Napi::CallbackInfo& info) {
  const char* k = "smallConv2dBackpropFilter";
  auto present = [&](size_t i) { return info.Length() > i && !info[i].IsNull() && !info[i].IsUndefined(); };
  F32 x = f32_arg(info, 0, k, "x");
  F32 y{nullptr, 0}, db{nullptr, 0};
  if (present(1)) y = f32_arg(info, 1, k, "y");
  F32 dy = f32_arg(info, 2, k, "dy"), dw = f32_arg(info, 3, k, "dw");
  if (present(4)) db = f32_arg(info, 4, k, "db");
  const ConvGeom g = small_geom_arg(info, 5, k);
  if (!small_conv_filter_applies(g)) {
    throw kernel_error(info.Env(), k, "needs outC divisible by 16 and at most " + std::to_string(kSmallConvFilterMaxChannels) +
                                          " input channels and 64 filter values per output channel (or a pointwise conv of at most " +
                                          std::to_string(kSmallConvPointwiseMaxChannels) + "), got geom " +
                                          shape_str(ints_arg(info, 5, k, "geom")));
  }
  const int64_t yn = checked_numel(info.Env(), k, "dy", {g.batch, g.outH, g.outW, g.outC});
  expect_length(info.Env(), k, "x", x.length, checked_numel(info.Env(), k, "x", {g.batch, g.inH, g.inW, g.inC}));
  if (y.data) expect_length(info.Env(), k, "y", y.length, yn);
  expect_length(info.Env(), k, "dy", dy.length, yn);
  expect_length(info.Env(), k, "dw", dw.length, g.filterH * g.filterW * g.inC * g.outC);
  if (db.data) expect_length(info.Env(), k, "db", db.length, g.outC);
  small_conv2d_backprop_filter(g, x.data, y.data, dy.data, dw.data, db.data);
  return info.Env().Undefined();
}

// smallConv(on?: boolean): whether conv2d and its filter gradient send first layers to these kernels; sets it when given.
Napi::Value SmallConv(const Napi::CallbackInfo& info) {
  if (info.Length() > 0 && !info[0].IsUndefined()) {
    if (!info[0].IsBoolean()) throw kernel_error(info.Env(), "smallConv", "on must be a boolean");
    small_conv_training_enable(info[0].As<Napi::Boolean>().Value());
  }
  return Napi::Boolean::New(info.Env(), small_conv_training_enabled());
}

}  // namespace

void InitSmallConv(Napi::Env env, Napi::Object exports) {
  exports.Set("smallConv2d", Napi::Function::New(env, SmallConv2D, "smallConv2d"));
  exports.Set("smallConv", Napi::Function::New(env, SmallConv, "smallConv"));
  exports.Set("smallConvFilterApplies", Napi::Function::New(env, SmallConvFilterApplies, "smallConvFilterApplies"));
  exports.Set("smallConv2dBackpropFilter",
              Napi::Function::New(env, SmallConv2DBackpropFilter, "smallConv2dBackpropFilter"));
}

}  // namespace hafif
