// Winograd F(2x2, 3x3) convolutions for 3x3, stride-1, undilated Conv2D (hafif's teachers: 16–128
// channels on 32x32 down to 7x7). Each 2x2 block of outputs ("tile") reads a 4x4 block of the
// input; in the transformed domain the convolution is 16 independent products (one per point xi of
// the 4x4 block) of [tiles, inC] x [inC, outC], 16 multiplies per tile and channel pair instead of
// im2col's 36: 2.25x fewer flops for the GEMM, plus transforms linear in the activations.
//
//   forward          Y = A^T [ (G g G^T) . (B^T d B) ] A          (Lavin & Gray, 2015)
//   backprop input   the forward on dy with the filter rotated 180 degrees and inC/outC swapped,
//                    padding 2 - pad (a stride-1 conv's input gradient is a "full" conv)
//   backprop filter  the adjoint of the forward: dg = G^T [ sum over tiles (B^T d B) . (A dY A^T) ] G
//                    (and the bias gradient, dY summed as its transform reads each value once)
//
// Threads take groups of whole images; a group's transformed input V[tile][xi][inC] and products
// M[tile][xi][outC] stay in L2, and the 16 products run on register-blocked kernels that read V in
// place (winograd.inc; transforms and products are compiled per ISA, zmm with AVX-512). The filter
// is transformed once per call into NR-wide panels.
//
// Outputs of at least 7x7 take F(4x4, 3x3) instead (6x6 input blocks, 36 products per 16 outputs:
// 4x fewer multiplies than im2col's 144 instead of 2.25x; only from
// at most 64 channels, for its larger float32 error and partial sums). winograd4_* in winograd.inc.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "isa.h"
#include "kernels.h"
#include "parallel.h"
#include "winograd.h"

HAFIF_DECLARE_WINOGRAD_KERNELS(baseline)
#if HAFIF_MULTI_ISA
HAFIF_DECLARE_WINOGRAD_KERNELS(avx2)
HAFIF_DECLARE_WINOGRAD_KERNELS(avx512)
#endif

