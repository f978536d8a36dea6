// The pool bindings' geom argument (bind_pool.cc, bind_pool_positions.cc): geom = [batch, inH, inW,
// channels, outH, outW, filterH, filterW, strideH, strideW, padTop, padLeft] from tfjs
// computePool2DInfo, checked once here for every pool kernel.
#pragma once

#include "kernels.h"
#include "napi_util.h"

namespace hafif {

inline Pool2DGeom pool_geom_arg(const Napi::CallbackInfo& info, size_t i, const char* k) {
  auto v = ints_arg(info, i, k, "geom");
  if (v.size() != 12) throw kernel_error(info.Env(), k, "geom must have 12 entries, got " + shape_str(v));
  expect_geom_range(info.Env(), k, v);
  Pool2DGeom g{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11]};
  const bool ok = g.batch >= 0 && g.inH >= 0 && g.inW >= 0 && g.channels >= 0 && g.outH >= 0 && g.outW >= 0 &&
                  g.filterH >= 1 && g.filterW >= 1 && g.filterH * g.filterW < (int64_t{1} << 30) && g.strideH >= 1 &&
                  g.strideW >= 1;
  if (!ok) throw kernel_error(info.Env(), k, "bad geom " + shape_str(v));
  return g;
}

}  // namespace hafif
