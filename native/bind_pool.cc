// N-API bindings for the pool kernels: validate, then call the pure kernels.
#include "kernels.h"
#include "napi_util.h"

namespace hafif {

void InitPool(Napi::Env env, Napi::Object exports) {
  (void)env;
  (void)exports;
}

}  // namespace hafif
