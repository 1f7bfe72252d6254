// Tensor's own device operations (kernels/tensor_ops.h): fill, cast, accumulate. One thread per element;
// these run outside the training step's hot path (parameter init, checkpoint loading) or are a plain axpy.
#include "kernels/tensor_ops.h"

#include "kernels/common.cuh"

#include <cuda_bf16.h>

namespace docbert::cuda {

namespace {

// One element type of every DType, loaded as / stored from double (as engine/tensor.cpp's fill and to(DType)).
template <class F>
void with_type(DType t, F&& f) {
  switch (t) {
    case DType::F32:
      return f(float{});
    case DType::F64:
      return f(double{});
    case DType::BF16:
      return f(bf16_t{});
    case DType::I32:
      return f(int32_t{});
    case DType::I64:
      return f(int64_t{});
  }
}

template <class T>
__device__ __forceinline__ double load_d(const T* p, int64_t i) {
  if constexpr (std::is_same_v<T, bf16_t>)
    return static_cast<double>(__bfloat162float(p[i]));
  else
    return static_cast<double>(p[i]);
}

// Float -> bf16 conversion from double goes through f32 rounded to odd, then to nearest even: one correct
// rounding (base/dtype.h's bf16::from_double).
__device__ __forceinline__ bf16_t bf16_from_double(double x) {
  if (isnan(x)) return __float2bfloat16_rn(static_cast<float>(x));
  float f = static_cast<float>(x);
  if (static_cast<double>(f) != x) {
    unsigned u = __float_as_uint(f);
    if (fabs(static_cast<double>(f)) > fabs(x)) --u;
    u |= 1u;
    f = __uint_as_float(u);
  }
  return __float2bfloat16_rn(f);
}

template <class T>
__device__ __forceinline__ void store_d(T* p, int64_t i, double v) {
  if constexpr (std::is_same_v<T, bf16_t>)
    p[i] = bf16_from_double(v);
  else
    p[i] = static_cast<T>(v);
}

template <class T>
__global__ void fill_kernel(T* dst, int64_t N, double value) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < N) store_d(dst, i, value);
}

template <class D, class S>
__global__ void cast_kernel(D* dst, const S* src, int64_t N) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < N) store_d(dst, i, load_d(src, i));
}

template <class T>
__global__ void accumulate_kernel(T* dst, const T* src, int64_t N) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= N) return;
  if constexpr (std::is_same_v<T, bf16_t>)
    dst[i] = __float2bfloat16_rn(__bfloat162float(dst[i]) + __bfloat162float(src[i]));
  else
    dst[i] += src[i];
}

}  // namespace

void fill(void* dst, DType dtype, int64_t N, double value) {
  const unsigned grid = grid_1d("fill", N, kBlock);
  if (grid == 0) return;
  with_type(dtype, [&](auto tag) {
    using T = decltype(tag);
    fill_kernel<<<grid, kBlock, 0, stream()>>>(static_cast<T*>(dst), N, value);
  });
  CUDA_CHECK_LAUNCH();
}

void cast(void* dst, DType dst_dtype, const void* src, DType src_dtype, int64_t N) {
  const unsigned grid = grid_1d("cast", N, kBlock);
  if (grid == 0) return;
  with_type(dst_dtype, [&](auto dtag) {
    with_type(src_dtype, [&](auto stag) {
      using D = decltype(dtag);
      using S = decltype(stag);
      cast_kernel<<<grid, kBlock, 0, stream()>>>(static_cast<D*>(dst), static_cast<const S*>(src), N);
    });
  });
  CUDA_CHECK_LAUNCH();
}

void accumulate(void* dst, const void* src, DType dtype, int64_t N) {
  DOCBERT_CHECK(dtype_is_float(dtype), "accumulate: dtype {} is not a float type", dtype_name(dtype));
  const unsigned grid = grid_1d("accumulate", N, kBlock);
  if (grid == 0) return;
  with_type(dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_floating_point_v<T> || std::is_same_v<T, bf16_t>)
      accumulate_kernel<<<grid, kBlock, 0, stream()>>>(static_cast<T*>(dst), static_cast<const T*>(src), N);
  });
  CUDA_CHECK_LAUNCH();
}

void cast_forward(const CastParams& p) { cast(p.out, p.to, p.inp, p.from, p.N); }

// The gradient converted into a scratch buffer of the input's dtype, then accumulated: two passes, which a cast
// between two GEMMs can afford (autocast's casts are of weights and of GEMM inputs).
void cast_backward(const CastParams& p) {
  if (!p.dinp || p.N == 0) return;
  Scratch tmp(static_cast<size_t>(p.N) * dtype_size(p.from));
  cast(tmp.as<void>(), p.from, p.dout, p.to, p.N);
  accumulate(p.dinp, tmp.as<void>(), p.from, p.N);
}

}  // namespace docbert::cuda
