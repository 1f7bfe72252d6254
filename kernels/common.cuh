// kernels/common.cuh: what the launchers in kernels/*.cu share (CUDA code only): the element types a kernel
// computes on, dtype dispatch, f32 loads/stores of any of them, alignment checks and the deterministic column sums
// that bias-like gradients reduce with.
#pragma once

#include "base/dtype.h"
#include "kernels/cuda_check.h"
#include "kernels/launch.h"
#include "kernels/runtime.h"
#include "kernels/stream.h"

#include <cuda_bf16.h>

#include <cstdint>

namespace docbert::cuda {

using bf16_t = __nv_bfloat16;

// Calls f(float{}) or f(bf16_t{}) according to dtype: the float types CUDA kernels take. f64 is the CPU's
// gradient-check type and is rejected by name.
template <class F>
auto dispatch_float(DType dtype, const char* op, F&& f) {
  if (dtype == DType::F32) return f(float{});
  if (dtype == DType::BF16) return f(bf16_t{});
  DOCBERT_THROW("{}: dtype {} is not supported on cuda (f32 or bf16)", op, dtype_name(dtype));
}

// Loads as f32 / stores from f32 for either element type; math is always f32.
__device__ __forceinline__ float to_f32(float x) { return x; }
__device__ __forceinline__ float to_f32(bf16_t x) { return __bfloat162float(x); }
template <class T>
__device__ __forceinline__ T from_f32(float x);
template <>
__device__ __forceinline__ float from_f32<float>(float x) {
  return x;
}
template <>
__device__ __forceinline__ bf16_t from_f32<bf16_t>(float x) {
  return __float2bfloat16_rn(x);
}

inline bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

// Threads for items work items, kBlock per block (grid_1d checks the range).
constexpr int kBlock = 256;

// A temporary device buffer from the caching allocator for one launcher's workspace; released at scope exit,
// which is safe while kernels still use it: the next user of the block is enqueued after them on the stream.
class Scratch {
 public:
  explicit Scratch(size_t nbytes) : ptr_(nbytes ? alloc(nbytes) : nullptr) {}
  ~Scratch() { release(ptr_); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  template <class T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }

 private:
  void* ptr_;
};

// ---------------------------------------------------------------------------------------------------
// column sums: dst (C) += sum over r in [0, R) of term(r, c), deterministic.
// Pass 1: the rows are cut into kColChunks fixed chunks; block (x, chunk) sums its chunk's rows of 32 columns
// (one thread per column: each warp reads 32 consecutive floats of a row) into partial[chunk][c]. Pass 2 adds the
// chunks' partials in chunk order. No atomics, so the result is the same run to run.

constexpr int kColChunks = 64;

template <class Term>
__global__ void column_partials_kernel(float* partial, int64_t R, int64_t C, int64_t rows_per_chunk, Term term) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t r0 = blockIdx.y * rows_per_chunk, r1 = r0 + rows_per_chunk < R ? r0 + rows_per_chunk : R;
  if (c >= C) return;
  float acc = 0;
  for (int64_t r = r0; r < r1; ++r) acc += term(r, c);
  partial[blockIdx.y * C + c] = acc;
}

template <class T>
__global__ void column_finish_kernel(T* dst, const float* partial, int64_t C, int chunks) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= C) return;
  float acc = 0;
  for (int k = 0; k < chunks; ++k) acc += partial[k * C + c];
  dst[c] = from_f32<T>(to_f32(dst[c]) + acc);
}

template <class T, class Term>
void column_sums_into(const char* op, T* dst, int64_t R, int64_t C, Term term) {
  if (R <= 0 || C <= 0) return;
  const int chunks = static_cast<int>(std::min<int64_t>(kColChunks, R));
  const int64_t rows_per_chunk = (R + chunks - 1) / chunks;
  Scratch partial(static_cast<size_t>(chunks) * static_cast<size_t>(C) * sizeof(float));
  const dim3 grid(grid_1d(op, C, 32), static_cast<unsigned>(chunks));
  column_partials_kernel<<<grid, 32, 0, stream()>>>(partial.as<float>(), R, C, rows_per_chunk, term);
  CUDA_CHECK_LAUNCH();
  column_finish_kernel<<<grid_1d(op, C, kBlock), kBlock, 0, stream()>>>(dst, partial.as<float>(), C, chunks);
  CUDA_CHECK_LAUNCH();
}

// ---------------------------------------------------------------------------------------------------
// warp reductions (row-per-warp kernels): every lane of a full warp gets the sum / max of the 32 lanes' values.
// The butterfly adds the same pairs in the same order on every lane and every run.

__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

}  // namespace docbert::cuda
