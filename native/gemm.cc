// GEMM: OpenBLAS / Accelerate cblas_sgemm when the build found one, else hafif's own GEMM (so the
// addon builds with only a C++ toolchain).
//
// The own GEMM follows the Goto/BLIS scheme: B is packed into KC x NR column slivers, A into
// MR x KC row slivers, and a register-blocked MR x NR micro-kernel written with GCC/Clang vector
// extensions (no intrinsics headers: the same code is AVX2/AVX-512 on x86-64 and NEON on arm64)
// accumulates one tile of C at a time. Threads split C into disjoint blocks (or, when C is tiny
// and K is long, split K and sum), so a call needs no barrier beyond the one parallel_for.
#include <algorithm>
#include <cmath>
#include <cstdlib>
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

// 8 floats per vector: AVX2 width. (16-float vectors measured no faster on Zen 4 and pad skinny
// outputs such as N = 10 logits to 32 columns.)
constexpr int VL = 8;
typedef float v8 __attribute__((vector_size(VL * 4)));

// Tile of C per micro-kernel call: MR rows x NR (= 2 vectors) columns, sized so the MR x 2
// accumulators, two B vectors and a broadcast fit the register file: 32 ymm with AVX-512VL,
// 16 ymm with AVX2, 32 q-registers on arm64 (each v8 takes two), 16 xmm on plain SSE.
#if defined(__AVX512VL__)
constexpr int MR = 12;
#elif defined(__x86_64__) && !defined(__AVX__)
constexpr int MR = 3;
#else
constexpr int MR = 6;
#endif
constexpr int NV = 2;
constexpr int NR = NV * VL;
constexpr int64_t KC = 256;  // B sliver KC x NR stays in L1
constexpr int64_t MC = MR * 16;  // A block MC x KC stays in L2
constexpr int64_t NC = 2048;  // B panel KC x NC stays in L3

inline v8 loadu(const float* p) {
  v8 v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
inline void storeu(float* p, v8 v) { std::memcpy(p, &v, sizeof(v)); }
inline v8 splat(float x) { return v8{x, x, x, x, x, x, x, x}; }

// C[0:mr, 0:nr] = alpha * (a-sliver x b-sliver) + beta * C (C not read when beta == 0).
void micro_kernel(int64_t kc, const float* __restrict a, const float* __restrict b, float* __restrict c, int64_t ldc,
                  float alpha, float beta, int mr, int nr) {
  v8 acc[MR][NV];
#pragma GCC unroll 32
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = v8{};
  for (int64_t k = 0; k < kc; ++k) {
    v8 bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = *reinterpret_cast<const v8*>(b + v * VL);
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i) {
      const v8 av = splat(a[i]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] += av * bv[v];
    }
    a += MR;
    b += NR;
  }
  if (mr == MR && nr == NR) {
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i) {
      float* ci = c + i * ldc;
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        v8 r = acc[i][v] * splat(alpha);
        if (beta != 0.f) r += loadu(ci + v * VL) * splat(beta);
        storeu(ci + v * VL, r);
      }
    }
    return;
  }
  alignas(64) float tile[MR][NR];
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < NV; ++v) *reinterpret_cast<v8*>(&tile[i][v * VL]) = acc[i][v];
  for (int i = 0; i < mr; ++i) {
    float* ci = c + i * ldc;
    if (beta == 0.f) {
      for (int j = 0; j < nr; ++j) ci[j] = alpha * tile[i][j];
    } else {
      for (int j = 0; j < nr; ++j) ci[j] = alpha * tile[i][j] + beta * ci[j];
    }
  }
}

