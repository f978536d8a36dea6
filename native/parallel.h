// A small fixed thread pool: parallel_for splits [0, n) into contiguous chunks, one per worker.
// Kernels call it for loops whose iterations are independent. Thread count: HAFIF_NUM_THREADS or
// the hardware concurrency.
#pragma once
#include <cstdint>
#include <functional>

namespace hafif {

int num_threads();
void set_num_threads(int n);

// Calls fn(begin, end) on disjoint chunks covering [0, n). Runs inline when n < grain * 2
// or when only one thread is configured.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace hafif
