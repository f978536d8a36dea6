// NHWC 2-D max and average pooling, forward and backward, matching tfjs-backend-cpu bit for bit
// where it matters: the same first-strict-maximum tie rule, and the gradients summed in float64
// in the cpu kernel's order. Channels are innermost, so every inner loop runs over contiguous
// channels and vectorizes; rows of the output (or of dx) are split across threads.
#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels.h"
#include "parallel.h"

namespace hafif {
namespace {

// The in-bounds part [lo, hi) of the window of output index o along one axis; corner is where
// the (possibly padded) window starts.
struct Span {
  int64_t corner, lo, hi;
};

inline Span window(int64_t o, int64_t stride, int64_t pad, int64_t filter, int64_t in) {
  const int64_t corner = o * stride - pad;
  return Span{corner, std::max<int64_t>(0, corner), std::min<int64_t>(in, corner + filter)};
}

// Items per thread chunk so that a chunk holds at least ~128k inner iterations (tens of us):
// smaller chunks lose more to a late or preempted worker than a second core gives back.
inline int64_t grain_for(int64_t work_per_item) {
  return std::max<int64_t>(1, 131072 / std::max<int64_t>(1, work_per_item));
}

// The inner loops of the backward gathers, kept as plain functions over restrict pointers so they
// vectorize (inside lambdas GCC loses the no-alias facts and falls back to scalar code).
void add_where(double* __restrict acc, const int32_t* __restrict pos, const float* __restrict dy, int32_t want,
               int64_t n) {
#pragma GCC ivdep
  for (int64_t c = 0; c < n; ++c) {
    // A bit mask instead of a ternary: GCC 12 will not if-convert the mixed int32/double select.
    // A masked-out value becomes +0, which leaves the sum unchanged like the cpu kernel's skip.
    uint32_t bits;
    std::memcpy(&bits, &dy[c], sizeof bits);
    bits &= 0u - static_cast<uint32_t>(pos[c] == want);
    float v;
    std::memcpy(&v, &bits, sizeof v);
    acc[c] += static_cast<double>(v);
  }
}

void add_all(double* __restrict acc, const float* __restrict dy, int64_t n) {
#pragma GCC ivdep
  for (int64_t c = 0; c < n; ++c) acc[c] += static_cast<double>(dy[c]);
}

void store(float* __restrict out, const double* __restrict acc, double scale, int64_t n) {
  for (int64_t c = 0; c < n; ++c) out[c] = static_cast<float>(acc[c] * scale);
}

// Backward gather shared by both gradients: for every dx position, visits the windows that cover
// it in the cpu kernel's order (wR, wC ascending) and calls add(acc, dyRow, windowPos) where
// windowPos is the position of dx inside that window (row-major over filterH x filterW).
template <typename Add, typename Finish>
void gather_grad(const Pool2DGeom& g, Add add, Finish finish) {
  const int64_t C = g.channels;
  const int64_t padTop = g.filterH - 1 - g.padTop, padLeft = g.filterW - 1 - g.padLeft;
  const int64_t K = g.filterH * g.filterW;
  parallel_for(g.batch * g.inH, grain_for(g.inW * K * C), [&](int64_t begin, int64_t end) {
    std::vector<double> acc(C);
    for (int64_t row = begin; row < end; ++row) {
      const int64_t b = row / g.inH, xr = row % g.inH;
      for (int64_t xc = 0; xc < g.inW; ++xc) {
        std::fill(acc.begin(), acc.end(), 0.0);
        for (int64_t wr = 0; wr < g.filterH; ++wr) {
          const int64_t nr = xr - padTop + wr;
          if (nr < 0 || nr % g.strideH != 0 || nr / g.strideH >= g.outH) continue;
          const int64_t dyr = nr / g.strideH;
          for (int64_t wc = 0; wc < g.filterW; ++wc) {
            const int64_t nc = xc - padLeft + wc;
            if (nc < 0 || nc % g.strideW != 0 || nc / g.strideW >= g.outW) continue;
            const int64_t dyc = nc / g.strideW;
            add(acc.data(), ((b * g.outH + dyr) * g.outW + dyc) * C, K - 1 - (wr * g.filterW + wc));
          }
        }
        finish(acc.data(), ((b * g.inH + xr) * g.inW + xc) * C);
      }
    }
  });
}


// ---- stride 1 (the models' 2x2 'same' MaxPool) ----
// With stride 1 the outputs ow whose window column q = ow - padLeft + qo is in bounds form one
// contiguous range for each window offset qo, so every loop below runs over a whole row of
// (ow, c) values at once instead of one pixel's C channels.

// Outputs o in [0, out) with 0 <= o - pad + off < in, as [lo, hi).
inline void stride1_range(int64_t off, int64_t pad, int64_t in, int64_t out, int64_t* lo, int64_t* hi) {
  *lo = std::max<int64_t>(0, pad - off);
  *hi = std::max(*lo, std::min<int64_t>(out, in + pad - off));
}

typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));
typedef double v8d __attribute__((vector_size(64)));
template <typename V, typename T>
inline V load8(const T* p) {
  V v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <typename V, typename T>
inline void store8(T* p, V v) {
  std::memcpy(p, &v, sizeof v);
}

void max_row(float* __restrict m, const float* __restrict x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) m[i] = x[i] > m[i] ? x[i] : m[i];
}

