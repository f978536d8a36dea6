// GEMM: OpenBLAS / Accelerate cblas_sgemm when the build found one, else hafif's own blocked,
// threaded GEMM (so the addon builds with only a C++ toolchain).
#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels.h"
#include "parallel.h"

#ifdef HAFIF_HAVE_CBLAS
#ifdef __APPLE__
#include <Accelerate/Accelerate.h>
#else
#include <cblas.h>
#endif
#endif

namespace hafif {
namespace {

#ifdef HAFIF_HAVE_CBLAS
GemmImpl g_impl = GemmImpl::Blas;
#else
GemmImpl g_impl = GemmImpl::Own;
#endif

constexpr int64_t kMC = 64, kKC = 256, kNC = 2048;

inline float at(const float* X, bool trans, int64_t ld, int64_t r, int64_t c) {
  return trans ? X[c * ld + r] : X[r * ld + c];
}

// C block [i0,i1) x [j0,j1) += alpha * A[i, k0:k1] * B[k0:k1, j] using packed copies.
void block(bool tA, bool tB, int64_t i0, int64_t i1, int64_t j0, int64_t j1, int64_t k0, int64_t k1, float alpha,
           const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc, std::vector<float>& pa,
           std::vector<float>& pb) {
  const int64_t mb = i1 - i0, nb = j1 - j0, kb = k1 - k0;
  pa.resize(mb * kb);
  pb.resize(kb * nb);
  for (int64_t i = 0; i < mb; ++i)
    for (int64_t k = 0; k < kb; ++k) pa[i * kb + k] = alpha * at(A, tA, lda, i0 + i, k0 + k);
  for (int64_t k = 0; k < kb; ++k) {
    float* dst = &pb[k * nb];
    if (!tB) {
      std::memcpy(dst, B + (k0 + k) * ldb + j0, nb * sizeof(float));
    } else {
      for (int64_t j = 0; j < nb; ++j) dst[j] = B[(j0 + j) * ldb + k0 + k];
    }
  }
  for (int64_t i = 0; i < mb; ++i) {
    float* __restrict c = C + (i0 + i) * ldc + j0;
    const float* a = &pa[i * kb];
    for (int64_t k = 0; k < kb; ++k) {
      const float av = a[k];
      const float* __restrict b = &pb[k * nb];
      for (int64_t j = 0; j < nb; ++j) c[j] += av * b[j];
    }
  }
}

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
  if (M <= 0 || N <= 0) return;
  for (int64_t i = 0; i < M; ++i) {
    float* c = C + i * ldc;
    if (beta == 0.f) std::fill(c, c + N, 0.f);
    else if (beta != 1.f) for (int64_t j = 0; j < N; ++j) c[j] *= beta;
  }
  if (K <= 0 || alpha == 0.f) return;
  const int64_t mblocks = (M + kMC - 1) / kMC;
  parallel_for(mblocks, 1, [&](int64_t b0, int64_t b1) {
    std::vector<float> pa, pb;
    for (int64_t jb = 0; jb < N; jb += kNC)
      for (int64_t kb = 0; kb < K; kb += kKC)
        for (int64_t mb = b0; mb < b1; ++mb) {
          const int64_t i0 = mb * kMC;
          block(tA, tB, i0, std::min(M, i0 + kMC), jb, std::min(N, jb + kNC), kb, std::min(K, kb + kKC), alpha, A,
                lda, B, ldb, C, ldc, pa, pb);
        }
  });
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
