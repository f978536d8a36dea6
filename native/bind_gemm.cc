// N-API bindings for GEMM and BatchMatMul.
#include <string>

#include "kernels.h"
#include "napi_util.h"
#include "parallel.h"

namespace hafif {
namespace {

// batchMatMul(a, b, out, [batchA, batchB, M, N, K], transA, transB)
// a: [batchA, M, K] (or [batchA, K, M] when transA), b: [batchB, K, N] (or [batchB, N, K]);
// batchA or batchB may be 1 (broadcast). out: [max(batchA, batchB), M, N].
Napi::Value BatchMatMul(const Napi::CallbackInfo& info) {
  const char* k = "BatchMatMul";
  F32 a = f32_arg(info, 0, k, "a"), b = f32_arg(info, 1, k, "b"), out = f32_arg(info, 2, k, "out");
  auto dims = ints_arg(info, 3, k, "dims");
  if (dims.size() != 5) throw kernel_error(info.Env(), k, "dims must be [batchA, batchB, M, N, K]");
  const int64_t bA = dims[0], bB = dims[1], M = dims[2], N = dims[3], K = dims[4];
  const bool tA = info[4].ToBoolean(), tB = info[5].ToBoolean();
  if (bA < 1 || bB < 1 || M < 0 || N < 0 || K < 0 || (bA != bB && bA != 1 && bB != 1)) {
    throw kernel_error(info.Env(), k, "bad dims " + shape_str(dims));
  }
  const int64_t batch = std::max(bA, bB);
  expect_length(info.Env(), k, "a", a.length, bA * M * K);
  expect_length(info.Env(), k, "b", b.length, bB * K * N);
  expect_length(info.Env(), k, "out", out.length, batch * M * N);
  for (int64_t i = 0; i < batch; ++i) {
    const float* pa = a.data + (bA == 1 ? 0 : i) * M * K;
    const float* pb = b.data + (bB == 1 ? 0 : i) * K * N;
    sgemm(tA, tB, M, N, K, 1.f, pa, tA ? M : K, pb, tB ? K : N, 0.f, out.data + i * M * N, N);
  }
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
  exports.Set("hasBlas", Napi::Boolean::New(env, gemm_has_blas()));
}

}  // namespace hafif
