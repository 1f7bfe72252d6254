// kernels/elementwise.h: the pointwise family's params and CUDA launchers (plain C++; the CPU implementation is
// engine/ops/elementwise.cpp, the formulas are the ones documented in engine/ops/elementwise.h).
//
// Dimension letters: N elements (any tensor, flattened); R rows, S = the broadcast operand's numel.
// Pointers are contiguous, on the op's device, in `dtype` (CPU: f32/f64; CUDA: f32/bf16, computing in f32).
// Backward launchers accumulate (+=) like every backward; a null gradient pointer is skipped.
#pragma once

#include "base/dtype.h"

#include <cstdint>

namespace docbert {

enum class UnaryOp : uint8_t {
  Scale,     // alpha x
  Tanh,      // tanh x                 (backward reads out)
  Relu,      // max(x, 0); gradient 0 at x = 0
  Sigmoid,   // 1 / (1 + e^-x)         (backward reads out)
  GeluErf,   // 0.5 x (1 + erf(x / sqrt 2)), kernels/gelu_math.h
  GeluTanh,  // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
};

struct UnaryParams {
  UnaryOp op = UnaryOp::Scale;
  DType dtype = DType::F32;
  int64_t N = 0;
  double alpha = 1;            // Scale's factor
  void* out = nullptr;         // (N) forward output; may equal inp
  const void* inp = nullptr;   // (N) forward input
  void* dinp = nullptr;        // (N) backward: dinp += f'(inp) * dout; must not overlap the others
  const void* dout = nullptr;  // (N) gradient of out
};

enum class BinaryOp : uint8_t { Add, Mul };

// out (R,S) = a (R,S) op b (S), b broadcast over the R rows (b's shape is a trailing part of a's).
struct BinaryParams {
  BinaryOp op = BinaryOp::Add;
  DType dtype = DType::F32;
  int64_t R = 0, S = 0;
  void* out = nullptr;         // (R,S)
  const void* a = nullptr;     // (R,S)
  const void* b = nullptr;     // (S)
  void* da = nullptr;          // (R,S) backward: da += dout (add) or dout * b (mul)
  void* db = nullptr;          // (S)   backward: db += column sums of dout (add) or dout * a (mul), rows in order
  const void* dout = nullptr;  // (R,S)
};

namespace cuda {
void unary_forward(const UnaryParams& p);
void unary_backward(const UnaryParams& p);
void binary_forward(const BinaryParams& p);
void binary_backward(const BinaryParams& p);
}  // namespace cuda

}  // namespace docbert
