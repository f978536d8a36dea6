// Argument validation shared by the bind_*.cc files. Every check throws a JS Error that names
// the kernel, so bad input never crashes the process.
#pragma once
#include <napi.h>

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

inline int64_t int_arg(const Napi::CallbackInfo& info, size_t i, const char* kernel, const char* name) {
  if (info.Length() <= i || !info[i].IsNumber()) {
    throw kernel_error(info.Env(), kernel, std::string(name) + " must be a number");
  }
  return info[i].As<Napi::Number>().Int64Value();
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
    out[k] = v.As<Napi::Number>().Int64Value();
  }
  return out;
}

inline std::string shape_str(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? "," : "") + std::to_string(s[i]);
  return r + "]";
}

inline void expect_length(Napi::Env env, const char* kernel, const char* name, size_t got, size_t want) {
  if (got != want) {
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
