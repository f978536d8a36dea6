// Max pooling that keeps where each maximum was, for a training step that runs the forward and
// the backward pass itself: the backward is then a scatter of dy instead of a second search of
// every window (what max_pool_grad in pool.cc must do, having only x). Same semantics as
// max_pool / max_pool_grad (tfjs cpu): the first strict maximum of a window in row-major order,
// NaN never greater, none (-1) for an empty or all -inf/NaN window; overlapping windows sum their
// dy in float64 before one rounding to float32.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels.h"
#include "parallel.h"
#include "pool_positions_isa.h"

// The selects below read no floating-point exception flags: without trapping math they vectorize.
#pragma GCC optimize("no-trapping-math")

namespace hafif {

namespace {

struct Span {
  int64_t lo, hi;
};

inline Span window(int64_t o, int64_t stride, int64_t pad, int64_t filter, int64_t in) {
  const int64_t corner = o * stride - pad;
  return Span{std::max<int64_t>(0, corner), std::min<int64_t>(in, corner + filter)};
}

inline int64_t grain_for(int64_t work_per_item) {
  return std::max<int64_t>(1, 131072 / std::max<int64_t>(1, work_per_item));
}

// One window element over the channels, kept as a plain function over restrict pointers so it
// vectorizes (inside the parallel_for lambda GCC loses the no-alias facts).
void max_step(const float* __restrict p, float* __restrict o, int32_t* __restrict pp, int32_t k, int64_t C) {
  for (int64_t c = 0; c < C; ++c) {
    const float v = p[c], m = o[c];
    const int32_t gt = -static_cast<int32_t>(v > m);  // all ones where v is the new maximum
    o[c] = v > m ? v : m;
    pp[c] = (pp[c] & ~gt) | ((k + static_cast<int32_t>(c)) & gt);
  }
}

// Whether the per-ISA 2×2 kernels (pool_positions.inc) run: unless HAFIF_POOL_2X2=0 (read per
// call, for in-process A/B benchmarks).
bool pool_2x2_enabled() {
  const char* e = std::getenv("HAFIF_POOL_2X2");
  return e == nullptr || std::strcmp(e, "0") != 0;
}

// The 2×2 stride-2 unpadded window whose every window lies inside the input.
bool max_pool_2x2_applies(const Pool2DGeom& g) {
  if (g.filterH != 2 || g.filterW != 2 || g.strideH != 2 || g.strideW != 2 || g.padTop != 0 || g.padLeft != 0 ||
      g.outH < 1 || g.outW < 1 || 2 * g.outH > g.inH || 2 * g.outW > g.inW) {
    return false;
  }
  return pool_2x2_enabled();
}

// The 2×2 stride-1 window unpadded at the top and left ('valid', or 'same' with its one row and
// column of padding at the bottom and right).
bool max_pool_2x2_s1_applies(const Pool2DGeom& g) {
  if (g.filterH != 2 || g.filterW != 2 || g.strideH != 1 || g.strideW != 1 || g.padTop != 0 || g.padLeft != 0 ||
      g.outH < 1 || g.outW < 1 || (g.outH != g.inH && g.outH != g.inH - 1) ||
      (g.outW != g.inW && g.outW != g.inW - 1)) {
    return false;
  }
  return pool_2x2_enabled();
}

void dispatch_2x2_s1(const Pool2DGeom& g, const float* x, float* y, int32_t* pos) {
  HAFIF_DISPATCH(max_pool_2x2_s1_positions, g, x, y, pos);
}

void dispatch_2x2_s1_grad(const Pool2DGeom& g, const int32_t* pos, const float* dy, float* dx, const float* relu_of) {
  HAFIF_DISPATCH(max_pool_2x2_s1_grad_positions, g, pos, dy, dx, relu_of);
}

void dispatch_2x2(const Pool2DGeom& g, const float* x, float* y, int32_t* pos) {
  HAFIF_DISPATCH(max_pool_2x2_positions, g, x, y, pos);
}

void dispatch_2x2_grad(const Pool2DGeom& g, const int32_t* pos, const float* dy, float* dx, const float* relu_of) {
  HAFIF_DISPATCH(max_pool_2x2_grad_positions, g, pos, dy, dx, relu_of);
}

}  // namespace

bool max_pool_grad_2x2(const Pool2DGeom& g, const float* x, const float* dy, float* dx) {
  if (!max_pool_2x2_applies(g)) return false;
  // Reused across calls (one per calling thread): fresh buffers per training step would cost more
  // in page faults than the two passes.
  thread_local std::vector<float> y;
  thread_local std::vector<int32_t> pos;
  const size_t n = static_cast<size_t>(g.batch * g.outH * g.outW * g.channels);
  y.resize(n);
  pos.resize(n);
  dispatch_2x2(g, x, y.data(), pos.data());
  dispatch_2x2_grad(g, pos.data(), dy, dx, nullptr);
  return true;
}

void max_pool_positions(const Pool2DGeom& g, const float* x, float* y, int32_t* pos) {
  if (max_pool_2x2_applies(g)) return dispatch_2x2(g, x, y, pos);
  if (max_pool_2x2_s1_applies(g)) return dispatch_2x2_s1(g, x, y, pos);
  const int64_t C = g.channels, inSize = g.inH * g.inW * C;
  parallel_for(g.batch * g.outH, grain_for(g.outW * g.filterH * g.filterW * C), [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t b = row / g.outH, oh = row % g.outH;
      const Span rs = window(oh, g.strideH, g.padTop, g.filterH, g.inH);
      for (int64_t ow = 0; ow < g.outW; ++ow) {
        const Span cs = window(ow, g.strideW, g.padLeft, g.filterW, g.inW);
        const int64_t o0 = ((b * g.outH + oh) * g.outW + ow) * C;
        float* o = y + o0;
        int32_t* pp = pos + o0;
        std::fill(o, o + C, -std::numeric_limits<float>::infinity());
        std::fill(pp, pp + C, -1);
        for (int64_t r = rs.lo; r < rs.hi; ++r) {
          for (int64_t q = cs.lo; q < cs.hi; ++q) {
            const int64_t local = (r * g.inW + q) * C;
            max_step(x + b * inSize + local, o, pp, static_cast<int32_t>(local), C);
          }
        }
      }
    }
  });
}