namespace hafif {
namespace {

using Plane = WinogradPlane;

// The transforms of the ISA isa.cc picked (winograd.inc).
void input_transform(const Plane& p, const float* x, const float* zeros, const WinogradLayout& l, float* V) {
  HAFIF_DISPATCH(winograd_input_transform, p, x, zeros, l, V);
}
void output_transform(const Plane& p, const float* M, int64_t ldm, const float* bias, float* y) {
  HAFIF_DISPATCH(winograd_output_transform, p, M, ldm, bias, y);
}
void output_grad_transform(const Plane& p, const float* dy, const float* zeros, const WinogradLayout& l, int64_t Np,
                           float* dM, double* bsum) {
  HAFIF_DISPATCH(winograd_output_grad_transform, p, dy, zeros, l, Np, dM, bsum);
}
void input_transform4(const Plane& p, const float* x, const float* zeros, const WinogradLayout& l, float* V) {
  HAFIF_DISPATCH(winograd4_input_transform, p, x, zeros, l, V);
}
void output_transform4(const Plane& p, const float* M, int64_t ldm, const float* bias, float* y) {
  HAFIF_DISPATCH(winograd4_output_transform, p, M, ldm, bias, y);
}
void output_grad_transform4(const Plane& p, const float* dy, const float* zeros, const WinogradLayout& l, int64_t Np,
                            float* dM, double* bsum) {
  HAFIF_DISPATCH(winograd4_output_grad_transform, p, dy, zeros, l, Np, dM, bsum);
}
void filter_grad_transform(bool four, int64_t C, int64_t N, int64_t Np, const float* dU, int64_t c0, int64_t c1,
                           float* dw) {
  if (four) {
    HAFIF_DISPATCH(winograd4_filter_grad_transform, C, N, Np, dU, c0, c1, dw);
  }
  HAFIF_DISPATCH(winograd_filter_grad_transform, C, N, Np, dU, c0, c1, dw);
}
int64_t panel_width() { HAFIF_DISPATCH(winograd_panel_width); }
int64_t row_padding() { HAFIF_DISPATCH(winograd_row_padding); }
void forward_products(int points, int64_t rows, int64_t C, int64_t Np, const float* V, const float* Up, float* M) {
  HAFIF_DISPATCH(winograd_forward_products, points, rows, C, Np, V, Up, M);
}
void filter_products(int points, int64_t rows, int64_t C, int64_t Np, const float* V, const WinogradLayout& lv,
                     const float* dM, const WinogradLayout& lm, bool accumulate, float* dU) {
  HAFIF_DISPATCH(winograd_filter_products, points, rows, C, Np, V, lv, dM, lm, accumulate, dU);
}
// N rounded up to whole panels.
int64_t padded(int64_t N) {
  const int64_t nr = panel_width();
  return (N + nr - 1) / nr * nr;
}

// Row strides of the filter gradient's point-major matrices: a multiple of 32 floats gets 16 more, so
// that consecutive tiles do not fall on the same few cache sets.
int64_t skewed(int64_t n) { return n % 32 == 0 ? n + 16 : n; }
// The filter gradient's products read V and dM point-major from 64 input channels: tile-major, the
// rows of one product are points * C floats apart (4 KB and more there, the same cache sets).
// In-process A/B (best of 61, batch 32, tile-major -> point-major): 14x14 64->64 1.13x, 7x7 64->128
// 1.23x, 7x7 128->128 1.09x; 28x28 32->32 0.99x and 14x14 32->64 0.91x keep tile-major.
constexpr int64_t kPointMajorMinChannels = 64;

// Budget (floats) for one group's V and M: 1 MB, half the L2 of the machines measured.
constexpr int64_t kGroupBudget = int64_t{1} << 18;
// Tiles per group wanted at least (the products' fixed costs per call are then small).
constexpr int64_t kMinGroupTiles = 96;

// Of an image's T tiles of `points` points each.
int64_t images_per_group(const Plane& p, int64_t batch, int64_t T, int64_t points) {
  const int64_t per = T * points * (p.C + p.N);
  int64_t n = std::max<int64_t>(1, (kMinGroupTiles + T - 1) / T);
  n = std::min(n, std::max<int64_t>(1, kGroupBudget / std::max<int64_t>(per, 1)));
  // Keep at least two groups per thread when the batch allows it, for balance.
  n = std::min(n, std::max<int64_t>(1, batch / (2 * num_threads())));
  return std::min(n, batch);
}

std::vector<float>& scratch_v() {
  thread_local std::vector<float> buf;
  return buf;
}
std::vector<float>& scratch_m() {
  thread_local std::vector<float> buf;
  return buf;
}
// The filter gradient's partial sums and per-image bias sums, kept across calls (fresh megabytes
// would page-fault on every call).
std::vector<float>& scratch_du() {
  thread_local std::vector<float> buf;
  return buf;
}
std::vector<double>& scratch_bias() {
  thread_local std::vector<double> buf;
  return buf;
}
template <class T>
T* sized(std::vector<T>& b, size_t n) {
  if (b.size() < n) b.resize(n);
  return b.data();
}

void filter_transform(bool four, int64_t C, int64_t N, const float* w, int64_t c0, int64_t c1, float* Up) {
  if (four) {
    HAFIF_DISPATCH(winograd4_filter_transform, C, N, w, c0, c1, Up);
  }
  HAFIF_DISPATCH(winograd_filter_transform, C, N, w, c0, c1, Up);
}

// Up = the panels of U[xi][c][n] = (G g G^T)[xi] for the filter w [3][3][C][N], zero for n >= N
// (points * C * padded(N) floats; points 16 for F(2x2), 36 for F(4x4)), split over threads by input
// channel.
std::vector<float> filter_panels(bool four, int64_t C, int64_t N, const float* w) {
  std::vector<float> Up(static_cast<size_t>((four ? 36 : 16) * C * padded(N)), 0.f);
  parallel_for(C, std::max<int64_t>(1, 2048 / std::max<int64_t>(N, 1)), [&](int64_t c0, int64_t c1) {
    filter_transform(four, C, N, w, c0, c1, Up.data());
  });
  return Up;
}

// y = conv(x, U) + bias for `batch` images of plane p (y overwritten; bias may be null), U from
// filter_panels(four, ...): F(4x4, 3x3) tiles if four, else F(2x2, 3x3).
void run_forward(bool four, const Plane& p, int64_t batch, const float* x, const float* U, const float* bias,
                 float* y) {
  const int64_t points = four ? 36 : 16, T = four ? ((p.outH + 3) / 4) * ((p.outW + 3) / 4) : p.tiles();
  const int64_t C = p.C, N = p.N, inImage = p.inH * p.inW * C, outImage = p.outH * p.outW * N;
  const int64_t per = images_per_group(p, batch, T, points), groups = (batch + per - 1) / per, Np = padded(N);
  const std::vector<float> zeros(static_cast<size_t>(C), 0.f);
  const WinogradLayout lv{points * C, C};
  parallel_for(groups, 1, [&](int64_t q0, int64_t q1) {
    float* V = sized(scratch_v(), (per * T + row_padding()) * points * C);
    float* M = sized(scratch_m(), per * T * points * Np);
    for (int64_t q = q0; q < q1; ++q) {
      const int64_t b0 = q * per, b1 = std::min(batch, b0 + per), rows = (b1 - b0) * T;
      for (int64_t b = b0; b < b1; ++b) {
        float* v = V + (b - b0) * T * points * C;
        if (four) input_transform4(p, x + b * inImage, zeros.data(), lv, v);
        else input_transform(p, x + b * inImage, zeros.data(), lv, v);
      }
      forward_products(static_cast<int>(points), rows, C, Np, V, U, M);
      for (int64_t b = b0; b < b1; ++b) {
        const float* m = M + (b - b0) * T * points * Np;
        if (four) output_transform4(p, m, Np, bias, y + b * outImage);
        else output_transform(p, m, Np, bias, y + b * outImage);
      }
    }
  });
}

bool enabled_from_env() {
  const char* e = std::getenv("HAFIF_CONV_WINOGRAD");
  return e == nullptr || std::strcmp(e, "0") != 0;
}
bool g_enabled = enabled_from_env();
bool four_from_env() {
  const char* e = std::getenv("HAFIF_CONV_WINOGRAD4");
  return e == nullptr || std::strcmp(e, "0") != 0;
}
bool g_four = four_from_env();

// Whether a forward-shaped call (input gradients included) producing outH x outW from C channels takes
// F(4x4, 3x3): 36 products per 16 outputs instead of 64 (the teachers' 32x32 and 16x16 kernels
// 1.2-1.4x faster, 14x14 1.0-1.14x; 7x7, in 2x2 tiles of 4x4 that waste 15 of 64 outputs, still 144
// products per image and channel pair instead of 256: batch 32, best of 41 in-process, forward
// 64->128 1.21x, input gradient 64->64 1.23x, 32->64 1.22x). Its float32 error grows with C: 64
// channels stay within 0.4e-4 of the float64 sums (relative to 1 + |y|), 128 reach 0.8e-4 and keep
// F(2x2) (0.2e-4).
constexpr int64_t kFourMinOutput = 7;
bool use_four(int64_t outH, int64_t outW, int64_t C) {
  return g_four && outH >= kFourMinOutput && outW >= kFourMinOutput && C <= 64;
}
// The filter gradient's: F(4x4, 3x3) on outputs of at least 7x7 (7x7 64->128 1.11x, 32->64 1.14x) from at most 64 input channels (the
// 36 partial dU of 128x128 channels, 2.4 MB each, made cifar-teacher conv6's backward 4.3 -> 4.7 ms
// in the training step).
bool use_four_filter(int64_t outH, int64_t outW, int64_t C) {
  return g_four && outH >= kFourMinOutput && outW >= kFourMinOutput && C <= 64;
}

}  // namespace

void conv_winograd_enable(bool on) { g_enabled = on; }
bool conv_winograd_enabled() { return g_enabled; }
void conv_winograd4_enable(bool on) { g_four = on; }
bool conv_winograd4_enabled() { return g_four; }

namespace {
// Tiles (batch x 2x2 output blocks) a call needs at least: the filter's transforms cost about as
// much as the products over ~100 tiles. With fewer (one 8x8x128 image: 16) the im2col path was
// faster (input gradient 0.34 vs 0.52 ms); from 32 (two such images) Winograd was ahead overall.
constexpr int64_t kMinTiles = 32;

// 3x3 stride 1 undilated, padding the 4x4 input blocks can hold, an output of at least one full
// tile, enough tiles, and at least minC input and 8 output channels.
bool shape_applies(const ConvGeom& g, int64_t minC) {
  return g_enabled && g.filterH == 3 && g.filterW == 3 && g.strideH == 1 &&
         g.strideW == 1 && g.dilationH == 1 && g.dilationW == 1 && g.inC >= minC && g.outC >= 8 && g.padTop >= 0 &&
         g.padTop <= 2 && g.padLeft >= 0 && g.padLeft <= 2 && g.outH >= 2 && g.outW >= 2 &&
         g.batch * ((g.outH + 1) / 2) * ((g.outW + 1) / 2) >= kMinTiles;
}
}  // namespace

// Forward and input gradient: products of at least 8 channels each way (below that the transforms
// cost more than the products save).
bool conv_winograd_applies(const ConvGeom& g) { return shape_applies(g, 8); }

// Filter gradient: from 3 input channels (an RGB first layer), where the products' rows are the
// input channels. cifar-teacher's [32,32,32,3] x 3x3x32 filter gradient: 3.1 ms on the small-K
// path, 1.7–2.1 ms here (4 channels: 2.0 ms on the per-image path, the same here).
bool conv_winograd_filter_applies(const ConvGeom& g) { return shape_applies(g, 3); }

void conv2d_winograd(const ConvGeom& g, const float* x, const float* w, const float* bias, float* y) {
  const int64_t C = g.inC, N = g.outC;
  const bool four = use_four(g.outH, g.outW, C);
  const std::vector<float> U = filter_panels(four, C, N, w);
  const Plane p{g.inH, g.inW, C, g.outH, g.outW, N, g.padTop, g.padLeft};
  run_forward(four, p, g.batch, x, U.data(), bias, y);
}

void conv2d_backprop_input_winograd(const ConvGeom& g, const float* dy, const float* w, float* dx) {
  // dx = conv(dy, w rotated 180 degrees with inC and outC swapped), padding 2 - pad.
  const int64_t C = g.outC, N = g.inC;
  std::vector<float> wr(static_cast<size_t>(9 * C * N));
  parallel_for(9, 1, [&](int64_t k0, int64_t k1) {
    for (int64_t k = k0; k < k1; ++k)
      for (int64_t n = 0; n < N; ++n)
        for (int64_t c = 0; c < C; ++c) wr[(k * C + c) * N + n] = w[((8 - k) * N + n) * C + c];
  });
  const bool four = use_four(g.inH, g.inW, C);
  const std::vector<float> U = filter_panels(four, C, N, wr.data());
  const Plane p{g.outH, g.outW, C, g.inH, g.inW, N, 2 - g.padTop, 2 - g.padLeft};
  run_forward(four, p, g.batch, dy, U.data(), nullptr, dx);
}

void conv2d_backprop_filter_winograd(const ConvGeom& g, const float* x, const float* dy, float* dw, float* db) {
  const Plane p{g.inH, g.inW, g.inC, g.outH, g.outW, g.outC, g.padTop, g.padLeft};
  const bool four = use_four_filter(g.outH, g.outW, g.inC);
  const int64_t points = four ? 36 : 16, T = four ? ((p.outH + 3) / 4) * ((p.outW + 3) / 4) : p.tiles();
  const int64_t C = p.C, N = p.N, Np = padded(N), CN = C * Np;
  const int64_t inImage = p.inH * p.inW * C, outImage = p.outH * p.outW * N;
  const int64_t per = images_per_group(p, g.batch, T, points), groups = (g.batch + per - 1) / per;
  // One partial dU per fixed block of groups (not per thread), so the sum's order is fixed.
  const int64_t parts = std::min<int64_t>(groups, 2 * num_threads());
  // Each part's first group overwrites its dU (every element is a product's output).
  float* const dU = sized(scratch_du(), parts * points * CN);
  double* const bsums = db == nullptr ? nullptr : sized(scratch_bias(), g.batch * N);
  if (bsums != nullptr) std::fill(bsums, bsums + g.batch * N, 0.0);
  const std::vector<float> zeros(static_cast<size_t>(std::max(C, N)), 0.f);
  const bool pm = C >= kPointMajorMinChannels;
  const int64_t rows_max = per * T;
  WinogradLayout lv{points * C, C}, lm{points * Np, Np};
  if (pm) {
    lv = {skewed(C), rows_max * skewed(C)};
    lm = {skewed(Np), rows_max * skewed(Np)};
  }
  parallel_for(parts, 1, [&](int64_t r0, int64_t r1) {
    float* V = sized(scratch_v(), pm ? points * rows_max * lv.tile + row_padding() : (rows_max + row_padding()) * points * C);
    float* M = sized(scratch_m(), points * rows_max * lm.tile);
    for (int64_t r = r0; r < r1; ++r) {
      float* acc = dU + r * points * CN;
      const int64_t q0 = groups * r / parts, q1 = groups * (r + 1) / parts;
      for (int64_t q = q0; q < q1; ++q) {
        const int64_t b0 = q * per, b1 = std::min(g.batch, b0 + per), rows = (b1 - b0) * T;
        for (int64_t b = b0; b < b1; ++b) {
          float* v = V + (b - b0) * T * lv.tile;
          float* m = M + (b - b0) * T * lm.tile;
          double* bs = bsums == nullptr ? nullptr : bsums + b * N;
          if (four) {
            input_transform4(p, x + b * inImage, zeros.data(), lv, v);
            output_grad_transform4(p, dy + b * outImage, zeros.data(), lm, Np, m, bs);
          } else {
            input_transform(p, x + b * inImage, zeros.data(), lv, v);
            output_grad_transform(p, dy + b * outImage, zeros.data(), lm, Np, m, bs);
          }
        }
        filter_products(static_cast<int>(points), rows, C, Np, V, lv, M, lm, q > q0, acc);
      }
    }
  });
  parallel_for(points * CN, 4096, [&](int64_t i0, int64_t i1) {
    float* __restrict d = dU;
    for (int64_t r = 1; r < parts; ++r) {
      const float* __restrict src = dU + r * points * CN;
      for (int64_t i = i0; i < i1; ++i) d[i] += src[i];
    }
  });
  parallel_for(C, std::max<int64_t>(1, 2048 / std::max<int64_t>(N, 1)), [&](int64_t c0, int64_t c1) {
    filter_grad_transform(four, C, N, Np, dU, c0, c1, dw);
  });
  if (db != nullptr) {
    // Per-image sums, added over images in a fixed order.
    for (int64_t n = 0; n < N; ++n) {
      double s = 0;
      for (int64_t b = 0; b < g.batch; ++b) s += bsums[b * N + n];
      db[n] = static_cast<float>(s);
    }
  }
}

}  // namespace hafif
