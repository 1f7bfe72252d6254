// engine/ops/softmax.h: softmax and log-softmax over the last dimension.
//
// CPU f32/f64 or CUDA f32/bf16 (kernels/softmax.h), differentiable. Both subtract each row's maximum before
// exponentiating, so inputs of any magnitude (masked scores of -1e4, logits of +-80 in f32) neither overflow nor
// lose the largest terms.
#pragma once

#include "engine/tensor.h"

namespace docbert {

// out[r, k] = exp(x[r, k] - max_r) / sum_j exp(x[r, j] - max_r)
//   x   (N..., K)  at least one dim, K >= 1
//   out (N..., K)  newly allocated; each row sums to 1
// Backward: dx = out * (dout - sum_k dout * out).
Tensor softmax(const Tensor& x);

// out[r, k] = x[r, k] - max_r - log sum_j exp(x[r, j] - max_r), i.e. log(softmax(x)) without its underflow.
//   x   (N..., K)  at least one dim, K >= 1
//   out (N..., K)  newly allocated
// Backward: dx = dout - exp(out) * sum_k dout.
Tensor log_softmax(const Tensor& x);

}  // namespace docbert
