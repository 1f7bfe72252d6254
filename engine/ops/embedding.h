// engine/ops/embedding.h: table lookup (word, position and token-type embeddings; the student's word vectors).
//
// CPU, differentiable in the table only. Every id is validated before anything is read, so a bad tokenizer or
// data file fails with the offending id and where it sits instead of reading out of bounds.
#pragma once

#include "engine/tensor.h"

namespace docbert {

// out[n..., :] = table[ids[n...], :]
//   ids   (N...)     i32 or i64, each in [0, V) (an error names the first bad id, its position and V)
//   table (V, C)     f32/f64
//   out   (N..., C)  newly allocated
// Backward: dtable[ids[n], :] += dout[n, :] (scatter-add; repeated ids accumulate). Threads own blocks of the C
// columns and visit the tokens in order, so the sums do not depend on the thread count.
Tensor embedding(const Tensor& ids, const Tensor& table);

}  // namespace docbert
