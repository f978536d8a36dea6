// GEMM: OpenBLAS / Accelerate cblas_sgemm when the build found one, else hafif's own GEMM (so the
// addon builds with only a C++ toolchain).
// The own GEMM is in gemm_own.inc, compiled per ISA; the calls below go to the one isa.cc picked.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "isa.h"
#include "kernels.h"

#ifdef HAFIF_HAVE_CBLAS
#ifdef __APPLE__
#include <Accelerate/Accelerate.h>
#else
#include <cblas.h>
#endif
#endif

namespace hafif {
namespace {

// HAFIF_GEMM=own|blas picks the implementation at load; the default is set below.
GemmImpl initial_impl() {
  const char* env = std::getenv("HAFIF_GEMM");
  if (env != nullptr && std::strcmp(env, "own") == 0) return GemmImpl::Own;
  if (env != nullptr && std::strcmp(env, "blas") == 0) return gemm_has_blas() ? GemmImpl::Blas : GemmImpl::Own;
  // hafif's own GEMM by default: as fast as OpenBLAS on the models' large products here, and it
  // shares hafif's thread pool, where OpenBLAS's spinning threads slowed the small kernels that
  // follow a product (student step 6.3 vs 7.8 ms, student inference 50k vs 20k img/s).
  return GemmImpl::Own;
}
GemmImpl g_impl = initial_impl();

}  // namespace

bool gemm_has_blas() {
#ifdef HAFIF_HAVE_CBLAS
  return true;
#else
  return false;
#endif
}

void gemm_set_impl(GemmImpl impl) { g_impl = gemm_has_blas() ? impl : GemmImpl::Own; }
GemmImpl gemm_impl() { return g_impl; }

void sgemm_own(bool tA, bool tB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
               const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  HAFIF_DISPATCH(sgemm_own, tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void sgemm_own_serial(bool tA, bool tB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                      const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  HAFIF_DISPATCH(sgemm_own_serial, tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void bias_activation(float* y, int64_t rows, int64_t n, const float* bias, int64_t biasLen, ConvActivation act,
                     float alpha) {
  HAFIF_DISPATCH(bias_activation, y, rows, n, bias, biasLen, act, alpha);
}

void sgemm(bool tA, bool tB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
#ifdef HAFIF_HAVE_CBLAS
  if (g_impl == GemmImpl::Blas) {
    cblas_sgemm(CblasRowMajor, tA ? CblasTrans : CblasNoTrans, tB ? CblasTrans : CblasNoTrans, (int)M, (int)N,
                (int)K, alpha, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
    return;
  }
#endif
  sgemm_own(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace hafif
