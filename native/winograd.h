// Shared by winograd.cc and the per-ISA copies of its transforms (winograd_<isa>.cc).
#pragma once
#include <cstdint>

namespace hafif {

// One image's convolution as Winograd sees it: x [inH, inW, C] -> y [outH, outW, N], output (oh, ow)
// reading input rows oh - padTop + 0..2 and columns ow - padLeft + 0..2. Tile (th, tw) is the 2x2
// outputs from (2th, 2tw), reading the 4x4 inputs from (2th - padTop, 2tw - padLeft).
struct WinogradPlane {
  int64_t inH, inW, C, outH, outW, N, padTop, padLeft;
  int64_t tilesH() const { return (outH + 1) / 2; }
  int64_t tilesW() const { return (outW + 1) / 2; }
  int64_t tiles() const { return tilesH() * tilesW(); }
};

// Where the transforms put tile t's point xi, channel c: t * tile + xi * point + c (floats). The
// forward's products read V tile-major (tile = points * C, point = C); the filter gradient's read
// V and dM point-major (point = rows * tile), each point's tiles a matrix with rows `tile` apart.
struct WinogradLayout {
  int64_t tile, point;
};

}  // namespace hafif

// The transforms each ISA namespace defines (winograd.inc), for one image:
//   input:       V at layout v, channels [0, C) = (B^T d B)[xi] of tile t's input block (zeros = C zero floats)
//   output:      y = (A^T m A) + bias of each tile's M[t][xi][0, N) (xi stride ldm; bias may be null),
//                cut at the image's edge
//   output grad: dM at layout m = (A dy A^T)[xi] of tile t's outputs (zeros = N zero floats),
//                channels [0, Np), zero from N on; bsum[0, N) (if not null) += the sums of dy over the image
// and the 16 products over a group's `rows` tiles, N padded to Np (a multiple of the panel width):
//   forward:     M[t][xi][0, Np) = V[t][xi][0, C) x Up[xi], Up packed by panels ([xi][Np / NR][C][NR]),
//                xi < points (16, or 36 for F(4x4, 3x3))
//   filter:      dU[xi][c][0, Np) (+)= sum over t of V(t, xi, c) * dM(t, xi, 0..Np), xi < points, V and dM
//                at layouts v and m
// and the filter transforms over input channels [c0, c1): w [3][3][C][N] to the (zeroed) panels Up, and
// dU [16][C][0, Np) to dw [3][3][C][N] (G^T dU G, the adjoint).
// winograd4_* are the input, output, output-gradient and filter (gradient) transforms of F(4x4, 3x3): 4x4 output tiles from
// (4th, 4tw) reading 6x6 input blocks from (4th - padTop, 4tw - padLeft), 36 points xi (the plane's
// tilesH / tilesW are those of F(2x2); these count ceil(out / 4)).
// V and dM are read up to winograd_row_padding() rows / channels past their end (allocate them so).
#define HAFIF_DECLARE_WINOGRAD_KERNELS(ns)                                                                 \
  namespace hafif {                                                                                        \
  namespace ns {                                                                                           \
  void winograd_input_transform(const WinogradPlane&, const float* x, const float* zeros, const WinogradLayout&, \
                                float* V);                                                                 \
  void winograd_output_transform(const WinogradPlane&, const float* M, int64_t ldm, const float* bias,      \
                                 float* y);                                                                \
  void winograd_output_grad_transform(const WinogradPlane&, const float* dy, const float* zeros,            \
                                      const WinogradLayout&, int64_t Np, float* dM, double* bsum);          \
  int64_t winograd_panel_width();                                                                          \
  int64_t winograd_row_padding();                                                                          \
  void winograd_filter_transform(int64_t C, int64_t N, const float* w, int64_t c0, int64_t c1, float* Up);  \
  void winograd_filter_grad_transform(int64_t C, int64_t N, int64_t Np, const float* dU, int64_t c0,      \
                                      int64_t c1, float* dw);                                              \
  void winograd_forward_products(int points, int64_t rows, int64_t C, int64_t Np, const float* V,          \
                                 const float* Up, float* M);                                               \
  void winograd4_input_transform(const WinogradPlane&, const float* x, const float* zeros, const WinogradLayout&, \
                                 float* V);                                                                \
  void winograd4_output_transform(const WinogradPlane&, const float* M, int64_t ldm, const float* bias,     \
                                  float* y);                                                               \
  void winograd4_filter_transform(int64_t C, int64_t N, const float* w, int64_t c0, int64_t c1, float* Up); \
  void winograd_filter_products(int points, int64_t rows, int64_t C, int64_t Np, const float* V,           \
                                const WinogradLayout& v, const float* dM, const WinogradLayout& m,        \
                                bool accumulate, float* dU);                                               \
  void winograd4_output_grad_transform(const WinogradPlane&, const float* dy, const float* zeros,           \
                                       const WinogradLayout&, int64_t Np, float* dM, double* bsum);         \
  void winograd4_filter_grad_transform(int64_t C, int64_t N, int64_t Np, const float* dU, int64_t c0,     \
                                       int64_t c1, float* dw);                                             \
  }                                                                                                        \
  }
