// kernels/softmax.h: softmax and log-softmax over the last dimension, params and CUDA launchers (plain C++; the
// CPU implementation and the formulas are engine/ops/softmax.{h,cpp}).
//
// Dimension letters: N rows (every dim but the last, flattened), K entries per row. Pointers are contiguous, on
// the op's device, in `dtype` (CPU: f32/f64; CUDA: f32/bf16, computing in f32). Backward launchers accumulate (+=);
// a null dx is skipped.
#pragma once

#include "base/dtype.h"

#include <cstdint>

namespace docbert {

struct SoftmaxParams {
  bool log = false;  // log_softmax instead of softmax
  DType dtype = DType::F32;
  int64_t N = 0, K = 0;
  void* out = nullptr;         // (N,K) forward: softmax(x) or log_softmax(x) of each row, max-subtracted
  const void* x = nullptr;     // (N,K)
  void* dx = nullptr;          // (N,K) backward: += out * (dout - <dout, out>), or dout - exp(out) * sum(dout) for log
  const void* dout = nullptr;  // (N,K)
};

namespace cuda {
void softmax_forward(const SoftmaxParams& p);
void softmax_backward(const SoftmaxParams& p);
}  // namespace cuda

}  // namespace docbert
