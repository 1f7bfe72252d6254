// engine/autocast.h: mixed precision for the GEMM-shaped ops.
//
// Inside an AutocastGuard(DType::BF16), linear and self_attention on CUDA with f32 operands compute on bf16 copies
// of them (differentiable casts, engine/ops/cast.h: the gradients flow back into the f32 tensors) with f32
// accumulation, and return f32: every other op sees f32 as before, so LayerNorm statistics, softmax and loss
// reductions, the master weights and the optimizer state stay f32. This is the policy of PyTorch's autocast for
// these ops (bf16 operands, f32 accumulation), except that outputs are converted back to f32 at once, which costs a
// pass over each GEMM output and keeps the rest of the graph in one dtype. On the CPU the guard changes nothing: CPU
// implementations compute in f32 or f64 only, and the trainers refuse --precision bf16 there.
#pragma once

#include "base/dtype.h"

namespace docbert {

// The dtype GEMM operands are cast to, F32 when autocast is off (the default).
DType autocast_dtype();

// Sets the autocast dtype (F32: off, BF16: on) for its lifetime, on this thread; nests.
class AutocastGuard {
 public:
  explicit AutocastGuard(DType dtype);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  DType previous_;
};

}  // namespace docbert
