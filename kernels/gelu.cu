// GELU kernels: one thread per element. The op is memory bound (8 bytes moved per element forward, 16
// backward), so no vectorised loads yet: the bench decides whether 128-bit loads are worth the alignment rules.
// The formulas are kernels/gelu_math.h's, the same functions the CPU op calls.
#include "kernels/gelu.h"

#include "kernels/cuda_check.h"
#include "kernels/gelu_math.h"
#include "kernels/launch.h"

namespace docbert {

namespace {

constexpr int kBlock = 256;

// ---------------------------------------------------------------------------------------------------
// CUDA kernels

template <bool TanhForm>
__global__ void gelu_forward_kernel(float* out, const float* inp, int64_t N) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= N) return;
  const float x = inp[i];
  if constexpr (TanhForm)
    out[i] = gelu_tanh(x);
  else
    out[i] = gelu_erf(x);
}

template <bool TanhForm>
__global__ void gelu_backward_kernel(float* dinp, const float* inp, const float* dout, int64_t N) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= N) return;
  const float x = inp[i];
  float d;
  if constexpr (TanhForm)
    d = gelu_tanh_grad(x);
  else
    d = gelu_erf_grad(x);
  dinp[i] += d * dout[i];
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// kernel launchers

void gelu_forward(float* out, const float* inp, int64_t N, bool tanh_form, cudaStream_t stream) {
  const unsigned grid = grid_1d("gelu_forward", N, kBlock);
  if (grid == 0) return;
  if (tanh_form)
    gelu_forward_kernel<true><<<grid, kBlock, 0, stream>>>(out, inp, N);
  else
    gelu_forward_kernel<false><<<grid, kBlock, 0, stream>>>(out, inp, N);
  CUDA_CHECK_LAUNCH();
}

void gelu_backward(float* dinp, const float* inp, const float* dout, int64_t N, bool tanh_form, cudaStream_t stream) {
  const unsigned grid = grid_1d("gelu_backward", N, kBlock);
  if (grid == 0) return;
  if (tanh_form)
    gelu_backward_kernel<true><<<grid, kBlock, 0, stream>>>(dinp, inp, dout, N);
  else
    gelu_backward_kernel<false><<<grid, kBlock, 0, stream>>>(dinp, inp, dout, N);
  CUDA_CHECK_LAUNCH();
}

}  // namespace docbert