// Explicit 8-wide selects with full stores: left to itself GCC emits masked stores behind an
// "any lane greater" branch, which stalls the next window's loads of the same row.
void argmax_row(float* __restrict m, int32_t* __restrict pos, const float* __restrict x, int32_t k, int64_t n) {
  int64_t i = 0;
  const v8i kv = {k, k, k, k, k, k, k, k};
  for (; i + 8 <= n; i += 8) {
    const v8f xv = load8<v8f>(x + i), mv = load8<v8f>(m + i);
    const v8i gt = xv > mv;
    store8(m + i, gt ? xv : mv);
    store8(pos + i, gt ? kv : load8<v8i>(pos + i));
  }
  for (; i < n; ++i) {
    const bool gt = x[i] > m[i];
    m[i] = gt ? x[i] : m[i];
    pos[i] = gt ? k : pos[i];
  }
}

// acc += (pos == want ? dy : 0) in float64, 8 lanes at a time (the stride-1 rows are long).
void add_where_rows(double* __restrict acc, const int32_t* __restrict pos, const float* __restrict dy, int32_t want,
                    int64_t n) {
  int64_t i = 0;
  const v8i wv = {want, want, want, want, want, want, want, want};
  for (; i + 8 <= n; i += 8) {
    const v8f d = load8<v8f>(dy + i);
    const v8i bits = load8<v8i>(pos + i) == wv;
    const v8f masked = (v8f)(bits & (v8i)d);
    store8(acc + i, load8<v8d>(acc + i) + __builtin_convertvector(masked, v8d));
  }
  add_where(acc + i, pos + i, dy + i, want, n - i);
}

// Elements of a row processed per block: the block's running max / argmax / sums stay in L1
// while every window adds its part (a whole 256-channel row would spill to L2 between windows).
constexpr int64_t kRowBlock = 512;

