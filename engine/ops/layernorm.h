// engine/ops/layernorm.h: LayerNorm over the last dimension (BERT's every sub-layer output and embeddings).
//
// CPU f32/f64 or CUDA f32/bf16 (kernels/layernorm.h), differentiable in x, gamma and beta. The forward saves each
// row's mean and rstd (llm.c style; f32 on CUDA) so the backward never recomputes the statistics; the variance is
// the biased one, as in PyTorch.
#pragma once

#include "engine/tensor.h"

namespace docbert {

// out = (x - mean) * rstd * gamma + beta, with mean/var over the last dim and rstd = 1 / sqrt(var + eps).
//   x     (N..., C)  at least one dim
//   gamma (C)        scale (HF "weight")
//   beta  (C)        shift (HF "bias")
//   eps              added to the variance (BERT: 1e-12)
//   out   (N..., C)  newly allocated
// With C == 1 every row normalises to 0, so out == beta and dx == dgamma == 0.
// Backward: dx via the usual projection (llm.c), dgamma += sum_rows norm * dout, dbeta += sum_rows dout; the row
// sums are split over columns, so they do not depend on the thread count.
Tensor layer_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps);

}  // namespace docbert
