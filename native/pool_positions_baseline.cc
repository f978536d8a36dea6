// The 2×2 stride-2 max pooling with positions for the portable baseline (the build's own flags).
#include "isa_prelude.h"
#include "pool_positions_isa.h"

#define HAFIF_ISA_NS baseline
#if defined(__AVX512VL__)
#define HAFIF_ISA_LEVEL 3
#elif defined(__AVX2__)
#define HAFIF_ISA_LEVEL 2
#else
#define HAFIF_ISA_LEVEL 0
#endif
#include "pool_positions.inc"
