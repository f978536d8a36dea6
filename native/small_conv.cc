// Forward conv for small filters with outC divisible by 16 (pointwise 1×1 convs, first layers),
// for inference: the per-ISA register-tiled kernel of small_conv.inc. Declared in kernels.h.
#include "kernels.h"
#include "small_conv_isa.h"

namespace hafif {
namespace {

void dispatch(const ConvGeom& g, const float* x, const float* w, const float* bias, ConvActivation act, float alpha,
              float* y) {
  HAFIF_DISPATCH(small_conv2d, g, x, w, bias, act, alpha, y);
}

}  // namespace

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

}  // namespace hafif
