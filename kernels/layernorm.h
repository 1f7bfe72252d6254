// kernels/layernorm.h: LayerNorm over the last dimension, params and CUDA launchers (plain C++; the CPU
// implementation and the formulas are engine/ops/layernorm.{h,cpp}).
//
// Dimension letters: N rows (every dim but the last, flattened), C channels. Pointers are contiguous, on the op's
// device. Data pointers are in `dtype` (CPU: f32/f64; CUDA: f32/bf16, computing in f32). The saved statistics are
// in the CPU's data dtype there and always f32 on CUDA. Backward launchers accumulate (+=); null gradients are
// skipped.
#pragma once

#include "base/dtype.h"

#include <cstdint>

namespace docbert {

struct LayerNormParams {
  DType dtype = DType::F32;
  int64_t N = 0, C = 0;
  double eps = 1e-12;           // added to the biased variance, > 0
  void* out = nullptr;          // (N,C) forward: (x - mean) * rstd * gamma + beta
  void* mean = nullptr;         // (N)   forward writes each row's mean, backward reads it
  void* rstd = nullptr;         // (N)   forward writes 1 / sqrt(var + eps), backward reads it
  const void* x = nullptr;      // (N,C)
  const void* gamma = nullptr;  // (C)
  const void* beta = nullptr;   // (C)
  void* dx = nullptr;           // (N,C) backward: += rstd * (dnorm - mean(dnorm) - norm * mean(dnorm * norm))
  void* dgamma = nullptr;       // (C)   backward: += sum over rows of norm * dout, rows in order
  void* dbeta = nullptr;        // (C)   backward: += sum over rows of dout, rows in order
  const void* dout = nullptr;   // (N,C)
};

namespace cuda {
void layernorm_forward(const LayerNormParams& p);
void layernorm_backward(const LayerNormParams& p);
}  // namespace cuda

}  // namespace docbert
