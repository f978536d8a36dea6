// Conv2D forward and gradients, NHWC activations and [fh, fw, inC, outC] filters.
//
// Everything is im2col + one sgemm per chunk of images. A row m = (b, oh, ow) of the col matrix
// holds the K = fh*fw*inC input values under output position m, in filter order, so the filter
// is a row-major [K, outC] matrix and
//   forward          y[M, outC]   = col[M, K] x W[K, outC]
//   backprop filter  dW[K, outC]  = col^T x dy[M, outC]
//   backprop input   dcol[M, K]   = dy x W^T, then col2im scatter-adds dcol into dx.
// 1x1 stride-1 unpadded convs use x itself as the col matrix. Chunks of whole images bound the
// col buffer at kColBudget floats. sgemm threads itself, so it is never called inside parallel_for
// (the pool does not nest).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels.h"
#include "parallel.h"

namespace hafif {
namespace {

// Largest col buffer (floats) held at once: 16 MB, enough for the teacher's conv2 in one chunk.
constexpr int64_t kColBudget = int64_t{4} << 20;

int64_t col_k(const ConvGeom& g) { return g.filterH * g.filterW * g.inC; }
int64_t rows_per_image(const ConvGeom& g) { return g.outH * g.outW; }

bool is_pointwise(const ConvGeom& g) {
  return g.filterH == 1 && g.filterW == 1 && g.strideH == 1 && g.strideW == 1 && g.padTop == 0 && g.padLeft == 0 &&
         g.outH == g.inH && g.outW == g.inW;
}

// Images per chunk so that the chunk's col matrix fits kColBudget (at least one image).
int64_t images_per_chunk(const ConvGeom& g) {
  const int64_t per_image = std::max<int64_t>(1, rows_per_image(g) * col_k(g));
  return std::max<int64_t>(1, std::min<int64_t>(g.batch, kColBudget / per_image));
}

// Reused across calls: reallocating (and page-faulting) megabytes per call costs milliseconds.
std::vector<float>& scratch(size_t n) {
  thread_local std::vector<float> buf;
  if (buf.size() < n) {
    buf.clear();
    buf.shrink_to_fit();
    buf.resize(n);
  }
  return buf;
}

// Writes the col row of output position m (global index) to dst[0, K).
inline void im2col_row(const ConvGeom& g, const float* x, int64_t m, float* dst) {
  const int64_t ow = m % g.outW, t = m / g.outW, oh = t % g.outH, b = t / g.outH;
  const float* xb = x + b * g.inH * g.inW * g.inC;
  const int64_t ih0 = oh * g.strideH - g.padTop, iw0 = ow * g.strideW - g.padLeft;
  const int64_t C = g.inC, rowLen = g.filterW * C;
  for (int64_t kh = 0; kh < g.filterH; ++kh, dst += rowLen) {
    const int64_t ih = ih0 + kh * g.dilationH;
    if (ih < 0 || ih >= g.inH) {
      std::memset(dst, 0, rowLen * sizeof(float));
      continue;
    }
    const float* xr = xb + ih * g.inW * C;
    if (g.dilationW == 1) {
      // The in-range kw are contiguous in NHWC: zero the borders, copy the middle at once.
      const int64_t lo = std::clamp<int64_t>(-iw0, 0, g.filterW);
      const int64_t hi = std::clamp<int64_t>(g.inW - iw0, lo, g.filterW);
      if (lo > 0) std::memset(dst, 0, lo * C * sizeof(float));
      if (hi > lo) std::memcpy(dst + lo * C, xr + (iw0 + lo) * C, (hi - lo) * C * sizeof(float));
      if (hi < g.filterW) std::memset(dst + hi * C, 0, (g.filterW - hi) * C * sizeof(float));
    } else {
      for (int64_t kw = 0; kw < g.filterW; ++kw) {
        const int64_t iw = iw0 + kw * g.dilationW;
        if (iw < 0 || iw >= g.inW) std::memset(dst + kw * C, 0, C * sizeof(float));
        else std::memcpy(dst + kw * C, xr + iw * C, C * sizeof(float));
      }
    }
  }
}

// col[r] = im2col row m0 + r, for r in [0, rows).
void im2col(const ConvGeom& g, const float* x, int64_t m0, int64_t rows, float* col) {
  const int64_t K = col_k(g);
  parallel_for(rows, 16, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) im2col_row(g, x, m0 + r, col + r * K);
  });
}

