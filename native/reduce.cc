// Reductions, arg-reductions, softmax and the data-movement kernels (strided copy, concat).
// Semantics follow tfjs-backend-cpu: sums in float64, NaN-propagating max / min, first index on
// ties for argMax / argMin.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels.h"
#include "parallel.h"

namespace hafif {
namespace {

constexpr int64_t kBlock = 256;  // inner elements per work item when reducing a middle axis

inline int64_t grain_for(int64_t work_per_item) {
  return std::max<int64_t>(1, 32768 / std::max<int64_t>(1, work_per_item));
}

// The cpu kernels' max / min step: a NaN sticks once seen.
inline float max_step(float m, float v) { return (v != v || v > m) ? v : m; }
inline float min_step(float m, float v) { return (v != v || v < m) ? v : m; }

// Reduces one contiguous row of n values.
float reduce_row(ReduceOp op, const float* __restrict x, int64_t n) {
  switch (op) {
    case ReduceOp::Sum:
    case ReduceOp::Mean: {
      // Four float64 partial sums keep the adds pipelined; still far more exact than float32.
      double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      int64_t j = 0;
      for (; j + 4 <= n; j += 4) {
        s0 += x[j];
        s1 += x[j + 1];
        s2 += x[j + 2];
        s3 += x[j + 3];
      }
      for (; j < n; ++j) s0 += x[j];
      const double s = (s0 + s1) + (s2 + s3);
      return static_cast<float>(op == ReduceOp::Mean ? s / static_cast<double>(n) : s);
    }
    case ReduceOp::Prod: {
      double p = 1;
      for (int64_t j = 0; j < n; ++j) p *= x[j];
      return static_cast<float>(p);
    }
    case ReduceOp::Max: {
      float m = x[0];
      for (int64_t j = 1; j < n; ++j) m = max_step(m, x[j]);
      return m;
    }
    case ReduceOp::Min: {
      float m = x[0];
      for (int64_t j = 1; j < n; ++j) m = min_step(m, x[j]);
      return m;
    }
  }
  return 0.f;
}

// Reduces x[r, 0:n] over r in [0, R) with row stride `stride` into out[0:n].
void reduce_columns(ReduceOp op, const float* x, int64_t R, int64_t stride, int64_t n, float* out) {
  if (op == ReduceOp::Max || op == ReduceOp::Min) {
    float m[kBlock];
    std::memcpy(m, x, n * sizeof(float));
    for (int64_t r = 1; r < R; ++r) {
      const float* __restrict p = x + r * stride;
      if (op == ReduceOp::Max) {
        for (int64_t i = 0; i < n; ++i) m[i] = max_step(m[i], p[i]);
      } else {
        for (int64_t i = 0; i < n; ++i) m[i] = min_step(m[i], p[i]);
      }
    }
    std::memcpy(out, m, n * sizeof(float));
    return;
  }
  double acc[kBlock];
  const bool prod = op == ReduceOp::Prod;
  std::fill(acc, acc + n, prod ? 1.0 : 0.0);
  for (int64_t r = 0; r < R; ++r) {
    const float* __restrict p = x + r * stride;
    if (prod) {
      for (int64_t i = 0; i < n; ++i) acc[i] *= p[i];
    } else {
      for (int64_t i = 0; i < n; ++i) acc[i] += p[i];
    }
  }
  const double scale = op == ReduceOp::Mean ? 1.0 / static_cast<double>(R) : 1.0;
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(op == ReduceOp::Mean ? acc[i] * scale : acc[i]);
}

}  // namespace

void reduce(ReduceOp op, const float* x, float* out, int64_t outer, int64_t R, int64_t inner) {
  if (outer <= 0 || inner <= 0) return;
  if (R <= 0) {
    // An empty reduction: the identity for sums and products, NaN where tfjs cpu reads past the end.
    const float v = op == ReduceOp::Sum ? 0.f : op == ReduceOp::Prod ? 1.f : std::numeric_limits<float>::quiet_NaN();
    std::fill(out, out + outer * inner, v);
    return;
  }
  if (inner == 1) {
    parallel_for(outer, grain_for(R), [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) out[o] = reduce_row(op, x + o * R, R);
    });
    return;
  }
  const int64_t blocks = (inner + kBlock - 1) / kBlock;
  parallel_for(outer * blocks, grain_for(R * kBlock), [&](int64_t b, int64_t e) {
    for (int64_t item = b; item < e; ++item) {
      const int64_t o = item / blocks, i0 = (item % blocks) * kBlock;
      const int64_t n = std::min(kBlock, inner - i0);
      reduce_columns(op, x + o * R * inner + i0, R, inner, n, out + o * inner + i0);
    }
  });
}

