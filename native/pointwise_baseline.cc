// The pointwise conv backward for the portable baseline (the build's own flags).
#include "isa_prelude.h"
#include "pointwise_isa.h"

#define HAFIF_ISA_NS baseline
#include "baseline_level.h"
#include "pointwise.inc"
