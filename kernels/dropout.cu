// Dropout kernels: one thread per Philox counter, i.e. per group of 4 consecutive elements, since one
// philox4x32 call yields the words of elements 4g .. 4g+3 (kernels/philox.h's convention). The mask of a group is
// philox.h's dropout_mask4, the function the CPU op calls.
#include "kernels/dropout.h"

#include "kernels/cuda_check.h"
#include "kernels/launch.h"
#include "kernels/philox.h"

namespace docbert {

namespace {

constexpr int kBlock = 256;

// ---------------------------------------------------------------------------------------------------
// CUDA kernels

// What each kernel does with one element i, given whether it is kept; Op(i, keep, scale).
struct ForwardOp {
  float* out;
  const float* inp;
  __device__ void operator()(int64_t i, bool keep, float scale) const { out[i] = keep ? inp[i] * scale : 0.0f; }
};

struct BackwardOp {
  float* dinp;
  const float* dout;
  // __fmul_rn keeps nvcc from fusing the product into an FMA, so the sum rounds as the CPU's does (bit-identical).
  __device__ void operator()(int64_t i, bool keep, float scale) const {
    if (keep) dinp[i] += __fmul_rn(dout[i], scale);
  }
};

struct MaskOp {
  uint8_t* mask;
  __device__ void operator()(int64_t i, bool keep, float) const { mask[i] = keep ? 1 : 0; }
};

template <class Op>
__global__ void dropout_kernel(Op op, int64_t N, float p, float scale, uint64_t seed, uint64_t offset) {
  const int64_t g = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;  // group of 4 elements
  if (4 * g >= N) return;
  dropout_mask4(seed, offset, static_cast<uint64_t>(g), p, [&](int lane, bool keep) {
    const int64_t i = 4 * g + lane;
    if (i < N) op(i, keep, scale);
  });
}

template <class Op>
void launch(const char* op_name, Op op, int64_t N, float p, uint64_t seed, uint64_t offset, cudaStream_t stream) {
  DOCBERT_CHECK(N >= 0, "{}: N must be >= 0, got {}", op_name, N);  // before philox_advance's unsigned N
  DOCBERT_CHECK(p >= 0.0f && p < 1.0f, "{}: p must be in [0, 1), got {}", op_name, p);
  const auto groups = static_cast<int64_t>(philox_advance(static_cast<uint64_t>(N)));  // one thread each
  const unsigned grid = grid_1d(op_name, groups, kBlock);
  if (grid == 0) return;
  dropout_kernel<<<grid, kBlock, 0, stream>>>(op, N, p, dropout_scale(p), seed, offset);
  CUDA_CHECK_LAUNCH();
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// kernel launchers

void dropout_forward(float* out, const float* inp, int64_t N, float p, uint64_t seed, uint64_t offset,
                     cudaStream_t stream) {
  launch("dropout_forward", ForwardOp{out, inp}, N, p, seed, offset, stream);
}

void dropout_backward(float* dinp, const float* dout, int64_t N, float p, uint64_t seed, uint64_t offset,
                      cudaStream_t stream) {
  launch("dropout_backward", BackwardOp{dinp, dout}, N, p, seed, offset, stream);
}

void dropout_mask(uint8_t* mask, int64_t N, float p, uint64_t seed, uint64_t offset, cudaStream_t stream) {
  launch("dropout_mask", MaskOp{mask}, N, p, seed, offset, stream);
}

}  // namespace docbert
