// The depthwise 3×3 kernels for AVX-512 CPUs (F, VL, BW, DQ), picked at run time (isa.cc).
#include "isa_prelude.h"
#include "depthwise_isa.h"

#if HAFIF_MULTI_ISA
#pragma GCC target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,bmi,bmi2,f16c,lzcnt,movbe,popcnt")
#define HAFIF_ISA_NS avx512
#define HAFIF_ISA_LEVEL 3
#include "depthwise.inc"
#endif
