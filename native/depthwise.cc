// Depthwise 2-D convolution (NHWC) and its two gradients. 3×3 filters with channel multiplier 1
// and channels divisible by 4 (MobileNet blocks) run the register-blocked per-ISA kernels of
// depthwise.inc; everything else the general direct loops below, vectorised along the channel
// axis, parallel over (batch, row). Declared in kernels.h under "depthwise.cc".
#include <algorithm>
#include <atomic>
#include <cstring>
#include <vector>

#include "depthwise_isa.h"
#include "kernels.h"
#include "parallel.h"

namespace hafif {
namespace {

std::atomic<bool> g_blocked{true};

bool blocked_applies(const DepthwiseGeom& g) {
  return g_blocked.load(std::memory_order_relaxed) && g.chMul == 1 && g.filterH == 3 && g.filterW == 3 &&
         g.inC % 4 == 0 && g.inC > 0;
}

void blocked_forward(const DepthwiseGeom& g, const float* x, const float* w, const float* bias, ConvActivation act,
                     float alpha, float* y) {
  HAFIF_DISPATCH(depthwise3x3_forward, g, x, w, bias, act, alpha, y);
}
void blocked_backprop_input(const DepthwiseGeom& g, const float* dy, const float* w, float* dx) {
  HAFIF_DISPATCH(depthwise3x3_backprop_input, g, dy, w, dx);
}
void blocked_backprop_filter(const DepthwiseGeom& g, const float* x, const float* dy, float* dw) {
  HAFIF_DISPATCH(depthwise3x3_backprop_filter, g, x, dy, dw);
}

// out[c * m + q] += x[c] * w[c * m + q] for c < inC, q < m.
inline void madd(const float* __restrict x, const float* __restrict w, float* __restrict out, int64_t inC,
                 int64_t m) {
  if (m == 1) {
    for (int64_t c = 0; c < inC; ++c) out[c] += x[c] * w[c];
    return;
  }
  for (int64_t c = 0; c < inC; ++c) {
    const float xv = x[c];
    for (int64_t q = 0; q < m; ++q) out[c * m + q] += xv * w[c * m + q];
  }
}

// First output index o >= 0 with o * stride - pad + k * dil >= 0, and one past the last with the
// input index < in: the output range a filter tap touches without leaving the input.
inline void tap_range(int64_t in, int64_t out, int64_t stride, int64_t pad, int64_t kOff, int64_t* lo, int64_t* hi) {
  const int64_t start = pad - kOff;  // o * stride >= start
  *lo = start <= 0 ? 0 : (start + stride - 1) / stride;
  const int64_t end = in + pad - kOff;  // o * stride < end
  *hi = end <= 0 ? 0 : std::min(out, (end + stride - 1) / stride);
  if (*hi < *lo) *hi = *lo;
}

}  // namespace

void depthwise_set_blocked(bool on) { g_blocked.store(on, std::memory_order_relaxed); }
bool depthwise_blocked() { return g_blocked.load(std::memory_order_relaxed); }

void depthwise_conv2d(const DepthwiseGeom& g, const float* x, const float* w, const float* bias, ConvActivation act,
                      float alpha, float* y) {
  const int64_t m = g.chMul, outC = g.inC * m, pixels = g.batch * g.outH * g.outW;
  const bool inRegisters = act == ConvActivation::Linear || act == ConvActivation::Relu ||
                           act == ConvActivation::Relu6 || act == ConvActivation::LeakyRelu;
  if (blocked_applies(g)) {
    blocked_forward(g, x, w, bias, act, alpha, y);
    if (!inRegisters) bias_activation(y, pixels, outC, nullptr, 0, act, alpha);
    return;
  }
  parallel_for(g.batch * g.outH, 1, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t b = r / g.outH, oh = r % g.outH;
      float* yrow = y + r * g.outW * outC;
      std::memset(yrow, 0, sizeof(float) * g.outW * outC);
      for (int64_t kh = 0; kh < g.filterH; ++kh) {
        const int64_t ih = oh * g.strideH - g.padTop + kh * g.dilationH;
        if (ih < 0 || ih >= g.inH) continue;
        const float* xrow = x + ((b * g.inH + ih) * g.inW) * g.inC;
        for (int64_t kw = 0; kw < g.filterW; ++kw) {
          const float* wk = w + (kh * g.filterW + kw) * outC;
          int64_t lo, hi;
          tap_range(g.inW, g.outW, g.strideW, g.padLeft, kw * g.dilationW, &lo, &hi);
          for (int64_t ow = lo; ow < hi; ++ow) {
            const int64_t iw = ow * g.strideW - g.padLeft + kw * g.dilationW;
            madd(xrow + iw * g.inC, wk, yrow + ow * outC, g.inC, m);
          }
        }
      }
    }
  });
  if (bias != nullptr || act != ConvActivation::Linear) bias_activation(y, pixels, outC, bias, outC, act, alpha);
}

