// The depthwise 3×3 kernels for AVX2+FMA CPUs, picked at run time (isa.cc).
#include "isa_prelude.h"
#include "depthwise_isa.h"

#if HAFIF_MULTI_ISA
#pragma GCC target("avx2,fma,bmi,bmi2,f16c,lzcnt,movbe,popcnt")
#define HAFIF_ISA_NS avx2
#define HAFIF_ISA_LEVEL 2
#include "depthwise.inc"
#endif
