// The 2×2 stride-2 max pooling with positions for the portable baseline (the build's own flags).
#include "isa_prelude.h"
#include "pool_positions_isa.h"

#define HAFIF_ISA_NS baseline
#include "baseline_level.h"
#include "pool_positions.inc"
