// engine/ops/attention.h: masked multi-head self-attention as one coarse, differentiable op (BERT semantics).
//
// The op starts after the fused QKV projection and stops before the output projection, so a BERT layer is
// linear(x, W_qkv) -> self_attention -> linear(., W_o). Everything in between (scores, mask, softmax,
// attention dropout, P V, the head merge) is one autograd node. CPU: per (b, h) Eigen GEMMs; CUDA: strided batched
// cuBLASLt GEMMs around a softmax kernel (kernels/attention.h), the reference for a later fused kernel.
#pragma once

#include "engine/tensor.h"

#include <cstdint>

namespace docbert {

// out = merge_heads(dropout(softmax(Q K^T / sqrt(HS) + mask)) V), per batch row b and head h.
//
//   qkv       (B, T, 3C) f32/f64 on the CPU, f32/bf16 on CUDA, the output of ONE fused projection laid out [Q | K | V]
//   along the last dim:
//             Q = columns [0,C), K = [C,2C), V = [2C,3C); head h reads columns [h*HS,(h+1)*HS) of each block,
//             HS = C / NH. This is HF's query, key and value weights (each (C,C)) stacked row-wise into one
//             (3C, C) weight (biases likewise). Differentiable.
//   mask_add  (B, T) same dtype and device as qkv, or undefined for no mask. An additive mask over KEY positions: 0 for
//             real tokens, a large negative (HF's -10000, or the dtype's lowest) for padding; broadcast over
//             heads and query positions (HF's "extended attention mask"). Never receives a gradient.
//   num_heads NH >= 1; C must be a multiple of NH.
//   dropout_p attention-probability dropout in [0, 1), applied only when `training`, under the mask convention
//             of engine/ops/dropout.h (so the CUDA kernel draws the same mask): element i of the flattened
//             (B, NH, T, T) probability tensor is kept iff philox_uniform(seed, offset, i) >= float(p), and
//             kept ones are scaled by 1/(1-p). The caller reserves the counters: offset = rng.take(B*NH*T*T).
//   returns   (B, T, C), head h in columns [h*HS,(h+1)*HS): ready for the output projection.
//
// Rows of padded QUERY positions are computed like any other (as in HF); only keys are masked. When autograd
// records the op, the pre-dropout probabilities (B, NH, T, T) are kept for backward and the dropout mask is
// regenerated from (seed, offset). On the CPU work is split over (b, h) pairs, one thread each: results do not
// depend on the thread count.
Tensor self_attention(const Tensor& qkv, const Tensor& mask_add, int64_t num_heads, double dropout_p = 0,
                      uint64_t seed = 0, uint64_t offset = 0, bool training = false);

}  // namespace docbert