void arg_reduce(bool is_max, const float* x, int32_t* out, int64_t outer, int64_t R, int64_t inner) {
  if (outer <= 0 || inner <= 0 || R <= 0) return;
  const int64_t blocks = (inner + kBlock - 1) / kBlock;
  parallel_for(outer * blocks, grain_for(R * std::min(inner, kBlock)), [&](int64_t b, int64_t e) {
    float m[kBlock];
    for (int64_t item = b; item < e; ++item) {
      const int64_t o = item / blocks, i0 = (item % blocks) * kBlock;
      const int64_t n = std::min(kBlock, inner - i0);
      const float* base = x + o * R * inner + i0;
      int32_t* __restrict idx = out + o * inner + i0;
      std::memcpy(m, base, n * sizeof(float));
      std::fill(idx, idx + n, 0);
      for (int64_t r = 1; r < R; ++r) {
        const float* __restrict p = base + r * inner;
        const int32_t rr = static_cast<int32_t>(r);
        for (int64_t i = 0; i < n; ++i) {
          // Strict compare: the first extreme wins, and NaN never replaces (as in the cpu kernel).
          const bool better = is_max ? p[i] > m[i] : p[i] < m[i];
          m[i] = better ? p[i] : m[i];
          idx[i] = better ? rr : idx[i];
        }
      }
    }
  });
}

void softmax(const float* x, float* y, int64_t rows, int64_t cols) {
  if (rows <= 0 || cols <= 0) return;
  parallel_for(rows, grain_for(cols * 8), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const float* __restrict xr = x + r * cols;
      float* __restrict yr = y + r * cols;
      const float m = reduce_row(ReduceOp::Max, xr, cols);
      double sum = 0;
      for (int64_t j = 0; j < cols; ++j) {
        yr[j] = std::exp(xr[j] - m);
        sum += yr[j];
      }
      // The cpu kernel divides by the float32 sum.
      const float s = static_cast<float>(sum);
      for (int64_t j = 0; j < cols; ++j) yr[j] /= s;
    }
  });
}

void strided_copy(const StridedCopy& in, const float* src, float* dst) {
  // Canonical form: no size-1 dims, and neighbours merged where both layouts are contiguous.
  StridedCopy c{};
  for (int k = 0; k < in.rank; ++k) {
    if (in.shape[k] == 0) return;
    if (in.shape[k] == 1) continue;
    if (c.rank > 0) {
      const int l = c.rank - 1;
      if (c.src_stride[l] == in.src_stride[k] * in.shape[k] && c.dst_stride[l] == in.dst_stride[k] * in.shape[k]) {
        c.shape[l] *= in.shape[k];
        c.src_stride[l] = in.src_stride[k];
        c.dst_stride[l] = in.dst_stride[k];
        continue;
      }
    }
    c.shape[c.rank] = in.shape[k];
    c.src_stride[c.rank] = in.src_stride[k];
    c.dst_stride[c.rank] = in.dst_stride[k];
    ++c.rank;
  }
  if (c.rank == 0) {
    dst[0] = src[0];
    return;
  }
  const int last = c.rank - 1;
  // A transpose: the source is contiguous along another dim `t`. Copy 32x32 tiles of (t, last)
  // so both sides stay in cache.
  int t = -1;
  if (c.src_stride[last] != 1) {
    for (int k = 0; k < last; ++k)
      if (c.src_stride[k] == 1) t = k;
  }
  // Outer loop: every dim except `last` (and `t` for tiles), flattened.
  int64_t outer = 1;
  for (int k = 0; k < last; ++k)
    if (k != t) outer *= c.shape[k];
  const int64_t n = c.shape[last];
  const int64_t inner_work = t >= 0 ? n * c.shape[t] : n;
  parallel_for(outer, grain_for(inner_work), [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o) {
      int64_t rem = o, so = 0, dO = 0;
      for (int k = last - 1; k >= 0; --k) {
        if (k == t) continue;
        const int64_t i = rem % c.shape[k];
        rem /= c.shape[k];
        so += i * c.src_stride[k];
        dO += i * c.dst_stride[k];
      }
      const float* s = src + so;
      float* d = dst + dO;
      const int64_t ss = c.src_stride[last], ds = c.dst_stride[last];
      if (t >= 0) {
        const int64_t m = c.shape[t], dt = c.dst_stride[t];
        constexpr int64_t T = 32;
        for (int64_t i0 = 0; i0 < m; i0 += T) {
          const int64_t i1 = std::min(m, i0 + T);
          for (int64_t j0 = 0; j0 < n; j0 += T) {
            const int64_t j1 = std::min(n, j0 + T);
            for (int64_t i = i0; i < i1; ++i)
              for (int64_t j = j0; j < j1; ++j) d[i * dt + j * ds] = s[i + j * ss];
          }
        }
      } else if (ss == 1 && ds == 1) {
        std::memcpy(d, s, n * sizeof(float));
      } else {
        for (int64_t j = 0; j < n; ++j) d[j * ds] = s[j * ss];
      }
    }
  });
}

void concat2d(const float* const* inputs, const int64_t* cols, int64_t n, float* out, int64_t outer) {
  int64_t total = 0;
  for (int64_t i = 0; i < n; ++i) total += cols[i];
  if (total == 0) return;
  parallel_for(outer, grain_for(total), [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o) {
      float* d = out + o * total;
      for (int64_t i = 0; i < n; ++i) {
        if (cols[i] == 0) continue;
        std::memcpy(d, inputs[i] + o * cols[i], cols[i] * sizeof(float));
        d += cols[i];
      }
    }
  });
}

}  // namespace hafif
