// engine/ops/pool.h: max-pooling over time with per-sequence lengths (the BiLSTM student's document vector).
//
// CPU f32/f64 or CUDA f32/bf16 (kernels/pool.h), differentiable in x. Padding positions (t >= lengths[b]) are
// never read, so whatever the padded rows hold (zeros, stale activations) cannot win the max.
#pragma once

#include "engine/tensor.h"

namespace docbert {

// out[b, c] = max over t < lengths[b] of x[b, t, c]
//   x       (B, T, C)  float
//   lengths (B)        i32 or i64, each in [1, T] (an error names the batch row otherwise)
//   out     (B, C)     newly allocated
// Backward: dx[b, t*, c] += dout[b, c] where t* is the argmax, the first such t on ties (saved by the forward).
Tensor masked_max_pool(const Tensor& x, const Tensor& lengths);

}  // namespace docbert
