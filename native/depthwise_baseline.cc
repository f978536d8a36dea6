// The depthwise 3×3 kernels for the portable baseline (the build's own flags).
#include "isa_prelude.h"
#include "depthwise_isa.h"

#define HAFIF_ISA_NS baseline
#include "baseline_level.h"
#include "depthwise.inc"
