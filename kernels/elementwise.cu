// Pointwise kernels (kernels/elementwise.h). One thread per 4 consecutive elements, moved as one 16-byte access
// for f32 when the pointers are 16-byte aligned (checked on the host) and all 4 are in range: the ops are memory
// bound (8 bytes per element forward, 16 backward), and one scalar element per thread measured 0.78-0.87x of a device
// copy on an H100 for GELU (docs/kernels.md). The math is f32 for f32 and bf16 storage alike; the formulas are
// kernels/gelu_math.h's and engine/ops/math.h's, the functions the CPU implementation calls.
#include "kernels/elementwise.h"

#include "kernels/common.cuh"
#include "kernels/gelu_math.h"

namespace docbert::cuda {

namespace {

__device__ __forceinline__ float sigmoid_f(float x) {
  if (x >= 0) return 1.0f / (1.0f + expf(-x));
  const float e = expf(x);
  return e / (1.0f + e);
}

template <UnaryOp Op>
__device__ __forceinline__ float unary_f(float x, float alpha) {
  if constexpr (Op == UnaryOp::Scale) return x * alpha;
  if constexpr (Op == UnaryOp::Tanh) return tanhf(x);
  if constexpr (Op == UnaryOp::Relu) return x > 0 ? x : 0.0f;
  if constexpr (Op == UnaryOp::Sigmoid) return sigmoid_f(x);
  if constexpr (Op == UnaryOp::GeluErf) return gelu_erf(x);
  if constexpr (Op == UnaryOp::GeluTanh) return gelu_tanh(x);
}

// f'(x) * d, from the forward's input x or output y (whichever the derivative is cheaper in, as on the CPU).
template <UnaryOp Op>
__device__ __forceinline__ float unary_df(float x, float y, float d, float alpha) {
  if constexpr (Op == UnaryOp::Scale) return d * alpha;
  if constexpr (Op == UnaryOp::Tanh) return (1.0f - y * y) * d;
  if constexpr (Op == UnaryOp::Relu) return x > 0 ? d : 0.0f;
  if constexpr (Op == UnaryOp::Sigmoid) return y * (1.0f - y) * d;
  if constexpr (Op == UnaryOp::GeluErf) return gelu_erf_grad(x) * d;
  if constexpr (Op == UnaryOp::GeluTanh) return gelu_tanh_grad(x) * d;
}

template <UnaryOp Op, class T, bool Vec>
__global__ void unary_forward_kernel(T* out, const T* inp, int64_t N, float alpha) {
  const int64_t i0 = 4 * (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x);
  if (i0 >= N) return;
  if constexpr (Vec) {
    if (i0 + 3 < N) {
      const float4 x = *reinterpret_cast<const float4*>(inp + i0);
      *reinterpret_cast<float4*>(out + i0) = make_float4(unary_f<Op>(x.x, alpha), unary_f<Op>(x.y, alpha),
                                                         unary_f<Op>(x.z, alpha), unary_f<Op>(x.w, alpha));
      return;
    }
  }
  for (int l = 0; l < 4 && i0 + l < N; ++l) out[i0 + l] = from_f32<T>(unary_f<Op>(to_f32(inp[i0 + l]), alpha));
}

template <UnaryOp Op, class T, bool Vec>
__global__ void unary_backward_kernel(T* dinp, const T* inp, const T* out, const T* dout, int64_t N, float alpha) {
  const int64_t i0 = 4 * (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x);
  if (i0 >= N) return;
  if constexpr (Vec) {
    if (i0 + 3 < N) {
      const float4 x = *reinterpret_cast<const float4*>(inp + i0);
      const float4 y = *reinterpret_cast<const float4*>(out + i0);
      const float4 d = *reinterpret_cast<const float4*>(dout + i0);
      float4 g = *reinterpret_cast<float4*>(dinp + i0);
      g.x += unary_df<Op>(x.x, y.x, d.x, alpha);
      g.y += unary_df<Op>(x.y, y.y, d.y, alpha);
      g.z += unary_df<Op>(x.z, y.z, d.z, alpha);
      g.w += unary_df<Op>(x.w, y.w, d.w, alpha);
      *reinterpret_cast<float4*>(dinp + i0) = g;
      return;
    }
  }
  for (int l = 0; l < 4 && i0 + l < N; ++l) {
    const int64_t i = i0 + l;
    dinp[i] = from_f32<T>(to_f32(dinp[i]) + unary_df<Op>(to_f32(inp[i]), to_f32(out[i]), to_f32(dout[i]), alpha));
  }
}

unsigned grid_for(const char* op, int64_t N) {
  DOCBERT_CHECK(N >= 0, "{}: N must be >= 0, got {}", op, N);
  return grid_1d(op, N / 4 + (N % 4 != 0), kBlock);
}

// Calls f(std::integral_constant<UnaryOp, op>{}) for the runtime op.
template <class F>
void with_unary_op(UnaryOp op, F&& f) {
  switch (op) {
    case UnaryOp::Scale:
      return f(std::integral_constant<UnaryOp, UnaryOp::Scale>{});
    case UnaryOp::Tanh:
      return f(std::integral_constant<UnaryOp, UnaryOp::Tanh>{});
    case UnaryOp::Relu:
      return f(std::integral_constant<UnaryOp, UnaryOp::Relu>{});
    case UnaryOp::Sigmoid:
      return f(std::integral_constant<UnaryOp, UnaryOp::Sigmoid>{});
    case UnaryOp::GeluErf:
      return f(std::integral_constant<UnaryOp, UnaryOp::GeluErf>{});
    case UnaryOp::GeluTanh:
      return f(std::integral_constant<UnaryOp, UnaryOp::GeluTanh>{});
  }
}

// ---------------------------------------------------------------------------------------------------
// binary ops: out (R,S) = a (R,S) op b (S)

template <BinaryOp Op, class T>
__global__ void binary_forward_kernel(T* out, const T* a, const T* b, int64_t N, int64_t S) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= N) return;
  const float x = to_f32(a[i]), y = to_f32(b[i % S]);
  out[i] = from_f32<T>(Op == BinaryOp::Add ? x + y : x * y);
}

