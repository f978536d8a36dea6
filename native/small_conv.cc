// Convs with small filters and outC divisible by 16 (pointwise 1×1 convs, first layers): the
// forward and the few-input-channel filter gradient, per-ISA register-tiled kernels of
// small_conv.inc. Declared in kernels.h.
#include <cstdlib>
#include <cstring>

#include "kernels.h"
#include "small_conv_isa.h"

namespace hafif {
namespace {

void dispatch(const ConvGeom& g, const float* x, const float* w, const float* bias, ConvActivation act, float alpha,
              float* y) {
  HAFIF_DISPATCH(small_conv2d, g, x, w, bias, act, alpha, y);
}

void dispatch_filter(const ConvGeom& g, const float* x, const float* y, const float* dy, float* dw, float* db) {
  HAFIF_DISPATCH(small_conv2d_backprop_filter, g, x, y, dy, dw, db);
}

bool enabled_from_env() {
  const char* e = std::getenv("HAFIF_SMALL_CONV");
  return e == nullptr || std::strcmp(e, "0") != 0;
}
bool g_training = enabled_from_env();

}  // namespace

void small_conv_training_enable(bool on) { g_training = on; }
bool small_conv_training_enabled() { return g_training; }

bool small_conv_applies(const ConvGeom& g) {
  return g.outC > 0 && g.outC % 16 == 0 && g.filterH * g.filterW * g.inC * g.outC <= kSmallConvMaxWeights;
}

void small_conv2d(const ConvGeom& g, const float* x, const float* w, const float* bias, ConvActivation act,
                  float alpha, float* y) {
  if (g.batch * g.outH * g.outW == 0) return;
  dispatch(g, x, w, bias, act, alpha, y);
  if (act == ConvActivation::Elu || act == ConvActivation::Sigmoid) {
    bias_activation(y, g.batch * g.outH * g.outW, g.outC, nullptr, 0, act, alpha);
  }
}

// The filter gradient sums each image's pixels in float32 before adding images up.
constexpr int64_t kMaxImagePixels = int64_t{1} << 16;

bool small_conv_is_pointwise(const ConvGeom& g) {
  return g.filterH == 1 && g.filterW == 1 && g.strideH == 1 && g.strideW == 1 && g.padTop == 0 && g.padLeft == 0 &&
         g.outH == g.inH && g.outW == g.inW;
}

bool small_conv_filter_applies(const ConvGeom& g) {
  const bool few = g.inC <= kSmallConvFilterMaxChannels && g.filterH * g.filterW * g.inC <= 64;
  const bool pointwise = small_conv_is_pointwise(g) && g.inC <= kSmallConvPointwiseMaxChannels;
  return g.outC > 0 && g.outC % 16 == 0 && g.inC >= 1 && (few || pointwise) && g.batch * g.outH * g.outW > 0 &&
         g.outH * g.outW <= kMaxImagePixels;
}

void small_conv2d_backprop_filter(const ConvGeom& g, const float* x, const float* y, const float* dy, float* dw,
                                  float* db) {
  dispatch_filter(g, x, y, dy, dw, db);
}

}  // namespace hafif