// op(A)[i, k] for i in [0, mc), k in [0, kc) into MR-row slivers, zero-padded: pa[s][k][r].
void pack_a(bool tA, const float* A, int64_t lda, int64_t mc, int64_t kc, float* pa) {
  for (int64_t i0 = 0; i0 < mc; i0 += MR) {
    const int64_t mr = std::min<int64_t>(MR, mc - i0);
    if (tA) {  // A(i, k) = A[k * lda + i]: MR contiguous floats per k
      for (int64_t k = 0; k < kc; ++k) {
        const float* src = A + k * lda + i0;
        float* dst = pa + k * MR;
        int64_t r = 0;
        for (; r < mr; ++r) dst[r] = src[r];
        for (; r < MR; ++r) dst[r] = 0.f;
      }
    } else {  // A(i, k) = A[i * lda + k]: MR rows read side by side
      const float* rows[MR];
      for (int r = 0; r < MR; ++r) rows[r] = A + (i0 + std::min<int64_t>(r, mr - 1)) * lda;
      if (mr == MR) {
        for (int64_t k = 0; k < kc; ++k)
#pragma GCC unroll 32
          for (int r = 0; r < MR; ++r) pa[k * MR + r] = rows[r][k];
      } else {
        for (int64_t k = 0; k < kc; ++k)
          for (int r = 0; r < MR; ++r) pa[k * MR + r] = r < mr ? rows[r][k] : 0.f;
      }
    }
    pa += kc * MR;
  }
}

// op(B)[k, j] for k in [0, kc), j in [0, nc) into NR-column slivers, zero-padded: pb[s][k][j].
void pack_b(bool tB, const float* B, int64_t ldb, int64_t kc, int64_t nc, float* pb) {
  for (int64_t j0 = 0; j0 < nc; j0 += NR) {
    const int64_t nr = std::min<int64_t>(NR, nc - j0);
    if (!tB) {  // B(k, j) = B[k * ldb + j]: NR contiguous floats per k
      if (nr == NR) {
        for (int64_t k = 0; k < kc; ++k)
#pragma GCC unroll 4
          for (int v = 0; v < NV; ++v)
            *reinterpret_cast<v8*>(pb + k * NR + v * VL) = loadu(B + k * ldb + j0 + v * VL);
      } else {
        for (int64_t k = 0; k < kc; ++k) {
          const float* src = B + k * ldb + j0;
          float* dst = pb + k * NR;
          int64_t j = 0;
          for (; j < nr; ++j) dst[j] = src[j];
          for (; j < NR; ++j) dst[j] = 0.f;
        }
      }
    } else {  // B(k, j) = B[j * ldb + k]: NR rows read side by side
      for (int64_t j = 0; j < NR; ++j) {
        if (j < nr) {
          const float* src = B + (j0 + j) * ldb;
          for (int64_t k = 0; k < kc; ++k) pb[k * NR + j] = src[k];
        } else {
          for (int64_t k = 0; k < kc; ++k) pb[k * NR + j] = 0.f;
        }
      }
    }
    pb += kc * NR;
  }
}

// Per-thread packing buffers, 64-byte aligned, kept between calls (pool threads are long-lived).
struct PackBuffers {
  float* a = nullptr;
  float* b = nullptr;
  PackBuffers() {
    a = static_cast<float*>(std::aligned_alloc(64, sizeof(float) * MC * KC));
    b = static_cast<float*>(std::aligned_alloc(64, sizeof(float) * KC * ((NC + NR - 1) / NR * NR)));
  }
  ~PackBuffers() {
    std::free(a);
    std::free(b);
  }
};

PackBuffers& buffers() {
  thread_local PackBuffers buf;
  return buf;
}

struct Gemm {
  bool tA, tB;
  int64_t M, N, K;
  float alpha;
  const float* A;
  int64_t lda;
  const float* B;
  int64_t ldb;
  float beta;
  float* C;
  int64_t ldc;