template <BinaryOp Op, class T>
__global__ void binary_da_kernel(T* da, const T* dout, const T* b, int64_t N, int64_t S) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= N) return;
  const float g = Op == BinaryOp::Add ? to_f32(dout[i]) : to_f32(dout[i]) * to_f32(b[i % S]);
  da[i] = from_f32<T>(to_f32(da[i]) + g);
}

template <class T>
struct MulColumnTerm {
  const T* dout;
  const T* a;
  int64_t S;
  __device__ float operator()(int64_t r, int64_t c) const { return to_f32(dout[r * S + c]) * to_f32(a[r * S + c]); }
};
template <class T>
struct AddColumnTerm {
  const T* dout;
  int64_t S;
  __device__ float operator()(int64_t r, int64_t c) const { return to_f32(dout[r * S + c]); }
};

}  // namespace

// ---------------------------------------------------------------------------------------------------
// launchers

void unary_forward(const UnaryParams& p) {
  const unsigned grid = grid_for("unary_forward", p.N);
  if (grid == 0) return;
  dispatch_float(p.dtype, "unary_forward", [&](auto tag) {
    using T = decltype(tag);
    auto* out = static_cast<T*>(p.out);
    auto* inp = static_cast<const T*>(p.inp);
    const float alpha = static_cast<float>(p.alpha);
    with_unary_op(p.op, [&](auto op) {
      if (std::is_same_v<T, float> && aligned16(out) && aligned16(inp))
        unary_forward_kernel<decltype(op)::value, T, std::is_same_v<T, float>>
            <<<grid, kBlock, 0, stream()>>>(out, inp, p.N, alpha);
      else
        unary_forward_kernel<decltype(op)::value, T, false><<<grid, kBlock, 0, stream()>>>(out, inp, p.N, alpha);
    });
  });
  CUDA_CHECK_LAUNCH();
}

void unary_backward(const UnaryParams& p) {
  const unsigned grid = grid_for("unary_backward", p.N);
  if (grid == 0 || !p.dinp) return;
  dispatch_float(p.dtype, "unary_backward", [&](auto tag) {
    using T = decltype(tag);
    auto* dinp = static_cast<T*>(p.dinp);
    auto *inp = static_cast<const T*>(p.inp), *out = static_cast<const T*>(p.out),
         *dout = static_cast<const T*>(p.dout);
    const float alpha = static_cast<float>(p.alpha);
    with_unary_op(p.op, [&](auto op) {
      if (std::is_same_v<T, float> && aligned16(dinp) && aligned16(inp) && aligned16(out) && aligned16(dout))
        unary_backward_kernel<decltype(op)::value, T, std::is_same_v<T, float>>
            <<<grid, kBlock, 0, stream()>>>(dinp, inp, out, dout, p.N, alpha);
      else
        unary_backward_kernel<decltype(op)::value, T, false>
            <<<grid, kBlock, 0, stream()>>>(dinp, inp, out, dout, p.N, alpha);
    });
  });
  CUDA_CHECK_LAUNCH();
}

void binary_forward(const BinaryParams& p) {
  const int64_t N = p.R * p.S;
  const unsigned grid = grid_1d("binary_forward", N, kBlock);
  if (grid == 0) return;
  dispatch_float(p.dtype, "binary_forward", [&](auto tag) {
    using T = decltype(tag);
    auto *a = static_cast<const T*>(p.a), *b = static_cast<const T*>(p.b);
    auto* out = static_cast<T*>(p.out);
    if (p.op == BinaryOp::Add)
      binary_forward_kernel<BinaryOp::Add, T><<<grid, kBlock, 0, stream()>>>(out, a, b, N, p.S);
    else
      binary_forward_kernel<BinaryOp::Mul, T><<<grid, kBlock, 0, stream()>>>(out, a, b, N, p.S);
  });
  CUDA_CHECK_LAUNCH();
}

void binary_backward(const BinaryParams& p) {
  const int64_t N = p.R * p.S;
  if (N == 0) return;
  dispatch_float(p.dtype, "binary_backward", [&](auto tag) {
    using T = decltype(tag);
    auto* dout = static_cast<const T*>(p.dout);
    if (p.da) {
      const unsigned grid = grid_1d("binary_backward", N, kBlock);
      if (p.op == BinaryOp::Add)
        binary_da_kernel<BinaryOp::Add, T>
            <<<grid, kBlock, 0, stream()>>>(static_cast<T*>(p.da), dout, static_cast<const T*>(p.b), N, p.S);
      else
        binary_da_kernel<BinaryOp::Mul, T>
            <<<grid, kBlock, 0, stream()>>>(static_cast<T*>(p.da), dout, static_cast<const T*>(p.b), N, p.S);
      CUDA_CHECK_LAUNCH();
    }
    if (p.db) {
      if (p.op == BinaryOp::Add)
        column_sums_into("binary_backward", static_cast<T*>(p.db), p.R, p.S, AddColumnTerm<T>{dout, p.S});
      else
        column_sums_into("binary_backward", static_cast<T*>(p.db), p.R, p.S,
                         MulColumnTerm<T>{dout, static_cast<const T*>(p.a), p.S});
    }
  });
}

}  // namespace docbert::cuda
