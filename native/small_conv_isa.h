// The small-filter conv kernel compiled once per ISA (small_conv.inc, included by
// small_conv_<isa>.cc) and dispatched by small_conv.cc.
#pragma once
#include "isa.h"

#define HAFIF_DECLARE_SMALL_CONV_KERNELS(ns)                                                                      \
  namespace hafif {                                                                                               \
  namespace ns {                                                                                                  \
  void small_conv2d(const ConvGeom&, const float*, const float*, const float*, ConvActivation, float, float*);   \
  void small_conv2d_backprop_filter(const ConvGeom&, const float*, const float*, const float*, float*, float*);  \
  }                                                                                                               \
  }

HAFIF_DECLARE_SMALL_CONV_KERNELS(baseline)
#if HAFIF_MULTI_ISA
HAFIF_DECLARE_SMALL_CONV_KERNELS(avx2)
HAFIF_DECLARE_SMALL_CONV_KERNELS(avx512)
#endif