// dx[images b0..b1) += col2im(dcol), where dcol row r is global row m0 + r and m0 = b0 * outH * outW.
void col2im(const ConvGeom& g, const float* dcol, int64_t b0, int64_t b1, float* dx) {
  const int64_t K = col_k(g), C = g.inC, perImage = rows_per_image(g);
  parallel_for(b1 - b0, 1, [&](int64_t i0, int64_t i1) {
    for (int64_t b = b0 + i0; b < b0 + i1; ++b) {
      float* xb = dx + b * g.inH * g.inW * C;
      const float* src = dcol + (b - b0) * perImage * K;
      for (int64_t oh = 0; oh < g.outH; ++oh) {
        for (int64_t ow = 0; ow < g.outW; ++ow, src += K) {
          const int64_t ih0 = oh * g.strideH - g.padTop, iw0 = ow * g.strideW - g.padLeft;
          const float* s = src;
          for (int64_t kh = 0; kh < g.filterH; ++kh) {
            const int64_t ih = ih0 + kh * g.dilationH;
            if (ih < 0 || ih >= g.inH) {
              s += g.filterW * C;
              continue;
            }
            float* xr = xb + ih * g.inW * C;
            for (int64_t kw = 0; kw < g.filterW; ++kw, s += C) {
              const int64_t iw = iw0 + kw * g.dilationW;
              if (iw < 0 || iw >= g.inW) continue;
              float* __restrict d = xr + iw * C;
              for (int64_t c = 0; c < C; ++c) d[c] += s[c];
            }
          }
        }
      }
    }
  });
}

inline float activate(float v, ConvActivation act, float alpha) {
  switch (act) {
    case ConvActivation::Linear: return v;
    case ConvActivation::Relu: return v < 0.f ? 0.f : v;
    case ConvActivation::Relu6: return std::min(std::max(v, 0.f), 6.f);
    case ConvActivation::Elu: return v >= 0.f ? v : std::expm1(v);
    case ConvActivation::Sigmoid: return 1.f / (1.f + std::exp(-v));
    case ConvActivation::LeakyRelu: return v < 0.f ? alpha * v : v;
  }
  return v;
}

// y[M, N] = act(y + bias), bias may be null.
void add_bias_activate(float* y, int64_t M, int64_t N, const float* bias, ConvActivation act, float alpha) {
  if (bias == nullptr && act == ConvActivation::Linear) return;
  parallel_for(M, 64, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      float* __restrict row = y + r * N;
      if (bias != nullptr)
        for (int64_t n = 0; n < N; ++n) row[n] += bias[n];
      switch (act) {  // hoisted so each loop vectorizes
        case ConvActivation::Linear: break;
        case ConvActivation::Relu:
          for (int64_t n = 0; n < N; ++n) row[n] = row[n] < 0.f ? 0.f : row[n];
          break;
        case ConvActivation::LeakyRelu:
          for (int64_t n = 0; n < N; ++n) row[n] = row[n] < 0.f ? alpha * row[n] : row[n];
          break;
        default:
          for (int64_t n = 0; n < N; ++n) row[n] = activate(row[n], act, alpha);
      }
    }
  });
}

// dw[K, N] += col[rows, K]^T x dy[rows, N], four rows at a time (dw stays in L1/L2).
void accumulate_atb(const float* col, const float* dy, int64_t rows, int64_t K, int64_t N, float* dw) {
  int64_t r = 0;
  for (; r + 4 <= rows; r += 4) {
    const float *c0 = col + r * K, *c1 = c0 + K, *c2 = c1 + K, *c3 = c2 + K;
    const float *d0 = dy + r * N, *d1 = d0 + N, *d2 = d1 + N, *d3 = d2 + N;
    for (int64_t k = 0; k < K; ++k) {
      const float a0 = c0[k], a1 = c1[k], a2 = c2[k], a3 = c3[k];
      if (a0 == 0.f && a1 == 0.f && a2 == 0.f && a3 == 0.f) continue;  // padding
      float* __restrict w = dw + k * N;
      for (int64_t n = 0; n < N; ++n) w[n] += a0 * d0[n] + a1 * d1[n] + a2 * d2[n] + a3 * d3[n];
    }
  }
  for (; r < rows; ++r) {
    const float* c = col + r * K;
    const float* d = dy + r * N;
    for (int64_t k = 0; k < K; ++k) {
      const float a = c[k];
      if (a == 0.f) continue;
      float* __restrict w = dw + k * N;
      for (int64_t n = 0; n < N; ++n) w[n] += a * d[n];
    }
  }
}