// Output elements [b0, b1) of row oh of image b: y = max (pos = first argmax when pos is not
// null) over the window, kRowBlock elements at a time. Visits window positions in row-major order
// like the cpu kernel, so ties resolve the same way.
void max_span_s1(const Pool2DGeom& g, const float* x, int64_t b, int64_t oh, float* y, int32_t* pos, int64_t b0,
                 int64_t b1) {
  const int64_t C = g.channels;
  for (int64_t e0 = b0; e0 < b1; e0 += kRowBlock) {
    const int64_t e1 = std::min(b1, e0 + kRowBlock);
    std::fill(y + e0, y + e1, -std::numeric_limits<float>::infinity());
    if (pos != nullptr) std::fill(pos + e0, pos + e1, -1);
    for (int64_t ro = 0; ro < g.filterH; ++ro) {
      const int64_t r = oh - g.padTop + ro;
      if (r < 0 || r >= g.inH) continue;
      const float* xr = x + (b * g.inH + r) * g.inW * C;
      for (int64_t qo = 0; qo < g.filterW; ++qo) {
        int64_t lo, hi;
        stride1_range(qo, g.padLeft, g.inW, g.outW, &lo, &hi);
        lo = std::max(lo * C, e0);
        hi = std::min(hi * C, e1);
        if (lo >= hi) continue;
        const float* src = xr + (qo - g.padLeft) * C + lo;
        if (pos == nullptr) max_row(y + lo, src, hi - lo);
        else argmax_row(y + lo, pos + lo, src, static_cast<int32_t>(ro * g.filterW + qo), hi - lo);
      }
    }
  }
}

// Windows of at most this many positions take the register paths below.
constexpr int64_t kRegWindows = 16;

// Output row oh of image b (see max_span_s1). Where every window position is in bounds for all
// of 8 consecutive outputs, the max and argmax over the window stay in registers.
void max_pool_row_s1(const Pool2DGeom& g, const float* x, int64_t b, int64_t oh, float* y, int32_t* pos) {
  const int64_t C = g.channels, n = g.outW * C;
  const float* srcs[kRegWindows];
  int32_t ks[kRegWindows];
  int nw = 0;
  int64_t E0 = 0, E1 = n;
  if (g.filterH * g.filterW <= kRegWindows) {
    for (int64_t ro = 0; ro < g.filterH; ++ro) {
      const int64_t r = oh - g.padTop + ro;
      if (r < 0 || r >= g.inH) continue;
      for (int64_t qo = 0; qo < g.filterW; ++qo) {
        int64_t lo, hi;
        stride1_range(qo, g.padLeft, g.inW, g.outW, &lo, &hi);
        if (lo >= hi) continue;
        srcs[nw] = x + (b * g.inH + r) * g.inW * C + (qo - g.padLeft) * C;  // x of output element e: srcs + e
        ks[nw++] = static_cast<int32_t>(ro * g.filterW + qo);
        E0 = std::max(E0, lo * C);
        E1 = std::min(E1, hi * C);
      }
    }
  }
  if (nw == 0 || E1 - E0 < 8) {
    max_span_s1(g, x, b, oh, y, pos, 0, n);
    return;
  }
  E1 = E0 + (E1 - E0) / 8 * 8;
  if (E0 > 0) max_span_s1(g, x, b, oh, y, pos, 0, E0);
  const float inf = std::numeric_limits<float>::infinity();
  for (int64_t e = E0; e < E1; e += 8) {
    v8f m = {-inf, -inf, -inf, -inf, -inf, -inf, -inf, -inf};
    if (pos == nullptr) {
      for (int w = 0; w < nw; ++w) {
        const v8f v = load8<v8f>(srcs[w] + e);
        m = v > m ? v : m;
      }
      store8(y + e, m);
    } else {
      v8i p = {-1, -1, -1, -1, -1, -1, -1, -1};
      for (int w = 0; w < nw; ++w) {
        const v8f v = load8<v8f>(srcs[w] + e);
        const v8i gt = v > m;
        m = gt ? v : m;
        p = gt ? v8i{ks[w], ks[w], ks[w], ks[w], ks[w], ks[w], ks[w], ks[w]} : p;
      }
      store8(y + e, m);
      store8(pos + e, p);
    }
  }
  if (E1 < n) max_span_s1(g, x, b, oh, y, pos, E1, n);
}

