// Conv2D forward and gradients for batches of small images (hafif's CIFAR / MNIST teachers:
// 32–128 channels, 3x3, 28x28 down to 7x7): each thread takes whole images, im2cols one image
// into its own buffer, which stays in L2 (at most kImageColBudget floats), and runs the serial GEMM
// on it. The batch-wide path in conv.cc writes the whole batch's col matrix to memory and reads it
// back in the GEMM's packing (29 MB per call for deep-teacher's conv2), which costs more than the
// arithmetic at these channel counts.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "kernels.h"
#include "parallel.h"

namespace hafif {
namespace {

// One image's col matrix (floats): 1 MB, so that it and the GEMM's packed blocks stay in L2.
constexpr int64_t kImageColBudget = int64_t{1} << 18;

int64_t K_of(const ConvGeom& g) { return g.filterH * g.filterW * g.inC; }
int64_t P_of(const ConvGeom& g) { return g.outH * g.outW; }

std::vector<float>& image_scratch(size_t n) {
  thread_local std::vector<float> buf;
  if (buf.size() < n) buf.resize(n);
  return buf;
}

// col[p, 0:K) for the P output positions of image xb (zeros outside the image).
void im2col_image(const ConvGeom& g, const float* xb, float* col) {
  const int64_t C = g.inC, rowLen = g.filterW * C, K = K_of(g);
  for (int64_t oh = 0; oh < g.outH; ++oh) {
    for (int64_t ow = 0; ow < g.outW; ++ow) {
      float* dst = col + (oh * g.outW + ow) * K;
      const int64_t ih0 = oh * g.strideH - g.padTop, iw0 = ow * g.strideW - g.padLeft;
      for (int64_t kh = 0; kh < g.filterH; ++kh, dst += rowLen) {
        const int64_t ih = ih0 + kh * g.dilationH;
        if (ih < 0 || ih >= g.inH) {
          std::memset(dst, 0, rowLen * sizeof(float));
          continue;
        }
        const float* xr = xb + ih * g.inW * C;
        for (int64_t kw = 0; kw < g.filterW; ++kw) {
          const int64_t iw = iw0 + kw * g.dilationW;
          if (iw < 0 || iw >= g.inW) std::memset(dst + kw * C, 0, C * sizeof(float));
          else std::memcpy(dst + kw * C, xr + iw * C, C * sizeof(float));
        }
      }
    }
  }
}

// dxb += col2im(dcol) for one image.
void col2im_image(const ConvGeom& g, const float* dcol, float* dxb) {
  const int64_t C = g.inC, K = K_of(g);
  for (int64_t oh = 0; oh < g.outH; ++oh) {
    for (int64_t ow = 0; ow < g.outW; ++ow) {
      const float* s = dcol + (oh * g.outW + ow) * K;
      const int64_t ih0 = oh * g.strideH - g.padTop, iw0 = ow * g.strideW - g.padLeft;
      for (int64_t kh = 0; kh < g.filterH; ++kh) {
        const int64_t ih = ih0 + kh * g.dilationH;
        if (ih < 0 || ih >= g.inH) {
          s += g.filterW * C;
          continue;
        }
        float* xr = dxb + ih * g.inW * C;
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

}  // namespace

bool conv_images_applies(const ConvGeom& g) {
  // HAFIF_CONV_IMAGES=0 keeps conv.cc's batch-wide path (for A/B benchmarks).
  static const bool enabled = [] {
    const char* e = std::getenv("HAFIF_CONV_IMAGES");
    return e == nullptr || std::strcmp(e, "0") != 0;
  }();
  if (!enabled) return false;
  const int64_t K = K_of(g), P = P_of(g);
  // Enough images for every thread, a real GEMM per image (not a pointwise or one-channel conv,
  // which conv.cc handles without im2col), an image's col matrix within the L2 budget, and at least
  // as many output positions as filters: each image's GEMM re-reads the filter (K·N floats) where
  // the batch-wide path's col matrix costs P·K per image; keras-teacher's conv2 (P 49, N 512) ran
  // 2.4x slower per image.
  return gemm_impl() == GemmImpl::Own && num_threads() > 1 && g.batch >= 2 * num_threads() && g.inC >= 4 &&
         g.outC >= 8 && !(g.filterH == 1 && g.filterW == 1) && P * K <= kImageColBudget && P >= 16 && P >= g.outC;
}

void conv2d_images(const ConvGeom& g, const float* x, const float* w, float* y) {
  const int64_t K = K_of(g), P = P_of(g), N = g.outC, inImage = g.inH * g.inW * g.inC;
  parallel_for(g.batch, 1, [&](int64_t b0, int64_t b1) {
    float* col = image_scratch(P * K).data();
    for (int64_t b = b0; b < b1; ++b) {
      im2col_image(g, x + b * inImage, col);
      sgemm_own_serial(false, false, P, N, K, 1.f, col, K, w, N, 0.f, y + b * P * N, N);
    }
  });
}

void conv2d_backprop_input_images(const ConvGeom& g, const float* dy, const float* w, float* dx) {
  const int64_t K = K_of(g), P = P_of(g), N = g.outC, inImage = g.inH * g.inW * g.inC;
  parallel_for(g.batch, 1, [&](int64_t b0, int64_t b1) {
    float* dcol = image_scratch(P * K).data();
    for (int64_t b = b0; b < b1; ++b) {
      float* dxb = dx + b * inImage;
      std::fill(dxb, dxb + inImage, 0.f);
      sgemm_own_serial(false, true, P, K, N, 1.f, dy + b * P * N, N, w, N, 0.f, dcol, K);
      col2im_image(g, dcol, dxb);
    }
  });
}

void conv2d_backprop_filter_images(const ConvGeom& g, const float* x, const float* dy, float* dw) {
  const int64_t K = K_of(g), P = P_of(g), N = g.outC, inImage = g.inH * g.inW * g.inC;
  // One partial dW per fixed block of images (not per thread), so the sum's order is fixed.
  const int64_t parts = std::min<int64_t>(g.batch, 2 * num_threads());
  std::vector<float> partial(static_cast<size_t>((parts - 1) * K * N));
  parallel_for(parts, 1, [&](int64_t p0, int64_t p1) {
    float* col = image_scratch(P * K).data();
    for (int64_t p = p0; p < p1; ++p) {
      float* acc = p == 0 ? dw : partial.data() + (p - 1) * K * N;
      const int64_t i0 = g.batch * p / parts, i1 = g.batch * (p + 1) / parts;
      for (int64_t b = i0; b < i1; ++b) {
        im2col_image(g, x + b * inImage, col);
        sgemm_own_serial(true, false, K, N, P, 1.f, col, K, dy + b * P * N, N, b == i0 ? 0.f : 1.f, acc, N);
      }
    }
  });
  for (int64_t p = 1; p < parts; ++p) {
    const float* __restrict src = partial.data() + (p - 1) * K * N;
    for (int64_t i = 0; i < K * N; ++i) dw[i] += src[i];
  }
}

}  // namespace hafif
