// The depthwise kernels compiled once per ISA (depthwise.inc, included by depthwise_<isa>.cc) and
// dispatched by depthwise.cc. They handle 3×3 filters with channel multiplier 1 and a channel count
// divisible by 4, any stride, dilation and padding; depthwise.cc runs the general loops otherwise.
#pragma once
#include "isa.h"

#define HAFIF_DECLARE_DEPTHWISE_KERNELS(ns)                                                                      \
  namespace hafif {                                                                                              \
  namespace ns {                                                                                                 \
  void depthwise3x3_forward(const DepthwiseGeom&, const float*, const float*, const float*, ConvActivation, float, \
                            float*);                                                                             \
  void depthwise3x3_backprop_input(const DepthwiseGeom&, const float*, const float*, float*);                   \
  void depthwise3x3_backprop_filter(const DepthwiseGeom&, const float*, const float*, float*);                  \
  }                                                                                                              \
  }

HAFIF_DECLARE_DEPTHWISE_KERNELS(baseline)
#if HAFIF_MULTI_ISA
HAFIF_DECLARE_DEPTHWISE_KERNELS(avx2)
HAFIF_DECLARE_DEPTHWISE_KERNELS(avx512)
#endif