// Stride-1 gradient of dx row xr, elements [b0, b1) of the row: the same sums as gather_grad
// (float64, windows in the cpu kernel's order), kRowBlock elements at a time.
void grad_span_s1(const Pool2DGeom& g, const int32_t* pos, const float* dy, float* dxr, double* acc, int64_t xr,
                  int64_t b0, int64_t b1) {
  const int64_t C = g.channels;
  for (int64_t e0 = b0; e0 < b1; e0 += kRowBlock) {
    const int64_t e1 = std::min(b1, e0 + kRowBlock);
    std::fill(acc, acc + (e1 - e0), 0.0);
    // Window rows covering xr in ascending output row order (the cpu's wr order), then columns.
    for (int64_t ro = g.filterH - 1; ro >= 0; --ro) {
      const int64_t oh = xr + g.padTop - ro;
      if (oh < 0 || oh >= g.outH) continue;
      for (int64_t qo = g.filterW - 1; qo >= 0; --qo) {
        // dx element e (x column e / C) takes dy of output column e / C + padLeft - qo.
        int64_t lo, hi;
        stride1_range(qo, g.padLeft, g.inW, g.outW, &lo, &hi);
        const int64_t shift = (g.padLeft - qo) * C;  // dy element = dx element + shift
        const int64_t s0 = std::max(lo * C - shift, e0), s1 = std::min(hi * C - shift, e1);
        if (s0 >= s1) continue;
        const int64_t off = oh * g.outW * C + s0 + shift;
        add_where_rows(acc + (s0 - e0), pos + off, dy + off, static_cast<int32_t>(ro * g.filterW + qo), s1 - s0);
      }
    }
    store(dxr + e0, acc, 1.0, e1 - e0);
  }
}

// dx of image b (pos: the image's first-argmax positions), one row at a time. In the part of a row
// that every covering window reaches, 8 elements at a time sum all windows in registers (float64,
// the cpu's window order); the edges go through grad_span_s1.
void max_pool_grad_image_s1(const Pool2DGeom& g, const int32_t* pos, const float* dy, float* dx, double* acc) {
  const int64_t C = g.channels, n = g.inW * C;
  const bool reg = g.filterH * g.filterW <= kRegWindows;
  for (int64_t xr = 0; xr < g.inH; ++xr) {
    float* dxr = dx + xr * n;
    int64_t offs[kRegWindows];
    int32_t wants[kRegWindows];
    int nw = 0;
    int64_t E0 = 0, E1 = n;
    if (reg) {
      for (int64_t ro = g.filterH - 1; ro >= 0; --ro) {
        const int64_t oh = xr + g.padTop - ro;
        if (oh < 0 || oh >= g.outH) continue;
        for (int64_t qo = g.filterW - 1; qo >= 0; --qo) {
          int64_t lo, hi;
          stride1_range(qo, g.padLeft, g.inW, g.outW, &lo, &hi);
          const int64_t shift = (g.padLeft - qo) * C;
          const int64_t s0 = std::max<int64_t>(lo * C - shift, 0), s1 = std::min(hi * C - shift, n);
          if (s0 >= s1) continue;
          offs[nw] = oh * g.outW * C + shift;  // pos / dy index of dx element e is offs + e
          wants[nw++] = static_cast<int32_t>(ro * g.filterW + qo);
          E0 = std::max(E0, s0);
          E1 = std::min(E1, s1);
        }
      }
    }
    if (!reg || nw == 0 || E1 - E0 < 8) {
      grad_span_s1(g, pos, dy, dxr, acc, xr, 0, n);
      continue;
    }
    E1 = E0 + (E1 - E0) / 8 * 8;
    if (E0 > 0) grad_span_s1(g, pos, dy, dxr, acc, xr, 0, E0);
    for (int64_t e = E0; e < E1; e += 8) {
      v8d a = {};
      for (int w = 0; w < nw; ++w) {
        const v8i hit = load8<v8i>(pos + offs[w] + e) == v8i{wants[w], wants[w], wants[w], wants[w], wants[w],
                                                               wants[w], wants[w], wants[w]};
        a += __builtin_convertvector((v8f)(hit & load8<v8i>(dy + offs[w] + e)), v8d);
      }
      store8(dxr + e, __builtin_convertvector(a, v8f));
    }
    if (E1 < n) grad_span_s1(g, pos, dy, dxr, acc, xr, E1, n);
  }
}

}  // namespace

