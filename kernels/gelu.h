// kernels/gelu.h: GELU on the GPU, both forms (BERT's exact erf and the tanh approximation).
//
// The formulas are the CPU op's (engine/ops/elementwise.cpp), term for term, so GPU and CPU agree to f32
// rounding (erff/tanhf/expf differ by a few ulp between glibc and CUDA's libdevice). kernels/ does not
// depend on engine/, so the form is a bool rather than docbert::GeluKind: tanh_form = (kind == GeluKind::Tanh).
//
// Dimension letters: N = number of elements (any tensor, flattened). Every pointer is device f32, contiguous,
// allocated by the caller. Launchers are asynchronous on `stream`; N == 0 launches nothing.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace docbert {

// out = gelu(inp).
//   out (N)  output; may be the same pointer as inp (in place)
//   inp (N)  input
void gelu_forward(float* out, const float* inp, int64_t N, bool tanh_form, cudaStream_t stream);

// dinp += gelu'(inp) * dout. Accumulates, like every backward: zero dinp first for a plain gradient.
//   dinp (N)  input and output; must not overlap inp or dout
//   inp  (N)  the forward's input
//   dout (N)  gradient of the forward's output
void gelu_backward(float* dinp, const float* inp, const float* dout, int64_t N, bool tanh_form, cudaStream_t stream);

}  // namespace docbert