  // The sub-problem C[m0:m1, n0:n1] restricted to k in [k0, k1).
  Gemm sub(int64_t m0, int64_t m1, int64_t n0, int64_t n1, int64_t k0, int64_t k1) const {
    Gemm g = *this;
    g.M = m1 - m0;
    g.N = n1 - n0;
    g.K = k1 - k0;
    g.A = tA ? A + k0 * lda + m0 : A + m0 * lda + k0;
    g.B = tB ? B + n0 * ldb + k0 : B + k0 * ldb + n0;
    g.C = C + m0 * ldc + n0;
    return g;
  }
};

void scale_c(const Gemm& g) {
  for (int64_t i = 0; i < g.M; ++i) {
    float* c = g.C + i * g.ldc;
    if (g.beta == 0.f) std::fill(c, c + g.N, 0.f);
    else if (g.beta != 1.f) for (int64_t j = 0; j < g.N; ++j) c[j] *= g.beta;
  }
}

inline int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

// Where gemm_serial finds panel (jc, pc) of B, or block (ic, pc) of A, packed in advance by
// pack_all_b / pack_all_a: panels of one jc (ic) are contiguous, all but the last NC (MC) wide.
inline int64_t packed_b_offset(int64_t K, int64_t jc, int64_t pc, int64_t nc) {
  return jc / NC * K * NC + pc * round_up(nc, NR);
}
inline int64_t packed_a_offset(int64_t K, int64_t ic, int64_t pc, int64_t mc) {
  return ic / MC * K * MC + pc * round_up(mc, MR);
}
int64_t packed_b_size(const Gemm& g) { return (g.N - 1) / NC * g.K * NC + g.K * round_up(g.N - (g.N - 1) / NC * NC, NR); }
int64_t packed_a_size(const Gemm& g) { return (g.M - 1) / MC * g.K * MC + g.K * round_up(g.M - (g.M - 1) / MC * MC, MR); }

// Single-threaded blocked GEMM. preB / preA: the whole of op(B) / op(A) packed by pack_all_*
// (shared by the threads of gemm_parallel), or null to pack block by block here.
void gemm_serial(const Gemm& g, const float* preB = nullptr, const float* preA = nullptr) {
  if (g.M <= 0 || g.N <= 0) return;
  if (g.K <= 0 || g.alpha == 0.f) {
    scale_c(g);
    return;
  }
  PackBuffers& buf = buffers();
  for (int64_t jc = 0; jc < g.N; jc += NC) {
    const int64_t nc = std::min(NC, g.N - jc);
    for (int64_t pc = 0; pc < g.K; pc += KC) {
      const int64_t kc = std::min(KC, g.K - pc);
      const float* pbPanel = buf.b;
      if (preB != nullptr) pbPanel = preB + packed_b_offset(g.K, jc, pc, nc);
      else pack_b(g.tB, g.tB ? g.B + jc * g.ldb + pc : g.B + pc * g.ldb + jc, g.ldb, kc, nc, buf.b);
      const float beta = pc == 0 ? g.beta : 1.f;
      for (int64_t ic = 0; ic < g.M; ic += MC) {
        const int64_t mc = std::min(MC, g.M - ic);
        const float* paBlock = buf.a;
        if (preA != nullptr) paBlock = preA + packed_a_offset(g.K, ic, pc, mc);
        else pack_a(g.tA, g.tA ? g.A + pc * g.lda + ic : g.A + ic * g.lda + pc, g.lda, mc, kc, buf.a);
        for (int64_t jr = 0; jr < nc; jr += NR) {
          const float* pb = pbPanel + (jr / NR) * kc * NR;
          const int nr = static_cast<int>(std::min<int64_t>(NR, nc - jr));
          for (int64_t ir = 0; ir < mc; ir += MR) {
            const int mr = static_cast<int>(std::min<int64_t>(MR, mc - ir));
            micro_kernel(kc, paBlock + (ir / MR) * kc * MR, pb, g.C + (ic + ir) * g.ldc + jc + jr, g.ldc, g.alpha,
                         beta, mr, nr);
          }
        }
      }
    }
  }
}

