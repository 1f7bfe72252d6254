// engine/ops/elementwise.h: pointwise ops and bias-style broadcasting.
//
// All take and return CPU f32/f64 tensors and are differentiable. Broadcasting is deliberately narrow:
// in add/mul the second operand's shape must be a trailing suffix of the first's (a bias (C) against
// (B,T,C), a row scale (T,C) against (B,T,C), or the same shape). The output has the first operand's shape.
#pragma once

#include "engine/tensor.h"

namespace docbert {

// out = a + b.  a: (..., S...)  b: (S...)  out: like a
Tensor add(const Tensor& a, const Tensor& b);
// out = a * b elementwise, same broadcasting as add.
Tensor mul(const Tensor& a, const Tensor& b);
// out = s * x
Tensor scale(const Tensor& x, double s);
Tensor tanh(const Tensor& x);
Tensor relu(const Tensor& x);  // gradient at exactly 0 is taken as 0
Tensor sigmoid(const Tensor& x);

enum class GeluKind {
  Erf,   // 0.5 x (1 + erf(x / sqrt 2)): BERT's "gelu" (hidden_act in HF configs)
  Tanh,  // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))): "gelu_new"/"gelu_pytorch_tanh"
};
Tensor gelu(const Tensor& x, GeluKind kind = GeluKind::Erf);

}  // namespace docbert
