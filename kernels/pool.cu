// Masked max-pool kernels (kernels/pool.h). One thread per (b, c): it walks t < lengths[b] down its column, the
// warp reading 32 consecutive channels of a time step per access, and keeps the first maximum (strict >, as on the
// CPU, so ties and NaN behave the same). Forward reads the used part of x once (at most B T C sizeof(T) bytes) and
// writes out and the i64 argmax; backward moves each dout[b,c] to its one argmax position, which no other thread
// writes: no atomics, deterministic.
#include "kernels/pool.h"

#include "kernels/common.cuh"

namespace docbert::cuda {

namespace {

// out (B,C), argmax (B,C) from x (B,T,C) over t < lengths[b]
template <class T>
__global__ void max_pool_forward_kernel(T* out, int64_t* argmax, const T* x, const int64_t* lengths, int64_t B,
                                        int64_t steps, int64_t C) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= B * C) return;
  const int64_t b = i / C, c = i - b * C;
  const T* xb = x + b * steps * C + c;
  float best = to_f32(xb[0]);
  int64_t at = 0;
  for (int64_t t = 1; t < lengths[b]; ++t) {
    const float v = to_f32(xb[t * C]);
    if (v > best) {
      best = v;
      at = t;
    }
  }
  out[i] = from_f32<T>(best);
  argmax[i] = at;
}

// dx[b, argmax[b,c], c] += dout[b,c]
template <class T>
__global__ void max_pool_backward_kernel(T* dx, const T* dout, const int64_t* argmax, int64_t B, int64_t steps,
                                         int64_t C) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= B * C) return;
  const int64_t b = i / C, c = i - b * C;
  T* d = dx + (b * steps + argmax[i]) * C + c;
  *d = from_f32<T>(to_f32(*d) + to_f32(dout[i]));
}

unsigned grid_for(const char* op, const MaxPoolParams& p) {
  DOCBERT_CHECK(p.B >= 0 && p.C >= 0 && (p.T >= 1 || p.B == 0), "{}: bad sizes B {} T {} C {}", op, p.B, p.T, p.C);
  return grid_1d(op, p.B * p.C, kBlock);
}

}  // namespace

void max_pool_forward(const MaxPoolParams& p) {
  const unsigned grid = grid_for("max_pool_forward", p);
  if (grid == 0) return;
  dispatch_float(p.dtype, "max_pool_forward", [&](auto tag) {
    using T = decltype(tag);
    max_pool_forward_kernel<<<grid, kBlock, 0, stream()>>>(static_cast<T*>(p.out), p.argmax, static_cast<const T*>(p.x),
                                                           p.lengths, p.B, p.T, p.C);
  });
  CUDA_CHECK_LAUNCH();
}

void max_pool_backward(const MaxPoolParams& p) {
  const unsigned grid = grid_for("max_pool_backward", p);
  if (grid == 0 || !p.dx) return;
  dispatch_float(p.dtype, "max_pool_backward", [&](auto tag) {
    using T = decltype(tag);
    max_pool_backward_kernel<<<grid, kBlock, 0, stream()>>>(static_cast<T*>(p.dx), static_cast<const T*>(p.dout),
                                                            p.argmax, p.B, p.T, p.C);
  });
  CUDA_CHECK_LAUNCH();
}

}  // namespace docbert::cuda
