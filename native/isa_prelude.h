// Included first by every per-ISA translation unit (gemm_*.cc, elementwise_*.cc, optim_*.cc): all
// headers those kernels need, before the unit's `#pragma GCC target`. Library code (std templates,
// inline helpers) is thereby compiled for the baseline in every unit, so the linker's pick among
// their identical-looking copies can never be an AVX2 or AVX-512 one.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#elif defined(__ARM_NEON) && defined(__aarch64__)
#include <arm_neon.h>
#endif

#include "isa.h"
#include "kernels.h"
#include "parallel.h"
