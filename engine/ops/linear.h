// engine/ops/linear.h: dense layers and batched matrix products (CPU: Eigen GEMMs over the raw buffers; CUDA:
// cuBLASLt, kernels/gemm.h).
//
// All take and return tensors of one dtype and device (CPU: f32/f64; CUDA: f32 without TF32, or bf16 with f32
// accumulation) and are differentiable in every float argument. Weights use the HF/PyTorch layout (OUT, IN), so
// checkpoints load without transposing.
//
// Threading and determinism on the CPU: one GEMM runs on Eigen's own OpenMP parallelisation, which splits the
// output and never the K sum; a batch of GEMMs runs one single-threaded GEMM per batch element in parallel. Results
// are reproducible run to run. They do not depend on the thread count either, with one exception: Eigen
// picks a different K blocking when it runs a single GEMM on 1 thread than on 2 or more, so every GEMM that
// runs alone may round differently with exactly 1 thread (and is bit-identical for any count >= 2): linear(),
// the unbatched matmul(), a batched matmul() with a 2-D b (folded into one (batch*M, K) GEMM when a is not
// transposed), and the gradient of such a shared 2-D b, which sums the batch serially, one GEMM at a time.
// On CUDA each product runs one cuBLASLt algorithm chosen once per shape: the same bits run to run.
#pragma once

#include "engine/tensor.h"

namespace docbert {

// out = x weight^T + bias.
//   x      (N..., IN)  any number of leading dims (at least one dim)
//   weight (OUT, IN)
//   bias   (OUT) or undefined (no bias)
//   out    (N..., OUT) newly allocated
// Backward: dx += dout weight, dweight += dout^T x, dbias += dout summed over the rows.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

// out = op(a) op(b) for every batch index, with op(m) = m^T (of the last two dims) when the flag is set.
//   a    (B..., M, K), or (B..., K, M) with trans_a; B... any number of batch dims, including none
//   b    (B..., K, N), or (B..., N, K) with trans_b; the same batch dims as a, or none: a 2-D b is shared by every
//        batch element (with trans_a false the batch is folded into one (B*M, K) GEMM; otherwise b's gradient
//        is summed over the batch serially, in batch order)
//   out  (B..., M, N) newly allocated
// Backward: d op(a) += dout op(b)^T and d op(b) += op(a)^T dout, per batch element.
// E.g. attention scores q k^T: matmul(q, k, false, true) on (B,NH,T,HS) x (B,NH,T,HS) -> (B,NH,T,T).
Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a = false, bool trans_b = false);

}  // namespace docbert
