// engine/ops/shape.h: copying layout ops along any dimension.
//
// Both copy into a new contiguous tensor (Tensor::reshape and slice_rows are the zero-copy views, but only a
// leading-dim slice is contiguous). The forward accepts any dtype on either device (ids can be concatenated
// too; kernels/shape.h); gradients flow for the float dtypes (CPU f32/f64, CUDA f32/bf16). `dim` may be negative
// (counted from the end, -1 is the last dim).
#pragma once

#include "engine/tensor.h"

#include <cstdint>
#include <vector>

namespace docbert {

// Joins tensors along `dim`.
//   xs   k >= 1 tensors of one dtype and rank, with equal sizes in every dim but `dim`: (A..., S_i, B...)
//   out  (A..., sum_i S_i, B...)  newly allocated
// The BiLSTM joins its directions with concat({fwd, bwd}, -1): two (B,T,H) -> (B,T,2H).
// Backward: each input that requires grad receives its own part of dout.
Tensor concat(const std::vector<Tensor>& xs, int64_t dim);

// Copies elements [begin, end) of `dim`.
//   x    (A..., S, B...)
//   out  (A..., end - begin, B...)  newly allocated; 0 <= begin <= end <= S
// BERT's pooler takes the [CLS] row with slice(h, 1, 0, 1): (B,T,C) -> (B,1,C).
// Backward: dx[..., begin:end, ...] += dout.
Tensor slice(const Tensor& x, int64_t dim, int64_t begin, int64_t end);

}  // namespace docbert
