// The pointwise conv backward compiled once per ISA (pointwise.inc, included by
// pointwise_<isa>.cc) and dispatched by pointwise.cc.
#pragma once
#include "isa.h"

#define HAFIF_DECLARE_POINTWISE_KERNELS(ns)                                                          \
  namespace hafif {                                                                                  \
  namespace ns {                                                                                     \
  void pointwise_backward(const ConvGeom&, const float*, const float*, const float*, float*, float*); \
  }                                                                                                  \
  }

HAFIF_DECLARE_POINTWISE_KERNELS(baseline)
#if HAFIF_MULTI_ISA
HAFIF_DECLARE_POINTWISE_KERNELS(avx2)
HAFIF_DECLARE_POINTWISE_KERNELS(avx512)
#endif
