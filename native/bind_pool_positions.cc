// N-API bindings for max pooling with positions: validate, then call the pure kernels in pool_positions.cc.
// Both take geom = [batch, inH, inW, channels, outH, outW, filterH, filterW, strideH, strideW, padTop,
// padLeft] (from tfjs computePool2DInfo) after their arrays.
#include <algorithm>
#include <string>

#include "kernels.h"
#include "bind_pool_geom.h"
#include "napi_util.h"

namespace hafif {
namespace {

void expect_numel(Napi::Env env, const char* k, const char* name, size_t got, int64_t want, const char* what) {
  if (static_cast<int64_t>(got) != want) {
    throw kernel_error(env, k, std::string(name) + " has " + std::to_string(got) + " elements, expected " + what + " " +
                                   std::to_string(want));
  }
}

// maxPoolPositions(x, y, pos, geom): y = max pool of x; pos[i] = the index within its image of the
// input element y[i] came from, or -1.
Napi::Value MaxPoolPositions(const Napi::CallbackInfo& info) {
  const char* k = "maxPoolPositions";
  F32 x = f32_arg(info, 0, k, "x"), y = f32_arg(info, 1, k, "y");
  size_t posLength = 0;
  int32_t* pos = i32_arg(info, 2, k, "pos", &posLength);
  Pool2DGeom g = pool_geom_arg(info, 3, k);
  const int64_t perImage = checked_numel(info.Env(), k, "x", {g.inH, g.inW, g.channels});
  if (perImage > INT32_MAX) throw kernel_error(info.Env(), k, "an image has more than 2^31 - 1 elements");
  expect_numel(info.Env(), k, "x", x.length, checked_numel(info.Env(), k, "x", {g.batch, g.inH, g.inW, g.channels}), "input size");
  const int64_t outN = checked_numel(info.Env(), k, "y", {g.batch, g.outH, g.outW, g.channels});
  expect_numel(info.Env(), k, "y", y.length, outN, "output size");
  expect_numel(info.Env(), k, "pos", posLength, outN, "output size");
  max_pool_positions(g, x.data, y.data, pos);
  return info.Env().Undefined();
}

// maxPoolGradPositions(pos, dy, dx, geom, reluOf?): dx of max pooling from the positions maxPoolPositions
// wrote; with reluOf (the pool's input, a Relu's output) Relu's gradient there of it.
Napi::Value MaxPoolGradPositions(const Napi::CallbackInfo& info) {
  const char* k = "maxPoolGradPositions";
  size_t posLength = 0;
  const int32_t* pos = i32_arg(info, 0, k, "pos", &posLength);
  F32 dy = f32_arg(info, 1, k, "dy"), dx = f32_arg(info, 2, k, "dx");
  Pool2DGeom g = pool_geom_arg(info, 3, k);
  const int64_t perImage = checked_numel(info.Env(), k, "dx", {g.inH, g.inW, g.channels});
  expect_numel(info.Env(), k, "dx", dx.length, checked_numel(info.Env(), k, "dx", {g.batch, g.inH, g.inW, g.channels}), "input size");
  const int64_t outN = checked_numel(info.Env(), k, "dy", {g.batch, g.outH, g.outW, g.channels});
  expect_numel(info.Env(), k, "dy", dy.length, outN, "output size");
  expect_numel(info.Env(), k, "pos", posLength, outN, "output size");
  // A min/max reduction (it vectorizes), then a search for the first bad entry only when there is one.
  int32_t lo = -1, hi = -1;
  for (size_t i = 0; i < posLength; ++i) {
    lo = std::min(lo, pos[i]);
    hi = std::max(hi, pos[i]);
  }
  if (lo < -1 || hi >= perImage) {
    for (size_t i = 0; i < posLength; ++i) {
      if (pos[i] < -1 || pos[i] >= perImage) {
        throw kernel_error(info.Env(), k, "pos[" + std::to_string(i) + "] = " + std::to_string(pos[i]) +
                                              " is outside [-1, " + std::to_string(perImage) + ")");
      }
    }
  }
  const float* reluOf = nullptr;
  if (info.Length() > 4 && !info[4].IsUndefined() && !info[4].IsNull()) {
    F32 r = f32_arg(info, 4, k, "reluOf");
    expect_numel(info.Env(), k, "reluOf", r.length, static_cast<int64_t>(dx.length), "input size");
    reluOf = r.data;
  }
  max_pool_grad_positions(g, pos, dy.data, dx.data, reluOf);
  return info.Env().Undefined();
}

}  // namespace

void InitPoolPositions(Napi::Env env, Napi::Object exports) {
  exports.Set("maxPoolPositions", Napi::Function::New(env, MaxPoolPositions, "maxPoolPositions"));
  exports.Set("maxPoolGradPositions", Napi::Function::New(env, MaxPoolGradPositions, "maxPoolGradPositions"));
}

}  // namespace hafif
