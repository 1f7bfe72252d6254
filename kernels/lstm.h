// kernels/lstm.h: the LSTM layer's params and CUDA launchers (plain C++; the CPU implementation is
// engine/ops/lstm.cpp, the formulas and the length semantics are engine/ops/lstm.h's).
//
// Dimension letters: B batch, T time, I input size, H hidden, G = 4H gates (row blocks i, f, g, o).
// Step s of sequence b (s < lengths[b]) is time t = s forward and t = lengths[b] - 1 - s reverse; positions
// t >= lengths[b] are padding and never enter the state.
//
// What the forward saves for the backward lives in R rows whose layout is the implementation's:
//   CPU:  R = N = sum of lengths, the real steps packed longest first (pack_padded_sequence's order);
//   CUDA: R = B*T, row b*T + t; padding rows of xs are zero, the other saved padding rows are not read.
// Pointers are contiguous, on the op's device, in `dtype` (CPU: f32/f64; CUDA: f32). The wrapper allocates
// every buffer; launchers allocate their own workspace. Backward launchers accumulate (+=); a null gradient
// pointer is skipped (dx, dw_*, db_*) or reads as zeros (dout, dh_n, dc_n).
#pragma once

#include "base/dtype.h"

#include <cstdint>

namespace docbert {

struct LstmParams {
  DType dtype = DType::F32;
  int64_t B = 0, T = 0, I = 0, H = 0;
  bool reverse = false;
  const int64_t* lengths = nullptr;  // (B) each in [1, T], checked by the wrapper
  const void* x = nullptr;           // (B,T,I)
  const void* w_ih = nullptr;        // (G,I)
  const void* w_hh = nullptr;        // (G,H)
  const void* b_ih = nullptr;        // (G) or null
  const void* b_hh = nullptr;        // (G) or null
  // forward outputs, every element written
  void* out = nullptr;  // (B,T,H) h_t at t < lengths[b], zeros elsewhere
  void* h_n = nullptr;  // (B,H) h after each sequence's last step
  void* c_n = nullptr;  // (B,H) c after the same step
  // saved by the forward for the backward (layout above)
  void* gates = nullptr;  // (R,G) activations i, f, g, o of each step
  void* cs = nullptr;     // (R,H) c_t
  void* hs = nullptr;     // (R,H) h_t
  void* xs = nullptr;     // (R,I) x_t
  // backward
  const void* dout = nullptr;  // (B,T,H) or null
  const void* dh_n = nullptr;  // (B,H) or null
  const void* dc_n = nullptr;  // (B,H) or null
  void* dx = nullptr;          // (B,T,I) or null; padding positions get nothing added
  void* dw_ih = nullptr;       // (G,I) or null
  void* dw_hh = nullptr;       // (G,H) or null
  void* db_ih = nullptr;       // (G) or null: both biases get the column sums of dL/d(pre-activation gates)
  void* db_hh = nullptr;       // (G) or null
};

namespace cuda {
void lstm_forward(const LstmParams& p);
void lstm_backward(const LstmParams& p);
}  // namespace cuda

}  // namespace docbert
