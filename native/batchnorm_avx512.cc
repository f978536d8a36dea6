// The training-mode batch norm kernels for AVX-512 CPUs (F, VL, BW, DQ), picked at run time (isa.cc).
#include "isa_prelude.h"

// No kernel here reads the floating-point exception flags: without trapping math the activation's
// compares become vector selects.
#pragma GCC optimize("no-trapping-math")

#if HAFIF_MULTI_ISA
#pragma GCC target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,bmi,bmi2,f16c,lzcnt,movbe,popcnt")
#define HAFIF_ISA_NS avx512
#include "batchnorm.inc"
#endif