void max_pool_grad_positions(const Pool2DGeom& g, const int32_t* pos, const float* dy, float* dx,
                             const float* relu_of) {
  if (max_pool_2x2_applies(g)) return dispatch_2x2_grad(g, pos, dy, dx, relu_of);
  if (max_pool_2x2_s1_applies(g)) return dispatch_2x2_s1_grad(g, pos, dy, dx, relu_of);
  const int64_t C = g.channels, inSize = g.inH * g.inW * C, outSize = g.outH * g.outW * C;
  const bool overlapping = g.strideH < g.filterH || g.strideW < g.filterW;
  parallel_for(g.batch, grain_for(inSize + outSize), [&](int64_t b0, int64_t b1) {
    thread_local std::vector<double> acc;
    if (overlapping) acc.resize(static_cast<size_t>(inSize));
    for (int64_t b = b0; b < b1; ++b) {
      const int32_t* __restrict pb = pos + b * outSize;
      const float* __restrict db = dy + b * outSize;
      float* __restrict xb = dx + b * inSize;
      if (!overlapping) {
        // Every input is in at most one window: dx is dy where it was the maximum, else 0.
        std::fill(xb, xb + inSize, 0.0f);
        for (int64_t i = 0; i < outSize; ++i) {
          if (pb[i] >= 0) xb[pb[i]] = db[i];
        }
        continue;
      }
      double* __restrict a = acc.data();
      std::fill(a, a + inSize, 0.0);
      for (int64_t i = 0; i < outSize; ++i) {
        if (pb[i] >= 0) a[pb[i]] += db[i];
      }
      for (int64_t j = 0; j < inSize; ++j) xb[j] = static_cast<float>(a[j]);
    }
  });
  if (relu_of != nullptr) relu_grad(relu_of, dx, dx, g.batch * inSize, std::numeric_limits<float>::infinity());
}

}  // namespace hafif
