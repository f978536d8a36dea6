// N-API bindings for GEMM and BatchMatMul.
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "kernels.h"
#include "napi_util.h"
#include "parallel.h"

namespace hafif {
namespace {

// batchMatMul(a, b, out, [batchA, batchB, M, N, K], transA, transB)
// a: [batchA, M, K] (or [batchA, K, M] when transA), b: [batchB, K, N] (or [batchB, N, K]);
// batchA or batchB may be 1 (broadcast). out: [max(batchA, batchB), M, N].
// Reads (a, b, out, dims, transA, transB) with `out` at index 2 + skip, computes out, and returns
// the output's row count (batch * M) and row length N.
std::pair<int64_t, int64_t> run_batch_matmul(const Napi::CallbackInfo& info, const char* k, size_t skip) {
  F32 a = f32_arg(info, 0, k, "a"), b = f32_arg(info, 1, k, "b"), out = f32_arg(info, 2 + skip, k, "out");
  auto dims = ints_arg(info, 3 + skip, k, "dims");
  if (dims.size() != 5) throw kernel_error(info.Env(), k, "dims must be [batchA, batchB, M, N, K]");
  const int64_t bA = dims[0], bB = dims[1], M = dims[2], N = dims[3], K = dims[4];
  const bool tA = info[4 + skip].ToBoolean(), tB = info[5 + skip].ToBoolean();
  if (bA < 1 || bB < 1 || M < 0 || N < 0 || K < 0 || (bA != bB && bA != 1 && bB != 1)) {
    throw kernel_error(info.Env(), k, "bad dims " + shape_str(dims));
  }
  const int64_t batch = std::max(bA, bB);
  expect_length(info.Env(), k, "a", a.length, checked_numel(info.Env(), k, "a", {bA, M, K}));
  expect_length(info.Env(), k, "b", b.length, checked_numel(info.Env(), k, "b", {bB, K, N}));
  expect_length(info.Env(), k, "out", out.length, checked_numel(info.Env(), k, "out", {batch, M, N}));
  // An empty product: nothing to compute (and a huge batch of empty matrices must not loop).
  if (out.length == 0) return {0, 0};
  auto one = [&](int64_t i, bool serial) {
    const float* pa = a.data + (bA == 1 ? 0 : i) * M * K;
    const float* pb = b.data + (bB == 1 ? 0 : i) * K * N;
    if (serial) sgemm_own_serial(tA, tB, M, N, K, 1.f, pa, tA ? M : K, pb, tB ? K : N, 0.f, out.data + i * M * N, N);
    else sgemm(tA, tB, M, N, K, 1.f, pa, tA ? M : K, pb, tB ? K : N, 0.f, out.data + i * M * N, N);
  };
  // Many small products (attention-like shapes): one thread per product beats splitting each.
  // M * N * K may exceed int64 when the operands are empty (K = 0 with huge M and N).
  const bool small = M * N == 0 || K <= (int64_t{1} << 21) / (M * N);
  if (batch > 1 && gemm_impl() == GemmImpl::Own && small) {
    parallel_for(batch, 1, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) one(i, true);
    });
  } else {
    for (int64_t i = 0; i < batch; ++i) one(i, false);
  }
  return {batch * M, N};
}

Napi::Value BatchMatMul(const Napi::CallbackInfo& info) {
  run_batch_matmul(info, "BatchMatMul", 0);
  return info.Env().Undefined();
}

// fusedMatMul(a, b, bias | null, out, [batchA, batchB, M, N, K], transA, transB, activation, leakyreluAlpha)
// = batchMatMul, then out = act(out + bias) with bias of 1 or N elements broadcast along rows.
Napi::Value FusedMatMul(const Napi::CallbackInfo& info) {
  const char* k = "_FusedMatMul";
  F32 bias{nullptr, 0};
  if (info.Length() > 2 && !info[2].IsNull() && !info[2].IsUndefined()) bias = f32_arg(info, 2, k, "bias");
  const ConvActivation act = activation_arg(info, 7, k);
  const float alpha = info.Length() > 8 && info[8].IsNumber() ? info[8].As<Napi::Number>().FloatValue() : 0.2f;
  const auto dims = ints_arg(info, 4, k, "dims");
  if (bias.data != nullptr && dims.size() == 5 && bias.length != 1 && static_cast<int64_t>(bias.length) != dims[3]) {
    throw kernel_error(info.Env(), k,
                       "bias has " + std::to_string(bias.length) + " elements, expected 1 or N=" + std::to_string(dims[3]));
  }
  const auto [rows, N] = run_batch_matmul(info, k, 1);
  F32 out = f32_arg(info, 3, k, "out");
  bias_activation(out.data, rows, N, bias.data, static_cast<int64_t>(bias.length), act, alpha);
  return info.Env().Undefined();
}

