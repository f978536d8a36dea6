// N-API bindings for training-mode batch norm: validate, then call the pure kernels in batchnorm.cc.
#include <string>

#include "kernels.h"
#include "napi_util.h"

namespace hafif {
namespace {

// A Float32Array of `want` elements, or null / undefined (nullptr).
float* opt_f32(const Napi::CallbackInfo& info, size_t i, const char* k, const char* name, size_t want) {
  if (info.Length() <= i || info[i].IsNull() || info[i].IsUndefined()) return nullptr;
  F32 a = f32_arg(info, i, k, name);
  expect_length(info.Env(), k, name, a.length, want);
  return a.data;
}

// The activation fused after the normalization: undefined, 'linear', 'relu' or 'relu6'.
BatchNormAct act_arg(const Napi::CallbackInfo& info, size_t i, const char* k) {
  if (info.Length() <= i || info[i].IsUndefined()) return BatchNormAct::kNone;
  if (!info[i].IsString()) throw kernel_error(info.Env(), k, "activation must be a string");
  const std::string s = info[i].As<Napi::String>().Utf8Value();
  if (s == "linear") return BatchNormAct::kNone;
  if (s == "relu") return BatchNormAct::kRelu;
  if (s == "relu6") return BatchNormAct::kRelu6;
  throw kernel_error(info.Env(), k, "activation must be one of linear, relu, relu6, got " + s);
}

BatchNormTrainGeom geom(const Napi::CallbackInfo& info, size_t i, const char* k, size_t n) {
  const int64_t C = int_arg(info, i, k, "channels");
  if (C < 1 || n % static_cast<size_t>(C) != 0) {
    throw kernel_error(info.Env(), k, "x has " + std::to_string(n) + " elements, not a multiple of channels " +
                                          std::to_string(C));
  }
  const double eps = num_arg(info, i + 1, k, "epsilon");
  if (!(eps >= 0)) throw kernel_error(info.Env(), k, "epsilon must be >= 0, got " + std::to_string(eps));
  BatchNormTrainGeom g;
  g.rows = static_cast<int64_t>(n) / C;
  g.channels = C;
  g.eps = static_cast<float>(eps);
  g.momentum = info.Length() > i + 2 && info[i + 2].IsNumber() ? info[i + 2].As<Napi::Number>().FloatValue() : 0.f;
  return g;
}

// batchNormTrain(x, scale, offset, movingMean, movingVar, y, mean, variance, newMovingMean, newMovingVar,
//                channels, epsilon, momentum, activation = 'linear'); scale, offset and the moving arrays
//                may be null.
Napi::Value BatchNormTrain(const Napi::CallbackInfo& info) {
  const char* k = "batchNormTrain";
  F32 x = f32_arg(info, 0, k, "x"), y = f32_arg(info, 5, k, "y");
  BatchNormTrainGeom g = geom(info, 10, k, x.length);
  g.act = act_arg(info, 13, k);
  const size_t C = static_cast<size_t>(g.channels);
  if (g.rows < 1) throw kernel_error(info.Env(), k, "x is empty");
  expect_length(info.Env(), k, "y", y.length, x.length);
  float* scale = opt_f32(info, 1, k, "scale", C);
  float* offset = opt_f32(info, 2, k, "offset", C);
  float* mm = opt_f32(info, 3, k, "movingMean", C);
  float* mv = opt_f32(info, 4, k, "movingVar", C);
  F32 mean = f32_arg(info, 6, k, "mean"), var = f32_arg(info, 7, k, "variance");
  expect_length(info.Env(), k, "mean", mean.length, C);
  expect_length(info.Env(), k, "variance", var.length, C);
  float* nmm = opt_f32(info, 8, k, "newMovingMean", C);
  float* nmv = opt_f32(info, 9, k, "newMovingVar", C);
  if ((mm == nullptr) != (nmm == nullptr) || (mv == nullptr) != (nmv == nullptr)) {
    throw kernel_error(info.Env(), k, "a moving statistic and its new value must be given together");
  }
  if (x.data == y.data) throw kernel_error(info.Env(), k, "x and y share memory");
  batch_norm_train_forward(g, x.data, scale, offset, mm, mv, y.data, mean.data, var.data, nmm, nmv);
  return info.Env().Undefined();
}

// batchNormTrainGrad(dy, x, mean, variance, scale, dmean, dvar, dx, dscale, doffset, channels, epsilon,
//                    activation = 'linear', offset, y); scale, dmean, dvar, dscale, doffset and offset may
// be null. With an activation, dy is d loss / d (activation output) and y the forward's output.
Napi::Value BatchNormTrainGrad(const Napi::CallbackInfo& info) {
  const char* k = "batchNormTrainGrad";
  F32 dy = f32_arg(info, 0, k, "dy"), x = f32_arg(info, 1, k, "x"), dx = f32_arg(info, 7, k, "dx");
  BatchNormTrainGeom g = geom(info, 10, k, x.length);
  g.act = act_arg(info, 12, k);
  const size_t C = static_cast<size_t>(g.channels);
  if (g.rows < 1) throw kernel_error(info.Env(), k, "x is empty");
  expect_length(info.Env(), k, "dy", dy.length, x.length);
  expect_length(info.Env(), k, "dx", dx.length, x.length);
  F32 mean = f32_arg(info, 2, k, "mean"), var = f32_arg(info, 3, k, "variance");
  expect_length(info.Env(), k, "mean", mean.length, C);
  expect_length(info.Env(), k, "variance", var.length, C);
  float* scale = opt_f32(info, 4, k, "scale", C);
  float* dmean = opt_f32(info, 5, k, "dmean", C);
  float* dvar = opt_f32(info, 6, k, "dvar", C);
  float* dscale = opt_f32(info, 8, k, "dscale", C);
  float* doffset = opt_f32(info, 9, k, "doffset", C);
  float* offset = opt_f32(info, 13, k, "offset", C);
  const float* y = nullptr;
  if (g.act != BatchNormAct::kNone) {
    F32 ya = f32_arg(info, 14, k, "y");
    expect_length(info.Env(), k, "y", ya.length, x.length);
    if (dx.data == ya.data) throw kernel_error(info.Env(), k, "dx shares memory with y");
    y = ya.data;
  }
  if (dx.data == dy.data || dx.data == x.data) throw kernel_error(info.Env(), k, "dx shares memory with dy or x");
  batch_norm_train_backward(g, dy.data, x.data, mean.data, var.data, scale, offset, y, dmean, dvar, dx.data, dscale,
                            doffset);
  return info.Env().Undefined();
}

}  // namespace

void InitBatchNorm(Napi::Env env, Napi::Object exports) {
  exports.Set("batchNormTrain", Napi::Function::New(env, BatchNormTrain, "batchNormTrain"));
  exports.Set("batchNormTrainGrad", Napi::Function::New(env, BatchNormTrainGrad, "batchNormTrainGrad"));
}

}  // namespace hafif
