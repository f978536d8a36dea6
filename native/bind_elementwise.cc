// N-API bindings for the elementwise kernels: validate, then call the pure kernels. Errors name
// the tfjs kernel (Add, Relu, ...) and the offending shapes or lengths.
#include <cstdlib>
#include <string>
#include <vector>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "kernels.h"
#include "napi_util.h"

namespace hafif {
namespace {

// Registry names, indexed by the op enums. Exported to JS as the op codes.
const char* const kBinaryNames[] = {"Add", "Sub", "Multiply", "RealDiv", "Maximum", "Minimum", "SquaredDifference",
                                    "Pow", "Prelu", "EluGrad", "Greater", "GreaterEqual", "Less", "LessEqual",
                                    "Equal", "NotEqual"};
const char* const kUnaryNames[] = {"Neg",        "Square", "Sqrt",      "Rsqrt", "Exp", "Log",
                                   "Log1p",      "Abs",    "Reciprocal", "Relu", "Relu6", "LeakyRelu",
                                   "Elu",        "Sigmoid", "Tanh",     "Softplus", "Step",
                                   "ClipByValue"};
static_assert(sizeof(kBinaryNames) / sizeof(*kBinaryNames) == static_cast<size_t>(BinaryOp::Count), "names");
static_assert(sizeof(kUnaryNames) / sizeof(*kUnaryNames) == static_cast<size_t>(UnaryOp::Count), "names");

template <class T>
T* typed_arg(const Napi::CallbackInfo& info, size_t i, napi_typedarray_type type, const char* kernel,
             const char* name, const char* type_name, size_t* length) {
  if (info.Length() <= i || !info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != type) {
    throw kernel_error(info.Env(), kernel, std::string(name) + " must be a " + type_name);
  }
  auto a = info[i].As<Napi::TypedArray>();
  *length = a.ElementLength();
  return reinterpret_cast<T*>(static_cast<uint8_t*>(a.ArrayBuffer().Data()) + a.ByteOffset());
}

uint8_t* u8_arg(const Napi::CallbackInfo& info, size_t i, const char* kernel, const char* name, size_t* length) {
  return typed_arg<uint8_t>(info, i, napi_uint8_array, kernel, name, "Uint8Array", length);
}

int op_arg(const Napi::CallbackInfo& info, int count, const char* what) {
  if (info.Length() < 1 || !info[0].IsNumber()) throw kernel_error(info.Env(), what, "op code must be a number");
  int op = info[0].As<Napi::Number>().Int32Value();
  if (op < 0 || op >= count) throw kernel_error(info.Env(), what, "unknown op code " + std::to_string(op));
  return op;
}

void check_shape(Napi::Env env, const char* k, const char* name, const std::vector<int64_t>& s, size_t length) {
  const int64_t n = checked_numel(env, k, name, s);
  if (static_cast<int64_t>(length) != n) {
    throw kernel_error(env, k, std::string(name) + " has " + std::to_string(length) + " elements, shape " +
                                   shape_str(s) + " needs " + std::to_string(n));
  }
}

// binary(op, a, b, out, aShape, bShape): out is a Float32Array, or a Uint8Array for comparisons,
// of the broadcast shape's size.
Napi::Value Binary(const Napi::CallbackInfo& info) {
  const int op = op_arg(info, static_cast<int>(BinaryOp::Count), "binary");
  const char* k = kBinaryNames[op];
  const BinaryOp bop = static_cast<BinaryOp>(op);
  F32 a = f32_arg(info, 1, k, "a"), b = f32_arg(info, 2, k, "b");
  auto as = ints_arg(info, 4, k, "aShape"), bs = ints_arg(info, 5, k, "bShape");
  check_shape(info.Env(), k, "a", as, a.length);
  check_shape(info.Env(), k, "b", bs, b.length);
  if (as.size() > kMaxBroadcastRank || bs.size() > kMaxBroadcastRank) {
    throw kernel_error(info.Env(), k, "rank above " + std::to_string(kMaxBroadcastRank) + ": a " + shape_str(as) +
                                          " b " + shape_str(bs));
  }
  BroadcastGeometry g;
  int64_t out_shape[kMaxBroadcastRank];
  int out_rank = 0;
  if (!make_broadcast_geometry(as.data(), static_cast<int>(as.size()), bs.data(), static_cast<int>(bs.size()), &g,
                               out_shape, &out_rank)) {
    throw kernel_error(info.Env(), k, "shapes " + shape_str(as) + " and " + shape_str(bs) + " do not broadcast");
  }
  if (binary_op_is_comparison(bop)) {
    size_t n = 0;
    uint8_t* out = u8_arg(info, 3, k, "out", &n);
    expect_length(info.Env(), k, "out", n, static_cast<size_t>(g.size));
    compare_f32(bop, a.data, b.data, out, g);
  } else {
    F32 out = f32_arg(info, 3, k, "out");
    expect_length(info.Env(), k, "out", out.length, static_cast<size_t>(g.size));
    binary_f32(bop, a.data, b.data, out.data, g);
  }
  return info.Env().Undefined();
}

// unary(op, x, out, alpha, beta)
Napi::Value Unary(const Napi::CallbackInfo& info) {
  const int op = op_arg(info, static_cast<int>(UnaryOp::Count), "unary");
  const char* k = kUnaryNames[op];
  F32 x = f32_arg(info, 1, k, "x"), out = f32_arg(info, 2, k, "out");
  const double alpha = info.Length() > 3 && !info[3].IsUndefined() ? num_arg(info, 3, k, "alpha") : 0.0;
  const double beta = info.Length() > 4 && !info[4].IsUndefined() ? num_arg(info, 4, k, "beta") : 0.0;
  expect_length(info.Env(), k, "out", out.length, x.length);
  unary_f32(static_cast<UnaryOp>(op), x.data, out.data, static_cast<int64_t>(x.length), static_cast<float>(alpha),
            static_cast<float>(beta));
  return info.Env().Undefined();
}

// select(condition: Uint8Array, t, e, out), all of one length.
Napi::Value Select(const Napi::CallbackInfo& info) {
  const char* k = "Select";
  size_t nc = 0;
  uint8_t* cond = u8_arg(info, 0, k, "condition", &nc);
  F32 t = f32_arg(info, 1, k, "t"), e = f32_arg(info, 2, k, "e"), out = f32_arg(info, 3, k, "out");
  expect_length(info.Env(), k, "t", t.length, nc);
  expect_length(info.Env(), k, "e", e.length, nc);
  expect_length(info.Env(), k, "out", out.length, nc);
  select_f32(cond, t.data, e.data, out.data, static_cast<int64_t>(nc));
  return info.Env().Undefined();
}

// addN(xs: Float32Array[], out), all of one length.
Napi::Value AddN(const Napi::CallbackInfo& info) {
  const char* k = "AddN";
  if (info.Length() < 2 || !info[0].IsArray()) throw kernel_error(info.Env(), k, "inputs must be an array");
  F32 out = f32_arg(info, 1, k, "out");
  auto arr = info[0].As<Napi::Array>();
  std::vector<const float*> xs(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    Napi::Value v = arr.Get(i);
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
      throw kernel_error(info.Env(), k, "input " + std::to_string(i) + " must be a Float32Array");
    }
    auto f = v.As<Napi::Float32Array>();
    if (f.ElementLength() != out.length) {
      throw kernel_error(info.Env(), k, "input " + std::to_string(i) + " has " + std::to_string(f.ElementLength()) +
                                            " elements, expected " + std::to_string(out.length));
    }
    xs[i] = f.Data();
  }
  add_n_f32(xs.data(), static_cast<int>(xs.size()), out.data, static_cast<int64_t>(out.length));
  return info.Env().Undefined();
}

// batchNorm(x, mean, variance, offset | null, scale | null, out, varianceEpsilon)
Napi::Value BatchNorm(const Napi::CallbackInfo& info) {
  const char* k = "FusedBatchNorm";
  F32 x = f32_arg(info, 0, k, "x"), mean = f32_arg(info, 1, k, "mean"), var = f32_arg(info, 2, k, "variance");
  F32 offset{nullptr, 0}, scale{nullptr, 0};
  if (info.Length() > 3 && !info[3].IsNull() && !info[3].IsUndefined()) offset = f32_arg(info, 3, k, "offset");
  if (info.Length() > 4 && !info[4].IsNull() && !info[4].IsUndefined()) scale = f32_arg(info, 4, k, "scale");
  F32 out = f32_arg(info, 5, k, "out");
  const double eps = num_arg(info, 6, k, "varianceEpsilon");
  expect_length(info.Env(), k, "out", out.length, x.length);
  if (mean.length == 0 || var.length == 0 || (offset.data && offset.length == 0) || (scale.data && scale.length == 0)) {
    if (x.length > 0) throw kernel_error(info.Env(), k, "mean, variance, offset and scale must not be empty");
  }
  if (x.length == 0) return info.Env().Undefined();
  BatchNormGeometry g{static_cast<int64_t>(x.length), static_cast<int64_t>(mean.length),
                      static_cast<int64_t>(var.length), static_cast<int64_t>(offset.length),
                      static_cast<int64_t>(scale.length), static_cast<float>(eps)};
  batch_norm_f32(x.data, mean.data, var.data, offset.data, scale.data, out.data, g);
  return info.Env().Undefined();
}

// cast(x, out): between Float32Array, Int32Array and Uint8Array (bool) of one length.
Napi::Value Cast(const Napi::CallbackInfo& info) {
  const char* k = "Cast";
  if (info.Length() < 2 || !info[0].IsTypedArray() || !info[1].IsTypedArray()) {
    throw kernel_error(info.Env(), k, "x and out must be typed arrays");
  }
  auto x = info[0].As<Napi::TypedArray>(), out = info[1].As<Napi::TypedArray>();
  expect_length(info.Env(), k, "out", out.ElementLength(), x.ElementLength());
  const int64_t n = static_cast<int64_t>(x.ElementLength());
  auto ptr = [](Napi::TypedArray a) { return static_cast<uint8_t*>(a.ArrayBuffer().Data()) + a.ByteOffset(); };
  const napi_typedarray_type from = x.TypedArrayType(), to = out.TypedArrayType();
  uint8_t *xs = ptr(x), *os = ptr(out);
  if (from == napi_float32_array && to == napi_int32_array) {
    cast_f32_i32(reinterpret_cast<float*>(xs), reinterpret_cast<int32_t*>(os), n);
  } else if (from == napi_float32_array && to == napi_uint8_array) {
    cast_f32_u8(reinterpret_cast<float*>(xs), os, n);
  } else if (from == napi_int32_array && to == napi_float32_array) {
    cast_i32_f32(reinterpret_cast<int32_t*>(xs), reinterpret_cast<float*>(os), n);
  } else if (from == napi_int32_array && to == napi_uint8_array) {
    cast_i32_u8(reinterpret_cast<int32_t*>(xs), os, n);
  } else if (from == napi_uint8_array && to == napi_float32_array) {
    cast_u8_f32(xs, reinterpret_cast<float*>(os), n);
  } else if (from == napi_uint8_array && to == napi_int32_array) {
    cast_u8_i32(xs, reinterpret_cast<int32_t*>(os), n);
  } else {
    throw kernel_error(info.Env(), k, "unsupported cast between these typed arrays");
  }
  return info.Env().Undefined();
}

Napi::Object name_table(Napi::Env env, const char* const* names, size_t count) {
  Napi::Object o = Napi::Object::New(env);
  for (size_t i = 0; i < count; ++i) o.Set(names[i], Napi::Number::New(env, static_cast<double>(i)));
  return o;
}

}  // namespace

