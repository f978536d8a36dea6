// Optimizer updates over raw float32 arrays: one pass per variable instead of a dozen tfjs ops.
#include <cmath>

#include "kernels.h"
#include "parallel.h"

namespace hafif {

void adam_update(const AdamStep& s, const float* g, float* __restrict m, float* __restrict v,
                 const float* w, float* __restrict w_out, int64_t n) {
  const float b1 = s.beta1, b2 = s.beta2, c1 = 1.0f - s.beta1, c2 = 1.0f - s.beta2;
  const float step = s.step_size, inv_sqrt_bc2 = s.inv_sqrt_bc2, eps = s.epsilon;
  // Memory-bound (4 reads, 3 writes per weight): chunks of 16K weights keep both cores streaming.
  parallel_for(n, 1 << 14, [=](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float gi = g[i];
      const float mi = b1 * m[i] + c1 * gi;
      const float vi = b2 * v[i] + c2 * gi * gi;
      m[i] = mi;
      v[i] = vi;
      w_out[i] = w[i] - step * mi / (std::sqrt(vi) * inv_sqrt_bc2 + eps);
    }
  });
}

}  // namespace hafif
