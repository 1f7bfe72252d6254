// LSTM layer on CUDA (kernels/lstm.h): a plain composition of cuBLAS GEMMs and one fused pointwise kernel per time
// step (the fused persistent kernel that keeps W_hh on chip is a later step). Everything stays in the padded
// (B, T, .) layout: step s runs all B rows, and a row whose sequence is over (s >= lengths[b]) neither reads nor
// writes anything, which keeps its state and leaves its outputs zero, exactly the packed CPU semantics.
//
// Forward:  xs = x masked to zero at padding (R*I, 8 B/elem); gates (R,G) = xs W_ih^T, one GEMM over all
//           R = B*T rows; per step s: hw (B,G) = h W_hh^T (skipped at s = 0, h = 0), then the gate kernel
//           (one thread per (b, j) of B*H: reads 4 pre-activations + hw + biases + c, writes 4 activations, c_t,
//           h_t, out and the running h/c, which are h_n/c_n themselves).
// Backward: per step s from T-1 down: the gate-gradient kernel (one thread per (b, j): dL/d(pre-activations) into
//           dgates (R,G) for the whole-sequence GEMMs and into a per-step (B,G) copy, h_{t-1} into hprev (R,H))
//           and dh (B,H) = dgates_s W_hh for step s-1; then dW_hh += dgates^T hprev, dx += dgates W_ih,
//           dW_ih += dgates^T xs (three GEMMs over the R rows, padding rows of dgates zero) and the bias
//           gradients as deterministic column sums of dgates. No atomics anywhere; the GEMMs are f32 in, f32
//           compute (CUBLAS_COMPUTE_32F, never TF32), which cuBLAS runs bit-identically run to run.
#include "kernels/lstm.h"

#include "kernels/common.cuh"

#include <climits>

namespace docbert::cuda {

namespace {

constexpr const char* kOp = "lstm_layer";

__device__ __forceinline__ float sigmoid_f(float x) {
  if (x >= 0) return 1.0f / (1.0f + expf(-x));
  const float e = expf(x);
  return e / (1.0f + e);
}

int gemm_dim(int64_t v) {
  DOCBERT_CHECK(v >= 0 && v <= INT_MAX, "{}: GEMM dimension {} is outside cuBLAS's int range", kOp, v);
  return static_cast<int>(v);
}

// Row-major C (M,N) = op(A) op(B) + beta C in f32: op(A) is (M,K), A stored (M,K) or, with ta, (K,M); likewise
// B (K,N) or, with tb, (N,K); lda/ldb/ldc are row strides. cuBLAS is column-major, where a row-major matrix reads
// as its transpose, so it computes C^T = op(B)^T op(A)^T: the same flags with the operands swapped.
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb,
          float beta, float* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0) {  // an empty sum: C = beta C, and beta is 0 or 1 here
    if (beta == 0) memset_zero(C, static_cast<size_t>(M * ldc) * sizeof(float));
    return;
  }
  const float alpha = 1.0f;
  CUBLAS_CHECK(cublasGemmEx(blas(), tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, gemm_dim(N),
                            gemm_dim(M), gemm_dim(K), &alpha, B, CUDA_R_32F, gemm_dim(ldb), A, CUDA_R_32F,
                            gemm_dim(lda), &beta, C, CUDA_R_32F, gemm_dim(ldc), CUBLAS_COMPUTE_32F,
                            CUBLAS_GEMM_DEFAULT));
}

// xs (R,I) = x at real positions, 0 at padding (so padding is finite in the GEMMs whatever x holds there).
// One thread per 4 consecutive elements; Vec: I % 4 == 0 and both pointers 16-byte aligned, so a thread's 4
// elements are one row's and move as one float4.
template <bool Vec>
__global__ void mask_input_kernel(float* xs, const float* x, const int64_t* lengths, int64_t N, int64_t T, int64_t I) {
  const int64_t i0 = 4 * (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x);
  if (i0 >= N) return;
  if constexpr (Vec) {
    const int64_t row = i0 / I;
    const bool real = row % T < lengths[row / T];
    *reinterpret_cast<float4*>(xs + i0) =
        real ? *reinterpret_cast<const float4*>(x + i0) : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
  } else {
    for (int64_t i = i0; i < i0 + 4 && i < N; ++i) {
      const int64_t row = i / I;
      xs[i] = row % T < lengths[row / T] ? x[i] : 0.0f;
    }
  }
}

