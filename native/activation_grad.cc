// Gradients of the elementwise activations of tfjs-layers' ReLU, ReLU(maxValue) and LeakyReLU
// layers, one pass each, with tfjs' exact semantics: Relu's gradient is dy·step(x) (NaN where x is
// NaN; dy·0 keeps dy's sign and NaN), ClipByValue's after it passes dy where 0 ≤ relu(x) ≤ max,
// LeakyRelu's is dy where x > 0 else dy·alpha, and ClipByValue's alone dy where lo ≤ x ≤ hi else 0.
#include "kernels.h"
#include "parallel.h"

// No kernel here reads the floating-point exception flags: without trapping math the compares
// become vector selects.
#pragma GCC optimize("no-trapping-math")

namespace hafif {

namespace {
constexpr int64_t kGrain = 1 << 14;
}

void relu_grad(const float* x, const float* dy, float* dx, int64_t n, float max_value) {
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      // Both products computed unconditionally so the selects vectorize.
      const float v = x[i], d = dy[i], z = d * 0.0f;
      float r = v > 0.0f ? d : z;
      r = v == v ? r : v;  // NaN where x is NaN
      dx[i] = v > max_value ? 0.0f : r;
    }
  });
}

void leaky_relu_grad(const float* x, const float* dy, float* dx, int64_t n, float alpha) {
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const float d = dy[i], a = d * alpha;
      dx[i] = x[i] > 0.0f ? d : a;
    }
  });
}

void clip_by_value_grad(const float* x, const float* dy, float* dx, int64_t n, float lo, float hi) {
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const float v = x[i];
      dx[i] = v >= lo && v <= hi ? dy[i] : 0.0f;
    }
  });
}

}  // namespace hafif