void InitElementwise(Napi::Env env, Napi::Object exports) {
#if defined(__GLIBC__)
  // Opt-in only (HAFIF_MALLOC_TUNE=1), since mallopt changes malloc for the whole host process:
  // large blocks from the heap instead of fresh mmap()s, and freed memory kept mapped, so a kernel
  // output reuses warm pages instead of page-faulting on first write. The buffer pool (see
  // src/backend/buffer_pool.ts) already reuses most outputs; README "Environment" has the measured
  // effect of this setting on top of it.
  if (const char* env = std::getenv("HAFIF_MALLOC_TUNE"); env != nullptr && std::string(env) == "1") {
    mallopt(M_MMAP_THRESHOLD, 256 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
  }
#endif
  exports.Set("binary", Napi::Function::New(env, Binary, "binary"));
  exports.Set("unary", Napi::Function::New(env, Unary, "unary"));
  exports.Set("select", Napi::Function::New(env, Select, "select"));
  exports.Set("addN", Napi::Function::New(env, AddN, "addN"));
  exports.Set("batchNorm", Napi::Function::New(env, BatchNorm, "batchNorm"));
  exports.Set("cast", Napi::Function::New(env, Cast, "cast"));
  exports.Set("binaryOps", name_table(env, kBinaryNames, static_cast<size_t>(BinaryOp::Count)));
  exports.Set("unaryOps", name_table(env, kUnaryNames, static_cast<size_t>(UnaryOp::Count)));
}

}  // namespace hafif
