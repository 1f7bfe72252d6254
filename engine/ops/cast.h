// engine/ops/cast.h: the differentiable dtype conversion, the building block of mixed precision (a bf16 copy of an
// f32 weight or activation for a GEMM, whose gradient flows back into the f32 tensor).
#pragma once

#include "engine/tensor.h"

namespace docbert {

// out = x converted to `dtype` (f32, f64 or bf16; rounding to nearest even), on x's device; the gradient is dout
// converted back to x's dtype and accumulated. Returns x itself when it already has `dtype`.
//   x: any shape, a float dtype.  out: x's shape, `dtype`.
Tensor cast(const Tensor& x, DType dtype);

}  // namespace docbert
