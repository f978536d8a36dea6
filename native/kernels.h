// Pure kernels over raw pointers. No N-API here: bind_*.cc validate and call these.
#pragma once
#include <cstdint>

namespace hafif {

// ---- gemm.cc ----
// Row-major C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C. op transposes when trans* is true.
void sgemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc);
// Which implementation sgemm uses: "blas" (when built with one) or "own".
enum class GemmImpl { Own, Blas };
bool gemm_has_blas();
void gemm_set_impl(GemmImpl impl);
GemmImpl gemm_impl();
// hafif's own GEMM, whatever gemm_set_impl says (for benchmarks and tests).
void sgemm_own(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
               int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);
// The same on the calling thread only (for callers that parallelise over a batch themselves).
void sgemm_own_serial(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                      int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

}  // namespace hafif

// Each kernel family declares its pure functions in its own block below.
namespace hafif {
// ---- conv.cc ----
// NHWC conv geometry: x [batch, inH, inW, inC], filter [filterH, filterW, inC, outC],
// y [batch, outH, outW, outC]. Input row of output row oh, filter row kh: oh*strideH - padTop + kh*dilationH.
struct ConvGeom {
  int64_t batch, inH, inW, inC, outH, outW, outC, filterH, filterW, strideH, strideW, dilationH, dilationW, padTop,
      padLeft;
};
enum class ConvActivation { Linear, Relu, Relu6, Elu, Sigmoid, LeakyRelu };
// y = act(conv(x, w) + bias); bias (length outC) may be null; alpha is the leaky relu slope.
void conv2d(const ConvGeom& g, const float* x, const float* w, const float* bias, ConvActivation act, float alpha,
            float* y);
// dx = gradient of conv2d (without bias/activation) wrt x, given dy. Overwrites dx.
void conv2d_backprop_input(const ConvGeom& g, const float* dy, const float* w, float* dx);
// dw = gradient wrt the filter, given x and dy. Overwrites dw, and db (when not null) with the bias
// gradient, dy summed over batch and positions (the Winograd path sums it while it reads dy).
void conv2d_backprop_filter(const ConvGeom& g, const float* x, const float* dy, float* dw, float* db = nullptr);
// ---- depthwise.cc ----
// NHWC depthwise conv. x [batch, inH, inW, inC], filter [filterH, filterW, inC, chMul],
// y [batch, outH, outW, inC * chMul]; input row of output row oh, tap kh: oh*strideH - padTop + kh*dilationH.
struct DepthwiseGeom {
  int64_t batch, inH, inW, inC, outH, outW, chMul, filterH, filterW, strideH, strideW, dilationH, dilationW, padTop,
      padLeft;
};
// y = act(depthwise(x, w) + bias); bias (length inC * chMul) may be null; alpha is the leaky relu slope.
void depthwise_conv2d(const DepthwiseGeom& g, const float* x, const float* w, const float* bias, ConvActivation act,
                      float alpha, float* y);
// Whether 3×3, multiplier-1 convs use the register-blocked kernels (default) or the general loops
// (for tests and benchmarks).
void depthwise_set_blocked(bool on);
bool depthwise_blocked();
// dx = gradient of depthwise_conv2d wrt x, given dy. Overwrites dx.
void depthwise_conv2d_backprop_input(const DepthwiseGeom& g, const float* dy, const float* w, float* dx);
// dw = gradient wrt the filter, given x and dy. Overwrites dw.
void depthwise_conv2d_backprop_filter(const DepthwiseGeom& g, const float* x, const float* dy, float* dw);
// gemm.cc, for _FusedMatMul: y[r, j] = act(y[r, j] + bias[j % biasLen]) over `rows` rows of n values;
// bias may be null. alpha is the leaky relu slope.
void bias_activation(float* y, int64_t rows, int64_t n, const float* bias, int64_t biasLen, ConvActivation act,
                     float alpha);
// ---- pool.cc ----
// NHWC 2-D pooling. Geometry comes from tfjs computePool2DInfo (dilation is always 1 for these ops).
struct Pool2DGeom {
  int64_t batch, inH, inW, channels, outH, outW, filterH, filterW, strideH, strideW, padTop, padLeft;
};
// y[b, oh, ow, c] = max over the window (NaN ignored, -inf for an empty window), as tfjs cpu does.
void max_pool(const Pool2DGeom& g, const float* x, float* y);
// y = mean over the in-bounds part of the window (NaN for an empty window, as tfjs cpu).
void avg_pool(const Pool2DGeom& g, const float* x, float* y);
// dx[p] = sum of dy over windows whose first strict maximum is at p (tfjs cpu order, float64 sums).
void max_pool_grad(const Pool2DGeom& g, const float* x, const float* dy, float* dx);
// dx[p] = sum of dy over windows covering p, times 1 / (filterH * filterW) (tfjs cpu semantics).
void avg_pool_grad(const Pool2DGeom& g, const float* dy, float* dx);
// ---- elementwise.cc ----
// Binary ops over float32 with NumPy broadcasting. Values match tfjs-backend-cpu (JS Math semantics:
// max/min propagate NaN, pow(1, NaN) is NaN). Comparisons write 0/1 bytes (tfjs bool).
enum class BinaryOp : int {
  Add, Sub, Mul, Div, Maximum, Minimum, SquaredDifference, Pow, Prelu, EluGrad,
  Greater, GreaterEqual, Less, LessEqual, Equal, NotEqual, Count
};
inline bool binary_op_is_comparison(BinaryOp op) { return op >= BinaryOp::Greater && op < BinaryOp::Count; }
constexpr int kMaxBroadcastRank = 16;
// Output shape plus per-operand strides (0 along broadcast dims), with size-1 dims dropped and
// adjacent dims merged where both operands allow it.
struct BroadcastGeometry {
  int rank = 0;
  int64_t shape[kMaxBroadcastRank];
  int64_t a_stride[kMaxBroadcastRank];
  int64_t b_stride[kMaxBroadcastRank];
  int64_t size = 1;
};
// False when the shapes do not broadcast or the rank exceeds kMaxBroadcastRank. out_shape gets the
// uncollapsed broadcast shape.
bool make_broadcast_geometry(const int64_t* a_shape, int a_rank, const int64_t* b_shape, int b_rank,
                             BroadcastGeometry* g, int64_t* out_shape, int* out_rank);
void binary_f32(BinaryOp op, const float* a, const float* b, float* out, const BroadcastGeometry& g);
void compare_f32(BinaryOp op, const float* a, const float* b, uint8_t* out, const BroadcastGeometry& g);

enum class UnaryOp : int {
  Neg, Square, Sqrt, Rsqrt, Exp, Log, Log1p, Abs, Reciprocal, Relu, Relu6, LeakyRelu, Elu, Sigmoid,
  Tanh, Softplus, Step, ClipByValue, Count
};
// alpha: LeakyRelu's slope, Step's value for x <= 0, ClipByValue's lower bound; beta: ClipByValue's
// upper bound. Ignored by the other ops.
void unary_f32(UnaryOp op, const float* x, float* out, int64_t n, float alpha, float beta);
// out[i] = cond[i] ? t[i] : e[i]
void select_f32(const uint8_t* cond, const float* t, const float* e, float* out, int64_t n);
void add_n_f32(const float* const* xs, int count, float* out, int64_t n);
// tfjs FusedBatchNorm: every parameter is read cyclically (index i mod its length).
struct BatchNormGeometry {
  int64_t n, mean_len, var_len, offset_len, scale_len;
  float eps;
};
// offset / scale may be null (0 / 1).
void batch_norm_f32(const float* x, const float* mean, const float* var, const float* offset, const float* scale,
                    float* out, const BatchNormGeometry& g);
// Casts with JavaScript's conversions: to int32 truncates and wraps (NaN, Inf -> 0), to bool is x != 0.
void cast_f32_i32(const float* x, int32_t* out, int64_t n);
void cast_f32_u8(const float* x, uint8_t* out, int64_t n);
void cast_i32_f32(const int32_t* x, float* out, int64_t n);
void cast_i32_u8(const int32_t* x, uint8_t* out, int64_t n);
void cast_u8_f32(const uint8_t* x, float* out, int64_t n);
void cast_u8_i32(const uint8_t* x, int32_t* out, int64_t n);
// ---- reduce.cc ----
// Reductions see x as [outer, reduce, inner] and write out[outer, inner]. Sums and products run in
// float64; max / min propagate NaN like tfjs cpu.
enum class ReduceOp { Sum, Mean, Prod, Max, Min };
void reduce(ReduceOp op, const float* x, float* out, int64_t outer, int64_t reduce, int64_t inner);
// Index along the middle axis of the first maximum (minimum), as the cpu kernel's strict compare.
void arg_reduce(bool is_max, const float* x, int32_t* out, int64_t outer, int64_t reduce, int64_t inner);
// Softmax over the last axis of [rows, cols].
void softmax(const float* x, float* y, int64_t rows, int64_t cols);
// Copies a box of `shape` from src to dst, element offsets given by per-dim strides (both >= 0).
// Transpose, Slice and PadV2 are all this one copy with different strides.
constexpr int kMaxCopyRank = 8;
struct StridedCopy {
  int rank;
  int64_t shape[kMaxCopyRank], src_stride[kMaxCopyRank], dst_stride[kMaxCopyRank];
};
void strided_copy(const StridedCopy& c, const float* src, float* dst);
// out[o, offset_i + j] = inputs[i][o, j] for 2-D views [outer, cols[i]] (concat along axis 1).
void concat2d(const float* const* inputs, const int64_t* cols, int64_t n, float* out, int64_t outer);
// ---- optim.cc ----
// One Adam step (HostAdam's arithmetic in float32): m = b1*m + (1-b1)*g, v = b2*v + (1-b2)*g^2,
// w_out = w - step_size*m / (sqrt(v)*inv_sqrt_bc2 + epsilon), with step_size = lr / (1 - b1^t) and
// inv_sqrt_bc2 = 1 / sqrt(1 - b2^t). m and v are updated in place; m, v and w_out overlap nothing.
struct AdamStep {
  float beta1, beta2, step_size, inv_sqrt_bc2, epsilon;
};
void adam_update(const AdamStep& s, const float* g, float* m, float* v, const float* w, float* w_out, int64_t n);
// One variable of adam_update_many: adam_update's operands.
struct AdamSlot {
  const float* g;
  float* m;
  float* v;
  const float* w;
  float* w_out;
  int64_t n;
};
// adam_update on every slot, as one job: each weight gets the same arithmetic as adam_update.
void adam_update_many(const AdamStep& s, const AdamSlot* slots, int64_t count);
}  // namespace hafif