// Filter gradient for small K x N without BLAS: each thread im2cols its own rows in small blocks and keeps a
// private dW, then the partial dWs are summed. The GEMM path would leave one core idle when K
// (its output rows) is a single block, as in a first conv layer with one input channel.
void backprop_filter_small(const ConvGeom& g, const float* x, const float* dy, float* dw) {
  const int64_t M = g.batch * rows_per_image(g), K = col_k(g), N = g.outC;
  constexpr int64_t kBlock = 64;
  const int64_t parts = std::max<int64_t>(1, std::min<int64_t>(num_threads(), M / kBlock));
  std::vector<float> partial((parts - 1) * K * N, 0.f);
  std::fill(dw, dw + K * N, 0.f);
  const bool pointwise = is_pointwise(g);
  parallel_for(parts, 1, [&](int64_t p0, int64_t p1) {
    std::vector<float> col(pointwise ? 0 : kBlock * K);
    for (int64_t p = p0; p < p1; ++p) {
      float* acc = p == 0 ? dw : partial.data() + (p - 1) * K * N;
      const int64_t m0 = M * p / parts, m1 = M * (p + 1) / parts;
      for (int64_t m = m0; m < m1; m += kBlock) {
        const int64_t rows = std::min(kBlock, m1 - m);
        const float* c = x + m * K;
        if (!pointwise) {
          for (int64_t r = 0; r < rows; ++r) im2col_row(g, x, m + r, col.data() + r * K);
          c = col.data();
        }
        accumulate_atb(c, dy + m * N, rows, K, N, acc);
      }
    }
  });
  for (int64_t p = 1; p < parts; ++p) {
    const float* src = partial.data() + (p - 1) * K * N;
    for (int64_t i = 0; i < K * N; ++i) dw[i] += src[i];
  }
}

}  // namespace

void conv2d(const ConvGeom& g, const float* x, const float* w, const float* bias, ConvActivation act, float alpha,
            float* y) {
  const int64_t M = g.batch * rows_per_image(g), K = col_k(g), N = g.outC;
  if (M == 0 || N == 0) return;
  if (is_pointwise(g)) {
    sgemm(false, false, M, N, K, 1.f, x, K, w, N, 0.f, y, N);
  } else {
    const int64_t step = images_per_chunk(g), perImage = rows_per_image(g);
    float* col = scratch(step * perImage * K).data();
    for (int64_t b0 = 0; b0 < g.batch; b0 += step) {
      const int64_t m0 = b0 * perImage, rows = (std::min(g.batch, b0 + step) - b0) * perImage;
      im2col(g, x, m0, rows, col);
      sgemm(false, false, rows, N, K, 1.f, col, K, w, N, 0.f, y + m0 * N, N);
    }
  }
  add_bias_activate(y, M, N, bias, act, alpha);
}

void conv2d_backprop_filter(const ConvGeom& g, const float* x, const float* dy, float* dw) {
  const int64_t M = g.batch * rows_per_image(g), K = col_k(g), N = g.outC;
  if (K == 0 || N == 0) return;
  // BLAS handles small transposed products well; hafif's own GEMM splits only the K rows.
  if (K * N <= 16384 && gemm_impl() != GemmImpl::Blas) {
    backprop_filter_small(g, x, dy, dw);
    return;
  }
  if (M == 0) {
    std::fill(dw, dw + K * N, 0.f);
    return;
  }
  if (is_pointwise(g)) {
    sgemm(true, false, K, N, M, 1.f, x, K, dy, N, 0.f, dw, N);
    return;
  }
  const int64_t step = images_per_chunk(g), perImage = rows_per_image(g);
  float* col = scratch(step * perImage * K).data();
  for (int64_t b0 = 0; b0 < g.batch; b0 += step) {
    const int64_t m0 = b0 * perImage, rows = (std::min(g.batch, b0 + step) - b0) * perImage;
    im2col(g, x, m0, rows, col);
    sgemm(true, false, K, N, rows, 1.f, col, K, dy + m0 * N, N, b0 == 0 ? 0.f : 1.f, dw, N);
  }
}

void conv2d_backprop_input(const ConvGeom& g, const float* dy, const float* w, float* dx) {
  const int64_t M = g.batch * rows_per_image(g), K = col_k(g), N = g.outC;
  std::fill(dx, dx + g.batch * g.inH * g.inW * g.inC, 0.f);
  if (M == 0 || K == 0) return;
  if (is_pointwise(g)) {
    sgemm(false, true, M, K, N, 1.f, dy, N, w, N, 0.f, dx, K);
    return;
  }
  const int64_t step = images_per_chunk(g), perImage = rows_per_image(g);
  float* dcol = scratch(step * perImage * K).data();
  for (int64_t b0 = 0; b0 < g.batch; b0 += step) {
    const int64_t b1 = std::min(g.batch, b0 + step), m0 = b0 * perImage, rows = (b1 - b0) * perImage;
    sgemm(false, true, rows, K, N, 1.f, dy + m0 * N, N, w, N, 0.f, dcol, K);
    col2im(g, dcol, b0, b1, dx);
  }
}

}  // namespace hafif
