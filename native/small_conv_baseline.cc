// The small-filter conv kernel for the portable baseline (the build's own flags).
#include "isa_prelude.h"
#include "small_conv_isa.h"

#define HAFIF_ISA_NS baseline
#include "baseline_level.h"
#include "small_conv.inc"
