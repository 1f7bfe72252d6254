// kernels/tensor_ops.h: the CUDA side of Tensor's own operations (engine/tensor.cpp, engine/autograd.cpp): fill,
// dtype conversion and the gradient accumulation every pass-through backward uses; and the params of the
// differentiable cast op (engine/ops/cast.h), the building block of bf16 autocast. Plain C++.
// Pointers are contiguous; N elements. Launchers are asynchronous on the compute stream.
#pragma once

#include "base/dtype.h"

#include <cstdint>

namespace docbert {

// out = inp converted from `from` to `to` (float dtypes); backward: dinp += dout converted back to `from`.
struct CastParams {
  DType from = DType::F32, to = DType::F32;
  int64_t N = 0;
  void* out = nullptr;         // (N) in `to`
  const void* inp = nullptr;   // (N) in `from`
  void* dinp = nullptr;        // (N) in `from`; null: nothing to do
  const void* dout = nullptr;  // (N) in `to`
};

namespace cuda {

void cast_forward(const CastParams& p);
void cast_backward(const CastParams& p);

// dst (N) = value, converted to dtype as engine/tensor.cpp's fill does (bf16: round to nearest even).
void fill(void* dst, DType dtype, int64_t N, double value);
// dst (N) = src (N) converted from src_dtype to dst_dtype: float -> float rounds to nearest (even for bf16),
// float -> int truncates toward zero, int -> float rounds. Same rules as the CPU's Tensor::to(DType).
void cast(void* dst, DType dst_dtype, const void* src, DType src_dtype, int64_t N);
// dst (N) += src (N), float dtypes (f32, bf16, f64).
void accumulate(void* dst, const void* src, DType dtype, int64_t N);

}  // namespace cuda
}  // namespace docbert
