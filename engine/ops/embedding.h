// engine/ops/embedding.h: table lookup (word, position and token-type embeddings; the student's word vectors).
//
// CPU f32/f64 or CUDA f32/bf16 (kernels/embedding.h), differentiable in the table only. Every id is validated on
// the host before anything is read, so a bad tokenizer or data file fails with the offending id and where it sits
// instead of reading out of bounds.
#pragma once

#include "engine/tensor.h"

namespace docbert {

// out[n..., :] = table[ids[n...], :]
//   ids   (N...)     i32 or i64, each in [0, V) (an error names the first bad id, its position and V)
//   table (V, C)     float
//   out   (N..., C)  newly allocated
// Backward: dtable[ids[n], :] += dout[n, :] (scatter-add; repeated ids accumulate). Threads own blocks of the C
// columns and visit the tokens in order, so the sums do not depend on the thread count; on CUDA each used row sums
// its tokens' gradients in token order from lists the host builds from the checked ids (no atomics).
Tensor embedding(const Tensor& ids, const Tensor& table);

}  // namespace docbert
