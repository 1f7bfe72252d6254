// kernels/loss.h: the loss family's params and CUDA launchers (plain C++; the CPU implementation and the autograd
// wrappers are engine/ops/loss.cpp, the formulas and normalisations those documented in engine/ops/loss.h).
//
// Dimension letters: B batch rows, K classes/labels, N elements (mse: any shape, flattened), P partial sums.
// Every loss runs as two steps on the op's device, neither of which waits for the host:
//   1. one partial sum per row (per kMseChunk elements for mse) into `partial`, and the per-row logsumexps the
//      backward needs;
//   2. loss = scale * (partial[0] + ... + partial[P-1]) in a fixed order (CPU: index order; CUDA: one block, a
//      fixed tree), so the value depends neither on the thread count nor on the run.
// The backward reads dL, the loss's gradient, through `dloss` inside the implementation (CPU: *dloss; CUDA: the
// kernel loads it), so no loss costs a host sync. It accumulates (+=); a null gradient pointer is skipped.
//
// Types: x, y, loss, dx, dy and dloss are contiguous, on the op's device, in `dtype` (CPU: f32/f64; CUDA:
// f32/bf16). partial, lse_x and lse_y are in the accumulation type: f64 on the CPU, which computes the losses in
// double whatever the storage type, f32 on CUDA, which computes in f32.
#pragma once

#include "base/dtype.h"

#include <cstdint>

namespace docbert {

// Elements per mse partial sum, on both devices: the summation order depends on N only.
constexpr int64_t kMseChunk = 4096;
// P of mse: ceil(N / kMseChunk).
inline int64_t mse_chunks(int64_t N) { return N / kMseChunk + (N % kMseChunk != 0); }

struct LossParams {
  DType dtype = DType::F32;
  int64_t B = 0, K = 0;     // the (B,K) losses: rows and classes/labels, both >= 1
  int64_t N = 0;            // mse: elements of x and y, >= 1
  double temperature = 1;   // kl_div_softmax, kl_div_bernoulli: T > 0 (finite)
  const void* x = nullptr;  // (B,K) logits (cross_entropy, bce_with_logits), student logits (kl_div_*); (N) mse's a
  const void* y = nullptr;  // (B,K) targets (bce_with_logits), teacher logits (kl_div_*); (N) mse's b
  const int64_t* targets = nullptr;  // (B) cross_entropy's class ids, each in [0, K) (checked_indices)
  void* loss = nullptr;              // () forward output
  void* partial = nullptr;           // (P) forward: row b's inner sum (P = B; kl_div_softmax: KL_b, which its backward
                                     // reads) or chunk c's sum of squares (mse: P = mse_chunks(N))
  void* lse_x = nullptr;             // (B) forward: logsumexp_k x[b,k] / T (cross_entropy with T = 1, kl_div_softmax)
  void* lse_y = nullptr;             // (B) forward: logsumexp_k y[b,k] / T (kl_div_softmax)
  void* dx = nullptr;                // like x: backward dx += dL dloss/dx
  void* dy = nullptr;                // like y: backward dy += dL dloss/dy (not cross_entropy: its targets are ids)
  const void* dloss = nullptr;       // () backward: dL, the gradient of loss
};

// Forward: partial, lse_* and loss (bce_with_logits on CUDA: a target outside [0, 1] makes its row's partial and
// so the loss NaN, since checking on the host would sync; the CPU throws). Backward: dx, dy.
namespace cuda {
void cross_entropy_forward(const LossParams& p);
void cross_entropy_backward(const LossParams& p);
void bce_with_logits_forward(const LossParams& p);
void bce_with_logits_backward(const LossParams& p);
void kl_div_softmax_forward(const LossParams& p);
void kl_div_softmax_backward(const LossParams& p);
void kl_div_bernoulli_forward(const LossParams& p);
void kl_div_bernoulli_backward(const LossParams& p);
void mse_forward(const LossParams& p);
void mse_backward(const LossParams& p);
}  // namespace cuda

}  // namespace docbert
