// Softmax and log-softmax kernels (kernels/softmax.h). One warp per row, 8 rows per 256-thread block; lane l reads
// entries l, l + 32, ... so each warp access is 32 contiguous elements. The forward makes three passes over a row
// (max, sum of exp(x - max), write), re-reading it from L1/L2, so DRAM sees x once and out once (2 N K sizeof(T)
// bytes); the backward makes two (the row's dot product or sum, then dx), ~4 N K sizeof(T) bytes with dx read
// and written. The rows this op gets (class logits, at most a few thousand entries) are too short to pay for a
// block per row and its shared-memory reductions. Math in f32 for f32 and bf16 storage.
#include "kernels/softmax.h"

#include "kernels/common.cuh"

#include <cmath>

namespace docbert::cuda {

namespace {

constexpr int kRowsPerBlock = kBlock / 32;

// out (N,K) = softmax(x) or, for Log, log_softmax(x) per row; warp = row.
template <class T, bool Log>
__global__ void softmax_forward_kernel(T* out, const T* x, int64_t N, int64_t K) {
  const int64_t r = static_cast<int64_t>(blockIdx.x) * kRowsPerBlock + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (r >= N) return;  // whole warps leave together: the shuffles below see full warps
  const T* xr = x + r * K;
  T* o = out + r * K;
  float m = -INFINITY;
  for (int64_t k = lane; k < K; k += 32) m = fmaxf(m, to_f32(xr[k]));
  m = warp_max(m);
  float sum = 0;
  for (int64_t k = lane; k < K; k += 32) sum += expf(to_f32(xr[k]) - m);
  sum = warp_sum(sum);  // >= 1: the max term is exp(0)
  if constexpr (Log) {
    // (x - max) - log(sum), as on the CPU: the first difference is exact for the top entries.
    const float log_sum = logf(sum);
    for (int64_t k = lane; k < K; k += 32) o[k] = from_f32<T>((to_f32(xr[k]) - m) - log_sum);
  } else {
    const float inv = 1.0f / sum;
    for (int64_t k = lane; k < K; k += 32) o[k] = from_f32<T>(expf(to_f32(xr[k]) - m) * inv);
  }
}

// softmax: dx (N,K) += out * (dout - <dout, out>); Log: dx += dout - exp(out) * sum(dout); warp = row.
template <class T, bool Log>
__global__ void softmax_backward_kernel(T* dx, const T* out, const T* dout, int64_t N, int64_t K) {
  const int64_t r = static_cast<int64_t>(blockIdx.x) * kRowsPerBlock + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (r >= N) return;
  const T *o = out + r * K, *d = dout + r * K;
  T* g = dx + r * K;
  float acc = 0;
  for (int64_t k = lane; k < K; k += 32) acc += Log ? to_f32(d[k]) : to_f32(d[k]) * to_f32(o[k]);
  acc = warp_sum(acc);
  for (int64_t k = lane; k < K; k += 32) {
    const float y = to_f32(o[k]), dy = to_f32(d[k]);
    const float delta = Log ? dy - expf(y) * acc : y * (dy - acc);
    g[k] = from_f32<T>(to_f32(g[k]) + delta);
  }
}

unsigned grid_for(const char* op, const SoftmaxParams& p) {
  DOCBERT_CHECK(p.N >= 0 && p.K >= 1, "{}: needs N >= 0 rows of K >= 1, got N {} K {}", op, p.N, p.K);
  return grid_1d(op, p.N, kRowsPerBlock);
}

}  // namespace

void softmax_forward(const SoftmaxParams& p) {
  const char* op = p.log ? "log_softmax_forward" : "softmax_forward";
  const unsigned grid = grid_for(op, p);
  if (grid == 0) return;
  dispatch_float(p.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    auto* out = static_cast<T*>(p.out);
    auto* x = static_cast<const T*>(p.x);
    if (p.log)
      softmax_forward_kernel<T, true><<<grid, kBlock, 0, stream()>>>(out, x, p.N, p.K);
    else
      softmax_forward_kernel<T, false><<<grid, kBlock, 0, stream()>>>(out, x, p.N, p.K);
  });
  CUDA_CHECK_LAUNCH();
}

void softmax_backward(const SoftmaxParams& p) {
  const char* op = p.log ? "log_softmax_backward" : "softmax_backward";
  const unsigned grid = grid_for(op, p);
  if (grid == 0 || !p.dx) return;
  dispatch_float(p.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    auto* dx = static_cast<T*>(p.dx);
    auto *out = static_cast<const T*>(p.out), *dout = static_cast<const T*>(p.dout);
    if (p.log)
      softmax_backward_kernel<T, true><<<grid, kBlock, 0, stream()>>>(dx, out, dout, p.N, p.K);
    else
      softmax_backward_kernel<T, false><<<grid, kBlock, 0, stream()>>>(dx, out, dout, p.N, p.K);
  });
  CUDA_CHECK_LAUNCH();
}

}  // namespace docbert::cuda
