// N-API bindings for the optimizer updates: validate, then call the pure kernels in optim.cc.
#include <algorithm>
#include <string>
#include <vector>

#include "kernels.h"
#include "napi_util.h"

namespace hafif {
namespace {

// adamUpdate(g, m, v, w, wOut, beta1, beta2, stepSize, invSqrtBc2, epsilon)
Napi::Value AdamUpdate(const Napi::CallbackInfo& info) {
  const char* k = "adamUpdate";
  F32 g = f32_arg(info, 0, k, "g"), m = f32_arg(info, 1, k, "m"), v = f32_arg(info, 2, k, "v");
  F32 w = f32_arg(info, 3, k, "w"), out = f32_arg(info, 4, k, "wOut");
  AdamStep s;
  s.beta1 = static_cast<float>(num_arg(info, 5, k, "beta1"));
  s.beta2 = static_cast<float>(num_arg(info, 6, k, "beta2"));
  s.step_size = static_cast<float>(num_arg(info, 7, k, "stepSize"));
  s.inv_sqrt_bc2 = static_cast<float>(num_arg(info, 8, k, "invSqrtBc2"));
  s.epsilon = static_cast<float>(num_arg(info, 9, k, "epsilon"));
  expect_length(info.Env(), k, "g", g.length, w.length);
  expect_length(info.Env(), k, "m", m.length, w.length);
  expect_length(info.Env(), k, "v", v.length, w.length);
  expect_length(info.Env(), k, "wOut", out.length, w.length);
  // m, v and wOut are written: none may overlap another operand (g and w, both only read, may).
  const F32 all[] = {m, v, out, g, w};
  const char* names[] = {"m", "v", "wOut", "g", "w"};
  for (int a = 0; a < 3; ++a) {
    for (int b = a + 1; b < 5; ++b) {
      const float *a0 = all[a].data, *a1 = a0 + all[a].length, *b0 = all[b].data, *b1 = b0 + all[b].length;
      if (all[a].length > 0 && a0 < b1 && b0 < a1) {
        throw kernel_error(info.Env(), k, std::string(names[a]) + " and " + names[b] + " share memory");
      }
    }
  }
  adam_update(s, g.data, m.data, v.data, w.data, out.data, static_cast<int64_t>(w.length));
  return info.Env().Undefined();
}

// adamUpdateMany(beta1, beta2, stepSize, invSqrtBc2, epsilon, g0, m0, v0, w0, wOut0, g1, ...):
// adamUpdate on each variable, in one call; five Float32Arrays per variable as further arguments
// (arguments, not one array: reading an array's elements through N-API costs more than the update
// of a small variable).
Napi::Value AdamUpdateMany(const Napi::CallbackInfo& info) {
  const char* k = "adamUpdateMany";
  AdamStep s;
  s.beta1 = static_cast<float>(num_arg(info, 0, k, "beta1"));
  s.beta2 = static_cast<float>(num_arg(info, 1, k, "beta2"));
  s.step_size = static_cast<float>(num_arg(info, 2, k, "stepSize"));
  s.inv_sqrt_bc2 = static_cast<float>(num_arg(info, 3, k, "invSqrtBc2"));
  s.epsilon = static_cast<float>(num_arg(info, 4, k, "epsilon"));
  constexpr size_t kFirst = 5;
  const size_t arrays = info.Length() - kFirst;
  if (arrays % 5 != 0) {
    throw kernel_error(info.Env(), k, "needs 5 arrays (g, m, v, w, wOut) per variable, got " + std::to_string(arrays));
  }
  const char* names[] = {"g", "m", "v", "w", "wOut"};
  std::vector<F32> all(arrays);
  for (size_t i = 0; i < arrays; ++i) {
    const Napi::Value v = info[kFirst + i];
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
      throw kernel_error(info.Env(), k, "slot " + std::to_string(i / 5) + " " + names[i % 5] + " must be a Float32Array");
    }
    auto a = v.As<Napi::Float32Array>();
    all[i] = F32{a.Data(), a.ElementLength()};
  }
  const size_t count = all.size() / 5;
  std::vector<AdamSlot> slots(count);
  for (size_t j = 0; j < count; ++j) {
    const F32* x = &all[j * 5];
    for (int a = 0; a < 5; ++a) {
      if (x[a].length != x[3].length) {
        expect_length(info.Env(), k, ("slot " + std::to_string(j) + " " + names[a]).c_str(), x[a].length, x[3].length);
      }
    }
    slots[j] = AdamSlot{x[0].data, x[1].data, x[2].data, x[3].data, x[4].data, static_cast<int64_t>(x[3].length)};
  }
  // Written arrays (m, v, wOut of any variable) may overlap no other array; read-only ones (g, w)
  // may overlap each other. A sweep by start address: an earlier array overlaps this one iff it
  // ends after this one starts, so the largest end so far (of all, of written ones) decides.
  const auto written = [](size_t i) { return i % 5 == 1 || i % 5 == 2 || i % 5 == 4; };
  std::vector<size_t> order;
  order.reserve(all.size());
  for (size_t i = 0; i < all.size(); ++i) if (all[i].length > 0) order.push_back(i);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return all[a].data < all[b].data; });
  const float* end_all = nullptr;
  const float* end_written = nullptr;
  size_t arg_all = 0, arg_written = 0;
  for (size_t i : order) {
    const float* start = all[i].data;
    const bool w = written(i);
    const bool hit = w ? end_all != nullptr && end_all > start : end_written != nullptr && end_written > start;
    if (hit) {
      const size_t other = w ? arg_all : arg_written;
      throw kernel_error(info.Env(), k, "slot " + std::to_string(std::min(i, other) / 5) + " " + names[std::min(i, other) % 5] +
                                            " and slot " + std::to_string(std::max(i, other) / 5) + " " + names[std::max(i, other) % 5] +
                                            " share memory");
    }
    const float* end = start + all[i].length;
    if (end_all == nullptr || end > end_all) end_all = end, arg_all = i;
    if (w && (end_written == nullptr || end > end_written)) end_written = end, arg_written = i;
  }
  adam_update_many(s, slots.data(), static_cast<int64_t>(count));
  return info.Env().Undefined();
}

}  // namespace

void InitOptim(Napi::Env env, Napi::Object exports) {
  exports.Set("adamUpdate", Napi::Function::New(env, AdamUpdate, "adamUpdate"));
  exports.Set("adamUpdateMany", Napi::Function::New(env, AdamUpdateMany, "adamUpdateMany"));
}

}  // namespace hafif
