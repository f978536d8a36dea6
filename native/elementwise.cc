// Element-wise kernels: pure functions over raw pointers, declared in kernels.h. Each op matches
// the tfjs-backend-cpu kernel of the same name, including JS Math's NaN rules.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#if defined(__AVX__)
#include <immintrin.h>
#elif defined(__ARM_NEON) && defined(__aarch64__)
#include <arm_neon.h>
#endif

#include "kernels.h"
#include "parallel.h"

namespace hafif {
namespace {

// Work per chunk below which splitting costs more than it saves (memory-bound loops). A chunk
// handed to a worker that is asleep, cache-cold or sharing its core can take far longer than on
// the caller, so outputs of a student-sized 100k elements (~30 us) stay on one thread.
constexpr int64_t kGrain = 65536;

// ---- scalar ops ----

// Math.max / Math.min: NaN if either side is NaN.
inline float js_max(float a, float b) { return a != a ? a : (a >= b ? a : b); }
inline float js_min(float a, float b) { return a != a ? a : (a <= b ? a : b); }

// Math.pow in double, then rounded like the cpu backend's Float32Array store. C's pow differs from
// JS only where the base is +-1 and the exponent is NaN or infinite (C gives 1, JS gives NaN).
inline float js_pow(float a, float b) {
  if (std::isnan(b) || (std::isinf(b) && std::fabs(a) == 1.f)) return std::numeric_limits<float>::quiet_NaN();
  return static_cast<float>(std::pow(static_cast<double>(a), static_cast<double>(b)));
}

struct AddF { static float f(float a, float b) { return a + b; } };
struct SubF { static float f(float a, float b) { return a - b; } };
struct MulF { static float f(float a, float b) { return a * b; } };
struct DivF { static float f(float a, float b) { return a / b; } };
struct MaxF { static float f(float a, float b) { return js_max(a, b); } };
struct MinF { static float f(float a, float b) { return js_min(a, b); } };
struct SqDiffF { static float f(float a, float b) { float d = a - b; return d * d; } };
struct PowF { static float f(float a, float b) { return js_pow(a, b); } };
// Prelu(x, alpha)
struct PreluF { static float f(float x, float al) { return x < 0.f ? al * x : x; } };
// EluGrad(dy, y)
struct EluGradF { static float f(float dy, float y) { return y >= 0.f ? dy : dy * (y + 1.f); } };
struct GtF { static uint8_t f(float a, float b) { return a > b; } };
struct GeF { static uint8_t f(float a, float b) { return a >= b; } };
struct LtF { static uint8_t f(float a, float b) { return a < b; } };
struct LeF { static uint8_t f(float a, float b) { return a <= b; } };
struct EqF { static uint8_t f(float a, float b) { return a == b; } };
struct NeF { static uint8_t f(float a, float b) { return a != b; } };

// ---- broadcast loops ----

// One run along the innermost dim, specialised on the operands' strides (each 0 or 1) so the
// compiler vectorises the common cases.
template <class Op, class T>
inline void run_inner(const float* __restrict a, int64_t sa, const float* __restrict b, int64_t sb,
                      T* __restrict out, int64_t n) {
  if (sa == 1 && sb == 1) {
    for (int64_t i = 0; i < n; ++i) out[i] = Op::f(a[i], b[i]);
  } else if (sa == 1) {
    const float bv = b[0];
    for (int64_t i = 0; i < n; ++i) out[i] = Op::f(a[i], bv);
  } else if (sb == 1) {
    const float av = a[0];
    for (int64_t i = 0; i < n; ++i) out[i] = Op::f(av, b[i]);
  } else {
    const T v = Op::f(a[0], b[0]);
    for (int64_t i = 0; i < n; ++i) out[i] = v;
  }
}

// Output elements [begin, end): walks the collapsed geometry one innermost run at a time.
template <class Op, class T>
void run_range(const float* a, const float* b, T* out, const BroadcastGeometry& g, int64_t begin, int64_t end) {
  const int r = g.rank;
  if (r == 0) {
    if (begin < end) out[0] = Op::f(a[0], b[0]);
    return;
  }
  const int64_t inner = g.shape[r - 1];
  const int64_t sa = g.a_stride[r - 1], sb = g.b_stride[r - 1];
  // Multi-index of the starting row (all dims but the innermost).
  int64_t idx[kMaxBroadcastRank];
  int64_t row = begin / inner, col = begin % inner;
  int64_t oa = 0, ob = 0;
  for (int d = r - 2; d >= 0; --d) {
    idx[d] = row % g.shape[d];
    row /= g.shape[d];
    oa += idx[d] * g.a_stride[d];
    ob += idx[d] * g.b_stride[d];
  }
  int64_t pos = begin;
  while (pos < end) {
    const int64_t n = std::min(inner - col, end - pos);
    run_inner<Op, T>(a + oa + col * sa, sa, b + ob + col * sb, sb, out + pos, n);
    pos += n;
    col = 0;
    // Advance the odometer by one row.
    for (int d = r - 2; d >= 0; --d) {
      oa += g.a_stride[d];
      ob += g.b_stride[d];
      if (++idx[d] < g.shape[d]) break;
      oa -= idx[d] * g.a_stride[d];
      ob -= idx[d] * g.b_stride[d];
      idx[d] = 0;
    }
  }
}

template <class Op, class T>
void run_binary(const float* a, const float* b, T* out, const BroadcastGeometry& g) {
  // Pow is compute-bound; the rest are memory-bound.
  parallel_for(g.size, kGrain, [&](int64_t begin, int64_t end) { run_range<Op, T>(a, b, out, g, begin, end); });
}

// ---- unary ops ----

// Mirrors tfjs-backend-cpu's Softplus thresholds (log of float32 epsilon + 2).
constexpr double kSoftplusThreshold = -13.942385152878742;

// f by value and restrict pointers: a captured alpha could otherwise alias out and block vectorising.
template <class S, class D, class F>
void map_loop(const S* __restrict x, D* __restrict out, int64_t n, F f) {
  for (int64_t i = 0; i < n; ++i) out[i] = f(x[i]);
}

// sqrt (or 1 / sqrt) with vector instructions: std::sqrt keeps a scalar libm call for errno on
// negative inputs, which blocks vectorising (3 ms instead of 0.4 ms per 2M elements). Negative
// inputs give NaN either way, as Math.sqrt does.
template <bool kReciprocal>
void sqrt_loop(const float* __restrict x, float* __restrict out, int64_t n) {
  int64_t i = 0;
#if defined(__AVX__)
  const __m256 one = _mm256_set1_ps(1.f);
  for (; i + 8 <= n; i += 8) {
    __m256 r = _mm256_sqrt_ps(_mm256_loadu_ps(x + i));
    if (kReciprocal) r = _mm256_div_ps(one, r);
    _mm256_storeu_ps(out + i, r);
  }
#elif defined(__ARM_NEON) && defined(__aarch64__)
  const float32x4_t one = vdupq_n_f32(1.f);
  for (; i + 4 <= n; i += 4) {
    float32x4_t r = vsqrtq_f32(vld1q_f32(x + i));
    if (kReciprocal) r = vdivq_f32(one, r);
    vst1q_f32(out + i, r);
  }
#endif
  for (; i < n; ++i) out[i] = kReciprocal ? 1.f / std::sqrt(x[i]) : std::sqrt(x[i]);
}

template <class F>
void run_unary(const float* x, float* out, int64_t n, int64_t grain, F f) {
  parallel_for(n, grain, [&](int64_t begin, int64_t end) { map_loop(x + begin, out + begin, end - begin, f); });
}

}  // namespace

bool make_broadcast_geometry(const int64_t* a_shape, int a_rank, const int64_t* b_shape, int b_rank,
                             BroadcastGeometry* g, int64_t* out_shape, int* out_rank) {
  const int r = std::max(a_rank, b_rank);
  if (r > kMaxBroadcastRank) return false;
  // Right-aligned, padded with 1s.
  int64_t as[kMaxBroadcastRank], bs[kMaxBroadcastRank];
  for (int d = 0; d < r; ++d) {
    int ia = d - (r - a_rank), ib = d - (r - b_rank);
    as[d] = ia >= 0 ? a_shape[ia] : 1;
    bs[d] = ib >= 0 ? b_shape[ib] : 1;
    if (as[d] < 0 || bs[d] < 0) return false;
    if (as[d] != bs[d] && as[d] != 1 && bs[d] != 1) return false;
    out_shape[d] = as[d] == 1 ? bs[d] : as[d];
  }
  *out_rank = r;
  // Contiguous strides of each operand, zeroed where it broadcasts.
  int64_t ast[kMaxBroadcastRank], bst[kMaxBroadcastRank];
  int64_t sa = 1, sb = 1, size = 1;
  for (int d = r - 1; d >= 0; --d) {
    ast[d] = as[d] == 1 ? 0 : sa;
    bst[d] = bs[d] == 1 ? 0 : sb;
    sa *= as[d];
    sb *= bs[d];
    size *= out_shape[d];
  }
  g->size = size;
  g->rank = 0;
  if (size == 0) return true;
  // Drop size-1 dims, merge a dim into the previous kept one when both operands continue it.
  for (int d = 0; d < r; ++d) {
    if (out_shape[d] == 1) continue;
    if (g->rank > 0) {
      const int k = g->rank - 1;
      const bool a_ok = g->a_stride[k] == ast[d] * out_shape[d];
      const bool b_ok = g->b_stride[k] == bst[d] * out_shape[d];
      if (a_ok && b_ok) {
        g->shape[k] *= out_shape[d];
        g->a_stride[k] = ast[d];
        g->b_stride[k] = bst[d];
        continue;
      }
    }
    g->shape[g->rank] = out_shape[d];
    g->a_stride[g->rank] = ast[d];
    g->b_stride[g->rank] = bst[d];
    ++g->rank;
  }
  return true;
}

void binary_f32(BinaryOp op, const float* a, const float* b, float* out, const BroadcastGeometry& g) {
  switch (op) {
    case BinaryOp::Add: return run_binary<AddF>(a, b, out, g);
    case BinaryOp::Sub: return run_binary<SubF>(a, b, out, g);
    case BinaryOp::Mul: return run_binary<MulF>(a, b, out, g);
    case BinaryOp::Div: return run_binary<DivF>(a, b, out, g);
    case BinaryOp::Maximum: return run_binary<MaxF>(a, b, out, g);
    case BinaryOp::Minimum: return run_binary<MinF>(a, b, out, g);
    case BinaryOp::SquaredDifference: return run_binary<SqDiffF>(a, b, out, g);
    case BinaryOp::Pow: return run_binary<PowF>(a, b, out, g);
    case BinaryOp::Prelu: return run_binary<PreluF>(a, b, out, g);
    case BinaryOp::EluGrad: return run_binary<EluGradF>(a, b, out, g);
    default: break;
  }
}

void compare_f32(BinaryOp op, const float* a, const float* b, uint8_t* out, const BroadcastGeometry& g) {
  switch (op) {
    case BinaryOp::Greater: return run_binary<GtF>(a, b, out, g);
    case BinaryOp::GreaterEqual: return run_binary<GeF>(a, b, out, g);
    case BinaryOp::Less: return run_binary<LtF>(a, b, out, g);
    case BinaryOp::LessEqual: return run_binary<LeF>(a, b, out, g);
    case BinaryOp::Equal: return run_binary<EqF>(a, b, out, g);
    case BinaryOp::NotEqual: return run_binary<NeF>(a, b, out, g);
    default: break;
  }
}

void unary_f32(UnaryOp op, const float* x, float* out, int64_t n, float alpha) {
  // Transcendental ops cost ~10x a load/store: split them sooner.
  const int64_t fast = kGrain, slow = kGrain / 8;
  switch (op) {
    case UnaryOp::Neg: return run_unary(x, out, n, fast, [](float v) { return -v; });
    case UnaryOp::Square: return run_unary(x, out, n, fast, [](float v) { return v * v; });
    case UnaryOp::Sqrt:
      return parallel_for(n, fast, [&](int64_t b, int64_t e) { sqrt_loop<false>(x + b, out + b, e - b); });
    case UnaryOp::Rsqrt:
      return parallel_for(n, fast, [&](int64_t b, int64_t e) { sqrt_loop<true>(x + b, out + b, e - b); });
    case UnaryOp::Exp: return run_unary(x, out, n, slow, [](float v) { return std::exp(v); });
    case UnaryOp::Log: return run_unary(x, out, n, slow, [](float v) { return std::log(v); });
    case UnaryOp::Log1p: return run_unary(x, out, n, slow, [](float v) { return std::log1p(v); });
    case UnaryOp::Abs: return run_unary(x, out, n, fast, [](float v) { return std::fabs(v); });
    case UnaryOp::Reciprocal: return run_unary(x, out, n, fast, [](float v) { return 1.f / v; });
    case UnaryOp::Relu: return run_unary(x, out, n, fast, [](float v) { return js_max(0.f, v); });
    case UnaryOp::Relu6: return run_unary(x, out, n, fast, [](float v) { return js_min(js_max(0.f, v), 6.f); });
    case UnaryOp::LeakyRelu:
      return run_unary(x, out, n, fast, [alpha](float v) { return v < 0.f ? alpha * v : v; });
    case UnaryOp::Elu: return run_unary(x, out, n, slow, [](float v) { return v >= 0.f ? v : std::expm1(v); });
    case UnaryOp::Sigmoid:
      return run_unary(x, out, n, slow, [](float v) { return 1.f / (1.f + std::exp(-v)); });
    case UnaryOp::Tanh: return run_unary(x, out, n, slow, [](float v) { return std::tanh(v); });
    case UnaryOp::Softplus:
      return run_unary(x, out, n, slow, [](float v) {
        if (v < kSoftplusThreshold) return std::exp(v);
        if (v > -kSoftplusThreshold) return v;
        return std::log1p(std::exp(v));
      });
    case UnaryOp::Step:
      return run_unary(x, out, n, fast, [alpha](float v) { return v != v ? v : (v > 0.f ? 1.f : alpha); });
    default: break;
  }
}

namespace {
void select_loop(const uint8_t* __restrict c, const float* __restrict t, const float* __restrict e,
                 float* __restrict out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = c[i] == 1 ? t[i] : e[i];
}
}  // namespace

void select_f32(const uint8_t* cond, const float* t, const float* e, float* out, int64_t n) {
  parallel_for(n, kGrain, [&](int64_t begin, int64_t end) {
    select_loop(cond + begin, t + begin, e + begin, out + begin, end - begin);
  });
}

void add_n_f32(const float* const* xs, int count, float* out, int64_t n) {
  parallel_for(n, kGrain, [&](int64_t begin, int64_t end) {
    float* __restrict o = out;
    if (count == 0) {
      std::fill(o + begin, o + end, 0.f);
      return;
    }
    const float* __restrict x0 = xs[0];
    for (int64_t i = begin; i < end; ++i) o[i] = x0[i];
    for (int k = 1; k < count; ++k) {
      const float* __restrict xk = xs[k];
      for (int64_t i = begin; i < end; ++i) o[i] += xk[i];
    }
  });
}

void batch_norm_f32(const float* x, const float* mean, const float* var, const float* offset, const float* scale,
                    float* out, const BatchNormGeometry& g) {
  const float one = 1.f, zero = 0.f;
  const float* off = offset ? offset : &zero;
  const float* sc = scale ? scale : &one;
  const int64_t off_len = offset ? g.offset_len : 1, sc_len = scale ? g.scale_len : 1;
  const int64_t lens[4] = {g.mean_len, g.var_len, off_len, sc_len};
  const int64_t C = *std::max_element(lens, lens + 4);
  bool per_channel = C > 0 && g.n % C == 0;
  for (int64_t l : lens) per_channel = per_channel && (l == C || l == 1);
  if (per_channel) {
    // The common case: parameters over the last axis. out = (x - mean[c]) * k[c] + offset[c].
    std::vector<float> m(C), k(C), o(C);
    for (int64_t c = 0; c < C; ++c) {
      m[c] = mean[g.mean_len == 1 ? 0 : c];
      const double v = var[g.var_len == 1 ? 0 : c];
      k[c] = static_cast<float>(sc[sc_len == 1 ? 0 : c] / std::sqrt(v + g.eps));
      o[c] = off[off_len == 1 ? 0 : c];
    }
    const int64_t rows = g.n / C;
    parallel_for(rows, std::max<int64_t>(1, kGrain / C), [&](int64_t begin, int64_t end) {
      const float* __restrict mp = m.data();
      const float* __restrict kp = k.data();
      const float* __restrict op = o.data();
      for (int64_t r = begin; r < end; ++r) {
        const float* __restrict xr = x + r * C;
        float* __restrict yr = out + r * C;
        for (int64_t c = 0; c < C; ++c) yr[c] = (xr[c] - mp[c]) * kp[c] + op[c];
      }
    });
    return;
  }
  // Any other lengths: each parameter cycles with its own period, as in the cpu kernel.
  parallel_for(g.n, kGrain, [&](int64_t begin, int64_t end) {
    int64_t mi = begin % g.mean_len, vi = begin % g.var_len, oi = begin % off_len, si = begin % sc_len;
    for (int64_t i = begin; i < end; ++i) {
      out[i] = static_cast<float>(off[oi] + (x[i] - mean[mi]) * sc[si] / std::sqrt(static_cast<double>(var[vi]) + g.eps));
      if (++mi == g.mean_len) mi = 0;
      if (++vi == g.var_len) vi = 0;
      if (++oi == off_len) oi = 0;
      if (++si == sc_len) si = 0;
    }
  });
}

namespace {

// JavaScript's ToInt32 (what Int32Array.from does): truncate, wrap modulo 2^32, NaN and Inf -> 0.
inline int32_t js_to_int32(float x) {
  if (std::fabs(x) < 2147483648.f) return static_cast<int32_t>(x);
  if (!std::isfinite(x)) return 0;
  double m = std::fmod(std::trunc(static_cast<double>(x)), 4294967296.0);
  if (m < 0) m += 4294967296.0;
  return static_cast<int32_t>(static_cast<uint32_t>(m));
}

template <class S, class D, class F>
void run_cast(const S* x, D* out, int64_t n, F f) {
  parallel_for(n, kGrain, [&](int64_t begin, int64_t end) { map_loop(x + begin, out + begin, end - begin, f); });
}

}  // namespace

void cast_f32_i32(const float* x, int32_t* out, int64_t n) { run_cast(x, out, n, js_to_int32); }
void cast_f32_u8(const float* x, uint8_t* out, int64_t n) {
  run_cast(x, out, n, [](float v) -> uint8_t { return v != 0.f; });
}
void cast_i32_f32(const int32_t* x, float* out, int64_t n) {
  run_cast(x, out, n, [](int32_t v) { return static_cast<float>(v); });
}
void cast_i32_u8(const int32_t* x, uint8_t* out, int64_t n) {
  run_cast(x, out, n, [](int32_t v) -> uint8_t { return v != 0; });
}
void cast_u8_f32(const uint8_t* x, float* out, int64_t n) {
  run_cast(x, out, n, [](uint8_t v) { return static_cast<float>(v); });
}
void cast_u8_i32(const uint8_t* x, int32_t* out, int64_t n) {
  run_cast(x, out, n, [](uint8_t v) { return static_cast<int32_t>(v); });
}

}  // namespace hafif