void max_pool(const Pool2DGeom& g, const float* x, float* y) {
  const int64_t C = g.channels;
  if (g.strideH == 1 && g.strideW == 1) {
    parallel_for(g.batch * g.outH, grain_for(g.outW * g.filterH * g.filterW * C), [&](int64_t begin, int64_t end) {
      for (int64_t row = begin; row < end; ++row)
        max_pool_row_s1(g, x, row / g.outH, row % g.outH, y + row * g.outW * C, nullptr);
    });
    return;
  }
  parallel_for(g.batch * g.outH, grain_for(g.outW * g.filterH * g.filterW * C), [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t b = row / g.outH, oh = row % g.outH;
      const Span rs = window(oh, g.strideH, g.padTop, g.filterH, g.inH);
      for (int64_t ow = 0; ow < g.outW; ++ow) {
        const Span cs = window(ow, g.strideW, g.padLeft, g.filterW, g.inW);
        float* __restrict o = y + ((b * g.outH + oh) * g.outW + ow) * C;
        std::fill(o, o + C, -std::numeric_limits<float>::infinity());
        for (int64_t r = rs.lo; r < rs.hi; ++r) {
          for (int64_t q = cs.lo; q < cs.hi; ++q) {
            const float* __restrict p = x + ((b * g.inH + r) * g.inW + q) * C;
            // NaN never compares greater, so it is skipped exactly as in the cpu kernel.
            for (int64_t c = 0; c < C; ++c) o[c] = p[c] > o[c] ? p[c] : o[c];
          }
        }
      }
    }
  });
}

void avg_pool(const Pool2DGeom& g, const float* x, float* y) {
  const int64_t C = g.channels;
  parallel_for(g.batch * g.outH, grain_for(g.outW * g.filterH * g.filterW * C), [&](int64_t begin, int64_t end) {
    std::vector<double> acc(C);
    for (int64_t row = begin; row < end; ++row) {
      const int64_t b = row / g.outH, oh = row % g.outH;
      const Span rs = window(oh, g.strideH, g.padTop, g.filterH, g.inH);
      for (int64_t ow = 0; ow < g.outW; ++ow) {
        const Span cs = window(ow, g.strideW, g.padLeft, g.filterW, g.inW);
        std::fill(acc.begin(), acc.end(), 0.0);
        for (int64_t r = rs.lo; r < rs.hi; ++r) {
          for (int64_t q = cs.lo; q < cs.hi; ++q) {
            const float* __restrict p = x + ((b * g.inH + r) * g.inW + q) * C;
            for (int64_t c = 0; c < C; ++c) acc[c] += p[c];
          }
        }
        // An empty window gives 0 / 0 = NaN, as in the cpu kernel.
        const double count = static_cast<double>(std::max<int64_t>(0, rs.hi - rs.lo) * std::max<int64_t>(0, cs.hi - cs.lo));
        float* o = y + ((b * g.outH + oh) * g.outW + ow) * C;
        for (int64_t c = 0; c < C; ++c) o[c] = static_cast<float>(acc[c] / count);
      }
    }
  });
}

