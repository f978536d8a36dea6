// Run-time ISA dispatch. The addon is compiled for a portable baseline (x86-64-v2, armv8-a); the
// hot kernels (own GEMM, element-wise, Adam, training batch norm) are compiled a second and third time for AVX2+FMA and
// AVX-512 (gemm_<isa>.cc, elementwise_<isa>.cc, optim_<isa>.cc, with `#pragma GCC target`), and
// HAFIF_DISPATCH calls the copy active_isa() picked at load: the best this CPU runs, or HAFIF_ISA.
#pragma once
#include <cstdint>

#include "kernels.h"

// Per-ISA copies exist on x86-64 with GCC (whose target pragma they use), unless the whole addon
// was built for the build machine's CPU (HAFIF_MARCH_NATIVE, for comparison benchmarks).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(HAFIF_MARCH_NATIVE)
#define HAFIF_MULTI_ISA 1
#else
#define HAFIF_MULTI_ISA 0
#endif

namespace hafif {

enum class Isa { Baseline = 0, Avx2 = 2, Avx512 = 3 };

// The ISA whose kernels run: HAFIF_ISA=baseline|avx2|avx512 when this CPU supports it, else the
// best one it supports. Fixed at the first call.
Isa active_isa();
const char* isa_name(Isa isa);
// Why HAFIF_ISA was not honoured ("" when it was, or was unset).
const char* isa_note();

}  // namespace hafif

// The kernels each ISA namespace defines (see gemm_own.inc, elementwise.inc, optim.inc).
#define HAFIF_DECLARE_ISA_KERNELS(ns)                                                                              \
  namespace hafif {                                                                                                \
  namespace ns {                                                                                                   \
  void sgemm_own(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*, int64_t, float, \
                 float*, int64_t);                                                                                 \
  void sgemm_own_serial(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*, int64_t, \
                        float, float*, int64_t);                                                                   \
  void bias_activation(float*, int64_t, int64_t, const float*, int64_t, ConvActivation, float);                    \
  bool make_broadcast_geometry(const int64_t*, int, const int64_t*, int, BroadcastGeometry*, int64_t*, int*);      \
  void binary_f32(BinaryOp, const float*, const float*, float*, const BroadcastGeometry&);                         \
  void compare_f32(BinaryOp, const float*, const float*, uint8_t*, const BroadcastGeometry&);                      \
  void unary_f32(UnaryOp, const float*, float*, int64_t, float, float);                                             \
  void select_f32(const uint8_t*, const float*, const float*, float*, int64_t);                                    \
  void add_n_f32(const float* const*, int, float*, int64_t);                                                       \
  void batch_norm_f32(const float*, const float*, const float*, const float*, const float*, float*,                \
                      const BatchNormGeometry&);                                                                   \
  void cast_f32_i32(const float*, int32_t*, int64_t);                                                              \
  void cast_f32_u8(const float*, uint8_t*, int64_t);                                                               \
  void cast_i32_f32(const int32_t*, float*, int64_t);                                                              \
  void cast_i32_u8(const int32_t*, uint8_t*, int64_t);                                                             \
  void cast_u8_f32(const uint8_t*, float*, int64_t);                                                               \
  void cast_u8_i32(const uint8_t*, int32_t*, int64_t);                                                             \
  void adam_update(const AdamStep&, const float*, float*, float*, const float*, float*, int64_t);                   \
  void adam_update_many(const AdamStep&, const AdamSlot*, int64_t);                                               \
  void batch_norm_train_forward(const BatchNormTrainGeom&, const float*, const float*, const float*, const float*,  \
                                const float*, float*, float*, float*, float*, float*);                              \
  void batch_norm_train_backward(const BatchNormTrainGeom&, const float*, const float*, const float*, const float*, \
                                 const float*, const float*, const float*, const float*, const float*, float*,      \
                                 float*, float*);                                                                   \
  }                                                                                                                \
  }

HAFIF_DECLARE_ISA_KERNELS(baseline)
#if HAFIF_MULTI_ISA
HAFIF_DECLARE_ISA_KERNELS(avx2)
HAFIF_DECLARE_ISA_KERNELS(avx512)
#define HAFIF_DISPATCH(fn, ...)                                  \
  switch (::hafif::active_isa()) {                               \
    case ::hafif::Isa::Avx512: return ::hafif::avx512::fn(__VA_ARGS__); \
    case ::hafif::Isa::Avx2: return ::hafif::avx2::fn(__VA_ARGS__);     \
    default: return ::hafif::baseline::fn(__VA_ARGS__);                 \
  }
#else
#define HAFIF_DISPATCH(fn, ...) return ::hafif::baseline::fn(__VA_ARGS__)
#endif
