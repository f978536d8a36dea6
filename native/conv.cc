// Conv2D forward and gradients, NHWC activations and [fh, fw, inC, outC] filters.
//
// Everything is im2col + one sgemm per chunk of images. A row m = (b, oh, ow) of the col matrix
// holds the K = fh*fw*inC input values under output position m, in filter order, so the filter
// is a row-major [K, outC] matrix and
//   forward          y[M, outC]   = col[M, K] x W[K, outC]
//   backprop filter  dW[K, outC]  = col^T x dy[M, outC]
//   backprop input   dcol[M, K]   = dy x W^T, then col2im scatter-adds dcol into dx.
// 1x1 stride-1 unpadded convs use x itself as the col matrix; convs with one input channel skip
// the GEMM (see conv2d_c1); first-layer and pointwise convs with outC divisible by 16 run
// small_conv.cc. Chunks of whole images bound the col buffer at kColBudget floats. sgemm threads
// itself, so it is never called inside parallel_for (the pool does not nest).
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
  parallel_for(rows, std::max<int64_t>(16, 65536 / std::max<int64_t>(K, 1)), [&](int64_t r0, int64_t r1) {
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
  parallel_for(M, std::max<int64_t>(64, 65536 / std::max<int64_t>(N, 1)), [&](int64_t r0, int64_t r1) {
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

// Filter gradient for small K x N (few filter rows) without BLAS: each thread im2cols its own rows in small blocks and keeps a
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


// ---- one input channel (a first layer on grayscale images) ----
// With inC == 1 a col row has only K = filterH * filterW values, too short for a GEMM to pay off
// (K = 9 for 3x3): each output row is bias + K broadcast taps times rows of the filter, computed in
// registers and stored once; the input gradient is K dot products per output pixel, scattered
// into the image.
constexpr int64_t kDirectMaxTaps = 32;

bool is_single_channel(const ConvGeom& g) { return g.inC == 1 && g.filterH * g.filterW <= kDirectMaxTaps; }

typedef float v8 __attribute__((vector_size(32)));
inline v8 load8(const float* p) {
  v8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store8(float* p, v8 v) { std::memcpy(p, &v, sizeof v); }
inline v8 splat8(float a) { return v8{a, a, a, a, a, a, a, a}; }

// y[0, N) = act(bias + sum_k tap[k] * w[k * N + n]).
void direct_row_c1(const float* tap, int64_t K, const float* w, const float* bias, int64_t N, ConvActivation act,
                   float alpha, float* y) {
  int64_t n0 = 0;
  for (; n0 + 32 <= N; n0 += 32) {
    v8 a0 = bias ? load8(bias + n0) : v8{}, a1 = bias ? load8(bias + n0 + 8) : v8{};
    v8 a2 = bias ? load8(bias + n0 + 16) : v8{}, a3 = bias ? load8(bias + n0 + 24) : v8{};
    for (int64_t k = 0; k < K; ++k) {
      const v8 t = splat8(tap[k]);
      const float* wk = w + k * N + n0;
      a0 += t * load8(wk);
      a1 += t * load8(wk + 8);
      a2 += t * load8(wk + 16);
      a3 += t * load8(wk + 24);
    }
    store8(y + n0, a0);
    store8(y + n0 + 8, a1);
    store8(y + n0 + 16, a2);
    store8(y + n0 + 24, a3);
  }
  for (; n0 + 16 <= N; n0 += 16) {  // two independent FMA chains (one would wait on FMA latency)
    v8 a0 = bias ? load8(bias + n0) : v8{}, a1 = bias ? load8(bias + n0 + 8) : v8{};
    for (int64_t k = 0; k < K; ++k) {
      const v8 t = splat8(tap[k]);
      a0 += t * load8(w + k * N + n0);
      a1 += t * load8(w + k * N + n0 + 8);
    }
    store8(y + n0, a0);
    store8(y + n0 + 8, a1);
  }
  for (; n0 + 8 <= N; n0 += 8) {
    v8 a = bias ? load8(bias + n0) : v8{};
    for (int64_t k = 0; k < K; ++k) a += splat8(tap[k]) * load8(w + k * N + n0);
    store8(y + n0, a);
  }
  for (; n0 < N; ++n0) {
    float a = bias ? bias[n0] : 0.f;
    for (int64_t k = 0; k < K; ++k) a += tap[k] * w[k * N + n0];
    y[n0] = a;
  }
  switch (act) {
    case ConvActivation::Linear: break;
    case ConvActivation::Relu:
      for (int64_t n = 0; n < N; ++n) y[n] = y[n] < 0.f ? 0.f : y[n];
      break;
    case ConvActivation::LeakyRelu:
      for (int64_t n = 0; n < N; ++n) y[n] = y[n] < 0.f ? alpha * y[n] : y[n];
      break;
    default:
      for (int64_t n = 0; n < N; ++n) y[n] = activate(y[n], act, alpha);
  }
}

// col[r, 0, K) = the K input values under output position m0 + r (zero outside the image) for
// r < rows, inC == 1. Walks (b, oh, ow) incrementally: per-row divisions cost more than the taps.
void gather_taps_c1(const ConvGeom& g, const float* x, int64_t m0, int64_t rows, float* col) {
  const int64_t K = g.filterH * g.filterW;
  int64_t ow = m0 % g.outW, oh = (m0 / g.outW) % g.outH, b = m0 / (g.outW * g.outH);
  for (int64_t r = 0; r < rows; ++r, col += K) {
    const float* xb = x + b * g.inH * g.inW;
    const int64_t ih0 = oh * g.strideH - g.padTop, iw0 = ow * g.strideW - g.padLeft;
    if (ih0 >= 0 && iw0 >= 0 && ih0 + (g.filterH - 1) * g.dilationH < g.inH &&
        iw0 + (g.filterW - 1) * g.dilationW < g.inW) {
      for (int64_t kh = 0; kh < g.filterH; ++kh) {
        const float* xr = xb + (ih0 + kh * g.dilationH) * g.inW + iw0;
        for (int64_t kw = 0; kw < g.filterW; ++kw) col[kh * g.filterW + kw] = xr[kw * g.dilationW];
      }
    } else {
      for (int64_t kh = 0; kh < g.filterH; ++kh) {
        const int64_t ih = ih0 + kh * g.dilationH;
        for (int64_t kw = 0; kw < g.filterW; ++kw) {
          const int64_t iw = iw0 + kw * g.dilationW;
          col[kh * g.filterW + kw] = ih >= 0 && ih < g.inH && iw >= 0 && iw < g.inW ? xb[ih * g.inW + iw] : 0.f;
        }
      }
    }
    if (++ow == g.outW) {
      ow = 0;
      if (++oh == g.outH) {
        oh = 0;
        ++b;
      }
    }
  }
}

void conv2d_c1(const ConvGeom& g, const float* x, const float* w, const float* bias, ConvActivation act, float alpha,
               float* y) {
  const int64_t M = g.batch * rows_per_image(g), K = col_k(g), N = g.outC;
  // Chunks of at least ~256k multiply-adds (tens of us); the student's conv1 (1 MMAC) stays on one thread.
  parallel_for(M, std::max<int64_t>(16, (int64_t{1} << 18) / std::max<int64_t>(N * K, 1)), [&](int64_t m0, int64_t m1) {
    constexpr int64_t kRows = 64;
    float taps[kRows * kDirectMaxTaps];
    for (int64_t m = m0; m < m1; m += kRows) {
      const int64_t rows = std::min(kRows, m1 - m);
      gather_taps_c1(g, x, m, rows, taps);
      for (int64_t r = 0; r < rows; ++r) direct_row_c1(taps + r * K, K, w, bias, N, act, alpha, y + (m + r) * N);
    }
  });
}

// d[0, 8 * KV) = sum_n dy[n] * wt[n, 0, 8 * KV), the accumulators in registers.
template <int KV>
void dots_c1(const float* __restrict dy, const float* __restrict wt, int64_t N, float* __restrict d) {
  // Four independent partial sums over n: one chain of dependent FMAs would wait on FMA latency.
  v8 acc[4][KV];
  for (int u = 0; u < 4; ++u)
    for (int v = 0; v < KV; ++v) acc[u][v] = v8{};
  int64_t n = 0;
  for (; n + 4 <= N; n += 4) {
#pragma GCC unroll 4
    for (int u = 0; u < 4; ++u) {
      const v8 t = splat8(dy[n + u]);
#pragma GCC unroll 4
      for (int v = 0; v < KV; ++v) acc[u][v] += t * load8(wt + (n + u) * KV * 8 + v * 8);
    }
  }
  for (; n < N; ++n) {
    const v8 t = splat8(dy[n]);
    for (int v = 0; v < KV; ++v) acc[0][v] += t * load8(wt + n * KV * 8 + v * 8);
  }
  for (int v = 0; v < KV; ++v) store8(d + v * 8, (acc[0][v] + acc[1][v]) + (acc[2][v] + acc[3][v]));
}

void conv2d_backprop_input_c1(const ConvGeom& g, const float* dy, const float* w, float* dx) {
  const int64_t K = col_k(g), N = g.outC, perImage = rows_per_image(g);
  // wt[n][k] = w[k][n] with k padded to KP lanes: the K sums of an output pixel are broadcast
  // FMAs over its dy row, with no horizontal sums.
  const int64_t KP = (K + 7) / 8 * 8;
  std::vector<float> wt(static_cast<size_t>(N * KP), 0.f);
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; ++n) wt[n * KP + k] = w[k * N + n];
  auto dots = KP == 8 ? dots_c1<1> : KP == 16 ? dots_c1<2> : KP == 24 ? dots_c1<3> : dots_c1<4>;
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 18) / std::max<int64_t>(perImage * N * KP, 1));
  parallel_for(g.batch, grain, [&](int64_t b0, int64_t b1) {
    float d[kDirectMaxTaps];
    for (int64_t b = b0; b < b1; ++b) {
      float* xb = dx + b * g.inH * g.inW;
      std::fill(xb, xb + g.inH * g.inW, 0.f);
      for (int64_t oh = 0; oh < g.outH; ++oh) {
        for (int64_t ow = 0; ow < g.outW; ++ow) {
          dots(dy + ((b * perImage) + oh * g.outW + ow) * N, wt.data(), N, d);
          const int64_t ih0 = oh * g.strideH - g.padTop, iw0 = ow * g.strideW - g.padLeft;
          for (int64_t kh = 0; kh < g.filterH; ++kh) {
            const int64_t ih = ih0 + kh * g.dilationH;
            if (ih < 0 || ih >= g.inH) continue;
            for (int64_t kw = 0; kw < g.filterW; ++kw) {
              const int64_t iw = iw0 + kw * g.dilationW;
              if (iw >= 0 && iw < g.inW) xb[ih * g.inW + iw] += d[kh * g.filterW + kw];
            }
          }
        }
      }
    }
  });
}

// dW[K, N] += sum over rows r of col[r, k] * dy[r, n] for a 3x3 single-channel filter (K = 9):
// for each 8 filters the nine accumulators stay in registers over all rows of the block.
void accumulate_dw_k9(const float* __restrict col, const float* __restrict dy, int64_t rows, int64_t N,
                      float* __restrict dw) {
  constexpr int K = 9;
  int64_t n0 = 0;
  for (; n0 + 8 <= N; n0 += 8) {
    v8 a[K];
    for (int k = 0; k < K; ++k) a[k] = load8(dw + k * N + n0);
    for (int64_t r = 0; r < rows; ++r) {
      const v8 d = load8(dy + r * N + n0);
      const float* c = col + r * K;
#pragma GCC unroll 9
      for (int k = 0; k < K; ++k) a[k] += splat8(c[k]) * d;
    }
    for (int k = 0; k < K; ++k) store8(dw + k * N + n0, a[k]);
  }
  for (; n0 < N; ++n0)
    for (int64_t r = 0; r < rows; ++r)
      for (int k = 0; k < K; ++k) dw[k * N + n0] += col[r * K + k] * dy[r * N + n0];
}

// Filter gradient of a 3x3 conv with one input channel: each thread gathers the taps of its rows
// in blocks and sums into a private dW; the partial dWs are added at the end.
void backprop_filter_c1_k9(const ConvGeom& g, const float* x, const float* dy, float* dw) {
  const int64_t M = g.batch * rows_per_image(g), K = 9, N = g.outC;
  constexpr int64_t kBlock = 256;
  // Chunks of at least ~256k multiply-adds, at most one per thread.
  const int64_t parts =
      std::max<int64_t>(1, std::min<int64_t>(num_threads(), M * K * N / (int64_t{1} << 18)));
  std::vector<float> partial((parts - 1) * K * N, 0.f);
  std::fill(dw, dw + K * N, 0.f);
  parallel_for(parts, 1, [&](int64_t p0, int64_t p1) {
    float col[kBlock * 9];
    for (int64_t p = p0; p < p1; ++p) {
      float* acc = p == 0 ? dw : partial.data() + (p - 1) * K * N;
      const int64_t m0 = M * p / parts, m1 = M * (p + 1) / parts;
      for (int64_t m = m0; m < m1; m += kBlock) {
        const int64_t rows = std::min(kBlock, m1 - m);
        gather_taps_c1(g, x, m, rows, col);
        accumulate_dw_k9(col, dy + m * N, rows, N, acc);
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
  // First layers (a few input channels) and pointwise convs, outC divisible by 16: the
  // register-tiled small_conv kernel, 2.3-5x faster than the paths below for first layers at batch
  // 32 (cifar-student conv1 0.72 vs 1.69 ms), 1.2-2.7x for mobile-student's pointwise pw1-pw3.
  if ((g.inC <= kSmallConvFilterMaxChannels || is_pointwise(g)) && small_conv_applies(g) && small_conv_training_enabled()) {
    small_conv2d(g, x, w, bias, act, alpha, y);
    return;
  }
  if (is_single_channel(g)) {
    conv2d_c1(g, x, w, bias, act, alpha, y);
    return;
  }
  if (conv_winograd_applies(g)) {
    conv2d_winograd(g, x, w, bias, y);  // adds the bias in its output transform
    add_bias_activate(y, M, N, nullptr, act, alpha);
    return;
  }
  if (conv_images_applies(g)) {
    conv2d_images(g, x, w, y);
  } else if (is_pointwise(g)) {
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

namespace {
void backprop_filter_only(const ConvGeom& g, const float* x, const float* dy, float* dw);
}

void conv2d_backprop_filter(const ConvGeom& g, const float* x, const float* dy, float* dw, float* db) {
  const int64_t M = g.batch * rows_per_image(g), K = col_k(g), N = g.outC;
  if (db == nullptr || N == 0) {
    backprop_filter_only(g, x, dy, dw);
    return;
  }
  if (K > 0 && small_conv_filter_applies(g) && small_conv_training_enabled()) {
    small_conv2d_backprop_filter(g, x, nullptr, dy, dw, db);
    return;
  }
  if (K > 0 && M > 0 && !(g.inC == 1 && g.filterH == 3 && g.filterW == 3) && conv_winograd_filter_applies(g)) {
    conv2d_backprop_filter_winograd(g, x, dy, dw, db);
    return;
  }
  backprop_filter_only(g, x, dy, dw);
  reduce(ReduceOp::Sum, dy, db, 1, M, N);
}

namespace {
void backprop_filter_only(const ConvGeom& g, const float* x, const float* dy, float* dw) {
  const int64_t M = g.batch * rows_per_image(g), K = col_k(g), N = g.outC;
  if (K == 0 || N == 0) return;
  // Pointwise, inC and outC divisible by 16: pointwise.cc (the compiled training step gets both
  // gradients from it in one call, with the same values).
  if (pointwise_backward_applies(g)) {
    pointwise_backward(g, x, dy, nullptr, nullptr, dw);
    return;
  }
  // A few input channels, or pointwise with at most 32: every tap's sums in registers over a whole
  // image (2-3.4x faster at batch 32 than the one-channel and Winograd paths below for first layers).
  if (small_conv_filter_applies(g) && small_conv_training_enabled()) {
    small_conv2d_backprop_filter(g, x, nullptr, dy, dw, nullptr);
    return;
  }
  if (M > 0 && g.inC == 1 && g.filterH == 3 && g.filterW == 3) {
    backprop_filter_c1_k9(g, x, dy, dw);
    return;
  }
  if (M > 0 && conv_winograd_filter_applies(g)) {
    conv2d_backprop_filter_winograd(g, x, dy, dw, nullptr);
    return;
  }
  // BLAS handles small transposed products well; hafif's own GEMM splits only the K rows.
  // Only for a few filter rows (e.g. K = 9 with one input channel): from K = 144 on, the own GEMM,
  // split by filter rows, is faster (student conv2 [3,3,16,32]: 0.37 -> 0.21 ms on one thread).
  if (K * N <= 16384 && K <= 32 && gemm_impl() != GemmImpl::Blas) {
    backprop_filter_small(g, x, dy, dw);
    return;
  }
  if (M == 0) {
    std::fill(dw, dw + K * N, 0.f);
    return;
  }
  if (conv_images_applies(g)) {
    conv2d_backprop_filter_images(g, x, dy, dw);
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
}  // namespace

void conv2d_backprop_input(const ConvGeom& g, const float* dy, const float* w, float* dx) {
  const int64_t M = g.batch * rows_per_image(g), K = col_k(g), N = g.outC;
  if (M > 0 && N > 0 && is_single_channel(g)) {
    conv2d_backprop_input_c1(g, dy, w, dx);
    return;
  }
  if (pointwise_backward_applies(g)) {
    pointwise_backward(g, nullptr, dy, w, dx, nullptr);
    return;
  }
  // Pointwise: dx = dy x W^T is the forward 1x1 conv of dy with the transposed filter, which the
  // register-tiled small_conv kernel runs when inC is a multiple of 16.
  if (M > 0 && N > 0 && is_pointwise(g) && small_conv_training_enabled()) {
    ConvGeom t = g;
    t.inC = g.outC;
    t.outC = g.inC;
    if (small_conv_applies(t)) {
      std::vector<float> wt(static_cast<size_t>(K * N));
      for (int64_t k = 0; k < K; ++k)
        for (int64_t n = 0; n < N; ++n) wt[n * K + k] = w[k * N + n];
      small_conv2d(t, dy, wt.data(), nullptr, ConvActivation::Linear, 0.f, dx);
      return;
    }
  }
  if (M > 0 && K > 0 && N > 0 && conv_winograd_applies(g)) {
    conv2d_backprop_input_winograd(g, dy, w, dx);
    return;
  }
  if (M > 0 && K > 0 && N > 0 && conv_images_applies(g)) {
    conv2d_backprop_input_images(g, dy, w, dx);
    return;
  }
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