// One step s of the forward for every (b, j) of (B,H). gates (R,G) holds x_t W_ih^T at row b*T + t and gets the
// activations; hw (B,G) = h_{t-1} W_hh^T or null at s = 0; h, c (B,H) the running state (zero at s = 0).
__global__ void step_forward_kernel(float* gates, float* cs, float* hs, float* out, float* h, float* c, const float* hw,
                                    const float* b_ih, const float* b_hh, const int64_t* lengths, int64_t B, int64_t T,
                                    int64_t H, int64_t s, bool reverse) {
  const int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (k >= B * H) return;
  const int64_t b = k / H, j = k % H, len = lengths[b];
  if (s >= len) return;  // the sequence is over: state kept, outputs stay zero
  const int64_t t = reverse ? len - 1 - s : s, row = b * T + t, G = 4 * H;
  float* g_row = gates + row * G;
  float a[4];
  for (int q = 0; q < 4; ++q) {
    const int64_t idx = q * H + j;
    // (x W_ih^T + (b_ih + b_hh)) + h W_hh^T, the CPU's order
    const float bias = (b_ih ? b_ih[idx] : 0.0f) + (b_hh ? b_hh[idx] : 0.0f);
    float v = g_row[idx] + bias;
    if (hw) v += hw[b * G + idx];
    a[q] = q == 2 ? tanhf(v) : sigmoid_f(v);
  }
  const float c_t = a[1] * c[k] + a[0] * a[2];
  const float h_t = a[3] * tanhf(c_t);
  for (int q = 0; q < 4; ++q) g_row[q * H + j] = a[q];
  cs[row * H + j] = c_t;
  hs[row * H + j] = h_t;
  out[row * H + j] = h_t;
  h[k] = h_t;
  c[k] = c_t;
}

// One step s of the backward for every (b, j) of (B,H). dhw (B,H) = dL/dh from step s+1 (read only for rows
// that were active there), dc (B,H) the running dL/dc. Writes dL/d(pre-activations) into dgates (R,G) at row
// b*T + t and into dg_step (B,G) (zeros for finished rows, the next GEMM's input), and h_{t-1} into hprev (R,H).
__global__ void step_backward_kernel(float* dgates, float* dg_step, float* hprev, float* dc, const float* dhw,
                                     const float* gates, const float* cs, const float* hs, const float* dout,
                                     const float* dh_n, const float* dc_n, const int64_t* lengths, int64_t B, int64_t T,
                                     int64_t H, int64_t s, bool reverse) {
  const int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (k >= B * H) return;
  const int64_t b = k / H, j = k % H, len = lengths[b], G = 4 * H;
  if (s >= len) {
    for (int q = 0; q < 4; ++q) dg_step[b * G + q * H + j] = 0.0f;
    return;
  }
  const int64_t t = reverse ? len - 1 - s : s, row = b * T + t;
  const bool last = s == len - 1;  // the step that produced h_n, c_n: nothing flows back from later steps
  const float dh_v = (last ? (dh_n ? dh_n[k] : 0.0f) : dhw[k]) + (dout ? dout[row * H + j] : 0.0f);
  float dc_v = last ? (dc_n ? dc_n[k] : 0.0f) : dc[k];
  const float* g_row = gates + row * G;
  const float i = g_row[j], f = g_row[H + j], g = g_row[2 * H + j], o = g_row[3 * H + j];
  const float tc = tanhf(cs[row * H + j]);
  dc_v += dh_v * o * (1.0f - tc * tc);
  float c_prev = 0.0f, h_prev = 0.0f;
  if (s > 0) {
    const int64_t prev = b * T + (reverse ? t + 1 : t - 1);
    c_prev = cs[prev * H + j];
    h_prev = hs[prev * H + j];
  }
  const float d[4] = {dc_v * g * i * (1.0f - i), dc_v * c_prev * f * (1.0f - f), dc_v * i * (1.0f - g * g),
                      dh_v * tc * o * (1.0f - o)};
  for (int q = 0; q < 4; ++q) {
    dgates[row * G + q * H + j] = d[q];
    dg_step[b * G + q * H + j] = d[q];
  }
  hprev[row * H + j] = h_prev;
  dc[k] = dc_v * f;
}

// db_ih, db_hh (G) += db (G); either may be null.
__global__ void add_bias_grads_kernel(float* db_ih, float* db_hh, const float* db, int64_t G) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= G) return;
  if (db_ih) db_ih[c] += db[c];
  if (db_hh) db_hh[c] += db[c];
}

struct DgatesTerm {
  const float* dgates;
  int64_t G;
  __device__ float operator()(int64_t r, int64_t c) const { return dgates[r * G + c]; }
};

void check_params(const LstmParams& p) {
  DOCBERT_CHECK(p.dtype == DType::F32, "{}: dtype {} is not supported on cuda (f32)", kOp, dtype_name(p.dtype));
  DOCBERT_CHECK(p.B >= 0 && p.T >= 0 && p.I >= 0 && p.H >= 0, "{}: sizes must be >= 0, got B={} T={} I={} H={}", kOp,
                p.B, p.T, p.I, p.H);
}

size_t floats(int64_t n) { return static_cast<size_t>(n) * sizeof(float); }

}  // namespace

