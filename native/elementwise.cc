// elementwise kernels: pure functions over raw pointers, declared in kernels.h.
#include "kernels.h"
#include "parallel.h"

namespace hafif {}  // namespace hafif
