// engine/ops/dropout.h: inverted dropout with a Philox mask that is regenerated, never stored.
//
// Mask convention, shared bit for bit with the GPU kernel (kernels/dropout.h) and built on kernels/philox.h:
//   element i (flat index into x) is kept  iff  philox_uniform(seed, offset, i) >= static_cast<float>(p)
//   kept elements are multiplied by scale = T(1) / (T(1) - T(p)) in the compute type T (in f32 exactly the
//   GPU's 1.0f / (1.0f - p)); dropped elements are 0.
// philox_uniform has 24 random bits, so the comparison is exact on any device. A call reads the counters
// [offset, offset + philox_advance(N)), N = x.numel(): the caller reserves them with RngStream::take(N) and
// passes the returned offset, so two dropout calls never share a mask. The backward recomputes the mask from
// (seed, offset), so nothing of size N is kept alive between the passes.
#pragma once

#include "engine/tensor.h"

#include <cstdint>

namespace docbert {

// out = mask * x * scale (see above).
//   x        (N...)  CPU f32/f64
//   p        drop probability, in [0, 1) (anything else is an error)
//   seed     the run's seed (RngStream::seed)
//   offset   first Philox counter of this call (RngStream::take(x.numel()))
//   training false, or p == 0, returns x itself (no copy, no tape node)
//   out      (N...)  newly allocated when training
// Backward: dx += mask * dout * scale.
Tensor dropout(const Tensor& x, double p, uint64_t seed, uint64_t offset, bool training);

}  // namespace docbert
