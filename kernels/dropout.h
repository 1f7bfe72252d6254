// kernels/dropout.h: inverted dropout on the GPU with the Philox mask shared with the CPU op.
//
// Mask convention (kernels/philox.h; the CPU op engine/ops/dropout.cpp uses the same one, so the masks are
// bit-identical for the same seed and offset):
//   element i is kept  iff  philox_uniform(seed, offset, i) >= p
//   kept elements are scaled by scale = 1.0f / (1.0f - p), computed in f32; dropped ones are 0.
// The mask is never stored: backward recomputes it from (seed, offset). A call consumes philox_advance(N)
// counters starting at `offset`, so the caller reserves them with RngStream::take(N).
//
// Dimension letters: N = number of elements (any tensor, flattened). Pointers are device memory, contiguous,
// allocated by the caller. Launchers are asynchronous on the compute stream; N == 0 launches nothing.
#pragma once

#include "base/dtype.h"

#include <cstdint>

namespace docbert {

struct DropoutParams {
  DType dtype = DType::F32;  // CPU: f32/f64; CUDA: f32
  int64_t N = 0;
  double p = 0;  // in [0, 1); the mask compares against float(p), the scale is 1/(1-p) in the op's type
  uint64_t seed = 0, offset = 0;
  void* out = nullptr;         // (N) forward: out = mask * inp * scale; may equal inp
  const void* inp = nullptr;   // (N)
  void* dinp = nullptr;        // (N) backward: dinp += mask * dout * scale; must not overlap dout
  const void* dout = nullptr;  // (N)
  uint8_t* mask = nullptr;     // (N) dropout_mask: 1 where kept, 0 where dropped (tests and debugging)
};

namespace cuda {
void dropout_forward(const DropoutParams& p);
void dropout_backward(const DropoutParams& p);
void dropout_mask(const DropoutParams& p);
}  // namespace cuda

}  // namespace docbert
