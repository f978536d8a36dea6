// N-API bindings for the optimizer updates: validate, then call the pure kernels in optim.cc.
#include <string>

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

}  // namespace

void InitOptim(Napi::Env env, Napi::Object exports) {
  exports.Set("adamUpdate", Napi::Function::New(env, AdamUpdate, "adamUpdate"));
}

}  // namespace hafif
