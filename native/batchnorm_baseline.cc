// The training-mode batch norm kernels for the portable baseline (the build's own flags: x86-64-v2,
// armv8-a, or the build machine's CPU with HAFIF_MARCH_NATIVE).
#include "isa_prelude.h"

// No kernel here reads the floating-point exception flags: without trapping math the activation's
// compares become vector selects.
#pragma GCC optimize("no-trapping-math")

#define HAFIF_ISA_NS baseline
#include "batchnorm.inc"
