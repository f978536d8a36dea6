// The elementwise kernels for the portable baseline (the build's own flags: x86-64-v2, armv8-a, or the
// build machine's CPU with HAFIF_MARCH_NATIVE).
#include "isa_prelude.h"

#define HAFIF_ISA_NS baseline
#include "baseline_level.h"
#include "elementwise.inc"
