// The 2×2 stride-2 and stride-1 max pooling with positions compiled once per ISA (pool_positions.inc,
// included by pool_positions_<isa>.cc) and dispatched by pool_positions.cc.
#pragma once
#include "isa.h"

#define HAFIF_DECLARE_POOL_POSITIONS_KERNELS(ns)                                             \
  namespace hafif {                                                                          \
  namespace ns {                                                                             \
  void max_pool_2x2_positions(const Pool2DGeom&, const float*, float*, int32_t*);            \
  void max_pool_2x2_grad_positions(const Pool2DGeom&, const int32_t*, const float*, float*, const float*); \
  void max_pool_2x2_s1_positions(const Pool2DGeom&, const float*, float*, int32_t*);         \
  void max_pool_2x2_s1_grad_positions(const Pool2DGeom&, const int32_t*, const float*, float*, const float*); \
  }                                                                                          \
  }

HAFIF_DECLARE_POOL_POSITIONS_KERNELS(baseline)
#if HAFIF_MULTI_ISA
HAFIF_DECLARE_POOL_POSITIONS_KERNELS(avx2)
HAFIF_DECLARE_POOL_POSITIONS_KERNELS(avx512)
#endif
