// The backward of pointwise 1×1 convs with inC and outC divisible by 16 (pointwise.inc, compiled
// per ISA): dx and dW in one pass over dy. Declared in kernels.h.
#include "kernels.h"
#include "pointwise_isa.h"

namespace hafif {

bool pointwise_backward_applies(const ConvGeom& g) {
  return small_conv_is_pointwise(g) && g.inC % 16 == 0 && g.outC % 16 == 0 && g.inC * g.outC <= kPointwiseMaxWeights &&
         g.batch * g.inH * g.inW > 0;
}

void pointwise_backward(const ConvGeom& g, const float* x, const float* dy, const float* w, float* dx, float* dw) {
  HAFIF_DISPATCH(pointwise_backward, g, x, dy, w, dx, dw);
}

}  // namespace hafif