namespace hafif {
// ---- batchnorm.cc ----
// Training-mode batch norm over x [rows, channels] (channels last). var is the biased batch
// variance (as tf.moments). Scale (γ) and offset (β) may be null (1 and 0).
// act: the activation applied to the normalized output in the same pass (tfjs' Relu, Relu6).
enum class BatchNormAct : int { kNone = 0, kRelu = 1, kRelu6 = 2 };
struct BatchNormTrainGeom {
  int64_t rows, channels;
  float eps, momentum;
  BatchNormAct act = BatchNormAct::kNone;
};
// y = act((x - mean)·γ/sqrt(var + eps) + β); mean and var are the batch statistics. When moving_*
// and new_moving_* are given: new = moving - (moving - batch)·(1 - momentum) (Keras' update).
void batch_norm_train_forward(const BatchNormTrainGeom& g, const float* x, const float* scale, const float* offset,
                              const float* moving_mean, const float* moving_var, float* y, float* mean, float* var,
                              float* new_moving_mean, float* new_moving_var);
// Gradients of the forward's y, mean and var outputs (dmean, dvar may be null: zero) with respect
// to x, γ and β. dscale / doffset may be null when not wanted. With an activation, dy is the
// gradient of the activation's output y (the forward's, needed then; offset as in the forward)
// and the activation's gradient (tfjs' Relu and ClipByValue) is applied to it first.
void batch_norm_train_backward(const BatchNormTrainGeom& g, const float* dy, const float* x, const float* mean,
                               const float* var, const float* scale, const float* offset, const float* y,
                               const float* dmean, const float* dvar, float* dx, float* dscale, float* doffset);
}  // namespace hafif

