// kernels/optim.h: the optimizer family's params and CUDA launchers (plain C++): the Adam/AdamW update, sums of
// squares and norms of gradients, clipping and the weight EMA. The rules are engine/optim.h's; the CPU
// implementation is engine/optim.cpp.
//
// Multi-tensor lists, the way apex's and PyTorch's multi_tensor_apply work: one params struct carries up to
// kOptimMaxTensors tensors of one dtype (arrays of pointers and sizes) and one launch covers all of them: tensor k
// is cut into chunks of kOptimChunk elements and every chunk of every tensor gets one block, so the many small
// tensors of a model (biases, LayerNorm) cost no launch each. The engine splits longer lists into several structs.
// Dimension letters: N_k = numel[k], the elements of tensor k (flattened). Pointers are contiguous, on the device
// the call dispatches to, in `dtype` (CPU: f32/f64; CUDA: f32, the master-weight type), and a tensor's
// pointers must not overlap each other. Launchers are asynchronous on the compute stream and never read a value
// back to the host: clipping reads its norm on the device.
#pragma once

#include "base/dtype.h"

#include <cstdint>

namespace docbert {

constexpr int kOptimMaxTensors = 48;    // per struct: keeps a launch's arguments under 4 KiB
constexpr int64_t kOptimChunk = 16384;  // elements per block (a multiple of 4 * the block size)

// One Adam step of every listed tensor (engine/optim.h has the update and the rounding of the scalars).
struct AdamParams {
  DType dtype = DType::F32;
  int n = 0;                             // tensors in the list
  int64_t numel[kOptimMaxTensors] = {};  // N_k
  void* p[kOptimMaxTensors] = {};        // (N_k) parameter, updated in place
  const void* g[kOptimMaxTensors] = {};  // (N_k) its gradient
  void* m[kOptimMaxTensors] = {};        // (N_k) first moment, updated in place
  void* v[kOptimMaxTensors] = {};        // (N_k) second moment, updated in place
  bool decay[kOptimMaxTensors] = {};     // whether tensor k gets weight decay
  // The step's scalars in double; each is rounded once to dtype, as PyTorch does with Python floats.
  double lr = 0, beta1 = 0, beta2 = 0, eps = 0;
  double bc1 = 1, bc2_sqrt = 1;  // 1 - beta1^t and sqrt(1 - beta2^t); both 1 without bias correction
  double l2 = 0;                 // Adam: g <- g + l2 p for tensors with decay[k]
  double decoupled = 0;          // AdamW: update <- update + decoupled p for tensors with decay[k]
};

// sumsq[k] = sum of x_k[i]^2 (N_k), each square and the sum in f64. Deterministic: fixed chunks reduced in a fixed
// tree, their sums added in chunk order (the CPU's chunks and order are its own, so the two agree to rounding).
struct SumSquaresParams {
  DType dtype = DType::F32;
  int n = 0;
  int64_t numel[kOptimMaxTensors] = {};
  const void* x[kOptimMaxTensors] = {};  // (N_k)
  double* sumsq = nullptr;               // (n) overwritten
};

// From sums of squares (n) to norms: global, norm (1) = sqrt(sumsq[0] + ... + sumsq[n-1]) added in that order;
// otherwise norm (n) = sqrt(sumsq[k]). f64 throughout; n may exceed kOptimMaxTensors.
struct NormParams {
  int64_t n = 0;
  bool global = true;
  const double* sumsq = nullptr;  // (n)
  double* norm = nullptr;         // (1) global, (n) per tensor
};

// PyTorch's clip_grad_norm_ rule on every listed tensor: with c = max_norm / (norm + 1e-6) (f64, then rounded to
// dtype), x_k *= c when norm is finite and c < 1; otherwise x_k is left as is.
struct ClipParams {
  DType dtype = DType::F32;
  int n = 0;
  int64_t numel[kOptimMaxTensors] = {};
  void* x[kOptimMaxTensors] = {};  // (N_k) scaled in place
  const double* norm = nullptr;    // (1) one norm for all tensors or, with per_tensor, (n) the norm of tensor k
  bool per_tensor = false;
  double max_norm = 1;
};

// The weight EMA of every listed tensor: ema_update: shadow = decay shadow + (1 - decay) param (each coefficient
// rounded once to dtype); ema_load: param = shadow / divisor (hedwig's bias-corrected average).
struct EmaParams {
  DType dtype = DType::F32;
  int n = 0;
  int64_t numel[kOptimMaxTensors] = {};
  void* shadow[kOptimMaxTensors] = {};  // (N_k) the average
  void* param[kOptimMaxTensors] = {};   // (N_k) the parameter
  double decay = 0;                     // ema_update
  double divisor = 1;                   // ema_load
};

namespace cuda {
void adam_step(const AdamParams& p);
void sum_squares(const SumSquaresParams& p);
void norms(const NormParams& p);
void clip_scale(const ClipParams& p);
void ema_update(const EmaParams& p);
void ema_load(const EmaParams& p);
}  // namespace cuda

}  // namespace docbert
