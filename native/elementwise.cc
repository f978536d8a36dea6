// Element-wise kernels (elementwise.inc, compiled per ISA): each call goes to the copy isa.cc picked.
#include "isa.h"
#include "kernels.h"

namespace hafif {

bool make_broadcast_geometry(const int64_t* a_shape, int a_rank, const int64_t* b_shape, int b_rank,
                             BroadcastGeometry* g, int64_t* out_shape, int* out_rank) {
  return baseline::make_broadcast_geometry(a_shape, a_rank, b_shape, b_rank, g, out_shape, out_rank);
}
void binary_f32(BinaryOp op, const float* a, const float* b, float* out, const BroadcastGeometry& g) {
  HAFIF_DISPATCH(binary_f32, op, a, b, out, g);
}
void compare_f32(BinaryOp op, const float* a, const float* b, uint8_t* out, const BroadcastGeometry& g) {
  HAFIF_DISPATCH(compare_f32, op, a, b, out, g);
}
void unary_f32(UnaryOp op, const float* x, float* out, int64_t n, float alpha, float beta) {
  HAFIF_DISPATCH(unary_f32, op, x, out, n, alpha, beta);
}
void select_f32(const uint8_t* cond, const float* t, const float* e, float* out, int64_t n) {
  HAFIF_DISPATCH(select_f32, cond, t, e, out, n);
}
void add_n_f32(const float* const* xs, int count, float* out, int64_t n) { HAFIF_DISPATCH(add_n_f32, xs, count, out, n); }
void batch_norm_f32(const float* x, const float* mean, const float* var, const float* offset, const float* scale,
                    float* out, const BatchNormGeometry& g) {
  HAFIF_DISPATCH(batch_norm_f32, x, mean, var, offset, scale, out, g);
}
void cast_f32_i32(const float* x, int32_t* out, int64_t n) { HAFIF_DISPATCH(cast_f32_i32, x, out, n); }
void cast_f32_u8(const float* x, uint8_t* out, int64_t n) { HAFIF_DISPATCH(cast_f32_u8, x, out, n); }
void cast_i32_f32(const int32_t* x, float* out, int64_t n) { HAFIF_DISPATCH(cast_i32_f32, x, out, n); }
void cast_i32_u8(const int32_t* x, uint8_t* out, int64_t n) { HAFIF_DISPATCH(cast_i32_u8, x, out, n); }
void cast_u8_f32(const uint8_t* x, float* out, int64_t n) { HAFIF_DISPATCH(cast_u8_f32, x, out, n); }
void cast_u8_i32(const uint8_t* x, int32_t* out, int64_t n) { HAFIF_DISPATCH(cast_u8_i32, x, out, n); }

}  // namespace hafif