// All of op(B) (op(A)) in gemm_serial's panel layout, the panels packed in parallel.
void pack_all_b(const Gemm& g, float* out) {
  const int64_t jcs = (g.N + NC - 1) / NC, pcs = (g.K + KC - 1) / KC;
  parallel_for(jcs * pcs, 2, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t jc = p / pcs * NC, pc = p % pcs * KC, nc = std::min(NC, g.N - jc), kc = std::min(KC, g.K - pc);
      pack_b(g.tB, g.tB ? g.B + jc * g.ldb + pc : g.B + pc * g.ldb + jc, g.ldb, kc, nc,
             out + packed_b_offset(g.K, jc, pc, nc));
    }
  });
}
void pack_all_a(const Gemm& g, float* out) {
  const int64_t ics = (g.M + MC - 1) / MC, pcs = (g.K + KC - 1) / KC;
  parallel_for(ics * pcs, 2, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t ic = p / pcs * MC, pc = p % pcs * KC, mc = std::min(MC, g.M - ic), kc = std::min(KC, g.K - pc);
      pack_a(g.tA, g.tA ? g.A + pc * g.lda + ic : g.A + ic * g.lda + pc, g.lda, mc, kc,
             out + packed_a_offset(g.K, ic, pc, mc));
    }
  });
}

// The calling thread's buffer for an operand packed in advance, 64-byte aligned, kept between calls.
float* shared_pack_buffer(int64_t n) {
  struct Buf {
    float* p = nullptr;
    int64_t n = 0;
    ~Buf() { std::free(p); }
  };
  thread_local Buf buf;
  if (buf.n < n) {
    std::free(buf.p);
    buf.n = round_up(n, 16);
    buf.p = static_cast<float*>(std::aligned_alloc(64, sizeof(float) * buf.n));
  }
  return buf.p;
}

// Largest operand packed once for all threads (64 MB); bigger ones are packed per thread.
constexpr int64_t kMaxSharedPack = int64_t{16} << 20;

// Splits [0, n) into `parts` ranges whose boundaries are multiples of `unit` (except the last).
inline int64_t split_at(int64_t n, int64_t unit, int64_t parts, int64_t p) {
  const int64_t units = (n + unit - 1) / unit;
  return std::min(n, units * p / parts * unit);
}

