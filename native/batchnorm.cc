// Batch normalization in training mode over x viewed as [rows, C] (channels last): batch statistics,
// normalize, scale and shift and the moving-average update in one call; the gradient (dx, dγ, dβ)
// in another. Per-channel sums run in float64 over fixed row blocks, so results do not depend on
// the thread count or schedule. An activation after the normalization (Relu, Relu6) can run in the
// same passes: forward on the normalized value, backward as a mask on dy.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels.h"
#include "parallel.h"

// No kernel here reads the floating-point exception flags: without trapping math the activation's
// compares become vector selects.
#pragma GCC optimize("no-trapping-math")

namespace hafif {
namespace {

constexpr int64_t kMaxBlocks = 16;
constexpr int64_t kBlockElems = 1 << 14;

// How many row blocks [rows, C] is split into for the per-channel sums.
int64_t row_blocks(int64_t rows, int64_t C) {
  return std::max<int64_t>(1, std::min<int64_t>({kMaxBlocks, rows, rows * C / kBlockElems}));
}

// sums[2*C] per block: sum of a and sum of a*b (b null: sum of a*a), over the block's rows.
template <typename Row>
void channel_sums(int64_t rows, int64_t C, std::vector<double>& out, Row row) {
  const int64_t nb = row_blocks(rows, C);
  std::vector<double> part(static_cast<size_t>(nb * 2 * C), 0.0);
  parallel_for(nb, 1, [&](int64_t b0, int64_t b1) {
    std::vector<float> fs(2 * C);
    for (int64_t b = b0; b < b1; ++b) {
      double* __restrict s = part.data() + b * 2 * C;
      const int64_t r0 = rows * b / nb, r1 = rows * (b + 1) / nb;
      // Float partials over up to 64 rows, folded into float64.
      for (int64_t r = r0; r < r1; r += 64) {
        std::fill(fs.begin(), fs.end(), 0.f);
        const int64_t re = std::min(r1, r + 64);
        for (int64_t q = r; q < re; ++q) row(q, fs.data(), fs.data() + C);
        for (int64_t c = 0; c < 2 * C; ++c) s[c] += fs[c];
      }
    }
  });
  out.assign(static_cast<size_t>(2 * C), 0.0);
  for (int64_t b = 0; b < nb; ++b)
    for (int64_t c = 0; c < 2 * C; ++c) out[c] += part[b * 2 * C + c];
}

// tfjs' Relu and Relu6 as the native unary kernels compute them (NaN stays NaN).
inline float act_forward(BatchNormAct act, float v) {
  if (act == BatchNormAct::kNone) return v;
  const float r = 0.f >= v ? 0.f : v;
  return act == BatchNormAct::kRelu6 ? (r <= 6.f ? r : 6.f) : r;
}

// d loss / d pre-activation from dy and the activation's output yv: Relu's gradient dy·step(pre)
// (dy·0 keeps dy's sign and NaN; NaN where pre is NaN, as yv then is), and for Relu6 ClipByValue's
// after it, 0 where pre > 6. yv > 0 exactly where pre > 0; yv == 6 where pre >= 6, and only there
// the pre-activation is recomputed (pre(), the forward's expression) to tell pre == 6 from pre > 6.
template <typename Pre>
inline float act_backward(BatchNormAct act, float d, float yv, Pre pre) {
  if (act == BatchNormAct::kNone) return d;
  const float z = d * 0.0f;
  float r = yv > 0.0f ? d : z;
  r = yv == yv ? r : yv;
  if (act == BatchNormAct::kRelu6) {
    const float p = pre();  // computed unconditionally so the selects vectorize
    r = yv == 6.f && p > 6.f ? 0.0f : r;
  }
  return r;
}

// The forward's per-channel multiplier γ/sqrt(var + eps), in float as the forward rounds it.
inline float bn_multiplier(const float* scale, const float* var, int64_t c, float eps) {
  return static_cast<float>((scale ? scale[c] : 1.0) / std::sqrt(static_cast<double>(var[c]) + eps));
}

}  // namespace

void batch_norm_train_forward(const BatchNormTrainGeom& g, const float* x, const float* scale, const float* offset,
                              const float* moving_mean, const float* moving_var, float* y, float* mean, float* var,
                              float* new_moving_mean, float* new_moving_var) {
  const int64_t R = g.rows, C = g.channels;
  std::vector<double> s;
  // Shifted sums (x - x[0, c]) keep E[x^2] - E[x]^2 accurate when |mean| >> std.
  std::vector<float> shift(x, x + C);
  channel_sums(R, C, s, [&](int64_t r, float* __restrict a, float* __restrict aa) {
    const float* __restrict xr = x + r * C;
    const float* __restrict sh = shift.data();
    for (int64_t c = 0; c < C; ++c) {
      const float d = xr[c] - sh[c];
      a[c] += d;
      aa[c] += d * d;
    }
  });
  std::vector<float> k(C), o(C);
  for (int64_t c = 0; c < C; ++c) {
    const double m = s[c] / R;
    const double v = std::max(0.0, s[C + c] / R - m * m);
    mean[c] = static_cast<float>(m + shift[c]);
    var[c] = static_cast<float>(v);
    k[c] = bn_multiplier(scale, var, c, g.eps);
    o[c] = offset ? offset[c] : 0.f;
  }
  // Keras: moving = moving - (moving - batch) * (1 - momentum), in float32 as tfjs-layers does it.
  const float decay = 1.f - g.momentum;
  if (moving_mean && new_moving_mean)
    for (int64_t c = 0; c < C; ++c) new_moving_mean[c] = moving_mean[c] - (moving_mean[c] - mean[c]) * decay;
  if (moving_var && new_moving_var)
    for (int64_t c = 0; c < C; ++c) new_moving_var[c] = moving_var[c] - (moving_var[c] - var[c]) * decay;
  const BatchNormAct act = g.act;
  parallel_for(R, std::max<int64_t>(1, 4096 / std::max<int64_t>(C, 1)), [&](int64_t r0, int64_t r1) {
    const float* __restrict mp = mean;
    const float* __restrict kp = k.data();
    const float* __restrict op = o.data();
    for (int64_t r = r0; r < r1; ++r) {
      const float* __restrict xr = x + r * C;
      float* __restrict yr = y + r * C;
      switch (act) {
        case BatchNormAct::kNone:
          for (int64_t c = 0; c < C; ++c) yr[c] = (xr[c] - mp[c]) * kp[c] + op[c];
          break;
        case BatchNormAct::kRelu:
          for (int64_t c = 0; c < C; ++c) yr[c] = act_forward(BatchNormAct::kRelu, (xr[c] - mp[c]) * kp[c] + op[c]);
          break;
        case BatchNormAct::kRelu6:
          for (int64_t c = 0; c < C; ++c) yr[c] = act_forward(BatchNormAct::kRelu6, (xr[c] - mp[c]) * kp[c] + op[c]);
          break;
      }
    }
  });
}

namespace {

// The backward with the activation's mask applied to dy wherever dy is read.
template <BatchNormAct kAct>
void batch_norm_backward_impl(const BatchNormTrainGeom& g, const float* dy, const float* x, const float* mean,
                              const float* var, const float* scale, const float* offset, const float* y,
                              const float* dmean, const float* dvar, float* dx, float* dscale, float* doffset) {
  const int64_t R = g.rows, C = g.channels;
  // The forward's multiplier and offset, for the pre-activation where Relu6's output is exactly 6.
  std::vector<float> k(kAct == BatchNormAct::kRelu6 ? C : 0), o(kAct == BatchNormAct::kRelu6 ? C : 0);
  for (int64_t c = 0; c < static_cast<int64_t>(k.size()); ++c) {
    k[c] = bn_multiplier(scale, var, c, g.eps);
    o[c] = offset ? offset[c] : 0.f;
  }
  const float* kp = k.data();
  const float* op = o.data();
  std::vector<double> s;
  channel_sums(R, C, s, [&](int64_t r, float* __restrict a, float* __restrict ab) {
    const float* __restrict dyr = dy + r * C;
    const float* __restrict xr = x + r * C;
    const float* __restrict yr = kAct == BatchNormAct::kNone ? nullptr : y + r * C;
    const float* __restrict mp = mean;
    for (int64_t c = 0; c < C; ++c) {
      const float d = kAct == BatchNormAct::kNone
                          ? dyr[c]
                          : act_backward(kAct, dyr[c], yr[c], [&] { return (xr[c] - mp[c]) * kp[c] + op[c]; });
      a[c] += d;
      ab[c] += d * (xr[c] - mp[c]);
    }
  });
  // xhat = (x - mean) * invstd; dβ = Σ dy; dγ = Σ dy·xhat;
  // dx = γ·invstd·(dy - dβ/R - xhat·dγ/R) + dmean/R + dvar·2(x - mean)/R.
  std::vector<float> a(C), b(C), cst(C);
  for (int64_t c = 0; c < C; ++c) {
    const double invstd = 1.0 / std::sqrt(static_cast<double>(var[c]) + g.eps);
    const double sum_dy = s[c], sum_dy_xc = s[C + c];
    const double dgamma = sum_dy_xc * invstd;
    if (doffset) doffset[c] = static_cast<float>(sum_dy);
    if (dscale) dscale[c] = static_cast<float>(dgamma);
    const double gk = (scale ? scale[c] : 1.0) * invstd;
    // dx = a·dy + b·(x - mean) + cst
    a[c] = static_cast<float>(gk);
    b[c] = static_cast<float>(-gk * dgamma * invstd / R + (dvar ? 2.0 * dvar[c] / R : 0.0));
    cst[c] = static_cast<float>(-gk * sum_dy / R + (dmean ? dmean[c] / static_cast<double>(R) : 0.0));
  }
  parallel_for(R, std::max<int64_t>(1, 4096 / std::max<int64_t>(C, 1)), [&](int64_t r0, int64_t r1) {
    const float* __restrict ap = a.data();
    const float* __restrict bp = b.data();
    const float* __restrict cp = cst.data();
    const float* __restrict mp = mean;
    for (int64_t r = r0; r < r1; ++r) {
      const float* __restrict dyr = dy + r * C;
      const float* __restrict xr = x + r * C;
      const float* __restrict yr = kAct == BatchNormAct::kNone ? nullptr : y + r * C;
      float* __restrict dxr = dx + r * C;
      for (int64_t c = 0; c < C; ++c) {
        const float d = kAct == BatchNormAct::kNone
                            ? dyr[c]
                            : act_backward(kAct, dyr[c], yr[c], [&] { return (xr[c] - mp[c]) * kp[c] + op[c]; });
        dxr[c] = ap[c] * d + bp[c] * (xr[c] - mp[c]) + cp[c];
      }
    }
  });
}

}  // namespace

void batch_norm_train_backward(const BatchNormTrainGeom& g, const float* dy, const float* x, const float* mean,
                               const float* var, const float* scale, const float* offset, const float* y,
                               const float* dmean, const float* dvar, float* dx, float* dscale, float* doffset) {
  switch (g.act) {
    case BatchNormAct::kNone:
      return batch_norm_backward_impl<BatchNormAct::kNone>(g, dy, x, mean, var, scale, offset, y, dmean, dvar, dx,
                                                           dscale, doffset);
    case BatchNormAct::kRelu:
      return batch_norm_backward_impl<BatchNormAct::kRelu>(g, dy, x, mean, var, scale, offset, y, dmean, dvar, dx,
                                                           dscale, doffset);
    case BatchNormAct::kRelu6:
      return batch_norm_backward_impl<BatchNormAct::kRelu6>(g, dy, x, mean, var, scale, offset, y, dmean, dvar, dx,
                                                            dscale, doffset);
  }
}

}  // namespace hafif
