// HAFIF_ISA_LEVEL of a portable-baseline unit (*_baseline.cc): the widest vector ISA the build's own
// flags enable (x86-64-v2, armv8-a, or the build machine's CPU with HAFIF_MARCH_NATIVE). 3 is
// AVX-512VL, 2 AVX2, 0 none; the .inc kernels choose their code paths by it. Included once per unit,
// after isa_prelude.h and before the unit's .inc.
#pragma once
#if defined(__AVX512VL__)
#define HAFIF_ISA_LEVEL 3
#elif defined(__AVX2__)
#define HAFIF_ISA_LEVEL 2
#else
#define HAFIF_ISA_LEVEL 0
#endif
