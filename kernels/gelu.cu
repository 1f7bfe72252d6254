// GELU kernels: one thread per element. The op is memory bound (8 bytes moved per element forward, 16
// backward), so no vectorised loads yet: the bench decides whether 128-bit loads are worth the alignment rules.
#include "kernels/gelu.h"

#include "kernels/cuda_check.h"

namespace docbert {

namespace {

constexpr int kBlock = 256;
constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr float kInvSqrt2 = 0.7071067811865476f;  // M_SQRT1_2, as the CPU op uses
constexpr float kInvSqrt2Pi = 0.3989422804014327f;
constexpr float kCubic = 0.044715f;

// ---------------------------------------------------------------------------------------------------
// CUDA kernels

template <bool TanhForm>
__global__ void gelu_forward_kernel(float* out, const float* inp, int64_t N) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= N) return;
  const float x = inp[i];
  if constexpr (TanhForm)
    out[i] = 0.5f * x * (1.0f + tanhf(kSqrt2OverPi * (x + kCubic * x * x * x)));
  else
    out[i] = 0.5f * x * (1.0f + erff(x * kInvSqrt2));
}

template <bool TanhForm>
__global__ void gelu_backward_kernel(float* dinp, const float* inp, const float* dout, int64_t N) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= N) return;
  const float x = inp[i];
  float d;
  if constexpr (TanhForm) {
    const float th = tanhf(kSqrt2OverPi * (x + kCubic * x * x * x));
    d = 0.5f * (1.0f + th) + 0.5f * x * (1.0f - th * th) * kSqrt2OverPi * (1.0f + 3.0f * kCubic * x * x);
  } else {
    // d/dx [x Phi(x)] = Phi(x) + x phi(x)
    d = 0.5f * (1.0f + erff(x * kInvSqrt2)) + x * kInvSqrt2Pi * expf(-0.5f * x * x);
  }
  dinp[i] += d * dout[i];
}

// Grid for one thread per element; gridDim.x is limited to 2^31 - 1 blocks.
unsigned grid_for(const char* op, int64_t N) {
  DOCBERT_CHECK(N >= 0, "{}: N must be >= 0, got {}", op, N);
  const int64_t blocks = (N + kBlock - 1) / kBlock;
  DOCBERT_CHECK(blocks <= 0x7fffffff, "{}: N = {} is too large for one launch", op, N);
  return static_cast<unsigned>(blocks);
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// kernel launchers

void gelu_forward(float* out, const float* inp, int64_t N, bool tanh_form, cudaStream_t stream) {
  const unsigned grid = grid_for("gelu_forward", N);
  if (grid == 0) return;
  if (tanh_form)
    gelu_forward_kernel<true><<<grid, kBlock, 0, stream>>>(out, inp, N);
  else
    gelu_forward_kernel<false><<<grid, kBlock, 0, stream>>>(out, inp, N);
  CUDA_CHECK_LAUNCH();
}

void gelu_backward(float* dinp, const float* inp, const float* dout, int64_t N, bool tanh_form, cudaStream_t stream) {
  const unsigned grid = grid_for("gelu_backward", N);
  if (grid == 0) return;
  if (tanh_form)
    gelu_backward_kernel<true><<<grid, kBlock, 0, stream>>>(dinp, inp, dout, N);
  else
    gelu_backward_kernel<false><<<grid, kBlock, 0, stream>>>(dinp, inp, dout, N);
  CUDA_CHECK_LAUNCH();
}

}  // namespace docbert
