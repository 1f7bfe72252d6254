// kernels/attention.h: masked multi-head self-attention's params and CUDA launchers (plain C++; the CPU
// implementation and the op's semantics are engine/ops/attention.{h,cpp}).
//
// Dimension letters: B batch, T tokens, C hidden, NH heads, HS = C / NH head size. Pointers are contiguous, on the
// op's device, in `dtype` (CPU: f32/f64; CUDA: f32/bf16, scores and softmax in f32). Head h of batch row b reads
// Q, K, V from columns [h*HS, (h+1)*HS) of the three C-wide blocks of qkv and writes the same columns of out.
// The backward launcher accumulates (+=); a null dqkv is skipped.
//
// Dropout on the probabilities: element e = ((b*NH + h)*T + i)*T + j of the flattened (B,NH,T,T) tensor is kept iff
// philox_uniform(seed, offset, e) >= float(dropout_p) (kernels/philox.h, dropout_mask4), kept ones scaled by
// 1/(1 - dropout_p): the same mask on both devices. The backward regenerates it.
#pragma once

#include "base/dtype.h"

#include <cstdint>

namespace docbert {

struct AttentionParams {
  DType dtype = DType::F32;
  int64_t B = 0, T = 0, C = 0, NH = 1;  // C a multiple of NH
  double dropout_p = 0;                 // in [0, 1); 0 when not training
  uint64_t seed = 0, offset = 0;
  void* out = nullptr;         // (B,T,C)
  void* probs = nullptr;       // (B,NH,T,T) softmax(Q K^T / sqrt(HS) + mask) before dropout, written by the forward
                               // for the backward; null when no backward will run
  const void* qkv = nullptr;   // (B,T,3C) [Q | K | V]
  const void* mask = nullptr;  // (B,T) additive over key positions, or null
  void* dqkv = nullptr;        // (B,T,3C) backward: dqkv += dL/dqkv; must not overlap the others
  const void* dout = nullptr;  // (B,T,C)
};

namespace cuda {
void attention_forward(const AttentionParams& p);
void attention_backward(const AttentionParams& p);  // needs the probs its forward wrote
}  // namespace cuda

}  // namespace docbert
