// Argument validation shared by the bind_*.cc files. Every check throws a JS Error that names
// the kernel, so bad input never crashes the process.
#pragma once
#include <napi.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels.h"

namespace hafif {

struct F32 {
  float* data;
  size_t length;
};

inline Napi::Error kernel_error(Napi::Env env, const std::string& kernel, const std::string& msg) {
  return Napi::Error::New(env, kernel + ": " + msg);
}

inline F32 f32_arg(const Napi::CallbackInfo& info, size_t i, const char* kernel, const char* name) {
  if (info.Length() <= i || !info[i].IsTypedArray() ||
      info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw kernel_error(info.Env(), kernel, std::string(name) + " must be a Float32Array");
  }
  auto a = info[i].As<Napi::Float32Array>();
  return F32{a.Data(), a.ElementLength()};
}

inline int32_t* i32_arg(const Napi::CallbackInfo& info, size_t i, const char* kernel, const char* name,
                        size_t* length) {
  if (info.Length() <= i || !info[i].IsTypedArray() ||
      info[i].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    throw kernel_error(info.Env(), kernel, std::string(name) + " must be an Int32Array");
  }
  auto a = info[i].As<Napi::Int32Array>();
  *length = a.ElementLength();
  return a.Data();
}

// Largest magnitude an integer argument may have: every size product is then checked below
// int64's range, and a double holds it exactly.
constexpr int64_t kMaxIntArg = int64_t{1} << 53;

inline std::string num_str(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  std::string s = std::to_string(d);
  while (s.size() > 1 && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

// An integral double within +-2^53, else a JS error naming the kernel and the value (NaN, 1.5, Infinity).
inline int64_t checked_int(Napi::Env env, const char* kernel, const std::string& what, double d) {
  if (!std::isfinite(d) || d != std::trunc(d) || std::fabs(d) > static_cast<double>(kMaxIntArg)) {
    throw kernel_error(env, kernel, what + " must be an integer, got " + num_str(d));
  }
  return static_cast<int64_t>(d);
}

inline int64_t int_arg(const Napi::CallbackInfo& info, size_t i, const char* kernel, const char* name) {
  if (info.Length() <= i || !info[i].IsNumber()) {
    throw kernel_error(info.Env(), kernel, std::string(name) + " must be a number");
  }
  return checked_int(info.Env(), kernel, name, info[i].As<Napi::Number>().DoubleValue());
}

// a * b, or a JS error naming the kernel when it overflows int64.
inline int64_t checked_mul(Napi::Env env, const char* kernel, int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) {
    throw kernel_error(env, kernel, "size " + std::to_string(a) + " x " + std::to_string(b) + " overflows");
  }
  return r;
}

inline int64_t checked_add(Napi::Env env, const char* kernel, int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) {
    throw kernel_error(env, kernel, "size " + std::to_string(a) + " + " + std::to_string(b) + " overflows");
  }
  return r;
}

inline double num_arg(const Napi::CallbackInfo& info, size_t i, const char* kernel, const char* name) {
  if (info.Length() <= i || !info[i].IsNumber()) {
    throw kernel_error(info.Env(), kernel, std::string(name) + " must be a number");
  }
  return info[i].As<Napi::Number>().DoubleValue();
}

// Reads an array of integers (shape, strides, ...) from a JS array.
inline std::vector<int64_t> ints_arg(const Napi::CallbackInfo& info, size_t i, const char* kernel,
                                     const char* name) {
  if (info.Length() <= i || !info[i].IsArray()) {
    throw kernel_error(info.Env(), kernel, std::string(name) + " must be an array of integers");
  }
  auto arr = info[i].As<Napi::Array>();
  std::vector<int64_t> out(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); ++k) {
    Napi::Value v = arr.Get(k);
    if (!v.IsNumber()) throw kernel_error(info.Env(), kernel, std::string(name) + " must be an array of integers");
    out[k] = checked_int(info.Env(), kernel, std::string(name) + "[" + std::to_string(k) + "]",
                         v.As<Napi::Number>().DoubleValue());
  }
  return out;
}

inline std::string shape_str(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? "," : "") + std::to_string(s[i]);
  return r + "]";
}

// With every buffer non-empty, every dim is at least 1 and at most its buffer's length, so a
// kernel's loops are bounded by the buffers. An empty operand is handled here instead: it would
// otherwise let a huge dim (batch 2^31 with 0 channels) spin the kernel over nothing.
inline bool empty_output(float* out, size_t out_len, bool input_empty) {
  if (out_len == 0) return true;
  if (!input_empty) return false;
  std::fill(out, out + out_len, 0.f);
  return true;
}

// Geometry entries (sizes, strides, pads) of the conv-like kernels stay within +-2^31, so the
// kernels' index arithmetic (out * stride + filter * dilation) cannot overflow int64.
inline void expect_geom_range(Napi::Env env, const char* kernel, const std::vector<int64_t>& v) {
  for (int64_t d : v) {
    if (d > INT32_MAX || d < -INT32_MAX) throw kernel_error(env, kernel, "geom entry out of range in " + shape_str(v));
  }
}

// The element count of a shape, or a JS error naming the kernel when a dim is negative or the
// product overflows (so a wrapped product can never match a buffer's length).
inline int64_t checked_numel(Napi::Env env, const char* kernel, const char* name, const std::vector<int64_t>& s) {
  int64_t n = 1;
  for (int64_t d : s) {
    if (d < 0) throw kernel_error(env, kernel, std::string(name) + " has a negative dim: " + shape_str(s));
    if (__builtin_mul_overflow(n, d, &n)) {
      throw kernel_error(env, kernel, std::string(name) + " " + shape_str(s) + " has too many elements");
    }
  }
  return n;
}

inline void expect_length(Napi::Env env, const char* kernel, const char* name, size_t got, int64_t want) {
  if (want < 0 || static_cast<int64_t>(got) != want) {
    throw kernel_error(env, kernel,
                       std::string(name) + " has " + std::to_string(got) + " elements, expected " + std::to_string(want));
  }
}

// The fused activation named by argument i (undefined means linear), for Conv2D and _FusedMatMul.
inline ConvActivation activation_arg(const Napi::CallbackInfo& info, size_t i, const char* kernel) {
  if (info.Length() <= i || info[i].IsUndefined()) return ConvActivation::Linear;
  if (!info[i].IsString()) throw kernel_error(info.Env(), kernel, "activation must be a string");
  const std::string s = info[i].As<Napi::String>();
  if (s == "linear") return ConvActivation::Linear;
  if (s == "relu") return ConvActivation::Relu;
  if (s == "relu6") return ConvActivation::Relu6;
  if (s == "elu") return ConvActivation::Elu;
  if (s == "sigmoid") return ConvActivation::Sigmoid;
  if (s == "leakyrelu") return ConvActivation::LeakyRelu;
  throw kernel_error(info.Env(), kernel,
                     "activation must be one of linear, relu, relu6, elu, sigmoid, leakyrelu, got " + s);
}

}  // namespace hafif
