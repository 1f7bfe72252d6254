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
// allocated by the caller. p must be in [0, 1). Launchers are asynchronous on `stream`; N == 0 launches nothing.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace docbert {

// out = mask * inp * scale.
//   out (N)  f32 output; may be the same pointer as inp (in place)
//   inp (N)  f32 input
void dropout_forward(float* out, const float* inp, int64_t N, float p, uint64_t seed, uint64_t offset,
                     cudaStream_t stream);

// dinp += mask * dout * scale, with the forward's (p, seed, offset). Accumulates like every backward.
//   dinp (N)  f32 input and output; must not overlap dout
//   dout (N)  f32 gradient of the forward's output
void dropout_backward(float* dinp, const float* dout, int64_t N, float p, uint64_t seed, uint64_t offset,
                      cudaStream_t stream);

// The mask itself, for tests and debugging.
//   mask (N)  u8 output: 1 where the element is kept, 0 where it is dropped
void dropout_mask(uint8_t* mask, int64_t N, float p, uint64_t seed, uint64_t offset, cudaStream_t stream);

}  // namespace docbert