void gemm_parallel(const Gemm& g) {
  if (g.M <= 0 || g.N <= 0) return;
  const int64_t threads = num_threads();
  const double work = static_cast<double>(g.M) * g.N * std::max<int64_t>(g.K, 1);
  // Below ~2M multiply-adds (~50 us on one core) a second thread costs more than it saves: in a
  // training step the worker is usually asleep or cache-cold (student dense dx, 0.5M: 0.25 ms on
  // two threads vs 0.08 ms on one, inside the step).
  if (threads <= 1 || work < double{1 << 21} || g.K <= 0 || g.alpha == 0.f) {
    gemm_serial(g);
    return;
  }
  const int64_t mUnits = (g.M + MR - 1) / MR, nUnits = (g.N + NR - 1) / NR;
  // Tiny C with a long K (e.g. a dense layer's [32, 25088] x [25088, 10]): split K, then sum.
  if (mUnits * nUnits < 2 * threads && g.K >= 4 * KC * threads) {
    const int64_t parts = threads;
    std::vector<float> partial(static_cast<size_t>((parts - 1) * g.M * g.N));
    parallel_for(parts, 1, [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) {
        Gemm s = g.sub(0, g.M, 0, g.N, split_at(g.K, KC, parts, p), split_at(g.K, KC, parts, p + 1));
        if (p > 0) {
          s.C = partial.data() + (p - 1) * g.M * g.N;
          s.ldc = g.N;
          s.beta = 0.f;
        }
        gemm_serial(s);
      }
    });
    for (int64_t p = 1; p < parts; ++p) {
      const float* src = partial.data() + (p - 1) * g.M * g.N;
      for (int64_t i = 0; i < g.M; ++i)
        for (int64_t j = 0; j < g.N; ++j) g.C[i * g.ldc + j] += src[i * g.N + j];
    }
    return;
  }
  // Split rows when that duplicates less packing (each thread packs all of B) than splitting
  // columns would (each thread packs all of A), as long as there are enough row slivers.
  const bool byRows = (g.N <= g.M && mUnits >= threads) || nUnits < threads;
  // The operand every part needs (B when splitting rows, A when splitting columns) is packed once,
  // then the other dimension goes out in blocks of 4 slivers. Parts are claimed dynamically, so a
  // thread that runs slow (its core shared with another process) takes fewer of them; two fixed
  // halves made the caller wait for it (teacher conv2: 17% of the time in sched_yield).
  if (byRows ? packed_b_size(g) <= kMaxSharedPack : packed_a_size(g) <= kMaxSharedPack) {
    float* pre = shared_pack_buffer(byRows ? packed_b_size(g) : packed_a_size(g));
    if (byRows) pack_all_b(g, pre);
    else pack_all_a(g, pre);
    const int64_t unit = byRows ? 4 * MR : 4 * NR, len = byRows ? g.M : g.N;
    parallel_for((len + unit - 1) / unit, 1, [&](int64_t b0, int64_t b1) {
      const int64_t lo = b0 * unit, hi = std::min(len, b1 * unit);
      if (byRows) gemm_serial(g.sub(lo, hi, 0, g.N, 0, g.K), pre, nullptr);
      else gemm_serial(g.sub(0, g.M, lo, hi, 0, g.K), nullptr, pre);
    });
    return;
  }
  parallel_for(threads, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      if (byRows) {
        gemm_serial(g.sub(split_at(g.M, MR, threads, p), split_at(g.M, MR, threads, p + 1), 0, g.N, 0, g.K));
      } else {
        gemm_serial(g.sub(0, g.M, split_at(g.N, NR, threads, p), split_at(g.N, NR, threads, p + 1), 0, g.K));
      }
    }
  });
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
  gemm_parallel(Gemm{tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc});
}

void sgemm_own_serial(bool tA, bool tB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                      const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  gemm_serial(Gemm{tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc});
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

namespace hafif {

void bias_activation(float* y, int64_t rows, int64_t n, const float* bias, int64_t biasLen, ConvActivation act,
                     float alpha) {
  if (bias == nullptr && act == ConvActivation::Linear) return;
  parallel_for(rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(n, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      float* __restrict v = y + r * n;
      if (bias != nullptr) {
        if (biasLen == n) {
          for (int64_t j = 0; j < n; ++j) v[j] += bias[j];
        } else {
          for (int64_t j = 0; j < n; ++j) v[j] += bias[j % biasLen];
        }
      }
      // Same formulas as tfjs-backend-cpu's activation kernels.
      switch (act) {
        case ConvActivation::Linear:
          break;
        case ConvActivation::Relu:
          for (int64_t j = 0; j < n; ++j) v[j] = v[j] < 0.f ? 0.f : v[j];
          break;
        case ConvActivation::Relu6:
          for (int64_t j = 0; j < n; ++j) v[j] = std::min(std::max(v[j], 0.f), 6.f);
          break;
        case ConvActivation::Elu:
          for (int64_t j = 0; j < n; ++j) v[j] = v[j] >= 0.f ? v[j] : std::expm1(v[j]);
          break;
        case ConvActivation::Sigmoid:
          for (int64_t j = 0; j < n; ++j) v[j] = 1.f / (1.f + std::exp(-v[j]));
          break;
        case ConvActivation::LeakyRelu:
          for (int64_t j = 0; j < n; ++j) v[j] = v[j] < 0.f ? alpha * v[j] : v[j];
          break;
      }
    }
  });
}

}  // namespace hafif
