// The depthwise 3×3 kernels for the portable baseline (the build's own flags).
#include "isa_prelude.h"
#include "depthwise_isa.h"

#define HAFIF_ISA_NS baseline
#if defined(__AVX512VL__)
#define HAFIF_ISA_LEVEL 3
#elif defined(__AVX2__)
#define HAFIF_ISA_LEVEL 2
#else
#define HAFIF_ISA_LEVEL 0
#endif
#include "depthwise.inc"