void lstm_forward(const LstmParams& p) {
  check_params(p);
  const int64_t B = p.B, T = p.T, I = p.I, H = p.H, G = 4 * H, R = B * T;
  auto* out = static_cast<float*>(p.out);
  auto* h = static_cast<float*>(p.h_n);
  auto* c = static_cast<float*>(p.c_n);
  memset_zero(out, floats(R * H));
  memset_zero(h, floats(B * H));
  memset_zero(c, floats(B * H));
  if (R == 0 || H == 0) return;
  auto* gates = static_cast<float*>(p.gates);
  auto* xs = static_cast<float*>(p.xs);
  const auto* x = static_cast<const float*>(p.x);
  const auto* w_ih = static_cast<const float*>(p.w_ih);
  const auto* w_hh = static_cast<const float*>(p.w_hh);

  if (R * I > 0) {
    const unsigned grid = grid_1d(kOp, R * I / 4 + (R * I % 4 != 0), kBlock);
    if (I % 4 == 0 && aligned16(xs) && aligned16(x))
      mask_input_kernel<true><<<grid, kBlock, 0, stream()>>>(xs, x, p.lengths, R * I, T, I);
    else
      mask_input_kernel<false><<<grid, kBlock, 0, stream()>>>(xs, x, p.lengths, R * I, T, I);
    CUDA_CHECK_LAUNCH();
  }
  gemm(false, true, R, G, I, xs, I, w_ih, I, 0.0f, gates, G);  // gates (R,G) = xs (R,I) W_ih^T

  Scratch hw(floats(B * G));
  const unsigned grid = grid_1d(kOp, B * H, kBlock);
  for (int64_t s = 0; s < T; ++s) {
    if (s) gemm(false, true, B, G, H, h, H, w_hh, H, 0.0f, hw.as<float>(), G);  // hw (B,G) = h (B,H) W_hh^T
    step_forward_kernel<<<grid, kBlock, 0, stream()>>>(
        gates, static_cast<float*>(p.cs), static_cast<float*>(p.hs), out, h, c, s ? hw.as<float>() : nullptr,
        static_cast<const float*>(p.b_ih), static_cast<const float*>(p.b_hh), p.lengths, B, T, H, s, p.reverse);
    CUDA_CHECK_LAUNCH();
  }
}

void lstm_backward(const LstmParams& p) {
  check_params(p);
  const int64_t B = p.B, T = p.T, I = p.I, H = p.H, G = 4 * H, R = B * T;
  if (R == 0 || H == 0) return;
  const auto* gates = static_cast<const float*>(p.gates);
  const auto* w_ih = static_cast<const float*>(p.w_ih);
  const auto* w_hh = static_cast<const float*>(p.w_hh);
  Scratch dgates(floats(R * G)), hprev(floats(R * H)), dg_step(floats(B * G)), dhw(floats(B * H)), dc(floats(B * H));
  // Padding rows are never written: zero, so they add nothing in the GEMMs over all R rows.
  memset_zero(dgates.as<float>(), floats(R * G));
  memset_zero(hprev.as<float>(), floats(R * H));
  const unsigned grid = grid_1d(kOp, B * H, kBlock);
  for (int64_t s = T - 1; s >= 0; --s) {
    step_backward_kernel<<<grid, kBlock, 0, stream()>>>(
        dgates.as<float>(), dg_step.as<float>(), hprev.as<float>(), dc.as<float>(), dhw.as<float>(), gates,
        static_cast<const float*>(p.cs), static_cast<const float*>(p.hs), static_cast<const float*>(p.dout),
        static_cast<const float*>(p.dh_n), static_cast<const float*>(p.dc_n), p.lengths, B, T, H, s, p.reverse);
    CUDA_CHECK_LAUNCH();
    // dL/dh_{t-1} (B,H) = dgates_s (B,G) W_hh (G,H), read by step s-1
    if (s) gemm(false, false, B, H, G, dg_step.as<float>(), G, w_hh, H, 0.0f, dhw.as<float>(), H);
  }
  if (p.dw_hh)  // dW_hh (G,H) += dgates^T (G,R) hprev (R,H)
    gemm(true, false, G, H, R, dgates.as<float>(), G, hprev.as<float>(), H, 1.0f, static_cast<float*>(p.dw_hh), H);
  if (p.dx)  // dx (R,I) += dgates (R,G) W_ih (G,I)
    gemm(false, false, R, I, G, dgates.as<float>(), G, w_ih, I, 1.0f, static_cast<float*>(p.dx), I);
  if (p.dw_ih)  // dW_ih (G,I) += dgates^T (G,R) xs (R,I)
    gemm(true, false, G, I, R, dgates.as<float>(), G, static_cast<const float*>(p.xs), I, 1.0f,
         static_cast<float*>(p.dw_ih), I);
  if (p.db_ih || p.db_hh) {
    // Both biases get the column sums of dgates: summed once, then added to each.
    Scratch db(floats(G));
    memset_zero(db.as<float>(), floats(G));
    column_sums_into(kOp, db.as<float>(), R, G, DgatesTerm{dgates.as<float>(), G});
    add_bias_grads_kernel<<<grid_1d(kOp, G, kBlock), kBlock, 0, stream()>>>(
        static_cast<float*>(p.db_ih), static_cast<float*>(p.db_hh), db.as<float>(), G);
    CUDA_CHECK_LAUNCH();
  }
}

}  // namespace docbert::cuda
