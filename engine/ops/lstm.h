// engine/ops/lstm.h: one LSTM layer, one direction, over a padded batch with per-sequence lengths.
//
// PyTorch semantics (torch.nn.LSTM with a packed sequence), so HF/PyTorch weights load without conversion:
//
//   gates = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh          (B, G), G = 4H
//   i = sigmoid(gates[:, 0:H])      input gate
//   f = sigmoid(gates[:, H:2H])     forget gate
//   g = tanh   (gates[:, 2H:3H])    cell candidate
//   o = sigmoid(gates[:, 3H:4H])    output gate
//   c_t = f * c_{t-1} + i * g,   h_t = o * tanh(c_t),   h_{-1} = c_{-1} = 0
//
// Gate order is PyTorch's i, f, g, o (not haste's i, g, f, o): row block k of W_ih, W_hh, b_ih and b_hh
// belongs to gate k above. A bidirectional layer is two calls (reverse = false, true) whose `out`s are
// concatenated on the last dim, forward first (PyTorch's layout), with the same weights as
// weight_*_l0 and weight_*_l0_reverse.
#pragma once

#include "engine/tensor.h"

namespace docbert {

// The three outputs of lstm_layer; all come from one autograd node and any subset may carry a gradient.
struct LstmOutput {
  Tensor out;  // (B, T, H): h_t at t < lengths[b], zeros at t >= lengths[b] (pad_packed_sequence's padding)
  Tensor h_n;  // (B, H) hidden state after the last processed step: t = len-1 forward, t = 0 reverse
  Tensor c_n;  // (B, H) cell state after the same step
};

// Runs one direction of an LSTM layer. Float tensors share one dtype and device: f32 or f64 on the CPU, f32 on
// CUDA; lengths may live on either (they are checked on the host).
//
//   x        (B, T, I) input sequence, batch first; positions t >= lengths[b] are ignored (get zero gradient)
//   lengths  (B) i32 or i64, each in [1, T]: the true length of each sequence
//   w_ih     (G, I) input-to-hidden weights, G = 4H, row blocks i, f, g, o (PyTorch weight_ih_l0)
//   w_hh     (G, H) hidden-to-hidden weights, same row blocks (weight_hh_l0)
//   b_ih     (G) or undefined (no bias); b_hh (G) or undefined. Both are added, as in PyTorch.
//   reverse  false: t = 0 .. len-1. true: t = len-1 .. 0, starting at each sequence's TRUE end, as a packed
//            reverse direction does (padding never enters the state).
//
// x and every weight/bias are differentiable. The input projection of all time steps is one GEMM. On the CPU
// the sequences are processed longest first so that the active ones at each step form a contiguous
// (B_active, H) block for the recurrent GEMM; CUDA runs all B rows at every step and leaves finished ones
// untouched (kernels/lstm.cu). When autograd records the op, the gate activations and the cell and hidden
// states of every real step are kept for backpropagation through time.
//
// Determinism: as for linear() (engine/ops/linear.h), the CPU GEMMs run on Eigen's OpenMP threads, which split
// the output and never a sum, and every other reduction runs in a fixed order; results are reproducible run to
// run and bit-identical for any thread count >= 2 (Eigen blocks K differently on exactly 1 thread). CUDA uses
// f32 cuBLAS GEMMs (no TF32) and atomic-free reductions: reproducible run to run on one GPU.
LstmOutput lstm_layer(const Tensor& x, const Tensor& lengths, const Tensor& w_ih, const Tensor& w_hh,
                      const Tensor& b_ih, const Tensor& b_hh, bool reverse);

}  // namespace docbert
