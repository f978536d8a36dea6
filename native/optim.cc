// Optimizer updates (optim.inc, compiled per ISA): each call goes to the copy isa.cc picked.
#include "isa.h"
#include "kernels.h"

namespace hafif {

void adam_update(const AdamStep& s, const float* g, float* m, float* v, const float* w, float* w_out, int64_t n) {
  HAFIF_DISPATCH(adam_update, s, g, m, v, w, w_out, n);
}

void adam_update_many(const AdamStep& s, const AdamSlot* slots, int64_t count) {
  HAFIF_DISPATCH(adam_update_many, s, slots, count);
}

}  // namespace hafif
