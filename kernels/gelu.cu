// GELU kernels: one thread per 4 consecutive elements, moved as one 16-byte load/store when the pointers are 16-byte
// aligned (checked on the host) and all 4 are in range. The op is memory bound (8 bytes moved per element forward,
// 16 backward); one scalar element per thread measured 0.78-0.87x of a device copy on an H100 (docs/kernels.md).
// The formulas are kernels/gelu_math.h's, the same functions the CPU op calls.
#include "kernels/gelu.h"

#include "kernels/cuda_check.h"
#include "kernels/gelu_math.h"
#include "kernels/launch.h"

#include <cstdint>

namespace docbert {

namespace {

constexpr int kBlock = 256;

// ---------------------------------------------------------------------------------------------------
// CUDA kernels

template <bool TanhForm>
__device__ float gelu_f(float x) {
  if constexpr (TanhForm)
    return gelu_tanh(x);
  else
    return gelu_erf(x);
}

template <bool TanhForm>
__device__ float gelu_df(float x) {
  if constexpr (TanhForm)
    return gelu_tanh_grad(x);
  else
    return gelu_erf_grad(x);
}

template <bool TanhForm, bool Vec>
__global__ void gelu_forward_kernel(float* out, const float* inp, int64_t N) {
  const int64_t i0 = 4 * (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x);
  if (i0 >= N) return;
  if (Vec && i0 + 3 < N) {
    const float4 x = *reinterpret_cast<const float4*>(inp + i0);
    *reinterpret_cast<float4*>(out + i0) =
        make_float4(gelu_f<TanhForm>(x.x), gelu_f<TanhForm>(x.y), gelu_f<TanhForm>(x.z), gelu_f<TanhForm>(x.w));
    return;
  }
  for (int l = 0; l < 4 && i0 + l < N; ++l) out[i0 + l] = gelu_f<TanhForm>(inp[i0 + l]);
}

template <bool TanhForm, bool Vec>
__global__ void gelu_backward_kernel(float* dinp, const float* inp, const float* dout, int64_t N) {
  const int64_t i0 = 4 * (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x);
  if (i0 >= N) return;
  if (Vec && i0 + 3 < N) {
    const float4 x = *reinterpret_cast<const float4*>(inp + i0);
    const float4 d = *reinterpret_cast<const float4*>(dout + i0);
    float4 g = *reinterpret_cast<float4*>(dinp + i0);
    g.x += gelu_df<TanhForm>(x.x) * d.x;
    g.y += gelu_df<TanhForm>(x.y) * d.y;
    g.z += gelu_df<TanhForm>(x.z) * d.z;
    g.w += gelu_df<TanhForm>(x.w) * d.w;
    *reinterpret_cast<float4*>(dinp + i0) = g;
    return;
  }
  for (int l = 0; l < 4 && i0 + l < N; ++l) dinp[i0 + l] += gelu_df<TanhForm>(inp[i0 + l]) * dout[i0 + l];
}

bool aligned16(const void* ptr) { return reinterpret_cast<uintptr_t>(ptr) % 16 == 0; }

// Threads for N elements, 4 each; N < 0 is rejected here because the rounding below assumes N >= 0.
unsigned grid_for(const char* op, int64_t N) {
  DOCBERT_CHECK(N >= 0, "{}: N must be >= 0, got {}", op, N);
  return grid_1d(op, N / 4 + (N % 4 != 0), kBlock);
}

template <bool TanhForm>
void forward(float* out, const float* inp, int64_t N, cudaStream_t stream) {
  const unsigned grid = grid_for("gelu_forward", N);
  if (grid == 0) return;
  if (aligned16(out) && aligned16(inp))
    gelu_forward_kernel<TanhForm, true><<<grid, kBlock, 0, stream>>>(out, inp, N);
  else
    gelu_forward_kernel<TanhForm, false><<<grid, kBlock, 0, stream>>>(out, inp, N);
  CUDA_CHECK_LAUNCH();
}

template <bool TanhForm>
void backward(float* dinp, const float* inp, const float* dout, int64_t N, cudaStream_t stream) {
  const unsigned grid = grid_for("gelu_backward", N);
  if (grid == 0) return;
  if (aligned16(dinp) && aligned16(inp) && aligned16(dout))
    gelu_backward_kernel<TanhForm, true><<<grid, kBlock, 0, stream>>>(dinp, inp, dout, N);
  else
    gelu_backward_kernel<TanhForm, false><<<grid, kBlock, 0, stream>>>(dinp, inp, dout, N);
  CUDA_CHECK_LAUNCH();
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// kernel launchers

void gelu_forward(float* out, const float* inp, int64_t N, bool tanh_form, cudaStream_t stream) {
  if (tanh_form)
    forward<true>(out, inp, N, stream);
  else
    forward<false>(out, inp, N, stream);
}

void gelu_backward(float* dinp, const float* inp, const float* dout, int64_t N, bool tanh_form, cudaStream_t stream) {
  if (tanh_form)
    backward<true>(dinp, inp, dout, N, stream);
  else
    backward<false>(dinp, inp, dout, N, stream);
}

}  // namespace docbert
