// kernels/pool.h: masked max-pooling over time, params and CUDA launchers (plain C++; the CPU implementation is
// engine/ops/pool.cpp, the op is documented in engine/ops/pool.h).
//
// Dimension letters: B batch, T time steps, C channels. Pointers are contiguous, on the op's device; x, out, dx and
// dout in `dtype` (CPU: f32/f64; CUDA: f32/bf16). Lengths are validated on the host before any launch
// (checked_indices). The backward accumulates (+=).
#pragma once

#include "base/dtype.h"

#include <cstdint>

namespace docbert {

struct MaxPoolParams {
  DType dtype = DType::F32;
  int64_t B = 0, T = 0, C = 0;
  const int64_t* lengths = nullptr;  // (B) each in [1, T]
  const void* x = nullptr;           // (B,T,C)
  void* out = nullptr;               // (B,C) forward: max over t < lengths[b] of x[b,t,c]
  int64_t* argmax = nullptr;         // (B,C) forward writes the first t attaining the max, backward reads it
  void* dx = nullptr;                // (B,T,C) backward: dx[b, argmax[b,c], c] += dout[b,c]
  const void* dout = nullptr;        // (B,C)
};

namespace cuda {
void max_pool_forward(const MaxPoolParams& p);
void max_pool_backward(const MaxPoolParams& p);
}  // namespace cuda

}  // namespace docbert