namespace hafif {
// ---- conv_images.cc ----
// Conv2D by whole images per thread (im2col of one image + the serial own GEMM), for batches of
// small images; conv.cc's conv2d* call these when conv_images_applies(g). Same contracts as conv2d
// (without bias/activation: y is overwritten), conv2d_backprop_input and conv2d_backprop_filter.
bool conv_images_applies(const ConvGeom& g);
void conv2d_images(const ConvGeom& g, const float* x, const float* w, float* y);
void conv2d_backprop_input_images(const ConvGeom& g, const float* dy, const float* w, float* dx);
void conv2d_backprop_filter_images(const ConvGeom& g, const float* x, const float* dy, float* dw);
}  // namespace hafif

namespace hafif {
// ---- small_conv.cc ----
// Forward-only conv for inference when the filter is small (at most kSmallConvMaxWeights values:
// pointwise 1×1 convs, first layers) and outC is divisible by 16: y = act(conv(x, w) + bias),
// same geometry and contract as conv2d. small_conv_applies says whether g qualifies.
constexpr int64_t kSmallConvMaxWeights = 32768;
bool small_conv_applies(const ConvGeom& g);
void small_conv2d(const ConvGeom& g, const float* x, const float* w, const float* bias, ConvActivation act,
                  float alpha, float* y);
// The filter gradient of convs with few input channels (first layers), outC divisible by 16 and
// at most 64 filter values per output channel (and 65536 output pixels per image), in one pass over x and dy: dw as
// conv2d_backprop_filter from d = dy, or tfjs' Relu gradient dy·step(y) when y (the conv's relu
// output) is given; db (may be null) = the sum of d over all output pixels, the bias gradient.
constexpr int64_t kSmallConvFilterMaxChannels = 4;
// ... and of pointwise 1×1 stride-1 convs with at most this many input channels (x read in place).
constexpr int64_t kSmallConvPointwiseMaxChannels = 32;
bool small_conv_is_pointwise(const ConvGeom& g);
// Whether conv.cc's conv2d and conv2d_backprop_filter send first layers here (default) or keep
// their own paths: HAFIF_SMALL_CONV=0 or small_conv_training_enable(false), for A/B benchmarks.
void small_conv_training_enable(bool on);
bool small_conv_training_enabled();
bool small_conv_filter_applies(const ConvGeom& g);
void small_conv2d_backprop_filter(const ConvGeom& g, const float* x, const float* y, const float* dy, float* dw,
                                  float* db);
// ---- winograd.cc ----
// Winograd F(2x2, 3x3) for 3x3, stride-1, undilated convs of at least 8 channels each way; conv.cc's
// conv2d* call these when conv_winograd_applies(g) (the filter gradient: conv_winograd_filter_applies).
// Same contracts as conv2d (y = conv + bias, bias may be null; no activation), conv2d_backprop_input
// and conv2d_backprop_filter.
// HAFIF_CONV_WINOGRAD=0 (or conv_winograd_enable(false)) keeps the im2col paths, for A/B benchmarks.
bool conv_winograd_applies(const ConvGeom& g);
// The filter gradient's condition, which takes fewer input channels (a first layer's 3).
bool conv_winograd_filter_applies(const ConvGeom& g);
void conv_winograd_enable(bool on);
bool conv_winograd_enabled();
// F(4x4, 3x3) tiles for the forward and input gradient where the output is at least 7x7 and the
// products' depth (inC forward, outC input gradient) at most 64, and for the filter gradient where the
// output is at least 7x7 from at most 64 input channels (else F(2x2, 3x3)); HAFIF_CONV_WINOGRAD4=0 (or conv_winograd4_enable(false)) keeps
// F(2x2) everywhere, for A/B benchmarks.
void conv_winograd4_enable(bool on);
bool conv_winograd4_enabled();
void conv2d_winograd(const ConvGeom& g, const float* x, const float* w, const float* bias, float* y);
void conv2d_backprop_input_winograd(const ConvGeom& g, const float* dy, const float* w, float* dx);
void conv2d_backprop_filter_winograd(const ConvGeom& g, const float* x, const float* dy, float* dw, float* db);
// ---- activation_grad.cc ----
// dx = dy·step(x) as tfjs' Relu gradient (NaN where x is NaN), and 0 where x > max_value
// (ReLU(maxValue): ClipByValue's gradient after Relu's); max_value = +inf for plain ReLU.
void relu_grad(const float* x, const float* dy, float* dx, int64_t n, float max_value);
// dx = dy where x > 0, else dy·alpha (tfjs' LeakyRelu gradient).
void leaky_relu_grad(const float* x, const float* dy, float* dx, int64_t n, float alpha);
// dx = dy where lo <= x <= hi, else 0 (NaN x gives 0), as tfjs' ClipByValue gradient.
void clip_by_value_grad(const float* x, const float* dy, float* dx, int64_t n, float lo, float hi);
}  // namespace hafif