void depthwise_conv2d_backprop_input(const DepthwiseGeom& g, const float* dy, const float* w, float* dx) {
  if (blocked_applies(g)) {
    blocked_backprop_input(g, dy, w, dx);
    return;
  }
  const int64_t m = g.chMul, outC = g.inC * m;
  parallel_for(g.batch * g.inH, 1, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t b = r / g.inH, ih = r % g.inH;
      float* dxrow = dx + r * g.inW * g.inC;
      std::memset(dxrow, 0, sizeof(float) * g.inW * g.inC);
      for (int64_t kh = 0; kh < g.filterH; ++kh) {
        const int64_t t = ih + g.padTop - kh * g.dilationH;  // = oh * strideH
        if (t < 0 || t % g.strideH != 0 || t / g.strideH >= g.outH) continue;
        const float* dyrow = dy + ((b * g.outH + t / g.strideH) * g.outW) * outC;
        for (int64_t kw = 0; kw < g.filterW; ++kw) {
          const float* wk = w + (kh * g.filterW + kw) * outC;
          for (int64_t iw = 0; iw < g.inW; ++iw) {
            const int64_t u = iw + g.padLeft - kw * g.dilationW;  // = ow * strideW
            if (u < 0 || u % g.strideW != 0 || u / g.strideW >= g.outW) continue;
            const float* __restrict d = dyrow + (u / g.strideW) * outC;
            float* __restrict o = dxrow + iw * g.inC;
            if (m == 1) {
              for (int64_t c = 0; c < g.inC; ++c) o[c] += d[c] * wk[c];
            } else {
              for (int64_t c = 0; c < g.inC; ++c) {
                float s = 0.f;
                for (int64_t q = 0; q < m; ++q) s += d[c * m + q] * wk[c * m + q];
                o[c] += s;
              }
            }
          }
        }
      }
    }
  });
}

void depthwise_conv2d_backprop_filter(const DepthwiseGeom& g, const float* x, const float* dy, float* dw) {
  if (blocked_applies(g)) {
    blocked_backprop_filter(g, x, dy, dw);
    return;
  }
  const int64_t m = g.chMul, outC = g.inC * m, wSize = g.filterH * g.filterW * outC;
  const int64_t rows = g.batch * g.outH;
  const int64_t parts = std::max<int64_t>(1, std::min<int64_t>(num_threads(), rows));
  // Each part sums its rows into its own buffer (part 0 into dw); the buffers are added at the end.
  std::vector<float> partial(static_cast<size_t>((parts - 1) * wSize));
  parallel_for(parts, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      float* acc = p == 0 ? dw : partial.data() + (p - 1) * wSize;
      std::memset(acc, 0, sizeof(float) * wSize);
      for (int64_t r = rows * p / parts; r < rows * (p + 1) / parts; ++r) {
        const int64_t b = r / g.outH, oh = r % g.outH;
        const float* dyrow = dy + r * g.outW * outC;
        for (int64_t kh = 0; kh < g.filterH; ++kh) {
          const int64_t ih = oh * g.strideH - g.padTop + kh * g.dilationH;
          if (ih < 0 || ih >= g.inH) continue;
          const float* xrow = x + ((b * g.inH + ih) * g.inW) * g.inC;
          for (int64_t kw = 0; kw < g.filterW; ++kw) {
            float* dwk = acc + (kh * g.filterW + kw) * outC;
            int64_t lo, hi;
            tap_range(g.inW, g.outW, g.strideW, g.padLeft, kw * g.dilationW, &lo, &hi);
            for (int64_t ow = lo; ow < hi; ++ow) {
              const int64_t iw = ow * g.strideW - g.padLeft + kw * g.dilationW;
              madd(xrow + iw * g.inC, dyrow + ow * outC, dwk, g.inC, m);
            }
          }
        }
      }
    }
  });
  for (int64_t p = 1; p < parts; ++p) {
    const float* src = partial.data() + (p - 1) * wSize;
    for (int64_t i = 0; i < wSize; ++i) dw[i] += src[i];
  }
}

}  // namespace hafif
