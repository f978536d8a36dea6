// Training-mode batch norm (batchnorm.inc, compiled per ISA): each call goes to the copy isa.cc picked.
#include "isa.h"
#include "kernels.h"

namespace hafif {

void batch_norm_train_forward(const BatchNormTrainGeom& g, const float* x, const float* scale, const float* offset,
                              const float* moving_mean, const float* moving_var, float* y, float* mean, float* var,
                              float* new_moving_mean, float* new_moving_var) {
  HAFIF_DISPATCH(batch_norm_train_forward, g, x, scale, offset, moving_mean, moving_var, y, mean, var, new_moving_mean,
                 new_moving_var);
}

void batch_norm_train_backward(const BatchNormTrainGeom& g, const float* dy, const float* x, const float* mean,
                               const float* var, const float* scale, const float* offset, const float* y,
                               const float* dmean, const float* dvar, float* dx, float* dscale, float* doffset) {
  HAFIF_DISPATCH(batch_norm_train_backward, g, dy, x, mean, var, scale, offset, y, dmean, dvar, dx, dscale, doffset);
}

}  // namespace hafif
