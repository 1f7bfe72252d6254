// Dropout kernels: one thread per Philox counter, i.e. per group of 4 consecutive elements, since one
// philox4x32 call yields the words of elements 4g .. 4g+3 (kernels/philox.h's convention). The mask of a group is
// philox.h's dropout_mask4, the function the CPU op calls. A thread owns its 4 elements, so full groups move as
// one 16-byte load/store when the pointers allow it (one scalar access per lane would leave each warp-wide access
// strided by 16 bytes: measured at 0.49-0.56x of a device copy on an H100, see docs/kernels.md).
#include "kernels/dropout.h"

#include "kernels/common.cuh"
#include "kernels/philox.h"

#include <cstdint>

namespace docbert::cuda {

namespace {

// ---------------------------------------------------------------------------------------------------
// CUDA kernels

// What each kernel does with the group of 4 elements starting at i0, given which are kept. `full` says all 4 are in
// range; Vec says the pointers are 16-byte aligned (checked on the host), so a full group is one vector access.
template <bool Vec>
struct ForwardOp {
  float* out;
  const float* inp;
  __device__ void operator()(int64_t i0, const bool keep[4], bool full, int64_t N, float scale) const {
    if (Vec && full) {
      const float4 x = *reinterpret_cast<const float4*>(inp + i0);
      *reinterpret_cast<float4*>(out + i0) = make_float4(keep[0] ? x.x * scale : 0.0f, keep[1] ? x.y * scale : 0.0f,
                                                         keep[2] ? x.z * scale : 0.0f, keep[3] ? x.w * scale : 0.0f);
      return;
    }
    for (int l = 0; l < 4 && i0 + l < N; ++l) out[i0 + l] = keep[l] ? inp[i0 + l] * scale : 0.0f;
  }
};

// __fmul_rn keeps nvcc from fusing the product into an FMA, so the sum rounds as the CPU's does (bit-identical).
template <bool Vec>
struct BackwardOp {
  float* dinp;
  const float* dout;
  __device__ void operator()(int64_t i0, const bool keep[4], bool full, int64_t N, float scale) const {
    if (Vec && full) {
      const float4 d = *reinterpret_cast<const float4*>(dout + i0);
      float4 g = *reinterpret_cast<float4*>(dinp + i0);
      if (keep[0]) g.x += __fmul_rn(d.x, scale);
      if (keep[1]) g.y += __fmul_rn(d.y, scale);
      if (keep[2]) g.z += __fmul_rn(d.z, scale);
      if (keep[3]) g.w += __fmul_rn(d.w, scale);
      *reinterpret_cast<float4*>(dinp + i0) = g;
      return;
    }
    for (int l = 0; l < 4 && i0 + l < N; ++l)
      if (keep[l]) dinp[i0 + l] += __fmul_rn(dout[i0 + l], scale);
  }
};

template <bool Vec>
struct MaskOp {
  uint8_t* mask;
  __device__ void operator()(int64_t i0, const bool keep[4], bool full, int64_t N, float) const {
    if (Vec && full) {
      *reinterpret_cast<uchar4*>(mask + i0) = make_uchar4(keep[0], keep[1], keep[2], keep[3]);
      return;
    }
    for (int l = 0; l < 4 && i0 + l < N; ++l) mask[i0 + l] = keep[l] ? 1 : 0;
  }
};

template <class Op>
__global__ void dropout_kernel(Op op, int64_t N, float p, float scale, uint64_t seed, uint64_t offset) {
  const int64_t g = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;  // group of 4 elements
  if (4 * g >= N) return;
  bool keep[4];
  dropout_mask4(seed, offset, static_cast<uint64_t>(g), p, [&](int lane, bool k) { keep[lane] = k; });
  op(4 * g, keep, 4 * g + 3 < N, N, scale);
}

bool aligned(const void* ptr, size_t bytes) { return reinterpret_cast<uintptr_t>(ptr) % bytes == 0; }

void check_f32(const char* op, DType dtype) {
  DOCBERT_CHECK(dtype == DType::F32, "{}: dtype {} is not supported on cuda (f32)", op, dtype_name(dtype));
}

template <class Op>
void launch(const char* op_name, Op op, int64_t N, float p, uint64_t seed, uint64_t offset) {
  DOCBERT_CHECK(N >= 0, "{}: N must be >= 0, got {}", op_name, N);  // before philox_advance's unsigned N
  DOCBERT_CHECK(p >= 0.0f && p < 1.0f, "{}: p must be in [0, 1), got {}", op_name, p);
  const auto groups = static_cast<int64_t>(philox_advance(static_cast<uint64_t>(N)));  // one thread each
  const unsigned grid = grid_1d(op_name, groups, kBlock);
  if (grid == 0) return;
  dropout_kernel<<<grid, kBlock, 0, stream()>>>(op, N, p, dropout_scale(p), seed, offset);
  CUDA_CHECK_LAUNCH();
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// kernel launchers

void dropout_forward(const DropoutParams& p) {
  check_f32("dropout_forward", p.dtype);
  auto* out = static_cast<float*>(p.out);
  auto* inp = static_cast<const float*>(p.inp);
  if (aligned(out, 16) && aligned(inp, 16))
    launch("dropout_forward", ForwardOp<true>{out, inp}, p.N, static_cast<float>(p.p), p.seed, p.offset);
  else
    launch("dropout_forward", ForwardOp<false>{out, inp}, p.N, static_cast<float>(p.p), p.seed, p.offset);
}

void dropout_backward(const DropoutParams& p) {
  check_f32("dropout_backward", p.dtype);
  auto* dinp = static_cast<float*>(p.dinp);
  auto* dout = static_cast<const float*>(p.dout);
  if (aligned(dinp, 16) && aligned(dout, 16))
    launch("dropout_backward", BackwardOp<true>{dinp, dout}, p.N, static_cast<float>(p.p), p.seed, p.offset);
  else
    launch("dropout_backward", BackwardOp<false>{dinp, dout}, p.N, static_cast<float>(p.p), p.seed, p.offset);
}

void dropout_mask(const DropoutParams& p) {
  if (aligned(p.mask, 4))
    launch("dropout_mask", MaskOp<true>{p.mask}, p.N, static_cast<float>(p.p), p.seed, p.offset);
  else
    launch("dropout_mask", MaskOp<false>{p.mask}, p.N, static_cast<float>(p.p), p.seed, p.offset);
}

}  // namespace docbert::cuda
