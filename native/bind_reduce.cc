// N-API bindings for the reduce and data-movement kernels: validate, then call the pure kernels.
#include <string>
#include <vector>

#include "kernels.h"
#include "napi_util.h"

namespace hafif {
namespace {

// dims = [outer, reduce, inner]
void reduce_dims(const Napi::CallbackInfo& info, size_t i, const char* k, int64_t* outer, int64_t* R, int64_t* inner) {
  auto d = ints_arg(info, i, k, "dims");
  if (d.size() != 3 || d[0] < 0 || d[1] < 0 || d[2] < 0) {
    throw kernel_error(info.Env(), k, "dims must be [outer, reduce, inner] >= 0, got " + shape_str(d));
  }
  *outer = d[0];
  *R = d[1];
  *inner = d[2];
}

// sum / mean / prod / max / min (x, out, [outer, reduce, inner])
template <ReduceOp Op>
Napi::Value Reduce(const Napi::CallbackInfo& info) {
  static const char* names[] = {"Sum", "Mean", "Prod", "Max", "Min"};
  const char* k = names[static_cast<int>(Op)];
  F32 x = f32_arg(info, 0, k, "x"), out = f32_arg(info, 1, k, "out");
  int64_t outer, R, inner;
  reduce_dims(info, 2, k, &outer, &R, &inner);
  expect_length(info.Env(), k, "x", x.length, checked_numel(info.Env(), k, "dims", {outer, R, inner}));
  expect_length(info.Env(), k, "out", out.length, checked_numel(info.Env(), k, "dims", {outer, inner}));
  reduce(Op, x.data, out.data, outer, R, inner);
  return info.Env().Undefined();
}

// argMax / argMin (x, out: Int32Array, [outer, reduce, inner])
template <bool IsMax>
Napi::Value ArgReduce(const Napi::CallbackInfo& info) {
  const char* k = IsMax ? "ArgMax" : "ArgMin";
  F32 x = f32_arg(info, 0, k, "x");
  size_t outLen;
  int32_t* out = i32_arg(info, 1, k, "out", &outLen);
  int64_t outer, R, inner;
  reduce_dims(info, 2, k, &outer, &R, &inner);
  if (R < 1) throw kernel_error(info.Env(), k, "cannot reduce an empty axis");
  expect_length(info.Env(), k, "x", x.length, checked_numel(info.Env(), k, "dims", {outer, R, inner}));
  expect_length(info.Env(), k, "out", outLen, checked_numel(info.Env(), k, "dims", {outer, inner}));
  arg_reduce(IsMax, x.data, out, outer, R, inner);
  return info.Env().Undefined();
}

// softmax(x, out, [rows, cols])
Napi::Value Softmax(const Napi::CallbackInfo& info) {
  const char* k = "Softmax";
  F32 x = f32_arg(info, 0, k, "x"), out = f32_arg(info, 1, k, "out");
  auto d = ints_arg(info, 2, k, "dims");
  if (d.size() != 2 || d[0] < 0 || d[1] < 0) throw kernel_error(info.Env(), k, "dims must be [rows, cols], got " + shape_str(d));
  expect_length(info.Env(), k, "x", x.length, checked_numel(info.Env(), k, "dims", d));
  expect_length(info.Env(), k, "out", out.length, d[0] * d[1]);
  softmax(x.data, out.data, d[0], d[1]);
  return info.Env().Undefined();
}

// shape_arg and the slice/pad bounds keep every shape used below checked: its product fits int64.
int64_t product(const std::vector<int64_t>& v) {
  int64_t p = 1;
  for (int64_t d : v) p *= d;
  return p;
}

std::vector<int64_t> row_major_strides(const std::vector<int64_t>& shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (int k = static_cast<int>(shape.size()) - 2; k >= 0; --k) s[k] = s[k + 1] * shape[k + 1];
  return s;
}

std::vector<int64_t> shape_arg(const Napi::CallbackInfo& info, size_t i, const char* k) {
  auto s = ints_arg(info, i, k, "shape");
  if (s.size() > kMaxCopyRank) {
    throw kernel_error(info.Env(), k, "rank " + std::to_string(s.size()) + " > " + std::to_string(kMaxCopyRank) + " for shape " + shape_str(s));
  }
  for (int64_t d : s)
    if (d < 0) throw kernel_error(info.Env(), k, "bad shape " + shape_str(s));
  checked_numel(info.Env(), k, "shape", s);
  return s;
}

// transpose(x, out, shape, perm): out shape[k] = shape[perm[k]].
Napi::Value Transpose(const Napi::CallbackInfo& info) {
  const char* k = "Transpose";
  F32 x = f32_arg(info, 0, k, "x"), out = f32_arg(info, 1, k, "out");
  auto shape = shape_arg(info, 2, k);
  auto perm = ints_arg(info, 3, k, "perm");
  const int rank = static_cast<int>(shape.size());
  std::vector<bool> seen(rank, false);
  bool ok = static_cast<int>(perm.size()) == rank;
  for (int64_t p : perm) {
    if (!ok || p < 0 || p >= rank || seen[p]) ok = false;
    else seen[p] = true;
  }
  if (!ok) throw kernel_error(info.Env(), k, "perm " + shape_str(perm) + " is not a permutation for shape " + shape_str(shape));
  expect_length(info.Env(), k, "x", x.length, product(shape));
  expect_length(info.Env(), k, "out", out.length, product(shape));
  const auto xs = row_major_strides(shape);
  std::vector<int64_t> outShape(rank);
  for (int d = 0; d < rank; ++d) outShape[d] = shape[perm[d]];
  const auto os = row_major_strides(outShape);
  StridedCopy c{};
  c.rank = rank;
  for (int d = 0; d < rank; ++d) {
    c.shape[d] = outShape[d];
    c.src_stride[d] = xs[perm[d]];
    c.dst_stride[d] = os[d];
  }
  strided_copy(c, x.data, out.data);
  return info.Env().Undefined();
}

// slice(x, out, shape, begin, size)
Napi::Value Slice(const Napi::CallbackInfo& info) {
  const char* k = "Slice";
  F32 x = f32_arg(info, 0, k, "x"), out = f32_arg(info, 1, k, "out");
  auto shape = shape_arg(info, 2, k);
  auto begin = ints_arg(info, 3, k, "begin"), size = ints_arg(info, 4, k, "size");
  const int rank = static_cast<int>(shape.size());
  bool ok = static_cast<int>(begin.size()) == rank && static_cast<int>(size.size()) == rank;
  for (int d = 0; ok && d < rank; ++d) ok = begin[d] >= 0 && size[d] >= 0 && size[d] <= shape[d] - begin[d];
  if (!ok) {
    throw kernel_error(info.Env(), k, "begin " + shape_str(begin) + " size " + shape_str(size) + " out of bounds for shape " + shape_str(shape));
  }
  expect_length(info.Env(), k, "x", x.length, product(shape));
  expect_length(info.Env(), k, "out", out.length, product(size));
  if (product(size) == 0) return info.Env().Undefined();
  const auto xs = row_major_strides(shape), os = row_major_strides(size);
  StridedCopy c{};
  c.rank = rank;
  int64_t offset = 0;
  for (int d = 0; d < rank; ++d) {
    c.shape[d] = size[d];
    c.src_stride[d] = xs[d];
    c.dst_stride[d] = os[d];
    offset += begin[d] * xs[d];
  }
  strided_copy(c, x.data + offset, out.data);
  return info.Env().Undefined();
}

// padV2(x, out, shape, paddings = [before0, after0, before1, ...], constantValue)
Napi::Value PadV2(const Napi::CallbackInfo& info) {
  const char* k = "PadV2";
  F32 x = f32_arg(info, 0, k, "x"), out = f32_arg(info, 1, k, "out");
  auto shape = shape_arg(info, 2, k);
  auto pads = ints_arg(info, 3, k, "paddings");
  const float value = static_cast<float>(num_arg(info, 4, k, "constantValue"));
  const int rank = static_cast<int>(shape.size());
  bool ok = static_cast<int>(pads.size()) == 2 * rank;
  for (int64_t p : pads) ok = ok && p >= 0;
  if (!ok) throw kernel_error(info.Env(), k, "paddings " + shape_str(pads) + " do not fit shape " + shape_str(shape));
  std::vector<int64_t> outShape(rank);
  for (int d = 0; d < rank; ++d) {
    outShape[d] = checked_add(info.Env(), k, checked_add(info.Env(), k, pads[2 * d], shape[d]), pads[2 * d + 1]);
  }
  checked_numel(info.Env(), k, "padded shape", outShape);
  expect_length(info.Env(), k, "x", x.length, product(shape));
  expect_length(info.Env(), k, "out", out.length, product(outShape));
  std::fill(out.data, out.data + out.length, value);
  if (product(shape) == 0) return info.Env().Undefined();
  const auto xs = row_major_strides(shape), os = row_major_strides(outShape);
  StridedCopy c{};
  c.rank = rank;
  int64_t offset = 0;
  for (int d = 0; d < rank; ++d) {
    c.shape[d] = shape[d];
    c.src_stride[d] = xs[d];
    c.dst_stride[d] = os[d];
    offset += pads[2 * d] * os[d];
  }
  strided_copy(c, x.data, out.data + offset);
  return info.Env().Undefined();
}

// concat(inputs: Float32Array[], out, outer, cols): the 2-D concat along axis 1.
Napi::Value Concat(const Napi::CallbackInfo& info) {
  const char* k = "Concat";
  if (info.Length() < 1 || !info[0].IsArray()) throw kernel_error(info.Env(), k, "inputs must be an array of Float32Arrays");
  auto arr = info[0].As<Napi::Array>();
  F32 out = f32_arg(info, 1, k, "out");
  const int64_t outer = int_arg(info, 2, k, "outer");
  auto cols = ints_arg(info, 3, k, "cols");
  if (outer < 0 || cols.size() != arr.Length()) {
    throw kernel_error(info.Env(), k, "cols " + shape_str(cols) + " must have one entry per input (" + std::to_string(arr.Length()) + "), outer " + std::to_string(outer));
  }
  std::vector<const float*> ptrs(arr.Length());
  int64_t total = 0;
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    Napi::Value v = arr.Get(i);
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
      throw kernel_error(info.Env(), k, "input " + std::to_string(i) + " must be a Float32Array");
    }
    auto a = v.As<Napi::Float32Array>();
    if (cols[i] < 0 || static_cast<int64_t>(a.ElementLength()) != checked_mul(info.Env(), k, outer, cols[i])) {
      throw kernel_error(info.Env(), k, "input " + std::to_string(i) + " has " + std::to_string(a.ElementLength()) + " elements, expected [" + std::to_string(outer) + "," + std::to_string(cols[i]) + "]");
    }
    ptrs[i] = a.Data();
    total = checked_add(info.Env(), k, total, cols[i]);
  }
  expect_length(info.Env(), k, "out", out.length, checked_mul(info.Env(), k, outer, total));
  concat2d(ptrs.data(), cols.data(), static_cast<int64_t>(ptrs.size()), out.data, outer);
  return info.Env().Undefined();
}

}  // namespace

void InitReduce(Napi::Env env, Napi::Object exports) {
  exports.Set("sum", Napi::Function::New(env, Reduce<ReduceOp::Sum>, "sum"));
  exports.Set("mean", Napi::Function::New(env, Reduce<ReduceOp::Mean>, "mean"));
  exports.Set("prod", Napi::Function::New(env, Reduce<ReduceOp::Prod>, "prod"));
  exports.Set("max", Napi::Function::New(env, Reduce<ReduceOp::Max>, "max"));
  exports.Set("min", Napi::Function::New(env, Reduce<ReduceOp::Min>, "min"));
  exports.Set("argMax", Napi::Function::New(env, ArgReduce<true>, "argMax"));
  exports.Set("argMin", Napi::Function::New(env, ArgReduce<false>, "argMin"));
  exports.Set("softmax", Napi::Function::New(env, Softmax, "softmax"));
  exports.Set("transpose", Napi::Function::New(env, Transpose, "transpose"));
  exports.Set("slice", Napi::Function::New(env, Slice, "slice"));
  exports.Set("padV2", Napi::Function::New(env, PadV2, "padV2"));
  exports.Set("concat", Napi::Function::New(env, Concat, "concat"));
}

}  // namespace hafif