// sgemmBench(impl, M, N, K, transA, transB, reps) -> mean seconds per call of a row-major
// [M,K] x [K,N] product (operands stored transposed when trans*), after one warm-up call.
Napi::Value SgemmBench(const Napi::CallbackInfo& info) {
  const char* k = "sgemmBench";
  if (info.Length() < 1 || !info[0].IsString()) throw kernel_error(info.Env(), k, "impl must be 'own' or 'blas'");
  std::string impl = info[0].As<Napi::String>();
  if (impl != "own" && impl != "blas") throw kernel_error(info.Env(), k, "impl must be 'own' or 'blas', got " + impl);
  if (impl == "blas" && !gemm_has_blas()) throw kernel_error(info.Env(), k, "impl 'blas' requested but no BLAS is linked");
  const int64_t M = int_arg(info, 1, k, "M"), N = int_arg(info, 2, k, "N"), K = int_arg(info, 3, k, "K");
  const bool tA = info[4].ToBoolean(), tB = info[5].ToBoolean();
  const int64_t reps = int_arg(info, 6, k, "reps");
  constexpr int64_t kMax = int64_t{1} << 28;
  if (M < 1 || N < 1 || K < 1 || reps < 1 || M > kMax || N > kMax || K > kMax || M * K > kMax || K * N > kMax ||
      M * N > kMax) {
    throw kernel_error(info.Env(), k,
                       "bad sizes M=" + std::to_string(M) + " N=" + std::to_string(N) + " K=" + std::to_string(K) +
                           " reps=" + std::to_string(reps));
  }
  std::vector<float> A(M * K), B(K * N), C(M * N);
  for (size_t i = 0; i < A.size(); ++i) A[i] = static_cast<float>((i * 7919) % 1000) * 1e-3f - 0.5f;
  for (size_t i = 0; i < B.size(); ++i) B[i] = static_cast<float>((i * 104729) % 1000) * 1e-3f - 0.5f;
  const GemmImpl saved = gemm_impl();
  gemm_set_impl(impl == "blas" ? GemmImpl::Blas : GemmImpl::Own);
  auto run = [&] { sgemm(tA, tB, M, N, K, 1.f, A.data(), tA ? M : K, B.data(), tB ? K : N, 0.f, C.data(), N); };
  run();
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t r = 0; r < reps; ++r) run();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  gemm_set_impl(saved);
  return Napi::Number::New(info.Env(), secs / static_cast<double>(reps));
}

// sgemmOwn(a, b, c, [M, N, K, lda, ldb, ldc], transA, transB, alpha, beta, serial): test hook for
// hafif's own GEMM with the strides, alpha and beta that batchMatMul never passes:
// C = alpha * op(A) x op(B) + beta * C on row-major operands (C not read when beta == 0), through
// sgemm_own_serial when `serial`, else the parallel sgemm_own.
Napi::Value SgemmOwn(const Napi::CallbackInfo& info) {
  const char* k = "sgemmOwn";
  F32 a = f32_arg(info, 0, k, "a"), b = f32_arg(info, 1, k, "b"), c = f32_arg(info, 2, k, "c");
  const auto d = ints_arg(info, 3, k, "dims");
  if (d.size() != 6) throw kernel_error(info.Env(), k, "dims must be [M, N, K, lda, ldb, ldc]");
  const int64_t M = d[0], N = d[1], K = d[2], lda = d[3], ldb = d[4], ldc = d[5];
  const bool tA = info[4].ToBoolean(), tB = info[5].ToBoolean(), serial = info[8].ToBoolean();
  const float alpha = static_cast<float>(num_arg(info, 6, k, "alpha"));
  const float beta = static_cast<float>(num_arg(info, 7, k, "beta"));
  // Rows x cols of each stored operand, and the elements a row-major matrix with that stride spans.
  const int64_t aRows = tA ? K : M, aCols = tA ? M : K, bRows = tB ? N : K, bCols = tB ? K : N;
  auto span = [&](int64_t rows, int64_t cols, int64_t ld) {
    return checked_add(info.Env(), k, checked_mul(info.Env(), k, rows - 1, ld), cols);
  };
  if (M < 1 || N < 1 || K < 1 || lda < aCols || ldb < bCols || ldc < N) {
    throw kernel_error(info.Env(), k, "bad dims " + shape_str(d));
  }
  const auto len = [](const F32& x) { return static_cast<int64_t>(x.length); };
  if (len(a) < span(aRows, aCols, lda) || len(b) < span(bRows, bCols, ldb) || len(c) < span(M, N, ldc)) {
    throw kernel_error(info.Env(), k, "an operand is shorter than dims " + shape_str(d) + " need");
  }
  if (serial) sgemm_own_serial(tA, tB, M, N, K, alpha, a.data, lda, b.data, ldb, beta, c.data, ldc);
  else sgemm_own(tA, tB, M, N, K, alpha, a.data, lda, b.data, ldb, beta, c.data, ldc);
  return info.Env().Undefined();
}

// gemmImpl() -> "blas" | "own"; gemmImpl("own" | "blas") sets it (blas only when built with one).
Napi::Value GemmImplFn(const Napi::CallbackInfo& info) {
  if (info.Length() > 0 && info[0].IsString()) {
    std::string s = info[0].As<Napi::String>();
    if (s != "own" && s != "blas") throw kernel_error(info.Env(), "gemmImpl", "expected 'own' or 'blas', got " + s);
    gemm_set_impl(s == "blas" ? GemmImpl::Blas : GemmImpl::Own);
  }
  return Napi::String::New(info.Env(), gemm_impl() == GemmImpl::Blas ? "blas" : "own");
}

}  // namespace

void InitGemm(Napi::Env env, Napi::Object exports) {
  exports.Set("batchMatMul", Napi::Function::New(env, BatchMatMul, "batchMatMul"));
  exports.Set("gemmImpl", Napi::Function::New(env, GemmImplFn, "gemmImpl"));
  exports.Set("fusedMatMul", Napi::Function::New(env, FusedMatMul, "fusedMatMul"));
  exports.Set("sgemmBench", Napi::Function::New(env, SgemmBench, "sgemmBench"));
  exports.Set("sgemmOwn", Napi::Function::New(env, SgemmOwn, "sgemmOwn"));
  exports.Set("hasBlas", Napi::Boolean::New(env, gemm_has_blas()));
}

}  // namespace hafif
