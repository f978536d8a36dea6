// A small fixed thread pool: parallel_for splits [0, n) into contiguous chunks (a few per thread)
// that the caller and the workers claim dynamically. Kernels call it for loops whose iterations are
// independent. Thread count: HAFIF_NUM_THREADS or the hardware concurrency; idle workers may spin for
// HAFIF_SPIN_US microseconds (default 0) before they sleep.
#pragma once
#include <cstdint>
#include <functional>

namespace hafif {

int num_threads();
void set_num_threads(int n);

// Calls fn(begin, end) on disjoint chunks covering [0, n), in any order and on any thread. Runs
// inline when n < grain * 2, when only one thread is configured, or inside another parallel_for.
// Safe to call from several threads at once (they take turns). An exception thrown by fn is
// rethrown to the caller after every chunk has finished (chunks not yet started are skipped).
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace hafif
