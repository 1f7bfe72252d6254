// kernels/gemm.h: the GEMM family's params and CUDA launchers (plain C++; the CPU implementation is
// engine/ops/linear.cpp, the ops' semantics are documented in engine/ops/linear.h).
//
// Dimension letters: R rows of a linear's input (all leading dims flattened), IN and OUT its feature sizes; a
// matmul's batch, M, N, K (op(a) (M,K) times op(b) (K,N)). Pointers are contiguous, row-major, on the op's device,
// in `dtype` (CPU: f32/f64; CUDA: f32, or bf16 operands with f32 accumulation). Backward launchers accumulate (+=);
// a null gradient pointer is skipped.
//
// On CUDA every product is one cuBLASLt matmul (kernels/gemm.cu) with compute type CUBLAS_COMPUTE_32F: f32 stays
// f32 (no TF32), so the op table's f32 tolerances hold on the GPU too.
#pragma once

#include "base/dtype.h"

#include <cstdint>

namespace docbert {

// out = x w^T + bias
struct LinearParams {
  DType dtype = DType::F32;
  int64_t R = 0, IN = 0, OUT = 0;
  void* out = nullptr;         // (R,OUT)
  const void* x = nullptr;     // (R,IN)
  const void* w = nullptr;     // (OUT,IN)
  const void* bias = nullptr;  // (OUT) or null
  void* dx = nullptr;          // (R,IN)   backward: dx += dout w
  void* dw = nullptr;          // (OUT,IN) backward: dw += dout^T x
  void* dbias = nullptr;       // (OUT)    backward: dbias += column sums of dout
  const void* dout = nullptr;  // (R,OUT)
};

// c = op(a) op(b) per batch element, op(m) = m^T when the flag is set.
struct MatmulParams {
  DType dtype = DType::F32;
  int64_t batch = 1, M = 0, N = 0, K = 0;
  bool ta = false, tb = false;
  bool shared_b = false;     // b is one matrix used by every batch element
  void* c = nullptr;         // (batch,M,N)
  const void* a = nullptr;   // (batch,M,K), or (batch,K,M) when ta
  const void* b = nullptr;   // (batch,K,N), or (batch,N,K) when tb; without the batch dim when shared_b
  void* da = nullptr;        // like a; backward: d op(a) += dc op(b)^T
  void* db = nullptr;        // like b; backward: d op(b) += op(a)^T dc, summed over the batch when shared
  const void* dc = nullptr;  // (batch,M,N)
};

// One strided batched GEMM on row-major matrices, the building block of the launchers above and of attention:
//   c_i (M,N) = alpha op(a_i) op(b_i) + beta c_i (+ bias), for i in [0, batch).
// Row i of a stored matrix starts ld elements after row i - 1 (ld >= its column count); batch element i starts
// i * stride elements after element 0 (stride 0 shares one matrix).
struct GemmParams {
  const char* op = "gemm";     // the caller, named in errors
  DType dtype = DType::F32;    // of a and b: f32 or bf16
  DType c_dtype = DType::F32;  // of c and bias: f32, or bf16 when dtype is bf16
  int64_t batch = 1, M = 0, N = 0, K = 0;
  bool ta = false, tb = false;
  float alpha = 1, beta = 0;
  const void* a = nullptr;  // (M,K) stored, or (K,M) when ta
  int64_t lda = 0, stride_a = 0;
  const void* b = nullptr;  // (K,N) stored, or (N,K) when tb
  int64_t ldb = 0, stride_b = 0;
  void* c = nullptr;  // (M,N); read only when beta != 0
  int64_t ldc = 0, stride_c = 0;
  const void* bias = nullptr;  // (N) added to every row of c (cuBLASLt's bias epilogue); batch must be 1
  float* a_sums = nullptr;     // (M) f32, written (not accumulated): sum over k of op(a)(m,k); batch must be 1
};

namespace cuda {
void linear_forward(const LinearParams& p);
void linear_backward(const LinearParams& p);
void matmul_forward(const MatmulParams& p);
void matmul_backward(const MatmulParams& p);
// Runs p; returns false when a_sums was requested but no cuBLASLt algorithm computes it for this problem: the
// product is then still computed and a_sums left untouched, for the caller to sum itself.
bool gemm(const GemmParams& p);
}  // namespace cuda

}  // namespace docbert