void max_pool_grad(const Pool2DGeom& g, const float* x, const float* dy, float* dx) {
  // 2×2 stride 2 (the registry's pools): the per-ISA positions kernels, one pass each way.
  if (max_pool_grad_2x2(g, x, dy, dx)) return;
  const int64_t C = g.channels;
  if (g.strideH == 1 && g.strideW == 1) {
    // One image at a time: its argmax positions stay in cache between the two passes.
    const int64_t perImage = g.outH * g.outW * C;
    parallel_for(g.batch, grain_for(g.inH * g.inW * C * g.filterH * g.filterW), [&](int64_t b0, int64_t b1) {
      // Per thread and kept between calls (a fresh 200 KB buffer per chunk would page-fault).
      thread_local std::vector<int32_t> pos;
      thread_local std::vector<float> m;
      thread_local std::vector<double> acc;
      pos.resize(static_cast<size_t>(perImage));
      m.resize(static_cast<size_t>(g.outW * C));
      acc.resize(static_cast<size_t>(kRowBlock));
      for (int64_t b = b0; b < b1; ++b) {
        for (int64_t oh = 0; oh < g.outH; ++oh) {
          max_pool_row_s1(g, x, b, oh, m.data(), pos.data() + oh * g.outW * C);
        }
        max_pool_grad_image_s1(g, pos.data(), dy + b * perImage, dx + b * g.inH * g.inW * C, acc.data());
      }
    });
    return;
  }
  // Pass 1: the window position of the first strict maximum of every output, -1 when there is
  // none (an empty window, or only NaN / -inf).
  // The buffer is reused across calls (one per calling thread): a fresh 25 MB one per training step
  // costs more in page faults than the pass itself. Workers reach it only through `pos` (they have
  // their own thread_local). Every entry is written before it is read.
  thread_local std::vector<int32_t> pos_buffer;
  pos_buffer.resize(static_cast<size_t>(g.batch * g.outH * g.outW * C));
  int32_t* const pos = pos_buffer.data();
  parallel_for(g.batch * g.outH, grain_for(g.outW * g.filterH * g.filterW * C), [&](int64_t begin, int64_t end) {
    std::vector<float> m(C);
    for (int64_t row = begin; row < end; ++row) {
      const int64_t b = row / g.outH, oh = row % g.outH;
      const Span rs = window(oh, g.strideH, g.padTop, g.filterH, g.inH);
      for (int64_t ow = 0; ow < g.outW; ++ow) {
        const Span cs = window(ow, g.strideW, g.padLeft, g.filterW, g.inW);
        int32_t* __restrict pp = pos + ((b * g.outH + oh) * g.outW + ow) * C;
        float* __restrict mm = m.data();
        std::fill(mm, mm + C, -std::numeric_limits<float>::infinity());
        std::fill(pp, pp + C, -1);
        for (int64_t r = rs.lo; r < rs.hi; ++r) {
          for (int64_t q = cs.lo; q < cs.hi; ++q) {
            const float* __restrict p = x + ((b * g.inH + r) * g.inW + q) * C;
            const int32_t k = static_cast<int32_t>((r - rs.corner) * g.filterW + (q - cs.corner));
            for (int64_t c = 0; c < C; ++c) {
              const bool gt = p[c] > mm[c];
              mm[c] = gt ? p[c] : mm[c];
              pp[c] = gt ? k : pp[c];
            }
          }
        }
      }
    }
  });
  // Pass 2: every dx gathers dy from the windows whose maximum it is.
  gather_grad(
      g,
      [&](double* acc, int64_t off, int64_t wpos) { add_where(acc, pos + off, dy + off, static_cast<int32_t>(wpos), C); },
      [&](const double* acc, int64_t off) { store(dx + off, acc, 1.0, C); });
}

void avg_pool_grad(const Pool2DGeom& g, const float* dy, float* dx) {
  const int64_t C = g.channels;
  // tfjs divides by the full window size here, even where the forward pass counted fewer pixels.
  const double mult = 1.0 / static_cast<double>(g.filterH * g.filterW);
  gather_grad(
      g,
      [&](double* acc, int64_t off, int64_t) { add_all(acc, dy + off, C); },
      [&](const double* acc, int64_t off) { store(dx + off, acc, mult, C); });
}

}  // namespace hafif
