// The small-filter conv kernel for AVX2+FMA CPUs, picked at run time (isa.cc).
#include "isa_prelude.h"
#include "small_conv_isa.h"

#if HAFIF_MULTI_ISA
#pragma GCC target("avx2,fma,bmi,bmi2,f16c,lzcnt,movbe,popcnt")
#define HAFIF_ISA_NS avx2
#define HAFIF_ISA_LEVEL 2
#include "small_conv.inc"
#endif
