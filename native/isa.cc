// Which ISA's kernels run (see isa.h).
#include "isa.h"

#include <cstdlib>
#include <cstring>

namespace hafif {
namespace {

bool supported(Isa isa) {
#if HAFIF_MULTI_ISA
  __builtin_cpu_init();
  switch (isa) {
    case Isa::Avx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
             __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Isa::Avx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    default:
      return true;
  }
#else
  return isa == Isa::Baseline;
#endif
}

const char* g_note = "";

Isa pick() {
  const Isa best = supported(Isa::Avx512) ? Isa::Avx512 : supported(Isa::Avx2) ? Isa::Avx2 : Isa::Baseline;
  const char* env = std::getenv("HAFIF_ISA");
  if (env == nullptr || *env == '\0') return best;
  Isa want;
  if (std::strcmp(env, "baseline") == 0) want = Isa::Baseline;
  else if (std::strcmp(env, "avx2") == 0) want = Isa::Avx2;
  else if (std::strcmp(env, "avx512") == 0) want = Isa::Avx512;
  else {
    g_note = "HAFIF_ISA must be baseline, avx2 or avx512";
    return best;
  }
  if (!supported(want)) {
    g_note = "HAFIF_ISA asks for an ISA this CPU or build does not have";
    return best;
  }
  return want;
}

}  // namespace

Isa active_isa() {
  static const Isa isa = pick();
  return isa;
}

const char* isa_name(Isa isa) {
#if defined(HAFIF_MARCH_NATIVE)
  return "native";
#else
  switch (isa) {
    case Isa::Avx512: return "avx512";
    case Isa::Avx2: return "avx2";
    default: return "baseline";
  }
#endif
}

const char* isa_note() {
  active_isa();
  return g_note;
}

}  // namespace hafif