namespace hafif {
// ---- pool_positions.cc ----
// max_pool's y, and pos[i] = the index within its image ((r·inW + q)·C + c) of the element y[i] is, -1
// when the window has no maximum (empty, or only NaN / -inf).
void max_pool_positions(const Pool2DGeom& g, const float* x, float* y, int32_t* pos);
// max_pool_grad from those positions (every pos in [-1, inH·inW·C)). With relu_of (the pool's input,
// a Relu's output) dx is then Relu's gradient there, as relu_grad(relu_of, dx, dx) gives it.
void max_pool_grad_positions(const Pool2DGeom& g, const int32_t* pos, const float* dy, float* dx,
                             const float* relu_of = nullptr);
// max_pool_grad (x and dy only) for the 2×2 stride-2 windows the per-ISA kernels take, as
// max_pool_positions then max_pool_grad_positions: the same dx as the general search. False, with
// dx untouched, for any other window.
bool max_pool_grad_2x2(const Pool2DGeom& g, const float* x, const float* dy, float* dx);
}  // namespace hafif

namespace hafif {
// ---- pointwise.cc ----
// The backward of a pointwise conv (1×1, stride 1, unpadded; geometry as conv2d's) with inC and
// outC divisible by 16 and at most kPointwiseMaxWeights filter values: dw = xᵀ·dy and dx = dy·Wᵀ
// (each overwritten, skipped when null; x or w is then not read), in one pass over dy. Either
// comes out the same alone or with the other (conv2d_backprop_filter and _input call this). dW is
// summed over fixed blocks of pixels, so it does not depend on the thread count.
constexpr int64_t kPointwiseMaxWeights = 16384;
bool pointwise_backward_applies(const ConvGeom& g);
void pointwise_backward(const ConvGeom& g, const float* x, const float* dy, const float* w, float* dx, float* dw);
}  // namespace hafif
