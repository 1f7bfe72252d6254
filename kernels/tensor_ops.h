// kernels/tensor_ops.h: the CUDA side of Tensor's own operations (engine/tensor.cpp, engine/autograd.cpp):
// fill, dtype conversion and the gradient accumulation every pass-through backward uses. Plain C++.
// Pointers are device memory, contiguous; N elements. Launchers are asynchronous on the compute stream.
#pragma once

#include "base/dtype.h"

#include <cstdint>

namespace docbert::cuda {

// dst (N) = value, converted to dtype as engine/tensor.cpp's fill does (bf16: round to nearest even).
void fill(void* dst, DType dtype, int64_t N, double value);
// dst (N) = src (N) converted from src_dtype to dst_dtype: float -> float rounds to nearest (even for bf16),
// float -> int truncates toward zero, int -> float rounds. Same rules as the CPU's Tensor::to(DType).
void cast(void* dst, DType dst_dtype, const void* src, DType src_dtype, int64_t N);
// dst (N) += src (N), float dtypes (f32, bf16, f64).
void accumulate(void* dst, const void* src, DType dtype, int64_t N);

}  // namespace docbert::cuda
