// Pure kernels over raw pointers. No N-API here: bind_*.cc validate and call these.
#pragma once
#include <cstdint>

namespace hafif {

// ---- gemm.cc ----
// Row-major C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C. op transposes when trans* is true.
void sgemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc);
// Which implementation sgemm uses: "blas" (when built with one) or "own".
enum class GemmImpl { Own, Blas };
bool gemm_has_blas();
void gemm_set_impl(GemmImpl impl);
GemmImpl gemm_impl();
// hafif's own GEMM, whatever gemm_set_impl says (for benchmarks and tests).
void sgemm_own(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
               int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

}  // namespace hafif

// Each kernel family declares its pure functions in its own block below.
namespace hafif {
// ---- conv.cc ----
// ---- conv.cc (depthwise) ----
// ---- pool.cc ----
// ---- elementwise.cc ----
// ---- reduce.cc ----
}  // namespace hafif
