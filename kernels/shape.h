// kernels/shape.h: the strided block copy behind concat and slice, params and CUDA launchers (plain C++; the CPU
// implementation is engine/ops/shape.cpp, the ops are documented in engine/ops/shape.h).
//
// A tensor (A..., S, B...) cut at one dim is `outer` = prod(A) rows of S * prod(B) elements; concat and slice move
// a block of `len` elements from every row of one layout to every row of the other:
//   dst[o * dst_row + dst_off + j] = src[o * src_row + src_off + j],  o in [0, outer), j in [0, len)
// and the backward moves the gradient the other way, accumulating:
//   dsrc[o * src_row + src_off + j] += ddst[o * dst_row + dst_off + j]
// Sizes and offsets are in elements of `dtype`. The forward copies bytes, so any dtype moves (ids as well as
// floats); the backward adds in the float dtypes (CPU: f32/f64; CUDA: f32/bf16). Pointers are contiguous, on the
// op's device; within a call the blocks of different rows do not overlap, and src/dst (dsrc/ddst) are distinct.
#pragma once

#include "base/dtype.h"

#include <cstdint>

namespace docbert {

struct StridedCopyParams {
  DType dtype = DType::F32;
  int64_t outer = 0, len = 0;
  int64_t dst_row = 0, dst_off = 0;  // dst's row length and the block's start in it
  int64_t src_row = 0, src_off = 0;  // src's
  void* dst = nullptr;               // (outer, dst_row) forward output (only the blocks are written)
  const void* src = nullptr;         // (outer, src_row)
  void* dsrc = nullptr;              // (outer, src_row) backward: its blocks += ddst's; null is skipped
  const void* ddst = nullptr;        // (outer, dst_row)
};

namespace cuda {
void strided_copy_forward(const StridedCopyParams& p);
void strided_copy_backward(const StridedCopyParams& p);
}  // namespace cuda

}  // namespace docbert
